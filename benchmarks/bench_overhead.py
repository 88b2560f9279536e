"""Per-call overhead of the public GPU calls: wall time of a call against its kernels alone.

For each public call (fused_dct, fused_idct, dequantize, dwt2, idwt2) on a loader-sized batch
(default 32 x 224 x 224), in one run:

- ``api_ms``: wall milliseconds per call, host work included (10 calls, then synchronise);
- ``host_ms``: the host time to issue one call (no synchronisation; the GPU runs behind);
- ``kernel_ms``: the same launches prepared once and timed with CUDA events behind a GPU sleep
  (``bench_kernels.timeit``), i.e. what the GPU needs;

and a ``torch.profiler`` table (CPU and CUDA time per op, 20 calls of each) written to
``bench_overhead_profile.txt`` to show where the host time goes.

    python benchmarks/bench_overhead.py [--out DIR] [--batch 32] [--size 224] [--quick]

Writes ``bench_overhead.json`` into ``--out``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_kernels import api_call_ms, planned, timeit
from freqpipe._timing import run_info, write_json
from freqpipe.cuda import dequantize, dwt2, fused_dct, fused_idct, idwt2
from freqpipe.cuda.dct import plan_fused_dct, plan_fused_idct
from freqpipe.cuda.dequant import plan_dequantize
from freqpipe.cuda.dwt import plan_dwt2_level, plan_idwt2_level

RESULTS = Path(__file__).resolve().parent / "results"


def host_ms(fn: Callable[[], Any], calls: int = 20) -> float:
    """Host milliseconds to issue one call, not waiting for the GPU."""
    fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    host = (time.perf_counter() - t0) * 1e3 / calls
    torch.cuda.synchronize()
    return host


def cases(n: int, s: int) -> list[tuple[str, Callable[[], Any], Callable[[], None]]]:
    """``(name, public call, prepared kernels)`` for each public call on an n x s x s batch."""
    cp = __import__("cupy")
    dev = torch.device("cuda")
    gen = torch.Generator(device=dev).manual_seed(0)
    images = torch.randint(0, 256, (n, s, s, 3), dtype=torch.uint8, device=dev, generator=gen)
    hb = s // 8
    mean, std = np.zeros(24), np.ones(24)
    coeffs = fused_dct(images, "dct24", dtype=torch.float16)
    q = torch.randint(-100, 100, (n, 24, hb, hb), device=dev, generator=gen).to(torch.int16)
    quant = torch.randint(1, 50, (n, 24), device=dev, generator=gen).to(torch.float32)
    x = torch.randn((n, 3, s, s), device=dev, generator=gen)
    ca, det = dwt2(x, "bior4.4", "periodization")
    sub = tuple(cp.from_dlpack(c) for c in (ca, *det))
    return [
        (
            "fused_dct dct24 -> float16, normalised",
            lambda: fused_dct(images, "dct24", dtype=torch.float16, mean=mean, std=std),
            planned(
                plan_fused_dct,
                images,
                cp.from_dlpack(images),
                "dct24",
                dtype="float16",
                mean=mean,
                std=std,
            ),
        ),
        (
            "fused_idct dct24 float16 -> uint8",
            lambda: fused_idct(coeffs, "dct24"),
            planned(plan_fused_idct, coeffs, cp.from_dlpack(coeffs), "dct24"),
        ),
        (
            "dequantize int16 -> float16, normalised",
            lambda: dequantize(q, quant, mean=mean, std=std, dtype=torch.float16),
            planned(
                plan_dequantize,
                q,
                cp.from_dlpack(q),
                cp.from_dlpack(quant),
                mean=mean,
                std=std,
                dtype="float16",
            ),
        ),
        (
            "dwt2 bior4.4 float32",
            lambda: dwt2(x, "bior4.4", "periodization"),
            planned(plan_dwt2_level, x, cp.from_dlpack(x), "bior4.4", "periodization"),
        ),
        (
            "idwt2 bior4.4 float32",
            lambda: idwt2((ca, det), "bior4.4", "periodization"),
            planned(plan_idwt2_level, ca, sub, "bior4.4", "periodization"),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no profiler trace")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("bench_overhead: needs a CUDA device (and CuPy); nothing measured", file=sys.stderr)
        return 2
    reps = {"warmup": 1, "repeat": 3, "inner": 5} if args.quick else {}
    rows = []
    all_cases = cases(args.batch, args.size)
    for name, public, kernels in all_cases:
        row = {
            "name": name,
            "api_ms": api_call_ms(public),
            "host_ms": host_ms(public),
            "kernel_ms": timeit(kernels, **reps)["median_ms"],
            "prepared_host_ms": host_ms(kernels),
        }
        rows.append(row)
        print(
            f"{name:42s} call {row['api_ms']:8.3f} ms  host {row['host_ms']:8.3f} ms  "
            f"kernels {row['kernel_ms']:8.3f} ms  prepared launch "
            f"{row['prepared_host_ms']:8.3f} ms",
            flush=True,
        )
    args.out.mkdir(parents=True, exist_ok=True)
    table_path = args.out / "bench_overhead_profile.txt"
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _name, public, _k in all_cases:
            for _ in range(5 if args.quick else 20):
                public()
        torch.cuda.synchronize()
    averages = prof.key_averages()
    table_path.write_text(
        averages.table(sort_by="self_cpu_time_total", row_limit=40)
        + "\n\n"
        + averages.table(sort_by="cuda_time_total", row_limit=20)
        + "\n"
    )
    result = {
        "benchmark": "bench_overhead",
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "cupy": __import__("cupy").__version__,
        "python": platform.python_version(),
        "batch": [args.batch, args.size, args.size, 3],
        "rows": rows,
        "profile_table": table_path.name,
        **run_info("cuda"),
    }
    print(f"wrote {write_json(args.out / 'bench_overhead.json', result)} and {table_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
