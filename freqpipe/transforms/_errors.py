"""The errors transforms raise, defined once in :mod:`freqpipe.errors`.

``ArgumentError`` is the former name of :class:`~freqpipe.errors.InvalidArgumentError`, kept
only while the GPU backend migrates to it.
"""

from __future__ import annotations

from freqpipe.errors import DTypeError, InvalidArgumentError, SelectionError, ShapeError

ArgumentError = InvalidArgumentError

__all__ = ["DTypeError", "InvalidArgumentError", "SelectionError", "ShapeError"]
