from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from freqpipe.transforms import (
    PRESETS,
    InvalidArgumentError,
    Selection,
    ShapeError,
    align_chroma,
    block_dct,
    channels_first,
    crop_blocks,
    flip_signs,
    gather_blocks,
    hflip_dct,
    vflip_dct,
)
from tests.tolerances import assert_close


def test_flip_signs_follow_facts():
    k = np.arange(64)
    assert (flip_signs(k, horizontal=True) == np.where(k % 8 % 2, -1, 1)).all()
    assert (flip_signs(k, vertical=True) == np.where(k // 8 % 2, -1, 1)).all()
    both = flip_signs(k, horizontal=True, vertical=True)
    assert (both == flip_signs(k, horizontal=True) * flip_signs(k, vertical=True)).all()
    assert (flip_signs(k + 64) == 1).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hflip_vflip_exact_random(dtype):
    x = np.random.default_rng(0).uniform(0, 255, (2, 3, 24, 40)).astype(dtype)
    assert_close(hflip_dct(block_dct(x)), block_dct(x[..., ::-1]), dtype)
    assert_close(vflip_dct(block_dct(x)), block_dct(x[..., ::-1, :]), dtype)


def test_flips_exact_on_photos(photos):
    for rgb in photos:
        h, w = rgb.shape[0] // 8 * 8, rgb.shape[1] // 8 * 8
        y = rgb[:h, :w, 0].astype(np.float64)
        c = block_dct(y)
        assert_close(hflip_dct(c), block_dct(y[:, ::-1]))
        assert_close(vflip_dct(c), block_dct(y[::-1, :]))


def test_flip_channel_last_and_192_and_selected():
    x = np.random.default_rng(1).uniform(0, 255, (3, 16, 24))
    c = block_dct(x)  # (3, 64, 2, 3)
    flat = c.reshape(192, 2, 3)
    ref = block_dct(x[..., ::-1]).reshape(192, 2, 3)
    assert_close(hflip_dct(flat), ref)
    last = np.moveaxis(c, 1, -1)  # (3, 2, 3, 64), the reader layout
    assert_close(hflip_dct(last, channel_axis=-1), np.moveaxis(block_dct(x[..., ::-1]), 1, -1))
    sel = Selection.preset("dct24")
    assert_close(hflip_dct(sel.select(flat), frequencies=sel.frequencies), sel.select(ref))
    with pytest.raises(ShapeError):
        hflip_dct(sel.select(flat))  # 24 channels need frequencies=
    with pytest.raises(InvalidArgumentError):
        hflip_dct(flat, channel_axis=-2)


def test_flip_keeps_integer_dtype():
    c = np.arange(64 * 2 * 2, dtype=np.int16).reshape(64, 2, 2)
    out = hflip_dct(c)
    assert out.dtype == np.int16
    np.testing.assert_array_equal(hflip_dct(out), c)  # an involution


def test_crop_blocks_equals_dct_of_pixel_crop():
    x = np.random.default_rng(2).uniform(0, 255, (40, 56))
    c = block_dct(x)
    assert_close(crop_blocks(c, 1, 2, 3, 4), block_dct(x[8:32, 16:48]))
    last = np.moveaxis(c, 0, -1)
    assert_close(crop_blocks(last, 1, 2, 3, 4, channel_axis=-1), np.moveaxis(c[:, 1:4, 2:6], 0, -1))
    with pytest.raises(ShapeError):
        crop_blocks(c, 3, 0, 3, 1)


def reader_planes(seed: int, grid: tuple[int, int], sub: tuple[int, int]) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    hb, wb = grid
    hc, wc = -(-hb // sub[0]), -(-wb // sub[1])
    return [
        rng.integers(-500, 500, (hb, wb, 64)).astype(np.int16),
        rng.integers(-500, 500, (hc, wc, 64)).astype(np.int16),
        rng.integers(-500, 500, (hc, wc, 64)).astype(np.int16),
    ]


def separate_steps(planes, sel, top, left, height, width, hflip, vflip):
    """Align (upsample), crop, flip and select, one step after the other."""
    y, cb, cr = (channels_first(p) for p in planes)
    full = align_chroma(y, cb, cr, mode="upsample")  # (192, Hb, Wb)
    c = crop_blocks(full, top, left, height, width)
    if hflip:
        c = hflip_dct(c)
    if vflip:
        c = vflip_dct(c)
    return sel.select(c)


@pytest.mark.parametrize("sub", [(1, 1), (2, 2), (1, 2)])
@pytest.mark.parametrize("flips", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("preset", PRESETS)
def test_gather_equals_separate_steps(sub, flips, preset):
    planes = reader_planes(3, (9, 11), sub)
    sel = Selection.preset(preset)
    got = gather_blocks(
        planes, selection=sel, top=1, left=2, height=7, width=8, hflip=flips[0], vflip=flips[1]
    )
    expected = separate_steps(planes, sel, 1, 2, 7, 8, *flips)
    assert got.dtype == np.int16
    np.testing.assert_array_equal(got, expected)


def test_gather_matches_dct_of_flipped_crop():
    # the loader's promise in pixel terms: gather == DCT of the cropped, flipped image
    x = np.random.default_rng(4).uniform(0, 255, (3, 48, 64))
    planes = [np.moveaxis(p, 0, -1) for p in block_dct(x)]  # 4:4:4 reader layout, float32
    sel = Selection.preset("dct48")
    got = gather_blocks(planes, selection=sel, top=1, left=2, height=4, width=5, hflip=True)
    crop = x[:, 8:40, 16:56][..., ::-1]
    assert_close(got, sel.select(block_dct(crop).reshape(192, 4, 5)), np.float32)


def test_gather_out_and_dtype_conversion():
    planes = reader_planes(5, (6, 6), (2, 2))
    sel = Selection.preset("dct24")
    out = np.empty((2, 24, 4, 4), np.float32)
    res = gather_blocks(planes, selection="dct24", top=0, left=1, height=4, width=4, out=out[1])
    assert np.shares_memory(res, out)
    np.testing.assert_array_equal(out[1], separate_steps(planes, sel, 0, 1, 4, 4, False, False))
    same = np.empty((24, 4, 4), np.int16)
    gather_blocks(planes, selection=sel, top=0, left=1, height=4, width=4, hflip=True, out=same)
    np.testing.assert_array_equal(same, separate_steps(planes, sel, 0, 1, 4, 4, True, False))


def test_gather_luma_only_and_errors():
    planes = reader_planes(6, (4, 4), (1, 1))
    y_only = Selection(y=[0, 1, 8])
    got = gather_blocks(planes[:1], selection=y_only, top=0, left=0, height=4, width=4)
    np.testing.assert_array_equal(got, np.moveaxis(planes[0][..., [0, 1, 8]], -1, 0))
    with pytest.raises(ShapeError):
        gather_blocks(planes[:1], selection="dct6", top=0, left=0, height=4, width=4)
    with pytest.raises(ShapeError):
        gather_blocks(planes, selection="dct6", top=1, left=0, height=4, width=4)
    with pytest.raises(ShapeError):
        gather_blocks(
            planes, selection="dct6", top=0, left=0, height=2, width=2, out=np.empty((5, 2, 2))
        )
    with pytest.raises(ShapeError):
        gather_blocks([np.zeros((4, 4, 63))], selection=y_only, top=0, left=0, height=1, width=1)


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    hb=st.integers(1, 10),
    wb=st.integers(1, 10),
    sub=st.sampled_from([(1, 1), (2, 2), (2, 1)]),
    hflip=st.booleans(),
    vflip=st.booleans(),
    preset=st.sampled_from(PRESETS),
)
def test_property_gather(data, hb, wb, sub, hflip, vflip, preset):
    top = data.draw(st.integers(0, hb - 1))
    left = data.draw(st.integers(0, wb - 1))
    height = data.draw(st.integers(1, hb - top))
    width = data.draw(st.integers(1, wb - left))
    planes = reader_planes(hb * 10 + wb, (hb, wb), sub)
    sel = Selection.preset(preset)
    got = gather_blocks(
        planes,
        selection=sel,
        top=top,
        left=left,
        height=height,
        width=width,
        hflip=hflip,
        vflip=vflip,
    )
    assert got.shape == (len(sel), height, width)
    expected = separate_steps(planes, sel, top, left, height, width, hflip, vflip)
    np.testing.assert_array_equal(got, expected)
