"""DALI CPU pipeline + freqpipe DCT vs FreqLoader's coefficient source vs DataLoader + Pillow.

Same images, same thread count, CPU only, one run (an untimed warm-up epoch, then ``--rounds``
interleaved epochs of each, medians):

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
import sys
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

import torch

import freqpipe
from freqpipe._timing import Spread, cpu_seconds, interleave, run_info, timed, write_json
from freqpipe.bench import PillowBaseline

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "photos"


def epoch(make: Callable[[], Iterable[Any]]) -> tuple[int, list[int]]:
    """Images of one epoch of a fresh pipeline and the shape of one image.

    The pipeline is dropped on return, so its worker processes are reaped inside the timed call
    and their CPU time is counted.
    """
    count, shape = 0, []
    for x, _y in make():
        count += int(x.shape[0])
        shape = list(x.shape[1:])
    return count, shape


def rows(
    pipelines: dict[str, Callable[[], Iterable[Any]]], n_images: int, rounds: int
) -> list[dict[str, Any]]:
    """One row per pipeline: medians over interleaved rounds after a warm-up epoch."""
    runs = interleave(
        {
            name: timed(partial(epoch, make), cpu_clock=cpu_seconds)
            for name, make in pipelines.items()
        },
        rounds,
    )
    out = []
    for name, rs in runs.items():
        count, shape = rs[0].value
        for r in rs:
            if r.value[0] != n_images:
                raise RuntimeError(f"{name}: {r.value[0]} images, expected {n_images}")
        wall = Spread.of([r.wall_s for r in rs])
        row = {
            "method": name,
            "images": count,
            "images_per_s": count / wall.median,
            "cpu_s_per_image": Spread.of([r.cpu_s for r in rs]).median / count,
            "wall_s": wall.median,
            "wall_s_spread": wall.to_dict(),
            "shape": shape,
        }
        print(
            f"{name:28s} {row['images_per_s']:8.1f} img/s  {row['cpu_s_per_image'] * 1e3:7.1f} "
            f"CPU-ms/img  ({count} images, x {tuple(shape)})"
        )
        out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=PHOTOS if PHOTOS.is_dir() else None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=448)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=1, help="timed epochs of each, interleaved")
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
    pipelines: dict[str, Callable[[], Iterable[Any]]] = {
        "dali-cpu+freqpipe-dct": lambda: fd.Iterator(
            fd.pipeline(ds, batch_size=b, size=s, device_id=None, num_threads=t, seed=0)
        ),
        "freqloader-coefficients": lambda: FreqLoader(
            ds, batch_size=b, size=s, shuffle=True, num_workers=t, device="cpu"
        ),
        "dataloader+pillow-rgb": lambda: torch.utils.data.DataLoader(
            PillowBaseline(ds.samples, s, normalize=True), batch_size=b, shuffle=True, num_workers=t
        ),
    }
    meta = {
        "benchmark": "bench_dali",
        "data": str(root),
        "images": n,
        "threads": t,
        "size": s,
        "batch_size": b,
        "rounds": args.rounds,
        **run_info("cpu"),
        "note": "DALI's DCT is freqpipe's NumPy reference after the iterator (CPU-only mode); "
        "shared 2-vCPU VM, one run",
        "results": rows(pipelines, n, args.rounds),
    }
    print(f"wrote {write_json(args.out, meta)}")


if __name__ == "__main__":
    main()
