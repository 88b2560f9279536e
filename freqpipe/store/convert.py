"""``fp.convert``: JPEG dataset -> packed store, in parallel, resumable, split over ranks.

The steps have their own modules: what the inputs are (:mod:`freqpipe.store.inputs`), the
shard and rank plan and what a resume keeps (:mod:`freqpipe.store.plan`), how one input becomes
a record and which sections a shard holds (the record kind, :mod:`freqpipe.store.kinds`),
crash-safe writing (:mod:`freqpipe.store.writer`) and the manifest (:mod:`freqpipe.store.merge`).
This module runs them: worker threads encode a shard's inputs while the previous shard is
written.

Crash safety: a shard is written as ``.tmp``, fsynced and renamed, then its sidecar JSON (the
completion mark: input range, rejects, checksum) likewise; ``_rank-R.done.json`` marks a
finished rank; the merge (rank 0, or :func:`merge`) writes ``rejects.tsv`` and then
``manifest.json``, last.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from freqpipe.errors import CorruptJpegWarning, FreqpipeError, InvalidArgumentError, file_reason
from freqpipe.store.format import MANIFEST, load_json, shard_name
from freqpipe.store.inputs import Inputs, scan_inputs
from freqpipe.store.kinds import RecordKind, kind_for_spec
from freqpipe.store.merge import merge, wait_and_merge
from freqpipe.store.plan import (
    RankPlan,
    check_dst,
    complete_shards,
    done_path,
    exclusive,
    plan_path,
    rank_world,
)
from freqpipe.store.records import RecordSpec
from freqpipe.store.writer import atomic_write_json, write_shard
from freqpipe.transforms import Selection
from freqpipe.transforms._blas import one_blas_thread

__all__ = ["ConvertSummary", "convert", "merge", "scan_inputs"]

#: Testing hook: seconds to sleep after each committed shard (lets a test kill mid-run).
_DELAY_ENV = "FREQPIPE_CONVERT_SHARD_DELAY"
#: What an unreadable input raises; it becomes a reject with the reader's reason.
_READ_ERRORS: tuple[type[BaseException], ...] = (
    FreqpipeError,
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
)


@dataclass(frozen=True)
class ConvertSummary:
    """What a :func:`convert` call did (this rank only, except ``manifest``).

    Attributes:
        converted: records written by this call (resumed shards not counted).
        rejected: unreadable inputs in the shards written by this call.
        resumed_shards: complete shards found and kept.
        shards: shards written by this call.
        seconds: wall time.
        bytes: shard bytes written by this call.
        manifest: the manifest when this call wrote it (store complete), else None.
    """

    converted: int
    rejected: int
    resumed_shards: int
    shards: int
    seconds: float
    bytes: int
    manifest: dict[str, Any] | None

    @property
    def images_per_second(self) -> float:
        """Converted plus rejected inputs per second."""
        return (self.converted + self.rejected) / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        """A one-line human summary."""
        done = "store complete" if self.manifest else "manifest pending (merge)"
        return (
            f"converted {self.converted}, rejected {self.rejected}, resumed {self.resumed_shards} "
            f"shard(s), wrote {self.shards} shard(s) ({self.bytes / 1e6:.1f} MB) in "
            f"{self.seconds:.1f} s ({self.images_per_second:.1f} images/s); {done}"
        )


@exclusive
def convert(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    select: str | Selection = "dct24",
    size: int = 448,
    route: str = "coefficient",
    resize_short: int | None = None,
    dtype: str = "auto",
    workers: int | None = None,
    shard_size: int | str = "256MB",
    resume: bool = False,
    rank: int | None = None,
    world_size: int | None = None,
    merge_timeout: float = 3600.0,
    progress: bool = True,
    command: str | None = None,
    order: Sequence[str | Selection] | None = None,
    layout: str | None = None,
    max_side: int | None = None,
) -> ConvertSummary:
    """Convert a JPEG dataset into a packed store (see :mod:`freqpipe.store`).

    Args:
        src: an ImageFolder directory or a ``<file> <label>`` list (:func:`scan_inputs`).
        dst: the store directory (created; must be empty unless ``resume``).
        select: channel preset name or :class:`~freqpipe.transforms.Selection`.
        size: crop side in pixels (multiple of 8); records are (C, size/8, size/8), or, with
            ``layout="whole"``, the side of the window a loader reads of each image.
        route: ``"coefficient"`` (native reader, block-aligned centre crop, no decode),
            ``"pixel"`` (DCTNet: decode, resize, centre crop, block DCT) or ``"jpeg"`` (keep
            the original bytes).
        resize_short: pixel route: the short side before cropping (default
            ``round(size * 512 / 448)``: 512 for 448).
        dtype: ``"auto"`` (quantised int8 per shard when every value fits, else int16;
            float16 for the pixel route), ``"int16"``, or ``"float16"`` (dequantised).
        workers: threads (default ``min(8, os.cpu_count())``).
        shard_size: records per shard (int or digits) or a byte size (``"256MB"``).
        resume: keep complete shards of an interrupted run with the same settings.
        rank: this process's rank (default env ``RANK`` or 0).
        world_size: number of ranks (default env ``WORLD_SIZE`` or 1).
        merge_timeout: rank 0 of several waits this many seconds for the other ranks, then
            merges; 0 leaves the merge to :func:`merge` (``freqpipe convert --merge DST``).
        progress: show a tqdm progress bar (rate and ETA).
        command: the command line recorded in the manifest (default: ``sys.argv``).
        order: ``route="jpeg"`` only: store each file frequency-ordered by
            :func:`~freqpipe.jpeg.reorder_jpeg` with these selections (lossless); a
            ``FreqLoader`` over the store then reads only the prefix its selection needs.
        layout: ``"crop"`` (the default; one fixed centre crop per image: for evaluation, a
            loader returns the same tensors every epoch) or ``"whole"`` (coefficient route:
            whole images, so ``FreqLoader(store, train=True)`` crops and flips at random every
            epoch: for training). Default ``"whole"`` when ``max_side`` is given.
        max_side: ``layout="whole"``: scale images whose longer side exceeds this down to it
            in the DCT domain first (FFCV's ``max_resolution``), re-quantised with each file's
            own tables.

    Returns:
        A :class:`ConvertSummary`.

    Raises:
        InvalidArgumentError: bad settings or ``src``.
        StoreError: ``dst`` not empty without ``resume``, or settings differ from the run
            being resumed.
        DiskFullError: the disk filled up (the store stays consistent; resume later).
        StoreBusyError: another conversion is writing the same rank into ``dst``.

    Example:
        >>> import tempfile
        >>> from freqpipe._samples import samples_path
        >>> d = Path(tempfile.mkdtemp()) / "store"
        >>> s = convert(samples_path(), d, select="dct6", size=32, progress=False)
        >>> s.converted, s.manifest["num_records"], (d / "manifest.json").is_file()
        (8, 8, True)
    """
    t0 = time.perf_counter()
    sels = None if order is None else tuple(Selection.from_spec(o) for o in order)
    if layout is None:
        layout = "crop" if max_side is None else "whole"
    spec = RecordSpec(
        route,
        Selection.from_spec(select),
        size,
        resize_short,
        dtype,
        sels,
        layout=layout,
        max_side=max_side,
    )
    rank, world_size = rank_world(rank, world_size)
    nworkers = workers if workers is not None else min(8, os.cpu_count() or 1)
    if nworkers < 1:
        raise InvalidArgumentError(f"workers must be >= 1, got {workers}")
    dst = Path(dst)
    inputs = scan_inputs(src)
    kind = kind_for_spec(spec)
    plan = RankPlan.make(spec, kind, inputs, rank, world_size, shard_size, command)
    if check_dst(dst, plan.settings, resume):
        return ConvertSummary(0, 0, 0, 0, time.perf_counter() - t0, 0, load_json(dst / MANIFEST))
    atomic_write_json(plan_path(dst, rank), plan.settings)
    done = complete_shards(dst, rank, plan.shards)
    shards = _ShardWriter(dst, spec, kind, inputs, plan)
    shards.run([k for k in range(plan.shards) if k not in done], done, nworkers, progress)
    atomic_write_json(
        done_path(dst, rank),
        {"rank": rank, "shards": plan.shards, "inputs": [plan.lo, plan.hi]},
    )
    manifest = None
    if world_size == 1:
        manifest = merge(dst)
    elif rank == 0 and merge_timeout > 0:
        manifest = wait_and_merge(dst, world_size, merge_timeout)
    seconds = time.perf_counter() - t0
    return ConvertSummary(
        shards.converted,
        shards.rejected,
        len(done),
        shards.written,
        seconds,
        shards.bytes,
        manifest,
    )


def _encode(
    kind: RecordKind, spec: RecordSpec, path: str, buffers: dict[str, Any], j: int
) -> str | None:
    """Encode one input into ``buffers`` (worker threads); the reject reason, or None."""
    try:
        kind.encode(spec, path, buffers, j)
    except _READ_ERRORS as exc:  # the reader's reason and offset, as every surface gives
        return f"{type(exc).__name__}: {' '.join(file_reason(exc).split())}"
    return None


_Pending = tuple[int, dict[str, Any], list["Future[str | None]"]]


class _ShardWriter:
    """Encodes a rank's shards in worker threads and writes each, one shard ahead."""

    def __init__(
        self, dst: Path, spec: RecordSpec, kind: RecordKind, inputs: Inputs, plan: RankPlan
    ):
        self.dst, self.spec, self.kind, self.inputs, self.plan = dst, spec, kind, inputs, plan
        self.converted = self.rejected = self.bytes = self.written = 0
        self.delay = float(os.environ.get(_DELAY_ENV, "0") or 0)

    def run(self, todo: list[int], done: set[int], nworkers: int, progress: bool) -> None:
        """Write the shards ``todo`` (``done`` ones count as progress already)."""
        from tqdm import tqdm

        plan = self.plan
        initial = sum(b - a for a, b in map(plan.shard_inputs, done))
        self.bar = tqdm(
            total=plan.hi - plan.lo,
            initial=initial,
            desc=f"convert r{plan.rank}" if plan.world_size > 1 else "convert",
            unit="img",
            disable=not progress,
            dynamic_ncols=True,
        )
        # several workers: their matrix products at one BLAS thread each (transforms._blas)
        blas = one_blas_thread() if nworkers > 1 else nullcontext()
        with warnings.catch_warnings(), blas:
            warnings.simplefilter("ignore", CorruptJpegWarning)
            with ThreadPoolExecutor(nworkers, thread_name_prefix="freqpipe-convert") as pool:
                pending: list[_Pending] = []
                try:
                    for k in todo:
                        pending.append(self._submit(pool, k))  # one shard ahead keeps them busy
                        if len(pending) > 1:
                            self._finish(*pending.pop(0))
                    while pending:
                        self._finish(*pending.pop(0))
                except BaseException:
                    for _, _, futs in pending:
                        for fut in futs:
                            fut.cancel()
                    raise
                finally:
                    self.bar.close()

    def _submit(self, pool: ThreadPoolExecutor, k: int) -> _Pending:
        a, b = self.plan.shard_inputs(k)
        buffers = self.kind.allocate(b - a)
        paths = self.inputs.paths
        futs = [
            pool.submit(_encode, self.kind, self.spec, paths[i], buffers, i - a)
            for i in range(a, b)
        ]
        return k, buffers, futs

    def _finish(self, k: int, buffers: dict[str, Any], futs: list[Future[str | None]]) -> None:
        a, b = self.plan.shard_inputs(k)
        errors: list[str | None] = []
        for fut in futs:
            errors.append(fut.result())
            self.bar.update(1)
        ok = np.array([e is None for e in errors], bool)
        arrays = {
            **self.kind.pack(self.spec, buffers, ok),
            "labels": np.ascontiguousarray(self.inputs.labels[a:b][ok], np.int64),
            "index": np.arange(a, b, dtype=np.int64)[ok],
        }
        rank, stem = self.plan.rank, shard_name(self.plan.rank, k)
        extra = {"rank": rank, "shard": k, "inputs": [a, b]}
        info = write_shard(self.dst, stem, self.kind.name, arrays, extra)
        rejects = [[a + j, self.inputs.relname(a + j), e] for j, e in enumerate(errors) if e]
        atomic_write_json(self.dst / f"{stem}.json", {**info, **extra, "rejects": rejects})
        self.converted += int(ok.sum())
        self.rejected += len(rejects)
        self.bytes += info["bytes"]
        self.written += 1
        if self.delay > 0:
            time.sleep(self.delay)
