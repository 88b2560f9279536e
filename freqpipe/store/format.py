"""The on-disk layout of a freqpipe store: shard files, sidecars and the manifest.

A store is a directory::

    DST/
      manifest.json                 written last (tmp + fsync + rename): the store is complete
      shard-r0000-000000.fps        shard 0 of rank 0: header page + page-aligned sections
      shard-r0000-000000.json       its sidecar: input range, records, rejects, checksum
      ...
      rejects.tsv                   every unreadable input with its error (merged)
      _rank-0000.plan.json          conversion settings of rank 0 (for --resume)
      _rank-0000.done.json          rank 0 finished all its shards (for --merge)

A shard file (``.fps``) starts with the 8-byte magic ``b"FQPSHRD1"``, a little-endian uint64
header length and a UTF-8 JSON header, zero-padded to a multiple of 4096 bytes. Each section
then starts on a 4096-byte boundary; the header names them with offset, dtype and shape:

* ``coeffs``: (n, C, h, w) int16 / int8 quantised coefficients, or float16 DCT values;
* ``quant``: (n, C) uint16, the quant value of each channel of each record (quantised only);
* ``labels``: (n,) int64 class index;
* ``index``: (n,) int64 position of the record's input in the global input order;
* JPEG-bytes shards: ``data`` (total,) uint8 and ``offsets`` (n + 1,) uint64 instead of
  ``coeffs``/``quant``.

Sections are structure-of-arrays, so ``np.memmap`` maps each as one array and a batch is a
gather along its first axis. The blake2b checksum (32-byte digest) covers the whole file.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from freqpipe.errors import (
    DiskFullError,
    IncompleteStoreError,
    StoreCorruptError,
    StoreError,
)

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAGIC",
    "MANIFEST",
    "PAGE",
    "DiskFullError",
    "IncompleteStoreError",
    "ShardHeader",
    "StoreCorruptError",
    "StoreError",
    "align",
    "read_header",
    "shard_name",
]

FORMAT_NAME = "freqpipe-store"
FORMAT_VERSION = 1
MAGIC = b"FQPSHRD1"
PAGE = 4096
MANIFEST = "manifest.json"
REJECTS = "rejects.tsv"
SHARD_SUFFIX = ".fps"

#: Record kinds: quantised coefficients + quant values, float16 DCT values, or JPEG bytes.
KINDS = ("quantized", "float16", "jpeg")


def align(n: int, page: int = PAGE) -> int:
    """Round ``n`` up to a multiple of ``page``.

    Example:
        >>> align(1), align(4096), align(4097)
        (4096, 4096, 8192)
    """
    return -(-n // page) * page


def shard_name(rank: int, index: int) -> str:
    """File stem of shard ``index`` written by ``rank``.

    Example:
        >>> shard_name(1, 7)
        'shard-r0001-000007'
    """
    return f"shard-r{rank:04d}-{index:06d}"


@dataclass(frozen=True)
class ShardHeader:
    """The parsed header of a shard file.

    Attributes:
        kind: ``"quantized"``, ``"float16"`` or ``"jpeg"``.
        records: number of records n.
        sections: name -> ``{"offset", "dtype", "shape"}`` (offsets multiples of 4096).
        size: total file size in bytes.
        extra: the rest of the header JSON (rank, shard index, input range).
    """

    kind: str
    records: int
    sections: dict[str, dict[str, Any]]
    size: int
    extra: dict[str, Any]

    def to_bytes(self) -> bytes:
        """Encode the header page(s): magic, length, JSON, zero padding to 4096."""
        body = json.dumps(
            {
                "kind": self.kind,
                "records": self.records,
                "sections": self.sections,
                "size": self.size,
                **self.extra,
            },
            sort_keys=True,
        ).encode()
        raw = MAGIC + struct.pack("<Q", len(body)) + body
        return raw + b"\0" * (align(len(raw)) - len(raw))

    def memmap(self, path: str | os.PathLike[str], name: str) -> np.ndarray:
        """Map one section of the shard at ``path`` read-only.

        Args:
            path: the shard file.
            name: a section name (``coeffs``, ``quant``, ``labels``, ``index``, ``data``,
                ``offsets``).

        Returns:
            A read-only ``np.memmap`` (or an empty array for an empty section).
        """
        sec = self.sections[name]
        shape = tuple(sec["shape"])
        dtype = np.dtype(sec["dtype"])
        if int(np.prod(shape)) == 0:
            return np.empty(shape, dtype)
        return np.memmap(path, dtype=dtype, mode="r", offset=sec["offset"], shape=shape)


def layout_sections(
    kind: str, records: int, fields: dict[str, tuple[str, tuple[int, ...]]], header_guess: int
) -> tuple[dict[str, dict[str, Any]], int]:
    """Place sections on page boundaries after a header of ``header_guess`` bytes.

    Args:
        kind: record kind (unused except for clarity of the caller).
        records: n.
        fields: name -> (dtype, shape) in order; shapes include n.
        header_guess: bytes reserved for the header (a multiple of 4096).

    Returns:
        ``(sections, total_size)``.
    """
    del kind, records
    offset = header_guess
    sections: dict[str, dict[str, Any]] = {}
    for name, (dtype, shape) in fields.items():
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        sections[name] = {"offset": offset, "dtype": np.dtype(dtype).str, "shape": list(shape)}
        offset = align(offset + nbytes) if nbytes else offset
    return sections, offset


def read_header(path: str | os.PathLike[str]) -> ShardHeader:
    """Read and check the header of a shard file.

    Args:
        path: a ``.fps`` file.

    Returns:
        The :class:`ShardHeader`.

    Raises:
        StoreCorruptError: wrong magic, unreadable JSON, or a file shorter than the header says.
    """
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(16)
            if len(head) < 16 or head[:8] != MAGIC:
                raise StoreCorruptError("not a freqpipe shard (bad magic)", source=str(p))
            (n,) = struct.unpack("<Q", head[8:])
            if n > 64 * 2**20:
                raise StoreCorruptError(f"header length {n} is implausible", source=str(p))
            body = f.read(n)
        obj = json.loads(body.decode())
        header = ShardHeader(
            kind=obj.pop("kind"),
            records=int(obj.pop("records")),
            sections=obj.pop("sections"),
            size=int(obj.pop("size")),
            extra=obj,
        )
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        raise StoreCorruptError(f"unreadable shard header ({exc})", source=str(p)) from exc
    except OSError as exc:
        raise StoreCorruptError(f"cannot read shard: {exc.strerror}", source=str(p)) from exc
    actual = p.stat().st_size
    if actual != header.size:
        raise StoreCorruptError(
            f"shard is {actual} bytes but its header says {header.size} (truncated?)",
            source=str(p),
        )
    return header


def load_json(path: Path) -> dict[str, Any]:
    """Read a JSON object, raising :class:`StoreCorruptError` on malformed content."""
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StoreCorruptError(f"unreadable JSON ({exc})", source=str(path)) from exc
    if not isinstance(obj, dict):
        raise StoreCorruptError("expected a JSON object", source=str(path))
    return obj
