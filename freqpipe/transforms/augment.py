"""Exact augmentations in the DCT domain: flips, block-aligned crops, and the fused gather.

A horizontal flip of the image is, in the DCT domain, the block columns reversed and every
coefficient with odd horizontal frequency u (``k % 8`` odd) negated; a vertical flip reverses
the block rows and negates odd v (``k // 8`` odd), conventions §1. Both are exact: they commute with
:func:`~freqpipe.transforms.block_dct` up to float rounding, for images whose size is a multiple
of 8. Crops on the block grid are exact by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from freqpipe.errors import InvalidArgumentError, ShapeError
from freqpipe.transforms._xp import array_namespace
from freqpipe.transforms.layout import subsampling_factors
from freqpipe.transforms.selection import Selection

__all__ = ["crop_blocks", "flip_signs", "gather_blocks", "hflip_dct", "vflip_dct"]


def _axes(ndim: int, channel_axis: int) -> tuple[int, int, int]:
    """Return (channel, block row, block col) axes, as non-negative ints."""
    if channel_axis in (-3, ndim - 3):
        ch, row, col = ndim - 3, ndim - 2, ndim - 1
    elif channel_axis in (-1, ndim - 1):
        ch, row, col = ndim - 1, ndim - 3, ndim - 2
    else:
        raise InvalidArgumentError(
            f"channel_axis must be -3 for (..., C, Hb, Wb) or -1 for (..., Hb, Wb, C), "
            f"got {channel_axis}",
            value=channel_axis,
        )
    if ndim < 3:
        raise ShapeError(f"expected at least 3 dimensions, got {ndim}")
    return ch, row, col


def flip_signs(frequencies: Any, *, horizontal: bool = False, vertical: bool = False) -> np.ndarray:
    """Return the +-1 factor of each natural-order frequency under a flip (conventions §1).

    Args:
        frequencies: natural-order indices ``k = 8 v + u`` (values 0..63, or flat 0..191 which
            are taken modulo 64).
        horizontal: a horizontal flip negates odd u.
        vertical: a vertical flip negates odd v.

    Returns:
        int8 array of +1 / -1, one per frequency.

    Example:
        >>> flip_signs([0, 1, 8, 9], horizontal=True).tolist()
        [1, -1, 1, -1]
    """
    k = np.asarray(frequencies, dtype=np.int64) % 64
    odd = np.zeros(k.shape, dtype=bool)
    if horizontal:
        odd ^= (k % 8) % 2 == 1
    if vertical:
        odd ^= (k // 8) % 2 == 1
    return np.where(odd, -1, 1).astype(np.int8)


def _flip(c: Any, channel_axis: int, frequencies: Any, horizontal: bool) -> Any:
    xp = array_namespace(c)
    c = xp.asarray(c)
    ch, row, col = _axes(c.ndim, channel_axis)
    if frequencies is None:
        if c.shape[ch] not in (64, 192):
            raise ShapeError(
                f"expected 64 or 192 channels on axis {channel_axis} (or pass frequencies=), "
                f"got {tuple(c.shape)}",
                shape=c.shape,
            )
        frequencies = np.arange(c.shape[ch])
    freqs = np.asarray(frequencies)
    if freqs.shape != (c.shape[ch],):
        raise ShapeError(
            f"{freqs.size} frequencies given for {c.shape[ch]} channels", shape=c.shape
        )
    sign = flip_signs(freqs, horizontal=horizontal, vertical=not horizontal)
    shape = [1] * c.ndim
    shape[ch] = -1
    sign_x = xp.asarray(sign.reshape(shape)).astype(c.dtype)
    return xp.flip(c, axis=col if horizontal else row) * sign_x


def hflip_dct(c: Any, *, channel_axis: int = -3, frequencies: Any = None) -> Any:
    """Flip an image horizontally in the DCT domain, exactly (conventions §1).

    Args:
        c: block coefficients, (..., C, Hb, Wb) or (..., Hb, Wb, C) with ``channel_axis=-1``;
            C = 64 (one plane), 192 (Y, Cb, Cr stack), or any C with ``frequencies``. Any
            signed dtype; NumPy or CuPy.
        channel_axis: -3 (channel first) or -1 (channel last, the JPEG reader's layout).
        frequencies: natural-order k of each channel (e.g. ``Selection.frequencies`` for a
            selected array); default ``arange(C) % 64``.

    Returns:
        A new array of the same shape and dtype: block columns reversed, odd-u negated.

    Raises:
        ShapeError: C does not match the frequencies.
        InvalidArgumentError: ``channel_axis`` is not -3 or -1.

    Example:
        >>> c = np.zeros((64, 1, 2), np.int16); c[1, 0, 0] = 5
        >>> hflip_dct(c)[1].tolist()
        [[0, -5]]
    """
    return _flip(c, channel_axis, frequencies, True)


def vflip_dct(c: Any, *, channel_axis: int = -3, frequencies: Any = None) -> Any:
    """Flip an image vertically in the DCT domain, exactly (conventions §1).

    Args:
        c: block coefficients, as for :func:`hflip_dct`.
        channel_axis: -3 (channel first) or -1 (channel last).
        frequencies: natural-order k of each channel; default ``arange(C) % 64``.

    Returns:
        A new array of the same shape and dtype: block rows reversed, odd-v negated.

    Raises:
        ShapeError: C does not match the frequencies.
        InvalidArgumentError: ``channel_axis`` is not -3 or -1.

    Example:
        >>> c = np.zeros((64, 2, 1), np.int16); c[8, 0, 0] = 5
        >>> vflip_dct(c)[8, :, 0].tolist()
        [0, -5]
    """
    return _flip(c, channel_axis, frequencies, False)


def _check_window(grid: Sequence[int], top: int, left: int, height: int, width: int) -> None:
    hb, wb = grid
    if height < 1 or width < 1 or top < 0 or left < 0 or top + height > hb or left + width > wb:
        raise ShapeError(
            f"crop (top={top}, left={left}, height={height}, width={width}) blocks does not "
            f"fit the {hb}x{wb} block grid",
            shape=tuple(grid),
        )


def crop_blocks(
    c: Any, top: int, left: int, height: int, width: int, *, channel_axis: int = -3
) -> Any:
    """Crop on the block grid (a crop of the image at multiples of 8 pixels).

    Args:
        c: block coefficients (..., C, Hb, Wb) or (..., Hb, Wb, C) with ``channel_axis=-1``.
        top: first block row kept.
        left: first block column kept.
        height: number of block rows kept.
        width: number of block columns kept.
        channel_axis: -3 or -1.

    Returns:
        A view of ``c`` with ``height x width`` blocks.

    Raises:
        ShapeError: the window does not fit the grid.

    Example:
        >>> crop_blocks(np.zeros((64, 10, 12)), 2, 3, 4, 5).shape
        (64, 4, 5)
    """
    xp = array_namespace(c)
    c = xp.asarray(c)
    _, row, col = _axes(c.ndim, channel_axis)
    _check_window((c.shape[row], c.shape[col]), top, left, height, width)
    index: list[Any] = [slice(None)] * c.ndim
    index[row] = slice(top, top + height)
    index[col] = slice(left, left + width)
    return c[tuple(index)]


def gather_blocks(
    planes: Sequence[Any],
    *,
    selection: Selection | str,
    top: int,
    left: int,
    height: int,
    width: int,
    hflip: bool = False,
    vflip: bool = False,
    out: Any = None,
) -> Any:
    """Crop, flip and select JPEG reader planes into model channels in one gather.

    The planes are the JPEG reader's per-component coefficients, (Hb, Wb, 64) each, in
    natural order (``JpegCoefficients.planes``). Chroma planes may be subsampled: each is
    aligned to the Y block grid by repetition (``align_chroma(mode="upsample")``, factors
    inferred from the grids). For every plane one fancy-index ``take`` reads exactly the
    selected coefficients of the window's blocks, in flipped order when asked; the odd
    frequencies are then negated in place on the (small) output. The result equals
    ``select(flip(crop(align(planes))))`` done step by step, without the intermediates.

    Args:
        planes: ``(Y,)`` or ``(Y, Cb, Cr)`` arrays (Hb, Wb, 64), any dtype (int16 from the
            reader, or dequantised float32); NumPy or CuPy.
        selection: which channels (a :class:`Selection` or a preset name).
        top: first block row of the window, in Y blocks.
        left: first block column of the window, in Y blocks.
        height: block rows of the window.
        width: block columns of the window.
        hflip: flip the window horizontally (exactly, conventions §1).
        vflip: flip the window vertically.
        out: optional (len(selection), height, width) array to write into (e.g. a slot of a
            pinned batch); its dtype wins.

    Returns:
        (len(selection), height, width) array, channels Y, Cb, Cr as in ``selection``; the
        planes' dtype, or ``out``.

    Raises:
        ShapeError: planes not (Hb, Wb, 64), a selected plane missing, the window outside the
            Y grid, or ``out`` of the wrong shape.

    Example:
        >>> y = np.arange(4 * 6 * 64, dtype=np.int16).reshape(4, 6, 64)
        >>> c = np.zeros((2, 3, 64), np.int16)
        >>> g = gather_blocks([y, c, c], selection="dct6", top=1, left=2, height=2, width=3)
        >>> g.shape, g.dtype.name, int(g[0, 0, 0]) == int(y[1, 2, 0])
        ((6, 2, 3), 'int16', True)
    """
    sel = Selection.from_spec(selection)
    if len(planes) not in (1, 3):
        raise ShapeError(f"expected 1 (Y) or 3 (Y, Cb, Cr) planes, got {len(planes)}")
    xp = array_namespace(planes[0])
    arrs = [xp.asarray(p) for p in planes]
    for i, p in enumerate(arrs):
        if p.ndim != 3 or p.shape[-1] != 64:
            raise ShapeError(
                f"plane {i}: expected (Hb, Wb, 64), got {tuple(p.shape)}", shape=p.shape
            )
    y_grid = arrs[0].shape[:2]
    _check_window(y_grid, top, left, height, width)
    n = len(sel)
    if out is None:
        out = xp.empty((n, height, width), dtype=arrs[0].dtype)
    elif tuple(out.shape) != (n, height, width):
        raise ShapeError(
            f"out must have shape {(n, height, width)}, got {tuple(out.shape)}", shape=out.shape
        )
    rows = np.arange(top, top + height)
    cols = np.arange(left, left + width)
    if vflip:
        rows = rows[::-1]
    if hflip:
        cols = cols[::-1]
    start = 0
    for i, ks in enumerate(sel.per_plane):
        if ks.size == 0:
            continue
        if i >= len(arrs):
            raise ShapeError(f"selection uses plane {i} but only {len(arrs)} plane(s) given")
        plane = arrs[i]
        fv, fh = subsampling_factors(y_grid, plane.shape[:2])
        base = (rows[:, None] // fv) * plane.shape[1] + (cols[None, :] // fh)
        idx = xp.asarray(base[None, :, :] * 64 + ks[:, None, None])
        dst = out[start : start + ks.size]
        flat = plane.reshape(-1)
        if dst.dtype == flat.dtype:
            xp.take(flat, idx, out=dst)
        else:
            dst[...] = xp.take(flat, idx)
        if hflip or vflip:
            neg = np.flatnonzero(flip_signs(ks, horizontal=hflip, vertical=vflip) < 0)
            if neg.size:
                neg_x = xp.asarray(neg)
                dst[neg_x] = -dst[neg_x]
        start += ks.size
    return out
