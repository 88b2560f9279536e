"""FreqLoader against torch DataLoader + Pillow transforms, in one run, on the same images.

Pipelines (same images, same worker count, training augmentation, batch 32, CPU device):

- ``freqpipe``: ``FreqLoader(root, output="dct", select="dct24", size=224, train=True)``,
  coefficient source: entropy decode + native crop/flip/select, dequantise + normalise;
- ``baseline-f32``: ``DataLoader(folder, ...)`` with Pillow decode, torchvision-default
  ``RandomResizedCrop(224)`` + ``RandomHorizontalFlip`` + ``ToTensor`` + ``Normalize``,
  written here in plain Pillow + torch (torchvision has no CPU build for the pinned torch);
- ``baseline-u8``: the same without ToTensor/Normalize: uint8 tensors, normalised on the GPU.

Measured per pipeline: images/s (wall), CPU-seconds per image (``getrusage`` of this process
plus reaped worker processes), images per CPU-second ("per core"), and host-to-device bytes per
image from the tensors each would copy (freqpipe: quantised int16 channels + the per-image quant
values + the int64 label; baselines: the image tensor + the label). Runs are interleaved and
repeated; the median is reported with min and max. Only figures from one run compare.

Run ``python benchmarks/bench_loader.py [--data DIR] [--workers N] [--repeats N]``; the JSON
goes to ``benchmarks/results/bench_loader.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from freqpipe._timing import Spread, cpu_seconds, interleave, run_info, timed, write_json
from freqpipe.bench import PillowBaseline
from freqpipe.data import FreqLoader, JpegFolder

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "photos"


def _epoch(make: Callable[[], Iterable[Any]], h2d: Callable[[Any], int]) -> tuple[int, int]:
    """Images and host-to-device bytes of one epoch of a fresh loader.

    The loader is dropped on return, so its DataLoader workers exit and are reaped inside the
    timed call and their CPU time is counted.
    """
    images = nbytes = 0
    for batch in make():
        images += len(batch[-1])
        nbytes += h2d(batch)
    return images, nbytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/bench_loader.json")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)  # the pipelines' own workers are the parallelism compared
    common = {"batch_size": args.batch_size, "num_workers": args.workers, "shuffle": True}

    def ours() -> FreqLoader:
        return FreqLoader(
            args.data, select="dct24", size=args.size, train=True, device="cpu", **common
        )

    def baseline(normalise: bool) -> Callable[[], DataLoader]:
        return lambda: DataLoader(
            PillowBaseline(JpegFolder(args.data).samples, args.size, normalize=normalise), **common
        )

    probe = ours()
    ours_h2d = probe.h2d_bytes_per_sample()  # int16 channels + quant values + label

    def label_bytes(batch: Any) -> int:
        return batch[-1].numel() * 8

    pipelines: dict[str, tuple[Callable[[], Iterable[Any]], Callable[[Any], int]]] = {
        "freqpipe": (ours, lambda b: len(b[-1]) * ours_h2d),
        "baseline-f32": (baseline(True), lambda b: b[0].nbytes + label_bytes(b)),
        "baseline-u8": (baseline(False), lambda b: b[0].nbytes + label_bytes(b)),
    }
    runs = interleave(  # the warm-up round fills the page cache, imports, starts workers
        {
            name: timed(partial(_epoch, make, h2d), cpu_clock=cpu_seconds)
            for name, (make, h2d) in pipelines.items()
        },
        args.repeats,
    )
    summary: dict[str, dict[str, Any]] = {}
    for name, rs in runs.items():
        ips = Spread.of([r.value[0] / r.wall_s for r in rs])
        cpi = Spread.of([r.cpu_s / r.value[0] for r in rs])
        images, nbytes = rs[0].value
        summary[name] = {
            "images_per_s": ips.median,
            "images_per_s_range": [ips.min, ips.max],
            "cpu_s_per_image": cpi.median,
            "cpu_s_per_image_range": [cpi.min, cpi.max],
            "images_per_cpu_s": 1.0 / cpi.median,
            "h2d_bytes_per_image": nbytes / images,
        }
    f, b32, b8 = summary["freqpipe"], summary["baseline-f32"], summary["baseline-u8"]
    ratios = {
        "throughput_vs_f32": f["images_per_s"] / b32["images_per_s"],
        "per_core_vs_f32": f["images_per_cpu_s"] / b32["images_per_cpu_s"],
        "per_core_vs_u8": f["images_per_cpu_s"] / b8["images_per_cpu_s"],
        "h2d_vs_f32": f["h2d_bytes_per_image"] / b32["h2d_bytes_per_image"],
        "h2d_vs_u8": f["h2d_bytes_per_image"] / b8["h2d_bytes_per_image"],
    }
    result = {
        "benchmark": "bench_loader",
        "data": str(args.data),
        "images": len(JpegFolder(args.data)),
        "settings": {k: getattr(args, k) for k in ("workers", "batch_size", "size", "repeats")},
        **run_info("cpu"),
        "pipelines": summary,
        "ratios": ratios,
        "targets": {
            "per_core_vs_f32 >= 2": ratios["per_core_vs_f32"] >= 2,
            "h2d_vs_f32 <= 0.1": ratios["h2d_vs_f32"] <= 0.1,
            "h2d_vs_u8 <= 0.3": ratios["h2d_vs_u8"] <= 0.3,
        },
    }
    write_json(args.out, result)
    print(f"{'pipeline':14} {'img/s':>8} {'CPU-ms/img':>11} {'img/CPU-s':>10} {'H2D B/img':>10}")
    for name, s in summary.items():
        print(
            f"{name:14} {s['images_per_s']:8.1f} {1000 * s['cpu_s_per_image']:11.2f} "
            f"{s['images_per_cpu_s']:10.1f} {s['h2d_bytes_per_image']:10.0f}"
        )
    print(json.dumps(ratios, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
