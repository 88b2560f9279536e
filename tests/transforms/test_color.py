from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from freqpipe.errors import FreqpipeError
from freqpipe.transforms import DTypeError, ShapeError, rgb_to_ycbcr, ycbcr_to_rgb
from tests.tolerances import assert_close


def ref_rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """conventions §2 written out, channel last, float64."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    return np.stack([y, cb, cr], -1)


def ref_ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    y, cb, cr = (ycc[..., i].astype(np.float64) for i in range(3))
    r = y + 1.402 * (cr - 128)
    g = y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128)
    b = y + 1.772 * (cb - 128)
    return np.stack([r, g, b], -1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_matches_facts_formula(dtype):
    rgb = np.random.default_rng(0).uniform(0, 255, (2, 5, 7, 3)).astype(dtype)
    out = rgb_to_ycbcr(rgb, channel_axis=-1)
    assert out.dtype == dtype
    assert_close(out, ref_rgb_to_ycbcr(rgb), dtype)
    back = ycbcr_to_rgb(out, channel_axis=-1)
    assert_close(back, ref_ycbcr_to_rgb(out), dtype)


def test_channel_first_equals_channel_last():
    rgb = np.random.default_rng(1).integers(0, 256, (4, 6, 3), dtype=np.uint8)
    chw = np.moveaxis(rgb, -1, 0)
    np.testing.assert_array_equal(
        np.moveaxis(rgb_to_ycbcr(chw), 0, -1), rgb_to_ycbcr(rgb, channel_axis=-1)
    )


def test_uint8_rounds_and_clips():
    rgb = np.random.default_rng(2).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    out = rgb_to_ycbcr(rgb, channel_axis=-1)
    assert out.dtype == np.uint8
    ref = np.clip(np.rint(ref_rgb_to_ycbcr(rgb)), 0, 255)
    assert np.abs(out.astype(int) - ref).max() <= 1  # float32 vs float64 at .5 ties
    assert ycbcr_to_rgb(np.array([[[255]], [[0]], [[255]]], np.uint8)).max() == 255


def test_float_not_clipped():
    ycc = np.array([[[255.0]], [[0.0]], [[255.0]]])
    assert ycbcr_to_rgb(ycc).max() > 255


def test_uint8_matches_pillow_within_one(sample_photos):
    # Pillow's RGB -> YCbCr is libjpeg-style fixed point JFIF: conventions §2 allows +-1 LSB.
    rgb = sample_photos[0][:64, :64]
    ours = rgb_to_ycbcr(rgb, channel_axis=-1).astype(int)
    pil = np.asarray(Image.fromarray(rgb).convert("YCbCr")).astype(int)
    assert np.abs(ours - pil).max() <= 1


def test_round_trip_photo(sample_photos):
    rgb = sample_photos[1].astype(np.float64)
    back = ycbcr_to_rgb(rgb_to_ycbcr(rgb, channel_axis=-1), channel_axis=-1)
    # The constants of conventions §2 have six digits: the two matrices are inverse to ~2e-7, so
    # the round trip is held to the float32 row of the table even in float64.
    assert_close(back, rgb, np.float32)
    u8 = sample_photos[1]
    back = ycbcr_to_rgb(rgb_to_ycbcr(u8, channel_axis=-1), channel_axis=-1)
    assert np.abs(back.astype(int) - u8).max() <= 3  # two roundings


def test_input_not_modified():
    rgb = np.random.default_rng(3).uniform(0, 255, (3, 4, 4))
    copy = rgb.copy()
    rgb_to_ycbcr(rgb)
    np.testing.assert_array_equal(rgb, copy)


def test_errors():
    with pytest.raises(ShapeError) as exc:
        rgb_to_ycbcr(np.zeros((4, 4, 3)))  # channel axis -3 has size 4
    assert isinstance(exc.value, FreqpipeError) and isinstance(exc.value, ValueError)
    assert "channel_axis=-1" in str(exc.value)
    with pytest.raises(DTypeError):
        rgb_to_ycbcr(np.zeros((3, 4, 4), np.int16))
    with pytest.raises(ShapeError):
        ycbcr_to_rgb(np.zeros(3), channel_axis=-3)


@settings(max_examples=25, deadline=None)
@given(
    hnp.arrays(
        st.sampled_from([np.uint8, np.float32, np.float64]),
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=5).map(lambda s: (*s, 3)),
        elements=st.integers(0, 255),
    )
)
def test_property_shape_dtype(x):
    y = rgb_to_ycbcr(x, channel_axis=-1)
    assert y.shape == x.shape and y.dtype == x.dtype
    if x.dtype != np.uint8:
        assert_close(ycbcr_to_rgb(y, channel_axis=-1), x, np.float32)
