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
* JPEG-bytes shards: ``data`` (total,) uint8, ``offsets`` (n + 1,) uint64 and ``prefixes``
  (n, k) uint64 instead of ``coeffs``/``quant``: ``prefixes[j, s]`` is how many bytes of record
  ``j`` hold selection ``s`` of the manifest's ``order`` exactly (k = 0 without an order).
  Shards written before ``prefixes`` existed lack it (an optional section): they still load,
  and the reader finds each prefix by walking the record's markers.

Sections are structure-of-arrays, so ``np.memmap`` maps each as one array and a batch is a
gather along its first axis. The blake2b checksum (32-byte digest) covers the whole file.
"""

from __future__ import annotations

import hashlib
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
    StoreSchemaError,
)
from freqpipe.store.kinds import KINDS

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
    "blake2b_file",
    "check_header",
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


def align(n: int, page: int = PAGE) -> int:
    """Round ``n`` up to a multiple of ``page``.

    Example:
        >>> align(1), align(4096), align(4097)
        (4096, 4096, 8192)
    """
    return -(-n // page) * page


def blake2b_file(path: str | os.PathLike[str], chunk: int = 1 << 22) -> str:
    """The hex blake2b digest (32 bytes) of a file: the checksum a shard's sidecar records.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "x"
        >>> _ = p.write_bytes(b"")
        >>> blake2b_file(p) == hashlib.blake2b(digest_size=32).hexdigest()
        True
    """
    h = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


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
                ``offsets``, ...) the header lists.

        Returns:
            A read-only ``np.memmap`` (or an empty array for an empty section).
        """
        sec = self.sections[name]
        shape = tuple(sec["shape"])
        dtype = np.dtype(sec["dtype"])
        if int(np.prod(shape)) == 0:
            return np.empty(shape, dtype)
        return np.memmap(path, dtype=dtype, mode="r", offset=sec["offset"], shape=shape)


#: Sections every shard has after its kind's own.
COMMON_SECTIONS = ("labels", "index")
#: Record kind -> the values the manifest's ``dtype`` may take.
MANIFEST_DTYPES = {name: k.manifest_dtypes for name, k in KINDS.items()}
#: Record kind (:mod:`freqpipe.store.kinds`) -> the sections of its shards, in file order.
SECTIONS = {name: k.sections + COMMON_SECTIONS for name, k in KINDS.items()}
#: Record kind -> the sections its shards from an earlier version may lack.
OPTIONAL_SECTIONS = {name: k.optional_sections for name, k in KINDS.items()}


def fail_field(source: str, field: str, problem: str) -> StoreSchemaError:
    """The error for one bad field of the file ``source``."""
    return StoreSchemaError(f"field {field!r} {problem}", source=source, field=field)


def int_field(obj: dict[str, Any], key: str, source: str, *, prefix: str = "", low: int = 0) -> int:
    """``obj[key]``, which must be an integer >= ``low`` (a bool is not an integer)."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail_field(source, prefix + key, f"must be an integer, got {value!r}")
    if value < low:
        raise fail_field(source, prefix + key, f"must be >= {low}, got {value}")
    return value


def typed_field(obj: dict[str, Any], key: str, types: Any, source: str, prefix: str = "") -> Any:
    """``obj[key]``, which must be present and an instance of ``types``."""
    if key not in obj:
        raise fail_field(source, prefix + key, "is missing")
    value = obj[key]
    if not isinstance(value, types):
        raise fail_field(source, prefix + key, f"has the wrong type ({type(value).__name__})")
    return value


def shape_field(value: Any, source: str, field: str) -> tuple[int, ...]:
    """``value`` as a shape: a list of non-negative integers."""
    if not isinstance(value, list) or any(
        isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in value
    ):
        raise fail_field(source, field, f"must be a list of non-negative integers, got {value!r}")
    return tuple(value)


def check_header(obj: Any, source: str) -> tuple[str, int, dict[str, dict[str, Any]], int]:
    """Check a parsed shard header; return ``(kind, records, sections, size)``.

    Every section must lie inside the file on a page boundary, with a known dtype and the
    shape its kind implies for ``records`` records
    (:meth:`~freqpipe.store.kinds.RecordKind.section_rule`).

    Raises:
        StoreSchemaError: a field is missing, of the wrong type, or inconsistent.

    Example:
        >>> check_header({"kind": "jpeg", "records": -1}, "x.fps")
        Traceback (most recent call last):
        ...
        freqpipe.errors.StoreSchemaError: x.fps: field 'records' must be >= 0, got -1
    """
    if not isinstance(obj, dict):
        raise fail_field(source, "header", "must be a JSON object")
    kind = obj.get("kind")
    if kind not in SECTIONS:
        raise fail_field(source, "kind", f"must be one of {', '.join(SECTIONS)}, got {kind!r}")
    n = int_field(obj, "records", source)
    size = int_field(obj, "size", source)
    sections = typed_field(obj, "sections", dict, source)
    optional = OPTIONAL_SECTIONS[kind]
    required = [k for k in SECTIONS[kind] if k not in optional]
    if not set(required) <= set(sections) <= set(SECTIONS[kind]):
        also = f" (and optionally {', '.join(optional)})" if optional else ""
        raise fail_field(
            source,
            "sections",
            f"must be {', '.join(required)}{also} for a {kind} "
            f"shard, got {', '.join(sorted(map(str, sections)))}",
        )
    for name in (k for k in SECTIONS[kind] if k in sections):
        sec = sections[name]
        field = f"sections.{name}"
        if not isinstance(sec, dict):
            raise fail_field(source, field, "must be an object")
        offset = int_field(sec, "offset", source, prefix=field + ".")
        if offset % PAGE:
            raise fail_field(
                source, field + ".offset", f"must be a multiple of {PAGE}, got {offset}"
            )
        dtype = sec.get("dtype")
        allowed, ndim, extra_rows = KINDS[kind].section_rule(name)
        try:
            dt = np.dtype(dtype) if isinstance(dtype, str) else None
        except (TypeError, ValueError):
            dt = None
        if dt is None or dt.name not in allowed:
            raise fail_field(source, field + ".dtype", f"must be one of {allowed}, got {dtype!r}")
        shape = shape_field(sec.get("shape"), source, field + ".shape")
        rows = n + (extra_rows or 0)
        if len(shape) != ndim or (extra_rows is not None and shape[0] != rows):
            raise fail_field(
                source,
                field + ".shape",
                f"must have {ndim} dimension(s) and {rows} rows for {n} records, got {list(shape)}",
            )
        end = offset + int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        if end > size:
            raise fail_field(source, field, f"ends at byte {end}, past the file's size {size}")
    return kind, n, sections, size


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
        StoreSchemaError: a header field is missing, of the wrong type, or inconsistent.
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
    except (ValueError, UnicodeDecodeError) as exc:
        raise StoreCorruptError(f"unreadable shard header ({exc})", source=str(p)) from exc
    except OSError as exc:
        raise StoreCorruptError(f"cannot read shard: {exc.strerror}", source=str(p)) from exc
    kind, records, sections, size = check_header(obj, str(p))
    extra = {k: v for k, v in obj.items() if k not in ("kind", "records", "sections", "size")}
    header = ShardHeader(kind=kind, records=records, sections=sections, size=size, extra=extra)
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
