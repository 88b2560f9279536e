"""FreqLoader's DataLoader semantics: len, samplers, order, seeds, workers, errors."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, SequentialSampler, SubsetRandomSampler

from freqpipe._samples import samples_path
from freqpipe.data import BatchTimeoutError, FreqLoader, JpegFileList, JpegFolder
from freqpipe.errors import InvalidArgumentError

REPO = Path(__file__).resolve().parents[2]
SMALL = {"size": 32, "device": "cpu"}


def _labels(loader: Any) -> list[list[int]]:
    return [batch[-1].tolist() for batch in loader]


@pytest.mark.parametrize(
    ("bs", "drop", "n_batches", "last"),
    [(3, False, 3, 2), (3, True, 2, 3), (8, False, 1, 8), (5, True, 1, 5)],
)
def test_len_drop_last_partial(
    indexed: JpegFileList, bs: int, drop: bool, n_batches: int, last: int
) -> None:
    loader = FreqLoader(indexed, batch_size=bs, drop_last=drop, **SMALL)
    got = _labels(loader)
    assert len(loader) == n_batches == len(got) == len(DataLoader(range(8), bs, drop_last=drop))
    assert len(got[-1]) == last
    flat = list(itertools.chain(*got))
    assert flat == list(range(len(flat)))


def test_default_batch_size_is_one_and_folder_root() -> None:
    loader = FreqLoader(samples_path(), **SMALL)
    assert len(loader) == 8 and loader.batch_size == 1 and not loader.drop_last
    assert _labels(loader) == [[t] for t in JpegFolder(samples_path()).targets]


@pytest.mark.parametrize("persistent", [False, True])
def test_shuffle_order_equals_dataloader(indexed: JpegFileList, persistent: bool) -> None:
    kw: dict[str, Any] = {"num_workers": 2, "persistent_workers": True} if persistent else {}
    ours = FreqLoader(
        indexed,
        batch_size=3,
        shuffle=True,
        generator=torch.Generator().manual_seed(3),
        **kw,
        **SMALL,
    )
    theirs = DataLoader(
        range(8), batch_size=3, shuffle=True, generator=torch.Generator().manual_seed(3), **kw
    )
    for _ in range(2):  # two epochs: the order changes and stays equal to DataLoader's
        assert _labels(ours) == [b.tolist() for b in theirs]
    ours.close()


def test_samplers_and_batch_sampler(indexed: JpegFileList) -> None:
    sampler = SubsetRandomSampler([1, 5, 6], generator=torch.Generator().manual_seed(0))
    got = _labels(FreqLoader(indexed, batch_size=2, sampler=sampler, **SMALL))
    assert sorted(itertools.chain(*got)) == [1, 5, 6]
    bsamp = BatchSampler(SequentialSampler(range(8)), 5, False)
    loader = FreqLoader(indexed, batch_sampler=bsamp, **SMALL)
    assert _labels(loader) == [[0, 1, 2, 3, 4], [5, 6, 7]] and len(loader) == 2

    class Uneven:
        def __iter__(self) -> Any:
            return iter([[0], [1, 2, 3, 4, 5, 6, 7], [2, 2]])

        def __len__(self) -> int:
            return 3

    assert _labels(FreqLoader(indexed, batch_sampler=Uneven(), **SMALL))[1] == list(range(1, 8))


COMBOS: list[dict[str, Any]] = [
    {"num_workers": -1},
    {"timeout": -1},
    {"prefetch_factor": 2},
    {"num_workers": 1, "prefetch_factor": -1},
    {"persistent_workers": True},
    {"sampler": SequentialSampler(range(8)), "shuffle": True},
    {"batch_sampler": BatchSampler(SequentialSampler(range(8)), 2, False), "batch_size": 2},
    {"batch_sampler": BatchSampler(SequentialSampler(range(8)), 2, False), "drop_last": True},
    {"batch_sampler": BatchSampler(SequentialSampler(range(8)), 2, False), "shuffle": True},
]


@pytest.mark.parametrize("kw", COMBOS)
def test_invalid_combinations_raise_like_dataloader(indexed: JpegFileList, kw: dict) -> None:
    with pytest.raises(ValueError) as theirs:
        DataLoader(range(8), **kw)
    with pytest.raises(ValueError) as ours:
        FreqLoader(indexed, **kw, **SMALL)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


BAD_ARGS: list[dict[str, Any]] = [
    {"size": 12},
    {"size": 40, "chroma": "separate"},
    {"output": "png"},
    {"output": "rgb", "source": "coefficients"},
    {"dtype": torch.int32},
    {"on_error": "ignore"},
    {"transfer_dtype": "int4"},
    {"normalize": "no-such-stats"},
    {"raw": True, "source": "pixels"},
    {"batch_size": None},
]


@pytest.mark.parametrize("kw", BAD_ARGS)
def test_invalid_freqpipe_arguments(indexed: JpegFileList, kw: dict) -> None:
    args = {**SMALL, **kw}
    with pytest.raises(InvalidArgumentError):
        FreqLoader(indexed, **args)


def test_determinism_across_runs_and_worker_counts(indexed: JpegFileList) -> None:
    def run(workers: int, seed: int) -> list[torch.Tensor]:
        loader = FreqLoader(
            indexed,
            batch_size=3,
            shuffle=True,
            num_workers=workers,
            generator=torch.Generator().manual_seed(seed),
            size=64,
            device="cpu",
        )
        return [x for x, _ in loader]

    a, b, c = run(0, 1), run(2, 1), run(2, 2)
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not all(torch.equal(u, v) for u, v in zip(a, c))
    torch.manual_seed(9)
    d = [x for x, _ in FreqLoader(indexed, batch_size=8, shuffle=True, size=64, device="cpu")]
    torch.manual_seed(9)
    e = [x for x, _ in FreqLoader(indexed, batch_size=8, shuffle=True, size=64, device="cpu")]
    assert torch.equal(d[0], e[0])


def test_set_epoch_changes_augmentation(indexed: JpegFileList) -> None:
    loader = FreqLoader(
        indexed,
        batch_size=8,
        train=True,
        size=64,
        device="cpu",
        num_workers=1,
        persistent_workers=True,
    )
    loader.set_epoch(0)
    a = next(iter(loader))[0]
    loader.set_epoch(0)
    b = next(iter(loader))[0]
    loader.set_epoch(1)
    c = next(iter(loader))[0]
    assert torch.equal(a, b) and not torch.equal(a, c)
    loader.close()


def test_workers_init_fn_timeout_and_prefetch(indexed: JpegFileList) -> None:
    seen: list[tuple[int, str]] = []
    lock = threading.Lock()

    def init(worker_id: int) -> None:
        with lock:
            seen.append((worker_id, threading.current_thread().name))

    loader = FreqLoader(
        indexed, batch_size=1, num_workers=2, prefetch_factor=2, worker_init_fn=init, **SMALL
    )
    it = iter(loader)
    next(it)
    time.sleep(0.3)  # a slow consumer: the next batches are filled meanwhile
    pool = it.pool
    assert pool is not None and len(pool._done) >= 2
    rest = list(it)
    assert len(rest) == 7 and sorted(w for w, _ in seen) == [0, 1]
    assert all(name.startswith("freqpipe-loader-") for _, name in seen)
    assert not pool.alive  # not persistent: stopped after the epoch

    class Slow(JpegFileList):
        def __getitem__(self, index: int) -> Any:
            time.sleep(1.0)
            return super().__getitem__(index)

    slow = FreqLoader(Slow(indexed.files, indexed.targets), num_workers=1, timeout=0.1, **SMALL)
    with pytest.raises(BatchTimeoutError):
        next(iter(slow))
    slow.close()


def test_no_hang_at_exit_with_live_workers() -> None:
    code = (
        "from freqpipe.data import FreqLoader\n"
        "from freqpipe._samples import samples_path\n"
        "l = FreqLoader(samples_path(), batch_size=1, num_workers=2, persistent_workers=True,"
        " size=32, device='cpu')\n"
        "it = iter(l); next(it)\n"
        "print('ok')\n"
    )
    t = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok" and time.monotonic() - t < 60
