"""FreqLoader's source for a packed store (``freqpipe convert``): no decoding at all.

A batch is one :meth:`FreqStore.read_batch` gather from the memory-mapped shards straight into
the loader's (pinned) slot, in the same ``q``/``quant`` layout the coefficient source fills, so
the output stage (one host-to-device copy, dequantise and normalise on the device) is shared.
Stores of JPEG bytes are read through the ordinary coefficient source instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from freqpipe.data._batch import BatchSpec, HostBatch, SampleRng
from freqpipe.data._source import ErrorPolicy, Source

__all__ = ["StoreItems", "StoreSource", "is_store"]


def is_store(dataset: Any) -> bool:
    """Whether ``dataset`` is a :class:`freqpipe.store.FreqStore` (without importing it)."""
    return type(dataset).__module__.startswith("freqpipe.store") and hasattr(dataset, "read_batch")


class StoreItems:
    """A store of original JPEG bytes seen as a dataset of ``(bytes, label)`` items."""

    def __init__(self, store: Any):
        self.store = store

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, i: int) -> tuple[bytes, int]:
        return self.store.get_bytes(i), int(self.store.labels[i])


class StoreSource(Source):
    """Fill batches from a store of quantised (int8/int16) or float16 coefficient records.

    Args:
        store: an opened :class:`freqpipe.store.FreqStore`.
        policy: the bad-file policy (a store holds no bad files; kept for the interface).
        batch_size: samples per slot.
    """

    def __init__(self, store: Any, policy: ErrorPolicy, *, batch_size: int):
        super().__init__(store, policy)
        self.quantized = store.record_kind == "quantized"
        self.produces = "coefficients" if self.quantized else "dct"
        channels = store.record_shape[0]
        fields = {self.produces: (tuple(store.record_shape), np.dtype(store.dtype).name)}
        if self.quantized:
            fields["quant"] = ((channels,), "uint16")
        self.spec = BatchSpec(batch_size, fields)

    def fill(self, batch: HostBatch, indices: Sequence[int], rng: SampleRng) -> None:
        """Gather the records ``indices`` into ``batch`` (one read per shard touched)."""
        from freqpipe.store import StoreBatch

        n = len(indices)
        quant = batch.arrays["quant"][:n] if self.quantized else None
        out = StoreBatch(batch.arrays[self.produces][:n], quant, batch.labels[:n])
        self.dataset.read_batch(np.asarray(indices, dtype=np.int64), out=out)
        batch.count = n
        batch.meta["transfer"] = "stored"
        batch.targets = None
        if self.target_transform is not None or self.collate_fn is not None:
            self.set_targets(batch, batch.labels[:n].tolist())
