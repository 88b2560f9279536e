"""Datasets and the loader that feeds frequency-domain batches to a model.

Datasets
    :class:`JpegFolder` (torchvision ``ImageFolder`` labelling), :class:`JpegFileList`
    (files or bytes with labels); any map-style dataset of ``(path or bytes, label)`` works.
Loader
    :class:`FreqLoader`: ``torch.utils.data.DataLoader``'s interface; DCT (coefficient or pixel
    source), DWT or RGB batches on the device.
Output stage
    :func:`compute_outputs` (named batch fields -> output arrays, NumPy or CUDA) of an
    :class:`OutputPlan`: what FreqLoader computes on the device, for pipelines that bring
    their own decode (DALI)
Errors and warnings
    :class:`BatchTimeoutError`, :class:`BadFileWarning`
"""

from __future__ import annotations

from freqpipe.data._outputs import OutputPlan, compute_outputs
from freqpipe.data.datasets import JPEG_EXTENSIONS, JpegFileList, JpegFolder
from freqpipe.data.loader import FreqLoader
from freqpipe.errors import BadFileWarning, BatchTimeoutError

__all__ = [
    "JPEG_EXTENSIONS",
    "BadFileWarning",
    "BatchTimeoutError",
    "FreqLoader",
    "JpegFileList",
    "JpegFolder",
    "OutputPlan",
    "compute_outputs",
]
