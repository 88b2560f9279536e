"""``freqpipe inspect STORE``: what a converted store holds, and its stored scan prefixes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from freqpipe.store import FreqStore
from freqpipe.store.format import MANIFEST
from freqpipe.transforms import Selection

__all__ = ["describe_store", "is_store_dir", "print_store"]


def is_store_dir(path: Path) -> bool:
    """Whether ``path`` is a store directory (it has a manifest) rather than a file."""
    return path.is_dir() and (path / MANIFEST).exists()


def _label(sel: Selection) -> str:
    return sel.name or f"custom ({len(sel)} channels)"


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else 0.0


def describe_store(path: Path) -> dict[str, Any]:
    """Everything ``inspect`` reports about one store, as a JSON-ready dict.

    For a frequency-ordered JPEG store, ``prefixes`` gives per selection of its order the mean
    bytes a reader of that selection is handed, against the mean record (None when its shards
    predate stored prefixes: the reader then walks each record's markers).

    Raises:
        FreqpipeError: the store cannot be opened (its manifest or a shard is bad).
    """
    store = FreqStore(path)
    info: dict[str, Any] = {
        "store": str(path),
        "kind": store.record_kind,
        "route": store.manifest.get("route"),
        "records": len(store),
        "shards": len(store.shard_entries),
        "selection": _label(store.selection),
        "size": store.size,
    }
    if store.record_kind != "jpeg":
        return info
    sizes, prefixes = store.prefix_lengths()
    info["order"] = [_label(s) for s in store.order]
    info["record_bytes"] = round(_mean(sizes), 1)
    info["prefixes"] = None
    if prefixes is not None and store.order:
        info["prefixes"] = [
            {
                "selection": _label(sel),
                "bytes": round(_mean(prefixes[:, s]), 1),
                "of_record": round(_mean(prefixes[:, s]) / max(_mean(sizes), 1.0), 4),
            }
            for s, sel in enumerate(store.order)
        ]
    return info


def print_store(info: dict[str, Any]) -> None:
    """The text form of :func:`describe_store`'s dict."""
    out = [
        f"{info['store']}  ({info['kind']} store, {info['records']:,} records in "
        f"{info['shards']} shard(s))",
        f"  selection    {info['selection']} at {info['size']}",
    ]
    if "order" in info:
        out.append(f"  order        {', '.join(info['order']) or 'none (files as they were)'}")
        out.append(f"  record       {info['record_bytes']:,.0f} bytes (mean)")
        if info["prefixes"] is None and info["order"]:
            out.append(
                "  prefixes     not stored (shards from an earlier freqpipe): the reader walks "
                "each record's markers"
            )
        for p in info["prefixes"] or []:
            width = max(len(q["selection"]) for q in info["prefixes"])
            out.append(
                f"  prefix       {p['selection']:<{width}}  {p['bytes']:>10,.0f} bytes "
                f"({p['of_record']:.1%} of the record)"
            )
    print("\n".join(out))
