from __future__ import annotations

import numpy as np
import pytest
import scipy.fft
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from freqpipe.transforms import DTypeError, ShapeError, block_dct, block_idct, dct_matrix
from tests.tolerances import assert_close


def ref_block_dct(x: np.ndarray, shift: float = 128.0) -> np.ndarray:
    """scipy.fft.dctn(norm="ortho") per 8x8 block of the edge-padded array, float64."""
    *lead, h, w = x.shape
    ph, pw = -h % 8, -w % 8
    x = np.pad(x.astype(np.float64), [(0, 0)] * len(lead) + [(0, ph), (0, pw)], mode="edge")
    hb, wb = x.shape[-2] // 8, x.shape[-1] // 8
    blocks = (x - shift).reshape(*lead, hb, 8, wb, 8)
    blocks = np.moveaxis(blocks, -3, -2)  # (..., hb, wb, 8, 8)
    coef = scipy.fft.dctn(blocks, axes=(-2, -1), norm="ortho")  # (..., hb, wb, v, u)
    coef = coef.reshape(*lead, hb, wb, 64)
    return np.moveaxis(coef, -1, -3)


def test_dct_matrix_is_scipy_dct_of_identity():
    m = dct_matrix()
    assert_close(m, scipy.fft.dct(np.eye(8), norm="ortho", axis=0))
    assert_close(m @ m.T, np.eye(8))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(8, 8), (3, 16, 24), (2, 3, 40, 32)])
def test_matches_scipy_per_block(dtype, shape):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, shape).astype(dtype)
    out = block_dct(x)
    assert out.shape == (*shape[:-2], 64, shape[-2] // 8, shape[-1] // 8)
    expected_dtype = np.float64 if dtype == np.float64 else np.float32
    assert out.dtype == expected_dtype
    assert_close(out, ref_block_dct(x), expected_dtype)


def test_channel_is_natural_order():
    x = np.zeros((8, 8))
    x[:, :] = np.cos((2 * np.arange(8) + 1) * 1 * np.pi / 16)[None, :]  # u = 1, v = 0
    c = block_dct(x, level_shift=0.0)[:, 0, 0]
    assert np.argmax(np.abs(c)) == 1  # k = 8 v + u = 1
    x = x.T.copy()  # v = 1, u = 0
    assert np.argmax(np.abs(block_dct(x, level_shift=0.0)[:, 0, 0])) == 8


def test_dc_is_eight_times_mean_minus_128():
    x = np.random.default_rng(1).integers(0, 256, (16, 16)).astype(np.float64)
    dc = block_dct(x)[0]
    means = x.reshape(2, 8, 2, 8).mean(axis=(1, 3))
    assert_close(dc, 8 * (means - 128))


def test_uint8_equals_float32():
    x = np.random.default_rng(2).integers(0, 256, (24, 32), dtype=np.uint8)
    np.testing.assert_array_equal(block_dct(x), block_dct(x.astype(np.float32)))


@pytest.mark.parametrize("shape", [(13, 21), (2, 9, 8), (1, 1), (7, 30)])
def test_not_multiple_of_8_pads_by_edge_and_inverse_crops(shape):
    x = np.random.default_rng(3).uniform(0, 255, shape)
    c = block_dct(x)
    assert c.shape[-2:] == (-(-shape[-2] // 8), -(-shape[-1] // 8))
    assert_close(c, ref_block_dct(x))
    assert_close(block_idct(c, size=shape[-2:]), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip(dtype):
    x = np.random.default_rng(4).uniform(0, 255, (2, 3, 32, 48)).astype(dtype)
    y = block_idct(block_dct(x))
    assert y.dtype == dtype
    assert_close(y, x, dtype)


def test_level_shift_zero_and_custom():
    x = np.random.default_rng(5).uniform(-1, 1, (16, 16))
    assert_close(block_dct(x, level_shift=0.0), ref_block_dct(x, 0.0))
    assert_close(block_idct(block_dct(x, level_shift=0.5), level_shift=0.5), x)


def test_photos_match_scipy_and_round_trip(photos):
    for rgb in photos:
        h, w = rgb.shape[0] // 8 * 8, rgb.shape[1] // 8 * 8
        planes = np.moveaxis(rgb[:h, :w], -1, 0)  # (3, H, W) uint8
        c = block_dct(planes)
        assert_close(c, ref_block_dct(planes), np.float32)
        assert_close(block_idct(c), planes.astype(np.float64), np.float32)
        c64 = block_dct(planes.astype(np.float64))
        assert_close(block_idct(c64), planes.astype(np.float64))


def test_idct_of_dequantised_int16():
    c = np.zeros((64, 1, 1), np.int16)
    c[0] = 80  # DC 80 -> block mean 128 + 10
    assert_close(block_idct(c), np.full((8, 8), 138.0), np.float32)


def test_torch_cpu_in_torch_out():
    x = torch.arange(256, dtype=torch.float32).reshape(16, 16)
    c = block_dct(x)
    assert isinstance(c, torch.Tensor) and c.shape == (64, 2, 2)
    assert_close(c, block_dct(x.numpy()))
    back = block_idct(c)
    assert isinstance(back, torch.Tensor)
    assert_close(back, x)


def test_input_not_modified():
    x = np.random.default_rng(6).uniform(0, 255, (16, 16))
    copy = x.copy()
    block_idct(block_dct(x))
    np.testing.assert_array_equal(x, copy)


def test_errors():
    with pytest.raises(ShapeError):
        block_dct(np.zeros(8))
    with pytest.raises(ShapeError):
        block_dct(np.zeros((0, 8)))
    with pytest.raises(DTypeError):
        block_dct(np.zeros((8, 8), np.complex64))
    with pytest.raises(ShapeError) as exc:
        block_idct(np.zeros((63, 2, 2)))
    assert "64" in str(exc.value)
    with pytest.raises(ShapeError):
        block_idct(np.zeros((64, 2, 2)), size=(17, 8))


@settings(max_examples=30, deadline=None)
@given(
    lead=st.lists(st.integers(1, 3), max_size=2),
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    dtype=st.sampled_from([np.uint8, np.float32, np.float64]),
)
def test_property_shapes_and_round_trip(lead, h, w, dtype):
    rng = np.random.default_rng(h * 41 + w)
    x = rng.integers(0, 256, (*lead, h, w)).astype(dtype)
    c = block_dct(x)
    assert c.shape == (*lead, 64, -(-h // 8), -(-w // 8))
    out_dtype = np.float64 if dtype == np.float64 else np.float32
    assert c.dtype == out_dtype
    assert_close(block_idct(c, size=(h, w)), x.astype(np.float64), out_dtype)
