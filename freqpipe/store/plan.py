"""The plan of a conversion: shards, ranks, the destination's lock, and what a resume keeps.

Deterministic, so a resumed or multi-rank run makes the same store as one run:

* Rank ``r`` of ``W`` takes the contiguous block ``[r * N // W, (r + 1) * N // W)`` of the
  inputs, so the records of rank 0's shards, then rank 1's, ... are exactly the global order.
* Shard ``k`` of a rank holds its inputs ``[k * S, (k + 1) * S)`` minus the rejected ones;
  ``S`` records per shard comes from ``shard_size`` (records, or bytes such as ``"256MB"``).

A rank's settings are written to ``_rank-R.plan.json`` before its first shard; ``resume=True``
refuses different settings, keeps every shard whose sidecar exists and whose bytes match its
checksum, and redoes the rest. ``_rank-R.done.json`` marks a finished rank.
"""

from __future__ import annotations

import fcntl
import functools
import math
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from freqpipe.errors import InvalidArgumentError, StoreBusyError
from freqpipe.store.format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST,
    SHARD_SUFFIX,
    StoreError,
    blake2b_file,
    load_json,
    shard_name,
)
from freqpipe.store.inputs import Inputs, input_digest
from freqpipe.store.kinds import RecordKind
from freqpipe.store.records import RecordSpec

__all__ = [
    "RankPlan",
    "check_dst",
    "complete_shards",
    "destination_lock",
    "done_path",
    "exclusive",
    "plan_path",
    "rank_world",
    "records_per_shard",
]


@dataclass(frozen=True)
class RankPlan:
    """One rank's share of a conversion: inputs ``[lo, hi)`` cut into shards.

    Attributes:
        rank: this rank.
        world_size: number of ranks.
        lo: first input of the rank.
        hi: end of the rank's inputs.
        per_shard: inputs per shard.
        settings: the JSON plan (``_rank-R.plan.json``): format, record settings, classes,
            inputs digest, rank, shard size, command line.
    """

    rank: int
    world_size: int
    lo: int
    hi: int
    per_shard: int
    settings: dict[str, Any]

    @classmethod
    def make(
        cls,
        spec: RecordSpec,
        kind: RecordKind,
        inputs: Inputs,
        rank: int,
        world_size: int,
        shard_size: int | str,
        command: str | None,
    ) -> RankPlan:
        """Plan rank ``rank``'s part of converting ``inputs`` into ``kind`` records."""
        n_total = len(inputs.paths)
        lo, hi = rank * n_total // world_size, (rank + 1) * n_total // world_size
        per_shard = records_per_shard(
            shard_size, kind.bytes_per_record(spec, inputs.paths[lo : min(hi, lo + 64)])
        )
        settings = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            **spec.to_json(),
            "classes": inputs.classes,
            "inputs_total": n_total,
            "inputs_sha256": input_digest(inputs),
            "rank": rank,
            "world_size": world_size,
            "inputs": [lo, hi],
            "shard_records": per_shard,
            "command": command if command is not None else " ".join(sys.argv),
        }
        return cls(rank, world_size, lo, hi, per_shard, settings)

    @property
    def shards(self) -> int:
        """Number of shards of the rank."""
        return math.ceil((self.hi - self.lo) / self.per_shard)

    def shard_inputs(self, k: int) -> tuple[int, int]:
        """Inputs ``[a, b)`` of shard ``k``."""
        a = self.lo + k * self.per_shard
        return a, min(self.hi, a + self.per_shard)


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)


def records_per_shard(shard_size: int | str, record_bytes: int) -> int:
    """Records per shard from ``shard_size``: a record count, or a byte size (``"256MB"``)."""
    if isinstance(shard_size, int):
        if shard_size < 1:
            raise InvalidArgumentError(f"shard_size must be >= 1 record, got {shard_size}")
        return shard_size
    m = _SIZE_RE.match(str(shard_size))
    if not m:
        raise InvalidArgumentError(
            f"shard_size must be a record count or a size such as '256MB', got {shard_size!r}"
        )
    if not m.group(2) and not m.group(3):
        return records_per_shard(int(float(m.group(1))), record_bytes)
    scale = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[m.group(2).lower()]
    return max(1, int(float(m.group(1)) * scale) // max(1, record_bytes))


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidArgumentError(f"environment variable {name}={value!r} is not an int") from exc


def rank_world(rank: int | None, world_size: int | None) -> tuple[int, int]:
    """``(rank, world_size)``: the arguments, else env ``RANK`` / ``WORLD_SIZE``, else 0 / 1."""
    rank = _env_int("RANK") if rank is None else rank
    world_size = _env_int("WORLD_SIZE") if world_size is None else world_size
    rank, world_size = rank or 0, world_size or 1
    if world_size < 1 or not 0 <= rank < world_size:
        raise InvalidArgumentError(f"need 0 <= rank < world_size, got {rank} / {world_size}")
    return rank, world_size


def plan_path(dst: Path, rank: int) -> Path:
    """Rank ``rank``'s conversion settings (for ``--resume`` and the merge)."""
    return dst / f"_rank-{rank:04d}.plan.json"


def done_path(dst: Path, rank: int) -> Path:
    """Rank ``rank``'s completion mark."""
    return dst / f"_rank-{rank:04d}.done.json"


def _lock_path(dst: Path, rank: int) -> Path:
    return dst / f"_rank-{rank:04d}.lock"


@contextmanager
def destination_lock(dst: Path, rank: int) -> Iterator[None]:
    """Hold an exclusive lock on ``dst`` for ``rank`` (one writer per rank, ranks in parallel).

    flock locks belong to the open file: the kernel drops them when the holder exits in any
    way (kill -9 included), so a stale lock file of a dead process never blocks anyone.
    """
    try:
        dst.mkdir(parents=True, exist_ok=True)
        f = open(_lock_path(dst, rank), "a+")
    except OSError as exc:
        raise StoreError(
            f"cannot use the destination: {exc.strerror or exc}", source=str(dst)
        ) from exc
    try:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            raise StoreBusyError(
                f"another freqpipe convert (pid {holder}) is writing rank {rank} into this "
                "destination; wait for it to finish (or stop it), then rerun with --resume",
                source=str(dst),
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        yield
    finally:
        f.close()


_P = ParamSpec("_P")
_R = TypeVar("_R")


def exclusive(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a conversion holding its rank's lock on the destination (see _destination_lock)."""

    @functools.wraps(fn)
    def locked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        dst = Path(kwargs["dst"] if "dst" in kwargs else args[1])  # type: ignore[arg-type]
        rank, _ = rank_world(kwargs.get("rank"), kwargs.get("world_size"))  # type: ignore[arg-type]
        with destination_lock(dst, rank):
            return fn(*args, **kwargs)

    return locked


def check_dst(dst: Path, plan: dict[str, Any], resume: bool) -> bool:
    """Prepare ``dst``; return True when the store is already complete."""
    if dst.exists() and not dst.is_dir():
        raise StoreError(f"{dst} exists and is not a directory")
    dst.mkdir(parents=True, exist_ok=True)
    plan_file = plan_path(dst, plan["rank"])
    if resume:
        if plan_file.exists():
            old = load_json(plan_file)
            diff = sorted(k for k in plan if k != "command" and old.get(k) != plan[k])
            if diff:
                raise StoreError(
                    f"--resume with different settings than the interrupted run ({', '.join(diff)}"
                    f" differ); rerun with the original arguments or convert into an empty DST",
                    source=str(dst),
                )
        return (dst / MANIFEST).exists()
    rank, world = plan["rank"], plan["world_size"]
    own = re.compile(rf"^(_rank-{rank:04d}\.|shard-r{rank:04d}-|manifest\.json|rejects\.tsv)")
    other = re.compile(r"^(_rank-\d{4}\.|shard-r\d{4}-)")
    for entry in dst.iterdir():
        if entry.name == _lock_path(dst, rank).name:
            continue
        if own.match(entry.name) or (world == 1 or not other.match(entry.name)):
            raise StoreError(
                "destination is not empty; pass --resume (resume=True) to finish an "
                "interrupted conversion, or choose an empty directory",
                source=str(dst),
            )
    return False


def _shard_intact(side: Path, data: Path) -> bool:
    """Whether a written shard matches its sidecar's size and checksum.

    Not its size alone: a shard damaged after it was written (same size, other bytes) is
    redone rather than carried into the store.
    """
    if not (side.exists() and data.exists()):
        return False
    try:
        info = load_json(side)
        if info.get("bytes") != data.stat().st_size:
            return False
        return bool(info.get("blake2b") == blake2b_file(data))
    except (StoreError, OSError):
        return False


def complete_shards(dst: Path, rank: int, n_shards: int) -> set[int]:
    """The shards of ``rank`` kept by a resume; the leftovers of the others are removed."""
    for stale in dst.glob(f"shard-r{rank:04d}-*.tmp"):  # only this rank writes these names
        stale.unlink(missing_ok=True)
    done = set()
    for k in range(n_shards):
        stem = shard_name(rank, k)
        side, data = dst / f"{stem}.json", dst / f"{stem}{SHARD_SUFFIX}"
        if _shard_intact(side, data):
            done.add(k)
            continue
        # incomplete: remove any leftovers so the shard is rewritten from scratch
        for leftover in (side, data, dst / f"{stem}{SHARD_SUFFIX}.tmp", dst / f"{stem}.json.tmp"):
            leftover.unlink(missing_ok=True)
    return done
