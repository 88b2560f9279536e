"""FreqLoader's source for a packed store (``freqpipe convert``): no decoding at all.

A batch is one ``read_batch`` gather from the memory-mapped shards straight into the loader's
(pinned) slot, whose fields the store declares (``batch_fields``: ``coefficients`` and
``quant`` for quantised records, ``dct`` for float16 DCT values); the output stage computes
what the store says it ``produces`` from them. Stores of JPEG bytes are read through the
ordinary coefficient source instead (:class:`StoreItems`).

A store is recognised by what it offers (:class:`RecordStore`), so this package never imports
:mod:`freqpipe.store`: the two are peers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from freqpipe.data._batch import BatchSpec, HostBatch, SampleRng
from freqpipe.data._source import ErrorPolicy, Source
from freqpipe.transforms import Selection

__all__ = ["RecordStore", "StoreItems", "StoreSource", "is_store"]


@runtime_checkable
class RecordStore(Protocol):
    """What the loader needs of a converted store (:class:`freqpipe.store.FreqStore` has it).

    Attributes:
        labels: (N,) int64 class index of every record.
        produces: what the output stage computes from a batch: ``"coefficients"``
            (dequantise), ``"dct"`` (normalise only) or ``"jpeg"`` (JPEG bytes: read through
            the coefficient source).
        selection: the channels stored.
        size: the crop side in pixels.
        chroma: how chroma reaches the luma grid (``"upsample"``, ``"full"``) or None.
    """

    labels: np.ndarray

    @property
    def produces(self) -> str: ...

    @property
    def selection(self) -> Selection: ...

    @property
    def size(self) -> int: ...

    @property
    def chroma(self) -> str | None: ...

    def __len__(self) -> int: ...

    def batch_fields(self) -> dict[str, tuple[tuple[int, ...], str]]:
        """The fields of a batch: name -> (per-record shape, dtype name), labels excluded."""
        ...

    def read_batch(self, indices: Any, out: Any = None, labels: np.ndarray | None = None) -> Any:
        """Gather records ``indices`` into the dict ``out`` (by field) and ``labels``."""
        ...

    def get_bytes(self, i: int) -> bytes:
        """The JPEG bytes of record ``i`` (stores that produce ``"jpeg"``)."""
        ...


def is_store(dataset: Any) -> bool:
    """Whether ``dataset`` is a converted store (a :class:`RecordStore`)."""
    return isinstance(dataset, RecordStore)


class StoreItems:
    """A store of original JPEG bytes seen as a dataset of ``(bytes, label)`` items."""

    def __init__(self, store: RecordStore):
        self.store = store

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, i: int) -> tuple[bytes, int]:
        return self.store.get_bytes(i), int(self.store.labels[i])


class StoreSource(Source):
    """Fill batches from a store of quantised (int8/int16) or float16 coefficient records.

    Args:
        store: an opened store (:class:`RecordStore`), e.g. :class:`freqpipe.store.FreqStore`.
        policy: the bad-file policy (a store holds no bad files; kept for the interface).
        batch_size: samples per slot.

    Attributes:
        produces: what the output stage computes from the slot (the store's ``produces``).
    """

    def __init__(self, store: RecordStore, policy: ErrorPolicy, *, batch_size: int):
        super().__init__(store, policy)
        self.produces = store.produces
        self.spec = BatchSpec(batch_size, dict(store.batch_fields()))

    def fill(self, batch: HostBatch, indices: Sequence[int], rng: SampleRng) -> None:
        """Gather the records ``indices`` into ``batch`` (one read per shard touched)."""
        n = len(indices)
        out = {name: batch.arrays[name][:n] for name in self.spec.fields}
        self.dataset.read_batch(np.asarray(indices, dtype=np.int64), out=out, labels=batch.labels)
        batch.count = n
        batch.meta["transfer"] = "stored"
        batch.targets = None
        if self.target_transform is not None or self.collate_fn is not None:
            self.set_targets(batch, batch.labels[:n].tolist())
