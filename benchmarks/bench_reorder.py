"""Frequency-ordered JPEG: prefix reading against full coefficient decodes, in one run.

All readers get the same photos, already in memory (file I/O is not what is compared), one
thread and two, methods interleaved per round, medians of the rounds:

- ``tj-noop``: libjpeg-turbo's own coefficient decode of the originals, nothing copied
  (``tjTransform(TJXOPT_NOOUTPUT)`` via ctypes, as in bench_reader.py): the floor;
- ``orig-all`` / ``orig-dct24``: ``read_coefficients`` of the original files, all channels /
  ``freqs`` of dct24 (a baseline file must still be decoded whole);
- ``reord-all``: the reordered files (``fp.reorder_jpeg``, order dct6, dct24, dct64, all), all;
- ``reord-dct6`` / ``reord-dct24`` / ``reord-dct64``: the reordered files, ``freqs`` of that
  selection: the reader stops after the selection's last scan.

Also bytes read per image (``c.bytes_read``) against the original file's size, and the rewrite
itself: ``fp.reorder_jpeg`` against ``jpegtran -copy all -restart 1 -scans`` (from
libjpeg-turbo-progs) with the same scan script and restart markers (a process per image, stdin
to stdout, as a user would run it over a tree; the spawn cost of a 1x1 image is reported beside
it). Loader: ``FreqLoader`` dct24 at 224 (its second epoch: the first reads each file whole),
train, 2 workers, over the original folder, the reordered folder and a reordered jpeg-route
store (``convert --route jpeg --order ...``), both written to a temporary directory; the store
hands the reader each record's stored dct24 prefix (no marker walk, no bytes past it), and the
bytes each source hands the reader per image are reported beside the rates. The store's
own step is also timed alone, one thread: ``decode_jpeg`` of each record's stored prefix
(``store-prefix``) against the whole record with the reader's marker walk
(``store-whole-walk``, what the store did before it stored prefixes).

Run ``python benchmarks/bench_reorder.py [--data DIR] [--repeats N] [--loader-only]``; JSON
goes to ``benchmarks/results/bench_reorder.json`` (``bench_reorder_loader.json`` with
``--loader-only``, which skips the reader and rewrite sections).
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import freqpipe as fp
from benchmarks.bench_reader import add_common_options, jpeg_files, measure, tj_noop
from freqpipe._timing import Spread, interleave, run_info, timed, write_json
from freqpipe.data import FreqLoader
from freqpipe.jpeg import DEFAULT_ORDER, decode_jpeg, read_coefficients, scan_table
from freqpipe.transforms import Selection


def _freqs(name: str) -> tuple[Any, ...]:
    return tuple(Selection.preset(name).per_plane)


_GRAY: set[int] = set()  # id() of the grayscale images: they take the Y list alone


def _reader(freqs: tuple[Any, ...] | None) -> Callable[[bytes], None]:
    def read(data: bytes) -> None:
        chosen = freqs[:1] if freqs is not None and id(data) in _GRAY else freqs
        read_coefficients(data, freqs=chosen)

    return read


def _jpegtran_script(reordered: bytes) -> str:
    """The scan script of one of our files, in jpegtran's -scans syntax."""
    table = scan_table(reordered)
    assert table is not None
    return "".join(
        f"{','.join(map(str, s.components))}: {s.ss}-{s.se}, {s.ah}, {s.al};\n" for s in table.scans
    )


def _jpegtran(binary: str, script: Path, data: bytes) -> bytes:
    # -restart 1: a restart marker per MCU row, as fp.reorder_jpeg writes by default
    cmd = [binary, "-copy", "all", "-optimize", "-restart", "1", "-scans", str(script)]
    return subprocess.run(cmd, input=data, capture_output=True, check=True).stdout


def _loader_rate(root: Any, workers: int) -> float:
    """Images/s of FreqLoader's second epoch (dct24 at 224, training augmentation).

    The first, untimed, reads every file whole once (the loader's check for damage, which
    every later epoch then skips); the second reads only each crop's rows, as training does.
    """
    loader = FreqLoader(
        root,
        batch_size=32,
        shuffle=True,
        num_workers=workers,
        select="dct24",
        size=224,
        train=True,
        device="cpu",
    )
    for _ in loader:
        pass
    t0, n = time.perf_counter(), 0
    for _, y in loader:
        n += len(y)
    return n / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_options(parser)
    parser.add_argument(
        "--loader-only", action="store_true", help="only the FreqLoader section (faster)"
    )
    args = parser.parse_args(argv)
    files = jpeg_files(args.data, args.limit)
    if not files:
        print(f"no images at {args.data}; pass --data DIR", file=sys.stderr)
        return 2
    record: dict[str, Any] = {
        "benchmark": "bench_reorder",
        "images": len(files),
        "data": str(args.data),
        "repeats": args.repeats,
        "order": list(DEFAULT_ORDER),
    }
    summary: dict[str, float] = {}
    if not args.loader_only:
        _readers(files, args, record, summary)
    loader, loader_bytes = _loader_section(args)
    loader_median = {k: Spread.of(v).median for k, v in loader.items()}
    print(f"FreqLoader dct24 224 2 workers images/s (and the store's read alone): {loader_median}")
    print(f"FreqLoader dct24 bytes handed to the reader per image: {loader_bytes}")
    summary["loader_reordered_vs_original"] = loader_median["reordered"] / loader_median["original"]
    summary["loader_store_vs_original"] = (
        loader_median["reordered-store"] / loader_median["original"]
    )
    summary["loader_store_vs_reordered"] = (
        loader_median["reordered-store"] / loader_median["reordered"]
    )
    summary["store_prefix_vs_whole_walk_read"] = (
        loader_median["store-prefix"] / loader_median["store-whole-walk"]
    )
    for key, value in summary.items():
        print(f"{key}: {value:.3f}")
    record.update(
        {
            "loader_images_per_s": loader,
            "loader_bytes_per_image": loader_bytes,
            "summary": summary,
            **run_info(),
        }
    )
    name = "bench_reorder_loader.json" if args.loader_only else "bench_reorder.json"
    print(f"wrote {write_json(args.out / name, record)}")
    return 0


def _readers(
    files: list[Path], args: argparse.Namespace, record: dict[str, Any], summary: dict[str, float]
) -> None:
    """The reader and rewrite sections: in-memory reads one thread and two, and the rewrite."""
    originals = [p.read_bytes() for p in files]
    reordered = [fp.reorder_jpeg(d) for d in originals]
    for d in originals + reordered:
        table = scan_table(d)
        if table is not None and table.ncomp == 1:
            _GRAY.add(id(d))
    print(f"{len(originals)} JPEGs from {args.data}, {args.repeats} rounds, median images/s")

    methods: dict[str, tuple[Callable[[bytes], Any], list[bytes]]] = {
        "tj-noop": (tj_noop, originals),
        "orig-all": (_reader(None), originals),
        "orig-dct24": (_reader(_freqs("dct24")), originals),
        "reord-all": (_reader(None), reordered),
        "reord-dct6": (_reader(_freqs("dct6")), reordered),
        "reord-dct24": (_reader(_freqs("dct24")), reordered),
        "reord-dct64": (_reader(_freqs("dct64")), reordered),
    }
    results = measure(methods, args.repeats, (1, 2))

    total = sum(len(d) for d in originals)
    bytes_read = {
        "orig-all": 1.0,
        "orig-dct24": 1.0,
        "reord-all": sum(len(d) for d in reordered) / total,
    }
    for name in ("dct6", "dct24", "dct64"):
        freqs = _freqs(name)
        read = [
            read_coefficients(d, freqs=freqs[:1] if id(d) in _GRAY else freqs) for d in reordered
        ]
        bytes_read[f"reord-{name}"] = sum(c.bytes_read for c in read) / total
    floor1 = results["tj-noop"]["1t"]["median"]
    print(
        f"{'method':<13}{'1 thr':>9}{'2 thr':>9}{'x floor 1t':>12}{'x floor 2t':>12}"
        f"{'bytes read':>12}"
    )
    for name, r in results.items():
        one, two = r["1t"]["median"], r["2t"]["median"]
        share = bytes_read.get(name, 1.0)
        print(
            f"{name:<13}{one:>9.1f}{two:>9.1f}{one / floor1:>12.2f}"
            f"{two / results['tj-noop']['2t']['median']:>12.2f}{share:>12.3f}"
        )

    # The rewrite: ours (in process) against jpegtran (a process per image), same script.
    rewrite: dict[str, Any] = {}
    binary = shutil.which("jpegtran")

    def rewrite_ours() -> None:  # keeps no output: the rounds must not hold every file
        for d in originals:
            fp.reorder_jpeg(d)

    ours_runs = interleave({"freqpipe": timed(rewrite_ours)}, args.repeats, warmup=0)["freqpipe"]
    rewrite["freqpipe"] = Spread.of([len(originals) / t.wall_s for t in ours_runs]).median
    if binary is not None:
        with tempfile.TemporaryDirectory() as tmp:
            scripts: dict[str, Path] = {}
            jobs = []
            for d, r in zip(originals, reordered):
                text = _jpegtran_script(r)
                if text not in scripts:
                    scripts[text] = Path(tmp) / f"scans{len(scripts)}.txt"
                    scripts[text].write_text(text)
                jobs.append((scripts[text], d))
            out0 = _jpegtran(binary, jobs[0][0], jobs[0][1])
            theirs, ours = read_coefficients(out0), read_coefficients(reordered[0])
            same = all(np.array_equal(a, b) for a, b in zip(theirs.planes, ours.planes))

            def rewrite_jpegtran() -> None:
                for script, d in jobs:
                    _jpegtran(binary, script, d)

            tran = interleave(
                {"jpegtran": timed(rewrite_jpegtran)}, max(1, args.repeats // 2), warmup=0
            )["jpegtran"]
            tiny = io.BytesIO()
            Image.new("RGB", (8, 8)).save(tiny, format="JPEG")
            t0 = time.perf_counter()
            for _ in range(50):
                _jpegtran(binary, jobs[0][0], tiny.getvalue())
            spawn = (time.perf_counter() - t0) / 50
        rewrite.update(
            {
                "jpegtran": Spread.of([len(jobs) / t.wall_s for t in tran]).median,
                "jpegtran_spawn_s": spawn,
                "jpegtran_same_coefficients": same,
                "jpegtran_bytes_vs_ours": len(out0) / len(reordered[0]),
            }
        )
    print(f"rewrite images/s: {rewrite}")

    summary.update(
        {
            "reord_dct24_vs_floor_1t": results["reord-dct24"]["1t"]["median"] / floor1,
            "reord_dct6_vs_floor_1t": results["reord-dct6"]["1t"]["median"] / floor1,
            "reord_dct24_bytes": bytes_read["reord-dct24"],
            "reord_all_vs_orig_all_1t": results["reord-all"]["1t"]["median"]
            / results["orig-all"]["1t"]["median"],
        }
    )
    record.update(
        {
            "results": results,
            "bytes_read_vs_original": bytes_read,
            "rewrite_images_per_s": rewrite,
        }
    )


def _handed_bytes(sources: list[Any]) -> float:
    """Mean bytes per image libjpeg gets for dct24: the coefficient source's own decode call."""
    return float(np.mean([decode_jpeg(src, select="dct24").bytes_read for src in sources]))


def _loader_section(args: argparse.Namespace) -> tuple[dict[str, list[float]], dict[str, float]]:
    """FreqLoader dct24 at 224 over the originals, the reordered tree and the reordered store."""
    # The reordered folder needs no store: the reader finds the prefix by a marker walk. The
    # store hands it the stored prefix of each record (no walk, no bytes past the prefix).
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "reordered"
        fp.store.reorder_folder(args.data, dst, workers=2, progress=False)
        store_dir = Path(tmp) / "store"
        fp.store.convert(
            args.data,
            store_dir,
            route="jpeg",
            size=224,
            order=DEFAULT_ORDER,
            workers=2,
            progress=False,
        )
        store = fp.store.FreqStore(store_dir)
        sources = {"original": args.data, "reordered": dst, "reordered-store": store}
        handed = {
            "original": _handed_bytes(jpeg_files(args.data, None)),
            "reordered": _handed_bytes(jpeg_files(dst, None)),
            "reordered-store": _handed_bytes(
                [store.get_prefix(i, "dct24") for i in range(len(store))]
            ),
        }
        loader = interleave(
            {name: partial(_loader_rate, root, 2) for name, root in sources.items()},
            max(1, args.repeats // 2),
        )  # the warm-up round fills the page cache and starts the code paths
        # The store's own step, one thread, apart from the rest of the loader's work: a
        # record's stored prefix against the whole record, whose prefix the reader walks to.
        n = len(store)
        reads = interleave(
            {
                "store-prefix": partial(
                    _read_rate,
                    lambda i: decode_jpeg(store.get_prefix(i, "dct24"), select="dct24"),
                    n,
                ),
                "store-whole-walk": partial(
                    _read_rate, lambda i: decode_jpeg(store.get_bytes(i), select="dct24"), n
                ),
            },
            args.repeats,
        )
    return {**loader, **reads}, handed


def _read_rate(read: Callable[[int], Any], n: int) -> float:
    """Images/s of ``read(i)`` over records 0..n-1, one thread."""
    t0 = time.perf_counter()
    for i in range(n):
        read(i)
    return n / (time.perf_counter() - t0)


if __name__ == "__main__":
    sys.exit(main())
