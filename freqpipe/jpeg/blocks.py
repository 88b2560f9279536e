"""Quantised coefficient blocks already in memory: windows of records, and the transfer packing.

Both are native (``freqpipe/jpeg/_blocks.c``) and release the GIL, so a loader's worker
threads run them side by side:

- :func:`gather_windows`: one block-aligned window of each whole-image record (a store's
  ``layout="whole"`` records, ``(C, h, w)``) into its batch row, zero where the window leaves
  the record, mirrored exactly when asked (block columns reversed, odd-u channels negated:
  conventions §1), the same windows the coefficient source cuts from a file;
- :func:`pack_dc_ac` / :func:`unpack_dc_ac`: a batch of int16 quantised coefficients as it
  crosses to the device (``FreqLoader(transfer_dtype="int8")``): each component's DC channel
  as int16, the AC channels as int8, and each AC value outside -127..127 as an int16 escape
  (its int8 slot holds -128). :func:`unpack_dc_ac` is the NumPy inverse; the loader's device
  stage has a torch one; both give the int16 batch back exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from freqpipe.errors import InvalidArgumentError, ShapeError
from freqpipe.jpeg._ext import blocks as _blocks

__all__ = ["ESCAPE", "gather_windows", "pack_dc_ac", "unpack_dc_ac"]

#: The int8 value that marks an AC value sent as an escape (-128 itself has no negation).
ESCAPE = -128


def _array(name: str, a: Any, dtype: str, ndim: int | None = None) -> np.ndarray:
    arr = np.ascontiguousarray(a, dtype=dtype)
    if ndim is not None and arr.ndim != ndim:
        raise ShapeError(f"{name} must have {ndim} dimensions, got {arr.shape}", shape=arr.shape)
    return arr


def gather_windows(
    coeffs: np.ndarray,
    offsets: np.ndarray,
    grids: np.ndarray,
    local: Any,
    windows: Any,
    negate: Any,
    out: np.ndarray,
    rows: Any = None,
) -> None:
    """Cut one window of each record into rows of ``out`` (native, GIL released).

    Args:
        coeffs: int8 or int16 (total,): the records back to back, each (C, h, w) row-major.
        offsets: (records + 1,) element offset of each record in ``coeffs``.
        grids: (records, 2) int ``(h, w)`` block grid of each record.
        local: (m,) the record of each window.
        windows: (m, 3) int ``(top, left, hflip)``: the window's corner block (negative, or
            past the record: zero padding there) and whether to mirror it.
        negate: (C,) bool, the channels a mirror negates (odd horizontal frequency).
        out: int8 or int16 (rows, C, n, n), written in place; int8 only from int8 ``coeffs``.
        rows: (m,) the row of ``out`` each window goes to (default 0..m-1).

    Raises:
        ShapeError: arrays of inconsistent shapes.
        InvalidArgumentError: a dtype other than int8 / int16, int16 records into an int8
            ``out``, a record or row out of range, offsets that disagree with the grids.

    Example:
        >>> rec = np.arange(2 * 2 * 3, dtype=np.int16).reshape(2, 2, 3)
        >>> out = np.empty((1, 2, 2, 2), np.int16)
        >>> gather_windows(rec.ravel(), [0, 12], [[2, 3]], [0], [[0, 1, 1]], [False, True], out)
        >>> out[0].tolist()
        [[[2, 1], [5, 4]], [[-8, -7], [-11, -10]]]
    """
    if coeffs.dtype.name not in ("int8", "int16") or out.dtype.name not in ("int8", "int16"):
        raise InvalidArgumentError(
            f"records and batch must be int8 or int16, got {coeffs.dtype} and {out.dtype}"
        )
    if coeffs.dtype.itemsize > out.dtype.itemsize:
        raise InvalidArgumentError("int16 records do not fit an int8 batch")
    if out.ndim != 4 or out.shape[2] != out.shape[3]:
        raise ShapeError(f"out must be (N, C, n, n), got {out.shape}", shape=out.shape)
    c, n = out.shape[1], out.shape[2]
    win = _array("windows", windows, "int64").reshape(-1, 3)
    loc = _array("local", local, "int64", 1)
    row = np.arange(loc.size, dtype=np.int64) if rows is None else _array("rows", rows, "int64", 1)
    neg = _array("negate", negate, "uint8", 1)
    if win.shape[0] != loc.size or row.size != loc.size or neg.size != c:
        raise ShapeError(
            f"{loc.size} records, {win.shape[0]} windows, {row.size} rows and {neg.size} "
            f"negate flags for {c} channels do not match",
            shape=win.shape,
        )
    target = out if out.flags.c_contiguous else np.empty_like(out, order="C")
    try:
        _blocks().gather_windows(
            np.ascontiguousarray(coeffs).reshape(-1),
            coeffs.dtype.itemsize,
            _array("offsets", offsets, "uint64", 1),
            _array("grids", grids, "int32", 2),
            loc,
            win,
            neg,
            target,
            row,
            out.dtype.itemsize,
            c,
            n,
        )
    except ValueError as exc:  # what the native checks found: a record or a row out of range
        raise InvalidArgumentError(str(exc)) from exc
    if target is not out:
        out[row] = target[row]


def pack_dc_ac(
    coefficients: np.ndarray,
    dc: Any,
    dc_out: np.ndarray,
    ac_out: np.ndarray,
    escapes: np.ndarray,
) -> int:
    """Split int16 quantised coefficients into DC int16, AC int8 and escapes (native).

    Args:
        coefficients: int16 (N, C, h, w), C-contiguous.
        dc: (C,) bool: the DC channels (frequency 0 of a component), sent as int16.
        dc_out: int16 (>= N, D, h, w), D = the DC channels, C-contiguous.
        ac_out: int8 (>= N, C - D, h, w), C-contiguous: each AC value, or :data:`ESCAPE`
            where it lies outside -127..127.
        escapes: int16 with room for N (C - D) h w values, C-contiguous: the escaped values
            in row-major order of ``ac_out``.

    Returns:
        The number of escapes written (the first ones of ``escapes``).

    Raises:
        ShapeError: the outputs do not fit the batch.

    Example:
        >>> q = np.array([[[[300]], [[-5]], [[-200]]]], np.int16)
        >>> dc, ac = np.empty((1, 1, 1, 1), np.int16), np.empty((1, 2, 1, 1), np.int8)
        >>> esc = np.empty(2, np.int16)
        >>> m = pack_dc_ac(q, [True, False, False], dc, ac, esc)
        >>> int(dc.ravel()[0]), ac.ravel().tolist(), esc[:m].tolist()
        (300, [-5, -128], [-200])
    """
    flags = _array("dc", dc, "uint8", 1)
    arrays = {"dc_out": dc_out, "ac_out": ac_out, "escapes": escapes}
    if coefficients.dtype != np.int16 or coefficients.ndim != 4:
        raise ShapeError(
            f"coefficients must be int16 (N, C, h, w), got {coefficients.dtype} "
            f"{coefficients.shape}",
            shape=coefficients.shape,
        )
    n, c, h, w = coefficients.shape
    d = int(np.count_nonzero(flags))
    want = {
        "dc_out": ((d, h, w), np.int16),
        "ac_out": ((c - d, h, w), np.int8),
        "escapes": (None, np.int16),
    }
    for name, (shape, dtype) in want.items():
        a = arrays[name]
        if shape is None:
            fits = a.size >= n * (c - d) * h * w
        else:
            fits = a.ndim == 4 and a.shape[0] >= n and a.shape[1:] == shape
        if a.dtype != dtype or not a.flags.c_contiguous or not fits:
            raise ShapeError(f"{name} does not fit {n} samples: {a.dtype} {a.shape}", shape=a.shape)
    if flags.size != c:
        raise ShapeError(f"{flags.size} DC flags for {c} channels", shape=flags.shape)
    return int(
        _blocks().pack_dc_ac(
            np.ascontiguousarray(coefficients), flags, dc_out, ac_out, escapes, n, c, h * w
        )
    )


def unpack_dc_ac(dc_part: Any, ac_part: Any, escapes: Any, dc: Any) -> np.ndarray:
    """The int16 batch that :func:`pack_dc_ac` split (NumPy).

    Args:
        dc_part: int16 (N, D, h, w).
        ac_part: int8 (N, C - D, h, w).
        escapes: int16 (E,): one value per :data:`ESCAPE` of ``ac_part``, in row-major order.
        dc: (C,) bool, the DC channels.

    Returns:
        int16 (N, C, h, w).

    Raises:
        ShapeError: the escapes do not match the escape marks.

    Example:
        >>> unpack_dc_ac(np.full((1, 1, 1, 1), 300, np.int16),
        ...              np.array([[[[-5]], [[-128]]]], np.int8), np.array([-200], np.int16),
        ...              [True, False, False]).ravel().tolist()
        [300, -5, -200]
    """
    ac = np.asarray(ac_part)
    mask = np.asarray(dc, dtype=bool)
    wide = ac.astype(np.int16)
    marks = ac == ESCAPE
    esc = np.asarray(escapes, np.int16)
    if int(np.count_nonzero(marks)) != esc.size:
        raise ShapeError(f"{esc.size} escapes for {int(marks.sum())} marks", shape=esc.shape)
    wide[marks] = esc
    out = np.empty((ac.shape[0], mask.size, *ac.shape[2:]), np.int16)
    out[:, mask] = dc_part
    out[:, ~mask] = wide
    return out
