"""torchvision's geometry, re-implemented for the tests from its documented algorithms.

torchvision is not installed (it has no CPU build for the pinned torch), so the loader's
"follows torchvision" claims are checked against this independent transcription of the
documentation (``RandomResizedCrop.get_params``, ``Resize``, ``CenterCrop``,
``functional.resized_crop``), written without reference to freqpipe's own implementation.

torchvision draws from torch's global generator; freqpipe gives every sample its own NumPy
generator. ``get_params`` here therefore takes the generator and draws in torchvision's order,
one NumPy call in place of each torch call:

- ``torch.empty(1).uniform_(a, b)`` -> ``rng.uniform(a, b)``
- ``torch.randint(0, n, (1,))`` -> ``rng.integers(0, n)`` (both exclude ``n``)
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image


def get_params(
    height: int,
    width: int,
    rng: np.random.Generator,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
) -> tuple[int, int, int, int]:
    """``RandomResizedCrop.get_params``: ``(i, j, h, w)`` = (top, left, height, width)."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target_area = area * float(rng.uniform(scale[0], scale[1]))
        aspect_ratio = math.exp(float(rng.uniform(log_ratio[0], log_ratio[1])))
        w = int(round(math.sqrt(target_area * aspect_ratio)))  # noqa: RUF046 - as documented
        h = int(round(math.sqrt(target_area / aspect_ratio)))  # noqa: RUF046
        if 0 < w <= width and 0 < h <= height:
            i = int(rng.integers(0, height - h + 1))
            j = int(rng.integers(0, width - w + 1))
            return i, j, h, w
    # No try fitted: the whole image, narrowed to the nearest allowed aspect ratio, centred.
    in_ratio = float(width) / float(height)
    if in_ratio < min(ratio):
        w = width
        h = int(round(w / min(ratio)))  # noqa: RUF046
    elif in_ratio > max(ratio):
        h = height
        w = int(round(h * max(ratio)))  # noqa: RUF046
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def resized_crop(image: Image.Image, i: int, j: int, h: int, w: int, size: int) -> np.ndarray:
    """``functional.resized_crop`` on a PIL image, bilinear: crop first, then resize."""
    cropped = image.crop((j, i, j + w, i + h))
    return np.asarray(cropped.resize((size, size), Image.Resampling.BILINEAR))


def resize_then_center_crop(image: Image.Image, short: int, size: int) -> np.ndarray:
    """``Compose([Resize(short), CenterCrop(size)])`` on a PIL image (bilinear)."""
    width, height = image.size
    if width <= height:
        new_w, new_h = short, int(short * height / width)
    else:
        new_w, new_h = int(short * width / height), short
    resized = np.asarray(image.resize((new_w, new_h), Image.Resampling.BILINEAR))
    top = int(round((new_h - size) / 2.0))  # noqa: RUF046
    left = int(round((new_w - size) / 2.0))  # noqa: RUF046
    return resized[top : top + size, left : left + size]
