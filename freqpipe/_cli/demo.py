"""``freqpipe demo``: what frequency channels are, shown on a bundled photo.

Reads one image's coefficients, loads a batch with FreqLoader, converts the samples into a store
and reads it back, printing what happened at each step; then draws ``freqpipe-demo.png``: the
photo, its 64 luma DCT channels, the reconstruction from DCTNet's 24 channels beside the
original, and a two-level bior4.4 wavelet decomposition. Runs on a machine with no GPU.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from freqpipe._samples import sample_files, samples_path
from freqpipe.errors import MissingExtraError
from freqpipe.jpeg import read_coefficients
from freqpipe.jpeg.pixels import load_center_crop
from freqpipe.transforms import (
    Selection,
    block_idct,
    wavedec2,
    ycbcr_to_rgb,
)
from freqpipe.transforms.dct_pipeline import image_to_dct192

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``demo`` sub-command to the ``freqpipe`` parser."""
    p = subparsers.add_parser(
        "demo",
        help="show what freqpipe does on a bundled photo and draw freqpipe-demo.png",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--image", type=Path, help="a JPEG to use (default: a bundled sample)")
    p.add_argument("--size", type=int, default=448, help="crop size in pixels (default 448)")
    p.add_argument("--out", type=Path, default=Path("freqpipe-demo.png"), help="the PNG to write")
    p.set_defaults(func=run)


def _say(step: str, text: str) -> None:
    print(f"[{step}] {text}")


def reconstruct(coeffs192: np.ndarray, selection: Selection) -> np.ndarray:
    """Pixels from only the selected channels (the others zeroed): (S, S, 3) uint8.

    Example:
        >>> c = image_to_dct192(np.full((16, 16, 3), 90, np.uint8))
        >>> reconstruct(c, Selection.preset("dct6"))[0, 0].tolist()
        [90, 90, 90]
    """
    kept = np.zeros_like(coeffs192)
    kept[selection.indices] = coeffs192[selection.indices]
    ycc = block_idct(kept.reshape(3, 64, *coeffs192.shape[-2:]))
    rgb = ycbcr_to_rgb(np.clip(np.rint(ycc), 0, 255).astype(np.uint8))
    return np.moveaxis(rgb, 0, -1)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 images, in dB."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _tile(maps: np.ndarray, rows: int, cols: int, gap: int = 2) -> np.ndarray:
    """Arrange (rows*cols, h, w) maps into one image with gaps (NaN, drawn as background)."""
    _, h, w = maps.shape
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan)
    for i, m in enumerate(maps):
        r, c = divmod(i, cols)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = m
    return out


def _wavelet_mosaic(y: np.ndarray) -> np.ndarray:
    """Two-level bior4.4 decomposition in the usual quadrant layout, each band scaled."""
    c_a2, (c_h2, c_v2, c_d2), (c_h1, c_v1, c_d1) = wavedec2(y, "bior4.4", level=2)

    def scaled(band: np.ndarray, detail: bool) -> np.ndarray:
        # Details are signed and sparse: show their magnitude, clipped at a high percentile.
        band = np.abs(band) if detail else band
        lo, hi = (0.0, np.percentile(band, 99.5)) if detail else np.percentile(band, [1, 99])
        return np.clip((band - lo) / max(hi - lo, 1e-6), 0, 1)

    inner = np.block(
        [[scaled(c_a2, False), scaled(c_h2, True)], [scaled(c_v2, True), scaled(c_d2, True)]]
    )
    return np.block([[inner, scaled(c_h1, True)], [scaled(c_v1, True), scaled(c_d1, True)]])


def draw(path: Path, rgb: np.ndarray, coeffs192: np.ndarray, out: Path) -> float:
    """Write the demo figure; return the PSNR of the dct24 reconstruction."""
    if importlib.util.find_spec("matplotlib") is None:
        raise MissingExtraError("freqpipe demo draws with matplotlib: pip install freqpipe[bench]")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    selection = Selection.preset("dct24")
    recon = reconstruct(coeffs192, selection)
    quality = psnr(recon, rgb)
    y_maps = np.log1p(np.abs(coeffs192[:64]))
    y_maps = y_maps / np.maximum(y_maps.reshape(64, -1).max(axis=1), 1e-6)[:, None, None]
    luma = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])

    fig, axes = plt.subplots(2, 2, figsize=(12, 12), constrained_layout=True)
    panels = [
        (rgb, f"{path.name}: {rgb.shape[1]}x{rgb.shape[0]} crop", None),
        (
            _tile(y_maps, 8, 8),
            "the 64 luma DCT channels, k = 8v + u (log |coefficient|)",
            "magma",
        ),
        (
            np.concatenate([rgb, np.full((rgb.shape[0], 8, 3), 255, np.uint8), recon], axis=1),
            f"original | from dct24 only (24 of 192 channels): PSNR {quality:.1f} dB",
            None,
        ),
        (_wavelet_mosaic(luma), "bior4.4 wavelet decomposition of luma, 2 levels", "gray"),
    ]
    for ax, (image, title, cmap) in zip(axes.flat, panels):
        ax.imshow(image, cmap=cmap, interpolation="nearest")
        ax.set_title(title, fontsize=11)
        ax.set_axis_off()
    kept = np.zeros(64, bool)
    kept[selection.per_plane[0]] = True
    for k in np.flatnonzero(kept):  # outline the luma channels dct24 keeps
        v, u = divmod(int(k), 8)
        h = coeffs192.shape[-1] + 2
        axes[0, 1].add_patch(
            plt.Rectangle((u * h - 1.5, v * h - 1.5), h - 1, h - 1, fill=False, ec="cyan", lw=1)
        )
    fig.suptitle("freqpipe: an image in the frequency domain (cyan: the luma channels of dct24)")
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return quality


def _loader_step(size: int) -> None:
    if importlib.util.find_spec("freqpipe.data") is None:
        _say("loader", "FreqLoader is not available in this build")
        return
    import freqpipe.data as data

    crop = size // 2
    loader = data.FreqLoader(samples_path(), batch_size=4, select="dct24", size=crop)
    x, y = next(iter(loader))
    _say(
        "loader",
        f"FreqLoader batch straight from the JPEG bitstreams: x {tuple(x.shape)} {x.dtype} on "
        f"{x.device}, labels {y.tolist()}; {loader.h2d_bytes_per_sample():,} bytes per image to "
        f"the device, against {3 * crop * crop:,} as uint8 RGB and {12 * crop * crop:,} as "
        "float32 RGB",
    )


def _store_step(size: int) -> None:
    if importlib.util.find_spec("freqpipe.store") is None:
        _say("store", "freqpipe.store is not available in this build")
        return
    import freqpipe.store as store

    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "samples.fps"
        start = time.perf_counter()
        store.convert(samples_path(), dst, select="dct24", size=size // 2, progress=False)
        elapsed = time.perf_counter() - start
        fs = store.FreqStore(dst)
        batch = fs.read_batch(np.arange(len(fs)))
        _say(
            "store",
            f"converted {len(fs)} samples in {elapsed:.2f} s; read back {batch.coeffs.shape} "
            f"{batch.coeffs.dtype} with labels {batch.labels.tolist()}",
        )


def run(args: argparse.Namespace) -> int:
    """Run the demo; return 0."""
    path = args.image or sample_files()[0]
    size = args.size
    c = read_coefficients(path)
    coefficient_bytes = sum(p.size for p in c.planes) * 2
    _say(
        "read",
        f"{path.name}: {c.width}x{c.height} {c.colorspace}, sampling {c.sampling}; "
        f"{sum(p.shape[0] * p.shape[1] for p in c.planes):,} blocks of 64 quantised "
        f"coefficients ({coefficient_bytes:,} bytes as int16) read without decoding a pixel",
    )
    rgb = np.ascontiguousarray(load_center_crop(path, size))  # the evaluation loader's crop
    coeffs192 = image_to_dct192(rgb)
    selection = Selection.preset("dct24")
    grid = (size // 8) ** 2
    _say(
        "select",
        f"dct24 keeps {len(selection)} of 192 channels ({', '.join(selection.names[:6])}, ...): "
        f"{len(selection) * grid * 2:,} bytes per {size}x{size} image as int16, against "
        f"{size * size * 3:,} as uint8 RGB and {size * size * 3 * 4:,} as float32 RGB",
    )
    _loader_step(size)
    _store_step(size)
    quality = draw(path, rgb, coeffs192, args.out)
    _say("draw", f"wrote {args.out} (dct24 reconstruction PSNR {quality:.1f} dB)")
    return 0
