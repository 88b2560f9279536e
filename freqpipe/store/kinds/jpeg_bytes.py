"""JPEG bytes: the original file, or frequency-ordered, for random crops at load time.

With ``RecordSpec.order`` each file is rewritten by :func:`~freqpipe.jpeg.reorder_jpeg` so a
reader stops after the scans of the selection it loads. A shard holds the bytes back to back
(``data``) and an offset table (``offsets``, n + 1); the loader reads the records through its
ordinary coefficient source, so this kind has no batch fields.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from freqpipe.jpeg import read_coefficients, reorder_jpeg
from freqpipe.store.kinds.base import RecordKind

if TYPE_CHECKING:
    from freqpipe.store.records import RecordSpec

__all__ = ["JpegBytesKind"]


class JpegBytesKind(RecordKind):
    """A file's bytes per record, plain or frequency-ordered."""

    name = "jpeg"
    produces = "jpeg"
    sections = ("data", "offsets")
    shard_dtypes = ()
    manifest_dtypes = ("uint8",)

    @classmethod
    def holds(cls, spec: RecordSpec) -> bool:
        """The jpeg route."""
        return spec.route == "jpeg"

    @classmethod
    def encode_dtype(cls, spec: RecordSpec) -> str:
        """uint8 bytes."""
        return "uint8"

    def allocate(self, n: int) -> dict[str, Any]:
        """One bytes object per input."""
        return {"bytes": [b""] * n}

    def encode(self, spec: RecordSpec, path: str, buffers: dict[str, Any], j: int) -> None:
        """Read the file; reorder it (a strict full decode too), or validate it by decoding."""
        with open(path, "rb") as f:
            data = f.read()
        if spec.order is not None:
            buffers["bytes"][j] = reorder_jpeg(data, spec.order)
            return
        read_coefficients(data, components=0, freqs=[0])  # validate: full entropy decode
        buffers["bytes"][j] = data

    def pack(self, spec: RecordSpec, buffers: dict[str, Any], ok: np.ndarray) -> dict[str, Any]:
        """The kept files back to back, with their n + 1 offsets."""
        blobs = [b for b, keep in zip(buffers["bytes"], ok) if keep]
        ends = np.cumsum([len(b) for b in blobs])
        return {
            "data": np.frombuffer(b"".join(blobs), np.uint8),
            "offsets": np.concatenate([[0], ends]).astype(np.uint64),
        }

    def bytes_per_record(self, spec: RecordSpec, sample: list[str]) -> int:
        """The mean file size of ``sample``."""
        return int(np.mean([os.path.getsize(p) for p in sample])) if sample else 1

    def layout(self) -> dict[str, Any]:
        """``jpeg``: uint8 of any length."""
        return {"jpeg": {"dtype": "uint8", "shape": [None]}}

    def map_problems(self, maps: dict[str, np.ndarray], records: int, dtype: str) -> list[str]:
        """The offset table: n + 1 increasing offsets ending at the data section's length."""
        off = np.asarray(maps["offsets"], np.int64)
        if off.shape != (records + 1,) or (
            records and (np.any(np.diff(off) <= 0) or off[-1] != maps["data"].shape[0])
        ):
            return ["JPEG offset table inconsistent with the data section"]
        return []

    def item(self, maps: dict[str, np.ndarray], j: int) -> dict[str, np.ndarray]:
        """``{"jpeg": uint8 bytes}``."""
        return {"jpeg": np.frombuffer(self.record_jpeg(maps, j), np.uint8)}

    def record_jpeg(self, maps: dict[str, np.ndarray], j: int) -> bytes:
        """The bytes between offsets ``j`` and ``j + 1``."""
        a, b = int(maps["offsets"][j]), int(maps["offsets"][j + 1])
        return bytes(maps["data"][a:b])
