"""The native block gather and transfer packing (``freqpipe/jpeg/_blocks.c``) bit for bit
against NumPy references: random records, windows inside, across and larger than the record,
flips, both dtypes; packing round trips, escapes at the int8 edges, the torch unpacking."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from freqpipe.data._outputs import unpack_planes_torch
from freqpipe.errors import InvalidArgumentError, ShapeError
from freqpipe.jpeg.blocks import (
    PAD,
    gather_windows,
    pack_planes,
    packed_capacity,
    plane_layout,
    unpack_planes,
)
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
    room = packed_capacity(n, c, h, w)
    meta = np.empty((n + 1, c, 2), np.uint8)
    stream, esc = np.empty(room, np.uint8), np.empty(room, np.uint8)
    nbytes, escape_bytes = pack_planes(q, dc, meta, stream, esc)
    return meta[:n], stream[:nbytes], esc[:escape_bytes]


def _both(parts: tuple[np.ndarray, ...], dc: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The host's unpack, checked equal to the device's (torch on CPU tensors)."""
    host = unpack_planes(*parts, dc, shape)
    got = unpack_planes_torch(
        *(torch.from_numpy(np.ascontiguousarray(p)) for p in parts), dc, shape
    )
    assert got.dtype == torch.int16
    np.testing.assert_array_equal(got.numpy(), host)
    return host


def _repeated(plane: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``plane`` with its lines repeated in pairs at phases ``rows``/``cols`` (0 or 1; -1: not)."""
    h, w = plane.shape
    out = plane
    if rows >= 0:
        out = np.repeat(out[: h // 2 + 1], 2, axis=0)[rows : rows + h]
    if cols >= 0:
        out = np.repeat(out[:, : w // 2 + 1], 2, axis=1)[:, cols : cols + w]
    return out


@pytest.mark.parametrize("scale", [0, 1, 60, 130, 20000])
@pytest.mark.parametrize("shape", [(3, 4), (5, 5), (1, 1), (2, 7), (28, 28), (15, 14)])
def test_pack_round_trips_exactly(scale: int, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(scale)
    q = np.clip(rng.normal(0, scale, (5, 9, *shape)), -32768, 32767).astype(np.int16)
    q[0, 1].flat[:4] = [-32768, 32767, -128, 127][: q[0, 1].size]  # int16's and int8's edges
    q[2, 5].flat[0] = -32768  # an escape of the widest width
    for i, (rows, cols) in enumerate(((0, 0), (1, 1), (0, 1), (1, -1), (-1, 0))):
        q[1 + i % 4, 2 + i] = _repeated(q[1 + i % 4, 2 + i], rows, cols)  # repeated chroma
    dc = np.zeros(9, bool)
    dc[[0, 4, 6]] = True
    parts = _pack(q, dc)
    np.testing.assert_array_equal(_both(parts, dc, shape), q)


def test_repeated_lines_and_differences_shrink_the_stream() -> None:
    rng = np.random.default_rng(3)
    base = rng.integers(-40, 40, (2, 1, 28, 28)).astype(np.int16)
    chroma = base.copy()
    chroma[0, 0] = _repeated(base[0, 0], 1, 0)  # a 4:2:0 window at an odd row offset
    chroma[1, 0] = _repeated(base[1, 0], 0, 1)
    dc = np.zeros(1, bool)
    full, half = _pack(base, dc), _pack(chroma, dc)
    lay = plane_layout(half[0].astype(np.int64), 28, 28)
    assert lay["row_code"].tolist() == [[2], [1]] and lay["col_code"].tolist() == [[1], [2]]
    assert (lay["rows"] == 15).all() and (lay["cols"] == 15).all()
    assert half[1].size < 0.35 * full[1].size
    np.testing.assert_array_equal(_both(half, dc, (28, 28)), chroma)
    ramp = (400 + np.cumsum(rng.integers(-3, 4, (1, 1, 28, 28)), axis=3)).astype(np.int16)
    as_dc, as_ac = _pack(ramp, np.ones(1, bool)), _pack(ramp, dc)
    assert int(plane_layout(as_dc[0].astype(np.int64), 28, 28)["bits"][0, 0]) <= 5
    assert as_dc[1].size < as_ac[1].size / 2  # a smooth DC plane: small differences
    np.testing.assert_array_equal(_both(as_dc, np.ones(1, bool), (28, 28)), ramp)


def test_pack_without_dc_or_all_dc_and_empty() -> None:
    q = np.arange(-300, 300, 25, dtype=np.int16).reshape(2, 3, 2, 2)
    for dc in (np.zeros(3, bool), np.ones(3, bool)):
        np.testing.assert_array_equal(_both(_pack(q, dc), dc, (2, 2)), q)
    empty = np.empty((0, 3, 2, 2), np.int16)
    dc = np.array([True, False, False])
    assert _both(_pack(empty, dc), dc, (2, 2)).shape == (0, 3, 2, 2)
    zeros = np.zeros((1, 3, 4, 4), np.int16)  # grayscale chroma: width 0, no bytes
    meta, stream, esc = _pack(zeros, dc)
    assert (plane_layout(meta.astype(np.int64), 4, 4)["bits"] == 0).all()
    assert stream.size == esc.size == PAD


def test_pack_refuses_outputs_that_do_not_fit() -> None:
    q = np.zeros((2, 3, 2, 2), np.int16)
    dc = np.array([True, False, False])
    room = packed_capacity(2, 3, 2, 2)
    ok = (np.empty((2, 3, 2), np.uint8), np.empty(room, np.uint8), np.empty(room, np.uint8))
    with pytest.raises(ShapeError, match="meta"):
        pack_planes(q, dc, np.empty((1, 3, 2), np.uint8), *ok[1:])
    with pytest.raises(ShapeError, match="stream"):
        pack_planes(q, dc, ok[0], np.empty(room - 1, np.uint8), ok[2])
    with pytest.raises(ShapeError, match="escapes"):
        pack_planes(q, dc, *ok[:2], np.empty(room, np.int16))
    with pytest.raises(ShapeError, match="int16"):
        pack_planes(q.astype(np.int8), dc, *ok)
    sparse = np.zeros((2, 3, 2, 2), np.int16)
    sparse[:, :, 0, 1] = 5000  # one wide value a plane: an escape each, 14 bits wide
    meta, stream, esc = _pack(sparse, np.zeros(3, bool))
    assert (meta[..., 1] == 14).all() and esc.size == (6 * 14 + 7) // 8 + PAD
    with pytest.raises(ShapeError, match="escapes"):
        unpack_planes(meta, stream, esc[:2], dc, (2, 2))
    with pytest.raises(ShapeError, match="stream"):
        unpack_planes(np.full((2, 3, 2), 16, np.uint8), stream[:3], esc, dc, (2, 2))
