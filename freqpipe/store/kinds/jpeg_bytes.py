"""JPEG bytes: the original file, or frequency-ordered, for random crops at load time.

With ``RecordSpec.order`` each file is rewritten by :func:`~freqpipe.jpeg.reorder_jpeg` so a
reader stops after the scans of the selection it loads. A shard holds the bytes back to back
(``data``), an offset table (``offsets``, n + 1) and, per record, the length of the prefix
that holds each selection of the order exactly (``prefixes``, (n, len(order)), from
:func:`~freqpipe.jpeg.prefix_lengths` at conversion). The loader reads the records through
its ordinary coefficient source, so this kind has no batch fields; it hands the reader only
the stored prefix of the selection asked for (:meth:`JpegBytesKind.record_source`), so neither
the bytes past it nor a marker walk are touched. Shards from before ``prefixes`` existed
lack the section: their records go to the reader whole, and it walks the markers itself.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from freqpipe.jpeg import prefix_lengths, read_coefficients, reorder_jpeg
from freqpipe.jpeg.scans import ScanPrefix
from freqpipe.store.kinds.base import RecordKind
from freqpipe.transforms import Selection

if TYPE_CHECKING:
    from freqpipe.store.records import RecordSpec

__all__ = ["JpegBytesKind"]

#: verify lists at most this many records with wrong prefix lengths per shard.
_MAX_LISTED = 5


class JpegBytesKind(RecordKind):
    """A file's bytes per record, plain or frequency-ordered.

    Args:
        shape: as :class:`RecordKind`.
        dtype: as :class:`RecordKind`.
        order: the selections the records are ordered by (the manifest's ``order``), smallest
            first; empty for plain files.
    """

    name = "jpeg"
    produces = "jpeg"
    sections = ("data", "offsets", "prefixes")
    optional_sections = ("prefixes",)
    shard_dtypes = ()
    manifest_dtypes = ("uint8",)

    def __init__(
        self, shape: tuple[int, int, int], dtype: str, order: tuple[Selection, ...] = ()
    ) -> None:
        super().__init__(shape, dtype)
        self.order = tuple(order)
        self._columns: dict[Selection, np.ndarray] = {}

    @classmethod
    def from_manifest(cls, shape: tuple[int, int, int], manifest: dict[str, Any]) -> RecordKind:
        """The kind, with the manifest's ``order`` (the columns of ``prefixes``)."""
        order = tuple(Selection.from_json(o) for o in manifest.get("order") or ())
        return cls(shape, manifest["dtype"], order)

    @classmethod
    def holds(cls, spec: RecordSpec) -> bool:
        """The jpeg route."""
        return spec.route == "jpeg"

    @classmethod
    def encode_dtype(cls, spec: RecordSpec) -> str:
        """uint8 bytes."""
        return "uint8"

    def allocate(self, n: int) -> dict[str, Any]:
        """One bytes object and one list of prefix lengths per input."""
        return {"bytes": [b""] * n, "prefixes": [[]] * n}

    def encode(self, spec: RecordSpec, path: str, buffers: dict[str, Any], j: int) -> None:
        """Read the file; reorder it (a strict full decode too), or validate it by decoding."""
        with open(path, "rb") as f:
            data = f.read()
        if spec.order is not None:
            data = reorder_jpeg(data, spec.order)
            # The reader's own rule (scan_table + prefix_end), run once here, not per load.
            buffers["prefixes"][j] = prefix_lengths(data, spec.order)
            buffers["bytes"][j] = data
            return
        read_coefficients(data, components=0, freqs=[0])  # validate: full entropy decode
        buffers["bytes"][j] = data

    def pack(self, spec: RecordSpec, buffers: dict[str, Any], ok: np.ndarray) -> dict[str, Any]:
        """The kept files back to back, with their n + 1 offsets and (n, k) prefix lengths."""
        blobs = [b for b, keep in zip(buffers["bytes"], ok) if keep]
        ends = np.cumsum([len(b) for b in blobs])
        k = len(spec.order or ())
        kept = [p for p, keep in zip(buffers["prefixes"], ok) if keep]
        return {
            "data": np.frombuffer(b"".join(blobs), np.uint8),
            "offsets": np.concatenate([[0], ends]).astype(np.uint64),
            "prefixes": np.asarray(kept, np.uint64).reshape(len(kept), k),
        }

    def bytes_per_record(self, spec: RecordSpec, sample: list[str]) -> int:
        """The mean file size of ``sample``."""
        return int(np.mean([os.path.getsize(p) for p in sample])) if sample else 1

    def layout(self) -> dict[str, Any]:
        """``jpeg``: uint8 of any length."""
        return {"jpeg": {"dtype": "uint8", "shape": [None]}}

    def shard_problem(self, sections: dict[str, dict[str, Any]]) -> tuple[str, str] | None:
        """``prefixes``, when present, has one column per selection of the order."""
        prefixes = sections.get("prefixes")
        if prefixes is not None and list(prefixes["shape"][1:]) != [len(self.order)]:
            return (
                "sections.prefixes.shape",
                f"{prefixes['shape']} does not have one column per selection of the "
                f"manifest's order ({len(self.order)})",
            )
        return None

    def map_problems(self, maps: dict[str, np.ndarray], records: int, dtype: str) -> list[str]:
        """Offsets: n + 1, increasing, ending at the data's length; prefixes within records."""
        off = np.asarray(maps["offsets"], np.int64)
        if off.shape != (records + 1,) or (
            records and (np.any(np.diff(off) <= 0) or off[-1] != maps["data"].shape[0])
        ):
            return ["JPEG offset table inconsistent with the data section"]
        prefixes = maps.get("prefixes")
        if prefixes is not None and prefixes.size:
            p = np.asarray(prefixes, np.int64)
            outside = (p < 1) | (p > np.diff(off)[:, None])
            if outside.any():
                j, s = (int(v) for v in np.argwhere(outside)[0])
                return [
                    f"record {j}: prefix length {int(p[j, s])} for order[{s}] lies outside "
                    f"its {int(off[j + 1] - off[j])} bytes"
                ]
        return []

    def content_problems(self, maps: dict[str, np.ndarray]) -> list[str]:
        """Each stored prefix length against a fresh walk of its record's scans."""
        prefixes = maps.get("prefixes")
        if prefixes is None or not self.order:
            return []
        wrong = []
        for j in range(prefixes.shape[0]):
            fresh = prefix_lengths(self._record(maps, j), self.order)
            if [int(v) for v in prefixes[j]] != fresh:
                wrong.append((j, prefixes[j].tolist(), fresh))
        problems = [
            f"record {j}: stored prefix lengths {have} but its scans give {fresh}"
            for j, have, fresh in wrong[:_MAX_LISTED]
        ]
        if len(wrong) > _MAX_LISTED:
            problems.append(f"{len(wrong) - _MAX_LISTED} more records with wrong prefix lengths")
        return problems

    def item(self, maps: dict[str, np.ndarray], j: int) -> dict[str, np.ndarray]:
        """``{"jpeg": uint8 bytes}``."""
        return {"jpeg": np.frombuffer(self.record_jpeg(maps, j), np.uint8)}

    def record_jpeg(self, maps: dict[str, np.ndarray], j: int) -> bytes:
        """The bytes between offsets ``j`` and ``j + 1``."""
        return bytes(self._record(maps, j))

    def _record(self, maps: dict[str, np.ndarray], j: int) -> np.ndarray:
        """Record ``j`` as a view of the mapped data section (nothing copied)."""
        a, b = int(maps["offsets"][j]), int(maps["offsets"][j + 1])
        return maps["data"][a:b]

    def covering(self, select: Selection) -> np.ndarray:
        """Indices of the order's selections that hold every channel of ``select``.

        Example:
            >>> from freqpipe.transforms import Selection as S
            >>> k = JpegBytesKind((0, 0, 0), "uint8", (S.preset("dct6"), S.preset("all")))
            >>> k.covering(S.preset("dct6")).tolist(), k.covering(S.preset("dct24")).tolist()
            ([0, 1], [1])
        """
        columns = self._columns.get(select)
        if columns is None:  # a loader asks for one selection, over and over
            columns = np.array(
                [s for s, sel in enumerate(self.order) if select.issubset(sel)], np.intp
            )
            self._columns[select] = columns
        return columns

    def record_source(
        self, maps: dict[str, np.ndarray], j: int, select: Selection
    ) -> ScanPrefix | bytes:
        """What to hand the reader for record ``j`` when it wants ``select``.

        The shortest stored prefix among the order's selections that hold ``select`` (its
        coefficients are exact in each of them), as a :class:`~freqpipe.jpeg.scans.ScanPrefix`
        over the mapped record; the record's bytes when no selection of the order holds
        ``select`` or the shard predates stored prefixes (the reader then walks the markers).
        """
        columns = self.covering(select)
        prefixes = maps.get("prefixes")
        if prefixes is None or not columns.size:
            return self.record_jpeg(maps, j)
        return ScanPrefix(self._record(maps, j), int(prefixes[j, columns].min()))

    def lengths(self, maps: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """(n,) bytes of each record and (n, len(order)) its stored prefix lengths (or None)."""
        sizes = np.diff(np.asarray(maps["offsets"], np.int64))
        prefixes = maps.get("prefixes")
        return sizes, None if prefixes is None else np.asarray(prefixes, np.int64)
