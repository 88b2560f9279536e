"""FreqLoader over a converted store equals the loader over the original JPEGs (eval geometry)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DistributedSampler

import freqpipe as fp
from freqpipe.data import FreqLoader
from freqpipe.errors import InvalidArgumentError


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("store") / "samples"
    fp.store.convert(fp.samples_path(), dst, select="dct24", size=64, progress=False)
    return dst


def test_store_batches_equal_coefficient_source(store_dir: Path) -> None:
    # Both centre-crop the coded block grid (eval), so the dequantised, normalised batches match.
    store = fp.store.FreqStore(store_dir)
    from_store = FreqLoader(store, batch_size=3, device="cpu")
    from_jpeg = FreqLoader(fp.samples_path(), batch_size=3, select="dct24", size=64, device="cpu")
    assert len(from_store) == len(from_jpeg) == 3
    for (xs, ys), (xj, yj) in zip(from_store, from_jpeg):
        assert xs.shape == xj.shape == (xs.shape[0], 24, 8, 8)
        torch.testing.assert_close(xs, xj)
        assert ys.tolist() == yj.tolist()
    raw = next(iter(FreqLoader(store, batch_size=2, device="cpu", normalize=None)))[0]
    batch = store.read_batch([0, 1])
    expected = batch.coeffs.astype(np.float32) * batch.quant[:, :, None, None]
    np.testing.assert_array_equal(raw.numpy(), expected)


def test_store_geometry_is_checked(store_dir: Path) -> None:
    store = fp.store.FreqStore(store_dir)
    assert FreqLoader(store, select="dct24", size=64, device="cpu").size == 64
    with pytest.raises(InvalidArgumentError, match="64-pixel"):
        FreqLoader(store, size=128, device="cpu")
    with pytest.raises(InvalidArgumentError, match="selection"):
        FreqLoader(store, select="dct64", device="cpu")
    with pytest.raises(InvalidArgumentError, match="DCT"):
        FreqLoader(store, output="rgb", device="cpu")


def test_store_under_distributed_sampler(store_dir: Path) -> None:
    store = fp.store.FreqStore(store_dir)
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(store, num_replicas=2, rank=rank, shuffle=True, seed=3)
        loader = FreqLoader(
            store, batch_size=2, sampler=sampler, device="cpu", num_workers=1, train=False
        )
        seen += [int(v) for _, y in loader for v in y]
    assert sorted(seen) == sorted(int(v) for v in store.labels)


def test_fixed_crops_refuse_train_and_warn_when_it_is_implied(store_dir: Path) -> None:
    store = fp.store.FreqStore(store_dir)
    with pytest.raises(fp.FixedCropStoreError, match="--layout whole") as exc:
        FreqLoader(store, batch_size=2, train=True, device="cpu")
    assert str(store_dir) in str(exc.value)
    with pytest.warns(fp.FixedCropWarning, match="--layout whole"):
        loader = FreqLoader(store, batch_size=2, shuffle=True, device="cpu")
    assert loader.train is False
    plain = FreqLoader(store, batch_size=2, shuffle=False, device="cpu")
    x, _ = next(iter(loader))  # the same centre crops, shuffled
    assert x.shape == next(iter(plain))[0].shape
