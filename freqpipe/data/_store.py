"""FreqLoader's source for a packed store (``freqpipe convert``): no decoding at all.

A batch is one ``read_batch`` gather from the memory-mapped shards straight into the loader's
(pinned) slot, whose fields the store declares (``batch_fields``: ``coefficients`` and
``quant`` for quantised records, ``dct`` for float16 DCT values); the output stage computes
what the store says it ``produces`` from them. Stores of JPEG bytes are read through the
ordinary coefficient source instead (:class:`StoreItems`), each record handed to it as the
stored prefix of the loader's selection where the store has one (``get_prefix``). A store
of whole-image records (``layout="whole"``) is read through one window per sample, placed by
:func:`~freqpipe.transforms.windows.choose_window` from the sample's own random stream exactly
as the coefficient source places it on a file: random with a random flip when training,
centred when evaluating. A store of fixed centre crops cannot augment
(:func:`store_train`).

A store is recognised by what it offers (:class:`RecordStore`), so this package never imports
:mod:`freqpipe.store`: the two are peers.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from freqpipe.data._batch import BatchSpec, HostBatch, SampleRng
from freqpipe.data._packing import TransferPacking, dc_flags
from freqpipe.data._source import ErrorPolicy, Source
from freqpipe.errors import FixedCropStoreError, FixedCropWarning
from freqpipe.transforms import Selection
from freqpipe.transforms.windows import choose_window

__all__ = ["RecordStore", "StoreItems", "StoreSource", "is_store", "store_train"]


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
        grids: (N, 2) luma block grid of each whole-image record (``read_batch`` then takes
            ``windows=``); None when every record is a fixed crop of ``size``.
    """

    labels: np.ndarray
    grids: np.ndarray | None

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

    def read_batch(
        self, indices: Any, out: Any = None, labels: np.ndarray | None = None, windows: Any = None
    ) -> Any:
        """Gather records ``indices`` (one ``(top, left, hflip)`` window each) into ``out``."""
        ...

    def get_bytes(self, i: int) -> bytes:
        """The JPEG bytes of record ``i`` (stores that produce ``"jpeg"``)."""
        ...

    def get_prefix(self, i: int, select: Selection | str) -> Any:
        """Record ``i`` for a coefficient reader wanting ``select`` (``"jpeg"`` stores).

        A :class:`~freqpipe.jpeg.scans.ScanPrefix` when the store knows the prefix, else bytes.
        """
        ...


def is_store(dataset: Any) -> bool:
    """Whether ``dataset`` is a converted store (a :class:`RecordStore`)."""
    return isinstance(dataset, RecordStore)


def store_train(store: RecordStore, train: bool, *, explicit: bool) -> bool:
    """Whether a loader over ``store`` augments: a store of fixed centre crops cannot.

    Args:
        store: the store.
        train: what the user asked for, or what ``shuffle`` / the sampler implied.
        explicit: the user passed ``train=True`` (rather than ``shuffle=True`` implying it).

    Returns:
        ``train``, or False for a store of fixed crops (after the warning).

    Raises:
        FixedCropStoreError: ``train=True`` passed for a store of fixed crops.

    Warns:
        FixedCropWarning: training implied for a store of fixed crops; it loads without
            augmentation.
    """
    if not train or store.grids is not None:
        return train
    source = str(getattr(store, "path", "")) or None
    why = (
        "this store holds fixed centre crops (convert's default layout 'crop', for evaluation): "
        "every epoch would see the same tensors, unflipped. To train, convert with "
        "`freqpipe convert SRC DST --layout whole` (layout='whole'), whose records the loader "
        "crops and flips at random"
    )
    if explicit:
        raise FixedCropStoreError(f"train=True: {why}; or pass train=False", source=source)
    warnings.warn(
        f"{source}: shuffle=True implies training, but {why}. Loading without augmentation "
        "(pass train=False to silence this)",
        FixedCropWarning,
        stacklevel=3,
    )
    return False


class StoreItems:
    """A store of JPEG bytes seen as a dataset of ``(source, label)`` items.

    Args:
        store: a store that produces ``"jpeg"``.
        select: the channels the coefficient reader will be asked for; each item is then the
            store's prefix for them (``get_prefix``: only those bytes are decoded, no marker
            walk). None: the records' whole bytes (pixel decodes, transforms).
    """

    def __init__(self, store: RecordStore, select: Selection | None = None):
        self.store = store
        self.select = select

    def for_selection(self, select: Selection) -> StoreItems:
        """The same records, as prefixes for ``select`` (the coefficient source's items)."""
        return StoreItems(self.store, select)

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        label = int(self.store.labels[i])
        if self.select is None:
            return self.store.get_bytes(i), label
        return self.store.get_prefix(i, self.select), label


class StoreSource(Source):
    """Fill batches from a store of quantised (int8/int16) or float16 coefficient records.

    Args:
        store: an opened store (:class:`RecordStore`), e.g. :class:`freqpipe.store.FreqStore`.
        policy: the bad-file policy (a store holds no bad files; kept for the interface).
        batch_size: samples per slot.
        train: whole-image stores: random windows and flips (else centred windows).
        transfer: ``"int16"``, or ``"int8"``: an int16 store's batches are packed plane by
            plane (:mod:`freqpipe.data._packing`), which crosses instead; an int8 store's
            records cross as they are.

    Attributes:
        produces: what the output stage computes from the slot (the store's ``produces``).
        packing: the int8 transfer's packing, or None.
    """

    def __init__(
        self,
        store: RecordStore,
        policy: ErrorPolicy,
        *,
        batch_size: int,
        train: bool = False,
        transfer: str = "int16",
    ):
        super().__init__(store, policy)
        self.produces = store.produces
        fields = dict(store.batch_fields())
        self.packing = None
        coefficients = fields.get("coefficients")
        if transfer == "int8" and coefficients is not None and coefficients[1] == "int16":
            self.packing = TransferPacking(fields, dc_flags(store.selection, separate=False))
            fields.update(self.packing.fields)
        self.spec = BatchSpec(batch_size, fields)
        self.train = train
        self.blocks = store.size // 8

    def _windows(self, indices: Sequence[int], rng: SampleRng) -> list[tuple[int, int, bool]]:
        """Each whole-image record's window: the coefficient source's, from the same stream."""
        grids = self.dataset.grids
        return [
            choose_window(
                (int(grids[i][0]), int(grids[i][1])),
                self.blocks,
                train=self.train,
                rng=rng.for_index(int(i)) if self.train else None,
            )
            for i in indices
        ]

    def fill(self, batch: HostBatch, indices: Sequence[int], rng: SampleRng) -> None:
        """Gather the records ``indices`` into ``batch`` (one read per shard touched)."""
        n = len(indices)
        out = {name: batch.arrays[name][:n] for name in self.dataset.batch_fields()}
        windows = None if self.dataset.grids is None else self._windows(indices, rng)
        self.dataset.read_batch(
            np.asarray(indices, dtype=np.int64), out=out, labels=batch.labels, windows=windows
        )
        batch.count = n
        batch.meta["transfer"] = "stored" if self.packing is None else "int8"
        if self.packing is not None:
            self.packing.pack(batch)
        batch.targets = None
        if self.target_transform is not None or self.collate_fn is not None:
            self.set_targets(batch, batch.labels[:n].tolist())
