"""``FreqStore``: a converted store as a dataset, read by memmap with no decoding.

What a record holds, the fields of a batch and which section fills each are the store's
record kind's (:mod:`freqpipe.store.kinds`); this module maps shards and gathers rows. A store of
whole-image records (``layout="whole"``) is read through one block-aligned window per record,
flipped where asked, so a loader can crop at random every epoch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from freqpipe.errors import InvalidArgumentError
from freqpipe.jpeg.scans import ScanPrefix
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
from freqpipe.store.kinds import BatchFields, RecordKind, kind_for_manifest
from freqpipe.store.schema import check_manifest, check_shard_matches
from freqpipe.transforms import Selection
from freqpipe.transforms.windows import center_window

__all__ = ["FreqStore", "StoreBatch", "shards_for_rank"]

#: The :class:`StoreBatch` attribute of each batch field (both coefficient fields are ``coeffs``).
_STORE_BATCH_NAMES = {
    "coefficients": "coeffs",
    "dct": "coeffs",
    "quant": "quant",
    "labels": "labels",
}


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

    @property
    def kind(self) -> RecordKind:
        """The record kind: what a record holds and how a batch of them is read."""
        return self._kind

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
        self._kind = kind_for_manifest(m)
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
            maps = {k: h.memmap(p, k) for k in h.sections}
            problems = self._kind.map_problems(maps, h.records, e.get("dtype"))
            if problems:
                raise StoreCorruptError("; ".join(problems), source=str(p))
            self._maps.append(maps)
            counts.append(h.records)
        self._starts = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)
        if self._maps:
            self.labels: np.ndarray = np.concatenate([mp["labels"] for mp in self._maps])
            self.indices: np.ndarray = np.concatenate([mp["index"] for mp in self._maps])
        else:
            self.labels = np.empty(0, np.int64)
            self.indices = np.empty(0, np.int64)
        #: (N, 2) luma block grid of each whole-image record; None: the records are fixed crops.
        self.grids: np.ndarray | None = None
        if self._kind.windowed:
            grids = [self._kind.grids(mp) for mp in self._maps]
            self.grids = np.concatenate([g for g in grids if g is not None] or [np.empty((0, 2))])
            self.grids = self.grids.astype(np.int64)
        # the channels an exact mirror negates: odd horizontal frequency (conventions §1)
        self._negate = (self.selection.frequencies % 8) % 2 == 1

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
        """``"quantized"``, ``"whole"``, ``"float16"`` or ``"jpeg"`` (the name of :attr:`kind`)."""
        return str(self.manifest["kind"])

    @property
    def produces(self) -> str:
        """What the loader's device stage computes from a batch (:attr:`RecordKind.produces`).

        ``"coefficients"`` (dequantise), ``"dct"`` (DCT values already) or ``"jpeg"`` (read
        through the loader's ordinary coefficient source).
        """
        return self.kind.produces

    def batch_fields(self) -> BatchFields:
        """The fields :meth:`read_batch` fills: name -> (per-record shape, dtype name).

        ``{"coefficients", "quant"}`` for quantised stores, ``{"dct"}`` for float16 ones.

        Raises:
            InvalidArgumentError: a ``jpeg`` store (read it with :meth:`get_bytes`).
        """
        return self.kind.batch_fields()

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
        """Crop side in pixels: of every record, or of the window a batch reads of whole images."""
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
    def max_side(self) -> int | None:
        """Whole-image records: the longest side images were scaled down to, or None."""
        return self.manifest.get("max_side")

    @property
    def record_shape(self) -> tuple[int, int, int]:
        """(C, size/8, size/8): a record, or the window a batch reads of a whole image."""
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
        """Record ``i`` as ``({"coeffs", "quant"} | {"coeffs"} | {"jpeg"}, label)``, copies.

        A whole-image record's ``coeffs`` is the whole image, (C, h, w) with ``grids[i]``.
        """
        s, j = self._locate(int(i))
        mp = self._maps[s]
        return self.kind.item(mp, j), int(mp["labels"][j])

    def get_bytes(self, i: int) -> bytes:
        """The original JPEG bytes of record ``i`` (``"jpeg"`` stores only).

        Raises:
            InvalidArgumentError: the store holds coefficients, not JPEG bytes.
        """
        kind = self.kind
        s, j = self._locate(int(i))
        return kind.record_jpeg(self._maps[s], j)

    def get_prefix(self, i: int, select: Selection | str) -> ScanPrefix | bytes:
        """Record ``i`` as the coefficient reader wanting ``select`` should get it (``"jpeg"``).

        A frequency-ordered store holds, per record, how many bytes hold each selection of
        its ``order`` exactly; this returns the record (a view of the mapped shard, nothing
        copied) with the shortest of those prefixes among the selections that contain
        ``select``, as a :class:`~freqpipe.jpeg.scans.ScanPrefix`: the reader decodes only
        that prefix and walks no markers. When no selection of the order contains
        ``select``, or the record's shard was written before prefixes were stored, it returns
        the bytes, and the reader finds the prefix itself.

        Raises:
            InvalidArgumentError: the store holds coefficients, not JPEG bytes.
            SelectionError: an unknown preset name.

        Example:
            >>> import tempfile
            >>> from freqpipe._samples import samples_path
            >>> from freqpipe.jpeg import read_coefficients
            >>> from freqpipe.store import convert
            >>> d = Path(tempfile.mkdtemp())
            >>> _ = convert(samples_path(), d, route="jpeg", order=["dct6", "all"],
            ...             progress=False)
            >>> src = FreqStore(d).get_prefix(0, "dct6")
            >>> c = read_coefficients(src, components=0, freqs=[0, 1, 8, 9])
            >>> c.bytes_read == src.end < c.total_bytes
            True
        """
        s, j = self._locate(int(i))
        return self.kind.record_source(self._maps[s], j, Selection.from_spec(select))

    @property
    def order(self) -> tuple[Selection, ...]:
        """``"jpeg"`` stores: the selections records are frequency-ordered by (or empty)."""
        return tuple(Selection.from_json(o) for o in self.manifest.get("order") or ())

    def prefix_lengths(self) -> tuple[np.ndarray, np.ndarray | None]:
        """``"jpeg"`` stores: bytes of every record and of its stored prefixes.

        Returns:
            ``(sizes, prefixes)``: int64 (N,) record sizes, and int64 (N, len(order)) the
            bytes that hold each selection of :attr:`order` exactly (the record's size where
            that needs every scan); ``prefixes`` is None when some shard predates them.

        Raises:
            InvalidArgumentError: the store holds coefficients, not JPEG bytes.
        """
        tables = [self.kind.lengths(mp) for mp in self._maps]
        sizes = np.concatenate([t[0] for t in tables] or [np.empty(0, np.int64)])
        if any(p is None for _, p in tables):
            return sizes, None
        k = len(self.order)
        return sizes, np.concatenate([p for _, p in tables if p is not None] or [np.empty((0, k))])

    def empty_batch(self, n: int) -> StoreBatch:
        """Allocate a :class:`StoreBatch` of ``n`` records (to pass as ``out=``).

        A loader may instead wrap pinned torch buffers (``tensor.numpy()``) of the same
        shapes and dtypes, as a dict by :meth:`batch_fields`.
        """
        arrays = {
            k: np.empty((n, *shape), dtype) for k, (shape, dtype) in self.batch_fields().items()
        }
        return self._as_store_batch(arrays, np.empty(n, np.int64))

    def read_batch(
        self,
        indices: Any,
        out: StoreBatch | dict[str, np.ndarray] | None = None,
        labels: np.ndarray | None = None,
        windows: Any = None,
    ) -> Any:
        """Gather records into one batch, in the order of ``indices``.

        Cost: one vectorised ``np.take`` per shard the batch touches (no per-record Python
        loop), a straight copy from the page cache into ``out``; a batch of records from one
        shard in one contiguous ``out`` range is copied with no temporary. Time grows with the
        bytes read and the number of distinct shards in the batch.

        Args:
            indices: record indices (N,) (negative counts from the end).
            out: optional :class:`StoreBatch`, or a dict of arrays by :meth:`batch_fields`,
                with at least N rows of the right shapes and dtypes (e.g. views of a pinned
                buffer); its first N rows are filled.
            labels: with a dict ``out``: an optional (>= N,) int64 array for the labels.
            windows: whole-image stores: (N, 3) ints ``(top, left, hflip)`` per record, the
                luma block of the ``size/8``-square window's corner (negative, or past the
                image: zero padding) and whether to flip it (exactly, conventions §1), as
                :func:`~freqpipe.transforms.windows.choose_window` returns them; default the
                centred window, unflipped (evaluation, the ``"crop"`` layout's record).

        Returns:
            A :class:`StoreBatch` of N rows (``out``'s first rows when given); with a dict
            ``out``, the dict of its first N rows (labels written into ``labels``).

        Raises:
            IndexError: an index out of range.
            InvalidArgumentError: a ``jpeg`` store, ``out`` of the wrong shape or dtype, or
                ``windows`` for a store of fixed crops or of the wrong shape.

        Example:
            >>> import tempfile
            >>> from freqpipe._samples import samples_path
            >>> from freqpipe.store import convert
            >>> d = Path(tempfile.mkdtemp())
            >>> _ = convert(samples_path(), d, select="dct6", size=32, layout="whole",
            ...             progress=False)
            >>> ds = FreqStore(d)
            >>> ds[0][0]["coeffs"].shape, ds.grids[0].tolist()
            ((6, 51, 80), [51, 80])
            >>> from freqpipe.transforms import hflip_dct
            >>> a = ds.read_batch([0, 0], windows=[(3, 5, False), (3, 5, True)]).coeffs
            >>> bool((a[1] == hflip_dct(a[0], frequencies=ds.selection.frequencies)).all())
            True
        """
        fields = self.batch_fields()
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        n, total = idx.shape[0], len(self)
        if n and (idx.min() < -total or idx.max() >= total):
            bad = int(idx[(idx < -total) | (idx >= total)][0])
            raise IndexError(f"record {bad} out of range for a store of {total}")
        idx = np.where(idx < 0, idx + total, idx)
        win = self._windows(idx, windows)
        if isinstance(out, dict):
            return self._fill(idx, out, labels, fields, lambda k: f"out[{k!r}]", win)
        res = (self.empty_batch(n) if out is None else out).head(n)
        arrays = self._store_batch_arrays(res, fields)
        self._fill(idx, arrays, res.labels, fields, lambda k: f"out.{_STORE_BATCH_NAMES[k]}", win)
        return res

    def _windows(self, idx: np.ndarray, windows: Any) -> np.ndarray | None:
        """(N, 3) int64 ``(top, left, hflip)`` of each record read, or None for fixed crops."""
        if self.grids is None:
            if windows is not None:
                raise InvalidArgumentError(
                    f"windows= needs whole-image records; this {self.record_kind} store holds "
                    "fixed centre crops (convert with layout='whole' to crop at load time)"
                )
            return None
        if windows is None:
            g = self.size // 8
            return np.array([(*center_window(tuple(self.grids[i]), g), 0) for i in idx], np.int64)
        win = np.asarray(windows, dtype=np.int64)
        if win.size == 0 and idx.shape[0] == 0:
            win = win.reshape(0, 3)
        if win.shape != (idx.shape[0], 3):
            raise InvalidArgumentError(
                f"windows must be (N={idx.shape[0]}, 3) (top, left, hflip), got {win.shape}"
            )
        return win.astype(np.int64)

    def _fill(
        self,
        idx: np.ndarray,
        out: dict[str, np.ndarray],
        labels: np.ndarray | None,
        fields: BatchFields,
        name_of: Any,
        windows: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Check ``out`` (and ``labels``) against ``fields``, then gather records ``idx``."""
        n = idx.shape[0]
        arrays = {k: v[:n] for k, v in out.items()}
        want = dict(fields)
        if labels is not None:
            arrays["labels"], want["labels"] = labels[:n], ((), "int64")
        for name, (shape, dtype) in want.items():
            arr = arrays.get(name)
            if arr is None:
                raise InvalidArgumentError(f"{name_of(name)} is missing")
            if arr.shape[1:] != tuple(shape) or arr.shape[0] < n or arr.dtype != np.dtype(dtype):
                raise InvalidArgumentError(
                    f"{name_of(name)} must be {np.dtype(dtype)} (>= {n}, "
                    f"{', '.join(map(str, shape))}), got {arr.dtype} {arr.shape}"
                )
        if labels is not None:
            np.take(self.labels, idx, out=arrays.pop("labels"), mode="clip")
        self._gather(idx, arrays, windows)
        return arrays

    def _gather(
        self, idx: np.ndarray, arrays: dict[str, np.ndarray], windows: np.ndarray | None
    ) -> None:
        """Fill ``arrays``' rows with records ``idx`` (non-negative), grouped by shard."""
        n = idx.shape[0]
        shard = np.searchsorted(self._starts, idx, side="right") - 1
        order = np.argsort(shard, kind="stable")
        cuts = np.flatnonzero(np.diff(shard[order])) + 1
        for group in np.split(order, cuts) if n else []:
            s = int(shard[group[0]])
            local = idx[group] - self._starts[s]
            win = None if windows is None else windows[group]
            self.kind.gather(self._maps[s], local, arrays, group, win, self._negate)

    def _store_batch_arrays(self, batch: StoreBatch, fields: BatchFields) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {}
        for name in fields:
            arr = getattr(batch, _STORE_BATCH_NAMES[name])
            if arr is None:
                raise InvalidArgumentError(
                    f"out.{_STORE_BATCH_NAMES[name]} is None but the store is {self.record_kind}"
                )
            arrays[name] = arr
        return arrays

    def _as_store_batch(self, arrays: dict[str, np.ndarray], labels: np.ndarray) -> StoreBatch:
        coeffs = arrays.get("coefficients", arrays.get("dct"))
        if coeffs is None:  # pragma: no cover - every readable kind has one
            raise InvalidArgumentError(f"a {self.record_kind} store has no coefficients to read")
        return StoreBatch(coeffs, arrays.get("quant"), labels)

    def __repr__(self) -> str:
        return (
            f"FreqStore({str(self.path)!r}, {len(self)} records, {self.record_kind}, "
            f"{self.manifest['dtype']} {self.record_shape}, {len(self.shard_entries)} shard(s))"
        )
