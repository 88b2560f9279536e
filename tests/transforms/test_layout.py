from __future__ import annotations

import numpy as np
import pytest

from freqpipe.transforms import (
    NATURAL_TO_ZIGZAG,
    ZIGZAG_TO_NATURAL,
    InvalidArgumentError,
    ShapeError,
    align_chroma,
    channels_first,
    channels_last,
    natural_to_zigzag,
    split_planes,
    stack_planes,
    subsampling_factors,
    zigzag_to_natural,
)

# conventions §1 (ITU T.81 figure A.6): natural index of zigzag rank 0..63.
# The formatter is told to skip this: typed from the standard, in rows to read against it.
ZIGZAG_TABLE = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34,
    27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44,
    51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]  # fmt: skip


def derived_zigzag() -> list[int]:
    """Walk the anti-diagonals u + v = s, alternating direction: an independent derivation."""
    order = []
    for s in range(15):
        cells = [(v, s - v) for v in range(8) if 0 <= s - v < 8]
        if s % 2 == 0:
            cells.reverse()  # even diagonals go up (v decreasing)
        order += [8 * v + u for v, u in cells]
    return order


def test_zigzag_table_matches_facts_and_derivation():
    assert ZIGZAG_TO_NATURAL.tolist() == ZIGZAG_TABLE == derived_zigzag()
    assert sorted(ZIGZAG_TABLE) == list(range(64))
    assert NATURAL_TO_ZIGZAG[ZIGZAG_TO_NATURAL].tolist() == list(range(64))
    with pytest.raises(ValueError):
        ZIGZAG_TO_NATURAL[0] = 5  # read-only


def test_zigzag_reorder_round_trip():
    c = np.random.default_rng(0).normal(size=(2, 64, 3, 4))
    z = natural_to_zigzag(c)
    np.testing.assert_array_equal(z[:, 2], c[:, 8])
    np.testing.assert_array_equal(zigzag_to_natural(z), c)
    last = np.moveaxis(c, 1, -1)
    np.testing.assert_array_equal(natural_to_zigzag(last, axis=-1), np.moveaxis(z, 1, -1))
    with pytest.raises(ShapeError):
        natural_to_zigzag(np.zeros((63, 2, 2)))


def test_channels_first_last_views():
    plane = np.arange(3 * 5 * 64, dtype=np.int16).reshape(3, 5, 64)
    cf = channels_first(plane)
    assert cf.shape == (64, 3, 5) and np.shares_memory(cf, plane)
    assert cf[7, 2, 4] == plane[2, 4, 7]
    np.testing.assert_array_equal(channels_last(cf), plane)
    with pytest.raises(ShapeError):
        channels_first(np.zeros((3, 5, 63)))


def test_stack_split_round_trip():
    y, cb, cr = (np.full((2, 64, 3, 3), v) for v in (1, 2, 3))
    s = stack_planes(y, cb, cr)
    assert s.shape == (2, 192, 3, 3)
    assert (s[:, :64] == 1).all() and (s[:, 64:128] == 2).all() and (s[:, 128:] == 3).all()
    for a, b in zip(split_planes(s), (y, cb, cr), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ShapeError):
        stack_planes(y, cb[..., :2], cr)
    with pytest.raises(ShapeError):
        split_planes(np.zeros((64, 2, 2)))


@pytest.mark.parametrize(
    ("luma", "chroma", "factors"),
    [
        ((56, 56), (28, 28), (2, 2)),
        ((56, 56), (56, 28), (1, 2)),
        ((3, 5), (2, 3), (2, 2)),
        ((4, 4), (4, 4), (1, 1)),
        ((8, 8), (2, 2), (4, 4)),
    ],
)
def test_subsampling_factors(luma, chroma, factors):
    assert subsampling_factors(luma, chroma) == factors


def test_subsampling_factors_rejects_non_integer():
    with pytest.raises(ShapeError):
        subsampling_factors((10, 10), (6, 5))  # 6 rows cannot cover 10 at any integer factor
    with pytest.raises(ShapeError):
        subsampling_factors((5, 5), (6, 5))  # chroma grid larger than luma


def test_align_chroma_upsample_repeats_blocks():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(64, 3, 5))
    cb, cr = rng.normal(size=(2, 64, 2, 3))
    out = align_chroma(y, cb, cr)
    assert out.shape == (192, 3, 5)
    rep = np.repeat(np.repeat(cb, 2, axis=-2), 2, axis=-1)[:, :3, :5]
    np.testing.assert_array_equal(out[64:128], rep)
    np.testing.assert_array_equal(out[:64], y)
    np.testing.assert_array_equal(
        out[128:], np.repeat(np.repeat(cr, 2, axis=-2), 2, axis=-1)[:, :3, :5]
    )


def test_align_chroma_separate():
    y, c = np.zeros((1, 64, 4, 6)), np.ones((1, 64, 2, 3))
    ya, cbcr = align_chroma(y, c, c, mode="separate")
    assert ya.shape == (1, 64, 4, 6) and cbcr.shape == (1, 128, 2, 3)
    with pytest.raises(InvalidArgumentError):
        align_chroma(y, c, c, mode="nearest")  # type: ignore[arg-type]
    with pytest.raises(ShapeError):
        align_chroma(y, c, c[..., :1])
