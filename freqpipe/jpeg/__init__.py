"""Everything that touches a JPEG bitstream.

- :func:`read_coefficients`, :func:`read_coefficients_batch`: quantised DCT coefficients
  straight from the file (native code over libjpeg-turbo, GIL released).
- :class:`JpegCoefficients`: what they return.
- :func:`parse_jpeg`: the marker structure (frame, scans, tables, metadata) in pure Python,
  for ``freqpipe inspect``.
"""

from __future__ import annotations

from freqpipe.jpeg.markers import JpegStructure, parse_jpeg
from freqpipe.jpeg.reader import (
    DEFAULT_MAX_PIXELS,
    JpegCoefficients,
    read_coefficients,
    read_coefficients_batch,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "JpegCoefficients",
    "JpegStructure",
    "parse_jpeg",
    "read_coefficients",
    "read_coefficients_batch",
]
