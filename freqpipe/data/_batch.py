"""Declared batch layouts and the reusable host buffers they allocate (FFCV habit).

A source declares, before anything runs, the arrays one batch slot holds (name -> per-sample
shape and dtype). The loader allocates ``slots`` such batches once (pinned when asked and a GPU
is present) and the workers refill them; nothing on the hot path allocates host buffers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["BatchSpec", "HostBatch", "SampleRng"]


@dataclass(frozen=True)
class BatchSpec:
    """What a source writes per sample: ``{name: (shape, dtype)}`` plus the batch size."""

    batch_size: int
    fields: dict[str, tuple[tuple[int, ...], str]]

    def nbytes_per_sample(self, names: tuple[str, ...] | None = None) -> int:
        """Bytes one sample occupies in the named fields (default all)."""
        keys = names if names is not None else tuple(self.fields)
        return sum(
            int(np.prod(self.fields[k][0], dtype=np.int64)) * np.dtype(self.fields[k][1]).itemsize
            for k in keys
        )


@dataclass(eq=False)
class HostBatch:
    """One reusable batch slot: arrays ``(batch_size, *shape)`` and per-batch state.

    Attributes:
        arrays: the declared fields, NumPy views (of pinned torch tensors when pinned).
        tensors: the same memory as torch tensors (for asynchronous copies), or empty.
        labels: int64 (batch_size,): the targets when every one is a plain int (the fast path:
            pinned, one asynchronous copy).
        targets: otherwise the batch's collated targets (``default_collate`` or the
            loader's ``collate_fn``), or None.
        count: samples filled in this use (the last batch may be partial).
        reuse_event: a CUDA event the next fill waits for (the H2D copy reading the slot).
        packed: for this use, fields sent as one buffer of variable-size parts instead of
            a ``(count, ...)`` array: name -> ``(array, pinned tensor or None)``, used as is
            (a transform's covers, the int8 transfer's escapes).
        meta: per-use facts a source reports (e.g. ``{"transfer": "int8"}``).
    """

    arrays: dict[str, np.ndarray]
    tensors: dict[str, Any]
    labels: np.ndarray
    targets: Any = None
    count: int = 0
    reuse_event: Any = None
    packed: dict[str, tuple[np.ndarray, Any]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def allocate(cls, spec: BatchSpec, *, pinned: bool) -> HostBatch:
        """Allocate a slot for ``spec`` (page-locked when ``pinned``)."""
        import torch

        arrays: dict[str, np.ndarray] = {}
        tensors: dict[str, Any] = {}
        names = dict(spec.fields)
        names["labels"] = ((), "int64")
        for name, (shape, dtype) in names.items():
            full = (spec.batch_size, *shape)
            if pinned:
                t = torch.empty(full, dtype=getattr(torch, np.dtype(dtype).name), pin_memory=True)
                tensors[name] = t
                arrays[name] = t.numpy()
            else:
                arrays[name] = np.zeros(full, dtype=dtype)
        labels = arrays.pop("labels")
        return cls(arrays=arrays, tensors=tensors, labels=labels)

    def view(self, name: str) -> np.ndarray:
        """The filled part of field ``name`` in this use."""
        if name in self.packed:
            return self.packed[name][0]
        return self.arrays[name][: self.count]

    def tensor(self, name: str) -> Any:
        """:meth:`view` as a torch tensor (the pinned memory itself when pinned)."""
        import torch

        if name in self.packed:
            array, pinned = self.packed[name]
            return torch.from_numpy(array) if pinned is None else pinned
        t = self.tensors.get(name)
        return torch.from_numpy(self.view(name)) if t is None else t[: self.count]

    def labels_tensor(self) -> Any:
        """The filled labels as a torch tensor (pinned when the slot is)."""
        import torch

        t = self.tensors.get("labels")
        return torch.from_numpy(self.labels[: self.count]) if t is None else t[: self.count]

    def wait_reusable(self) -> None:
        """Block until the last asynchronous copy out of this slot has finished."""
        event, self.reuse_event = self.reuse_event, None
        if event is not None:
            event.synchronize()


class SampleRng:
    """Per-sample random streams from (base seed, epoch, index): independent of threads.

    Example:
        >>> r = SampleRng(7, 0)
        >>> int(r.for_index(3).integers(100)) == int(SampleRng(7, 0).for_index(3).integers(100))
        True
    """

    def __init__(self, base_seed: int, epoch: int):
        self.base_seed = int(base_seed) & 0xFFFF_FFFF_FFFF_FFFF
        self.epoch = int(epoch)

    def for_index(self, index: int, attempt: int = 0) -> np.random.Generator:
        """The generator of one sample (``attempt`` > 0 for error-policy replacements)."""
        return np.random.default_rng([self.base_seed, self.epoch, int(index), int(attempt)])
