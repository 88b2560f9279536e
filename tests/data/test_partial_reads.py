"""The loader reads each file whole once, then only the block rows of its crops."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import freqpipe.data._coefficients as coefficient_source
import freqpipe.data._transformed as transform_source
from freqpipe.data import FreqLoader, JpegFileList
from freqpipe.errors import CorruptJpegError
from freqpipe.transforms.dct import Compose, RandomResizedCrop


def _photo(height: int, width: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    smooth = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    img = Image.fromarray(smooth).resize((width, height), Image.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _damaged_below(data: bytes) -> bytes:
    """A baseline file cut short: its last fifth, the image's bottom rows, missing."""
    return data[: len(data) * 4 // 5]


def _spy(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[Any]:
    seen: list[Any] = []
    real = module.decode_jpeg

    def decode(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("block_rows"))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "decode_jpeg", decode)
    return seen


@pytest.mark.parametrize("transform", [None, Compose([RandomResizedCrop(32)])], ids=["crop", "rrc"])
def test_first_epoch_reads_whole_later_ones_the_rows(
    monkeypatch: pytest.MonkeyPatch, transform: Any
) -> None:
    files = [_photo(200, 160, seed) for seed in range(3)]
    module = coefficient_source if transform is None else transform_source
    seen = _spy(monkeypatch, module)
    kw = {"size": 32} if transform is None else {"transform": transform}
    loader = FreqLoader(
        JpegFileList(files, [0, 1, 2]), batch_size=3, train=True, device="cpu", **kw
    )
    for _ in range(2):
        for _batch in loader:
            pass
    assert seen[:3] == [None] * 3  # the first epoch: every file read whole
    assert all(r is not None for r in seen[3:]) and len(seen) == 6


@pytest.mark.parametrize("transform", [None, Compose([RandomResizedCrop(32)])], ids=["crop", "rrc"])
def test_damage_outside_every_crop_fails_in_the_first_epoch(transform: Any) -> None:
    # most crops of a small output never reach the missing rows; the first read does
    bad = _damaged_below(_photo(480, 320, 7))
    kw = {"size": 16} if transform is None else {"transform": transform}
    loader = FreqLoader(JpegFileList([bad], [0]), batch_size=1, train=True, device="cpu", **kw)
    with pytest.raises(CorruptJpegError):
        next(iter(loader))
    skipping = FreqLoader(
        JpegFileList([bad, _photo(64, 64, 1)], [0, 1]),
        batch_size=2,
        train=True,
        device="cpu",
        on_error="skip",
        generator=torch.Generator().manual_seed(0),
        **kw,
    )
    for _ in range(3):  # skipped in every epoch, not only in the first
        [(_, y)] = list(skipping)
        assert y.tolist() == [1, 1] and skipping.skipped >= 1
