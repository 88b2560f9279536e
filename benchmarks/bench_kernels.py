"""Kernel-only bandwidth of every freqpipe CUDA kernel against a device-to-device copy.

Run ``python benchmarks/bench_kernels.py [--out DIR] [--quick]`` on a machine with a GPU, CuPy
and torch. Effective bandwidth = (bytes read + bytes written) / time. Each row is timed with
CUDA events around ``inner`` back-to-back launches that were prepared once (kernel handles
resolved, arguments built), queued behind a ``torch.cuda._sleep`` so the GPU runs them back to
back however slow the host is: the figure is the kernels', not the Python's. The reference of
each row is a device-to-device copy of the same number of bytes, timed the same way in the same
run. Batches of 256 images of 448x448x3. The same maths written with torch ops (unfold +
matmul DCT, conv2d DWT in the style of pytorch_wavelets) are the baselines; the public call's
wall time (host work included) is reported beside each kernel. Prints a table and writes
``bench_kernels_<gpu>.json`` to ``--out`` (default ``benchmarks/results/``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import freqpipe
from freqpipe._timing import Spread, cuda_seconds, run_info, write_json
from freqpipe.cuda import dequantize, dwt2, fused_dct, fused_idct, idwt2
from freqpipe.cuda._interop import GpuContext
from freqpipe.cuda._module import get_function
from freqpipe.cuda.dct import plan_fused_dct, plan_fused_idct
from freqpipe.cuda.dequant import plan_dequantize
from freqpipe.cuda.dwt import plan_dwt2_level, plan_idwt2_level
from freqpipe.transforms import Selection, dct_matrix

N, S = 256, 448
#: the issue's targets, as fractions of copy bandwidth: row-name prefix -> minimum
TARGETS = {"fused DCT": 0.85, "dequantise": 0.80, "DWT bior4.4": 0.60}


def timeit(
    fn: Callable[[], Any], warmup: int = 3, repeat: int = 20, inner: int = 10, hold: bool = True
) -> dict[str, float]:
    """Median / min / max milliseconds per call of ``fn``, CUDA events on torch's stream.

    ``inner`` calls go back to back between one pair of events. With ``hold`` the GPU first
    sleeps long enough for the host to queue all of them, so a kernel shorter than its
    host-side launch cost is timed as the kernel, not as the launch.
    """
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    host_s = time.perf_counter() - t0  # an upper bound on one call's host time
    cycles = int(min(2e9, 1.5 * host_s * inner * 2.0e9)) if hold else 0  # ~2 GHz: ample sleep
    times = [1e3 * cuda_seconds(fn, inner, hold_cycles=cycles) for _ in range(repeat)]
    spread = Spread.of(times)
    return {"median_ms": spread.median, "min_ms": spread.min, "max_ms": spread.max}


def planned(plan: Callable[..., Any], first: Any, *args: Any, **kw: Any) -> Callable[[], None]:
    """The kernel launches of one call, prepared once: kernel handles, grids and arguments."""
    ctx = GpuContext(first)
    with ctx.active():
        _, launches = plan(ctx, *args, **kw)
        ready = [
            (get_function(la.family, la.kernel), la.grid, la.block, la.args)
            for la in launches
            if min(la.grid) > 0
        ]

    def go() -> None:
        with ctx.stream:
            for kernel, grid, block, kargs in ready:
                kernel(grid, block, kargs)

    return go


def api_call_ms(fn: Callable[[], Any], calls: int = 10) -> float:
    """Wall milliseconds of one public call including its host work (synchronised)."""
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 1e3 / calls


# --- torch baselines -------------------------------------------------------------------------

_RGB2YCC = torch.tensor(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
)


def torch_fused_dct(x: torch.Tensor, idx: torch.Tensor, kron: torch.Tensor) -> torch.Tensor:
    """uint8 NHWC -> YCbCr -> unfold 8x8 -> matmul by kron(M, M) -> select: plain torch ops."""
    n, h, w, _ = x.shape
    ycc = x.float() @ _RGB2YCC.to(x.device).T
    ycc[..., 1:] += 128.0
    planes = (ycc - 128.0).permute(0, 3, 1, 2)  # (n, 3, h, w)
    blocks = F.unfold(planes.reshape(n * 3, 1, h, w), kernel_size=8, stride=8)  # (3n, 64, L)
    coeffs = (kron @ blocks).reshape(n, 192, h // 8, w // 8)
    return coeffs[:, idx].to(torch.float16)


_B44_LO = [
    0.0,
    0.037828455507,
    -0.02384946502,
    -0.110624404418,
    0.377402855613,
    0.852698679009,
    0.377402855613,
    -0.110624404418,
    -0.02384946502,
    0.037828455507,
]
_B44_HI = [
    -0.0,
    -0.064538882629,
    0.040689417609,
    0.418092273222,
    -0.788485616406,
    0.418092273222,
    0.040689417609,
    -0.064538882629,
    -0.0,
    0.0,
]


def torch_conv_dwt(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> tuple[Any, ...]:
    """Separable conv2d DWT with periodic padding, as pytorch_wavelets' DWTForward does it."""
    n, c, h, w = x.shape
    taps = lo.numel()
    pad = taps // 2 - 1
    filt_w = torch.stack([lo, hi]).reshape(2, 1, 1, taps).repeat(c, 1, 1, 1)
    xp = F.pad(x, (pad, taps - 2 - pad, 0, 0), mode="circular")
    yw = F.conv2d(xp, filt_w, stride=(1, 2), groups=c)  # (n, 2c, h, w/2): lo, hi per channel
    filt_h = torch.stack([lo, hi]).reshape(2, 1, taps, 1).repeat(2 * c, 1, 1, 1)
    yp = F.pad(yw, (0, 0, pad, taps - 2 - pad), mode="circular")
    y = F.conv2d(yp, filt_h, stride=(2, 1), groups=2 * c)  # (n, 4c, h/2, w/2)
    y = y.reshape(n, c, 4, h // 2, w // 2)
    return y[:, :, 0], (y[:, :, 1], y[:, :, 2], y[:, :, 3])


# --- the run ---------------------------------------------------------------------------------


def _suffix(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--batch", type=int, default=N)
    parser.add_argument("--quick", action="store_true", help="one short pass of every row")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("bench_kernels: needs a CUDA device (and CuPy); nothing measured", file=sys.stderr)
        return 2
    n = args.batch
    reps = {"warmup": 1, "repeat": 3, "inner": 5} if args.quick else {}
    dev = torch.device("cuda")
    cp = __import__("cupy")
    gen = torch.Generator(device=dev).manual_seed(0)
    rows: list[dict[str, Any]] = []
    # one pair of buffers for every copy reference: a view of the row's size is copied
    cap = n * 192 * (S // 8) ** 2 * 4 + n * S * S * 3
    src = torch.empty(cap, dtype=torch.uint8, device=dev)
    dst = torch.empty_like(src)
    copies: dict[int, float] = {}

    def copy_ms(bytes_moved: int) -> float:
        half = min(bytes_moved // 2, cap)
        if half not in copies:
            a, b = src[:half], dst[:half]
            copies[half] = timeit(lambda: b.copy_(a), **reps)["median_ms"]
        return copies[half]

    def add(name: str, bytes_moved: int, t: dict[str, float], **extra: Any) -> None:
        c = copy_ms(bytes_moved)
        gbs = bytes_moved / (t["median_ms"] * 1e-3) / 1e9
        rows.append(
            {
                "name": name,
                "bytes": bytes_moved,
                "GB_s": gbs,
                **t,
                "copy_ms": c,
                "copy_GB_s": bytes_moved / (c * 1e-3) / 1e9,
                "fraction_of_copy": c / t["median_ms"],
                **extra,
            }
        )
        print(
            f"{name:52s} {t['median_ms']:9.3f} ms {gbs:9.1f} GB/s "
            f"{c / t['median_ms']:7.1%} of copy",
            flush=True,
        )

    images = torch.randint(0, 256, (n, S, S, 3), dtype=torch.uint8, device=dev, generator=gen)
    img_bytes = images.numel()
    hb = S // 8
    for preset in ("dct24", "dct64", "all"):
        sel = Selection.preset(preset)
        mean, std = np.zeros(len(sel)), np.ones(len(sel))
        for dtype in (torch.float16, torch.float32):
            out_bytes = n * len(sel) * hb * hb * (2 if dtype == torch.float16 else 4)
            go = planned(
                plan_fused_dct,
                images,
                cp.from_dlpack(images),
                sel,
                dtype=_suffix(dtype),
                mean=mean,
                std=std,
            )
            api = api_call_ms(
                lambda sel=sel, dtype=dtype, m=mean, s=std: fused_dct(
                    images, sel, dtype=dtype, mean=m, std=s
                )
            )
            add(
                f"fused DCT {preset} -> {_suffix(dtype)}",
                img_bytes + out_bytes,
                timeit(go, **reps),
                api_call_ms=api,
            )
    fused_ms = rows[0]["median_ms"]  # dct24 -> float16, nhwc
    sel24 = Selection.preset("dct24")
    images_nchw = images.permute(0, 3, 1, 2).contiguous()
    go = planned(
        plan_fused_dct,
        images_nchw,
        cp.from_dlpack(images_nchw),
        sel24,
        layout="nchw",
        dtype="float16",
    )
    add("fused DCT dct24 nchw -> float16", img_bytes + n * 24 * hb * hb * 2, timeit(go, **reps))

    kron = torch.from_numpy(np.kron(dct_matrix(), dct_matrix()).astype(np.float32)).to(dev)
    idx = torch.from_numpy(sel24.indices).to(dev)
    ref = torch_fused_dct(images[:4], idx, kron).float()
    ours = fused_dct(images[:4], sel24, dtype=torch.float32)
    dct_err = float((ref - ours).abs().max())
    t = timeit(lambda: torch_fused_dct(images, idx, kron), warmup=1, repeat=3, inner=1)
    add("torch unfold+matmul DCT dct24 -> float16", img_bytes + n * 24 * hb * hb * 2, t)
    dct_speedup = rows[-1]["median_ms"] / fused_ms

    for preset, dtype in (("dct24", torch.float16), ("dct64", torch.float32)):
        sel = Selection.preset(preset)
        coeffs = fused_dct(images, sel, dtype=dtype, layout="nhwc")
        go = planned(plan_fused_idct, coeffs, cp.from_dlpack(coeffs), sel)
        api = api_call_ms(lambda c=coeffs, sel=sel: fused_idct(c, sel))
        add(
            f"fused IDCT {preset} {_suffix(dtype)} -> uint8 rgb",
            coeffs.numel() * coeffs.element_size() + img_bytes,
            timeit(go, **reps),
            api_call_ms=api,
        )
        del coeffs

    quant = torch.randint(1, 50, (n, 24), device=dev, generator=gen).to(torch.int16)
    quant_f = cp.from_dlpack(quant).astype(cp.float32)
    for qdt in (torch.int16, torch.int8):
        q = torch.randint(-100, 100, (n, 24, hb, hb), device=dev, generator=gen).to(qdt)
        for odt in (torch.float16, torch.float32):
            mean, std = np.zeros(24), np.ones(24)
            go = planned(
                plan_dequantize,
                q,
                cp.from_dlpack(q),
                quant_f,
                mean=mean,
                std=std,
                dtype=_suffix(odt),
            )
            api = api_call_ms(
                lambda q=q, odt=odt, m=mean, s=std: dequantize(q, quant, mean=m, std=s, dtype=odt)
            )
            add(
                f"dequantise {_suffix(qdt)} -> {_suffix(odt)}",
                q.numel() * (q.element_size() + (2 if odt == torch.float16 else 4)),
                timeit(go, **reps),
                api_call_ms=api,
            )
    yq = torch.randint(-100, 100, (n, 16, hb, hb), device=dev, generator=gen).to(torch.int16)
    cq = torch.randint(-100, 100, (n, 8, hb // 2, hb // 2), device=dev, generator=gen)
    cq = cq.to(torch.int16)
    go = planned(
        plan_dequantize, yq, cp.from_dlpack(yq), quant_f, chroma=cp.from_dlpack(cq), dtype="float16"
    )
    add(
        "dequantise int16 + 4:2:0 chroma repeat -> float16",
        yq.numel() * 2 + cq.numel() * 2 + n * 24 * hb * hb * 2,
        timeit(go, **reps),
    )

    x = torch.randn((n, 3, S, S), device=dev, generator=gen)
    x_bytes = x.numel() * 4
    dwt_ms = 0.0
    for wav, mode in (
        ("bior4.4", "periodization"),
        ("bior4.4", "reflect"),
        ("bior2.2", "periodization"),
        ("haar", "periodization"),
    ):
        go = planned(plan_dwt2_level, x, cp.from_dlpack(x), wav, mode)
        api = api_call_ms(lambda wav=wav, mode=mode: dwt2(x, wav, mode))
        add(f"DWT {wav} {mode} float32", 2 * x_bytes, timeit(go, **reps), api_call_ms=api)
        dwt_ms = dwt_ms or rows[-1]["median_ms"]
    xh = x.half()
    go = planned(plan_dwt2_level, xh, cp.from_dlpack(xh), "bior4.4", "periodization")
    add("DWT bior4.4 periodization float16", 2 * xh.numel() * 2, timeit(go, **reps))
    del xh
    add(
        "DWT bior4.4 periodization float32, 3 levels (public call)",
        int(2 * x_bytes * (1 + 1 / 4 + 1 / 16)),
        timeit(lambda: dwt2(x, "bior4.4", "periodization", level=3), **reps),
    )
    for wav in ("bior4.4", "bior2.2", "haar"):
        ca, det = dwt2(x, wav, "periodization")
        sub = tuple(cp.from_dlpack(c) for c in (ca, *det))
        go = planned(plan_idwt2_level, ca, sub, wav, "periodization")
        api = api_call_ms(lambda ca=ca, det=det, wav=wav: idwt2((ca, det), wav, "periodization"))
        add(f"IDWT {wav} periodization float32", 2 * x_bytes, timeit(go, **reps), api_call_ms=api)
        del ca, det, sub
    lo = torch.tensor(_B44_LO, device=dev).flip(0)
    hi = torch.tensor(_B44_HI, device=dev).flip(0)
    t = timeit(lambda: torch_conv_dwt(x, lo, hi), warmup=1, repeat=3, inner=1)
    add("torch conv2d DWT bior4.4 float32", 2 * x_bytes, t)
    dwt_speedup = rows[-1]["median_ms"] / dwt_ms

    targets = {}
    for prefix, need in TARGETS.items():
        got = [r["fraction_of_copy"] for r in rows if r["name"].startswith(prefix)]
        targets[f"{prefix} >= {need:.0%} of copy"] = {"worst": min(got), "met": min(got) >= need}
    print(f"fused DCT vs torch unfold+matmul: {dct_speedup:.1f}x faster (max |diff| {dct_err:.3g})")
    print(f"DWT bior4.4 vs torch conv2d: {dwt_speedup:.1f}x faster")
    print(json.dumps(targets, indent=2))
    result = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "cupy": cp.__version__,
        "freqpipe": freqpipe.__version__,
        "python": platform.python_version(),
        "batch": n,
        "image": [S, S, 3],
        "quick": args.quick,
        "timing": "CUDA events around back-to-back prepared launches queued behind a GPU sleep",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "dct_speedup_vs_torch": dct_speedup,
        "dwt_speedup_vs_torch_conv": dwt_speedup,
        "dct_max_abs_diff_vs_torch": dct_err,
        "targets": targets,
        "rows": rows,
        **run_info("cuda"),
    }
    path = args.out / f"bench_kernels_{torch.cuda.get_device_name().replace(' ', '_')}.json"
    print(f"wrote {write_json(path, result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
