"""Inference time of the papers' efficient models against their baselines, in one run.

Pairs (conventions §4, §5): WAE-VGG16 vs VGG16 at 224 (the WAE paper reports 3.13x on CPU and
2.59x on GPU) and Oct-ResNet-50 (alpha 0.25 and 0.5 by default) vs ResNet-50 (octave
convolution is known to be slower on GPUs despite fewer FLOPs). Models are in eval mode under
``torch.inference_mode``, randomly initialised (timing does not depend on the weights). Each
timing is the median of ``--repeats`` runs after ``--warmup`` runs; on CUDA the region is timed
with CUDA events (synchronised) and ``cudnn.benchmark`` is on. Both sides of each ratio are
measured in the same process, interleaved.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_models.py [--device cuda] [--batch 64]

Writes ``benchmarks/results/bench_models_<device>.json`` (or into ``--out``).
"""

from __future__ import annotations

import argparse
import platform
from functools import partial
from pathlib import Path
from typing import Any

import torch

import freqpipe.models as fm
from freqpipe._timing import Spread, cuda_seconds, interleave, run_info, timed, write_json

RESULTS = Path(__file__).resolve().parent / "results"


def time_model(model: torch.nn.Module, x: torch.Tensor, warmup: int, repeats: int) -> list[float]:
    """Seconds per forward pass, one entry per repeat (CUDA events on a GPU)."""

    def forward() -> None:
        model(x)

    cuda = x.device.type == "cuda"

    def seconds() -> float:
        return cuda_seconds(forward) if cuda else timed(forward)().wall_s

    with torch.inference_mode():
        return interleave({"forward": seconds}, repeats, warmup=warmup)["forward"]


def bench_pair(
    name: str,
    baseline: str,
    efficient: str,
    kw: dict[str, Any],
    device: torch.device,
    batch: int,
    warmup: int,
    repeats: int,
) -> dict[str, Any]:
    x = torch.randn(batch, 3, 224, 224, device=device)
    models = {
        baseline: fm.create(baseline).to(device).eval(),
        efficient: fm.create(efficient, **kw).to(device).eval(),
    }
    # Interleaved rounds, each warming up again, so that drifting load hits both sides alike.
    rounds = 3
    runs = interleave(
        {
            key: partial(time_model, m, x, warmup, max(1, repeats // rounds))
            for key, m in models.items()
        },
        rounds,
        warmup=0,
    )
    spread = {k: Spread.of([t for per_round in v for t in per_round]) for k, v in runs.items()}
    med = {k: s.median for k, s in spread.items()}
    row = {
        "pair": name,
        "baseline": baseline,
        "efficient": efficient,
        "kwargs": kw,
        "batch": batch,
        "median_s": med,
        "min_s": {k: s.min for k, s in spread.items()},
        "max_s": {k: s.max for k, s in spread.items()},
        "speedup": med[baseline] / med[efficient],
    }
    print(
        f"{name:28s} batch {batch:3d}: {baseline} {med[baseline] * 1e3:9.1f} ms, "
        f"{efficient}{kw or ''} {med[efficient] * 1e3:9.1f} ms, speed-up {row['speedup']:.2f}x"
    )
    del models
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=None, help="default 1 on CPU, 64 on CUDA")
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--alphas", default="0.25,0.5")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
    if args.threads:
        torch.set_num_threads(args.threads)
    batch = args.batch or (64 if cuda else 1)
    warmup = args.warmup if args.warmup is not None else (5 if cuda else 2)
    repeats = args.repeats if args.repeats is not None else (30 if cuda else 9)
    torch.manual_seed(0)
    rows = [
        bench_pair("WAE-VGG16 vs VGG16", "vgg16", "wae_vgg16", {}, device, batch, warmup, repeats)
    ]
    for a in (float(s) for s in args.alphas.split(",")):
        rows.append(
            bench_pair(
                f"Oct-ResNet-50 a={a} vs R50",
                "resnet50",
                "oct_resnet50",
                {"alpha": a},
                device,
                batch,
                warmup,
                repeats,
            )
        )
    meta = {
        "device": torch.cuda.get_device_name(device) if cuda else platform.processor() or "cpu",
        "threads": torch.get_num_threads(),
        "cudnn_benchmark": cuda,
        "paper": {"wae_vgg16_cpu": 3.13, "wae_vgg16_gpu": 2.59},
    }
    record = {"benchmark": "bench_models", "meta": meta, "results": rows, **run_info(device.type)}
    print(f"-> {write_json(args.out / f'bench_models_{device.type}.json', record)}")


if __name__ == "__main__":
    main()
