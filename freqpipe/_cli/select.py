"""``freqpipe select DATA``: learn which DCT channels a model needs with DCTNet's gate.

A :class:`~freqpipe.models.ChannelGate` in front of a registered model (``--model``, built
with ``in_channels=192``) is trained for ``--steps`` steps on a sample of the ImageFolder-style
dataset DATA (labels from the class folders), with sparsity weight ``--lambda``. Each image goes
through the DCTNet pixel route of ``freqpipe stats`` at ``--size`` and is normalised with the
bundled per-coefficient statistics. The channels kept on at least ``--threshold`` of the sample
images form the :class:`~freqpipe.transforms.Selection` written to ``--out``; its JSON also
records the keep frequency of all 192 channels. A PNG heat map of those frequencies (Y, Cb, Cr
as 8 x 8 grids, natural order) is written next to it, as in the paper's figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

__all__ = ["load_sample", "register", "run", "write_heatmap"]


def load_sample(
    root: str | Path, size: int, limit: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Load a labelled sample of an ImageFolder tree as normalised 192-channel DCT arrays.

    Each image is the evaluation loader's crop (:func:`freqpipe.jpeg.pixels.load_center_crop`).

    Args:
        root: folder with one sub-folder of JPEGs per class.
        size: centre-crop side (multiple of 8); arrays are (192, size/8, size/8).
        limit: keep at most this many images, drawn at random with ``seed``.
        seed: seed of the draw.

    Returns:
        ``(x float32 (M, 192, size/8, size/8), y int64 (M,), class names)``; unreadable files
        are skipped with a warning.

    Example:
        >>> from freqpipe._samples import samples_path
        >>> x, y, classes = load_sample(samples_path(), 16, limit=2)
        >>> x.shape, y.dtype.name
        ((2, 192, 2, 2), 'int64')
    """
    from freqpipe._cli.stats import iter_jpegs
    from freqpipe.jpeg.pixels import load_center_crop
    from freqpipe.transforms import image_to_dct192, load_default_stats

    root = Path(root)
    files = list(iter_jpegs(root))
    classes = sorted({p.relative_to(root).parts[0] for p in files if p.parent != root})
    files = [p for p in files if p.parent != root]
    if limit is not None and len(files) > limit:
        pick = np.random.default_rng(seed).choice(len(files), size=limit, replace=False)
        files = [files[i] for i in sorted(pick)]
    stats = load_default_stats("all")
    mean = np.asarray(stats.mean, np.float32)[:, None, None]
    std = np.asarray(stats.std, np.float32)[:, None, None]
    xs, ys = [], []
    for p in files:
        try:
            crop = load_center_crop(p, size)
        except (OSError, ValueError, SyntaxError) as exc:
            warnings.warn(f"{p}: skipped, cannot decode ({exc})", stacklevel=2)
            continue
        xs.append((image_to_dct192(crop) - mean) / std)
        ys.append(classes.index(p.relative_to(root).parts[0]))
    if not xs:
        return np.zeros((0, 192, size // 8, size // 8), np.float32), np.zeros(0, np.int64), classes
    return np.stack(xs).astype(np.float32), np.asarray(ys, np.int64), classes


def write_heatmap(freq: np.ndarray, path: str | Path, title: str = "") -> None:
    """Write the keep frequency of the 192 channels as a PNG: three 8 x 8 grids (Y, Cb, Cr).

    Uses matplotlib when installed (the ``bench`` extra), else a plain Pillow rendering.

    Args:
        freq: (192,) values in [0, 1], flat channel order (Y 0..63, Cb 64.., Cr 128..).
        path: output PNG.
        title: figure title (matplotlib only).

    Example:
        >>> import tempfile, os
        >>> out = os.path.join(tempfile.mkdtemp(), "h.png")
        >>> write_heatmap(np.linspace(0, 1, 192), out); os.path.getsize(out) > 0
        True
    """
    grids = np.asarray(freq, np.float64).reshape(3, 8, 8)  # [plane, v, u]: natural k = 8v + u
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        from PIL import Image

        cell = 24
        img = np.zeros((8 * cell, 3 * 8 * cell + 2 * cell, 3), np.uint8)
        for p in range(3):
            g = np.kron(grids[p], np.ones((cell, cell)))
            rgb = np.stack([g * 255, g * 160 + 40, (1 - g) * 200], -1).clip(0, 255)
            img[:, p * 9 * cell : p * 9 * cell + 8 * cell] = rgb.astype(np.uint8)
        Image.fromarray(img).save(path)
        return
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.6), constrained_layout=True)
    for ax, grid, name in zip(axes, grids, ("Y", "Cb", "Cr")):
        im = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis")
        ax.set_title(name)
        ax.set_xlabel("u (horizontal frequency)")
        ax.set_ylabel("v (vertical frequency)")
        ax.set_xticks(range(8))
        ax.set_yticks(range(8))
    fig.colorbar(im, ax=axes, shrink=0.8, label="fraction of images keeping the channel")
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def register(subparsers: Any) -> None:
    """Add the ``select`` sub-command to an argparse sub-parser set.

    Args:
        subparsers: the object returned by ``ArgumentParser.add_subparsers()``.

    Example:
        >>> p = argparse.ArgumentParser(); register(p.add_subparsers())
        >>> p.parse_args(["select", "d", "--out", "s.json"]).lam
        0.01
    """
    p = subparsers.add_parser(
        "select",
        help="learn a DCT channel selection with DCTNet's gate",
        description="Train DCTNet's channel gate briefly on a sample of an ImageFolder tree "
        "and write the learned Selection (JSON) and a heat map of kept channels (PNG).",
    )
    p.add_argument("data", type=Path, help="ImageFolder-style folder (one sub-folder per class)")
    p.add_argument(
        "--model",
        default="dct_resnet50",
        help="registered model taking in_channels=192 (default dct_resnet50)",
    )
    p.add_argument("--steps", type=int, default=100, help="training steps (default 100)")
    p.add_argument(
        "--lambda",
        dest="lam",
        type=float,
        default=0.01,
        help="sparsity weight per channel kept (default 0.01)",
    )
    p.add_argument("--out", type=Path, required=True, help="output selection JSON")
    p.add_argument("--heatmap", type=Path, default=None, help="PNG (default: OUT with .png)")
    p.add_argument("--size", type=int, default=224, help="crop side, multiple of 8 (default 224)")
    p.add_argument("--limit", type=int, default=256, help="sample at most N images (default 256)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-2, help="gate learning rate (default 0.01)")
    p.add_argument("--tau", type=float, default=1.0, help="Gumbel-softmax temperature")
    p.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="keep channels on for at least this fraction of images",
    )
    p.add_argument("--device", default=None, help="torch device (default cuda if available)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _fail(msg: str) -> int:
    print(f"freqpipe select: {msg}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run ``freqpipe select`` with parsed arguments.

    Args:
        args: namespace from the parser built by :func:`register`.

    Returns:
        Exit status: 0 on success, 2 for bad arguments or too few readable images.

    Example:
        >>> p = argparse.ArgumentParser(); register(p.add_subparsers())
        >>> run(p.parse_args(["select", "/nonexistent", "--out", "s.json"]))
        2
    """
    if args.size < 8 or args.size % 8:
        return _fail(f"--size must be a positive multiple of 8, got {args.size}")
    if args.steps < 0 or args.lam < 0 or not 0.0 <= args.threshold <= 1.0:
        return _fail("--steps and --lambda must be >= 0 and --threshold in [0, 1]")
    if not Path(args.data).is_dir():
        return _fail(f"{args.data} is not a directory")

    import torch

    import freqpipe.models as fm
    from freqpipe.transforms import Selection

    if args.model not in fm.list_models():
        return _fail(f"unknown model {args.model!r}; choose from {', '.join(fm.list_models())}")
    torch.manual_seed(args.seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x_np, y_np, classes = load_sample(args.data, args.size, args.limit, args.seed)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if len(x_np) < 2 or len(classes) < 1:
        return _fail(f"need at least 2 readable images in class folders under {args.data}")
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        backbone = fm.create(args.model, in_channels=192, num_classes=max(2, len(classes)))
    except TypeError as exc:
        return _fail(f"model {args.model!r} does not take in_channels/num_classes: {exc}")
    model = fm.GatedModel(fm.ChannelGate(192, tau=args.tau, lam=args.lam), backbone).to(device)
    x = torch.from_numpy(x_np).to(device)
    y = torch.from_numpy(y_np).to(device)
    gen = torch.Generator().manual_seed(args.seed)
    bar = tqdm(
        total=args.steps, unit="step", desc="select", disable=getattr(args, "no_progress", False)
    )

    def report(step: int, loss: float, kept: float) -> None:
        bar.set_postfix(loss=f"{loss:.3f}", kept=f"{kept:.1f}/192", refresh=False)
        bar.update()

    freq = fm.fit_gate(
        model, x, y, args.steps, args.batch_size, lr=args.lr, generator=gen, callback=report
    )
    bar.close()
    freq_np = freq.numpy()
    keep = np.flatnonzero(freq_np >= args.threshold)
    if keep.size == 0:
        keep = np.asarray([int(np.argmax(freq_np))])
        print(
            "warning: no channel reached the threshold; keeping the most frequent one",
            file=sys.stderr,
        )
    selection = Selection.from_indices(keep.tolist())
    record = json.loads(selection.to_json())
    record.update(
        keep_frequency=[round(float(f), 4) for f in freq_np],
        model=args.model,
        steps=args.steps,
        lam=args.lam,
        size=args.size,
        images=len(x_np),
        threshold=args.threshold,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record) + "\n")
    heatmap = args.heatmap or args.out.with_suffix(".png")
    write_heatmap(freq_np, heatmap, f"{args.model}, lambda={args.lam}, {args.steps} steps")
    print(
        f"{len(x_np)} images, {args.steps} steps, lambda={args.lam}: kept {len(selection)} of "
        f"192 channels -> {args.out}, {heatmap}"
    )
    return 0
