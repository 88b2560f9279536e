"""freqpipe._nvimgcodec: nvImageCodec decoding against PyTurboJPEG (libjpeg-turbo)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import freqpipe as fp
from freqpipe import _nvimgcodec as nvi
from freqpipe.errors import CorruptJpegError, InvalidArgumentError


def test_import_is_light() -> None:
    code = "import sys, freqpipe._nvimgcodec; print('nvidia.nvimgcodec' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _reference(data: bytes) -> np.ndarray:
    from turbojpeg import TJPF_RGB, TurboJPEG

    return TurboJPEG().decode(data, pixel_format=TJPF_RGB)


def test_cpu_backend_equals_libjpeg_turbo() -> None:
    if not nvi.available("cpu"):
        pytest.skip("nvImageCodec not installed (nvidia-nvimgcodec-cu12)")
    data = [f.read_bytes() for f in fp.sample_files()[:3]]
    for img, d in zip(nvi.decode_batch(data, device="cpu", output="numpy"), data):
        np.testing.assert_array_equal(img, _reference(d))


def test_bad_input() -> None:
    if not nvi.available("cpu"):
        pytest.skip("nvImageCodec not installed (nvidia-nvimgcodec-cu12)")
    with pytest.raises(InvalidArgumentError):
        nvi.decode_batch([], device="tpu")
    with pytest.raises(CorruptJpegError):
        nvi.decode_batch([b"\xff\xd8 not a jpeg"], device="cpu")


@pytest.mark.gpu
def test_gpu_decode_close_to_libjpeg_turbo() -> None:
    if not nvi.available("cuda"):
        pytest.skip("needs nvImageCodec and a CUDA device")
    data = [f.read_bytes() for f in fp.sample_files()]
    imgs = nvi.decode_batch(data, device="cuda")
    for img, d in zip(imgs, data):
        assert img.is_cuda and img.dtype.is_floating_point is False
        # nvJPEG's IDCT and chroma upsampling differ from libjpeg-turbo's by a few levels
        diff = np.abs(img.cpu().numpy().astype(int) - _reference(d).astype(int))
        assert diff.mean() < 1.0
