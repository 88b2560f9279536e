"""ElasticSampler: one global order per (seed, epoch), shared out to however many ranks there are.

A ``DistributedSampler`` fixes the split of an epoch when the epoch starts, so a checkpoint
taken at 4 ranks can only be resumed at 4 ranks. Here the epoch is one global order that does
not depend on the world size; a rank takes every ``num_replicas``-th index of what is left of
it, so each global step (every rank's batch) is a contiguous run of that order. A checkpoint
records where in the order the epoch's iteration started and how many samples each rank has
taken since; a resume at any world size continues from there (conventions §10).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sized
from typing import Any

import torch
from torch.utils.data import DistributedSampler

from freqpipe.errors import LoaderStateError

__all__ = ["ElasticSampler"]

#: Keys of the state that must agree for a resume: they decide the epoch's global order.
_ORDER_KEYS = ("length", "seed", "shuffle", "drop_last")


class ElasticSampler(DistributedSampler):
    """``DistributedSampler``'s interface; a checkpoint resumes at any world size.

    At a fixed world size it yields exactly ``DistributedSampler``'s indices (same
    permutation ``randperm(len(dataset))`` seeded with ``seed + epoch``, same padding and
    ``drop_last``), so switching costs nothing. The difference shows at a resume: with
    ``start`` samples of the epoch's global order already consumed, the remaining
    ``len(dataset) - start`` are shared out to the *current* ranks (``rest[rank::num_replicas]``)
    and each is taken exactly once. The tail rule is DistributedSampler's applied to what is
    left: ``drop_last=False`` pads the rest to a multiple of ``num_replicas`` by repeating the
    head of the epoch's order (samples already seen, never one of the remaining ones twice),
    ``drop_last=True`` drops at most ``num_replicas - 1`` of the remaining samples.

    ``FreqLoader.state_dict()`` records this sampler's state at the start of the epoch and
    the samples its rank has taken; ``FreqLoader.load_state_dict`` hands both back through
    :meth:`load_state_dict`. Load any rank's state on every new rank: the position is the same
    on all of them (synchronous data parallel steps), only ``rank`` differs and is not restored.

    Args:
        dataset: the dataset (only its length is used).
        num_replicas: world size (default: ``torch.distributed``'s).
        rank: this process's rank (default: ``torch.distributed``'s).
        shuffle: a new permutation each epoch (``set_epoch``).
        seed: the permutation's seed, the same on every rank.
        drop_last: drop the tail instead of padding it.

    Example:
        >>> s = ElasticSampler(range(10), num_replicas=2, rank=0, seed=0)
        >>> list(s) == list(DistributedSampler(range(10), num_replicas=2, rank=0, seed=0))
        True
        >>> state = s.state_dict()  # taken at the epoch's start; then 2 indices were taken
        >>> t = ElasticSampler(range(10), num_replicas=3, rank=0, seed=0)
        >>> t.load_state_dict(state, samples_per_rank=2)  # 4 of the order consumed, 6 left
        >>> len(t), t.start
        (2, 4)
    """

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ):
        super().__init__(
            dataset,  # type: ignore[arg-type]
            num_replicas=num_replicas,
            rank=rank,
            shuffle=shuffle,
            seed=seed,
            drop_last=drop_last,
        )
        #: Samples of this epoch's global order consumed before this iteration (a resume).
        self.start = 0

    def global_order(self) -> list[int]:
        """The epoch's order of every index, the same at any world size.

        Returns:
            ``len(dataset)`` indices: ``randperm`` seeded with ``seed + epoch``, or 0..n-1.
        """
        n = len(self.dataset)  # type: ignore[arg-type]
        if not self.shuffle:
            return list(range(n))
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        return torch.randperm(n, generator=g).tolist()

    def _rest_length(self) -> int:
        left = max(0, len(self.dataset) - self.start)  # type: ignore[arg-type]
        if self.drop_last:
            return left // self.num_replicas * self.num_replicas
        return math.ceil(left / self.num_replicas) * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        order = self.global_order()
        rest = order[self.start :]
        size = self._rest_length()
        if size > len(rest) and order:  # pad from the head of the epoch, as DistributedSampler
            pad = size - len(rest)
            rest += (order * math.ceil(pad / len(order)))[:pad]
        # The offset is this epoch's only: the next iteration starts at the head again.
        self.start = 0
        return iter(rest[:size][self.rank :: self.num_replicas])

    def __len__(self) -> int:
        return self._rest_length() // self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use the order of ``epoch``; a resume's offset holds only for its own epoch.

        Args:
            epoch: the epoch number, the same on every rank.
        """
        if epoch != self.epoch:
            self.start = 0
        super().set_epoch(epoch)

    def state_dict(self) -> dict[str, Any]:
        """What the next iteration's order is a function of (taken at an epoch's start).

        Returns:
            ``epoch``, ``start``, ``num_replicas`` and the keys that fix the order
            (``length``, ``seed``, ``shuffle``, ``drop_last``), as Python ints and bools.
        """
        return {
            "epoch": int(self.epoch),
            "start": int(self.start),
            "num_replicas": int(self.num_replicas),
            "length": len(self.dataset),  # type: ignore[arg-type]
            "seed": int(self.seed),
            "shuffle": bool(self.shuffle),
            "drop_last": bool(self.drop_last),
        }

    def load_state_dict(self, state: dict[str, Any], samples_per_rank: int = 0) -> None:
        """Continue the epoch of ``state`` after each of its ranks took ``samples_per_rank``.

        Args:
            state: what :meth:`state_dict` returned at the epoch's start, at any world size.
            samples_per_rank: samples each rank of that run took since (what the loader
                delivered); the same on every rank in synchronous training.

        Raises:
            LoaderStateError: the state's length, seed, shuffle or drop_last differ from
                this sampler's (they decide the order, so the rest would not be the rest).
        """
        current = self.state_dict()
        for key in _ORDER_KEYS:
            if state[key] != current[key]:
                raise LoaderStateError(
                    f"sampler.{key}: the state was saved with {key}={state[key]!r}, this "
                    f"ElasticSampler has {current[key]!r}; build it as the checkpointed run did",
                    key=f"sampler.{key}",
                    saved=state[key],
                    current=current[key],
                )
        consumed = int(state["start"]) + int(samples_per_rank) * int(state["num_replicas"])
        self.epoch = int(state["epoch"])
        self.start = min(consumed, current["length"])
