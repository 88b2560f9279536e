"""Throughput of freqpipe's NumPy reference transforms against SciPy and PyWavelets.

Workload: 64 images of 448x448x3 (the bundled sample photographs, resized and centre-cropped
as DCTNet does, repeated to 64). ``block_dct`` is compared with ``scipy.fft.dctn(norm="ortho")``
on the same 8x8 blocks (level shift and float32 cast included in both); ``dwt2`` with
``pywt.dwt2(..., mode="periodization", axes=(-2, -1))`` on the same float32 batch. Throughput
is input megabytes per second (uint8 input for the DCT, float32 for the DWT).

pytest-benchmark::

    .venv/bin/python -m pytest benchmarks/bench_transforms.py --benchmark-only -p no:cacheprovider

Stand-alone (median of repeats after a warm-up, both sides measured in the same run)::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_transforms.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pywt
import scipy
import scipy.fft

from freqpipe._timing import Spread, interleave, run_info, timed, write_json
from freqpipe.transforms import block_dct, dwt2, resize_shape

N_IMAGES, SIZE = 64, 448
WAVELETS = ("haar", "bior2.2", "bior4.4")
SAMPLES = Path(__file__).resolve().parents[1] / "freqpipe" / "samples"


@cache
def images_uint8() -> np.ndarray:
    """(64, 3, 448, 448) uint8: the bundled photos, resized 512 + centre crop 448, repeated."""
    from PIL import Image

    crops = []
    for path in sorted(SAMPLES.glob("*/*.jpg")):
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        h, w = resize_shape(rgb.height, rgb.width, SIZE)
        rgb = rgb.resize((w, h), Image.Resampling.BILINEAR)
        top, left = (h - SIZE) // 2, (w - SIZE) // 2
        crops.append(np.asarray(rgb)[top : top + SIZE, left : left + SIZE])
    if not crops:  # no samples: random data of the same size
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, (N_IMAGES, 3, SIZE, SIZE), dtype=np.uint8)
    batch = np.stack([crops[i % len(crops)] for i in range(N_IMAGES)])
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


@cache
def images_float32() -> np.ndarray:
    return images_uint8().astype(np.float32)


def scipy_block_dct(x: np.ndarray) -> np.ndarray:
    """The same blocks through scipy.fft.dctn (layout (..., Hb, Wb, 8, 8))."""
    *lead, h, w = x.shape
    xs = np.subtract(x, 128.0, dtype=np.float32)
    blocks = xs.reshape(*lead, h // 8, 8, w // 8, 8).swapaxes(-3, -2)
    return scipy.fft.dctn(blocks, axes=(-2, -1), norm="ortho")


def freqpipe_dct() -> Any:
    return block_dct(images_uint8())


def scipy_dct() -> Any:
    return scipy_block_dct(images_uint8())


def freqpipe_dwt(wavelet: str) -> Callable[[], Any]:
    return lambda: dwt2(images_float32(), wavelet, "periodization")


def pywt_dwt(wavelet: str) -> Callable[[], Any]:
    return lambda: pywt.dwt2(images_float32(), wavelet, mode="periodization", axes=(-2, -1))


# --- pytest-benchmark (skipped unless --benchmark-only / --benchmark-enable) ---------------


def _bench(benchmark: Any, fn: Callable[[], Any]) -> None:
    images_uint8(), images_float32()  # build the inputs outside the timed region
    benchmark.pedantic(fn, rounds=3, iterations=1, warmup_rounds=1)


def test_block_dct_freqpipe(benchmark: Any) -> None:
    _bench(benchmark, freqpipe_dct)


def test_block_dct_scipy(benchmark: Any) -> None:
    _bench(benchmark, scipy_dct)


@pytest.mark.parametrize("wavelet", WAVELETS)
def test_dwt2_freqpipe(benchmark: Any, wavelet: str) -> None:
    _bench(benchmark, freqpipe_dwt(wavelet))


@pytest.mark.parametrize("wavelet", WAVELETS)
def test_dwt2_pywt(benchmark: Any, wavelet: str) -> None:
    _bench(benchmark, pywt_dwt(wavelet))


# --- stand-alone report ----------------------------------------------------------------------


def _discard(fn: Callable[[], Any]) -> None:
    fn()  # the output is dropped inside the call: the rounds keep no batches alive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    args = parser.parse_args()
    u8, f32 = images_uint8(), images_float32()
    cases = [("block_dct", u8.nbytes, freqpipe_dct, "scipy.fft.dctn", scipy_dct)]
    cases += [
        (f"dwt2 {w}", f32.nbytes, freqpipe_dwt(w), "pywt.dwt2", pywt_dwt(w)) for w in WAVELETS
    ]
    rows = []
    print(f"{N_IMAGES} images {SIZE}x{SIZE}x3, median of {args.repeats} after a warm-up")
    print(f"{'op':<16}{'freqpipe MB/s':>15}{'reference':>18}{'ref MB/s':>11}{'ratio':>8}")
    for name, nbytes, ours, ref_name, ref in cases:
        runs = interleave(
            {"ours": timed(partial(_discard, ours)), "ref": timed(partial(_discard, ref))},
            args.repeats,
        )
        t_ours, t_ref = ([t.wall_s for t in runs[k]] for k in ("ours", "ref"))
        m_ours, m_ref = Spread.of(t_ours).median, Spread.of(t_ref).median
        mbs_ours, mbs_ref = nbytes / m_ours / 1e6, nbytes / m_ref / 1e6
        rows.append(
            {
                "op": name,
                "input_bytes": nbytes,
                "reference": ref_name,
                "freqpipe_s": t_ours,
                "reference_s": t_ref,
                "freqpipe_MBps": mbs_ours,
                "reference_MBps": mbs_ref,
                "ratio": m_ref / m_ours,
            }
        )
        print(f"{name:<16}{mbs_ours:>15.1f}{ref_name:>18}{mbs_ref:>11.1f}{m_ref / m_ours:>7.2f}x")
    if args.json:
        write_json(args.json, {"benchmark": "bench_transforms", "results": rows, **run_info("cpu")})


if __name__ == "__main__":
    main()
