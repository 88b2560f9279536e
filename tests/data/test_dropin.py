"""Issue 14: what a DataLoader user trips over, checked against torch's own DataLoader."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, Sampler

from freqpipe.data import FreqLoader, JpegFileList

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
        loader = FreqLoader(indexed, batch_size=2, train=True, num_workers=2, size=64,
                            device="cpu", generator=torch.Generator().manual_seed(5))  # fmt: skip
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
        loader = FreqLoader(ds, batch_size=4, shuffle=True, num_workers=2, on_error="skip",
                            generator=torch.Generator().manual_seed(seed), **SMALL)  # fmt: skip
        for _ in range(2):  # per epoch, not cumulative
            assert sum(len(y) for _, y in loader) == len(ds)
            assert loader.skipped == 5
        assert [name for name, _ in loader.bad_files] == sorted(map(str, bad))
        assert all("byte" in reason for _, reason in loader.bad_files)
