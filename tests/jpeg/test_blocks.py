"""The native block gather and transfer packing (``freqpipe/jpeg/_blocks.c``) bit for bit
against NumPy references: random records, windows inside, across and larger than the record,
flips, both dtypes; packing round trips, escapes at the int8 edges, the torch unpacking."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from freqpipe.data._outputs import unpack_dc_ac_torch
from freqpipe.errors import InvalidArgumentError, ShapeError
from freqpipe.jpeg.blocks import ESCAPE, gather_windows, pack_dc_ac, unpack_dc_ac
from freqpipe.transforms import hflip_dct


def _reference_window(
    rec: np.ndarray, top: int, left: int, flip: bool, n: int, freqs: np.ndarray, dtype: str
) -> np.ndarray:
    """The NumPy window the store read before the native gather: crop, zero pad, then mirror."""
    c, h, w = rec.shape
    dst = np.zeros((c, n, n), dtype)
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + n, h), min(left + n, w)
    if r1 > r0 and c1 > c0:
        dst[:, r0 - top : r1 - top, c0 - left : c1 - left] = rec[:, r0:r1, c0:c1]
    return hflip_dct(dst, frequencies=freqs) if flip else dst


def _records(rng: np.random.Generator, count: int, c: int, dtype: str) -> list[np.ndarray]:
    info = np.iinfo(dtype)
    return [
        rng.integers(info.min, info.max + 1, size=(c, *rng.integers(1, 12, 2)), dtype=dtype)
        for _ in range(count)
    ]


def _sections(records: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    flat = np.concatenate([r.ravel() for r in records])
    offsets = np.concatenate([[0], np.cumsum([r.size for r in records])]).astype(np.uint64)
    grids = np.array([r.shape[1:] for r in records], np.int32)
    return flat, offsets, grids


@pytest.mark.parametrize(("src", "dst"), [("int16", "int16"), ("int8", "int16"), ("int8", "int8")])
@pytest.mark.parametrize("seed", range(4))
def test_gather_equals_the_numpy_window(src: str, dst: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    freqs = rng.integers(0, 64, size=7)
    records = _records(rng, 9, freqs.size, src)
    flat, offsets, grids = _sections(records)
    n = int(rng.integers(1, 10))
    m = 40
    local = rng.integers(0, len(records), m)
    # corners from well before the record to past its end: inside, across an edge, outside
    windows = np.stack(
        [
            [int(rng.integers(-n - 2, grids[j, 0] + 2)) for j in local],
            [int(rng.integers(-n - 2, grids[j, 1] + 2)) for j in local],
            rng.integers(0, 2, m),
        ],
        axis=1,
    )
    rows = rng.permutation(m + 3)[:m]
    out = np.full((m + 3, freqs.size, n, n), 77, dst)
    gather_windows(flat, offsets, grids, local, windows, freqs % 2 == 1, out, rows)
    for i, (j, (top, left, flip)) in enumerate(zip(local, windows)):
        want = _reference_window(records[j], int(top), int(left), bool(flip), n, freqs, dst)
        np.testing.assert_array_equal(out[rows[i]], want)
    untouched = np.setdiff1d(np.arange(m + 3), rows)
    assert (out[untouched] == 77).all()


def test_gather_flip_wraps_like_numpy_at_the_int16_minimum() -> None:
    rec = np.full((1, 2, 2), -32768, np.int16)
    out = np.empty((1, 1, 2, 2), np.int16)
    gather_windows(rec.ravel(), [0, 4], [[2, 2]], [0], [[0, 0, 1]], [True], out)
    np.testing.assert_array_equal(out[0], -rec)  # NumPy's negation wraps too


def test_gather_into_a_strided_out() -> None:
    rec = np.arange(16, dtype=np.int16).reshape(1, 4, 4)
    full = np.zeros((2, 1, 4, 4), np.int16)
    view = full[:, :, :, :]
    strided = np.zeros((2, 1, 4, 8), np.int16)[..., ::2]
    for out in (view, strided):
        gather_windows(rec.ravel(), [0, 16], [[4, 4]], [0], [[0, 0, 0]], [False], out, [1])
        np.testing.assert_array_equal(out[1, 0], rec[0])


def test_gather_refuses_bad_input() -> None:
    rec = np.zeros(4, np.int16)
    out = np.zeros((1, 1, 2, 2), np.int16)
    ok = dict(offsets=[0, 4], grids=[[2, 2]], local=[0], windows=[[0, 0, 0]], negate=[False])
    with pytest.raises(InvalidArgumentError, match="out of range"):
        gather_windows(rec, **{**ok, "local": [1]}, out=out)
    with pytest.raises(InvalidArgumentError, match="out of range"):
        gather_windows(rec, **ok, out=out, rows=[1])
    with pytest.raises(InvalidArgumentError, match="disagree"):
        gather_windows(rec, **{**ok, "grids": [[2, 3]]}, out=out)
    with pytest.raises(InvalidArgumentError, match="int8 batch"):
        gather_windows(rec, **ok, out=out.astype(np.int8))
    with pytest.raises(InvalidArgumentError, match="int8 or int16"):
        gather_windows(rec.astype(np.float32), **ok, out=out)
    with pytest.raises(ShapeError):
        gather_windows(rec, **{**ok, "negate": [False, True]}, out=out)


def _pack(q: np.ndarray, dc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, c, h, w = q.shape
    d = int(dc.sum())
    dc_out = np.empty((n + 1, d, h, w), np.int16)
    ac_out = np.empty((n + 1, c - d, h, w), np.int8)
    esc = np.empty(n * (c - d) * h * w, np.int16)
    m = pack_dc_ac(q, dc, dc_out, ac_out, esc)
    return dc_out[:n], ac_out[:n], esc[:m]


@pytest.mark.parametrize("scale", [1, 60, 130, 20000])
def test_pack_round_trips_exactly(scale: int) -> None:
    rng = np.random.default_rng(scale)
    q = np.clip(rng.normal(0, scale, (5, 9, 3, 4)), -32768, 32767).astype(np.int16)
    q[0, 1, 0, :4] = [-128, -127, 127, 128]  # the int8 edges: -128 is the escape mark itself
    dc = np.zeros(9, bool)
    dc[[0, 4, 6]] = True
    dc_part, ac_part, esc = _pack(q, dc)
    np.testing.assert_array_equal(dc_part, q[:, dc])
    ac = q[:, ~dc]
    fits = (ac >= -127) & (ac <= 127)
    np.testing.assert_array_equal(ac_part[fits], ac[fits])
    assert (ac_part[~fits] == ESCAPE).all()
    np.testing.assert_array_equal(esc, ac[~fits])  # row-major order
    np.testing.assert_array_equal(unpack_dc_ac(dc_part, ac_part, esc, dc), q)
    got = unpack_dc_ac_torch(
        torch.from_numpy(dc_part), torch.from_numpy(ac_part), torch.from_numpy(esc), dc
    )
    assert got.dtype == torch.int16
    np.testing.assert_array_equal(got.numpy(), q)


def test_pack_without_dc_or_without_ac_and_empty() -> None:
    q = np.arange(-300, 300, 25, dtype=np.int16).reshape(2, 3, 2, 2)
    for dc in (np.zeros(3, bool), np.ones(3, bool)):
        np.testing.assert_array_equal(unpack_dc_ac(*_pack(q, dc), dc), q)
    empty = np.empty((0, 3, 2, 2), np.int16)
    dc = np.array([True, False, False])
    assert unpack_dc_ac(*_pack(empty, dc), dc).shape == (0, 3, 2, 2)


def test_pack_refuses_outputs_that_do_not_fit() -> None:
    q = np.zeros((2, 3, 2, 2), np.int16)
    dc = np.array([True, False, False])
    ok = (np.empty((2, 1, 2, 2), np.int16), np.empty((2, 2, 2, 2), np.int8), np.empty(16, np.int16))
    with pytest.raises(ShapeError, match="dc_out"):
        pack_dc_ac(q, dc, np.empty((1, 1, 2, 2), np.int16), *ok[1:])
    with pytest.raises(ShapeError, match="ac_out"):
        pack_dc_ac(q, dc, ok[0], np.empty((2, 2, 2, 2), np.int16), ok[2])
    with pytest.raises(ShapeError, match="escapes"):
        pack_dc_ac(q, dc, *ok[:2], np.empty(15, np.int16))
    with pytest.raises(ShapeError, match="int16"):
        pack_dc_ac(q.astype(np.int8), dc, *ok)
    with pytest.raises(ShapeError, match="escapes for"):
        unpack_dc_ac(ok[0], np.full((2, 2, 2, 2), ESCAPE, np.int8), np.empty(3, np.int16), dc)
