"""``FreqStore``: a converted store as a dataset, read by memmap with no decoding."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from freqpipe.errors import InvalidArgumentError
from freqpipe.store.format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST,
    SHARD_SUFFIX,
    IncompleteStoreError,
    StoreCorruptError,
    load_json,
    read_header,
)
from freqpipe.store.schema import check_manifest, check_shard_matches
from freqpipe.transforms import Selection

__all__ = ["FreqStore", "StoreBatch", "shards_for_rank"]


@dataclass
class StoreBatch:
    """One batch read from a store (NumPy arrays, possibly views of pinned memory).

    Attributes:
        coeffs: (N, C, h, w) in the store's dtype (int8 / int16 quantised, or float16).
        quant: (N, C) uint16 quant value per channel (quantised stores), else None.
        labels: (N,) int64.
    """

    coeffs: np.ndarray
    quant: np.ndarray | None
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def head(self, n: int) -> StoreBatch:
        """The first ``n`` rows (views)."""
        q = None if self.quant is None else self.quant[:n]
        return StoreBatch(self.coeffs[:n], q, self.labels[:n])


def shards_for_rank(manifest: dict[str, Any], rank: int, world_size: int) -> list[str]:
    """Names of the shards rank ``rank`` of ``world_size`` should open.

    When the store was converted with the same world size, a rank gets the shards it wrote
    (already on its node); otherwise shard ``i`` goes to rank ``i % world_size``.

    Example:
        >>> m = {"world_size": 2, "shards": [{"name": "a", "rank": 0}, {"name": "b", "rank": 1},
        ...      {"name": "c", "rank": 1}]}
        >>> shards_for_rank(m, 1, 2), shards_for_rank(m, 0, 3)
        (['b', 'c'], ['a'])
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise InvalidArgumentError(f"need 0 <= rank < world_size, got {rank} / {world_size}")
    shards = manifest["shards"]
    if manifest.get("world_size") == world_size:
        return [s["name"] for s in shards if s["rank"] == rank]
    return [s["name"] for i, s in enumerate(shards) if i % world_size == rank]


def load_manifest(path: Path) -> dict[str, Any]:
    """Read a store's manifest, with a clear error for an unfinished conversion."""
    mf = path / MANIFEST
    if not path.is_dir():
        raise IncompleteStoreError("no such store directory", source=str(path))
    if not mf.exists():
        n = len(list(path.glob(f"*{SHARD_SUFFIX}")))
        raise IncompleteStoreError(
            f"{MANIFEST} is missing: the conversion did not finish ({n} shard file(s) present). "
            "Finish it with `freqpipe convert SRC DST --resume` (or `freqpipe convert --merge "
            "DST` after a multi-rank run)",
            source=str(path),
        )
    manifest = load_json(mf)
    if manifest.get("format") != FORMAT_NAME or manifest.get("format_version") != FORMAT_VERSION:
        raise StoreCorruptError(
            f"not a {FORMAT_NAME} v{FORMAT_VERSION} manifest (format "
            f"{manifest.get('format')!r} v{manifest.get('format_version')!r})",
            source=str(mf),
        )
    return check_manifest(manifest, str(mf))


class FreqStore:
    """A converted store (``freqpipe convert``) as a map-style dataset.

    Each shard's sections are memory-mapped read-only: nothing is decoded, every process
    shares the OS page cache, and a batch is one gather per shard it touches.

    Args:
        path: the store directory.
        shards: names (``"shard-r0000-000003.fps"``) or positions in the manifest of the shards
            to open (default all); the dataset then covers only their records, in manifest
            order. See :meth:`for_rank`.

    Raises:
        IncompleteStoreError: no manifest (unfinished conversion: resume it).
        StoreCorruptError: a shard's size or header disagrees with the manifest.
        StoreSchemaError: a manifest or header field is missing, mistyped or inconsistent
            (a :class:`StoreCorruptError` naming the file and the field).
        InvalidArgumentError: an unknown shard.

    Example:
        >>> import tempfile
        >>> from freqpipe._samples import samples_path
        >>> from freqpipe.store import convert
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = convert(samples_path(), d, select="dct6", size=16, progress=False)
        >>> ds = FreqStore(d)
        >>> len(ds), ds.record_kind, ds.read_batch([3, 0]).coeffs.shape
        (8, 'quantized', (2, 6, 2, 2))
    """

    def __init__(self, path: str | os.PathLike[str], shards: list[str | int] | None = None):
        self.path = Path(path)
        self.manifest = load_manifest(self.path)
        self._shard_filter = None if shards is None else list(shards)
        self._open()

    @classmethod
    def for_rank(cls, path: str | os.PathLike[str], rank: int, world_size: int) -> FreqStore:
        """Open only the shards of one rank (see :func:`shards_for_rank`).

        Example:
            >>> import tempfile
            >>> from freqpipe._samples import samples_path
            >>> from freqpipe.store import convert
            >>> d = Path(tempfile.mkdtemp())
            >>> _ = convert(samples_path(), d, select="dct6", size=16, shard_size=3,
            ...             progress=False)
            >>> [len(FreqStore.for_rank(d, r, 2)) for r in (0, 1)]
            [5, 3]
        """
        return cls(path, shards=list(shards_for_rank(load_manifest(Path(path)), rank, world_size)))

    def _open(self) -> None:
        m = self.manifest
        entries = m["shards"]
        if self._shard_filter is not None:
            by_name = {s["name"]: i for i, s in enumerate(entries)}
            chosen = []
            for s in self._shard_filter:
                i = (
                    s
                    if isinstance(s, int)
                    else by_name.get(s if s.endswith(SHARD_SUFFIX) else s + SHARD_SUFFIX)
                )
                if i is None or not 0 <= i < len(entries):
                    raise InvalidArgumentError(f"no shard {s!r} in {self.path}", value=s)
                chosen.append(i)
            entries = [entries[i] for i in sorted(set(chosen))]
        self.shard_entries: list[dict[str, Any]] = entries
        self._maps: list[dict[str, np.ndarray]] = []
        counts = []
        for e in entries:
            p = self.path / e["name"]
            if not p.exists():
                raise StoreCorruptError(
                    "shard listed in the manifest is missing (copy it to this node, or open "
                    "only this node's shards with FreqStore.for_rank)",
                    source=str(p),
                )
            h = read_header(p)
            check_shard_matches(m, e, h, str(p))
            self._maps.append({k: h.memmap(p, k) for k in h.sections})
            counts.append(h.records)
        self._starts = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)
        if self._maps:
            self.labels: np.ndarray = np.concatenate([mp["labels"] for mp in self._maps])
            self.indices: np.ndarray = np.concatenate([mp["index"] for mp in self._maps])
        else:
            self.labels = np.empty(0, np.int64)
            self.indices = np.empty(0, np.int64)

    # pickling (DataLoader workers, spawn): ship the path, re-map in the child
    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "shards": self._shard_filter, "manifest": self.manifest}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self.manifest = state["manifest"]
        self._shard_filter = state["shards"]
        self._open()

    @property
    def record_kind(self) -> str:
        """``"quantized"``, ``"float16"`` or ``"jpeg"``."""
        return str(self.manifest["kind"])

    @property
    def classes(self) -> list[str]:
        """Class names; label ``i`` is ``classes[i]``."""
        return list(self.manifest["classes"])

    @property
    def selection(self) -> Selection:
        """The channels stored."""
        return Selection.from_json(self.manifest["selection"])

    @property
    def size(self) -> int:
        """Crop side in pixels; records are (C, size/8, size/8)."""
        return int(self.manifest["size"])

    @property
    def chroma(self) -> str | None:
        """``"upsample"`` (coefficient route), ``"full"`` (pixel route) or None (jpeg)."""
        return self.manifest["chroma"]

    @property
    def dtype(self) -> np.dtype:
        """Dtype of :attr:`StoreBatch.coeffs` (the widest shard dtype)."""
        return np.dtype(self.manifest["dtype"])

    @property
    def record_shape(self) -> tuple[int, int, int]:
        """(C, size/8, size/8)."""
        g = self.size // 8
        return (len(self.selection), g, g)

    def __len__(self) -> int:
        return int(self._starts[-1])

    def _locate(self, i: int) -> tuple[int, int]:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"record {i} out of range for a store of {n}")
        i %= n
        s = int(np.searchsorted(self._starts, i, side="right")) - 1
        return s, i - int(self._starts[s])

    def __getitem__(self, i: int) -> tuple[dict[str, np.ndarray], int]:
        """Record ``i`` as ``({"coeffs", "quant"} | {"coeffs"} | {"jpeg"}, label)``, copies."""
        s, j = self._locate(int(i))
        mp = self._maps[s]
        label = int(mp["labels"][j])
        if self.record_kind == "jpeg":
            return {"jpeg": np.frombuffer(self.get_bytes(i), np.uint8)}, label
        rec = {"coeffs": np.array(mp["coeffs"][j], dtype=self.dtype)}
        if "quant" in mp:
            rec["quant"] = np.array(mp["quant"][j])
        return rec, label

    def get_bytes(self, i: int) -> bytes:
        """The original JPEG bytes of record ``i`` (``"jpeg"`` stores only).

        Raises:
            InvalidArgumentError: the store holds coefficients, not JPEG bytes.
        """
        if self.record_kind != "jpeg":
            raise InvalidArgumentError(
                f"get_bytes needs a 'jpeg' store, this one is {self.record_kind!r}"
            )
        s, j = self._locate(int(i))
        mp = self._maps[s]
        a, b = int(mp["offsets"][j]), int(mp["offsets"][j + 1])
        return bytes(mp["data"][a:b])

    def empty_batch(self, n: int) -> StoreBatch:
        """Allocate a :class:`StoreBatch` of ``n`` records (to pass as ``out=``).

        A loader may instead wrap pinned torch buffers (``tensor.numpy()``) of the same
        shapes and dtypes.
        """
        if self.record_kind == "jpeg":
            raise InvalidArgumentError("read_batch is not available for a 'jpeg' store")
        quant = (
            np.empty((n, self.record_shape[0]), np.uint16)
            if self.record_kind == "quantized"
            else None
        )
        return StoreBatch(
            np.empty((n, *self.record_shape), self.dtype), quant, np.empty(n, np.int64)
        )

    def read_batch(self, indices: Any, out: StoreBatch | None = None) -> StoreBatch:
        """Gather records into one batch, in the order of ``indices``.

        Cost: one vectorised ``np.take`` per shard the batch touches (no per-record Python
        loop), a straight copy from the page cache into ``out``; a batch of records from one
        shard in one contiguous ``out`` range is copied with no temporary. Time grows with the
        bytes read and the number of distinct shards in the batch.

        Args:
            indices: record indices (N,) (negative counts from the end).
            out: optional :class:`StoreBatch` with at least N rows of the right shapes and
                dtypes (e.g. views of a pinned buffer); its first N rows are filled.

        Returns:
            :class:`StoreBatch` of N rows (``out``'s first rows when given).

        Raises:
            IndexError: an index out of range.
            InvalidArgumentError: a ``jpeg`` store, or ``out`` of the wrong shape or dtype.
        """
        if self.record_kind == "jpeg":
            raise InvalidArgumentError(
                "read_batch is not available for a 'jpeg' store; use get_bytes(i)"
            )
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n, total = idx.shape[0], len(self)
        if n and (idx.min() < -total or idx.max() >= total):
            bad = int(idx[(idx < -total) | (idx >= total)][0])
            raise IndexError(f"record {bad} out of range for a store of {total}")
        idx = np.where(idx < 0, idx + total, idx)
        if out is None:
            out = self.empty_batch(n)
        self._check_out(out, n)
        res = out.head(n)
        np.take(self.labels, idx, out=res.labels, mode="clip")
        shard = np.searchsorted(self._starts, idx, side="right") - 1
        order = np.argsort(shard, kind="stable")
        sorted_shards = shard[order]
        cuts = np.flatnonzero(np.diff(sorted_shards)) + 1
        for group in np.split(order, cuts) if n else []:
            s = int(shard[group[0]])
            local = idx[group] - self._starts[s]
            mp = self._maps[s]
            contiguous = group[-1] - group[0] + 1 == group.size and bool(
                np.all(np.diff(group) == 1)
            )
            fields = [("coeffs", res.coeffs)] + (
                [("quant", res.quant)] if res.quant is not None else []
            )
            for name, dst in fields:
                src = mp[name]
                if contiguous and src.dtype == dst.dtype:
                    np.take(src, local, axis=0, out=dst[group[0] : group[-1] + 1], mode="clip")
                else:
                    dst[group] = np.take(src, local, axis=0)
        return res

    def _check_out(self, out: StoreBatch, n: int) -> None:
        want = [
            ("coeffs", out.coeffs, self.record_shape, self.dtype),
            ("labels", out.labels, (), np.dtype(np.int64)),
        ]
        if self.record_kind == "quantized":
            if out.quant is None:
                raise InvalidArgumentError("out.quant is None but the store is quantised")
            want.append(("quant", out.quant, (self.record_shape[0],), np.dtype(np.uint16)))
        for name, arr, shape, dtype in want:
            if arr.shape[1:] != shape or arr.shape[0] < n or arr.dtype != dtype:
                raise InvalidArgumentError(
                    f"out.{name} must be {dtype} (>= {n}, {', '.join(map(str, shape))}), got "
                    f"{arr.dtype} {arr.shape}"
                )

    def __repr__(self) -> str:
        return (
            f"FreqStore({str(self.path)!r}, {len(self)} records, {self.record_kind}, "
            f"{self.manifest['dtype']} {self.record_shape}, {len(self.shard_entries)} shard(s))"
        )
