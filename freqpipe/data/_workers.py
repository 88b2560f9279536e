"""Worker threads and the ordered prefetch of batch slots.

``num_workers`` threads each take whole batches (as DataLoader's worker processes do): wait
until the slot is reusable, fill it through the source (native decode, GIL released) and, on a
CPU device, finish it with the NumPy reference. Up to ``num_workers * prefetch_factor`` batches
are in flight; the consumer receives them in sampler order. Threads are daemons and are told to
stop when the pool is closed, garbage-collected or the interpreter exits, so a live pool never
blocks exit.
"""

from __future__ import annotations

import atexit
import functools
import queue
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from freqpipe.data._batch import HostBatch
from freqpipe.errors import BatchTimeoutError
from freqpipe.transforms import _blas

__all__ = ["BatchTimeoutError", "WorkerPool"]

_STOP = object()
_LIVE: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


@atexit.register
def _shutdown_all() -> None:  # pragma: no cover - runs at interpreter exit
    for pool in list(_LIVE):
        pool.close(join=False)


Fill = Callable[[HostBatch, list[int]], Any]


class WorkerPool:
    """Threads that fill slots; :meth:`run` yields filled slots in order.

    Args:
        slots: the preallocated batch slots (``num_workers * prefetch_factor`` of them).
        num_workers: threads (>= 1).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each thread first.
    """

    def __init__(
        self,
        slots: list[HostBatch],
        num_workers: int,
        worker_init_fn: Callable[[int], Any] | None = None,
    ):
        self._free: list[HostBatch] = list(slots)
        self._tasks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._done: dict[tuple[int, int], tuple[HostBatch, Any, BaseException | None]] = {}
        self._closed = False
        self._run_id = 0
        self._abandoned: set[int] = set()
        self._threads = [
            threading.Thread(
                target=self._work,
                args=(i, worker_init_fn),
                name=f"freqpipe-loader-{i}",
                daemon=True,
            )
            for i in range(num_workers)
        ]
        _blas.acquire()  # the workers' maths at one BLAS thread (freqpipe.transforms._blas)
        for t in self._threads:
            t.start()
        _LIVE.add(self)

    @staticmethod
    def _stop_threads(tasks: queue.SimpleQueue[Any], count: int) -> None:
        for _ in range(count):
            tasks.put(_STOP)

    def _work(self, worker_id: int, init: Callable[[int], Any] | None) -> None:
        init_error: BaseException | None = None
        if init is not None:
            try:
                init(worker_id)
            except BaseException as exc:  # reported with the first batch this thread takes
                init_error = exc
        while True:
            task = self._tasks.get()
            if task is _STOP:
                return
            key, slot, indices, fill = task
            error, finished = init_error, None
            if error is None:
                try:
                    slot.wait_reusable()
                    finished = fill(slot, indices)
                except BaseException as exc:
                    error = exc
            with self._cond:
                if key[0] in self._abandoned:
                    self._free.append(slot)
                else:
                    self._done[key] = (slot, finished, error)
                self._cond.notify_all()

    @property
    def alive(self) -> bool:
        """Whether the threads are running."""
        return not self._closed and all(t.is_alive() for t in self._threads)

    def run(
        self, batches: Iterator[list[int]], fill: Fill, timeout: float, in_order: bool = True
    ) -> Iterator[tuple[HostBatch, Any]]:
        """Yield ``(slot, what fill returned)`` for each of ``batches``, in their order.

        With ``in_order=False`` (DataLoader's ``in_order``) a batch is yielded as soon as it
        is filled, so one slow file does not hold back the batches behind it. The caller
        gives each slot back with :meth:`release` once done with it.

        Raises:
            BatchTimeoutError: a batch took longer than ``timeout`` seconds (0: no limit).
            Exception: whatever a worker raised (the file named for bad files).
        """
        self._run_id += 1
        run = self._run_id
        submitted = received = 0
        exhausted = False
        try:
            while True:
                with self._cond:
                    while self._free and not exhausted:
                        indices = next(batches, None)
                        if indices is None:
                            exhausted = True
                            break
                        self._tasks.put(((run, submitted), self._free.pop(), list(indices), fill))
                        submitted += 1
                    if received == submitted and exhausted:
                        return
                    key = (run, received)
                    any_of = None if in_order else run
                    ok = self._cond.wait_for(
                        functools.partial(self._ready, key, exhausted, any_of), timeout or None
                    )
                    if self._closed:
                        return
                    if any_of is not None:
                        key = next((k for k in sorted(self._done) if k[0] == run), key)
                    if ok and key not in self._done:
                        continue  # a slot came back: submit more first
                    if not ok:
                        raise BatchTimeoutError(
                            f"no batch within timeout={timeout} s (batch {received} of this epoch)"
                        )
                    slot, finished, error = self._done.pop(key)
                received += 1
                if error is not None:
                    self.release(slot)
                    raise error
                yield slot, finished
        finally:
            self._drain(run, submitted, received)

    def _ready(self, key: tuple[int, int], exhausted: bool, any_of: int | None) -> bool:
        """Wake-up test (under the lock): a batch is done, a slot is free, or closing.

        The batch is ``key``, or with ``any_of`` any batch of that run (``in_order=False``).
        """
        if key in self._done or self._closed or (bool(self._free) and not exhausted):
            return True
        return any_of is not None and any(k[0] == any_of for k in self._done)

    def _drain(self, run: int, submitted: int, received: int) -> None:
        """Take back the slots of a finished or abandoned epoch, without waiting."""
        with self._cond:
            self._abandoned.add(run)
            for key in [k for k in self._done if k[0] == run]:
                self._free.append(self._done.pop(key)[0])

    def release(self, slot: HostBatch) -> None:
        """Give a slot back for refilling."""
        with self._cond:
            self._free.append(slot)
            self._cond.notify_all()

    def close(self, join: bool = True) -> None:
        """Stop the threads (waiting for them when ``join``)."""
        if self._closed:
            return
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._stop_threads(self._tasks, len(self._threads))
        if join:
            for t in self._threads:
                if t is not threading.current_thread():
                    t.join()
        _LIVE.discard(self)
        _blas.release()
