"""The output stage: a filled host slot -> the batch's tensors on the loader's device.

Two parts with one job each. :func:`~freqpipe.data._outputs.compute_outputs` is the pure
computation (named fields in, arrays out). :class:`DeviceTransfer` owns what moves a slot to a
CUDA device (timm's PrefetchLoader pattern): page-locked slots, one side stream, and two events
per batch: one recorded after the copies guards the slot (the worker that refills it waits on
that event only), one recorded after the kernels makes the consumer's stream wait (no
device-wide synchronise). :class:`OutputStage` joins them for FreqLoader:

- CPU device: the worker that filled the slot also computes its output with the NumPy
  reference (:meth:`OutputStage.host_finish`), into fresh arrays that become the tensors;
- CUDA device: the consumer thread issues the copies and the kernels on the side stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from freqpipe.data._batch import BatchSpec, HostBatch
from freqpipe.data._outputs import OutputPlan, compute_outputs

__all__ = ["DeviceTransfer", "HostResult", "OutputStage"]

#: ``(batch tuple, event the consumer waits for, or None on the host)``.
Issued = tuple[tuple[Any, ...], Any]
#: A batch computed on the host: ``(output arrays, labels or collated targets)``.
HostResult = tuple[tuple[Any, ...], Any]


def _tensors(obj: Any) -> Iterator[Any]:
    """The torch tensors inside a batch structure (tuples, lists, dicts)."""
    import torch

    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, Mapping):
        for v in obj.values():
            yield from _tensors(v)
    elif isinstance(obj, (tuple, list)):
        for v in obj:
            yield from _tensors(v)


def _to_device(obj: Any, device: Any) -> Any:
    """Collated targets on ``device``, structure kept (as DataLoader's pin_memory walks it)."""
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, Mapping):
        return type(obj)({k: _to_device(v, device) for k, v in obj.items()})  # type: ignore[call-arg]
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return type(obj)(*(_to_device(v, device) for v in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj


class DeviceTransfer:
    """Host slots to a CUDA device: pinned slots, one side stream, the events that order them.

    Args:
        device: the CUDA torch device.
        pinned: allocate page-locked slots (asynchronous copies).
    """

    def __init__(self, device: Any, *, pinned: bool):
        self.device, self.pinned = device, pinned
        self._stream: Any = None

    def allocate(self, spec: BatchSpec) -> HostBatch:
        """A new slot for ``spec`` (page-locked when :attr:`pinned`)."""
        return HostBatch.allocate(spec, pinned=self.pinned)

    def issue(
        self,
        batch: HostBatch,
        names: tuple[str, ...],
        compute: Callable[[dict[str, Any]], tuple[Any, ...]],
    ) -> tuple[tuple[Any, ...], Any, Any]:
        """Copy the fields ``names`` and the targets, then run ``compute`` on the side stream.

        Sets ``batch.reuse_event`` (the slot may be released right after) and clears its
        targets.

        Returns:
            ``(outputs, targets, done)``: device tensors, and the event recorded after them.
        """
        import torch

        if self._stream is None:
            self._stream = torch.cuda.Stream(self.device)
        dev = self.device
        with torch.cuda.stream(self._stream):
            moved = {k: batch.tensor(k).to(dev, non_blocking=True) for k in names}
            if batch.targets is None:
                targets = batch.labels_tensor().to(dev, non_blocking=True)
            else:
                targets, batch.targets = _to_device(batch.targets, dev), None
            reuse = torch.cuda.Event()
            reuse.record(self._stream)
            batch.reuse_event = reuse
            outputs = compute(moved)
            done = torch.cuda.Event()
            done.record(self._stream)
        return outputs, targets, done

    def deliver(self, issued: Issued) -> tuple[Any, ...]:
        """Make the consumer's stream wait for an issued batch (an event, no device sync)."""
        out, done = issued
        if done is None:
            return out
        import torch

        consumer = torch.cuda.current_stream(self.device)
        consumer.wait_event(done)
        for u in _tensors(out):
            if u.is_cuda:
                u.record_stream(consumer)
        return out


class OutputStage:
    """Turns filled slots into ``(x, y)`` (or ``((y_dct, cbcr), y)``, or raw) batches.

    Args:
        plan: what to compute.
        device: the torch device of the batches.
        pinned: page-locked slots (a CUDA device only).
    """

    def __init__(self, plan: OutputPlan, device: Any, *, pinned: bool = False):
        self.plan, self.device = plan, device
        self.on_host = device.type == "cpu"
        self.transfer = DeviceTransfer(device, pinned=pinned and not self.on_host)
        #: what the issued batches sent (on a CPU device, would send): input bytes, labels
        #: at 8 bytes each, and their samples; counted by the one consumer thread.
        self.sent_bytes = 0
        self.sent_samples = 0

    def host_finish(self, batch: HostBatch) -> HostResult:
        """The slot's batch computed on the host (CPU device, in the worker that filled it).

        Returns:
            ``(outputs, labels)`` in memory of their own: the slot can be refilled at once.
        """
        n = batch.count
        fields = {k: batch.view(k) for k in self.plan.sent_fields}
        labels = batch.labels[:n].copy() if batch.targets is None else batch.targets
        batch.targets = None
        return compute_outputs(fields, self.plan), labels

    def issue(self, batch: HostBatch, finished: HostResult | None = None) -> Issued:
        """Start moving a filled slot to the device; returns ``(batch tuple, event)``.

        Args:
            batch: the filled slot.
            finished: on a CPU device, what :meth:`host_finish` returned for it.

        The slot may be released right after: on CUDA its ``reuse_event`` guards the copy.
        Call :meth:`deliver` before handing the batch to the consumer.
        """
        self.sent_bytes += sum(batch.view(k).nbytes for k in self.plan.sent_fields)
        self.sent_bytes += 8 * batch.count
        self.sent_samples += batch.count
        if self.on_host:
            import torch

            if finished is None:
                raise RuntimeError("a CPU device's batch is computed by host_finish first")
            outputs, labels = finished
            xs = tuple(torch.from_numpy(x) for x in outputs)
            if isinstance(labels, np.ndarray):
                labels = torch.from_numpy(labels)
            return self._arrange(xs, labels), None
        xs, labels, done = self.transfer.issue(
            batch, self.plan.sent_fields, lambda moved: compute_outputs(moved, self.plan)
        )
        return self._arrange(xs, labels), done

    def deliver(self, issued: Issued) -> tuple[Any, ...]:
        """The batch of an issued slot, ready on the consumer's stream."""
        return self.transfer.deliver(issued)

    def _arrange(self, outputs: tuple[Any, ...], labels: Any) -> tuple[Any, ...]:
        """The batch as the loader yields it: raw fields flat, separate chroma as a pair."""
        if self.plan.raw:
            return (*outputs, labels)
        if self.plan.separate:
            return (outputs[0], outputs[1]), labels
        return outputs[0], labels
