"""Packed store: conversion speed, and loading speed against the two live-decoding sources.

One run, same images (``../shared/data/photos`` when present, else the bundled samples), one
thread per measurement unless stated, so every figure is images/s per core:

- conversion (coefficient route, dct24) with 1 and 2 worker threads (and the pixel route);
- ``store``: ``FreqStore.read_batch`` into a preallocated batch of 64, random order, page
  cache warm (the store's steady state over many epochs);
- ``coeff-source``: ``read_coefficients`` + ``gather_blocks`` per image (what the loader's
  coefficient source does per sample), batch assembled in a preallocated buffer;
- ``torch+pillow``: torch ``DataLoader`` (num_workers=0) over a dataset doing Pillow decode,
  RandomResizedCrop, horizontal flip, ToTensor, Normalize (PIL + torch; no torchvision here).

Run ``python benchmarks/bench_store.py [--data DIR] [--limit N] [--size 224] [--repeats 3]``;
JSON goes to benchmarks/results/bench_store.json. On a shared VM compare within one run.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch

import freqpipe
from freqpipe._timing import Spread, interleave, run_info, write_json
from freqpipe.bench import PillowBaseline
from freqpipe.store import FreqStore, convert
from freqpipe.store.inputs import scan_inputs
from freqpipe.store.kinds import coefficient_record
from freqpipe.transforms import Selection

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "photos"


def _subset(data: Path, limit: int, root: Path) -> Path:
    """Symlink the first ``limit`` images (ImageFolder order) into ``root`` (same layout)."""
    inp = scan_inputs(data)
    for p in inp.paths[:limit]:
        dst = root / Path(p).relative_to(data)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(Path(p).resolve())
    return root


def conversion_rate(src: Path, size: int, workers: int, route: str) -> float:
    """Images/s of one conversion of ``src`` (dct24) into a temporary store."""
    d = Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        s = convert(
            src, d / "s", select="dct24", size=size, route=route, workers=workers, progress=False
        )
        return s.images_per_second
    finally:
        shutil.rmtree(d)


def store_epoch(store: FreqStore, batch: int) -> Callable[[], float]:
    """Images/s of one random-order epoch of ``read_batch`` into a preallocated batch."""
    out = store.empty_batch(batch)
    rng = np.random.default_rng(0)

    def epoch() -> float:
        order = rng.permutation(len(store))
        t = time.perf_counter()
        for a in range(0, len(order), batch):
            store.read_batch(order[a : a + batch], out=out)
        return len(order) / (time.perf_counter() - t)

    return epoch


def coeff_source_epoch(paths: list[str], size: int, batch: int) -> Callable[[], float]:
    """Images/s of one epoch of what the loader's coefficient source does per sample."""
    sel = Selection.preset("dct24")
    g = size // 8
    buf = np.empty((batch, len(sel), g, g), np.int16)
    quant = np.empty((batch, len(sel)), np.uint16)
    data = [Path(p).read_bytes() for p in paths]  # file I/O excluded, as for the warm store
    rng = np.random.default_rng(0)

    def epoch() -> float:
        order = rng.permutation(len(paths))
        t = time.perf_counter()
        for a in range(0, len(order), batch):
            for j, i in enumerate(order[a : a + batch]):
                _, quant[j] = coefficient_record(data[i], sel, size, out=buf[j])
        return len(order) / (time.perf_counter() - t)

    return epoch


def torch_pillow_epoch(
    paths: list[str], labels: np.ndarray, size: int, batch: int
) -> Callable[[], float]:
    """Images/s of one epoch of torch's DataLoader (no workers) over the Pillow baseline."""
    dataset = PillowBaseline(list(zip(paths, labels.tolist())), size, normalize=True)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=0)

    def epoch() -> float:
        t = time.perf_counter()
        n = sum(x.shape[0] for x, _ in loader)
        return n / (time.perf_counter() - t)

    return epoch


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "bench_store.json"
    )
    args = ap.parse_args(argv)
    data = args.data if args.data.is_dir() else freqpipe.samples_path()
    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="bench-store-src-"))
    try:
        src = _subset(data, args.limit, work / "src")
        inputs = scan_inputs(src)
        n = len(inputs.paths)
        print(f"{n} images from {data}, crop {args.size}, dct24, batch {args.batch}")
        conversions = {
            f"convert-{route}-w{w}": partial(conversion_rate, src, args.size, w, route)
            for route in ("coefficient", "pixel")
            for w in (1, 2)
        }
        rates = interleave(conversions, args.repeats, warmup=0)
        results = {key: Spread.of(v).to_dict() for key, v in rates.items()}
        for key in conversions:
            print(f"{key:28s} {results[key]['median']:9.1f} images/s")
        convert(src, work / "store", select="dct24", size=args.size, progress=False)
        store = FreqStore(work / "store")
        loads = {
            "load-store": store_epoch(store, args.batch),
            "load-coeff-source": coeff_source_epoch(inputs.paths, args.size, args.batch),
            "load-torch-pillow": torch_pillow_epoch(
                inputs.paths, inputs.labels, args.size, args.batch
            ),
        }
        # the warm-up epoch fills the page cache (the store's steady state over many epochs)
        rates = interleave(loads, args.repeats)
        results.update({key: Spread.of(v).to_dict() for key, v in rates.items()})
        for key in loads:
            print(f"{key:28s} {results[key]['median']:9.1f} images/s (1 thread)")
        ratio = results["load-store"]["median"] / results["load-torch-pillow"]["median"]
        ratio_c = results["load-store"]["median"] / results["load-coeff-source"]["median"]
        print(
            f"store / torch+pillow = {ratio:.1f}x per core (target >= 5x); "
            f"store / coefficient source = {ratio_c:.1f}x"
        )
        doc = {
            "benchmark": "bench_store",
            "images": n,
            "data": str(data),
            "size": args.size,
            "selection": "dct24",
            "batch": args.batch,
            "store_dtype": store.manifest["dtype"],
            "store_bytes_per_image": sum(s["bytes"] for s in store.manifest["shards"]) / n,
            "threads_per_loading_measurement": 1,
            "results_images_per_s": results,
            "ratio_store_vs_torch_pillow_per_core": ratio,
            "ratio_store_vs_coeff_source_per_core": ratio_c,
            "target_ratio": 5.0,
            **run_info("cpu"),
        }
        write_json(args.out, doc)
        print(f"-> {args.out}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
