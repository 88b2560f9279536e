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
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import freqpipe
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


def time_conversion(src: Path, size: int, workers: int, route: str, repeats: int) -> list[float]:
    rates = []
    for _ in range(repeats):
        d = Path(tempfile.mkdtemp(prefix="bench-store-"))
        try:
            s = convert(src, d / "s", select="dct24", size=size, route=route, workers=workers,
                        progress=False)  # fmt: skip
            rates.append(s.images_per_second)
        finally:
            shutil.rmtree(d)
    return rates


def time_store(store: FreqStore, batch: int, epochs: int) -> list[float]:
    out = store.empty_batch(batch)
    rng = np.random.default_rng(0)
    store.read_batch(np.arange(len(store)) % len(store))  # warm the page cache
    rates = []
    for _ in range(epochs):
        order = rng.permutation(len(store))
        t = time.perf_counter()
        for a in range(0, len(order), batch):
            store.read_batch(order[a : a + batch], out=out)
        rates.append(len(order) / (time.perf_counter() - t))
    return rates


def time_coeff_source(paths: list[str], size: int, batch: int, epochs: int) -> list[float]:
    sel = Selection.preset("dct24")
    g = size // 8
    buf = np.empty((batch, len(sel), g, g), np.int16)
    quant = np.empty((batch, len(sel)), np.uint16)
    data = [Path(p).read_bytes() for p in paths]  # file I/O excluded, as for the warm store
    rng = np.random.default_rng(0)
    rates = []
    for _ in range(epochs):
        order = rng.permutation(len(paths))
        t = time.perf_counter()
        for a in range(0, len(order), batch):
            for j, i in enumerate(order[a : a + batch]):
                _, quant[j] = coefficient_record(data[i], sel, size, out=buf[j])
        rates.append(len(order) / (time.perf_counter() - t))
    return rates


def time_torch_pillow(paths: list[str], labels: np.ndarray, size: int, batch: int,
                      epochs: int) -> list[float]:  # fmt: skip
    dataset = PillowBaseline(list(zip(paths, labels.tolist())), size, normalize=True)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=0)
    rates = []
    for _ in range(epochs):
        t = time.perf_counter()
        n = sum(x.shape[0] for x, _ in loader)
        rates.append(n / (time.perf_counter() - t))
    return rates


def summary(rates: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(rates),
        "min": min(rates),
        "max": max(rates),
        "runs": len(rates),
    }


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
        results: dict[str, dict[str, float]] = {}
        for route in ("coefficient", "pixel"):
            for w in (1, 2):
                key = f"convert-{route}-w{w}"
                results[key] = summary(time_conversion(src, args.size, w, route, args.repeats))
                print(f"{key:28s} {results[key]['median']:9.1f} images/s")
        convert(src, work / "store", select="dct24", size=args.size, progress=False)
        store = FreqStore(work / "store")
        results["load-store"] = summary(time_store(store, args.batch, args.repeats * 3))
        results["load-coeff-source"] = summary(
            time_coeff_source(inputs.paths, args.size, args.batch, args.repeats)
        )
        results["load-torch-pillow"] = summary(
            time_torch_pillow(inputs.paths, inputs.labels, args.size, args.batch, args.repeats)
        )
        for key in ("load-store", "load-coeff-source", "load-torch-pillow"):
            print(f"{key:28s} {results[key]['median']:9.1f} images/s (1 thread)")
        ratio = results["load-store"]["median"] / results["load-torch-pillow"]["median"]
        ratio_c = results["load-store"]["median"] / results["load-coeff-source"]["median"]
        print(f"store / torch+pillow = {ratio:.1f}x per core (target >= 5x); "
              f"store / coefficient source = {ratio_c:.1f}x")  # fmt: skip
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
            "meta": {
                "python": sys.version.split()[0],
                "numpy": np.__version__,
                "torch": torch.__version__,
                "freqpipe": freqpipe.__version__,
                "platform": platform.platform(),
                "cpu_count": os.cpu_count(),
                "processor": platform.processor(),
            },
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"-> {args.out}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
