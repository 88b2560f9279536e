"""The loader's worker pool and the process it runs in."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from freqpipe.data._batch import BatchSpec, HostBatch
from freqpipe.data._workers import WorkerPool

threadpoolctl = pytest.importorskip("threadpoolctl")


def _numpy_blas_threads() -> list[int]:
    np.ones((4, 4)) @ np.ones((4, 4))  # loaded
    return [
        info["num_threads"]
        for info in threadpoolctl.threadpool_info()
        if info["user_api"] == "blas" and "numpy" in info["filepath"]
    ]


def test_numpy_blas_runs_one_thread_while_pools_run() -> None:
    before = _numpy_blas_threads()
    if not before or max(before) == 1:
        pytest.skip("NumPy's BLAS runs one thread here anyway: nothing to observe")
    torch_threads = torch.get_num_threads()
    slots = [HostBatch.allocate(BatchSpec(1, {"x": ((1,), "int16")}), pinned=False)]
    first, second = WorkerPool(slots, 2), WorkerPool(slots, 1)
    try:
        assert _numpy_blas_threads() == [1] * len(before)
        first.close()
        assert _numpy_blas_threads() == [1] * len(before)  # the other pool still runs
        assert torch.get_num_threads() == torch_threads  # torch's threads are not ours
    finally:
        first.close()
        second.close()
    assert _numpy_blas_threads() == before
