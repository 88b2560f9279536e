"""Helpers of ``scripts/gpu-check.sh``: the environment report, benchmark photos, the summary.

    python scripts/gpu_check.py env OUTDIR          env.txt + env.json: what the machine has
    python scripts/gpu_check.py make-data DIR [-n]  ImageNet-style JPEGs cut from the samples
    python scripts/gpu_check.py summary OUTDIR      summary.md + PNG plots from the step outputs

Only the standard library is needed to start; torch, CuPy, matplotlib are used when present,
so each subcommand reports what is missing instead of failing on it.
"""

from __future__ import annotations

import argparse
import glob
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
#: imported by name in the report; ``None`` when absent (what gpu-carry.sh must bring)
MODULES = (
    "torch",
    "torchvision",
    "cupy",
    "numpy",
    "scipy",
    "PIL",
    "matplotlib",
    "pytest",
    "turbojpeg",
    "pywt",
    "jpeglib",
    "nvidia.nvimgcodec",
    "nvidia.dali",
)


def _run(cmd: list[str], timeout: float = 10.0) -> str:
    if shutil.which(cmd[0]) is None:
        return f"{cmd[0]}: not found"
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{' '.join(cmd)}: {exc}"
    return (done.stdout + done.stderr).strip()


def _version(name: str) -> str | None:
    try:
        mod = importlib.import_module(name)
    except Exception as exc:  # a broken install is reported, not raised
        return None if isinstance(exc, ImportError) else f"broken: {exc}"
    return str(getattr(mod, "__version__", "present"))


def environment() -> dict[str, Any]:
    """What the machine has: interpreter, packages, GPU, CUDA, libjpeg-turbo headers."""
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "command": os.environ.get("GPU_CHECK_CMD", ""),
        "git_commit": _run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
        "modules": {m: _version(m) for m in MODULES},
        "jpeglib_h": [p for p in ("/usr/include/jpeglib.h",) if os.path.exists(p)]
        + glob.glob(
            os.path.join(os.environ.get("FREQPIPE_JPEG_INCLUDE", "-").split(":")[0], "jpeglib.h")
        ),
        "nvcc": _run(["nvcc", "--version"]).splitlines()[-1:],
        "nvidia_smi": _run(
            [
                "nvidia-smi",
                "--query-gpu=name,driver_version,memory.total,clocks.max.sm",
                "--format=csv,noheader",
            ]
        ),
    }
    try:
        import torch

        info["torch_cuda"] = torch.version.cuda
        info["cuda_available"] = torch.cuda.is_available()
        if torch.cuda.is_available():
            p = torch.cuda.get_device_properties(0)
            info["gpu"] = {
                "name": p.name,
                "sm": f"{p.major}.{p.minor}",
                "multiprocessors": p.multi_processor_count,
                "memory_gib": round(p.total_memory / 2**30, 1),
            }
    except Exception as exc:
        info["torch_error"] = str(exc)
    return info


def cmd_env(out: Path) -> int:
    """Write env.txt and env.json into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    info = environment()
    (out / "env.json").write_text(json.dumps(info, indent=2) + "\n")
    lines = [f"{k}: {v}" for k, v in info.items() if k != "modules"]
    lines += [f"  {m}: {v if v is not None else 'MISSING'}" for m, v in info["modules"].items()]
    lines += ["", _run(["nvidia-smi"])]
    (out / "env.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:40]))
    return 0


def cmd_make_data(root: Path, n: int) -> int:
    """ImageNet-layout folder of ``n`` JPEGs (~500x375, quality 90) cut from the samples.

    Real photo content with the size mix of the project's shared photos, for machines the
    shared folder does not reach; random crops, scales and flips make each file different.
    """
    if root.is_dir() and any(root.glob("*/*.JPEG")):
        print(f"make-data: {root} already holds photos")
        return 0
    import numpy as np
    from PIL import Image

    from freqpipe._samples import sample_files

    rng = np.random.default_rng(0)
    sources = sample_files()
    for i in range(n):
        src = sources[i % len(sources)]
        cls = root / src.parent.name
        cls.mkdir(parents=True, exist_ok=True)
        with Image.open(src) as im:
            im = im.convert("RGB")
            w, h = im.size
            cw, ch = int(w * rng.uniform(0.6, 1.0)), int(h * rng.uniform(0.6, 1.0))
            x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            crop = im.crop((x0, y0, x0 + cw, y0 + ch))
            side = (500, 375) if cw >= ch else (375, 500)
            crop = crop.resize(side, Image.Resampling.BILINEAR)
            if rng.random() < 0.5:
                crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            crop.save(cls / f"{src.stem}_{i:04d}.JPEG", quality=90)
    print(f"make-data: wrote {n} JPEGs under {root}")
    return 0


# --- summary ---------------------------------------------------------------------------------


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _junit(path: Path) -> dict[str, Any] | None:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    counts = {
        k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")
    }
    bad = []
    for case in root.iter("testcase"):
        for kind in ("failure", "error"):
            el = case.find(kind)
            if el is not None:
                msg = (el.get("message") or "").splitlines()[:1]
                bad.append(
                    f"{case.get('classname')}::{case.get('name')} ({kind}: "
                    f"{msg[0][:160] if msg else ''})"
                )
    return {**counts, "failed": bad}


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 100 else f"{v:,.0f}"
        return str(v)

    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return out + [""]


def _plot_kernels(rows: list[dict[str, Any]], path: Path) -> bool:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(rows) + 1))
    ax.barh([r["name"] for r in rows], [r["fraction_of_copy"] for r in rows])
    ax.axvline(1.0, color="k", lw=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("effective bandwidth / device-to-device copy (kernel only)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _plot_loader(results: list[dict[str, Any]], path: Path) -> bool:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(8, 5))
    for r in results:
        if r.get("skipped") or not r.get("images_per_s"):
            continue
        ax.scatter(r["h2d_bytes_per_image"], r["images_per_s"])
        ax.annotate(
            f"{r['name']} @{r.get('size', '')}",
            (r["h2d_bytes_per_image"], r["images_per_s"]),
            fontsize=7,
        )
    ax.set_xscale("log")
    ax.set_xlabel("host-to-device bytes / image")
    ax.set_ylabel("images / s")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def summary(out: Path) -> str:
    """Markdown report of one gpu-check run, from the files its steps left in ``out``."""
    env = _load(out / "env.json") or {}
    gpu = env.get("gpu", {})
    mods = env.get("modules", {})
    md = ["# freqpipe GPU check", ""]
    md += _table(
        ["hardware", "versions", "command"],
        [
            [
                f"{gpu.get('name', '?')} ({gpu.get('multiprocessors', '?')} SMs, "
                f"{gpu.get('memory_gib', '?')} GiB), {env.get('cpu_count', '?')} CPUs; "
                f"driver: {env.get('nvidia_smi', '?')}",
                f"Python {env.get('python', '?')}, torch {mods.get('torch')} (CUDA "
                f"{env.get('torch_cuda')}), torchvision {mods.get('torchvision')}, CuPy "
                f"{mods.get('cupy')}, freqpipe @ {env.get('git_commit', '?')}",
                f"`{env.get('command') or 'bash scripts/gpu-check.sh OUTDIR'}`",
            ]
        ],
    )
    steps = []
    if (out / "steps.tsv").is_file():
        for line in (out / "steps.tsv").read_text().splitlines()[1:]:
            name, rc, secs, limit = line.split("\t")
            state = "ok" if rc == "0" else ("TIMED OUT" if rc in ("124", "137") else "failed")
            steps.append([name, state, int(rc), int(secs), int(limit)])
    md += ["## Steps", ""] + _table(["step", "result", "rc", "s", "limit s"], steps)

    md += ["## GPU tests", ""]
    for name in ("tests-gpu.xml", "tests-nvimgcodec.xml"):
        j = _junit(out / name)
        if j is None:
            md += [f"- {name}: no report (the step did not get that far)"]
            continue
        passed = j["tests"] - j["failures"] - j["errors"] - j["skipped"]
        md += [
            f"- {name}: {passed} passed, {j['failures']} failed, {j['errors']} errors, "
            f"{j['skipped']} skipped"
        ]
        md += [f"  - {b}" for b in j["failed"]]
    md += [""]

    kern = next((d for p in sorted(out.glob("bench_kernels_*.json")) if (d := _load(p))), None)
    if kern:
        md += ["## Kernels (kernel-only, CUDA events around back-to-back prepared launches)", ""]
        rows = kern["rows"]
        md += _table(
            ["kernel", "ms", "GB/s", "of copy", "public call ms"],
            [
                [
                    r["name"],
                    r["median_ms"],
                    r["GB_s"],
                    f"{r['fraction_of_copy']:.1%}",
                    r.get("api_call_ms", ""),
                ]
                for r in rows
            ],
        )
        md += [f"Targets: {json.dumps(kern.get('targets', {}))}", ""]
        if _plot_kernels(rows, out / "kernels.png"):
            md += ["![kernels](kernels.png)", ""]
    over = _load(out / "bench_overhead.json")
    if over:
        md += ["## Per-call overhead (public call vs its kernels alone)", ""]
        md += _table(
            ["call", "public call ms", "kernels only ms", "host overhead ms"],
            [
                [r["name"], r["api_ms"], r["kernel_ms"], r["api_ms"] - r["kernel_ms"]]
                for r in over["rows"]
            ],
        )
        md += [f"Profiler table: `{over.get('profile_table', '')}`", ""]
    loader = _load(out / "bench_gpu_loader.json")
    if loader:
        md += ["## Loaders on the GPU", ""]
        res = loader["results"]
        md += _table(
            ["pipeline", "size", "images/s", "CPU ms/img", "H2D bytes/img", "GPU busy"],
            [
                [
                    r["name"],
                    r.get("size", ""),
                    r["images_per_s"],
                    1000 * r["cpu_s_per_image"],
                    r["h2d_bytes_per_image"],
                    r.get("gpu_busy", ""),
                ]
                if not r.get("skipped")
                else [r["name"], r.get("size", ""), "skipped: " + r["skipped"], "", "", ""]
                for r in res
            ],
        )
        md += [f"Targets: {json.dumps(loader.get('targets', {}))}", ""]
        if _plot_loader(res, out / "loader.png"):
            md += ["![loaders](loader.png)", ""]
    train = _load(out / "bench_train.json")
    if train:
        md += ["## Training step (batch, bf16 autocast)", ""]
        md += _table(
            ["model", "input", "batch", "ms/step", "images/s"],
            [
                [r["model"], r["input"], r["batch"], r["ms_per_step"], r["images_per_s"]]
                for r in train["rows"]
            ],
        )
    return "\n".join(md) + "\n"


def cmd_summary(out: Path) -> int:
    """Write summary.md (and the plots) into ``out``."""
    text = summary(out)
    (out / "summary.md").write_text(text)
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("env").add_argument("out", type=Path)
    data = sub.add_parser("make-data")
    data.add_argument("root", type=Path)
    data.add_argument("-n", type=int, default=400)
    sub.add_parser("summary").add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if args.cmd == "env":
        return cmd_env(args.out)
    if args.cmd == "make-data":
        return cmd_make_data(args.root, args.n)
    return cmd_summary(args.out)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
