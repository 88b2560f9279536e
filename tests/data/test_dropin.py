"""Issue 14: what a DataLoader user trips over, checked against torch's own DataLoader."""

from __future__ import annotations

import inspect
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, Sampler

from freqpipe.data import FreqLoader, JpegFileList
from freqpipe.errors import DeviceUnavailableError

SMALL = {"size": 32, "device": "cpu"}


def _peek_run(loader: Any) -> list[int]:
    """Labels a loop sees when it calls ``next(iter(loader))`` at its third batch."""
    got: list[int] = []
    for i, batch in enumerate(loader):
        got += batch[-1].reshape(-1).tolist()
        if i == 2:
            next(iter(loader))
    return got


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("persistent", [False, True])
def test_second_iter_matches_dataloader(
    indexed: JpegFileList, workers: int, persistent: bool
) -> None:
    if persistent and workers == 0:
        pytest.skip("persistent_workers needs workers")
    kw: dict[str, Any] = {"num_workers": workers, "persistent_workers": persistent}
    ours = FreqLoader(indexed, batch_size=1, **kw, **SMALL)
    theirs = DataLoader(range(len(indexed)), batch_size=1, **kw)
    assert _peek_run(ours) == _peek_run(theirs)
    ours.close()


def test_peek_keeps_the_epoch_in_progress(indexed: JpegFileList) -> None:
    def run(peek: bool) -> list[torch.Tensor]:
        loader = FreqLoader(
            indexed,
            batch_size=2,
            train=True,
            num_workers=2,
            size=64,
            device="cpu",
            generator=torch.Generator().manual_seed(5),
        )
        out = []
        for i, (x, _) in enumerate(loader):
            out.append(x)
            if peek and i == 1:
                next(iter(loader))
        return out

    plain, peeked = run(False), run(True)
    assert len(peeked) == len(plain) == 4
    assert all(torch.equal(a, b) for a, b in zip(plain, peeked))


class _Opaque(Sampler[int]):
    """A custom sampler that says nothing about shuffling."""

    def __init__(self, n: int):
        self.n = n

    def __iter__(self) -> Any:
        return iter(range(self.n))

    def __len__(self) -> int:
        return self.n


def test_train_follows_the_sampler(indexed: JpegFileList) -> None:
    ddp = {"num_replicas": 2, "rank": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert FreqLoader(indexed, sampler=DistributedSampler(indexed, **ddp), **SMALL).train
        val = DistributedSampler(indexed, shuffle=False, **ddp)
        assert not FreqLoader(indexed, sampler=val, **SMALL).train
        assert FreqLoader(indexed, sampler=RandomSampler(indexed), **SMALL).train
        assert not FreqLoader(indexed, **SMALL).train
        assert FreqLoader(indexed, shuffle=True, **SMALL).train
        assert not FreqLoader(indexed, sampler=_Opaque(8), train=False, **SMALL).train
    with pytest.warns(UserWarning, match="train=False.*pass train="):
        assert not FreqLoader(indexed, sampler=_Opaque(8), **SMALL).train


def test_skipped_counts_distinct_bad_files(files: list[Path], tmp_path: Path) -> None:
    bad = []
    for i in range(5):
        p = tmp_path / f"bad{i}.jpg"
        p.write_bytes(files[i].read_bytes()[:300])  # header only: the scan is missing
        bad.append(p)
    items: list[Path] = [files[0], *bad, files[1], files[2]]
    ds = JpegFileList(items, list(range(len(items))))
    for seed in range(6):
        loader = FreqLoader(
            ds,
            batch_size=4,
            shuffle=True,
            num_workers=2,
            on_error="skip",
            generator=torch.Generator().manual_seed(seed),
            **SMALL,
        )
        for _ in range(2):  # per epoch, not cumulative
            assert sum(len(y) for _, y in loader) == len(ds)
            assert loader.skipped == 5
        assert [name for name, _ in loader.bad_files] == sorted(map(str, bad))
        assert all("byte" in reason for _, reason in loader.bad_files)


class _Targets(torch.utils.data.Dataset[Any]):
    """The bundled samples with arbitrary targets."""

    def __init__(self, files: list[Path], targets: list[Any]):
        self.files, self.targets = files, targets

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[Path, Any]:
        return self.files[i], self.targets[i]


def _same(a: Any, b: Any) -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for u, v in zip(a, b):
            _same(u, v)
    else:
        assert a == b


@pytest.mark.parametrize(
    "make",
    [
        lambda i: i,
        lambda i: i + 0.7,
        lambda i: torch.full((3,), i / 10),
        lambda i: np.eye(8, dtype=np.float32)[i],
        lambda i: (i, float(i) / 2),
        lambda i: {"cls": i, "box": torch.tensor([i, i + 1.5])},
    ],
    ids=["int", "float", "soft", "multi-hot-array", "tuple", "dict"],
)
@pytest.mark.parametrize("workers", [0, 2])
def test_targets_collate_as_dataloader(files: list[Path], make: Any, workers: int) -> None:
    targets = [make(i) for i in range(len(files))]
    ours = FreqLoader(_Targets(files, targets), batch_size=3, num_workers=workers, **SMALL)
    theirs = DataLoader(targets, batch_size=3)
    got = [batch[-1] for batch in ours]
    assert len(got) == len(theirs)
    for a, b in zip(theirs, got):
        _same(a, b)


def test_target_transform_and_collate_fn(indexed: JpegFileList) -> None:
    seen: list[list[Any]] = []

    def collate(targets: list[Any]) -> torch.Tensor:
        seen.append(targets)
        return torch.tensor(targets) * 10

    loader = FreqLoader(
        indexed, batch_size=4, target_transform=lambda t: t + 1, collate_fn=collate, **SMALL
    )
    assert [y.tolist() for _, y in loader] == [[10, 20, 30, 40], [50, 60, 70, 80]]
    assert seen == [[1, 2, 3, 4], [5, 6, 7, 8]]  # the list of targets, after target_transform


def test_accepts_every_dataloader_argument_in_order() -> None:
    theirs = list(inspect.signature(DataLoader.__init__).parameters.values())[1:]
    ours = inspect.signature(FreqLoader.__init__).parameters
    assert list(ours)[1 : len(theirs) + 1] == [p.name for p in theirs]
    for p in theirs:  # same kind (positional or keyword-only) and the same default
        assert ours[p.name].kind == p.kind, p.name
        assert ours[p.name].default == p.default, p.name


def _error(make: Any) -> tuple[type, str]:
    with pytest.raises(Exception) as info:
        make()
    return type(info.value), str(info.value)


@pytest.mark.parametrize(
    "kw",
    [
        {"multiprocessing_context": "spawn"},
        {"multiprocessing_context": "nope", "num_workers": 1},
        {"multiprocessing_context": 3, "num_workers": 1},
    ],
)
def test_multiprocessing_context_errors_equal_dataloader(indexed: JpegFileList, kw: Any) -> None:
    theirs = _error(lambda: DataLoader(range(8), **kw))
    assert _error(lambda: FreqLoader(indexed, **kw, **SMALL)) == theirs


def test_multiprocessing_context_warns_no_effect(indexed: JpegFileList) -> None:
    with pytest.warns(UserWarning, match="no effect.*threads"):
        loader = FreqLoader(indexed, num_workers=1, multiprocessing_context="spawn", **SMALL)
    assert len(list(loader)) == 8


# DataLoader's half-built iterator then fails again in its __del__.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_prefetch_factor_zero_raises(indexed: JpegFileList) -> None:
    with pytest.raises(AssertionError, match="prefetch_factor must be greater than 0"):
        next(iter(DataLoader(range(8), num_workers=1, prefetch_factor=0)))
    with pytest.raises(ValueError, match="prefetch_factor must be greater than 0"):
        FreqLoader(indexed, num_workers=1, prefetch_factor=0, **SMALL)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_pin_memory_without_accelerator_warns_as_dataloader(indexed: JpegFileList) -> None:
    with pytest.warns(UserWarning) as theirs:
        next(iter(DataLoader(range(8), pin_memory=True)))
    with pytest.warns(UserWarning) as ours:
        loader = FreqLoader(indexed, batch_size=8, pin_memory=True, pin_memory_device="", **SMALL)
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    assert next(iter(loader))[0].shape[0] == 8  # and it continues


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1", torch.device("cuda", 0)])
def test_unavailable_device_fails_at_construction(indexed: JpegFileList, device: Any) -> None:
    with pytest.raises(DeviceUnavailableError, match="not available.*device='cpu'"):
        FreqLoader(indexed, device=device, size=32)


class _SlowFirst(JpegFileList):
    def __getitem__(self, index: int) -> Any:
        if index == 0:
            time.sleep(0.6)
        return super().__getitem__(index)


@pytest.mark.parametrize("in_order", [True, False])
def test_in_order(indexed: JpegFileList, in_order: bool) -> None:
    ds = _SlowFirst(indexed.files, indexed.targets)
    loader = FreqLoader(ds, batch_size=1, num_workers=2, in_order=in_order, **SMALL)
    got = [int(y) for _, y in loader]
    assert sorted(got) == list(range(8))
    assert (got == list(range(8))) is in_order  # out of order: the slow file comes later


def test_unstarted_iterators_leave_no_threads(indexed: JpegFileList) -> None:
    import gc
    import threading

    def live() -> int:
        return sum(t.name.startswith("freqpipe-loader-") for t in threading.enumerate())

    before = live()
    loader = FreqLoader(indexed, batch_size=2, num_workers=2, **SMALL)
    for _ in range(3):
        iter(loader)  # dropped before its first batch
    gc.collect()
    deadline = time.monotonic() + 5
    while live() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live() == before
    assert len(list(loader)) == 4
