"""Multi-rank conversion (2 CPU processes) and the reading API."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from freqpipe.errors import InvalidArgumentError
from freqpipe.store import (
    FreqStore,
    IncompleteStoreError,
    StoreBatch,
    convert,
    merge,
    verify,
)
from tests.store.conftest import run_convert

ARGS = ("--select", "dct6", "--size", "32", "--shard-size", "7", "--workers", "1")


@pytest.mark.parametrize("mode", ["rank0-merges", "explicit-merge"])
def test_two_ranks_equal_one_process(big_folder: Path, tmp_path: Path, mode: str) -> None:
    single = tmp_path / "single"
    convert(big_folder, single, select="dct6", size=32, shard_size=7, progress=False)
    dst = tmp_path / "multi"
    wait = "60" if mode == "rank0-merges" else "0"
    procs = [
        run_convert(
            str(big_folder),
            str(dst),
            *ARGS,
            "--merge-timeout",
            wait,
            env={"RANK": str(r), "WORLD_SIZE": "2"},
        )
        for r in (0, 1)
    ]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    if mode == "explicit-merge":
        with pytest.raises(IncompleteStoreError):
            FreqStore(dst)
        merge(dst)
    assert verify(dst).ok
    a, b = FreqStore(single), FreqStore(dst)
    assert b.manifest["world_size"] == 2 and {s["rank"] for s in b.manifest["shards"]} == {0, 1}
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.indices, b.indices)
    idx = np.arange(len(a))
    np.testing.assert_array_equal(a.read_batch(idx).coeffs, b.read_batch(idx).coeffs)
    # each node opens only the shards its rank wrote
    parts = [FreqStore.for_rank(dst, r, 2) for r in (0, 1)]
    assert sum(len(p) for p in parts) == len(b)
    assert all(s["rank"] == r for r, p in enumerate(parts) for s in p.shard_entries)
    assert verify(dst, rank=1, world_size=2).records == len(parts[1])


def test_merge_refuses_unfinished_rank(small_folder: Path, tmp_path: Path) -> None:
    convert(
        small_folder, tmp_path / "s", select="dct6", size=16, rank=1, world_size=2, progress=False
    )
    with pytest.raises(IncompleteStoreError, match="rank 0 of 2"):
        merge(tmp_path / "s")


@pytest.fixture(scope="module")
def store(big_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> FreqStore:
    d = tmp_path_factory.mktemp("r") / "s"
    convert(big_folder, d, select="dct24", size=32, shard_size=9, progress=False)
    return FreqStore(d)


def test_read_batch_matches_getitem_any_order(store: FreqStore) -> None:
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(store))[:25]
    idx[3] = -1
    out = store.empty_batch(32)
    got = store.read_batch(idx, out=out)
    assert got.coeffs.base is not None and len(got) == 25
    assert np.shares_memory(got.coeffs, out.coeffs)
    for row, i in enumerate(idx):
        rec, label = store[int(i)]
        np.testing.assert_array_equal(got.coeffs[row], rec["coeffs"])
        np.testing.assert_array_equal(got.quant[row], rec["quant"])
        assert got.labels[row] == label == store.labels[i]
    seq = store.read_batch(np.arange(9))  # one shard, contiguous: the no-temporary path
    np.testing.assert_array_equal(seq.coeffs, np.stack([store[i][0]["coeffs"] for i in range(9)]))


def test_read_batch_errors(store: FreqStore) -> None:
    with pytest.raises(IndexError):
        store.read_batch([len(store)])
    with pytest.raises(InvalidArgumentError, match="out.coeffs"):
        store.read_batch(
            [0, 1],
            out=StoreBatch(
                np.empty((2, 1, 4, 4), np.int16),
                np.empty((2, 24), np.uint16),
                np.empty(2, np.int64),
            ),
        )
    assert len(store.read_batch([])) == 0


def test_pickle_and_torch_dataloader_with_distributed_sampler(store: FreqStore) -> None:
    clone = pickle.loads(pickle.dumps(store))
    assert len(pickle.dumps(store)) < 100_000  # memmaps are not shipped
    np.testing.assert_array_equal(clone.read_batch([5]).coeffs, store.read_batch([5]).coeffs)
    seen = []
    for rank in (0, 1):
        sampler = DistributedSampler(store, num_replicas=2, rank=rank, shuffle=True, seed=3)
        sampler.set_epoch(1)
        loader = DataLoader(store, batch_size=8, sampler=sampler)
        for rec, label in loader:
            assert rec["coeffs"].shape[1:] == (24, 4, 4) and rec["coeffs"].dtype in (
                torch.int16,
                torch.int8,
            )
            seen.extend(label.tolist())
        batch = store.read_batch(list(sampler))
        assert len(batch) == len(sampler)
    assert sorted(seen) == sorted(store.labels.tolist())
