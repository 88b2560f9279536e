from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from freqpipe.errors import FreqpipeError, MissingExtraError
from freqpipe.transforms import _dispatch, array_namespace, block_dct, block_idct, dwt2, idwt2

REPO = Path(__file__).resolve().parents[2]


class FakeCupyArray:
    """Looks like a CuPy array to the dispatcher (type defined in a 'cupy' module)."""

    __module__ = "cupy._core.core"

    def __init__(self, data):
        self.data = np.asarray(data)


class FakeCudaTensor:
    __module__ = "torch"
    is_cuda = True


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(_dispatch, "_GPU_IMPLS", {})
    monkeypatch.setattr(_dispatch, "_backend_import_tried", True)  # do not import freqpipe.cuda
    return _dispatch._GPU_IMPLS


def test_numpy_input_imports_nothing_gpu():
    """NumPy input never imports torch, CuPy or the CUDA backend.

    Checked in a fresh interpreter: this pytest process imported torch long ago, so a check
    here could not see the transforms import it.
    """
    code = (
        "import sys, numpy as np\n"
        "import freqpipe.transforms as t\n"
        "c = t.block_dct(np.zeros((2, 16, 16), np.uint8)); t.block_idct(c)\n"
        "t.idwt2(t.dwt2(np.zeros((8, 8))))\n"
        "print(sorted(m for m in ('torch', 'cupy', 'freqpipe.cuda') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


def test_gpu_input_is_delegated(registry):
    calls = []

    @_dispatch.register_gpu("block_dct")
    def fake_dct(x, *, level_shift):
        calls.append(("block_dct", level_shift))
        return "gpu-result"

    @_dispatch.register_gpu("dwt2")
    def fake_dwt(x, *, wavelet, mode, level):
        calls.append(("dwt2", wavelet, mode, level))
        return "gpu-dwt"

    x = FakeCupyArray(np.zeros((8, 8)))
    assert block_dct(x, level_shift=0.0) == "gpu-result"
    assert dwt2(FakeCudaTensor(), "haar", "reflect", level=2) == "gpu-dwt"
    assert calls == [("block_dct", 0.0), ("dwt2", "haar", "reflect", 2)]
    assert _dispatch.registered_gpu_ops() == ("block_dct", "dwt2")


def test_gpu_input_without_backend_raises(registry):
    with pytest.raises(MissingExtraError, match=r"freqpipe\[gpu\]") as exc:
        block_idct(FakeCupyArray(np.zeros((64, 1, 1))))
    assert isinstance(exc.value, FreqpipeError)
    with pytest.raises(MissingExtraError):
        idwt2((FakeCudaTensor(), (None, None, None)))


def test_backend_import_is_tried_once(monkeypatch):
    monkeypatch.setattr(_dispatch, "_GPU_IMPLS", {})
    monkeypatch.setattr(_dispatch, "_backend_import_tried", False)
    tried = []

    def fake_import(name):
        tried.append(name)
        raise ImportError("no cupy")

    monkeypatch.setattr(_dispatch.importlib, "import_module", fake_import)
    for _ in range(2):
        with pytest.raises(MissingExtraError):
            _dispatch.gpu_impl("dwt2", FakeCupyArray(0))
    assert tried == ["freqpipe.cuda"]


def test_host_inputs_are_not_gpu():
    assert _dispatch.gpu_impl("block_dct", np.zeros(3)) is None
    assert _dispatch.gpu_impl("block_dct", [1, 2]) is None
    assert not _dispatch.is_gpu_array(np.zeros(1))
    assert array_namespace(np.zeros(1)) is np
    assert array_namespace([1]) is np
