"""Dequantisation kernel on the CPU through cpu_shim.h, against NumPy and align_chroma."""

from __future__ import annotations

import numpy as np
import pytest

from freqpipe.cuda._launch import HostBackend
from freqpipe.cuda.dequant import plan_dequantize
from freqpipe.errors import ShapeError
from freqpipe.transforms import align_chroma
from tests.cuda.kernel_contract import check_kernel_contract
from tests.tolerances import assert_close

RNG = np.random.default_rng(7)


def _run(shim, *arrays, **kw):
    outs, launches = plan_dequantize(HostBackend(), *arrays, **kw)
    shim("dequant").run(launches)
    return outs


@pytest.mark.parametrize("qdtype", ["int16", "int8"])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("h, w", [(56, 56), (7, 5)])
def test_dequantize_matches_numpy(shim, qdtype, dtype, h, w):
    lo, hi = (-2048, 2048) if qdtype == "int16" else (-128, 128)  # JPEG's 8-bit DCT range
    q = RNG.integers(lo, hi, (4, 6, h, w)).astype(qdtype)
    quant = RNG.integers(1, 60, (4, 6)).astype(np.float32)
    mean, std = RNG.normal(size=6), RNG.uniform(5, 30, 6)
    (out,) = check_kernel_contract(
        lambda a, b: _run(shim, a, b, mean=mean, std=std, dtype=dtype),
        [q, quant],
        out_dtypes=[dtype],
    )
    ref = (q * quant[:, :, None, None].astype(np.float64) - mean[:, None, None]) / std[
        :, None, None
    ]
    assert_close(out, ref.astype(dtype), dtype)
    launch = plan_dequantize(HostBackend(), q, quant, dtype=dtype)[1][0]
    assert launch.kernel.endswith("_v8" if w % 8 == 0 else "_v1")


@pytest.mark.parametrize(
    "luma, chroma_grid", [((8, 16), (4, 8)), ((7, 9), (4, 5)), ((6, 8), (6, 4))]
)
def test_dequantize_chroma_repetition_matches_align_chroma(shim, luma, chroma_grid):
    h, w = luma
    y = RNG.integers(-500, 500, (3, 64, h, w)).astype(np.int16)
    c = RNG.integers(-500, 500, (3, 128, *chroma_grid)).astype(np.int16)
    quant = RNG.integers(1, 99, (3, 192)).astype(np.float32)
    (out,) = check_kernel_contract(
        lambda a, b, q: _run(shim, a, q, chroma=b), [y, c, quant], out_dtypes=["float32"]
    )
    aligned = align_chroma(y, c[:, :64], c[:, 64:]).astype(np.float64)
    assert_close(out, aligned * quant[:, :, None, None], np.float32)


def test_dequantize_rejects_bad_shapes():
    q = np.zeros((2, 3, 4, 4), np.int16)
    with pytest.raises(ShapeError, match="quant"):
        plan_dequantize(HostBackend(), q, np.ones((2, 4), np.float32))
    with pytest.raises(ShapeError, match="subsampling"):
        plan_dequantize(
            HostBackend(), q, np.ones((2, 4), np.float32), chroma=np.zeros((2, 1, 3, 3), np.int16)
        )
