"""DALI CPU pipeline + freqpipe DCT vs FreqLoader's coefficient source vs DataLoader + Pillow.

Same images, same thread count, CPU only, one run (after one warm-up batch):

- ``dali-cpu+freqpipe-dct``: ``freqpipe.dali.pipeline(device_id=None)``: DALI's file reader,
  CPU decoder (``decoders.image_random_crop``), resize and flip, then freqpipe's NumPy DCT
  reference after the iterator (``kernel="iterator"``), dct24 normalised;
- ``freqloader-coefficients``: ``FreqLoader(..., device="cpu")``, coefficient source (no pixel
  decoding), ``num_workers`` threads;
- ``dataloader+pillow-rgb``: ``torch.utils.data.DataLoader`` with ``num_workers`` processes,
  Pillow decode + RandomResizedCrop (torchvision's parameters) + flip + to float, normalised
  (the usual RGB input; no torchvision here).

Images/s is wall clock; CPU-seconds per image counts this process and its (joined) worker
processes (``getrusage``). Run ``python benchmarks/bench_dali.py [--threads 2] [--size 448]``;
JSON goes to benchmarks/results/bench_dali.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch

import freqpipe
from freqpipe.bench import PillowBaseline, cpu_seconds

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "photos"


def run(name: str, make: Callable[[], Iterable[Any]], n_images: int) -> dict[str, Any]:
    it = make()
    next(iter(it))  # warm-up: workers, pipeline build, first batch
    it = make()
    t0, c0 = time.perf_counter(), cpu_seconds()
    count = 0
    for x, _y in it:
        count += int(x.shape[0])
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    row = {
        "method": name,
        "images": count,
        "images_per_s": count / wall,
        "cpu_s_per_image": cpu / count,
        "wall_s": wall,
        "shape": list(x.shape[1:]),
    }
    print(f"{name:28s} {row['images_per_s']:8.1f} img/s  {row['cpu_s_per_image'] * 1e3:7.1f} "
          f"CPU-ms/img  ({count} images, x {tuple(x.shape[1:])})")  # fmt: skip
    if count != n_images:
        raise RuntimeError(f"{name}: {count} images, expected {n_images}")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=PHOTOS if PHOTOS.is_dir() else None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=448)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "bench_dali.json")
    args = ap.parse_args()
    import freqpipe.dali as fd
    from freqpipe.data import FreqLoader, JpegFolder

    if not fd.available():
        sys.exit("DALI not installed: pip install freqpipe[dali]")
    root = args.data if args.data is not None else freqpipe.samples_path()
    ds = JpegFolder(root)
    n, t, s, b = len(ds), args.threads, args.size, args.batch_size
    torch.set_num_threads(t)
    print(f"{n} images from {root}, {t} threads, size {s}, batch {b}")
    rows = [
        run("dali-cpu+freqpipe-dct", lambda: fd.Iterator(fd.pipeline(
            ds, batch_size=b, size=s, device_id=None, num_threads=t, seed=0)), n),
        run("freqloader-coefficients", lambda: FreqLoader(
            ds, batch_size=b, size=s, shuffle=True, num_workers=t, device="cpu"), n),
        run("dataloader+pillow-rgb", lambda: torch.utils.data.DataLoader(
            PillowBaseline(ds.samples, s, normalize=True), batch_size=b, shuffle=True,
            num_workers=t), n),
    ]  # fmt: skip
    from importlib.metadata import version

    meta = {
        "benchmark": "bench_dali",
        "data": str(root),
        "images": n,
        "threads": t,
        "size": s,
        "batch_size": b,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "dali": version("nvidia-dali-cuda120"),
        "freqpipe": freqpipe.__version__,
        "note": "DALI's DCT is freqpipe's NumPy reference after the iterator (CPU-only mode); "
        "shared 2-vCPU VM, one run",
        "results": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
