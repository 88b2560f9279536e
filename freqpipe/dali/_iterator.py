"""``Iterator``: FreqLoader's ``(x, y)`` contract on top of DALI's ``DALIGenericIterator``."""

from __future__ import annotations

import math
from collections.abc import Iterator as _PyIterator
from typing import Any

from freqpipe.dali._common import PipelineSpec, require_dali
from freqpipe.dali._stage import finish_batch, output_plan
from freqpipe.errors import InvalidArgumentError

__all__ = ["Iterator"]

_POLICIES = ("partial", "drop", "fill")


class Iterator:
    """Iterate a freqpipe DALI pipeline as a DataLoader: ``(x, y)`` torch batches, ``len()``.

    Wraps (does not subclass) ``nvidia.dali.plugin.pytorch.DALIGenericIterator``; each batch
    is ``(x, y)`` exactly as :class:`~freqpipe.data.FreqLoader` gives it: ``x`` the output of
    freqpipe's transform (run here when the pipeline's kernel placement is ``"iterator"``), in
    the spec's dtype, on the pipeline's device (``cuda:device_id``, or the CPU); ``y`` int64
    (N,) labels on the same device.

    Last batch (``last_batch_policy``): ``"partial"`` (default; like ``DataLoader(drop_last=
    False)``: every sample of the shard once, the last batch smaller), ``"drop"`` (like
    ``drop_last=True``) or ``"fill"`` (file reader only: the last batch padded to full size
    by repeating the shard's last sample). ``len()`` is ``ceil(shard_size / batch_size)`` for
    partial and fill, ``floor`` for drop. DALI runs every shard for as many steps as the
    largest one; a step that holds only padding is skipped here, so with ``num_shards`` not
    dividing the dataset ranks may differ by one batch (use ``"drop"`` under DDP then); when
    shuffling, DALI also rotates shards between epochs, so such a shard's epoch can be one
    batch longer or shorter than ``len()`` (its size in epoch 0). The
    iterator resets itself at the end of each epoch, so ``for`` works every epoch.

    Args:
        pipelines: a pipeline from :func:`pipeline` (or several, one per GPU) or any DALI
            pipeline together with ``spec``.
        spec: overrides the pipelines' ``freqpipe_spec`` (e.g. ``coefficient_source(...)
            .spec()`` for a hand-written pipeline).
        last_batch_policy: ``"partial"``, ``"drop"`` or ``"fill"``.
        prepare_first_batch: let DALI start the first batch at construction.

    Raises:
        MissingExtraError: DALI is not installed.
        InvalidArgumentError: no spec, or a bad policy.

    Example:
        >>> import freqpipe as fp
        >>> it = fp.dali.Iterator(fp.dali.pipeline(fp.samples_path(), batch_size=3, size=64,
        ...                                        device_id=None))  # doctest: +SKIP
        >>> len(it), [len(y) for _, y in it]  # doctest: +SKIP
        (3, [3, 3, 2])
    """

    def __init__(
        self,
        pipelines: Any,
        *,
        spec: PipelineSpec | None = None,
        last_batch_policy: str = "partial",
        prepare_first_batch: bool = True,
    ):
        require_dali()
        from nvidia.dali.plugin.pytorch import DALIGenericIterator, LastBatchPolicy

        pipes = list(pipelines) if isinstance(pipelines, (list, tuple)) else [pipelines]
        if not pipes:
            raise InvalidArgumentError("Iterator needs at least one pipeline")
        spec = spec if spec is not None else getattr(pipes[0], "freqpipe_spec", None)
        if spec is None:
            raise InvalidArgumentError(
                "the pipeline has no freqpipe_spec: build it with freqpipe.dali.pipeline, or "
                "pass spec= (e.g. coefficient_source(...).spec())"
            )
        policy = str(getattr(last_batch_policy, "name", last_batch_policy)).lower()
        if policy not in _POLICIES:
            raise InvalidArgumentError(
                f"last_batch_policy must be one of {', '.join(_POLICIES)}, got "
                f"{last_batch_policy!r}",
                value=last_batch_policy,
            )
        self.spec = spec
        self.last_batch_policy = policy
        self.batch_size = spec.batch_size
        self._plan = output_plan(spec)
        dali_policy = getattr(LastBatchPolicy, policy.upper())
        kwargs: dict[str, Any] = {}
        if spec.reader_name is not None:
            kwargs["reader_name"] = spec.reader_name
        elif policy == "fill":
            raise InvalidArgumentError(
                "last_batch_policy='fill' needs a file reader; the coefficient source supports "
                "'partial' and 'drop'"
            )
        else:  # the external source ends its epochs itself (StopIteration), batches may vary
            dali_policy = LastBatchPolicy.PARTIAL
        self._dali = DALIGenericIterator(
            pipes,
            list(spec.output_map),
            last_batch_policy=dali_policy,
            auto_reset=True,
            prepare_first_batch=prepare_first_batch,
            **kwargs,
        )

    def __len__(self) -> int:
        """Batches per epoch (per pipeline)."""
        n, b = self.spec.shard_size, self.batch_size
        return n // b if self.last_batch_policy == "drop" else math.ceil(n / b)

    def __iter__(self) -> _PyIterator[tuple[Any, Any]]:
        """Yield ``(x, y)`` batches for one epoch (of the first pipeline's device)."""
        names = self.spec.output_map
        for outputs in self._dali:
            data = outputs[0]
            n = len(data[names[-1]])
            # a shard smaller than the largest one gets a batch of padding only: skip it
            if n == 0 or (self.last_batch_policy == "drop" and n < self.batch_size):
                continue
            if self.spec.kernel == "pipeline" and self.spec.source == "pixels":
                x, y = data[names[0]], data[names[1]]
                yield x.to(self.spec.dtype), y.reshape(-1).long().to(x.device)
                continue
            if self.spec.source == "coefficients":
                fields = {"coefficients": data[names[0]], "quant": data[names[1]]}
            else:
                fields = {"pixels": data[names[0]]}
            yield finish_batch(self._plan, self.spec, fields, data[names[-1]])

    def reset(self) -> None:
        """Rewind DALI's iterator (only needed when an epoch is left unfinished)."""
        self._dali.reset()

    def __repr__(self) -> str:
        s = self.spec
        return (
            f"freqpipe.dali.Iterator(output={s.output!r}, source={s.source!r}, "
            f"kernel={s.kernel!r}, batch_size={s.batch_size}, len={len(self)}, "
            f"last_batch_policy={self.last_batch_policy!r})"
        )
