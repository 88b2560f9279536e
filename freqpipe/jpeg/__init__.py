"""Everything that touches a JPEG bitstream.

- :func:`read_coefficients`, :func:`read_coefficients_batch`: quantised DCT coefficients
  straight from the file (native code over libjpeg-turbo, GIL released).
- :class:`JpegCoefficients`: what they return.
- :func:`decode_jpeg`, :class:`DecodedJpeg`, :func:`gather_coefficients`: decode once, then
  crop, flip and select windows channel-first into caller buffers (the loader's gather).
- :func:`load_center_crop`: the evaluation crop (decode, resize, centre crop) as pixels, for the
  routes that need pixels.
- :func:`reorder_jpeg`: lossless rewrite as a progressive file whose scans follow a list of
  channel selections; :func:`scan_table` and :func:`prefix_end` find the prefix a reader needs.
- :func:`parse_jpeg`: the marker structure (frame, scans, tables, metadata) in pure Python,
  for ``freqpipe inspect``.
"""

from __future__ import annotations

from freqpipe.jpeg.gather import DecodedJpeg, FrameHeader, decode_jpeg, gather_coefficients
from freqpipe.jpeg.markers import JpegStructure, parse_jpeg
from freqpipe.jpeg.pixels import load_center_crop
from freqpipe.jpeg.reader import (
    DEFAULT_MAX_PIXELS,
    JpegCoefficients,
    read_coefficients,
    read_coefficients_batch,
)
from freqpipe.jpeg.reorder import DEFAULT_ORDER, prefix_lengths, reorder_jpeg
from freqpipe.jpeg.scans import Scan, ScanTable, prefix_end, scan_table

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_ORDER",
    "DecodedJpeg",
    "FrameHeader",
    "JpegCoefficients",
    "JpegStructure",
    "Scan",
    "ScanTable",
    "decode_jpeg",
    "gather_coefficients",
    "load_center_crop",
    "parse_jpeg",
    "prefix_end",
    "prefix_lengths",
    "read_coefficients",
    "read_coefficients_batch",
    "reorder_jpeg",
    "scan_table",
]
