"""Issue 19: state_dict / load_state_dict resume an epoch in a new process, bit for bit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import DistributedSampler, RandomSampler

import freqpipe as fp
from freqpipe.data import FreqLoader, JpegFileList
from freqpipe.errors import LoaderStateError
from tests.data._resume_child import batches_after

REPO = Path(__file__).resolve().parents[2]
SMALL = {"size": 32, "device": "cpu"}


def _child(cfg: dict[str, Any], out: Path, mode: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "tests.data._resume_child", json.dumps(cfg), str(out), mode]
    result = subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0, result.stderr[-4000:]


def _same(got: list[tuple[torch.Tensor, torch.Tensor]], want: list[Any]) -> None:
    assert [y.tolist() for y, _ in got] == [y.tolist() for y, _ in want]
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(got, want))


CONFIGS = [
    {"sampler": "shuffle", "generator": True},
    {"sampler": "shuffle", "generator": False},  # torch's global generator
    {"sampler": "distributed"},
]


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c["sampler"] + str(c.get("generator", "")))
def test_resume_in_a_new_process_equals_one_epoch(
    tmp_path: Path, cfg: dict[str, Any], drop_last: bool, workers: int
) -> None:
    cfg = {**cfg, "drop_last": drop_last, "workers": workers}
    _child(cfg, tmp_path, "save")
    _child(cfg, tmp_path, "resume")
    ranks = (0, 1) if cfg["sampler"] == "distributed" else (0,)
    for rank in ranks:
        full = torch.load(tmp_path / f"full{rank}.pt")
        for k in batches_after(cfg, rank):
            rest = torch.load(tmp_path / f"rest{rank}_{k}.pt")
            _same(full[:k] + rest, full)


def _labels(batches: Any) -> list[int]:
    return [v for batch in batches for v in batch[-1].reshape(-1).tolist()]


def _resumed_after(make: Any, k: int) -> tuple[list[Any], list[Any]]:
    """An uninterrupted epoch, and the same epoch cut after k batches and resumed."""
    torch.manual_seed(0)  # the same global random state for both runs
    whole = [(b[-1], b[0]) for b in make()]
    torch.manual_seed(0)
    a = make()
    it = iter(a)
    head = [next(it) for _ in range(k)]
    b = make()
    b.load_state_dict(a.state_dict())
    rest = list(b)
    return whole, [(x[-1], x[0]) for x in head + rest]


class Pairs(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """A plain map-style dataset of (JPEG bytes, label)."""

    def __init__(self, files: list[Path]):
        self.items = [(f.read_bytes(), i) for i, f in enumerate(files)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[bytes, int]:
        return self.items[i]


def test_folder_map_style_and_own_sampler_generator(files: list[Path]) -> None:
    def folder() -> FreqLoader:
        return FreqLoader(
            fp.samples_path(),
            batch_size=3,
            shuffle=True,
            generator=torch.Generator().manual_seed(1),
            **SMALL,
        )

    def pairs() -> FreqLoader:
        ds = Pairs(files)
        sampler = RandomSampler(ds, generator=torch.Generator().manual_seed(2))
        return FreqLoader(ds, batch_size=2, sampler=sampler, **SMALL)

    for make in (folder, pairs):
        whole, resumed = _resumed_after(make, 1)
        _same(resumed, whole)


def test_store_resumes(tmp_path: Path) -> None:
    fp.store.convert(
        fp.samples_path(), tmp_path / "s", select="dct6", size=32, layout="whole", progress=False
    )
    store = fp.FreqStore(tmp_path / "s")

    def make() -> FreqLoader:
        return FreqLoader(
            store,
            batch_size=3,
            shuffle=True,
            num_workers=2,
            device="cpu",
            generator=torch.Generator().manual_seed(4),
        )

    whole, resumed = _resumed_after(make, 2)
    _same(resumed, whole)


def test_persistent_workers_resume_the_next_epochs(indexed: JpegFileList) -> None:
    def make() -> FreqLoader:
        return FreqLoader(
            indexed,
            batch_size=3,
            shuffle=True,
            num_workers=2,
            persistent_workers=True,
            generator=torch.Generator().manual_seed(6),
            **SMALL,
        )

    a = make()
    epochs = [[(b[-1], b[0]) for b in a] for _ in range(3)]
    a.close()
    b = make()
    _ = list(b)  # epoch 0
    it = iter(b)
    head = [next(it)]
    c = make()
    c.load_state_dict(b.state_dict())
    got = [[(x[-1], x[0]) for x in head + list(c)], [(x[-1], x[0]) for x in c]]
    _same(got[0], epochs[1])
    _same(got[1], epochs[2])  # the same base seed and epoch count carry on
    b.close()
    c.close()


def test_state_after_an_epoch_starts_the_next(indexed: JpegFileList) -> None:
    def make() -> FreqLoader:
        return FreqLoader(
            indexed, batch_size=3, shuffle=True, generator=torch.Generator().manual_seed(8), **SMALL
        )

    a = make()
    first, second = list(a), list(a)
    b = make()
    _ = list(b)
    state = b.state_dict()
    assert (state["in_progress"], state["epoch"]) == (False, 1)
    c = make()
    c.load_state_dict(state)
    _same([(x[-1], x[0]) for x in c], [(x[-1], x[0]) for x in second])
    assert _labels(first) != _labels(second)


def test_skip_counts_travel_with_the_state(files: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    ds = JpegFileList([bad, *files], list(range(len(files) + 1)))

    def make() -> FreqLoader:
        return FreqLoader(ds, batch_size=3, on_error="skip", **SMALL)

    a = make()
    it = iter(a)
    next(it)
    b = make()
    b.load_state_dict(a.state_dict())
    list(b)
    assert b.skipped == 1 and [name for name, _ in b.bad_files] == [str(bad)]


def test_state_is_builtins_and_tensors(tmp_path: Path, indexed: JpegFileList) -> None:
    loader = FreqLoader(indexed, batch_size=2, shuffle=True, **SMALL)
    it = iter(loader)  # the state describes the live iterator: hold it
    next(it)
    torch.save(loader.state_dict(), tmp_path / "s.pt")
    state = torch.load(tmp_path / "s.pt", weights_only=True)
    assert state["batches_yielded"] == 1 and state["format_version"] == 1


@pytest.mark.parametrize(
    ("key", "change"),
    [
        ("dataset_length", {"n": 6}),
        ("batch_size", {"batch_size": 4}),
        ("drop_last", {"drop_last": True}),
        ("sampler.num_replicas", {"replicas": 4}),
        ("sampler.seed", {"seed": 1}),
    ],
)
def test_a_state_that_does_not_fit_says_which(
    files: list[Path], key: str, change: dict[str, Any]
) -> None:
    def make(
        n: int = 8, batch_size: int = 2, drop_last: bool = False, replicas: int = 2, seed: int = 0
    ) -> FreqLoader:
        ds = JpegFileList(files[:n], list(range(n)))
        sampler = DistributedSampler(ds, num_replicas=replicas, rank=0, seed=seed)
        return FreqLoader(ds, batch_size=batch_size, sampler=sampler, drop_last=drop_last, **SMALL)

    state = make().state_dict()
    with pytest.raises(LoaderStateError, match=key) as info:
        make(**change).load_state_dict(state)
    assert info.value.key == key and info.value.saved != info.value.current
    if key == "sampler.num_replicas":
        assert "ElasticSampler" in str(info.value)


def test_another_format_version_is_refused(indexed: JpegFileList) -> None:
    loader = FreqLoader(indexed, batch_size=2, **SMALL)
    state = {**loader.state_dict(), "format_version": 99}
    with pytest.raises(LoaderStateError, match="format_version") as info:
        loader.load_state_dict(state)
    assert (info.value.saved, info.value.current) == (99, 1)
    assert isinstance(info.value, fp.InvalidArgumentError)
