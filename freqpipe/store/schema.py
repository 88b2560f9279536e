"""The one schema of a store's manifest and shard headers, checked wherever they are read.

The writer's output, :class:`~freqpipe.store.reader.FreqStore` and :func:`~freqpipe.store.verify`
all go through these functions, so a manifest edit that changes how bytes are read (``dtype``,
``size``, ``kind``, ``selection``, ``layout``) is caught the same way everywhere: every such
field is compared with what the shards' own headers say about their sections. A violation raises
:class:`~freqpipe.errors.StoreSchemaError` naming the file and the field.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from freqpipe.errors import FreqpipeError
from freqpipe.store.format import (
    MANIFEST_DTYPES,
    SECTIONS,
    ShardHeader,
    fail_field,
    int_field,
    typed_field,
)
from freqpipe.store.kinds import KINDS, kind_for_manifest
from freqpipe.transforms import Selection

__all__ = ["check_manifest", "check_shard_matches"]

_SHARD_NAME = re.compile(r"^shard-r\d{4}-\d{6}\.fps$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def check_manifest(m: dict[str, Any], source: str) -> dict[str, Any]:
    """Check every field of a parsed manifest that decides how the store's bytes are read.

    Args:
        m: the parsed ``manifest.json`` (``format`` and ``format_version`` already checked).
        source: the manifest's path, for messages.

    Returns:
        ``m`` itself.

    Raises:
        StoreSchemaError: a field is missing, of the wrong type, or inconsistent.

    Example:
        >>> check_manifest({"kind": "bogus"}, "manifest.json")
        Traceback (most recent call last):
        ...
        freqpipe.errors.StoreSchemaError: manifest.json: field 'kind' must be one of quantized, whole, float16, jpeg, got 'bogus'
    """  # noqa: E501
    kind = m.get("kind")
    if kind not in SECTIONS:
        raise fail_field(source, "kind", f"must be one of {', '.join(SECTIONS)}, got {kind!r}")
    size = int_field(m, "size", source, low=8)
    if size % 8:
        raise fail_field(source, "size", f"must be a multiple of 8, got {size}")
    if m.get("max_side") is not None:
        if not KINDS[kind].windowed:
            raise fail_field(source, "max_side", f"is set but a {kind} store holds fixed crops")
        int_field(m, "max_side", source, low=8)
    dtype = m.get("dtype")
    if dtype not in MANIFEST_DTYPES[kind]:
        raise fail_field(
            source,
            "dtype",
            f"must be one of {MANIFEST_DTYPES[kind]} for a {kind} store, got {dtype!r}",
        )
    try:
        channels = len(Selection.from_json(typed_field(m, "selection", (str, dict), source)))
    except FreqpipeError as exc:
        raise fail_field(source, "selection", f"is not a valid selection ({exc})") from exc
    _check_order(m, source)
    classes = typed_field(m, "classes", list, source)
    if not all(isinstance(c, str) for c in classes):
        raise fail_field(source, "classes", "must be a list of class names")
    for key in ("num_records", "inputs_total", "num_rejects"):
        if key in m or key == "num_records":
            int_field(m, key, source)
    int_field(m, "world_size", source, low=1)
    shards = typed_field(m, "shards", list, source)
    for i, entry in enumerate(shards):
        _check_entry(entry, source, f"shards[{i}].")
    widest = KINDS[kind].manifest_dtype([e.get("dtype") for e in shards if e["records"]])
    if dtype != widest:
        raise fail_field(
            source, "dtype", f"is {dtype!r} but the shards' widest coefficients are {widest!r}"
        )
    layout = typed_field(m, "layout", dict, source)
    g = size // 8
    for name, want in KINDS[kind]((channels, g, g), dtype).layout().items():
        if layout.get(name) != want:
            why = f"must be {want} (from kind, dtype, size and selection)"
            raise fail_field(source, f"layout.{name}", f"{why}, got {layout.get(name)!r}")
    return m


def _check_order(m: dict[str, Any], source: str) -> None:
    """``order``, when present: the selections that fix the columns of ``prefixes``."""
    order = m.get("order")
    if order is None:
        return
    if not isinstance(order, list) or not order:
        raise fail_field(source, "order", f"must be a non-empty list of selections, got {order!r}")
    for i, sel in enumerate(order):
        try:
            if not isinstance(sel, (str, dict)):
                raise TypeError(type(sel).__name__)
            Selection.from_json(sel)
        except (FreqpipeError, TypeError, ValueError) as exc:
            raise fail_field(source, f"order[{i}]", f"is not a valid selection ({exc})") from exc


def _check_entry(entry: Any, source: str, prefix: str) -> None:
    if not isinstance(entry, dict):
        raise fail_field(source, prefix.rstrip("."), "must be an object")
    name = typed_field(entry, "name", str, source, prefix)
    if not _SHARD_NAME.match(name):
        raise fail_field(source, prefix + "name", f"is not a shard file name: {name!r}")
    int_field(entry, "records", source, prefix=prefix)
    int_field(entry, "bytes", source, prefix=prefix)
    int_field(entry, "rank", source, prefix=prefix)
    if "rejects" in entry:
        int_field(entry, "rejects", source, prefix=prefix)
    if not _HEX64.match(str(typed_field(entry, "blake2b", str, source, prefix))):
        raise fail_field(source, prefix + "blake2b", "must be 64 hex digits")
    if entry.get("dtype") is not None and not isinstance(entry.get("dtype"), str):
        raise fail_field(source, prefix + "dtype", "must be a dtype name or null")
    inputs = typed_field(entry, "inputs", list, source, prefix)
    if len(inputs) != 2 or any(isinstance(v, bool) or not isinstance(v, int) for v in inputs):
        raise fail_field(source, prefix + "inputs", f"must be [first, end], got {inputs!r}")
    if not 0 <= inputs[0] <= inputs[1]:
        raise fail_field(source, prefix + "inputs", f"must satisfy 0 <= first <= end, got {inputs}")


def check_shard_matches(
    manifest: dict[str, Any], entry: dict[str, Any], header: ShardHeader, source: str
) -> None:
    """Check one shard's header against the manifest (both already schema-checked).

    The header's own sections say how its bytes are read; the manifest's ``kind``, ``size``,
    ``selection``, ``dtype`` and the entry's ``records``, ``bytes`` and ``dtype`` must agree.

    Raises:
        StoreSchemaError: naming the shard and the disagreeing field.
    """
    if header.kind != manifest["kind"]:
        raise fail_field(
            source, "kind", f"is {header.kind!r} but the manifest says {manifest['kind']!r}"
        )
    for key, have in (("records", header.records), ("bytes", header.size)):
        if have != entry[key]:
            raise fail_field(source, key, f"is {have} but the manifest's entry says {entry[key]}")
    problem = kind_for_manifest(manifest).shard_problem(header.sections)
    if problem is not None:
        raise fail_field(source, *problem)
    if "coeffs" not in header.sections:  # JPEG bytes
        return
    coeffs = header.sections["coeffs"]
    dtype = np.dtype(coeffs["dtype"]).name
    if dtype != entry.get("dtype"):
        raise fail_field(
            source,
            "dtype",
            f"is {dtype!r} in the header but the manifest's entry says {entry.get('dtype')!r}",
        )
    if not np.can_cast(dtype, manifest["dtype"], casting="safe"):
        raise fail_field(
            source,
            "dtype",
            f"{dtype!r} does not fit the manifest's dtype {manifest['dtype']!r}: values would wrap",
        )
