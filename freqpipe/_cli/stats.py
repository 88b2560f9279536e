"""``freqpipe stats DIR``: per-channel DCT statistics of a folder of JPEGs.

Each image goes through the evaluation loader's own pixel crop,
:func:`freqpipe.jpeg.pixels.load_center_crop` (libjpeg-turbo decode, short side resized to
``round(size * 512 / 448)``, centre crop ``size`` by torchvision's rule, conventions §7), then
:func:`freqpipe.transforms.image_to_dct192` and the selection, so the statistics describe exactly
what the evaluation loader feeds. Unreadable files are skipped and counted.

``freqpipe stats --regenerate-defaults`` rewrites the statistics shipped in
``freqpipe/transforms/data`` from the bundled sample photographs, recording in each file the
command and the versions of the packages whose arithmetic the numbers depend on. With the
pinned test environment (``constraints.txt``) it reproduces the shipped files; elsewhere the
float32 DCT may round differently in the last bits (a different NumPy or Pillow, another CPU's
SIMD path, another libjpeg-turbo), which the reproducibility test allows for.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import warnings
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from freqpipe.jpeg import _native
from freqpipe.jpeg.pixels import load_center_crop
from freqpipe.transforms import ChannelStats, Selection, image_to_dct192
from freqpipe.transforms.stats import CONVENTIONS, DEFAULT_STATS

__all__ = [
    "REGENERATE_COMMAND",
    "iter_jpegs",
    "provenance",
    "regenerate_defaults",
    "register",
    "run",
]

_EXTENSIONS = {".jpg", ".jpeg"}

#: The command that writes the shipped default statistics (recorded in each file).
REGENERATE_COMMAND = "freqpipe stats --regenerate-defaults"

# The packages whose arithmetic decides the numbers: NumPy runs the float32 block DCT and the
# float64 accumulation, PyTurboJPEG (over the system libjpeg-turbo) decodes, Pillow resizes (and,
# with the libjpeg-turbo it bundles, decodes what the system library cannot).
_PROVENANCE_PACKAGES = ("freqpipe", "numpy", "pillow", "pyturbojpeg")


def iter_jpegs(root: str | Path) -> Iterator[Path]:
    """Yield the ``*.jpg`` / ``*.jpeg`` files under ``root`` (any case), sorted, recursively.

    Args:
        root: a directory.

    Yields:
        File paths.

    Example:
        >>> from freqpipe._samples import samples_path
        >>> len(list(iter_jpegs(samples_path()))) >= 4
        True
    """
    for p in sorted(Path(root).rglob("*")):
        if p.suffix.lower() in _EXTENSIONS and p.is_file():
            yield p


def compute_stats(
    files: list[Path],
    selection: Selection,
    size: int,
    convention: Any = "per_coefficient",
    progress: bool = True,
) -> tuple[ChannelStats, list[Path]]:
    """Accumulate statistics over image files.

    Args:
        files: JPEG paths.
        selection: channels to keep.
        size: crop size (a multiple of 8).
        convention: ``"per_coefficient"`` or ``"per_image"``.
        progress: show a tqdm progress bar.

    Returns:
        ``(stats, skipped)``: the statistics and the files that could not be read.

    Example:
        >>> from freqpipe._samples import sample_files
        >>> s, bad = compute_stats(sample_files()[:1], Selection.preset("dct6"), 64, progress=False)
        >>> s.count, bad
        (64, [])
    """
    from tqdm import tqdm

    stats = ChannelStats(selection, convention=convention)
    skipped: list[Path] = []
    for path in tqdm(files, desc="stats", unit="img", disable=not progress):
        try:
            crop = load_center_crop(path, size)
        except (OSError, ValueError, SyntaxError) as exc:
            skipped.append(path)
            warnings.warn(f"{path}: skipped, cannot decode ({exc})", stacklevel=2)
            continue
        stats.update(selection.select(image_to_dct192(crop))[None])
    return stats, skipped


def register(subparsers: Any) -> None:
    """Add the ``stats`` sub-command to an argparse sub-parser set.

    Args:
        subparsers: the object returned by ``ArgumentParser.add_subparsers()``.

    Example:
        >>> p = argparse.ArgumentParser(); register(p.add_subparsers())
        >>> p.parse_args(["stats", "d", "--out", "s.json"]).select
        'dct24'
    """
    p = subparsers.add_parser(
        "stats",
        help="per-channel DCT mean/std of a folder of JPEGs",
        description="Compute per-channel DCT statistics of the JPEGs under DIR (the evaluation "
        "loader's resize and centre crop, then a block DCT) and write them as JSON for "
        "normalisation.",
    )
    p.add_argument(
        "dir", type=Path, nargs="?", help="folder searched recursively for *.jpg / *.jpeg"
    )
    p.add_argument(
        "--select", default="dct24", help="channel preset or Selection JSON (default dct24)"
    )
    p.add_argument("--size", type=int, default=448, help="centre-crop size (default 448)")
    p.add_argument("--out", type=Path, help="output JSON file")
    p.add_argument("--convention", choices=CONVENTIONS, default="per_coefficient")
    p.add_argument("--limit", type=int, default=None, help="use at most N images")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument(
        "--regenerate-defaults",
        action="store_true",
        help="rewrite the default statistics shipped with freqpipe from its sample photos "
        "(no DIR; --out-dir to write them elsewhere)",
    )
    p.add_argument("--out-dir", type=Path, help="with --regenerate-defaults: where to write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``freqpipe stats`` with parsed arguments.

    Args:
        args: namespace from the parser built by :func:`register`.

    Returns:
        Exit status: 0 on success, 2 for bad arguments or no readable image.

    Example:
        >>> ns = argparse.Namespace(dir=Path("/nonexistent"), select="dct24", size=448,
        ...     out=Path("x.json"), convention="per_coefficient", limit=None)
        >>> run(ns)
        2
    """
    if getattr(args, "regenerate_defaults", False):
        if args.dir is not None or args.out is not None:
            message = "--regenerate-defaults takes no DIR or --out (use --out-dir)"
            print(f"freqpipe stats: {message}", file=sys.stderr)
            return 2
        for path in regenerate_defaults(args.out_dir, progress=not args.no_progress):
            print(path)
        return 0
    if args.dir is None or args.out is None:
        print("freqpipe stats: DIR and --out are required", file=sys.stderr)
        return 2
    try:
        selection = Selection.from_spec(args.select)
    except ValueError as exc:
        print(f"freqpipe stats: {exc}", file=sys.stderr)
        return 2
    if args.size < 8 or args.size % 8:
        print(
            f"freqpipe stats: --size must be a positive multiple of 8, got {args.size}",
            file=sys.stderr,
        )
        return 2
    if not Path(args.dir).is_dir():
        print(f"freqpipe stats: {args.dir} is not a directory", file=sys.stderr)
        return 2
    files = list(iter_jpegs(args.dir))
    if args.limit is not None:
        files = files[: max(0, args.limit)]
    if not files:
        print(f"freqpipe stats: no .jpg/.jpeg files under {args.dir}", file=sys.stderr)
        return 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stats, skipped = compute_stats(
            files,
            selection,
            args.size,
            args.convention,
            progress=not getattr(args, "no_progress", False),
        )
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if stats.count == 0:
        print("freqpipe stats: no readable image", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    stats.save(args.out)
    print(
        f"{len(files) - len(skipped)} images, {len(skipped)} skipped, "
        f"{len(selection)} channels ({args.convention}) -> {args.out}"
    )
    return 0


def provenance(files: list[Path]) -> dict[str, Any]:
    """Describe how statistics were made: command, Python, package versions, input files.

    Args:
        files: the images the statistics were computed from.

    Returns:
        A JSON-ready dict.

    Example:
        >>> packages = provenance([])["packages"]
        >>> sorted(packages)[:4]
        ['freqpipe', 'libjpeg-turbo (Pillow)', 'libjpeg-turbo (system)', 'numpy']
        >>> sorted(packages)[4:]
        ['pillow', 'pyturbojpeg']
    """
    from PIL import features

    packages = {name: metadata.version(name) for name in _PROVENANCE_PACKAGES}
    packages["libjpeg-turbo (Pillow)"] = str(features.version("libjpeg_turbo"))
    packages["libjpeg-turbo (system)"] = _system_turbo_version()
    return {
        "command": REGENERATE_COMMAND,
        "python": platform.python_version(),
        "packages": packages,
        "images": [p.name for p in files],
    }


def _system_turbo_version() -> str:
    # libjpeg-turbo has no run-time version query before 3.0; the version freqpipe's native
    # reader was built against is the installed system library, the one PyTurboJPEG loads.
    number = getattr(_native, "LIBJPEG_TURBO_VERSION", None)
    if number is None:
        return "unknown"
    return f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"


def regenerate_defaults(out_dir: Path | None = None, progress: bool = True) -> list[Path]:
    """Recompute the default statistics shipped in ``freqpipe/transforms/data``.

    Each file also records its :func:`provenance` under ``"provenance"``.

    Args:
        out_dir: where to write ``stats_<name>.json``; the package's data folder by default.
        progress: show a tqdm progress bar.

    Returns:
        The files written.
    """
    import freqpipe.transforms as tf
    from freqpipe._samples import sample_files

    out_dir = out_dir or Path(tf.__file__).resolve().parent / "data"
    out_dir.mkdir(parents=True, exist_ok=True)
    files = sample_files()
    full, skipped = compute_stats(files, Selection.preset("all"), 448, progress=progress)
    if skipped:
        raise RuntimeError(f"bundled samples unreadable: {skipped}")
    written = []
    for name in DEFAULT_STATS:
        sel = Selection.preset(name)
        stats = ChannelStats(sel)
        idx = sel.indices
        # the 192-channel accumulator restricted to the selection is the selection's statistics
        stats._count = full.count
        stats._mean = full._mean[idx].copy()
        stats._m2 = full._m2[idx].copy()
        path = out_dir / f"stats_{name}.json"
        obj = stats.to_dict() | {"provenance": provenance(files)}
        path.write_text(json.dumps(obj, indent=1) + "\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m freqpipe._cli.stats`` (stand-alone ``stats`` command).

    Args:
        argv: arguments (``sys.argv[1:]`` by default).

    Returns:
        Exit status.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="freqpipe")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["stats", *argv])
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
