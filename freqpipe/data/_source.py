r"""The source seam: an object that fills a preallocated batch slot for given dataset indices.

A :class:`Source` declares its :class:`~freqpipe.data._batch.BatchSpec` up front and
implements ``fill(batch, indices, rng)``. The JPEG sources subclass :class:`SampleSource`: they
implement ``load_one`` and inherit a ``fill`` that applies the bad-file policy per sample; a
source that reads whole batches at once (the packed store) implements ``fill`` itself.
"""

from __future__ import annotations

import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from freqpipe.data._batch import BatchSpec, HostBatch, SampleRng
from freqpipe.data.datasets import item_name
from freqpipe.errors import BadFileWarning, FreqpipeError, InvalidArgumentError

__all__ = ["ON_ERROR", "BadFileWarning", "ErrorPolicy", "SampleSource", "Source"]

ON_ERROR = ("raise", "skip", "warn")

#: Replacement attempts for one bad sample before giving up.
_MAX_ATTEMPTS = 16


class ErrorPolicy:
    """What to do with a file that cannot be read: ``"raise"``, ``"skip"`` or ``"warn"``.

    ``skip`` and ``warn`` replace the sample with another one drawn deterministically from
    the sample's own random stream, so the batch keeps its size and runs stay reproducible;
    each skipped file is counted (and, for ``warn``, reported with ``warnings.warn``).
    """

    def __init__(self, mode: str):
        if mode not in ON_ERROR:
            raise InvalidArgumentError(
                f"on_error must be one of {', '.join(ON_ERROR)}, got {mode!r}", value=mode
            )
        self.mode = mode
        self.skipped = 0
        self.skipped_files: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def record(self, name: str, exc: BaseException) -> None:
        """Count a skipped file (thread-safe) and warn when the mode says so."""
        reason = getattr(exc, "reason", None) or str(exc)
        with self._lock:
            self.skipped += 1
            if len(self.skipped_files) < 1000:
                self.skipped_files.append((name, reason))
        if self.mode == "warn":
            warnings.warn(f"skipped {name}: {reason}", BadFileWarning, stacklevel=2)


def _bad_file_error(exc: BaseException, name: str) -> FreqpipeError:
    """A FreqpipeError that names the file and the reason (the original when it does)."""
    if isinstance(exc, FreqpipeError):
        if exc.source not in (None, "<bytes>"):
            return exc
        try:
            return type(exc)(exc.reason, source=name, offset=exc.offset)
        except TypeError:
            return FreqpipeError(exc.reason, source=name, offset=exc.offset)
    return FreqpipeError(f"cannot load: {type(exc).__name__}: {exc}", source=name)


class Source(ABC):
    """What fills a batch slot: declares its :class:`BatchSpec`, then fills slots by index.

    Args:
        dataset: the map-style dataset the indices refer to.
        policy: the bad-file policy.
    """

    spec: BatchSpec

    def __init__(self, dataset: Any, policy: ErrorPolicy):
        self.dataset = dataset
        self.policy = policy

    @abstractmethod
    def fill(self, batch: HostBatch, indices: Sequence[int], rng: SampleRng) -> None:
        """Fill ``batch`` with the samples ``indices``; labels and ``count`` included."""


class SampleSource(Source):
    """A source that reads JPEG files one sample at a time, under the bad-file policy."""

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
        for pos, index in enumerate(indices):
            index = int(index)
            for attempt in range(_MAX_ATTEMPTS):
                source, label = self.dataset[index]
                name = item_name(source, index)
                try:
                    self.load_one(batch, pos, source, name, rng.for_index(index, attempt))
                except (FreqpipeError, OSError, ValueError) as exc:
                    if self.policy.mode == "raise":
                        raise _bad_file_error(exc, name) from exc
                    self.policy.record(name, exc)
                    index = int(rng.for_index(index, attempt + 1).integers(n_items))
                    continue
                batch.labels[pos] = int(label)
                break
            else:
                raise FreqpipeError(
                    f"no readable replacement after {_MAX_ATTEMPTS} attempts "
                    f"(on_error={self.policy.mode!r})",
                    source=name,
                )
        batch.count = len(indices)
        self.finish(batch)
