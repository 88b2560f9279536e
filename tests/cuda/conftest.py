"""Fixtures of the kernel tests: CPU shim builds, nvcc, and the GPU (CuPy + CUDA device)."""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cuda._shim import ShimLib, gxx


@pytest.fixture(scope="session")
def shim(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], ShimLib]:
    """``shim(family)``: that family's kernels compiled for the CPU (built once a session)."""
    if gxx() is None:
        pytest.skip("g++ not found: the CPU shim tests compile the kernels with it")
    built: dict[str, ShimLib] = {}
    root = tmp_path_factory.mktemp("shim")

    def get(family: str) -> ShimLib:
        if family not in built:
            work = root / family
            work.mkdir()
            built[family] = ShimLib(family, work)
        return built[family]

    return get


@pytest.fixture(scope="session")
def nvcc() -> str:
    path = shutil.which("nvcc")
    if path is None:
        pytest.skip("nvcc not found: kernel compile checks need the CUDA toolkit")
    return path


@pytest.fixture(scope="session")
def cupy() -> Any:
    """CuPy with a usable CUDA device, or skip with the reason."""
    try:
        cp = importlib.import_module("cupy")
    except ImportError:
        pytest.skip("CuPy not installed (pip install freqpipe[gpu])")
    try:
        if cp.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA device")
    except Exception as exc:  # CUDARuntimeError when there is no driver
        pytest.skip(f"no usable CUDA device: {exc}")
    return cp


@pytest.fixture(scope="session")
def torch_cuda(cupy: Any) -> Any:
    torch = importlib.import_module("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA")
    return torch


def photo_batch(n: int, size: int) -> Any:
    """(n, size, size, 3) uint8 centre crops of the bundled sample photos (Pillow), cycled."""
    import numpy as np
    from PIL import Image

    from freqpipe import sample_files

    files = sample_files()
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        with Image.open(files[i % len(files)]) as im:
            im = im.convert("RGB")
            w, h = im.size
            s = min(w, h)
            im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
            out[i] = np.asarray(im.resize((size, size), Image.BILINEAR))
    return out


KERNELS = Path(__file__).resolve().parents[2] / "kernels"
