"""``fp.convert``: JPEG dataset -> packed store, in parallel, resumable, split over ranks.

Plan (deterministic, so a resumed or multi-rank run makes the same store as one run):

* Inputs in global order: an ImageFolder directory in torchvision's order
  (:class:`~freqpipe.data.datasets.JpegFolder`) or a ``<file> <label>`` list in its order.
* Rank ``r`` of ``W`` takes the contiguous block ``[r * N // W, (r + 1) * N // W)``, so the
  records of rank 0's shards, then rank 1's, ... are exactly the global order.
* Shard ``k`` of a rank holds its inputs ``[k * S, (k + 1) * S)`` minus the rejected ones;
  ``S`` records per shard comes from ``shard_size`` (records, or bytes such as ``"256MB"``).

Crash safety: a shard is written as ``.tmp``, fsynced and renamed, then its sidecar JSON (the
completion mark: input range, rejects, checksum) likewise. ``resume=True`` keeps every shard
whose sidecar exists and whose bytes match its checksum, and redoes the rest.
``_rank-R.done.json`` marks a finished rank; the merge (rank 0, or :func:`merge`) writes
``rejects.tsv`` and then ``manifest.json``, last.
"""

from __future__ import annotations

import fcntl
import functools
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from freqpipe.errors import (
    CorruptJpegWarning,
    FreqpipeError,
    InvalidArgumentError,
    StoreBusyError,
    file_reason,
)
from freqpipe.jpeg import reorder_jpeg
from freqpipe.store.format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST,
    REJECTS,
    SHARD_SUFFIX,
    StoreError,
    blake2b_file,
    load_json,
    shard_name,
)
from freqpipe.store.records import RecordSpec, coefficient_record, pixel_record
from freqpipe.store.schema import manifest_dtype
from freqpipe.store.writer import atomic_write_bytes, atomic_write_json, write_shard
from freqpipe.transforms import Selection

__all__ = ["ConvertSummary", "convert", "merge", "scan_inputs"]

#: Testing hook: seconds to sleep after each committed shard (lets a test kill mid-run).
_DELAY_ENV = "FREQPIPE_CONVERT_SHARD_DELAY"
_READ_ERRORS: tuple[type[BaseException], ...] = (
    FreqpipeError,
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
)


@dataclass(frozen=True)
class Inputs:
    """The conversion's inputs in global order."""

    paths: list[str]
    labels: np.ndarray
    classes: list[str]
    root: str

    def relname(self, i: int) -> str:
        """Input ``i``'s path relative to the source root (for rejects.tsv)."""
        try:
            rel = os.path.relpath(self.paths[i], self.root)
        except ValueError:  # pragma: no cover - different drives on Windows
            return self.paths[i]
        return self.paths[i] if rel.startswith("..") else rel


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


def scan_inputs(src: str | os.PathLike[str]) -> Inputs:
    """List the inputs of a conversion in their global order.

    Args:
        src: an ImageFolder-layout directory (labels as torchvision's ``ImageFolder``), or a
            text file of ``<file> <label>`` lines (paths relative to the list's folder; classes
            named ``"0"`` .. ``str(max label)``).

    Returns:
        The inputs.

    Raises:
        InvalidArgumentError: ``src`` is missing, empty, or the list is malformed.

    Example:
        >>> from freqpipe._samples import samples_path
        >>> inp = scan_inputs(samples_path())
        >>> len(inp.paths), inp.labels[:2].tolist(), inp.classes[0]
        (8, [0, 1], 'n01860187_black_swan')
    """
    from freqpipe.data.datasets import JpegFileList, JpegFolder

    p = Path(src)
    if p.is_dir():
        try:
            folder = JpegFolder(p)
        except FileNotFoundError as exc:
            raise InvalidArgumentError(f"{p}: {exc}", value=str(p)) from exc
        paths = [s for s, _ in folder.samples]
        labels = np.asarray(folder.targets, np.int64)
        return Inputs(paths, labels, list(folder.classes), str(p))
    if p.is_file():
        flist = JpegFileList.from_text(p)
        labels = np.asarray(flist.targets, np.int64)
        if labels.size and labels.min() < 0:
            raise InvalidArgumentError(f"{p}: negative label {int(labels.min())}")
        n_classes = int(labels.max()) + 1 if labels.size else 0
        files = [os.fspath(f) for f in flist.files if isinstance(f, (str, os.PathLike))]
        return Inputs(files, labels, [str(i) for i in range(n_classes)], str(p.parent))
    raise InvalidArgumentError(f"SRC {p} is neither a directory nor a file list", value=str(p))


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)


def _records_per_shard(shard_size: int | str, record_bytes: int) -> int:
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
        return _records_per_shard(int(float(m.group(1))), record_bytes)
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


def _rank_world(rank: int | None, world_size: int | None) -> tuple[int, int]:
    rank = _env_int("RANK") if rank is None else rank
    world_size = _env_int("WORLD_SIZE") if world_size is None else world_size
    rank, world_size = rank or 0, world_size or 1
    if world_size < 1 or not 0 <= rank < world_size:
        raise InvalidArgumentError(f"need 0 <= rank < world_size, got {rank} / {world_size}")
    return rank, world_size


def _plan_path(dst: Path, rank: int) -> Path:
    return dst / f"_rank-{rank:04d}.plan.json"


def _done_path(dst: Path, rank: int) -> Path:
    return dst / f"_rank-{rank:04d}.done.json"


def _lock_path(dst: Path, rank: int) -> Path:
    return dst / f"_rank-{rank:04d}.lock"


@contextmanager
def _destination_lock(dst: Path, rank: int) -> Iterator[None]:
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


def _exclusive(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run a conversion holding its rank's lock on the destination (see _destination_lock)."""

    @functools.wraps(fn)
    def locked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        dst = Path(kwargs["dst"] if "dst" in kwargs else args[1])  # type: ignore[arg-type]
        rank, _ = _rank_world(kwargs.get("rank"), kwargs.get("world_size"))  # type: ignore[arg-type]
        with _destination_lock(dst, rank):
            return fn(*args, **kwargs)

    return locked


def _input_digest(inputs: Inputs) -> str:
    import hashlib

    h = hashlib.sha256()
    for i in range(len(inputs.paths)):
        h.update(f"{inputs.relname(i)}\t{int(inputs.labels[i])}\n".encode())
    return h.hexdigest()


def _check_dst(dst: Path, plan: dict[str, Any], resume: bool) -> bool:
    """Prepare ``dst``; return True when the store is already complete."""
    if dst.exists() and not dst.is_dir():
        raise StoreError(f"{dst} exists and is not a directory")
    dst.mkdir(parents=True, exist_ok=True)
    plan_file = _plan_path(dst, plan["rank"])
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


def _complete_shards(dst: Path, rank: int, n_shards: int) -> set[int]:
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


class _Encoder:
    """Turns input ``j`` of a shard into buffer slot ``j`` (called from worker threads)."""

    def __init__(self, spec: RecordSpec):
        self.spec = spec

    def __call__(self, path: str, slot: dict[str, Any], j: int) -> str | None:
        spec = self.spec
        try:
            if spec.kind == "jpeg" and spec.order is not None:
                with open(path, "rb") as f:
                    data = f.read()
                slot["bytes"][j] = reorder_jpeg(data, spec.order)  # a strict full decode too
            elif spec.kind == "jpeg":
                with open(path, "rb") as f:
                    data = f.read()
                from freqpipe.jpeg import read_coefficients

                read_coefficients(data, components=0, freqs=[0])  # validate: full entropy decode
                slot["bytes"][j] = data
            elif spec.route == "pixel":
                slot["coeffs"][j] = pixel_record(path, spec.selection, spec.size, spec.resize_short)
            else:
                quantized = spec.kind == "quantized"
                out = slot["coeffs"][j] if quantized else None
                c, q = coefficient_record(path, spec.selection, spec.size, out=out)
                slot["quant"][j] = q
                if not quantized:  # dequantise in float32, store float16
                    slot["coeffs"][j] = c.astype(np.float32) * q[:, None, None]
        except _READ_ERRORS as exc:  # the reader's reason and offset, as every surface gives
            return f"{type(exc).__name__}: {' '.join(file_reason(exc).split())}"
        return None


def _alloc(spec: RecordSpec, n: int) -> dict[str, Any]:
    if spec.kind == "jpeg":
        return {"bytes": [b""] * n}
    slot: dict[str, Any] = {"coeffs": np.zeros((n, *spec.shape), spec.work_dtype)}
    slot["quant"] = np.ones((n, spec.shape[0]), np.uint16)
    return slot


def _arrays(
    spec: RecordSpec, slot: dict[str, Any], ok: np.ndarray, labels: np.ndarray, index: np.ndarray
) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    if spec.kind == "jpeg":
        blobs = [b for b, keep in zip(slot["bytes"], ok) if keep]
        arrays["data"] = np.frombuffer(b"".join(blobs), np.uint8)
        arrays["offsets"] = np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(
            np.uint64
        )
    else:
        coeffs = np.ascontiguousarray(slot["coeffs"][ok])
        if spec.kind == "quantized":
            arrays["coeffs"] = coeffs
            if spec.dtype == "auto" and (coeffs.size == 0 or (
                int(coeffs.min()) >= -128 and int(coeffs.max()) <= 127
            )):  # fmt: skip
                arrays["coeffs"] = coeffs.astype(np.int8)
            arrays["quant"] = np.ascontiguousarray(slot["quant"][ok])
        else:
            arrays["coeffs"] = coeffs
    arrays["labels"] = np.ascontiguousarray(labels[ok], np.int64)
    arrays["index"] = np.ascontiguousarray(index[ok], np.int64)
    return arrays


@_exclusive
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
) -> ConvertSummary:
    """Convert a JPEG dataset into a packed store (see :mod:`freqpipe.store`).

    Args:
        src: an ImageFolder directory or a ``<file> <label>`` list (:func:`scan_inputs`).
        dst: the store directory (created; must be empty unless ``resume``).
        select: channel preset name or :class:`~freqpipe.transforms.Selection`.
        size: crop side in pixels (multiple of 8); records are (C, size/8, size/8).
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
    spec = RecordSpec(route, Selection.from_spec(select), size, resize_short, dtype, sels)
    rank, world_size = _rank_world(rank, world_size)
    nworkers = workers if workers is not None else min(8, os.cpu_count() or 1)
    if nworkers < 1:
        raise InvalidArgumentError(f"workers must be >= 1, got {workers}")
    dst = Path(dst)
    inputs = scan_inputs(src)
    n_total = len(inputs.paths)
    lo, hi = rank * n_total // world_size, (rank + 1) * n_total // world_size
    if spec.kind == "jpeg":
        sample = inputs.paths[lo : min(hi, lo + 64)]
        rec_bytes = int(np.mean([os.path.getsize(p) for p in sample])) if sample else 1
    else:
        rec_bytes = int(np.prod(spec.shape)) * spec.work_dtype.itemsize
    per_shard = _records_per_shard(shard_size, rec_bytes)
    plan = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        **spec.to_json(),
        "classes": inputs.classes,
        "inputs_total": n_total,
        "inputs_sha256": _input_digest(inputs),
        "rank": rank,
        "world_size": world_size,
        "inputs": [lo, hi],
        "shard_records": per_shard,
        "command": command if command is not None else " ".join(sys.argv),
    }
    if _check_dst(dst, plan, resume):
        return ConvertSummary(0, 0, 0, 0, time.perf_counter() - t0, 0, load_json(dst / MANIFEST))
    atomic_write_json(_plan_path(dst, rank), plan)
    n_shards = math.ceil((hi - lo) / per_shard)
    done = _complete_shards(dst, rank, n_shards)
    todo = [k for k in range(n_shards) if k not in done]
    delay = float(os.environ.get(_DELAY_ENV, "0") or 0)
    stats = {"converted": 0, "rejected": 0, "bytes": 0, "shards": 0}

    from tqdm import tqdm

    encoder = _Encoder(spec)
    initial = sum(min(hi, lo + (k + 1) * per_shard) - (lo + k * per_shard) for k in done)
    bar = tqdm(
        total=hi - lo,
        initial=initial,
        desc=f"convert r{rank}" if world_size > 1 else "convert",
        unit="img",
        disable=not progress,
        dynamic_ncols=True,
    )

    def submit(pool: ThreadPoolExecutor, k: int) -> tuple[int, dict[str, Any], list[Future[Any]]]:
        a, b = lo + k * per_shard, min(hi, lo + (k + 1) * per_shard)
        slot = _alloc(spec, b - a)
        futs = [pool.submit(encoder, inputs.paths[i], slot, i - a) for i in range(a, b)]
        return k, slot, futs

    def finish(k: int, slot: dict[str, Any], futs: list[Future[Any]]) -> None:
        a = lo + k * per_shard
        errors: list[str | None] = []
        for fut in futs:
            errors.append(fut.result())
            bar.update(1)
        ok = np.array([e is None for e in errors], bool)
        index = np.arange(a, a + len(futs), dtype=np.int64)
        arrays = _arrays(spec, slot, ok, inputs.labels[a : a + len(futs)], index)
        stem = shard_name(rank, k)
        extra = {"rank": rank, "shard": k, "inputs": [a, a + len(futs)]}
        info = write_shard(dst, stem, spec.kind, arrays, extra)
        rejects = [[a + j, inputs.relname(a + j), e] for j, e in enumerate(errors) if e]
        atomic_write_json(dst / f"{stem}.json", {**info, **extra, "rejects": rejects})
        stats["converted"] += int(ok.sum())
        stats["rejected"] += len(rejects)
        stats["bytes"] += info["bytes"]
        stats["shards"] += 1
        if delay > 0:
            time.sleep(delay)

    # The workers already use the cores; a multithreaded BLAS inside each of them (the pixel
    # route's block DCT is one matrix product) oversubscribes them. Measured on 2 vCPUs,
    # pixel route, 2 workers: 198 images/s with BLAS's own threads, 366 with one thread each.
    blas = threadpool_limits(limits=1, user_api="blas") if nworkers > 1 else nullcontext()
    with warnings.catch_warnings(), blas:
        warnings.simplefilter("ignore", CorruptJpegWarning)
        with ThreadPoolExecutor(nworkers, thread_name_prefix="freqpipe-convert") as pool:
            pending: list[tuple[int, dict[str, Any], list[Future[Any]]]] = []
            try:
                for k in todo:
                    pending.append(submit(pool, k))  # one shard ahead keeps the workers busy
                    if len(pending) > 1:
                        finish(*pending.pop(0))
                while pending:
                    finish(*pending.pop(0))
            except BaseException:
                for _, _, futs in pending:
                    for fut in futs:
                        fut.cancel()
                raise
            finally:
                bar.close()
    atomic_write_json(
        _done_path(dst, rank),
        {"rank": rank, "shards": n_shards, "inputs": [lo, hi]},
    )
    manifest = None
    if world_size == 1:
        manifest = merge(dst)
    elif rank == 0 and merge_timeout > 0:
        manifest = _wait_and_merge(dst, world_size, merge_timeout)
    return ConvertSummary(
        stats["converted"],
        stats["rejected"],
        len(done),
        stats["shards"],
        time.perf_counter() - t0,
        stats["bytes"],
        manifest,
    )


def _wait_and_merge(dst: Path, world_size: int, timeout: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(_done_path(dst, r).exists() for r in range(world_size)):
            return merge(dst)
        time.sleep(min(1.0, timeout / 10))
    warnings.warn(
        f"{dst}: not every rank finished within {timeout:g} s; run `freqpipe convert --merge "
        f"{dst}` once they have",
        stacklevel=3,
    )
    return None


def merge(dst: str | os.PathLike[str]) -> dict[str, Any]:
    """Write ``rejects.tsv`` and ``manifest.json`` once every rank has finished.

    Only the small JSON files are read (plans, done marks, shard sidecars), so the merge can
    run on any node that has them, even without the shard data.

    Args:
        dst: the store directory.

    Returns:
        The manifest written.

    Raises:
        IncompleteStoreError: a rank has not finished (its plan or done mark is missing).
        StoreError: the ranks were run with different settings.

    Example:
        >>> import tempfile
        >>> from freqpipe._samples import samples_path
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = convert(samples_path(), d, select="dct6", size=16, progress=False)
        >>> merge(d)["num_records"]
        8
    """
    from freqpipe import __version__
    from freqpipe.store.format import IncompleteStoreError

    dst = Path(dst)
    plans = sorted(dst.glob("_rank-*.plan.json"))
    if not plans:
        raise IncompleteStoreError(
            "no conversion plan found: this is not a freqpipe store being converted",
            source=str(dst),
        )
    first = load_json(plans[0])
    world = int(first["world_size"])
    same = ("route", "selection", "size", "resize_short", "dtype", "inputs_sha256", "classes")
    shards: list[dict[str, Any]] = []
    rejects: list[list[Any]] = []
    commands = []
    for r in range(world):
        plan_file, done_file = _plan_path(dst, r), _done_path(dst, r)
        if not plan_file.exists() or not done_file.exists():
            raise IncompleteStoreError(
                f"rank {r} of {world} has not finished ({done_file.name} missing); run or "
                f"resume it (freqpipe convert ... --rank {r} --world-size {world} --resume) "
                f"before merging",
                source=str(dst),
            )
        plan = load_json(plan_file)
        bad = [k for k in same if plan.get(k) != first.get(k)]
        if bad or plan.get("world_size") != world:
            raise StoreError(
                f"rank {r} was converted with different settings ({', '.join(bad)})",
                source=str(dst),
            )
        commands.append(plan.get("command"))
        n_shards = math.ceil((plan["inputs"][1] - plan["inputs"][0]) / plan["shard_records"])
        for k in range(n_shards):
            side = load_json(dst / f"{shard_name(r, k)}.json")
            side_rejects = side.pop("rejects")
            rejects.extend(side_rejects)
            side["rejects"] = len(side_rejects)
            shards.append(side)
    kind = first["kind"]
    store_dtype = manifest_dtype(kind, [s["dtype"] for s in shards if s["records"]])
    c, g = len(Selection.from_json(first["selection"])), first["size"] // 8
    layout: dict[str, Any] = {"labels": {"dtype": "int64", "shape": []}}
    if kind == "jpeg":
        layout["jpeg"] = {"dtype": "uint8", "shape": [None]}
    else:
        layout["coeffs"] = {"dtype": store_dtype, "shape": [c, g, g]}
        if kind == "quantized":
            layout["quant"] = {"dtype": "uint16", "shape": [c]}
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "route": first["route"],
        "selection": first["selection"],
        "size": first["size"],
        "resize_short": first["resize_short"],
        "chroma": first["chroma"],
        **({"order": first["order"]} if "order" in first else {}),
        "dtype": store_dtype,
        "layout": layout,
        "classes": first["classes"],
        "num_records": sum(s["records"] for s in shards),
        "num_rejects": len(rejects),
        "inputs_total": first["inputs_total"],
        "inputs_sha256": first["inputs_sha256"],
        "world_size": world,
        "shards": shards,
        "command": commands[0] if world == 1 else commands,
        "freqpipe_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    lines = ["index\tpath\terror"] + [f"{i}\t{p}\t{e}" for i, p, e in sorted(rejects)]
    atomic_write_bytes(dst / REJECTS, ("\n".join(lines) + "\n").encode())
    atomic_write_json(dst / MANIFEST, manifest)
    return manifest
