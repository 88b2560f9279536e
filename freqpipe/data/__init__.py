"""Datasets and the loader that feeds frequency-domain batches to a model.

Datasets
    :class:`JpegFolder` (torchvision ``ImageFolder`` labelling), :class:`JpegFileList`
    (files or bytes with labels); any map-style dataset of ``(path or bytes, label)`` works.
Loader
    :class:`FreqLoader`: ``torch.utils.data.DataLoader``'s interface; DCT (coefficient or pixel
    source), DWT or RGB batches on the device.
Errors and warnings
    :class:`BatchTimeoutError`, :class:`BadFileWarning`
"""

from __future__ import annotations

from freqpipe.data.loader import FreqLoader
from freqpipe.errors import BadFileWarning, BatchTimeoutError
from freqpipe.jpeg.datasets import JPEG_EXTENSIONS, JpegFileList, JpegFolder

__all__ = [
    "JPEG_EXTENSIONS",
    "BadFileWarning",
    "BatchTimeoutError",
    "FreqLoader",
    "JpegFileList",
    "JpegFolder",
]
