"""Lifting DWT kernels on the CPU through cpu_shim.h, against the NumPy reference and pywt."""

from __future__ import annotations

import numpy as np
import pytest

from freqpipe.cuda._launch import HostBackend
from freqpipe.cuda.dwt import plan_dwt2_level, plan_idwt2_level
from freqpipe.transforms import dwt2, idwt2
from tests.cuda.conftest import photo_batch
from tests.cuda.kernel_contract import check_kernel_contract
from tests.tolerances import assert_close

RNG = np.random.default_rng(99)
WAVELETS = ["haar", "bior2.2", "bior4.4"]
MODES = ["periodization", "reflect"]


def _fwd(shim, wavelet, mode, dtype=None):
    def fn(x):
        outs, launches = plan_dwt2_level(HostBackend(), x, wavelet, mode, dtype)
        shim("dwt").run(launches)
        return outs

    return fn


def _inv(shim, wavelet, mode, dtype=None):
    def fn(ca, ch, cv, cd):
        outs, launches = plan_idwt2_level(HostBackend(), (ca, ch, cv, cd), wavelet, mode, dtype)
        shim("dwt").run(launches)
        return outs

    return fn


@pytest.mark.parametrize("wavelet", WAVELETS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(3, 2, 40, 72), (2, 1, 37, 45), (2, 3, 6, 10), (1, 1, 2, 3)])
def test_dwt_level_matches_reference(shim, wavelet, mode, shape):
    x = RNG.standard_normal(shape).astype(np.float32) * 50
    outs = check_kernel_contract(_fwd(shim, wavelet, mode), [x], out_dtypes=["float32"] * 4)
    ca, (ch, cv, cd) = dwt2(x, wavelet, mode)
    for got, ref in zip(outs, (ca, ch, cv, cd), strict=True):
        assert_close(got, ref, np.float32)
    (xi,) = check_kernel_contract(_inv(shim, wavelet, mode), [ca, ch, cv, cd])
    assert_close(xi, idwt2((ca, (ch, cv, cd)), wavelet, mode), np.float32)


@pytest.mark.parametrize("wavelet", WAVELETS)
def test_dwt_periodization_matches_pywt_on_photos(shim, wavelet):
    pywt = pytest.importorskip("pywt")
    x = np.ascontiguousarray(np.moveaxis(photo_batch(2, 64), -1, 1), dtype=np.float32)
    outs = _fwd(shim, wavelet, "periodization")(x)
    ca, (ch, cv, cd) = pywt.dwt2(x.astype(np.float64), wavelet, mode="periodization")
    for got, ref in zip(outs, (ca, ch, cv, cd), strict=True):
        assert_close(got, ref, np.float32)


@pytest.mark.parametrize("wavelet", WAVELETS)
@pytest.mark.parametrize("mode", MODES)
def test_dwt_float16_io(shim, wavelet, mode):
    x = (RNG.standard_normal((2, 3, 24, 32)) * 20).astype(np.float16)
    outs = check_kernel_contract(
        _fwd(shim, wavelet, mode, "float16"), [x], out_dtypes=["float16"] * 4
    )
    ca, (ch, cv, cd) = dwt2(x, wavelet, mode)  # reference: float32 arithmetic
    for got, ref in zip(outs, (ca, ch, cv, cd), strict=True):
        assert_close(got, ref.astype(np.float16), np.float16)
    (xi,) = _inv(shim, wavelet, mode, "float16")(*outs)
    assert_close(xi, x, np.float16)
