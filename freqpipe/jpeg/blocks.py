"""Quantised coefficient blocks already in memory: windows of records, and the transfer packing.

Both are native (``freqpipe/jpeg/_blocks.c``) and release the GIL, so a loader's worker
threads run them side by side:

- :func:`gather_windows`: one block-aligned window of each whole-image record (a store's
  ``layout="whole"`` records, ``(C, h, w)``) into its batch row, zero where the window leaves
  the record, mirrored exactly when asked (block columns reversed, odd-u channels negated:
  conventions §1), the same windows the coefficient source cuts from a file;
- :func:`pack_planes` / :func:`unpack_planes`: a batch of int16 quantised coefficients as it
  crosses to the device (``FreqLoader(transfer_dtype="int8")``), plane by plane: chroma
  repeated onto the luma grid sent once per repeated pair, DC planes as differences from
  their neighbours, the values bit-packed at each plane's own width (0..16 bits, 8 or fewer
  for nearly every plane of photos) and the values that do not fit escaped into a second
  stream at the plane's widest width.
  :func:`unpack_planes` is the host's inverse, plane by plane; the loader's device stage has a
  batched torch one (:func:`freqpipe.data._outputs.unpack_planes_torch`); both give the int16
  batch back exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from freqpipe.errors import InvalidArgumentError, ShapeError
from freqpipe.jpeg._ext import blocks as _blocks

__all__ = [
    "ESCAPE",
    "PAD",
    "gather_windows",
    "narrow_int16",
    "pack_planes",
    "packed_capacity",
    "plane_layout",
    "unpack_planes",
]

#: Zero bytes after each packed stream: the device reads a value's bits as the three bytes
#: from its first, the host as eight.
PAD = 8


#: The int8 value that stands for an escaped int16 in :func:`narrow_int16`'s output.
ESCAPE = -128


def narrow_int16(values: np.ndarray, narrow: np.ndarray, escapes: np.ndarray) -> int:
    """int16 values as int8 where they fit, the others escaped (native, GIL released).

    Each value in -127..127 is written to ``narrow`` as it is; any other as :data:`ESCAPE`,
    with the value appended to ``escapes``. Widening back: the int8 values as int16, the
    escapes put at the marks in order (the device does it with ``masked_scatter_``).

    Args:
        values: int16, C-contiguous, any shape (read flat).
        narrow: int8 with room for every value.
        escapes: int16 with room for every value.

    Returns:
        How many escapes were written.

    Example:
        >>> v = np.array([3, -200, 127, -128], np.int16)
        >>> n8, esc = np.empty(4, np.int8), np.empty(4, np.int16)
        >>> m = narrow_int16(v, n8, esc)
        >>> n8.tolist(), esc[:m].tolist()
        ([3, -128, 127, -128], [-200, -128])
    """
    src = np.ascontiguousarray(values, dtype=np.int16)
    for name, a, dtype in (("narrow", narrow, np.int8), ("escapes", escapes, np.int16)):
        if a.dtype != dtype or not a.flags.c_contiguous or a.size < src.size:
            raise ShapeError(f"{name} has no room for {src.size} values: {a.dtype} {a.shape}")
    return int(_blocks().narrow_int16(src, narrow, escapes))


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


def packed_capacity(n: int, channels: int, h: int, w: int) -> int:
    """Bytes each of :func:`pack_planes`' two streams may need for N (C, h, w) values.

    Example:
        >>> packed_capacity(2, 3, 4, 4)
        200
    """
    return 2 * n * channels * h * w + PAD


def pack_planes(
    coefficients: np.ndarray, dc: Any, meta: np.ndarray, stream: np.ndarray, escapes: np.ndarray
) -> tuple[int, int]:
    """Pack int16 quantised coefficients plane by plane for the transfer (native, GIL released).

    The format, per plane (one sample's channel, (h, w) values), planes in row-major order of
    (N, C):

    - **repeated lines**: where every line of the plane equals its partner in pairs
      ``2j - phase, 2j + 1 - phase`` (chroma repeated onto the luma grid, at either parity),
      rows and columns alike, one value per pair is coded: ``h // 2 + 1`` rows (or ``w // 2 + 1``
      columns) instead of ``h`` (a pair wholly past the plane repeats its last line);
    - **DC planes** (``dc``) are coded as differences, wrapping in int16, from the left
      neighbour, the first column from the block above, the first block as it is;
    - the coded values go into ``stream`` at one width ``b`` of 0..16 bits, two's complement;
      a value outside ``-(2^(b-1) - 1) .. 2^(b-1) - 1`` is coded ``-2^(b-1)`` (the mark) and
      goes into ``escapes`` at the plane's escape width ``e``: the two's-complement width of
      its widest value. ``b`` is the width of fewest bits (``b`` per value plus ``e`` per
      escape); 0 only for a plane that codes all zeros;
    - both streams are little-endian bit streams, the planes back to back (no byte
      alignment), each followed by :data:`PAD` zero bytes;
    - ``meta[i, c] = (b + 17 * (3 * rows + cols), e)``, ``rows``/``cols``: 0 not repeated,
      1 + the phase of the pairs.

    Args:
        coefficients: int16 (N, C, h, w), C-contiguous.
        dc: (C,) bool, the DC channels (frequency 0 of a component).
        meta: uint8 (>= N, C, 2), C-contiguous: each plane's widths and repetition.
        stream: uint8 with :func:`packed_capacity`'s room: the coded values.
        escapes: uint8 with :func:`packed_capacity`'s room: the escaped values.

    Returns:
        ``(stream bytes, escape bytes)`` written, padding included.

    Raises:
        ShapeError: the outputs do not fit the batch.

    Example:
        >>> q = np.array([[[[300, 300], [300, 300]], [[-5, 0], [1, 2]]]], np.int16)
        >>> room = packed_capacity(1, 2, 2, 2)
        >>> meta = np.empty((1, 2, 2), np.uint8)
        >>> stream, esc = np.empty(room, np.uint8), np.empty(room, np.uint8)
        >>> sizes = pack_planes(q, [True, False], meta, stream, esc)
        >>> meta.tolist(), sizes
        ([[[69, 10], [137, 4]]], (9, 11))
        >>> back = unpack_planes(meta, stream[: sizes[0]], esc[: sizes[1]], [True, False], (2, 2))
        >>> bool((back == q).all())
        True
    """
    flags = _array("dc", dc, "uint8", 1)
    if coefficients.dtype != np.int16 or coefficients.ndim != 4:
        raise ShapeError(
            f"coefficients must be int16 (N, C, h, w), got {coefficients.dtype} "
            f"{coefficients.shape}",
            shape=coefficients.shape,
        )
    n, c, h, w = coefficients.shape
    room = packed_capacity(n, c, h, w)
    for name, a in (("meta", meta), ("stream", stream), ("escapes", escapes)):
        if name == "meta":
            fits = a.ndim == 3 and a.shape[0] >= n and a.shape[1:] == (c, 2)
        else:
            fits = a.size >= room
        if a.dtype != np.uint8 or not a.flags.c_contiguous or not fits:
            raise ShapeError(f"{name} does not fit {n} samples: {a.dtype} {a.shape}", shape=a.shape)
    if flags.size != c:
        raise ShapeError(f"{flags.size} DC flags for {c} channels", shape=flags.shape)
    nbytes, escape_bytes = _blocks().pack_planes(
        np.ascontiguousarray(coefficients), flags, meta, stream, escapes, n, c, h, w
    )
    return int(nbytes), int(escape_bytes)


def plane_layout(meta: Any, h: int, w: int) -> dict[str, Any]:
    """What each plane's ``meta`` says (NumPy or torch integer arrays, (..., 2), alike).

    Returns:
        ``bits`` (the values' width), ``escape_bits``, ``row_code``, ``col_code`` (0, or
        1 + phase), ``rows``, ``cols`` (the coded plane's shape), each of ``meta[..., 0]``'s
        shape.

    Example:
        >>> {k: int(v) for k, v in plane_layout(np.array([69, 10]), 28, 28).items()}
        {'bits': 1, 'escape_bits': 10, 'row_code': 1, 'col_code': 1, 'rows': 15, 'cols': 15}
    """
    first = meta[..., 0]
    code = first // 17
    row_code, col_code = code // 3, code % 3
    return {
        "bits": first % 17,
        "escape_bits": meta[..., 1],
        "row_code": row_code,
        "col_code": col_code,
        "rows": h + (row_code > 0) * (h // 2 + 1 - h),
        "cols": w + (col_code > 0) * (w // 2 + 1 - w),
    }


def unpack_planes(
    meta: Any, stream: Any, escapes: Any, dc: Any, shape: tuple[int, int]
) -> np.ndarray:
    """The int16 batch that :func:`pack_planes` packed (native, plane by plane, GIL released).

    The host's unpack (a CPU device's output stage); the device's is the batched
    :func:`freqpipe.data._outputs.unpack_planes_torch`, and the two agree (tests).

    Args:
        meta: uint8 (N, C, 2).
        stream: uint8 (S,): the coded values (and the padding).
        escapes: uint8 (E,): the escaped values (and the padding).
        dc: (C,) bool, the DC channels.
        shape: ``(h, w)`` of a plane.

    Returns:
        int16 (N, C, h, w).

    Raises:
        ShapeError: the streams do not match the planes' meta.
    """
    m = _array("meta", meta, "uint8", 3)
    flags = _array("dc", dc, "uint8", 1)
    h, w = (int(v) for v in shape)
    n, c = m.shape[:2]
    if flags.size != c or m.shape[2] != 2 or h < 1 or w < 1:
        raise ShapeError(f"{flags.size} DC flags for {m.shape} meta of {h} x {w}", shape=m.shape)
    out = np.empty((n, c, h, w), np.int16)
    try:
        _blocks().unpack_planes(
            m,
            _array("stream", stream, "uint8"),
            _array("escapes", escapes, "uint8"),
            flags,
            out,
            n,
            c,
            h,
            w,
        )
    except ValueError as exc:
        raise ShapeError(str(exc), shape=m.shape) from exc
    return out
