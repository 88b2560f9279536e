"""``freqpipe reorder SRC DST``: a folder tree of JPEGs in, the same tree frequency-ordered out.

Each JPEG (``.jpg`` / ``.jpeg``, any case) under ``SRC`` is rewritten by
:func:`~freqpipe.jpeg.reorder_jpeg` to the same relative path under ``DST``, losslessly, so
``FreqLoader(DST, select=...)`` reads only the prefix each image's selection needs. Files are
written atomically (``.tmp``, fsync, rename), so after a crash every file present is complete
and ``resume=True`` skips it. Files that cannot be reordered are not written; they are listed
in ``DST/rejects.tsv`` (rewritten at the end of every run) and counted in the summary.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from freqpipe.errors import FreqpipeError, InvalidArgumentError
from freqpipe.jpeg import DEFAULT_ORDER, reorder_jpeg
from freqpipe.jpeg.datasets import JPEG_EXTENSIONS
from freqpipe.jpeg.reorder import check_restart_rows, order_ends
from freqpipe.store.format import REJECTS
from freqpipe.store.writer import atomic_write_bytes
from freqpipe.transforms import Selection

__all__ = ["ReorderSummary", "reorder_folder"]


@dataclass(frozen=True)
class ReorderSummary:
    """What a :func:`reorder_folder` call did.

    Attributes:
        reordered: files written by this call.
        skipped: files already present in ``dst`` and kept (``resume=True``).
        rejected: files that could not be reordered (listed in ``dst/rejects.tsv``).
        bytes_in: size of the files this call read.
        bytes_out: size of the files this call wrote.
        seconds: wall time.
    """

    reordered: int
    skipped: int
    rejected: int
    bytes_in: int
    bytes_out: int
    seconds: float

    def line(self) -> str:
        """A one-line human summary."""
        ratio = self.bytes_out / self.bytes_in if self.bytes_in else 0.0
        rate = (self.reordered + self.rejected) / self.seconds if self.seconds > 0 else 0.0
        return (
            f"reordered {self.reordered}, skipped {self.skipped} (present), rejected "
            f"{self.rejected} in {self.seconds:.1f} s ({rate:.1f} images/s); output "
            f"{ratio:.3f}x the input bytes"
        )


def _jpeg_files(src: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(src, followlinks=True):
        dirs.sort()
        found += [Path(root) / f for f in sorted(files) if f.lower().endswith(JPEG_EXTENSIONS)]
    return found


def reorder_folder(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    order: Sequence[Selection | str] = DEFAULT_ORDER,
    strip: bool = False,
    restart_rows: int = 1,
    workers: int | None = None,
    resume: bool = False,
    progress: bool = True,
) -> ReorderSummary:
    """Reorder every JPEG of a folder tree into the same tree under ``dst``.

    Args:
        src: the source folder (an ImageFolder tree, or any tree of JPEGs).
        dst: the output folder; created if missing. It must hold no JPEGs unless ``resume``.
        order: selections (or preset names) for :func:`~freqpipe.jpeg.reorder_jpeg`.
        strip: drop APPn and COM markers (EXIF, ICC, comments).
        restart_rows: a restart marker every this many MCU rows (0: keep the file's), as
            :func:`~freqpipe.jpeg.reorder_jpeg`.
        workers: threads (the native rewrite releases the GIL); default ``min(8, cpus)``.
        resume: keep the files already in ``dst`` (complete, since each is written
            atomically) and do the rest.
        progress: show a tqdm progress bar.

    Returns:
        A :class:`ReorderSummary`.

    Raises:
        InvalidArgumentError: ``src`` is not a folder, ``dst`` is inside it, ``dst`` already
            holds JPEGs without ``resume``, or a bad ``order`` / ``workers``.
        StoreError: writing failed (DiskFullError when the disk is full).

    Example:
        >>> import tempfile
        >>> from freqpipe._samples import samples_path
        >>> out = Path(tempfile.mkdtemp()) / "reordered"
        >>> s = reorder_folder(samples_path(), out, progress=False)
        >>> s.reordered, s.rejected, len(_jpeg_files(out))
        (8, 0, 8)
    """
    src_p, dst_p = Path(src), Path(dst)
    if not src_p.is_dir():
        raise InvalidArgumentError(f"SRC {src_p} is not a folder")
    if dst_p.resolve().is_relative_to(src_p.resolve()):
        raise InvalidArgumentError(f"DST {dst_p} must not be inside SRC {src_p}")
    order_ends(order)  # validate the order and restart rows before any work
    check_restart_rows(restart_rows)
    nworkers = workers if workers is not None else min(8, os.cpu_count() or 1)
    if nworkers < 1:
        raise InvalidArgumentError(f"workers must be >= 1, got {workers}")
    if dst_p.is_dir() and not resume and _jpeg_files(dst_p):
        raise InvalidArgumentError(
            f"DST {dst_p} already holds JPEGs; pass resume=True (--resume) to finish a run"
        )
    inputs = _jpeg_files(src_p)
    rels = [p.relative_to(src_p) for p in inputs]
    todo = [i for i, r in enumerate(rels) if not (resume and (dst_p / r).is_file())]
    start = time.perf_counter()
    stats = {"reordered": 0, "rejected": 0, "in": 0, "out": 0}
    rejects: list[tuple[str, str]] = []

    def one(i: int) -> tuple[int, int, str | None]:
        try:
            data = inputs[i].read_bytes()
        except OSError as exc:
            return 0, 0, f"cannot read file: {exc.strerror}"
        try:
            out = reorder_jpeg(data, order, strip=strip, restart_rows=restart_rows)
        except FreqpipeError as exc:
            return len(data), 0, exc.reason
        target = dst_p / rels[i]
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, out)  # its StoreError stops the run: not a bad input
        return len(data), len(out), None

    from tqdm import tqdm

    dst_p.mkdir(parents=True, exist_ok=True)
    bar = tqdm(
        total=len(inputs),
        initial=len(inputs) - len(todo),
        desc="reorder",
        unit="img",
        disable=not progress,
        dynamic_ncols=True,
    )
    # A bounded window of futures: a million-file tree must not queue a million at once.
    window: deque[tuple[int, Future[tuple[int, int, str | None]]]] = deque()

    def drain_one() -> None:
        i, fut = window.popleft()
        size_in, size_out, error = fut.result()
        stats["in"] += size_in
        stats["out"] += size_out
        if error is None:
            stats["reordered"] += 1
        else:
            stats["rejected"] += 1
            rejects.append((str(rels[i]), error))
        bar.update(1)

    try:
        with ThreadPoolExecutor(nworkers, thread_name_prefix="freqpipe-reorder") as pool:
            for i in todo:
                window.append((i, pool.submit(one, i)))
                if len(window) >= 4 * nworkers:
                    drain_one()
            while window:
                drain_one()
    finally:
        bar.close()
    lines = ["path\terror"] + [f"{p}\t{e}" for p, e in sorted(rejects)]
    atomic_write_bytes(dst_p / REJECTS, ("\n".join(lines) + "\n").encode())
    return ReorderSummary(
        reordered=stats["reordered"],
        skipped=len(inputs) - len(todo),
        rejected=stats["rejected"],
        bytes_in=stats["in"],
        bytes_out=stats["out"],
        seconds=time.perf_counter() - start,
    )
