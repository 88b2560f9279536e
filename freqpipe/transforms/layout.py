"""Coefficient layouts: zigzag order, plane stacking, chroma alignment (conventions §1, §3).

Two layouts of the 64 coefficients of a plane appear in freqpipe:

* channel-first ``(..., 64, Hb, Wb)``: what :func:`~freqpipe.transforms.block_dct` returns and
  models take;
* channel-last ``(Hb, Wb, 64)``: what the JPEG reader returns per component (``c.planes``).

Both use natural order ``k = 8 v + u``. The flat 192-channel stack is Y (0..63), Cb (64..127),
Cr (128..191).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from freqpipe.errors import InvalidArgumentError, ShapeError
from freqpipe.transforms._xp import array_namespace

__all__ = [
    "NATURAL_TO_ZIGZAG",
    "ZIGZAG_TO_NATURAL",
    "align_chroma",
    "channels_first",
    "channels_last",
    "natural_to_zigzag",
    "split_planes",
    "stack_planes",
    "subsampling_factors",
    "zigzag_to_natural",
]

#: Natural index of zigzag rank 0..63 (conventions §1, ITU T.81 figure A.6).
# The formatter is told to skip this: the standard's table, kept in rows to read against
# it (one value a line otherwise).
ZIGZAG_TO_NATURAL: np.ndarray = np.array(
    [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48,
     41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
     30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63],
    dtype=np.int64,
)  # fmt: skip
ZIGZAG_TO_NATURAL.flags.writeable = False

#: Zigzag rank of natural index 0..63 (the inverse permutation).
NATURAL_TO_ZIGZAG: np.ndarray = np.argsort(ZIGZAG_TO_NATURAL).astype(np.int64)
NATURAL_TO_ZIGZAG.flags.writeable = False


def _check_axis(x: Any, axis: int, size: int, what: str) -> None:
    if not -x.ndim <= axis < x.ndim or x.shape[axis] != size:
        raise ShapeError(
            f"expected {what} with {size} entries on axis {axis}, got {tuple(x.shape)}",
            shape=tuple(x.shape),
        )


def natural_to_zigzag(c: Any, *, axis: int = -3) -> Any:
    """Reorder a 64-coefficient axis from natural to zigzag order.

    Args:
        c: coefficients with 64 entries on ``axis`` (natural order), any dtype.
        axis: the coefficient axis (-3 for (..., 64, Hb, Wb), -1 for (Hb, Wb, 64)).

    Returns:
        A new array of the same shape and dtype, entry ``r`` = coefficient of zigzag rank r.

    Raises:
        ShapeError: ``axis`` is not 64 long.

    Example:
        >>> natural_to_zigzag(np.arange(64), axis=-1)[:4].tolist()
        [0, 1, 8, 16]
    """
    xp = array_namespace(c)
    c = xp.asarray(c)
    _check_axis(c, axis, 64, "coefficients")
    return xp.take(c, xp.asarray(ZIGZAG_TO_NATURAL), axis=axis)


def zigzag_to_natural(c: Any, *, axis: int = -3) -> Any:
    """Reorder a 64-coefficient axis from zigzag to natural order (inverse of the above).

    Args:
        c: coefficients with 64 entries on ``axis`` (zigzag order), any dtype.
        axis: the coefficient axis.

    Returns:
        A new array of the same shape and dtype in natural order ``k = 8 v + u``.

    Raises:
        ShapeError: ``axis`` is not 64 long.

    Example:
        >>> z = natural_to_zigzag(np.arange(64), axis=-1)
        >>> bool((zigzag_to_natural(z, axis=-1) == np.arange(64)).all())
        True
    """
    xp = array_namespace(c)
    c = xp.asarray(c)
    _check_axis(c, axis, 64, "coefficients")
    return xp.take(c, xp.asarray(NATURAL_TO_ZIGZAG), axis=axis)


def channels_first(plane: Any) -> Any:
    """View a reader plane (..., Hb, Wb, 64) as (..., 64, Hb, Wb) (no copy).

    Args:
        plane: coefficients with the 64 coefficients last, any dtype.

    Returns:
        A view with the coefficient axis moved to position -3.

    Raises:
        ShapeError: the last axis is not 64 long.

    Example:
        >>> channels_first(np.zeros((7, 5, 64), np.int16)).shape
        (64, 7, 5)
    """
    xp = array_namespace(plane)
    plane = xp.asarray(plane)
    _check_axis(plane, -1, 64, "(..., Hb, Wb, 64)")
    return xp.moveaxis(plane, -1, -3)


def channels_last(c: Any) -> Any:
    """View coefficients (..., 64, Hb, Wb) in the reader layout (..., Hb, Wb, 64) (no copy).

    Args:
        c: channel-first coefficients, any dtype.

    Returns:
        A view with the coefficient axis moved last.

    Raises:
        ShapeError: axis -3 is not 64 long.

    Example:
        >>> channels_last(np.zeros((64, 7, 5))).shape
        (7, 5, 64)
    """
    xp = array_namespace(c)
    c = xp.asarray(c)
    _check_axis(c, -3, 64, "(..., 64, Hb, Wb)")
    return xp.moveaxis(c, -3, -1)


def stack_planes(y: Any, cb: Any, cr: Any) -> Any:
    """Stack Y, Cb, Cr coefficients (..., 64, h, w) into the flat (..., 192, h, w) layout.

    Args:
        y: luma coefficients (..., 64, h, w).
        cb: blue-difference coefficients, same shape (align subsampled chroma first with
            :func:`align_chroma`).
        cr: red-difference coefficients, same shape.

    Returns:
        (..., 192, h, w): Y at channels 0..63, Cb 64..127, Cr 128..191 (conventions §3).

    Raises:
        ShapeError: a plane is not (..., 64, h, w) or the shapes differ.

    Example:
        >>> p = np.zeros((64, 2, 2))
        >>> stack_planes(p, p, p).shape
        (192, 2, 2)
    """
    xp = array_namespace(y)
    planes = [xp.asarray(p) for p in (y, cb, cr)]
    for p in planes:
        _check_axis(p, -3, 64, "(..., 64, h, w)")
    if not planes[0].shape == planes[1].shape == planes[2].shape:
        raise ShapeError(
            "Y, Cb and Cr must share one block grid, got "
            f"{[tuple(p.shape) for p in planes]}; align chroma with align_chroma() first",
            shape=tuple(planes[1].shape),
        )
    return xp.concatenate(planes, axis=-3)


def split_planes(c: Any) -> tuple[Any, Any, Any]:
    """Split a flat (..., 192, h, w) stack into Y, Cb, Cr views (..., 64, h, w).

    Args:
        c: the 192-channel stack.

    Returns:
        ``(y, cb, cr)``, views into ``c``.

    Raises:
        ShapeError: axis -3 is not 192 long.

    Example:
        >>> [p.shape for p in split_planes(np.zeros((192, 1, 1)))][0]
        (64, 1, 1)
    """
    xp = array_namespace(c)
    c = xp.asarray(c)
    _check_axis(c, -3, 192, "(..., 192, h, w)")
    return c[..., 0:64, :, :], c[..., 64:128, :, :], c[..., 128:192, :, :]


def subsampling_factors(luma_grid: Sequence[int], chroma_grid: Sequence[int]) -> tuple[int, int]:
    """Infer the integer (vertical, horizontal) chroma subsampling factors from block grids.

    A JPEG with factors (fv, fh) has ``ceil(Hb_y / fv)`` chroma block rows (the reader may also
    return an MCU-padded grid one block larger); the factor is ``ceil(Hb_y / Hb_c)``.

    Args:
        luma_grid: ``(Hb, Wb)`` of the Y plane.
        chroma_grid: ``(Hb, Wb)`` of a chroma plane.

    Returns:
        ``(fv, fh)``, each >= 1; ``(2, 2)`` for 4:2:0, ``(1, 2)`` for 4:2:2.

    Raises:
        ShapeError: the chroma grid cannot come from an integer subsampling of the luma grid.

    Example:
        >>> subsampling_factors((56, 56), (28, 28))
        (2, 2)
    """
    factors = []
    for ny, nc in zip(luma_grid, chroma_grid, strict=True):
        if ny < 1 or nc < 1:
            raise ShapeError(f"empty block grid: luma {luma_grid}, chroma {chroma_grid}")
        f = -(-ny // nc)
        if (nc - 1) * f >= ny:
            raise ShapeError(
                f"chroma block grid {tuple(chroma_grid)} is not an integer subsampling of the "
                f"luma grid {tuple(luma_grid)}"
            )
        factors.append(f)
    return factors[0], factors[1]


def align_chroma(
    y: Any, cb: Any, cr: Any, *, mode: Literal["upsample", "separate"] = "upsample"
) -> Any:
    """Align subsampled chroma coefficients with the luma block grid.

    ``"upsample"`` repeats each chroma block over the ``fv x fh`` luma blocks it covers and
    stacks the result to (..., 192, Hb, Wb). This is cheap and exact in DC (up to the factor
    of the block size) but only *approximates* the DCT of upsampled chroma: a real 2x
    upsampling spreads each chroma block's frequencies over four blocks, and each of those
    would see a quarter of the content at twice the spatial scale. ``"separate"`` keeps each
    grid, as Gueguen et al. (NeurIPS 2018) feed them: Y (..., 64, Hb, Wb) and CbCr
    (..., 128, Hc, Wc) are returned separately.

    Args:
        y: luma coefficients (..., 64, Hb, Wb).
        cb: chroma coefficients (..., 64, Hc, Wc).
        cr: chroma coefficients, same shape as ``cb``.
        mode: ``"upsample"`` or ``"separate"``.

    Returns:
        ``"upsample"``: (..., 192, Hb, Wb). ``"separate"``: ``(y, cbcr)`` with cbcr
        (..., 128, Hc, Wc). Same dtype as the input.

    Raises:
        ShapeError: shapes are not (..., 64, h, w), Cb and Cr differ, or the grids are not an
            integer subsampling of each other.
        InvalidArgumentError: unknown ``mode``.

    Example:
        >>> y, c = np.zeros((64, 4, 6)), np.ones((64, 2, 3))
        >>> align_chroma(y, c, c).shape
        (192, 4, 6)
        >>> [a.shape for a in align_chroma(y, c, c, mode="separate")]
        [(64, 4, 6), (128, 2, 3)]
    """
    xp = array_namespace(y)
    y, cb, cr = (xp.asarray(p) for p in (y, cb, cr))
    for p in (y, cb, cr):
        _check_axis(p, -3, 64, "(..., 64, h, w)")
    if cb.shape != cr.shape:
        raise ShapeError(f"Cb {tuple(cb.shape)} and Cr {tuple(cr.shape)} differ", shape=cb.shape)
    if mode == "separate":
        return y, xp.concatenate([cb, cr], axis=-3)
    if mode != "upsample":
        raise InvalidArgumentError(
            f"mode must be 'upsample' or 'separate', got {mode!r}", value=mode
        )
    hb, wb = y.shape[-2:]
    fv, fh = subsampling_factors((hb, wb), cb.shape[-2:])
    chroma = xp.concatenate([cb, cr], axis=-3)
    if (fv, fh) != (1, 1):
        rows = xp.arange(hb) // fv
        cols = xp.arange(wb) // fh
        chroma = chroma[..., rows[:, None], cols[None, :]]
    else:
        chroma = chroma[..., :hb, :wb]
    return xp.concatenate([y, chroma], axis=-3)
