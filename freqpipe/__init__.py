"""freqpipe: frequency-domain image pipelines for PyTorch."""

from __future__ import annotations

from freqpipe._samples import sample_files, samples_path
from freqpipe.errors import (
    CorruptJpegError,
    CorruptJpegWarning,
    FreqpipeError,
    ImageTooLargeError,
    InvalidArgumentError,
    MissingExtraError,
    NotAJpegError,
    UnsupportedJpegError,
)
from freqpipe.jpeg import JpegCoefficients, read_coefficients, read_coefficients_batch

__version__ = "0.1.0"

__all__ = [
    "CorruptJpegError",
    "CorruptJpegWarning",
    "FreqpipeError",
    "ImageTooLargeError",
    "InvalidArgumentError",
    "JpegCoefficients",
    "MissingExtraError",
    "NotAJpegError",
    "UnsupportedJpegError",
    "__version__",
    "read_coefficients",
    "read_coefficients_batch",
    "sample_files",
    "samples_path",
]
