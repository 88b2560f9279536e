r"""The source seam: an object that fills a preallocated batch slot for given dataset indices.

A :class:`Source` declares its :class:`~freqpipe.data._batch.BatchSpec` up front and
implements ``fill(batch, indices, rng)``. The JPEG sources subclass :class:`SampleSource`: they
implement ``load_one`` and inherit a ``fill`` that applies the bad-file policy per sample; a
source that reads whole batches at once (the packed store) implements ``fill`` itself.
"""

from __future__ import annotations

import logging
import threading
import warnings
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from torch.utils.data import default_collate

from freqpipe.data._batch import BatchSpec, HostBatch, SampleRng
from freqpipe.errors import BadFileWarning, FreqpipeError, InvalidArgumentError, file_reason
from freqpipe.jpeg.datasets import item_name

__all__ = ["ON_ERROR", "BadFileWarning", "ErrorPolicy", "SampleSource", "Source"]

ON_ERROR = ("raise", "skip", "warn")

_log = logging.getLogger("freqpipe.data")

#: Replacement attempts for one bad sample before giving up.
_MAX_ATTEMPTS = 16


class ErrorPolicy:
    """What to do with a file that cannot be read: ``"raise"``, ``"skip"`` or ``"warn"``.

    ``skip`` and ``warn`` replace the sample with another one drawn deterministically from
    the sample's own random stream, so the batch keeps its size and runs stay reproducible.
    Counting is by file, not by attempt: :attr:`skipped` is the number of distinct samples of
    the current epoch that were bad (a replacement that is bad too does not count again),
    :attr:`bad_files` every distinct bad file met so far with its reason. ``warn`` reports
    each bad file once per epoch with ``warnings.warn``.
    """

    def __init__(self, mode: str):
        if mode not in ON_ERROR:
            raise InvalidArgumentError(
                f"on_error must be one of {', '.join(ON_ERROR)}, got {mode!r}", value=mode
            )
        self.mode = mode
        self._epoch: int | None = None
        self._bad_samples: set[int] = set()
        self._warned: set[str] = set()
        self._bad_files: dict[str, str] = {}
        self._fallback_files: dict[str, str] = {}
        self._lock = threading.Lock()

    def begin_epoch(self, epoch: int) -> None:
        """Start counting a new epoch (a second iterator of the same epoch shares the count)."""
        with self._lock:
            if epoch != self._epoch:
                self._epoch = epoch
                self._bad_samples = set()
                self._warned = set()

    def state_dict(self) -> dict[str, Any]:
        """The counts, as builtins: this epoch's bad samples, every bad and fallback file."""
        with self._lock:
            return {
                "epoch": self._epoch,
                "bad_samples": sorted(self._bad_samples),
                "warned": sorted(self._warned),
                "bad_files": dict(self._bad_files),
                "fallback_files": dict(self._fallback_files),
            }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue counting from ``state`` (what :meth:`state_dict` returned)."""
        with self._lock:
            self._epoch = state["epoch"]
            self._bad_samples = set(state["bad_samples"])
            self._warned = set(state["warned"])
            self._bad_files = dict(state["bad_files"])
            self._fallback_files = dict(state["fallback_files"])

    @property
    def skipped(self) -> int:
        """Distinct samples of the current epoch that were bad files."""
        return len(self._bad_samples)

    @property
    def bad_files(self) -> list[tuple[str, str]]:
        """``(file, reason)`` of every distinct bad file met so far, sorted by file."""
        with self._lock:
            return sorted(self._bad_files.items())

    def record(self, sample: int, name: str, exc: BaseException) -> None:
        """Note that ``name`` (read for sample ``sample``) is bad; warn when the mode says so."""
        reason = file_reason(exc)
        with self._lock:
            self._bad_samples.add(sample)
            self._bad_files.setdefault(name, reason)
            first = name not in self._warned
            self._warned.add(name)
        if self.mode == "warn" and first:
            warnings.warn(f"skipped {name}: {reason}", BadFileWarning, stacklevel=2)

    def record_fallback(self, name: str, reason: str) -> None:
        """Note that ``name`` went through the Pillow fallback; log it once at INFO."""
        with self._lock:
            new = name not in self._fallback_files
            self._fallback_files.setdefault(name, reason)
        if new:
            _log.info("%s: %s; decoded with Pillow (per-file fallback)", name, reason)

    @property
    def fallbacks(self) -> dict[str, int]:
        """Distinct files that went through the fallback so far, per reason."""
        with self._lock:
            return dict(Counter(self._fallback_files.values()))


def _plain_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _bad_file_error(exc: BaseException, name: str) -> FreqpipeError:
    """The error of ``on_error="raise"``: the file, the reason, and what FreqLoader offers."""
    hint = "pass on_error='skip' to replace bad files and count them in loader.skipped"
    if getattr(exc, "recoverable", False):
        hint = f"pass strict=False to accept what libjpeg recovers, or {hint[5:]}"
    if isinstance(exc, FreqpipeError):
        keep = exc.source not in (None, "<bytes>")
        return exc.retold(source=None if keep else name, hint=hint)
    return FreqpipeError(f"cannot load: {type(exc).__name__}: {exc}", source=name, hint=hint)


class Source(ABC):
    """What fills a batch slot: declares its :class:`BatchSpec`, then fills slots by index.

    Args:
        dataset: the map-style dataset the indices refer to.
        policy: the bad-file policy.
    """

    spec: BatchSpec
    #: What the slot holds (``freqpipe.data._outputs.PRODUCES``): the output stage's input.
    produces: str

    def __init__(self, dataset: Any, policy: ErrorPolicy):
        self.dataset = dataset
        self.policy = policy
        #: Applied to each target (as torchvision datasets' ``target_transform``).
        self.target_transform: Callable[[Any], Any] | None = None
        #: Collates the list of a batch's targets (default: ``default_collate``).
        self.collate_fn: Callable[[list[Any]], Any] | None = None

    def set_targets(self, batch: HostBatch, targets: list[Any]) -> None:
        """Store a batch's targets: int64 ``labels`` when all are ints, else collated.

        Collation is torch's ``default_collate`` (or ``collate_fn``) of the list of targets,
        so float, soft, multi-hot, tuple and dict targets come out as DataLoader's would.
        """
        if self.target_transform is not None:
            targets = [self.target_transform(t) for t in targets]
        batch.targets = None
        if self.collate_fn is None and all(_plain_int(t) for t in targets):
            batch.labels[: len(targets)] = targets
            return
        batch.targets = (self.collate_fn or default_collate)(targets)

    @abstractmethod
    def fill(self, batch: HostBatch, indices: Sequence[int], rng: SampleRng) -> None:
        """Fill ``batch`` with the samples ``indices``; labels and ``count`` included."""


class SampleSource(Source):
    """A source that reads JPEG files one sample at a time, under the bad-file policy.

    A source that can read only part of a file (the block rows of a crop) reads each file
    whole the first time, so damage anywhere in it is found then, whatever the crop, and
    parts of it afterwards (:meth:`read_whole`, :meth:`mark_read_whole`): a file either fails
    in its first epoch, as a DataLoader's would, or never.
    """

    def __init__(self, dataset: Any, policy: ErrorPolicy):
        super().__init__(dataset, policy)
        self._read_whole = bytearray(len(dataset))  # 1: read whole without error
        self._loading = threading.local()  # the index each worker thread is loading

    def read_whole(self) -> bool:
        """Whether the sample being loaded (this thread's) was once read whole without error."""
        return bool(self._read_whole[self._loading.index])

    def mark_read_whole(self) -> None:
        """Record that the sample being loaded was just read whole without error."""
        self._read_whole[self._loading.index] = 1

    @abstractmethod
    def load_one(self, batch: HostBatch, pos: int, source: Any, name: str, rng: Any) -> None:
        """Read one file into position ``pos`` of ``batch`` (raise on a bad file)."""

    def finish(self, batch: HostBatch) -> None:
        """Per-batch work after all samples are in (default: nothing)."""

    def fill(self, batch: HostBatch, indices: Sequence[int], rng: SampleRng) -> None:
        """Fill ``batch`` with the samples ``indices``; labels and ``count`` included.

        Args:
            batch: the slot (its arrays are overwritten from position 0).
            indices: dataset indices, at most ``spec.batch_size``.
            rng: per-sample random streams for this epoch.

        Raises:
            FreqpipeError: a bad file under ``on_error="raise"`` (naming it), or no readable
                replacement found under ``skip`` / ``warn``.
        """
        n_items = len(self.dataset)
        targets: list[Any] = []
        for pos, sample in enumerate(indices):
            index = sample = int(sample)
            for attempt in range(_MAX_ATTEMPTS):
                source, label = self.dataset[index]
                name = item_name(source, index)
                self._loading.index = index
                try:
                    self.load_one(batch, pos, source, name, rng.for_index(index, attempt))
                except (FreqpipeError, OSError, ValueError) as exc:
                    if self.policy.mode == "raise":
                        raise _bad_file_error(exc, name) from exc
                    self.policy.record(sample, name, exc)
                    index = int(rng.for_index(index, attempt + 1).integers(n_items))
                    continue
                targets.append(label)
                break
            else:
                raise FreqpipeError(
                    f"no readable replacement after {_MAX_ATTEMPTS} attempts "
                    f"(on_error={self.policy.mode!r})",
                    source=name,
                )
        batch.count = len(indices)
        self.set_targets(batch, targets)
        self.finish(batch)
