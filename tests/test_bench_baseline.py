"""The torch + Pillow baseline of ``freqpipe bench`` augments as torchvision does."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

from freqpipe._samples import samples_path
from freqpipe.bench import PillowBaseline
from freqpipe.data import JpegFolder


def _epochs(workers: int, seed: int, epochs: int = 2) -> list[torch.Tensor]:
    """Every epoch's images, in index order (no shuffle), from one DataLoader."""
    torch.manual_seed(seed)
    ds = PillowBaseline(JpegFolder(samples_path()).samples, 32, normalize=False)
    loader = DataLoader(ds, batch_size=len(ds), num_workers=workers)
    return [next(iter(loader))[0] for _ in range(epochs)]


@pytest.mark.parametrize("workers", [0, 2])
def test_new_crop_every_epoch(workers: int) -> None:
    first, second = _epochs(workers, seed=0)
    # torchvision's RandomResizedCrop draws new parameters on every __getitem__: the same
    # index must not get the same crop and flip in two epochs.
    for i in range(len(first)):
        assert not torch.equal(first[i], second[i]), f"index {i}: same crop in both epochs"


@pytest.mark.parametrize("workers", [0, 2])
def test_reproducible_under_torch_manual_seed(workers: int) -> None:
    a, b = _epochs(workers, seed=5), _epochs(workers, seed=5)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], _epochs(workers, seed=6)[0])
