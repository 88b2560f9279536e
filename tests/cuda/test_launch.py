"""The shared launch-plan helpers of freqpipe.cuda._launch, on the CPU (no GPU, no CuPy)."""

from __future__ import annotations

import numpy as np
import pytest

from freqpipe.cuda._launch import (
    HostBackend,
    block_crop,
    grid_1d,
    plane_count,
    require_c_contiguous,
)
from freqpipe.cuda.dct import plan_block_dct, plan_block_idct, plan_fused_idct
from freqpipe.cuda.dequant import plan_dequantize
from freqpipe.cuda.dwt import plan_dwt2_level
from freqpipe.errors import ShapeError


@pytest.mark.parametrize(
    "lead, planes", [((), 1), ((5,), 5), ((2, 3), 6), ((0, 4), 0), ((70000, 70000), 4_900_000_000)]
)
def test_plane_count(lead, planes):
    assert plane_count(lead) == planes
    assert isinstance(plane_count(lead), int)


def test_grid_covers_every_thread():
    for n in (0, 1, 127, 128, 129, 10**6):
        (gx, gy, gz), (bx, by, bz) = grid_1d(n)
        assert gx * bx >= n > (gx - 1) * bx or n == gx == 0
        assert (gy, gz, by, bz) == (1, 1, 1, 1)
    assert grid_1d(5, 32, y=8) == ((1, 8, 1), (32, 1, 1))


@pytest.mark.parametrize(
    "size, want", [(None, (24, 32)), ((24, 32), (24, 32)), ((1, 1), (1, 1)), ((17, 30), (17, 30))]
)
def test_block_crop_accepts_crops_of_the_grid(size, want):
    assert block_crop(size, 3, 4, (64, 3, 4)) == want


@pytest.mark.parametrize("size", [(25, 32), (24, 33), (0, 8), (8, 0), (-1, 8)])
def test_block_crop_refuses_what_does_not_fit(size):
    with pytest.raises(ShapeError, match="does not fit a block grid of 3x4"):
        block_crop(size, 3, 4, (64, 3, 4))


def test_require_c_contiguous_names_the_inputs():
    a = np.zeros((4, 6), np.float32)
    require_c_contiguous("inputs", a, a[1:])
    with pytest.raises(ShapeError, match="expected C-contiguous subbands") as info:
        require_c_contiguous("subbands", a, a[:, ::2])
    assert info.value.shape == (4, 3)


def test_plans_refuse_strided_inputs():
    host = HostBackend()
    planes = np.zeros((2, 16, 16), np.float32)
    with pytest.raises(ShapeError, match="C-contiguous"):
        plan_block_dct(host, planes[:, :, ::2])
    with pytest.raises(ShapeError, match="C-contiguous"):
        plan_block_idct(host, np.zeros((64, 2, 4), np.float32)[:, :, ::2])
    with pytest.raises(ShapeError, match="C-contiguous"):
        plan_fused_idct(host, np.zeros((1, 24, 2, 4), np.float32)[..., ::2], "dct24")
    with pytest.raises(ShapeError, match="C-contiguous"):
        plan_dwt2_level(host, planes[:, ::2], "haar", "periodization")
    q = np.zeros((1, 2, 2, 16), np.int16)
    with pytest.raises(ShapeError, match="C-contiguous"):
        plan_dequantize(host, q[..., ::2], np.ones((1, 2), np.float32))


def test_inverse_plans_share_the_crop_rule():
    host = HostBackend()
    with pytest.raises(ShapeError, match="does not fit"):
        plan_block_idct(host, np.zeros((64, 2, 3), np.float32), size=(17, 24))
    with pytest.raises(ShapeError, match="does not fit"):
        plan_fused_idct(host, np.zeros((1, 24, 2, 3), np.float32), "dct24", size=(16, 25))
    (out,), _ = plan_block_idct(host, np.zeros((64, 2, 3), np.float32), size=(15, 20))
    assert out.shape == (15, 20)


@pytest.mark.parametrize("dtype, compute", [("uint8", "float32"), ("float64", "float64")])
def test_plane_plans_geometry(dtype, compute):
    host = HostBackend()
    (coef,), (fwd,) = plan_block_dct(host, np.zeros((2, 3, 17, 9), dtype))
    assert coef.shape == (2, 3, 64, 3, 2) and coef.dtype == compute
    assert fwd.kernel.startswith("fp_plane_dct_") and fwd.grid == grid_1d(2 * 3 * 3 * 2)[0]
    assert [type(v) for v in fwd.args[2:]] == [np.int64, *[np.int32] * 4, np.dtype(compute).type]
    assert [int(v) for v in fwd.args[2:7]] == [6, 17, 9, 3, 2]
    (pix,), (inv,) = plan_block_idct(host, coef, size=(17, 9))
    assert pix.shape == (2, 3, 17, 9) and pix.dtype == compute
    assert [int(v) for v in inv.args[2:7]] == [6, 3, 2, 17, 9]
