"""Exceptions raised by freqpipe.

Every error a user can cause (a bad argument, an unreadable file, a missing optional extra)
is a :class:`FreqpipeError`. Errors about a file carry its name in ``source`` and, where it is
known, the byte offset in ``offset``, so a loader can report or skip the file.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = [
    "BadFileWarning",
    "BatchTimeoutError",
    "CorruptJpegError",
    "CorruptJpegWarning",
    "DTypeError",
    "DeviceUnavailableError",
    "DiskFullError",
    "FileMissingError",
    "FixedCropStoreError",
    "FixedCropWarning",
    "FreqpipeError",
    "ImageTooLargeError",
    "IncompleteStoreError",
    "InvalidArgumentError",
    "LoaderStateError",
    "MissingExtraError",
    "NotAJpegError",
    "SelectionError",
    "ShapeError",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreSchemaError",
    "UnsupportedJpegError",
    "file_reason",
]


class FreqpipeError(Exception):
    """Base class of every error freqpipe raises on purpose.

    The message is ``"{source} (byte {offset}): {reason}; {hint}"``: the same ``reason`` and
    ``offset`` whichever surface (reader, loader, ``convert``, ``inspect``) reports the file
    (:func:`file_reason`), and a ``hint`` that names an option of the surface that prints it.

    Args:
        message: what went wrong (the ``reason``).
        source: the file (path or ``"<bytes>"``) the error is about, if any.
        offset: byte offset in ``source`` where the problem was found, if known.
        hint: what to do about it, where the surface printing it offers something.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        offset: int | None = None,
        hint: str | None = None,
    ):
        self.source = source
        self.offset = offset
        self.reason = message
        self.hint = hint
        super().__init__(self._message())

    def _message(self) -> str:
        where = ""
        if self.source is not None:
            where = f"{self.source}: "
            if self.offset is not None:
                where = f"{self.source} (byte {self.offset}): "
        return where + self.reason + (f"; {self.hint}" if self.hint else "")

    def retold(self, *, source: str | None = None, hint: str | None = None) -> FreqpipeError:
        """A copy of this error for another surface: its file name and its own hint.

        Args:
            source: the file name to report (default: keep this error's).
            hint: what the reporting surface offers (replaces this error's hint).

        Returns:
            An error of the same type, reason and offset.

        Example:
            >>> e = CorruptJpegError("Premature end of JPEG file", source="<bytes>", offset=9)
            >>> str(e.retold(source="a.jpg", hint="try --no-strict"))
            'a.jpg (byte 9): Premature end of JPEG file; try --no-strict'
        """
        other = copy.copy(self)
        if source is not None:
            other.source = source
        other.hint = hint
        other.args = (other._message(),)
        return other


class UnsupportedJpegError(FreqpipeError):
    """A valid JPEG that freqpipe cannot read: 12/16-bit, lossless, JPEG-LS, > 4 components."""


class NotAJpegError(UnsupportedJpegError):
    """The input is not a JPEG at all (no SOI marker)."""


class CorruptJpegError(FreqpipeError):
    """The JPEG is truncated or its data are corrupt.

    ``recoverable`` is True when libjpeg only warns about the damage (a truncated scan, a
    corrupt segment of entropy-coded data): a non-strict read then returns what it decoded.
    When False, libjpeg cannot decode the file either.
    """

    def __init__(self, message: str, *, recoverable: bool = False, **where: Any):
        super().__init__(message, **where)
        self.recoverable = recoverable


class FileMissingError(FreqpipeError, FileNotFoundError):
    """The file does not exist (also a ``FileNotFoundError``)."""


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


class LoaderStateError(InvalidArgumentError):
    """A loader state from ``state_dict()`` does not fit the loader asked to load it.

    Args:
        message: what differs and what to do.
        key: the state's entry that differs (``"dataset_length"``, ``"batch_size"``,
            ``"format_version"``, ``"sampler.num_replicas"``, ...), kept for callers.
        saved: the value in the state.
        current: the value this loader has.
    """

    def __init__(self, message: str, *, key: str, saved: Any = None, current: Any = None):
        super().__init__(message, value=saved)
        self.key = key
        self.saved = saved
        self.current = current


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


class DeviceUnavailableError(FreqpipeError, RuntimeError):
    """The device asked for is not there (no CUDA build, driver or device); also a RuntimeError."""


def file_reason(exc: BaseException) -> str:
    """Why a file could not be read, with the byte offset: the one wording every surface uses.

    Args:
        exc: the error (a :class:`FreqpipeError`, or anything else a read raised).

    Returns:
        ``"{reason} (byte {offset})"``, or the reason alone when no offset is known.

    Example:
        >>> file_reason(CorruptJpegError("Premature end of JPEG file", source="a.jpg", offset=9))
        'Premature end of JPEG file (byte 9)'
    """
    reason = getattr(exc, "reason", None) or str(exc)
    offset = getattr(exc, "offset", None)
    return f"{reason} (byte {offset})" if offset is not None else reason


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


class FixedCropStoreError(InvalidArgumentError):
    """``train=True`` on a store of fixed centre crops: every epoch would see the same tensors.

    Convert with ``layout="whole"`` (``freqpipe convert --layout whole``) to train, or pass
    ``train=False``.
    """


class FixedCropWarning(UserWarning):
    """Training inferred (``shuffle=True``) over a store of fixed centre crops: no augmentation.

    The loader shuffles but every epoch sees the same crops, unflipped.
    """


class DiskFullError(StoreError):
    """The disk filled up while writing; the partial file was removed."""
