"""NumPy's BLAS at one thread while worker threads run this package's maths.

The DCT-domain resizes and block DCTs are small matrix products. Run in worker threads (the
loader's, ``freqpipe convert``'s), a BLAS that starts threads of its own in each of them
oversubscribes the cores the workers already use: measured on 2 vCPUs under load, the 400
photos with chroma="separate" (312 of them 4:4:4 or 4:2:2), 2 loader workers: 135 images/s and
10.6 CPU-ms per image with BLAS's own threads, 235 and 4.8 with one; ``convert``'s pixel route
with 2 workers, 198 images/s against 366. As DataLoader's worker processes run torch at one
thread. Only NumPy's own BLAS is limited (torch's threads are its own business), and the
original setting comes back when the last user is done.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

from threadpoolctl import ThreadpoolController

__all__ = ["acquire", "one_blas_thread", "release"]


class _OneBlasThread:
    """A count of users: the first limits NumPy's BLAS to one thread, the last restores it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._limiter: Any = None

    def acquire(self) -> None:
        with self._lock:
            self._users += 1
            if self._users == 1:
                import numpy

                home = os.path.dirname(numpy.__file__)  # wheels keep it in numpy.libs beside
                blas = ThreadpoolController().select(user_api="blas")
                mine = [
                    lib
                    for lib in blas.lib_controllers
                    if lib.filepath.startswith((home + os.sep, home + ".libs" + os.sep))
                ]
                blas.lib_controllers = mine
                self._limiter = blas.limit(limits=1) if mine else None

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._limiter is not None:
                self._limiter.restore_original_limits()
                self._limiter = None


_BLAS = _OneBlasThread()
acquire = _BLAS.acquire
release = _BLAS.release


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """NumPy's BLAS at one thread inside (nested and concurrent uses share one limit)."""
    acquire()
    try:
        yield
    finally:
        release()
