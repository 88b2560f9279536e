"""``coefficient_source``: freqpipe's native coefficient reader behind ``fn.external_source``.

The callable is FreqLoader's coefficient source (entropy decoding only, the window gathered,
cropped, flipped and channel-selected natively) packaged as a DALI batch-mode callback. It
holds only plain, picklable state and builds its reader lazily in whichever process calls it,
so it works with ``parallel=True`` (DALI's Python worker processes, ``fork`` or ``spawn``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from freqpipe.dali._common import PipelineSpec, resolve_files, shard_range
from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms import Selection

__all__ = ["CoefficientSource", "coefficient_source"]


class CoefficientSource:
    """A DALI batch callback yielding ``(q, quant, labels)`` for one shard, epoch by epoch.

    Call with DALI's ``BatchInfo`` (``batch_info=True``) or an iteration number (epoch 0).
    Each epoch is ``ceil(shard_size / batch_size)`` batches, the last one partial, then
    ``StopIteration``. Shuffling permutes the whole dataset with ``seed + epoch`` (the same on
    every shard, so shards stay disjoint and complete) before the shard is cut, as DALI's file
    reader cuts it (contiguous). Crops and flips come from per-sample streams seeded with
    ``(seed, epoch, index)``, exactly as FreqLoader's.

    Outputs per batch (NumPy, N <= batch_size):
        - ``q``: int16 (N, C, size/8, size/8) quantised selected channels;
        - ``quant``: int32 (N, C) each channel's quantisation value (uint16 values; DALI's
          PyTorch plugin has no uint16);
        - ``labels``: int64 (N,).

    Use :func:`coefficient_source` to make one.
    """

    def __init__(
        self,
        files: list[str],
        labels: list[int],
        *,
        batch_size: int,
        selection: Selection,
        size: int,
        train: bool,
        shuffle: bool,
        shard_id: int,
        num_shards: int,
        seed: int,
        on_error: str,
    ):
        self.files, self.labels = files, labels
        self.batch_size, self.selection, self.size = batch_size, selection, size
        self.train, self.shuffle, self.seed, self.on_error = train, shuffle, seed, on_error
        self.shard_id, self.num_shards = shard_id, num_shards
        self._start, self._end = shard_range(len(files), shard_id, num_shards)
        self._reader: Any = None

    @property
    def shard_size(self) -> int:
        """Samples in this shard per epoch."""
        return self._end - self._start

    def __len__(self) -> int:
        """Batches per epoch (the last may be partial)."""
        return math.ceil(self.shard_size / self.batch_size)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_reader"] = None  # rebuilt in the worker process
        state["selection"] = self.selection.to_json()  # Selection itself does not pickle
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["selection"] = Selection.from_json(state["selection"])
        self.__dict__.update(state)

    def indices(self, epoch: int) -> np.ndarray:
        """Dataset indices of this shard for ``epoch``, in reading order.

        Args:
            epoch: epoch number (0-based).

        Returns:
            int64 (shard_size,).
        """
        n = len(self.files)
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(n)
        else:
            order = np.arange(n)
        return order[self._start : self._end]

    def _build(self) -> Any:
        from freqpipe.data import CoefficientBatchReader, JpegFileList

        return CoefficientBatchReader(
            JpegFileList(self.files, self.labels),
            self.selection,
            size=self.size,
            batch_size=self.batch_size,
            train=self.train,
            on_error=self.on_error,
        )

    def __call__(self, info: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One batch: ``info`` is DALI's ``BatchInfo`` or an int iteration (epoch 0).

        Raises:
            StopIteration: the epoch is over.
        """
        if isinstance(info, (int, np.integer)):
            epoch, iteration = 0, int(info)
        else:
            epoch, iteration = int(info.epoch_idx), int(info.iteration)
        order = self.indices(epoch)
        chunk = order[iteration * self.batch_size : (iteration + 1) * self.batch_size]
        if chunk.size == 0:
            raise StopIteration
        if self._reader is None:
            self._reader = self._build()
        fields, labels = self._reader.read(chunk.tolist(), seed=self.seed, epoch=epoch)
        quant = fields["quant"].astype(np.int32)  # DALI's torch plugin has no uint16
        return fields["coefficients"], quant, labels

    def spec(
        self,
        *,
        device_id: int | None = None,
        normalize: Any = "default",
        dtype: Any = None,
        output_map: Sequence[str] = ("q", "quant", "y"),
    ) -> PipelineSpec:
        """The :class:`PipelineSpec` that tells :class:`Iterator` how to finish these batches.

        Args:
            device_id: the pipeline's GPU (output on ``cuda:device_id``) or None (CPU).
            normalize: as FreqLoader's ``normalize`` (``"default"``, None, stats, ...).
            dtype: torch float32 (default) or float16.
            output_map: the pipeline's output names for q, quant and labels, in order.

        Returns:
            The spec.
        """
        import torch

        from freqpipe.data import resolve_stats

        stats = resolve_stats(
            normalize, output="dct", selection=self.selection, channels=len(self.selection)
        )
        return PipelineSpec(
            source="coefficients",
            output="dct",
            selection=self.selection,
            size=self.size,
            stats=stats,
            dtype=torch.float32 if dtype is None else dtype,
            wavelet="bior4.4",
            kernel="iterator",
            device_id=device_id,
            batch_size=self.batch_size,
            shard_size=self.shard_size,
            reader_name=None,
            output_map=tuple(output_map),
        )


def coefficient_source(
    root_or_files: Any,
    *,
    batch_size: int,
    select: str | Selection = "dct24",
    size: int = 448,
    train: bool = True,
    shuffle: bool | None = None,
    shard_id: int = 0,
    num_shards: int = 1,
    seed: int = 0,
    labels: Sequence[int] | None = None,
    on_error: str = "raise",
) -> CoefficientSource:
    """Freqpipe's decode-free coefficient reader as a DALI ``external_source`` callback.

    Feed it to ``fn.external_source(source, num_outputs=3, batch=True, parallel=True,
    batch_info=True)``; the pipeline needs ``py_num_workers`` (and ``py_start_method="spawn"``
    once CUDA is initialised). :class:`Iterator` with ``spec=source.spec(...)`` dequantises and
    normalises, as FreqLoader's coefficient source does; :func:`pipeline` with
    ``source="coefficients"`` builds the whole thing.

    Args:
        root_or_files: a folder (``JpegFolder`` labels), a dataset of ``(path, label)`` or a
            sequence of paths.
        batch_size: samples per batch (the pipeline's batch size).
        select: DCT channel selection (preset name or :class:`Selection`).
        size: window side in pixels (multiple of 8): ``size / 8`` blocks at native resolution.
        train: random block-aligned windows and flips; otherwise the centred window.
        shuffle: reshuffle every epoch (default ``train``).
        shard_id: this shard.
        num_shards: number of shards (disjoint, complete, split as DALI's readers).
        seed: shuffling and augmentation seed; the same on every shard.
        labels: labels for a sequence of paths.
        on_error: bad files: ``"raise"``, ``"skip"`` or ``"warn"`` (as FreqLoader).

    Returns:
        A picklable :class:`CoefficientSource`; ``len()`` is batches per epoch.

    Raises:
        InvalidArgumentError: bad sizes, shards or selection.

    Example:
        >>> from freqpipe._samples import samples_path
        >>> src = coefficient_source(samples_path(), batch_size=3, size=64, train=False)
        >>> q, quant, y = src(0)
        >>> q.shape, q.dtype.name, quant.shape, y.tolist(), len(src)
        ((3, 24, 8, 8), 'int16', (3, 24), [0, 1, 2], 3)
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidArgumentError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if not isinstance(size, int) or size < 8 or size % 8:
        raise InvalidArgumentError(f"size must be a positive multiple of 8, got {size!r}")
    files, labs = resolve_files(root_or_files, labels)
    shard_range(len(files), shard_id, num_shards)  # validates
    return CoefficientSource(
        files,
        labs,
        batch_size=batch_size,
        selection=Selection.from_spec(select),
        size=size,
        train=bool(train),
        shuffle=bool(train if shuffle is None else shuffle),
        shard_id=shard_id,
        num_shards=num_shards,
        seed=int(seed),
        on_error=on_error,
    )
