"""The torch + Pillow baseline of ``freqpipe bench`` augments as torchvision does."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from freqpipe._samples import samples_path
from freqpipe.bench import PillowBaseline
from freqpipe.data import JpegFolder, SampleRng
from tests import _torchvision_ref as tv


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


def test_crop_is_torchvisions_resized_crop() -> None:
    """Each sample is torchvision's crop-then-resize and flip, drawn from the documented stream."""
    samples = JpegFolder(samples_path()).samples
    ds = PillowBaseline(samples, 64, normalize=False)
    for index, (path, label) in enumerate(samples):
        torch.manual_seed(index)
        x, y = ds[index]
        torch.manual_seed(index)
        base = int(torch.empty((), dtype=torch.int64).random_().item())
        rng = SampleRng(base, 0).for_index(index)
        with Image.open(path) as im:
            img = im.convert("RGB")
        ref = tv.resized_crop(img, *tv.get_params(img.height, img.width, rng), 64)
        if rng.random() < 0.5:
            ref = ref[:, ::-1]
        assert y == label
        assert np.array_equal(x.permute(1, 2, 0).numpy(), ref), path
