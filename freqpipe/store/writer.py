"""Writing shards and JSON files crash-safely: temporary name, fsync, atomic rename.

Every byte goes through :func:`_write` so a full disk (``ENOSPC``) is caught in one place: the
temporary file is removed and a :class:`~freqpipe.store.format.DiskFullError` raised. A crash
at any moment leaves either the previous state or the complete new file, never a partial one
under the final name.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from freqpipe.store.format import (
    OPTIONAL_SECTIONS,
    PAGE,
    SECTIONS,
    SHARD_SUFFIX,
    DiskFullError,
    ShardHeader,
    StoreError,
    layout_sections,
)

__all__ = ["ShardInfo", "atomic_write_json", "write_shard"]

ShardInfo = dict[str, Any]


def _write(f: IO[bytes], data: bytes | memoryview) -> None:
    """The single write call of the store (monkeypatched by the full-disk test)."""
    f.write(data)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _fail(exc: OSError, tmp: Path, final: Path) -> StoreError:
    tmp.unlink(missing_ok=True)
    if exc.errno == errno.ENOSPC:
        return DiskFullError(
            "no space left on device; the partial file was removed and the store is "
            "unchanged: free space (or pick another DST) and rerun with --resume",
            source=str(final),
        )
    return StoreError(f"cannot write: {exc.strerror or exc}", source=str(final))


@contextmanager
def _atomic_file(final: Path) -> Iterator[IO[bytes]]:
    """A file written under ``final.tmp``, flushed, fsynced and renamed to ``final``."""
    tmp = final.with_name(final.name + ".tmp")
    try:
        with tmp.open("wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    except OSError as exc:
        raise _fail(exc, tmp, final) from exc
    _fsync_dir(final.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via ``path.tmp``, fsync and ``os.replace``.

    Raises:
        DiskFullError: the disk is full (nothing is left behind).
        StoreError: any other I/O error.
    """
    with _atomic_file(path) as f:
        _write(f, data)


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write a JSON document atomically (see :func:`atomic_write_bytes`).

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> atomic_write_json(d / "x.json", {"a": 1}); json.loads((d / "x.json").read_text())
        {'a': 1}
    """
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def _fields(kind: str, arrays: dict[str, np.ndarray]) -> dict[str, tuple[str, tuple[int, ...]]]:
    # Optional sections are those older shards lack: arrays without one make such a shard.
    names = [k for k in SECTIONS[kind] if k in arrays or k not in OPTIONAL_SECTIONS[kind]]
    return {k: (arrays[k].dtype.str, tuple(arrays[k].shape)) for k in names}


def write_shard(
    directory: Path, stem: str, kind: str, arrays: dict[str, np.ndarray], extra: dict[str, Any]
) -> ShardInfo:
    """Write one shard file atomically and return what the manifest needs about it.

    Args:
        directory: the store directory.
        stem: file name without suffix (:func:`~freqpipe.store.format.shard_name`).
        kind: ``"quantized"``, ``"float16"`` or ``"jpeg"``.
        arrays: the sections: ``coeffs`` (n, C, h, w) and ``quant`` (n, C) uint16 (quantised
            only), or ``data`` (total,) uint8, ``offsets`` (n + 1,) uint64 and ``prefixes``
            (n, k) uint64 (jpeg); always
            ``labels`` (n,) int64 and ``index`` (n,) int64. Must be C-contiguous.
        extra: more header fields (rank, shard index, input range).

    Returns:
        ``{"name", "records", "bytes", "blake2b", "dtype"}``.

    Raises:
        DiskFullError: the disk filled up; the temporary file is removed.
        StoreError: any other I/O error.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> a = {"coeffs": np.zeros((2, 3, 4, 4), np.int16),
        ...      "quant": np.ones((2, 3), np.uint16),
        ...      "labels": np.array([0, 1]), "index": np.array([0, 1])}
        >>> info = write_shard(d, "shard-r0000-000000", "quantized", a, {})
        >>> info["records"], info["bytes"] % 4096
        (2, 0)
    """
    n = int(arrays["labels"].shape[0])
    fields = _fields(kind, arrays)
    header_size = PAGE
    while True:
        sections, total = layout_sections(kind, n, fields, header_size)
        header = ShardHeader(kind, n, sections, total, extra).to_bytes()
        if len(header) <= header_size:
            break
        header_size = len(header)
    final = directory / (stem + SHARD_SUFFIX)
    digest = hashlib.blake2b(digest_size=32)
    with _atomic_file(final) as f:
        pos = 0
        chunks: list[tuple[int, bytes | memoryview]] = [(0, header)]
        for k in fields:
            data = np.ascontiguousarray(arrays[k]).reshape(-1).view(np.uint8)
            chunks.append((int(sections[k]["offset"]), memoryview(data)))  # type: ignore[arg-type]
        for offset, buf in chunks:
            if offset > pos:  # page alignment between sections
                zeros = b"\0" * (offset - pos)
                digest.update(zeros)
                _write(f, zeros)
                pos = offset
            digest.update(buf)
            _write(f, buf)
            pos += len(buf)
        if pos < total:
            zeros = b"\0" * (total - pos)
            digest.update(zeros)
            _write(f, zeros)
    coeffs = arrays.get("coeffs")
    return {
        "name": final.name,
        "records": n,
        "bytes": total,
        "blake2b": digest.hexdigest(),
        "dtype": None if coeffs is None else np.dtype(coeffs.dtype).name,
    }
