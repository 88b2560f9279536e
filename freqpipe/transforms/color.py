"""RGB <-> YCbCr, JFIF full range (conventions §2, as libjpeg-turbo's jccolor.c / jdcolor.c)."""

from __future__ import annotations

from typing import Any

import numpy as np

from freqpipe.errors import DTypeError, ShapeError
from freqpipe.transforms._xp import array_namespace

__all__ = ["rgb_to_ycbcr", "ycbcr_to_rgb"]

# conventions §2: Y, Cb, Cr from R, G, B (rows), plus the 128 chroma offset.
_RGB2YCC = np.array(
    [
        [0.299, 0.587, 0.114],
        [-0.168736, -0.331264, 0.5],
        [0.5, -0.418688, -0.081312],
    ]
)
# conventions §2: R, G, B from Y, Cb - 128, Cr - 128 (rows).
_YCC2RGB = np.array(
    [
        [1.0, 0.0, 1.402],
        [1.0, -0.344136, -0.714136],
        [1.0, 1.772, 0.0],
    ]
)


def _convert(x: Any, matrix: np.ndarray, pre: float, post: float, channel_axis: int) -> Any:
    xp = array_namespace(x)
    x = xp.asarray(x)
    if x.ndim == 0 or channel_axis >= x.ndim or channel_axis < -x.ndim:
        raise ShapeError(
            f"expected a channel axis {channel_axis} of size 3, got shape {tuple(x.shape)}",
            shape=tuple(x.shape),
        )
    if x.shape[channel_axis] != 3:
        raise ShapeError(
            f"expected 3 channels on axis {channel_axis}, got shape {tuple(x.shape)}; pass "
            "channel_axis=-1 for (*, H, W, 3) images",
            shape=tuple(x.shape),
        )
    is_uint8 = x.dtype == np.uint8
    if not is_uint8 and x.dtype.kind != "f":
        raise DTypeError(f"expected uint8 or floating input, got {x.dtype}", dtype=x.dtype)
    work = np.float32 if is_uint8 or x.dtype.itemsize < 4 else x.dtype
    m = xp.asarray(matrix, dtype=work)
    moved = xp.moveaxis(x, channel_axis, -1).astype(work, copy=False)
    if pre:
        # only chroma carries the offset: subtract it from channels 1 and 2
        offset = xp.asarray([0.0, pre, pre], dtype=work)
        moved = moved - offset
    y = moved @ m.T
    if post:
        y[..., 1:] += post
    if is_uint8:
        y = xp.clip(xp.rint(y), 0, 255).astype(np.uint8)
    else:
        y = y.astype(x.dtype, copy=False)
    return xp.moveaxis(y, -1, channel_axis)


def rgb_to_ycbcr(x: Any, *, channel_axis: int = -3) -> Any:
    """Convert RGB to YCbCr, JFIF full range (conventions §2).

    Y = 0.299 R + 0.587 G + 0.114 B; Cb and Cr are offset by 128.

    Args:
        x: RGB image(s), shape (*, 3, H, W) (default) or (*, H, W, 3) with ``channel_axis=-1``;
            uint8, or floating point on the 0..255 scale. NumPy or CuPy.
        channel_axis: the axis holding the 3 colour channels.

    Returns:
        YCbCr of the same shape. uint8 input gives uint8 (rounded half to even and clipped,
        as a float reference of libjpeg; expect +-1 LSB against libjpeg's fixed point);
        floating input keeps its dtype and is not clipped.

    Raises:
        ShapeError: the channel axis does not have size 3.
        DTypeError: the dtype is neither uint8 nor floating point.

    Example:
        >>> import numpy as np
        >>> float(rgb_to_ycbcr(np.zeros((3, 8, 8), np.float32))[1, 0, 0])
        128.0
        >>> rgb_to_ycbcr(np.full((2, 2, 3), 255, np.uint8), channel_axis=-1)[0, 0].tolist()
        [255, 128, 128]
    """
    return _convert(x, _RGB2YCC, 0.0, 128.0, channel_axis)


def ycbcr_to_rgb(x: Any, *, channel_axis: int = -3) -> Any:
    """Convert YCbCr (JFIF full range) back to RGB (conventions §2).

    R = Y + 1.402 (Cr - 128); G = Y - 0.344136 (Cb - 128) - 0.714136 (Cr - 128);
    B = Y + 1.772 (Cb - 128).

    Args:
        x: YCbCr image(s), shape (*, 3, H, W) (default) or (*, H, W, 3) with
            ``channel_axis=-1``; uint8 or floating point. NumPy or CuPy.
        channel_axis: the axis holding the 3 colour channels.

    Returns:
        RGB of the same shape; uint8 in gives uint8 (rounded and clipped to 0..255),
        floating input keeps its dtype and is not clipped.

    Raises:
        ShapeError: the channel axis does not have size 3.
        DTypeError: the dtype is neither uint8 nor floating point.

    Example:
        >>> import numpy as np
        >>> ycbcr_to_rgb(np.array([[[128]], [[128]], [[128]]], np.uint8))[:, 0, 0].tolist()
        [128, 128, 128]
    """
    return _convert(x, _YCC2RGB, 128.0, 0.0, channel_axis)
