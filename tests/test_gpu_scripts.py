"""The GPU check's CPU-checkable half: both scripts parse, the carry plan, the time budget, the
summary, the benchmark photos, and the benchmarks' CPU smoke paths (nothing is downloaded)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
CARRY = REPO / "scripts" / "gpu-carry.sh"
CHECK = REPO / "scripts" / "gpu-check.sh"


def _bash(*args: str) -> str:
    done = subprocess.run(["bash", *args], cwd=REPO, capture_output=True, text=True, check=True)
    return done.stdout


def _gpu_check_module():
    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "scripts" / "gpu_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("script", [CARRY, CHECK], ids=lambda p: p.name)
def test_script_parses(script: Path) -> None:
    subprocess.run(["bash", "-n", str(script)], check=True)


def test_carry_plan_names_what_the_gpu_machine_lacks() -> None:
    plan = json.loads(_bash(str(CARRY), "--plan"))
    assert plan["limit_bytes"] == 64 * 1024 * 1024
    assert plan["python_version"] == "3.12"
    assert plan["platforms"] and all(p.endswith("x86_64") for p in plan["platforms"])
    wheels = {w["name"]: w["spec"] for w in plan["wheels"]}
    assert set(wheels) == {"PyTurboJPEG", "PyWavelets", "jpeglib", "nvidia-nvimgcodec-cu13"}
    # the PyTurboJPEG carried is the one the package depends on (< 2 for libjpeg-turbo 2.1)
    pinned = re.search(r'"PyTurboJPEG([^"]*)"', (REPO / "pyproject.toml").read_text())
    assert pinned is not None and pinned.group(1) == wheels["PyTurboJPEG"] == ">=1.7,<2"
    assert plan["sdist_only"] == ["PyTurboJPEG"]
    assert plan["debs"] == ["libjpeg62-turbo", "libjpeg62-turbo-dev", "libturbojpeg0"]
    assert plan["folder"] == ".gpu-carry"
    assert plan["layout"] == {"wheels": ".gpu-carry/wheels", "prefix": ".gpu-carry/prefix"}
    # the folder must never be committed, and is what gpu-check.sh reads by default
    subprocess.run(["git", "check-ignore", "-q", ".gpu-carry/x.whl"], cwd=REPO, check=True)
    assert "${FREQPIPE_CARRY:-.gpu-carry}" in CHECK.read_text()


def test_carry_rejects_unknown_arguments() -> None:
    done = subprocess.run(["bash", str(CARRY), "--nope"], cwd=REPO, capture_output=True)
    assert done.returncode == 2


def _dry_run(*flags: str) -> tuple[dict[str, int], int, int]:
    rows = [line.split("\t") for line in _bash(str(CHECK), "--dry-run", *flags).splitlines()]
    assert rows[0] == ["step", "limit_s"]
    table = {name: int(v) for name, v in rows[1:]}
    return table, table.pop("total"), table.pop("budget")


@pytest.mark.parametrize(("flags", "budget"), [((), 480), (("--quick",), 180)])
def test_check_steps_fit_the_budget(flags: tuple[str, ...], budget: int) -> None:
    steps, total, stated = _dry_run(*flags)
    assert stated == budget
    assert sum(steps.values()) == total <= budget
    assert list(steps) == [
        "env",
        "install",
        "tests",
        "bench_kernels",
        "bench_overhead",
        "bench_gpu_loader",
        "bench_train",
        "summary",
    ]
    assert all(v > 0 for v in steps.values())


def test_quick_limits_are_no_longer_than_full() -> None:
    full, _, _ = _dry_run()
    quick, _, _ = _dry_run("--quick")
    assert all(quick[k] <= full[k] for k in full)


def test_check_runs_files_that_exist() -> None:
    text = CHECK.read_text()
    paths = set(re.findall(r"(?:benchmarks|scripts|tests)/[\w/.-]+\.py", text))
    assert {"benchmarks/bench_kernels.py", "scripts/gpu_check.py"} <= paths
    for p in paths:
        assert (REPO / p).is_file(), p


def test_check_needs_an_outdir() -> None:
    done = subprocess.run(["bash", str(CHECK)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2 and "usage" in done.stderr


def test_make_data_writes_imagenet_style_jpegs(tmp_path: Path) -> None:
    mod = _gpu_check_module()
    assert mod.main(["make-data", str(tmp_path / "photos"), "-n", "5"]) == 0
    files = sorted((tmp_path / "photos").glob("*/*.JPEG"))
    assert len(files) == 5
    for f in files:
        with Image.open(f) as im:
            assert im.format == "JPEG" and sorted(im.size) == [375, 500]
    # a second call keeps what is there
    assert mod.main(["make-data", str(tmp_path / "photos"), "-n", "9"]) == 0
    assert len(list((tmp_path / "photos").glob("*/*.JPEG"))) == 5


_JUNIT = """<?xml version="1.0"?><testsuites><testsuite tests="3" failures="1" errors="0"
skipped="1"><testcase classname="tests.cuda.test_gpu" name="test_ok"/><testcase
classname="tests.cuda.test_gpu" name="test_bad"><failure message="assert 1 == 2">x</failure>
</testcase><testcase classname="t" name="s"><skipped/></testcase></testsuite></testsuites>"""


def test_summary_reports_steps_tests_and_benchmarks(tmp_path: Path) -> None:
    mod = _gpu_check_module()
    (tmp_path / "steps.tsv").write_text(
        "step\trc\tseconds\tlimit_s\nenv\t0\t2\t15\ntests\t124\t150\t150\nbench_train\t1\t3\t40\n"
    )
    env = {
        "python": "3.12.3",
        "gpu": {"name": "NVIDIA H200", "multiprocessors": 132},
        "modules": {"torch": "2.11.0", "cupy": "14.2.0"},
        "command": "bash x.sh out",
    }
    (tmp_path / "env.json").write_text(json.dumps(env))
    (tmp_path / "tests-gpu.xml").write_text(_JUNIT)
    row = {
        "name": "fused DCT dct24 -> float16",
        "median_ms": 0.1,
        "GB_s": 1900.0,
        "fraction_of_copy": 0.5,
        "api_call_ms": 0.3,
    }
    (tmp_path / "bench_kernels_NVIDIA_H200.json").write_text(json.dumps({"rows": [row]}))
    train = {
        "rows": [
            {
                "model": "resnet50",
                "input": "3x224x224",
                "batch": 256,
                "ms_per_step": 100.0,
                "images_per_s": 2560.0,
            }
        ]
    }
    (tmp_path / "bench_train.json").write_text(json.dumps(train))
    text = mod.summary(tmp_path)
    assert "NVIDIA H200 (132 SMs" in text and "`bash x.sh out`" in text
    assert "| tests | TIMED OUT | 124 |" in text and "| bench_train | failed | 1 |" in text
    assert "tests-gpu.xml: 1 passed, 1 failed, 0 errors, 1 skipped" in text
    assert "tests.cuda.test_gpu::test_bad (failure: assert 1 == 2)" in text
    assert "tests-nvimgcodec.xml: no report" in text
    assert "| fused DCT dct24 -> float16 | 0.1 | 1,900 | 50.0% | 0.3 |" in text
    assert "| resnet50 | 3x224x224 | 256 | 100 | 2,560 |" in text
    assert (tmp_path / "kernels.png").is_file()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message a CPU machine gets")
@pytest.mark.parametrize("bench", ["bench_kernels.py", "bench_overhead.py"])
def test_gpu_only_benchmarks_say_so_without_cuda(bench: str) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / bench), "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "needs a CUDA device" in done.stderr


def test_gpu_loader_benchmark_cpu_smoke(tmp_path: Path) -> None:
    from benchmarks import bench_gpu_loader

    _gpu_check_module().main(["make-data", str(tmp_path / "photos"), "-n", "8"])
    argv = [
        "--data",
        str(tmp_path / "photos"),
        "--out",
        str(tmp_path),
        "--device",
        "cpu",
        "--quick",
        "--workers",
        "0",
        "--batch",
        "4",
    ]
    assert bench_gpu_loader.main(argv) == 0
    result = json.loads((tmp_path / "bench_gpu_loader.json").read_text())
    rows = {r["name"]: r for r in result["results"]}
    assert rows["FreqLoader coefficients dct24"]["images_per_s"] > 0
    assert rows["FreqLoader coefficients dct24"]["h2d_bytes_per_image"] < 3 * 224 * 224
    assert rows["FreqStore dct24"]["images"] > 0
    assert rows["torchvision decode_jpeg(device='cuda')"]["skipped"]


@pytest.mark.slow
def test_train_benchmark_cpu_smoke(tmp_path: Path) -> None:
    from benchmarks import bench_train

    assert (
        bench_train.main(
            ["--device", "cpu", "--batch", "2", "--scale", "4", "--out", str(tmp_path)]
        )
        == 0
    )
    rows = json.loads((tmp_path / "bench_train.json").read_text())["rows"]
    assert [r["model"] for r in rows] == ["dct_resnet50", "resnet50"]
    assert [r["input"] for r in rows] == ["24x14x14", "3x56x56"]
    assert all(r["ms_per_step"] > 0 for r in rows)
