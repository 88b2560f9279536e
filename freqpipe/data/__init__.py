"""Datasets and the loader that feeds frequency-domain batches to a model.

Datasets
    :class:`JpegFolder` (torchvision ``ImageFolder`` labelling), :class:`JpegFileList`
    (files or bytes with labels); any map-style dataset of ``(path or bytes, label)`` works.
Loader
    :class:`FreqLoader`: ``torch.utils.data.DataLoader``'s interface; DCT (coefficient or pixel
    source), DWT or RGB batches on the device; ``state_dict()`` / ``load_state_dict()``
    resume an epoch. :class:`ElasticSampler`: ``DistributedSampler``'s interface, resumable
    at another world size.
Pieces for other pipelines (DALI, benchmarks)
    :class:`CoefficientBatchReader` (the coefficient source, batch by batch), :class:`SampleRng`
    (the per-sample random streams), :func:`resolve_stats` (the ``normalize=`` argument),
    :data:`IMAGENET_MEAN` / :data:`IMAGENET_STD`;
    :func:`compute_outputs` (named batch fields -> output arrays, NumPy or CUDA) of an
    :class:`OutputPlan`: what FreqLoader computes on the device, for pipelines that bring
    their own decode (DALI)
Errors and warnings
    :class:`BatchTimeoutError`, :class:`BadFileWarning`
"""

from __future__ import annotations

from freqpipe.data._batch import SampleRng
from freqpipe.data._coefficients import CoefficientBatchReader
from freqpipe.data._elastic import ElasticSampler
from freqpipe.data._outputs import OutputPlan, compute_outputs
from freqpipe.data._stats import IMAGENET_MEAN, IMAGENET_STD, resolve_stats
from freqpipe.data.loader import FreqLoader
from freqpipe.errors import BadFileWarning, BatchTimeoutError
from freqpipe.jpeg.datasets import JPEG_EXTENSIONS, JpegFileList, JpegFolder

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "JPEG_EXTENSIONS",
    "BadFileWarning",
    "BatchTimeoutError",
    "CoefficientBatchReader",
    "ElasticSampler",
    "FreqLoader",
    "JpegFileList",
    "JpegFolder",
    "OutputPlan",
    "SampleRng",
    "compute_outputs",
    "resolve_stats",
]
