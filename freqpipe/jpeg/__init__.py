"""Everything that touches a JPEG bitstream.

- :func:`read_coefficients`, :func:`read_coefficients_batch`: quantised DCT coefficients
  straight from the file (native code over libjpeg-turbo, GIL released).
- :class:`JpegCoefficients`: what they return.
- :func:`decode_jpeg`, :class:`DecodedJpeg`, :func:`gather_coefficients`: decode once, then
  crop, flip and select windows channel-first into caller buffers (the loader's gather).
- :func:`load_resized_rgb`: Pillow decode + DCTNet's resize, for the routes that need pixels.
- :func:`parse_jpeg`: the marker structure (frame, scans, tables, metadata) in pure Python,
  for ``freqpipe inspect``.
"""

from __future__ import annotations

from freqpipe.jpeg.gather import DecodedJpeg, decode_jpeg, gather_coefficients
from freqpipe.jpeg.markers import JpegStructure, parse_jpeg
from freqpipe.jpeg.pixels import load_resized_rgb
from freqpipe.jpeg.reader import (
    DEFAULT_MAX_PIXELS,
    JpegCoefficients,
    read_coefficients,
    read_coefficients_batch,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DecodedJpeg",
    "JpegCoefficients",
    "JpegStructure",
    "decode_jpeg",
    "gather_coefficients",
    "load_resized_rgb",
    "parse_jpeg",
    "read_coefficients",
    "read_coefficients_batch",
]
