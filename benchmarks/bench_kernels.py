"""Effective bandwidth of the freqpipe CUDA kernels against a device-to-device copy.

Run ``python benchmarks/bench_kernels.py`` on a machine with a GPU, CuPy and torch. Effective
bandwidth = (bytes read + bytes written) / time, timed with CUDA events on warm kernels, batches
of 256 images of 448x448x3; the reference is a device-to-device copy measured in the same run.
The same run times the same maths written with torch ops (unfold + matmul DCT, conv2d DWT in
the style of pytorch_wavelets) as baselines. Prints a table and writes JSON to
``benchmarks/results/`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
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
from freqpipe.cuda import dequantize, dwt2, fused_dct
from freqpipe.cuda._interop import GpuContext
from freqpipe.cuda._launch import run
from freqpipe.cuda.dct import plan_fused_dct
from freqpipe.cuda.dequant import plan_dequantize
from freqpipe.cuda.dwt import plan_dwt2_level, plan_idwt2_level
from freqpipe.transforms import Selection, dct_matrix

N, S = 256, 448


def timeit(
    fn: Callable[[], Any], warmup: int = 3, repeat: int = 20, inner: int = 10
) -> dict[str, float]:
    """Median / min / max milliseconds per call of ``fn``, CUDA events on torch's stream.

    ``inner`` calls go back to back between one pair of events, so a kernel shorter than its
    host-side launch cost is not timed as the launch cost.
    """
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(inner):
            fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / inner)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times)}


def planned(plan: Callable[..., Any], first: Any, *args: Any, **kw: Any) -> Callable[[], None]:
    """The kernel launches of one call, prepared once: times the kernels, not the Python."""
    ctx = GpuContext(first)
    with ctx.active():
        _, launches = plan(ctx, *args, **kw)

    def go() -> None:
        with ctx.active():
            run(launches)

    return go


def api_call_ms(fn: Callable[[], Any]) -> float:
    """Wall milliseconds of one public call including its host work (synchronised)."""
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(10):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 100.0


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--batch", type=int, default=N)
    args = parser.parse_args()
    n = args.batch
    dev = torch.device("cuda")
    cp = __import__("cupy")
    gen = torch.Generator(device=dev).manual_seed(0)
    rows: list[dict[str, Any]] = []

    def add(name: str, bytes_moved: int, t: dict[str, float], **extra: Any) -> None:
        gbs = bytes_moved / (t["median_ms"] * 1e-3) / 1e9
        rows.append({"name": name, "bytes": bytes_moved, "GB_s": gbs, **t, **extra})

    # device-to-device copy, same size class as the inputs (1.5 GB)
    src = torch.empty(n * S * S * 3 * 4, dtype=torch.uint8, device=dev)
    dst = torch.empty_like(src)
    add("d2d copy", 2 * src.numel(), timeit(lambda: dst.copy_(src)))
    copy_gbs = rows[-1]["GB_s"]

    images = torch.randint(0, 256, (n, S, S, 3), dtype=torch.uint8, device=dev, generator=gen)
    img_bytes = images.numel()
    for preset, dtype in (
        ("dct24", torch.float16),
        ("dct24", torch.float32),
        ("all", torch.float16),
    ):
        sel = Selection.preset(preset)
        out_bytes = n * len(sel) * (S // 8) ** 2 * (2 if dtype == torch.float16 else 4)
        mean, std = np.zeros(len(sel)), np.ones(len(sel))
        cp_images = cp.from_dlpack(images)
        go = planned(
            plan_fused_dct, images, cp_images, sel, dtype=str(dtype)[6:], mean=mean, std=std
        )
        t = timeit(go)
        api = api_call_ms(
            lambda sel=sel, dtype=dtype, m=mean, s=std: fused_dct(
                images, sel, dtype=dtype, mean=m, std=s
            )
        )
        add(f"fused DCT {preset} -> {str(dtype)[6:]}", img_bytes + out_bytes, t, api_call_ms=api)
    sel24 = Selection.preset("dct24")
    images_nchw = images.permute(0, 3, 1, 2).contiguous()
    t = timeit(
        planned(
            plan_fused_dct,
            images_nchw,
            cp.from_dlpack(images_nchw),
            sel24,
            layout="nchw",
            dtype="float16",
        )
    )
    add("fused DCT dct24 nchw -> float16", img_bytes + n * 24 * 56 * 56 * 2, t)
    fused_ms = rows[-4]["median_ms"]  # dct24 -> float16, nhwc

    kron = torch.from_numpy(np.kron(dct_matrix(), dct_matrix()).astype(np.float32)).to(dev)
    idx = torch.from_numpy(sel24.indices).to(dev)
    ref = torch_fused_dct(images[:4], idx, kron).float()
    ours = fused_dct(images[:4], sel24, dtype=torch.float32)
    dct_err = float((ref - ours).abs().max())
    t = timeit(lambda: torch_fused_dct(images, idx, kron), warmup=2, repeat=5, inner=1)
    add("torch unfold+matmul DCT dct24 -> float16", img_bytes + n * 24 * 56 * 56 * 2, t)
    dct_speedup = rows[-1]["median_ms"] / fused_ms

    quant = torch.randint(1, 50, (n, 24), device=dev, generator=gen).to(torch.int16)
    for qdt, odt in (
        (torch.int16, torch.float16),
        (torch.int16, torch.float32),
        (torch.int8, torch.float16),
    ):
        q = torch.randint(-100, 100, (n, 24, 56, 56), device=dev, generator=gen).to(qdt)
        mean, std = np.zeros(24), np.ones(24)
        t = timeit(
            planned(
                plan_dequantize,
                q,
                cp.from_dlpack(q),
                cp.from_dlpack(quant).astype(cp.float32),
                mean=mean,
                std=std,
                dtype=str(odt)[6:],
            )
        )
        api = api_call_ms(
            lambda q=q, odt=odt, m=mean, s=std: dequantize(q, quant, mean=m, std=s, dtype=odt)
        )
        add(
            f"dequantise {str(qdt)[6:]} -> {str(odt)[6:]}",
            q.numel() * q.element_size() + q.numel() * (2 if odt == torch.float16 else 4),
            t,
            api_call_ms=api,
        )
    yq = torch.randint(-100, 100, (n, 16, 56, 56), device=dev, generator=gen).to(torch.int16)
    cq = torch.randint(-100, 100, (n, 8, 28, 28), device=dev, generator=gen).to(torch.int16)
    t = timeit(
        planned(
            plan_dequantize,
            yq,
            cp.from_dlpack(yq),
            cp.from_dlpack(quant).astype(cp.float32),
            chroma=cp.from_dlpack(cq),
            dtype="float16",
        )
    )
    add(
        "dequantise int16 + 4:2:0 chroma repeat -> float16",
        yq.numel() * 2 + cq.numel() * 2 + n * 24 * 56 * 56 * 2,
        t,
    )

    x = torch.randn((n, 3, S, S), device=dev, generator=gen)
    for wav, mode in (
        ("bior4.4", "periodization"),
        ("bior4.4", "reflect"),
        ("bior2.2", "periodization"),
        ("haar", "periodization"),
    ):
        t = timeit(planned(plan_dwt2_level, x, cp.from_dlpack(x), wav, mode))
        api = api_call_ms(lambda wav=wav, mode=mode: dwt2(x, wav, mode))
        add(f"DWT {wav} {mode} float32", 2 * x.numel() * 4, t, api_call_ms=api)
    dwt_ms = rows[-4]["median_ms"]
    xh = x.half()
    t = timeit(planned(plan_dwt2_level, xh, cp.from_dlpack(xh), "bior4.4", "periodization"))
    add("DWT bior4.4 periodization float16", 2 * xh.numel() * 2, t)
    t = timeit(lambda: dwt2(x, "bior4.4", "periodization", level=3))
    add("DWT bior4.4 periodization float32, 3 levels", 2 * x.numel() * 4 * (1 + 1 / 4 + 1 / 16), t)

    coeffs = dwt2(x, "bior4.4", "periodization")
    sub = (coeffs[0], *coeffs[1])
    t = timeit(
        planned(
            plan_idwt2_level, x, tuple(cp.from_dlpack(c) for c in sub), "bior4.4", "periodization"
        )
    )
    add("IDWT bior4.4 periodization float32", 2 * x.numel() * 4, t)
    lo = torch.tensor(_B44_LO, device=dev).flip(0)
    hi = torch.tensor(_B44_HI, device=dev).flip(0)
    t = timeit(lambda: torch_conv_dwt(x, lo, hi), warmup=2, repeat=5, inner=1)
    add("torch conv2d DWT bior4.4 float32", 2 * x.numel() * 4, t)
    dwt_speedup = rows[-1]["median_ms"] / dwt_ms

    for r in rows:
        r["fraction_of_copy"] = r["GB_s"] / copy_gbs
    print(f"{'kernel':52s} {'ms':>9s} {'GB/s':>9s} {'of copy':>8s} {'API call ms':>12s}")
    for r in rows:
        api = f"{r['api_call_ms']:12.3f}" if "api_call_ms" in r else ""
        print(
            f"{r['name']:52s} {r['median_ms']:9.3f} {r['GB_s']:9.1f} "
            f"{r['fraction_of_copy']:8.1%} {api}"
        )
    print(f"fused DCT vs torch unfold+matmul: {dct_speedup:.1f}x faster (max |diff| {dct_err:.3g})")
    print(f"DWT bior4.4 vs torch conv2d: {dwt_speedup:.1f}x faster")
    result = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "cupy": __import__("cupy").__version__,
        "freqpipe": freqpipe.__version__,
        "python": platform.python_version(),
        "batch": n,
        "image": [S, S, 3],
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "copy_GB_s": copy_gbs,
        "dct_speedup_vs_torch": dct_speedup,
        "dwt_speedup_vs_torch_conv": dwt_speedup,
        "dct_max_abs_diff_vs_torch": dct_err,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = torch.cuda.get_device_name().replace(" ", "_")
    path = args.out / f"bench_kernels_{name}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
