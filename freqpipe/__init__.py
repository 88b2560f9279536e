"""freqpipe: frequency-domain image pipelines for PyTorch."""

from __future__ import annotations

from freqpipe._samples import sample_files, samples_path
from freqpipe.errors import (
    CorruptJpegError,
    FreqpipeError,
    ImageTooLargeError,
    MissingExtraError,
    NotAJpegError,
    UnsupportedJpegError,
)

__version__ = "0.1.0"

__all__ = [
    "CorruptJpegError",
    "FreqpipeError",
    "ImageTooLargeError",
    "MissingExtraError",
    "NotAJpegError",
    "UnsupportedJpegError",
    "__version__",
    "sample_files",
    "samples_path",
]
