"""Coefficient reading speed against full decoders and libjpeg-turbo's own floor.

All methods get the same JPEG bytes, already in memory (file I/O is not what is compared):

- ``freqpipe``: ``read_coefficients`` (native, GIL released, copies every coefficient out);
- ``tj-noop``: libjpeg-turbo decoding the coefficients and copying nothing, via
  ``tjTransform(TJXOPT_NOOUTPUT)`` with no filter, called through ctypes: the physical floor;
- ``turbojpeg-rgb``: PyTurboJPEG full decode to RGB;
- ``pillow-rgb``: Pillow full decode to RGB.

Run ``python benchmarks/bench_reader.py [--data DIR] [--repeats N]`` for the table and a JSON
file in benchmarks/results/, or ``pytest benchmarks/bench_reader.py --benchmark-only`` for the
pytest-benchmark view of the single-thread figures.

``--batch`` times ``read_coefficients_batch`` instead, on the same files as bytes and as paths,
against its baselines in the same run: ``threads=2`` against ``read_coefficients`` mapped over a
``ThreadPoolExecutor(2)`` (one made per call, as the batch function does, and one kept across
calls), ``threads=1`` against a plain loop. The order of the methods rotates every round; the
table gives median images/s, median CPU ms/image and the median of the per-round ratios to the
baseline (``bench_reader_batch.json``).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import io
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import freqpipe
from freqpipe._timing import Spread, interleave, ratios, run_info, timed, write_json
from freqpipe.jpeg import read_coefficients, read_coefficients_batch

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "photos"
TJXOPT_NOOUTPUT = 16  # turbojpeg.h


class _TjRegion(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("w", ctypes.c_int), ("h", ctypes.c_int)]


class _TjTransform(ctypes.Structure):
    _fields_ = [
        ("r", _TjRegion),
        ("op", ctypes.c_int),
        ("options", ctypes.c_int),
        ("data", ctypes.c_void_p),
        ("customFilter", ctypes.c_void_p),
    ]


def _turbojpeg_name() -> str:
    return ctypes.util.find_library("turbojpeg") or "libturbojpeg.so.0"


def _libturbojpeg() -> ctypes.CDLL:
    lib = ctypes.CDLL(_turbojpeg_name())
    lib.tjInitTransform.restype = ctypes.c_void_p
    lib.tjTransform.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_ulong),
        ctypes.POINTER(_TjTransform),
        ctypes.c_int,
    ]
    lib.tjDestroy.argtypes = [ctypes.c_void_p]
    return lib


_tls = threading.local()


def tj_noop(data: bytes) -> None:
    """Entropy-decode with libjpeg-turbo and discard: the floor for any coefficient reader."""
    lib = _libturbojpeg_cached()
    handle = getattr(_tls, "handle", None)
    if handle is None:  # tjhandle is not thread-safe: one per thread
        handle = _tls.handle = lib.tjInitTransform()
    xform = _TjTransform()
    xform.options = TJXOPT_NOOUTPUT
    dst = ctypes.c_void_p()
    size = ctypes.c_ulong(0)
    if (
        lib.tjTransform(
            handle,
            data,
            len(data),
            1,
            ctypes.byref(dst),
            ctypes.byref(size),
            ctypes.byref(xform),
            0,
        )
        != 0
    ):
        raise RuntimeError("tjTransform failed")


_LIB: list[ctypes.CDLL] = []


def _libturbojpeg_cached() -> ctypes.CDLL:
    if not _LIB:
        _LIB.append(_libturbojpeg())
    return _LIB[0]


def freqpipe_read(data: bytes) -> None:
    read_coefficients(data)


def turbojpeg_rgb(data: bytes) -> None:
    import turbojpeg

    tj = getattr(_tls, "tj", None)
    if tj is None:
        tj = _tls.tj = turbojpeg.TurboJPEG(_turbojpeg_name())
    tj.decode(data, pixel_format=turbojpeg.TJPF_RGB)


def pillow_rgb(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as im:
        im.convert("RGB").load()


METHODS: dict[str, Callable[[bytes], None]] = {
    "freqpipe": freqpipe_read,
    "tj-noop": tj_noop,
    "turbojpeg-rgb": turbojpeg_rgb,
    "pillow-rgb": pillow_rgb,
}


def jpeg_files(data_dir: Path, limit: int | None = None) -> list[Path]:
    """The first ``limit`` JPEG files under ``data_dir``, in sorted order."""
    files = sorted(p for p in data_dir.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg"})
    return files[:limit]


def load_images(data_dir: Path, limit: int | None = None) -> list[bytes]:
    return [p.read_bytes() for p in jpeg_files(data_dir, limit)]


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """The options the JPEG-reading benchmarks share: --data, --limit, --repeats, --out."""
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")


def images_per_second(fn: Callable[[bytes], None], images: list[bytes], threads: int) -> float:
    start = time.perf_counter()
    if threads == 1:
        for data in images:
            fn(data)
    else:
        with ThreadPoolExecutor(threads) as pool:
            # Contiguous halves, not one task per image: keep Python scheduling out of the cost.
            chunks = [images[i::threads] for i in range(threads)]
            list(pool.map(lambda chunk: [fn(d) for d in chunk], chunks))
    return len(images) / (time.perf_counter() - start)


def measure(
    methods: Mapping[str, tuple[Callable[[bytes], Any], list[bytes]]],
    repeats: int,
    threads_list: tuple[int, ...],
) -> dict[str, dict]:
    """Per method (a reader and the images it reads) and thread count: images/s over rounds."""
    results: dict[str, dict] = {name: {} for name in methods}
    for threads in threads_list:
        rates = interleave(
            {
                name: partial(images_per_second, fn, images, threads)
                for name, (fn, images) in methods.items()
            },
            repeats,
        )
        for name, values in rates.items():
            results[name][f"{threads}t"] = Spread.of(values).to_dict()
    return results


def _pool_map(srcs: list) -> list:
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(read_coefficients, srcs))


#: (name, baseline name or None, function of the sources) for ``--batch``.
BATCH_METHODS: list[tuple[str, str | None, Callable[[list], list]]] = [
    ("pool-2t", None, _pool_map),
    ("batch-2t", "pool-2t", lambda srcs: read_coefficients_batch(srcs, threads=2)),
    ("loop", None, lambda srcs: [read_coefficients(s) for s in srcs]),
    ("batch-1t", "loop", lambda srcs: read_coefficients_batch(srcs, threads=1)),
]


def _discard(fn: Callable[[list], list], srcs: list) -> None:
    fn(srcs)


def measure_batch(sources: dict[str, list], repeats: int) -> dict[str, dict]:
    """Per source kind and method: median images/s, CPU ms/image, ratio to its baseline."""
    kept = ThreadPoolExecutor(2)
    methods = [
        *BATCH_METHODS,
        ("kept-pool-2t", "pool-2t", lambda srcs: list(kept.map(read_coefficients, srcs))),
    ]
    results: dict[str, dict] = {}
    try:
        for kind, srcs in sources.items():
            # the outputs are dropped inside the call: rounds must not keep every image alive
            runs = interleave(
                {name: timed(partial(_discard, fn, srcs)) for name, _, fn in methods}, repeats
            )
            rate = {name: [len(srcs) / t.wall_s for t in ts] for name, ts in runs.items()}
            results[kind] = {}
            for name, base, _ in methods:
                spread = Spread.of(rate[name])
                results[kind][name] = {
                    "images_per_s": spread.median,
                    "min": spread.min,
                    "max": spread.max,
                    "cpu_ms_per_image": Spread.of(
                        [1e3 * t.cpu_s / len(srcs) for t in runs[name]]
                    ).median,
                    "vs_baseline": None if base is None else ratios(rate, base)[name],
                    "baseline": base,
                }
    finally:
        kept.shutdown()
    return results


def main_batch(args: argparse.Namespace) -> int:
    files = jpeg_files(args.data, args.limit)
    sources = {"bytes": [p.read_bytes() for p in files], "paths": [str(p) for p in files]}
    print(f"{len(files)} JPEGs from {args.data}, {args.repeats} rounds, medians")
    results = measure_batch(sources, args.repeats)
    print(f"{'source':<7}{'method':<14}{'images/s':>10}{'CPU ms/img':>12}{'vs baseline':>22}")
    for kind, rows in results.items():
        for name, r in rows.items():
            vs = "" if r["baseline"] is None else f"{r['vs_baseline']:.3f} x {r['baseline']}"
            print(
                f"{kind:<7}{name:<14}{r['images_per_s']:>10.1f}{r['cpu_ms_per_image']:>12.2f}"
                f"{vs:>22}"
            )
    record = {
        "benchmark": "bench_reader --batch",
        "images": len(files),
        "data": str(args.data),
        "repeats": args.repeats,
        "results": results,
        **run_info(),
    }
    print(f"wrote {write_json(args.out / 'bench_reader_batch.json', record)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_options(parser)
    parser.add_argument("--threads", default="1,2", help="thread counts, e.g. 1,2,4,8")
    parser.add_argument(
        "--batch", action="store_true", help="read_coefficients_batch against a thread pool"
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no images at {args.data}; pass --data DIR", file=sys.stderr)
        return 2
    if args.batch:
        return main_batch(args)
    images = load_images(args.data, args.limit)
    threads = tuple(int(t) for t in args.threads.split(","))
    if threads[:2] != (1, 2):
        parser.error("--threads must start with 1,2")
    print(f"{len(images)} JPEGs from {args.data}, {args.repeats} repeats, median images/s")
    results = measure({name: (fn, images) for name, fn in METHODS.items()}, args.repeats, threads)
    ref1 = results["tj-noop"]["1t"]["median"]
    header = f"{'method':<15}" + "".join(f"{f'{t} thr':>10}" for t in threads)
    print(header + f"{'2t/1t':>8}{'1t vs tj-noop':>15}")
    for name, r in results.items():
        one, two = r["1t"]["median"], r["2t"]["median"]
        row = "".join(f"{r[f'{t}t']['median']:>10.1f}" for t in threads)
        print(f"{name:<15}{row}{two / one:>8.2f}{one / ref1:>15.2f}")
    fp1 = results["freqpipe"]["1t"]["median"]
    summary = {
        "freqpipe_vs_tj_noop_1t": fp1 / ref1,
        "freqpipe_vs_turbojpeg_rgb_1t": fp1 / results["turbojpeg-rgb"]["1t"]["median"],
        "freqpipe_2t_over_1t": results["freqpipe"]["2t"]["median"] / fp1,
    }
    for key, value in summary.items():
        print(f"{key}: {value:.3f}")
    record = {
        "benchmark": "bench_reader",
        "images": len(images),
        "data": str(args.data),
        "repeats": args.repeats,
        "results": results,
        "summary": summary,
        **run_info(),
    }
    print(f"wrote {write_json(args.out / 'bench_reader.json', record)}")
    return 0


# ---- pytest-benchmark view (single thread, per image) --------------------------------------


@pytest.fixture(scope="module")
def images() -> list[bytes]:
    data = DEFAULT_DATA if DEFAULT_DATA.is_dir() else freqpipe.samples_path()
    return load_images(data, limit=64)


@pytest.mark.parametrize("name", list(METHODS))
def test_decode_speed(benchmark, images: list[bytes], name: str) -> None:  # type: ignore[no-untyped-def]
    fn = METHODS[name]
    benchmark.extra_info["images"] = len(images)
    benchmark(lambda: [fn(d) for d in images])


if __name__ == "__main__":
    sys.exit(main())
