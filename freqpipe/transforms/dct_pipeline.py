"""The DCTNet pixel route (conventions §3): RGB image -> 192 blockwise-DCT channels.

Xu et al. decode, resize the short side to 512, centre-crop 448 and read the coefficients of a
quality-100 re-encode, with chroma upscaled so all planes are 56x56. The faithful
reproduction without an encoder is a blockwise DCT of the crop's Y, Cb and Cr planes, each at
full resolution. Decoding and resizing (file I/O, Pillow) stay with the caller; this module only
does the maths on an already decoded array.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from freqpipe.errors import DTypeError, ShapeError
from freqpipe.transforms._xp import array_namespace
from freqpipe.transforms.color import rgb_to_ycbcr
from freqpipe.transforms.dct import block_dct
from freqpipe.transforms.windows import center_start

__all__ = ["center_crop_box", "image_to_dct192", "random_resized_crop_params", "resize_shape"]


def resize_shape(
    height: int, width: int, size: int = 448, *, short: int | None = None
) -> tuple[int, int]:
    """Target (height, width) of DCTNet's resize before the centre crop of ``size``.

    The short side becomes ``round(size * 512 / 448)`` (512 for 448, as ``Resize(512)``), or
    ``short`` when given; the long side keeps the aspect ratio, truncated as torchvision does.

    Args:
        height: image height in pixels.
        width: image width in pixels.
        size: the crop size the resize prepares for.
        short: an explicit short side (torchvision ``Resize(short)``) instead of DCTNet's.

    Returns:
        ``(new_height, new_width)``.

    Raises:
        ShapeError: a non-positive dimension.

    Example:
        >>> resize_shape(375, 500)
        (512, 682)
        >>> resize_shape(375, 500, short=256)
        (256, 341)
    """
    if height < 1 or width < 1 or size < 1:
        raise ShapeError(f"expected positive sizes, got {height}x{width}, size {size}")
    if short is None:
        short = round(size * 512 / 448)
    elif short < 1:
        raise ShapeError(f"expected a positive short side, got {short}")
    if height <= width:
        return short, int(short * width / height)
    return int(short * height / width), short


def center_crop_box(height: int, width: int, size: int) -> tuple[int, int]:
    """Top-left corner of a centred ``size x size`` crop, rounded as torchvision's CenterCrop.

    The pixel case of :func:`~freqpipe.transforms.windows.center_start` (the one home of the
    centring rule), without padding.

    Args:
        height: image height.
        width: image width.
        size: crop side.

    Returns:
        ``(top, left)``.

    Raises:
        ShapeError: the image is smaller than the crop.

    Example:
        >>> center_crop_box(512, 682, 448)
        (32, 117)
    """
    if height < size or width < size:
        raise ShapeError(f"image {height}x{width} is smaller than the {size}x{size} crop")
    return center_start(height, size), center_start(width, size)


def random_resized_crop_params(
    height: int,
    width: int,
    rng: Any,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> tuple[int, int, int, int]:
    """Torchvision's ``RandomResizedCrop.get_params``: ``(top, left, h, w)`` of the region.

    Args:
        height: image height.
        width: image width.
        rng: ``numpy.random.Generator``.
        scale: range of the region's area as a fraction of the image's.
        ratio: range of the region's aspect ratio (w / h), sampled log-uniformly.

    Returns:
        ``(top, left, h, w)`` in pixels.

    Example:
        >>> t, l, h, w = random_resized_crop_params(100, 200, np.random.default_rng(0))
        >>> 0 <= t <= 100 - h and 0 <= l <= 200 - w
        True
    """
    area = height * width
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        target = area * float(rng.uniform(scale[0], scale[1]))
        aspect = math.exp(float(rng.uniform(log_lo, log_hi)))
        w = round(math.sqrt(target * aspect))
        h = round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, round(width / min(ratio))
    elif in_ratio > max(ratio):
        h, w = height, round(height * max(ratio))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def image_to_dct192(rgb: Any, size: int | None = None) -> Any:
    """RGB image -> (192, s/8, s/8) float32 DCT channels (Y 0..63, Cb 64..127, Cr 128..191).

    The image is centre-cropped to ``size x size`` when ``size`` is given, converted to
    YCbCr in float32 (conventions §2, not rounded) and each plane block-DCT'd at full resolution
    (conventions §1, level shift 128). Resize first with :func:`resize_shape` to follow DCTNet.

    Args:
        rgb: (H, W, 3) uint8 (or float on 0..255) image; NumPy or CuPy.
        size: optional crop side; a multiple of 8 for whole blocks.

    Returns:
        (192, ceil(S/8), ceil(S/8)) float32, S = ``size`` or the image sides.

    Raises:
        ShapeError: not (H, W, 3), or smaller than ``size``.
        DTypeError: not uint8 or floating point.

    Example:
        >>> image_to_dct192(np.full((20, 30, 3), 128, np.uint8), size=16).shape
        (192, 2, 2)
    """
    xp = array_namespace(rgb)
    rgb = xp.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ShapeError(f"expected (H, W, 3), got {tuple(rgb.shape)}", shape=tuple(rgb.shape))
    if rgb.dtype != np.uint8 and rgb.dtype.kind != "f":
        raise DTypeError(f"expected uint8 or float RGB, got {rgb.dtype}", dtype=rgb.dtype)
    if size is not None:
        top, left = center_crop_box(rgb.shape[0], rgb.shape[1], size)
        rgb = rgb[top : top + size, left : left + size]
    ycc = rgb_to_ycbcr(rgb.astype(np.float32), channel_axis=-1)
    planes = xp.moveaxis(ycc, -1, 0)  # (3, H, W)
    coeffs = block_dct(planes)  # (3, 64, h, w)
    return coeffs.reshape(192, *coeffs.shape[-2:])
