"""Window geometry, once: where a centred or random ``n x n`` window of a grid starts.

The loader's coefficient source, the store's coefficient route, load-time crops of a store of
JPEG bytes (which go through the coefficient source) and :func:`center_crop_box` (pixels) all
place their windows with these functions, so a model sees the same crop whichever path fed it.

The centring rule is torchvision's ``CenterCrop`` (conventions §7), applied per axis to a grid
of ``extent`` units (blocks for coefficients, pixels for :func:`center_crop_box`):

* ``extent >= n``: torchvision crops at ``int(round((extent - n) / 2.0))``, Python's ``round``
  (half to even), so an odd surplus of 1 starts at 0, of 3 at 2, of 5 at 2, of 7 at 4.
* ``extent < n``: torchvision first pads with ``(n - extent) // 2`` before and
  ``(n - extent + 1) // 2`` after (the smaller half before), then crops the now ``n``-long
  axis at ``round(0 / 2) = 0``; so the window starts ``(n - extent) // 2`` units before the
  image: ``start = -((n - extent) // 2)``, negative offsets being the padding (zeros).

In blocks, this is exactly ``torchvision.transforms.CenterCrop(n)`` applied to a tensor of
shape ``(Hb, Wb)`` whose elements are the 8x8 blocks of the coded (MCU-padded) luma grid: block
``top + i`` of the window is row ``i`` of that crop, a zero block where the crop is padding. It
is not ``CenterCrop(8 n)`` of the pixels: the pixel window starts at ``8 * top`` on the coded
image, a block boundary, which torchvision's pixel offset in general is not.
"""

from __future__ import annotations

from typing import Any

from freqpipe.errors import InvalidArgumentError

__all__ = ["center_start", "center_window", "choose_window", "random_window"]


def _check(extent: int, n: int) -> None:
    if extent < 1 or n < 1:
        raise InvalidArgumentError(f"expected a positive extent and window, got {extent}, {n}")


def center_start(extent: int, n: int) -> int:
    """First unit of a centred ``n``-long window of an ``extent``-long axis (torchvision's rule).

    Args:
        extent: the axis length (blocks or pixels).
        n: the window length.

    Returns:
        ``round((extent - n) / 2)`` (half to even) when the window fits, else
        ``-((n - extent) // 2)``: the image sits ``(n - extent) // 2`` units into the window.

    Raises:
        InvalidArgumentError: a non-positive extent or window.

    Example:
        >>> [center_start(e, 4) for e in (5, 7, 9, 11, 1, 2)]
        [0, 2, 2, 4, -1, -1]
    """
    extent, n = int(extent), int(n)
    _check(extent, n)
    if extent < n:
        return -((n - extent) // 2)
    return round((extent - n) / 2.0)  # torchvision: int(round((H - h) / 2.0)), half to even


def center_window(grid: tuple[int, int], n: int, *, align: int = 1) -> tuple[int, int]:
    """Top-left corner of the centred ``n x n`` window of a ``(H, W)`` grid.

    Args:
        grid: the grid's ``(H, W)``, e.g. the luma block grid ``(Hb, Wb)``.
        n: window side.
        align: offsets are rounded down to a multiple of this (2 keeps 4:2:0 chroma aligned).

    Returns:
        ``(top, left)`` (:func:`center_start` per axis); negative means padding before.

    Example:
        >>> center_window((47, 63), 56)  # a 500x375 photo at 448 pixels
        (-4, 4)
    """
    return tuple(_align(center_start(e, n), align) for e in grid)  # type: ignore[return-value]


def random_window(grid: tuple[int, int], n: int, rng: Any, *, align: int = 1) -> tuple[int, int]:
    """Top-left corner of a uniformly random ``n x n`` window of a ``(H, W)`` grid.

    Per axis the start is drawn uniformly from ``min(0, extent - n) .. max(0, extent - n)``:
    every window inside the grid, or, for a grid smaller than the window, every placement of
    the grid inside it (the rest zero padding); then rounded down to a multiple of ``align``.

    Args:
        grid: the grid's ``(H, W)``.
        n: window side.
        rng: a ``numpy.random.Generator`` (one ``integers`` draw per axis, rows first).
        align: offsets are multiples of this.

    Returns:
        ``(top, left)``.

    Example:
        >>> import numpy as np
        >>> top, left = random_window((47, 63), 56, np.random.default_rng(0))
        >>> -9 <= top <= 0 <= left <= 7
        True
    """
    starts = []
    for extent in grid:
        _check(extent, n)
        lo, hi = min(0, extent - n), max(0, extent - n)
        starts.append(_align(int(rng.integers(lo, hi + 1)), align))
    return starts[0], starts[1]


def choose_window(
    grid: tuple[int, int], n: int, *, train: bool, rng: Any, align: int = 1
) -> tuple[int, int, bool]:
    """The window of one sample: random and a fair-coin flip when training, else centred.

    Args:
        grid: the luma block grid ``(Hb, Wb)``.
        n: window side in blocks.
        train: :func:`random_window` and ``rng.random() < 0.5`` for the horizontal flip;
            otherwise :func:`center_window`, no flip.
        rng: a ``numpy.random.Generator`` (used only when training).
        align: offsets are multiples of this (2 for separate 4:2:0 chroma).

    Returns:
        ``(top, left, hflip)``; negative offsets mean padding before the image.

    Example:
        >>> choose_window((10, 7), 4, train=False, rng=None)
        (3, 2, False)
    """
    if not train:
        return (*center_window(grid, n, align=align), False)
    top, left = random_window(grid, n, rng, align=align)
    return top, left, bool(rng.random() < 0.5)


def _align(start: int, align: int) -> int:
    return start - start % align
