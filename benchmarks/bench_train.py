"""Training-step time of dct_resnet50 (dct24 at 448) against resnet50 (RGB at 224), one run.

A step is forward + cross-entropy + backward + SGD update on a resident random batch (the loader
is not part of it), under bf16 autocast, channels-last, ``cudnn.benchmark`` on; timed with CUDA
events over ``--steps`` steps after ``--warmup``, repeated and interleaved, median reported.
The images/s a model trains at is what a loader must deliver to keep the GPU busy:
``scripts/gpu_check.py summary`` sets it beside ``bench_gpu_loader.py``'s figures.

    python benchmarks/bench_train.py [--device cuda] [--batch 256] [--out DIR] [--quick]

``--device cpu`` runs the same code on a tiny batch (a smoke test, not a measurement).
Writes ``bench_train.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import platform
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

import freqpipe.models as fm
from freqpipe._timing import Spread, cuda_seconds, interleave, run_info, timed, write_json

RESULTS = Path(__file__).resolve().parent / "results"
#: (name, model, input shape without the batch): DCTNet's dct24 at 448 is 24 x 56 x 56
MODELS = (("dct_resnet50", "dct_resnet50", (24, 56, 56)), ("resnet50", "resnet50", (3, 224, 224)))


def step_seconds(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, warmup: int
) -> float:
    """Seconds per training step (bf16 autocast on CUDA, float32 on CPU)."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    cuda = x.device.type == "cuda"

    def one() -> None:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        one()
    if cuda:
        torch.cuda.synchronize()
        return cuda_seconds(one, steps)

    def run_steps() -> None:
        for _ in range(steps):
            one()

    return timed(run_steps)().wall_s / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=None, help="default 256 (CUDA), 2 (CPU)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat of few steps")
    parser.add_argument("--scale", type=int, default=1, help="divide H and W (smoke runs)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    batch = args.batch or (256 if cuda else 2)
    steps, warmup, repeats = args.steps, args.warmup, args.repeats
    if args.quick or not cuda:
        steps, warmup, repeats = (3, 2, 1) if cuda else (1, 0, 1)
    torch.backends.cudnn.benchmark = True
    built: list[tuple[str, torch.nn.Module, torch.Tensor, torch.Tensor, tuple[int, ...]]] = []
    for name, key, full in MODELS:
        shape = (full[0], full[1] // args.scale, full[2] // args.scale)
        model = fm.create(key).to(dev, memory_format=torch.channels_last).train()
        x = torch.randn((batch, *shape), device=dev).to(memory_format=torch.channels_last)
        y = torch.randint(0, 1000, (batch,), device=dev)
        built.append((name, model, x, y, shape))
    # interleaved: both models see the same clocks and temperature; each call warms up first
    times = interleave(
        {name: partial(step_seconds, model, x, y, steps, warmup) for name, model, x, y, _ in built},
        repeats,
        warmup=0,
    )
    rows: list[dict[str, Any]] = []
    for name, _m, _x, _y, shape in built:
        spread = Spread.of(times[name])
        sec = spread.median
        rows.append(
            {
                "model": name,
                "input": "x".join(map(str, shape)),
                "batch": batch,
                "ms_per_step": 1e3 * sec,
                "images_per_s": batch / sec,
                "ms_range": [1e3 * spread.min, 1e3 * spread.max],
            }
        )
        print(
            f"{name:14s} {rows[-1]['input']:>10s} batch {batch}: {1e3 * sec:8.1f} ms/step, "
            f"{batch / sec:8.0f} images/s"
        )
    result = {
        "benchmark": "bench_train",
        "device": torch.cuda.get_device_name() if cuda else platform.processor() or "cpu",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "autocast": "bfloat16" if cuda else "off (CPU smoke run)",
        "steps": steps,
        "repeats": repeats,
        "rows": rows,
        **run_info(dev.type),
    }
    write_json(args.out / "bench_train.json", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
