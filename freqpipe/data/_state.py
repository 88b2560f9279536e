"""Checkpointing a loader: what an epoch is a function of, and how far an iterator got in it.

An epoch's batches are a function of what the loader holds when the epoch starts: the states
of the generators its base seed and its sampler draw from, the sampler's own state (a
``DistributedSampler``'s epoch and seed) and the epoch number; every sample's augmentation
then comes from (base seed, epoch, index). So a checkpoint is that start plus a count of the
batches delivered, and a resume replays the start and fast-forwards the batch sampler's index
lists without reading a file (conventions §10).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DistributedSampler

from freqpipe.data._elastic import ElasticSampler
from freqpipe.errors import LoaderStateError

__all__ = [
    "FORMAT_VERSION",
    "EpochPosition",
    "EpochStart",
    "check_header",
    "index_sampler",
    "restore_samplers",
]

#: Version of the layout of ``FreqLoader.state_dict()``; a state of another version is refused.
FORMAT_VERSION = 1

#: DistributedSampler settings that fix which indices a rank gets: a resume needs the same.
_DISTRIBUTED_KEYS = ("num_replicas", "rank", "seed", "shuffle", "drop_last")


def _mismatch(key: str, saved: Any, current: Any, hint: str) -> LoaderStateError:
    return LoaderStateError(
        f"{key}: the state was saved with {saved!r}, this loader has {current!r}; {hint}",
        key=key,
        saved=saved,
        current=current,
    )


def check_header(saved: dict[str, Any], current: dict[str, Any]) -> None:
    """Refuse a state whose format, dataset length, batch size or drop_last differ.

    Args:
        saved: the state given to ``load_state_dict``.
        current: the same entries of this loader's own state.

    Raises:
        LoaderStateError: naming the first entry that differs, with both values.

    Example:
        >>> head = {"format_version": 1, "dataset_length": 8, "batch_size": 2, "drop_last": False}
        >>> try:
        ...     check_header(head, {**head, "batch_size": 4})
        ... except LoaderStateError as e:
        ...     print(e.key, e.saved, e.current)
        batch_size 2 4
    """
    if not isinstance(saved, dict) or saved.get("format_version") != FORMAT_VERSION:
        version = saved.get("format_version") if isinstance(saved, dict) else None
        hint = "this freqpipe reads only loader states of its own format version"
        raise _mismatch("format_version", version, FORMAT_VERSION, hint)
    for key in ("dataset_length", "batch_size", "drop_last"):
        if saved.get(key) != current[key]:
            raise _mismatch(
                key, saved.get(key), current[key], "build the loader as the checkpointed run did"
            )


def index_sampler(batch_sampler: Any) -> Any:
    """The sampler of indices under a batch sampler (None for a custom one without it)."""
    return getattr(batch_sampler, "sampler", None)


def _own_generator(sampler: Any) -> bool:
    """Whether the sampler shuffles with a generator attribute (torch's random samplers)."""
    return isinstance(getattr(sampler, "generator", None), torch.Generator)


def _draws_from_global(sampler: Any, generator: torch.Generator | None) -> bool:
    """Whether the epoch's draws use torch's global generator (no generator was given)."""
    sampler_global = hasattr(sampler, "generator") and sampler.generator is None
    return generator is None or sampler_global


def _sampler_state(sampler: Any) -> dict[str, Any] | None:
    """What a sampler's next iteration is a function of (not a position inside it)."""
    if sampler is None:
        return None
    kind = type(sampler).__name__
    if hasattr(sampler, "state_dict"):
        return {"type": kind, "state": sampler.state_dict()}
    if isinstance(sampler, DistributedSampler):
        return {"type": kind, "epoch": int(sampler.epoch)} | {
            k: getattr(sampler, k) for k in _DISTRIBUTED_KEYS
        }
    return {"type": kind}


@dataclass
class EpochStart:
    """What one epoch's batches are a function of, taken before anything of it is drawn.

    Attributes:
        epoch: the epoch number.
        rng: generator states by role: ``"loader"`` (the loader's ``generator``),
            ``"sampler"`` (a sampler's own generator), ``"global"`` (torch's, when either is
            None).
        sampler: the sampler's state (:func:`_sampler_state`), or None.
        batch_sampler: a custom batch sampler's own ``state_dict()``, or None.
        base_seed: the epoch's base seed once drawn.
        drew_seed: whether the epoch drew its base seed (False: persistent workers reuse it).
    """

    epoch: int
    rng: dict[str, torch.Tensor]
    sampler: dict[str, Any] | None
    batch_sampler: dict[str, Any] | None
    base_seed: int | None = None
    drew_seed: bool = True

    @classmethod
    def capture(cls, epoch: int, generator: Any, batch_sampler: Any) -> EpochStart:
        """The start of an epoch as things stand now."""
        sampler = index_sampler(batch_sampler)
        rng: dict[str, torch.Tensor] = {}
        if generator is not None:
            rng["loader"] = generator.get_state()
        if _own_generator(sampler) and sampler.generator is not generator:
            rng["sampler"] = sampler.generator.get_state()
        if _draws_from_global(sampler, generator):
            rng["global"] = torch.get_rng_state()
        own = batch_sampler.state_dict() if hasattr(batch_sampler, "state_dict") else None
        return cls(epoch, rng, _sampler_state(sampler), own)

    @contextlib.contextmanager
    def global_rng(self) -> Iterator[None]:
        """Run the epoch's draws from torch's global generator as saved; then put it back."""
        if "global" not in self.rng:
            yield
            return
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self.rng["global"])
            yield

    def to_state(self) -> dict[str, Any]:
        """Builtins and tensors, for ``torch.save``."""
        return {
            "epoch": self.epoch,
            "rng": dict(self.rng),
            "sampler": self.sampler,
            "batch_sampler": self.batch_sampler,
            "base_seed": self.base_seed,
            "drew_seed": self.drew_seed,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> EpochStart:
        """The inverse of :meth:`to_state`."""
        return cls(
            epoch=int(state["epoch"]),
            rng=dict(state["rng"]),
            sampler=state["sampler"],
            batch_sampler=state["batch_sampler"],
            base_seed=state["base_seed"],
            drew_seed=bool(state["drew_seed"]),
        )


def restore_samplers(
    start: EpochStart, generator: Any, batch_sampler: Any, samples_per_rank: int
) -> None:
    """Put the generators and samplers back as they were at ``start``.

    Torch's global generator is left alone here (:meth:`EpochStart.global_rng` uses it only
    while an epoch replays its draws). An :class:`ElasticSampler` is also told how many
    samples each rank had taken, so it shares out the rest to the current ranks.

    Raises:
        LoaderStateError: a generator the state has and the loader lacks (or the reverse), a
            sampler of another type, or a DistributedSampler with other settings.
    """
    sampler = index_sampler(batch_sampler)
    for role, owner in (("loader", generator), ("sampler", getattr(sampler, "generator", None))):
        if role not in start.rng:
            continue
        if not isinstance(owner, torch.Generator):
            hint = "pass the generator the checkpointed run had"
            raise _mismatch(f"generator ({role})", "a torch.Generator", owner, hint)
        owner.set_state(start.rng[role])
    if generator is not None and "loader" not in start.rng:
        hint = "the checkpointed run drew from torch's global generator: pass generator=None"
        raise _mismatch("generator (loader)", None, "a torch.Generator", hint)
    saved = start.sampler
    current = _sampler_state(sampler)
    saved_type = saved["type"] if saved else None
    current_type = current["type"] if current else None
    if saved_type != current_type:
        raise _mismatch("sampler", saved_type, current_type, "use the sampler the run used")
    if saved is not None and isinstance(sampler, ElasticSampler):
        sampler.load_state_dict(saved["state"], samples_per_rank=samples_per_rank)
    elif saved is not None and "state" in saved:
        sampler.load_state_dict(saved["state"])
    elif saved is not None and isinstance(sampler, DistributedSampler):
        for key in _DISTRIBUTED_KEYS:
            if saved[key] != getattr(sampler, key):
                hint = "use the same settings"
                if key == "num_replicas":
                    hint = "to resume at another world size, sample with fp.ElasticSampler"
                raise _mismatch(f"sampler.{key}", saved[key], getattr(sampler, key), hint)
        sampler.set_epoch(saved["epoch"])
    if start.batch_sampler is not None:
        batch_sampler.load_state_dict(start.batch_sampler)


@dataclass
class EpochPosition:
    """Where an iterator is in its epoch: the epoch's start and the batches delivered.

    Attributes:
        start: what the epoch was started from.
        batches: batches delivered to the consumer.
        lengths: the length of every index list handed out so far, in order.
    """

    start: EpochStart
    batches: int = 0
    lengths: list[int] = field(default_factory=list)

    @property
    def samples(self) -> int:
        """Samples of the delivered batches."""
        return sum(self.lengths[: self.batches])

    def track(self, batches: Iterator[list[int]], skip: int) -> Iterator[list[int]]:
        """The epoch's index lists, counted, after ``skip`` of them (no file is read).

        The first remaining list is taken now, so a sampler that draws from torch's global
        generator does so inside :meth:`EpochStart.global_rng`.
        """

        def counted() -> Iterator[list[int]]:
            for indices in batches:
                self.lengths.append(len(indices))
                yield indices

        lists = counted()
        for _ in range(skip):
            if next(lists, None) is None:
                break
            self.batches += 1
        first = next(lists, None)
        return iter(()) if first is None else itertools.chain([first], lists)
