"""Decoded pixels, for the routes that need them (statistics, the pixel store route, the demo).

The evaluation crop (resize the short side, centre-crop by torchvision's rule, conventions §7)
has one implementation, :func:`center_crop_rgb`, with one decoder (:func:`decode_rgb`:
libjpeg-turbo, scaled down while that keeps at least the resize target). The loader's pixel
source, the store's pixel route, ``freqpipe stats``, ``freqpipe select`` and the demo all call
it (the last four through :func:`load_center_crop`), so a folder and its converted store give
the same crops and the shipped statistics describe what the evaluation loader feeds.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from freqpipe.errors import MissingExtraError
from freqpipe.transforms import center_crop_box, resize_shape

__all__ = ["center_crop_rgb", "decode_rgb", "load_center_crop", "turbo_decoder"]

_SCALES = ((1, 8), (1, 4), (1, 2))


def turbo_decoder() -> Any:
    """A ``turbojpeg.TurboJPEG`` over the system libjpeg-turbo.

    Raises:
        MissingExtraError: PyTurboJPEG is not installed.
    """
    try:
        from turbojpeg import TurboJPEG
    except ImportError as exc:  # pragma: no cover - PyTurboJPEG is a core dependency
        raise MissingExtraError(f"the pixel decode needs PyTurboJPEG ({exc})") from exc
    return TurboJPEG()


def decode_rgb(turbo: Any, data: bytes, region: tuple[int, int], target: tuple[int, int]) -> Any:
    """Decode to RGB uint8 (H', W', 3), scaled down by libjpeg-turbo while that stays >= target.

    Args:
        turbo: a ``turbojpeg.TurboJPEG``.
        data: the JPEG's bytes.
        region: (h, w) of the part of the full-size image that will be resized.
        target: (h, w) it will be resized to.

    Returns:
        The decoded array (full size, or 1/2, 1/4, 1/8 of it).

    Example:
        >>> from freqpipe._samples import sample_files
        >>> data = sample_files()[0].read_bytes()
        >>> decode_rgb(turbo_decoder(), data, (427, 640), (100, 150)).shape  # 1/4 is >= target
        (102, 160, 3)
    """
    from turbojpeg import TJFLAG_LIMITSCANS, TJPF_RGB

    factor = None
    for num, den in _SCALES:  # the strongest reduction that keeps >= target pixels
        if region[0] * num >= den * target[0] and region[1] * num >= den * target[1]:
            factor = (num, den)
            break
    return turbo.decode(data, pixel_format=TJPF_RGB, scaling_factor=factor, flags=TJFLAG_LIMITSCANS)


def center_crop_rgb(
    height: int,
    width: int,
    size: int,
    decode: Callable[[tuple[int, int], tuple[int, int]], np.ndarray],
    *,
    short: int | None = None,
) -> np.ndarray:
    """The evaluation crop: resize the short side (DCTNet's rule), then centre-crop ``size``.

    Args:
        height: the full-size image's height.
        width: its width.
        size: the crop side.
        decode: ``decode(region, target)`` returns the image as uint8 RGB, full size or scaled
            down (never below ``target``).
        short: an explicit short side instead of ``round(size * 512 / 448)``.

    Returns:
        (size, size, 3) uint8.

    Example:
        >>> grey = np.full((30, 40, 3), 128, np.uint8)
        >>> center_crop_rgb(30, 40, 16, lambda region, target: grey).shape
        (16, 16, 3)
    """
    from PIL import Image

    rh, rw = resize_shape(height, width, size, short=short)
    rgb = decode((height, width), (rh, rw))
    resized = np.asarray(Image.fromarray(rgb).resize((rw, rh), Image.Resampling.BILINEAR))
    top, left = center_crop_box(rh, rw, size)
    return resized[top : top + size, left : left + size]


def load_center_crop(src: Any, size: int, *, short: int | None = None) -> np.ndarray:
    """:func:`center_crop_rgb` of a file, decoded as the loader's pixel source decodes it.

    libjpeg-turbo first; what it cannot decode to RGB (CMYK, PNG named ``.jpg``) through
    Pillow's ``Image.open(f).convert("RGB")``, as the loader's per-file fallback.

    Args:
        src: a path or the file's bytes.
        size: the crop side.
        short: an explicit short side before the crop.

    Returns:
        (size, size, 3) uint8.

    Raises:
        OSError: neither libjpeg-turbo nor Pillow can read the file.

    Example:
        >>> from freqpipe._samples import sample_files
        >>> load_center_crop(sample_files()[0], 64).shape
        (64, 64, 3)
    """
    from freqpipe.jpeg.fallback import open_rgb

    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
    else:
        with open(os.fspath(src), "rb") as f:
            data = f.read()
    turbo = turbo_decoder()
    try:
        width, height, _, _ = turbo.decode_header(data)
        return center_crop_rgb(
            height, width, size, lambda r, t: decode_rgb(turbo, data, r, t), short=short
        )
    except OSError:
        rgb, _ = open_rgb(data)
        return center_crop_rgb(rgb.shape[0], rgb.shape[1], size, lambda r, t: rgb, short=short)
