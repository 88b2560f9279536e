"""Decoded pixels, for the routes that need them (statistics, the pixel store route, the demo)."""

from __future__ import annotations

import os
from typing import IO

import numpy as np

from freqpipe.transforms import resize_shape

__all__ = ["load_resized_rgb"]


def load_resized_rgb(
    src: str | os.PathLike[str] | IO[bytes], size: int, *, short: int | None = None
) -> np.ndarray:
    """Decode a JPEG with Pillow and resize it as DCTNet does before its centre crop.

    Args:
        src: a path or a binary file object.
        size: the crop size the resize prepares for: the short side becomes
            ``round(size * 512 / 448)`` (:func:`freqpipe.transforms.resize_shape`).
        short: an explicit short side instead (torchvision ``Resize(short)``).

    Returns:
        (H, W, 3) uint8 RGB, bilinear-resized, not yet cropped.

    Raises:
        OSError: Pillow cannot read the file.

    Example:
        >>> from freqpipe._samples import sample_files
        >>> min(load_resized_rgb(sample_files()[0], 448).shape[:2])
        512
    """
    from PIL import Image

    with Image.open(src) as im:
        rgb = im.convert("RGB")
    h, w = resize_shape(rgb.height, rgb.width, size, short=short)
    rgb = rgb.resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8)
