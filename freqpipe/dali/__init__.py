"""NVIDIA DALI integration (optional extra ``freqpipe[dali]``): DALI decodes, freqpipe adds DCT.

DALI has no frequency-domain output (conventions §7). This module adds it, both ways round:

Pipelines
    :func:`pipeline`: DALI's file reader, decoder (``"mixed"`` on a GPU, ``"cpu"`` with
    ``device_id=None``) and random-resized crop / flip (or resize + centre crop), then
    freqpipe's fused DCT / DWT and channel selection.
Decode-free source
    :func:`coefficient_source`: freqpipe's native coefficient reader as a parallel,
    batch-mode ``fn.external_source`` callback (:class:`CoefficientSource`).
Iteration
    :class:`Iterator`: FreqLoader's ``(x, y)`` contract over ``DALIGenericIterator``, with
    DataLoader's ``len`` and last-batch behaviour.
Helpers
    :func:`available`, :func:`require_dali`, :class:`PipelineSpec`

Importing this module does not import DALI; the functions do, and raise
:class:`~freqpipe.errors.MissingExtraError` (``pip install freqpipe[dali]``) without it.
"""

from __future__ import annotations

from freqpipe.dali._common import PipelineSpec, available, require_dali
from freqpipe.dali._iterator import Iterator
from freqpipe.dali._pipeline import pipeline
from freqpipe.dali._source import CoefficientSource, coefficient_source

__all__ = [
    "CoefficientSource",
    "Iterator",
    "PipelineSpec",
    "available",
    "coefficient_source",
    "pipeline",
    "require_dali",
]
