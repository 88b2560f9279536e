"""The native gather (freqpipe.jpeg.gather) against the NumPy reference gather_blocks."""

from __future__ import annotations

import numpy as np
import pytest

from freqpipe.errors import InvalidArgumentError, UnsupportedJpegError
from freqpipe.jpeg import decode_jpeg, gather_coefficients, read_coefficients
from freqpipe.transforms import Selection, gather_blocks
from tests.jpeg.fixtures import encoded_fixtures

FIXTURES = [(n, b) for n, b in encoded_fixtures() if "cmyk" not in n]
PAD = 6


def _aligned_padded(data: bytes) -> list[np.ndarray]:
    """Reference planes: chroma repeated onto the luma grid, cropped to it, zero-padded."""
    c = read_coefficients(data)
    y = c.planes[0]
    hb, wb = y.shape[:2]
    planes = []
    for i in range(3):
        if i >= len(c.planes):
            plane = np.zeros_like(y)
        else:
            (yh, yv), (h, v) = c.sampling[0], c.sampling[i]
            plane = np.repeat(np.repeat(c.planes[i], yv // v, axis=0), yh // h, axis=1)
            plane = plane[:hb, :wb]
        planes.append(np.pad(plane, ((PAD, PAD), (PAD, PAD), (0, 0))))
    return planes


def _windows(hb: int, wb: int, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    out = [(0, 0, hb, wb), (0, 0, 1, 1), (-2, -3, hb + 4, wb + 5), (hb - 1, wb - 1, 3, 2)]
    for _ in range(6):
        h, w = int(rng.integers(1, hb + 4)), int(rng.integers(1, wb + 4))
        top = int(rng.integers(-min(PAD, h), hb + 1))
        left = int(rng.integers(-min(PAD, w), wb + 1))
        out.append((top, left, min(h, hb + 2 * PAD - top - PAD), min(w, wb + 2 * PAD - left - PAD)))
    return [win for win in out if win[2] >= 1 and win[3] >= 1]


@pytest.mark.parametrize(("name", "data"), FIXTURES, ids=[n for n, _ in FIXTURES])
@pytest.mark.parametrize("select", ["all", "dct24", "dct6"])
def test_native_gather_equals_reference(name: str, data: bytes, select: str) -> None:
    ref_planes = _aligned_padded(data)
    dec = decode_jpeg(data)
    hb, wb = dec.grids[0]
    sel = Selection.preset(select)
    rng = np.random.default_rng(len(name))
    for top, left, h, w in _windows(hb, wb, rng):
        for flip in (False, True):
            ref = gather_blocks(
                ref_planes,
                selection=sel,
                top=top + PAD,
                left=left + PAD,
                height=h,
                width=w,
                hflip=flip,
            )
            got, quant = gather_coefficients(
                dec, sel, top=top, left=left, height=h, width=w, hflip=flip
            )
            np.testing.assert_array_equal(got, ref, err_msg=f"{name} {(top, left, h, w, flip)}")
    c = read_coefficients(data)
    ks = sel.per_plane
    expect = np.concatenate(
        [c.quant[i][ks[i]] if i < len(c.planes) else np.ones(ks[i].size) for i in range(3)]
    )
    np.testing.assert_array_equal(quant, expect)


def test_gather_into_batch_slot_and_own_grid_chroma() -> None:
    data = dict(FIXTURES)["pillow-420"]
    c = read_coefficients(data)
    dec = decode_jpeg(data)
    batch = np.full((3, 24, 4, 5), 7, np.int16)
    gather_coefficients(dec, "dct24", top=1, left=2, height=4, width=5, out=batch[1])
    assert (batch[0] == 7).all() and (batch[2] == 7).all()
    ref = gather_blocks(c.planes, selection="dct24", top=1, left=2, height=4, width=5)
    np.testing.assert_array_equal(batch[1], ref)
    # Chroma on its own grid (repeat 1), with padding beyond its bounds.
    out = np.empty((4, 3, 4), np.int16)
    ks = [0, 1, 8, 9]
    dec.gather(1, out, ks, top=3, left=-1, hflip=True, bounds=(5, 6))
    plane = np.pad(c.planes[1][:5, :6], ((0, 3), (1, 0), (0, 0)))
    ref_c = gather_blocks(
        [plane[..., :]], selection=Selection(y=ks), top=3, left=0, height=3, width=4, hflip=True
    )
    np.testing.assert_array_equal(out, ref_c)


def test_gather_validates_its_arguments() -> None:
    dec = decode_jpeg(dict(FIXTURES)["pillow-420"])
    with pytest.raises(InvalidArgumentError):
        dec.gather(0, np.empty((2, 3, 3), np.int32), [0, 1], top=0, left=0)
    with pytest.raises(InvalidArgumentError):
        dec.gather(0, np.empty((3, 3, 3), np.int16), [0, 1], top=0, left=0)
    with pytest.raises(InvalidArgumentError):
        dec.gather(0, np.empty((1, 3, 3), np.int16)[:, :, ::2], [0], top=0, left=0)
    with pytest.raises(InvalidArgumentError):
        dec.gather(5, np.empty((1, 3, 3), np.int16), [0], top=0, left=0)
    with pytest.raises(InvalidArgumentError):
        dec.gather(0, np.empty((1, 3, 3), np.int16), [64], top=0, left=0)


def test_cmyk_is_unsupported() -> None:
    data = dict(encoded_fixtures())["pillow-cmyk"]
    with pytest.raises(UnsupportedJpegError):
        gather_coefficients(data, "dct6", top=0, left=0, height=2, width=2)


def test_decode_jpeg_reports_recovered_damage() -> None:
    # The loader's entry point warns about what libjpeg recovered, as read_coefficients does.
    import warnings as _w

    from freqpipe.errors import CorruptJpegError, CorruptJpegWarning
    from freqpipe.jpeg import decode_jpeg
    from tests.jpeg.fixtures import encoded_fixtures

    data = dict(encoded_fixtures())["pillow-420"]
    cut = data[: len(data) * 2 // 3]
    with pytest.raises(CorruptJpegError):
        decode_jpeg(cut)
    with _w.catch_warnings(record=True) as caught:
        _w.simplefilter("always")
        decode_jpeg(cut, strict=False)
    assert any(issubclass(w.category, CorruptJpegWarning) for w in caught)


@pytest.mark.parametrize(("name", "data"), FIXTURES, ids=[n for n, _ in FIXTURES])
def test_plane_is_the_readers_plane_in_place(name: str, data: bytes) -> None:
    dec, ref = decode_jpeg(data), read_coefficients(data)
    for c, plane in enumerate(ref.planes):
        view = dec.plane(c)
        assert view.shape == (*dec.grids[c], 64) and view.dtype == np.int16
        assert np.array_equal(view, plane)
        assert not view.flags.writeable and not view.flags.owndata  # libjpeg's memory
    with pytest.raises(InvalidArgumentError, match="out of range"):
        dec.plane(len(ref.planes))
