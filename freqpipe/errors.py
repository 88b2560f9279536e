"""Exceptions raised by freqpipe.

Every error a user can cause (a bad argument, an unreadable file, a missing optional extra)
is a :class:`FreqpipeError`. Errors about a file carry its name in ``source`` and, where it is
known, the byte offset in ``offset``, so a loader can report or skip the file.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BadFileWarning",
    "BatchTimeoutError",
    "CorruptJpegError",
    "CorruptJpegWarning",
    "DTypeError",
    "DiskFullError",
    "FreqpipeError",
    "ImageTooLargeError",
    "IncompleteStoreError",
    "InvalidArgumentError",
    "MissingExtraError",
    "NotAJpegError",
    "SelectionError",
    "ShapeError",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreSchemaError",
    "UnsupportedJpegError",
]


class FreqpipeError(Exception):
    """Base class of every error freqpipe raises on purpose.

    Args:
        message: what went wrong and what to do about it.
        source: the file (path or ``"<bytes>"``) the error is about, if any.
        offset: byte offset in ``source`` where the problem was found, if known.
    """

    def __init__(self, message: str, *, source: str | None = None, offset: int | None = None):
        self.source = source
        self.offset = offset
        self.reason = message
        where = ""
        if source is not None:
            where = f"{source}: "
            if offset is not None:
                where = f"{source} (byte {offset}): "
        super().__init__(where + message)


class UnsupportedJpegError(FreqpipeError):
    """A valid JPEG that freqpipe cannot read: 12/16-bit, lossless, JPEG-LS, > 4 components."""


class NotAJpegError(UnsupportedJpegError):
    """The input is not a JPEG at all (no SOI marker)."""


class CorruptJpegError(FreqpipeError):
    """The JPEG is truncated or its data are corrupt."""


class ImageTooLargeError(FreqpipeError):
    """The image has more pixels than the ``max_pixels`` limit allows."""


class MissingExtraError(FreqpipeError):
    """An optional dependency (an extra such as ``freqpipe[gpu]``) is not installed."""


class CorruptJpegWarning(UserWarning):
    """Issued when ``strict=False`` recovers coefficients from a damaged JPEG."""


class InvalidArgumentError(FreqpipeError, ValueError):
    """An argument has a value outside its valid choices (also a ValueError).

    Args:
        message: what came and which choices are valid.
        value: the offending value, kept as a field for callers.
    """

    def __init__(self, message: str, *, value: Any = None, **where: Any):
        super().__init__(message, **where)
        self.value = value


class ShapeError(InvalidArgumentError):
    """An array has a shape the operation cannot take.

    Args:
        message: what was expected and what came.
        shape: the offending shape, kept as a field for callers.
    """

    def __init__(self, message: str, *, shape: tuple[int, ...] | None = None):
        super().__init__(message, value=shape)
        self.shape = shape


class SelectionError(InvalidArgumentError):
    """A channel selection is invalid (unknown preset, index out of range, duplicate)."""


class DTypeError(FreqpipeError, TypeError):
    """An array has a dtype the operation cannot take (also a TypeError).

    Args:
        message: what was expected and what came.
        dtype: the offending dtype, kept as a field for callers.
    """

    def __init__(self, message: str, *, dtype: Any = None):
        super().__init__(message)
        self.dtype = dtype


class BadFileWarning(UserWarning):
    """A file a loader skipped (``on_error="warn"``)."""


class BatchTimeoutError(FreqpipeError, RuntimeError):
    """No batch arrived within the loader's ``timeout`` (DataLoader raises RuntimeError)."""


class StoreError(FreqpipeError):
    """A store cannot be written or opened (wrong directory, settings mismatch)."""


class StoreBusyError(StoreError):
    """Another process is converting into the same store (it holds the destination's lock)."""


class IncompleteStoreError(StoreError):
    """The directory holds an unfinished conversion (no manifest yet)."""


class StoreCorruptError(StoreError):
    """A shard or the manifest does not match what was written (checksum, size, header)."""


class StoreSchemaError(StoreCorruptError):
    """A manifest or shard header field is missing, of the wrong type, or inconsistent.

    Args:
        message: what is wrong with the field.
        field: the field's path (``"dtype"``, ``"shards[2].inputs"``), kept for callers.
        source: the file.
    """

    def __init__(self, message: str, *, field: str, source: str | None = None):
        super().__init__(message, source=source)
        self.field = field


class DiskFullError(StoreError):
    """The disk filled up while writing; the partial file was removed."""
