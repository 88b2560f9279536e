"""The batched torch DCT-domain resize against the NumPy reference (CPU; GPU when present)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from freqpipe.errors import InvalidArgumentError, ShapeError
from freqpipe.transforms import block_dct
from freqpipe.transforms.resize import resize_dct
from freqpipe.transforms.resize_torch import resize_dct_batch
from tests.tolerances import assert_close

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def windows(rng, n, hb, wb, factor):
    """Random coefficient windows plus boxes and extents inside each window's image."""
    coeffs, boxes, extents = [], [], []
    for _ in range(n):
        ext_h = int(rng.integers(8 * factor[0] * (hb - 1) + 1, 8 * factor[0] * hb + 1))
        ext_w = int(rng.integers(8 * factor[1] * (wb - 1) + 1, 8 * factor[1] * wb + 1))
        plane = rng.uniform(0, 255, (8 * hb, 8 * wb))
        coeffs.append(block_dct(plane))
        left, top = rng.uniform(0, ext_w - 2), rng.uniform(0, ext_h - 2)
        boxes.append((left, top, rng.uniform(left + 1, ext_w), rng.uniform(top + 1, ext_h)))
        extents.append((ext_h, ext_w))
    return np.stack(coeffs), np.array(boxes), np.array(extents)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("factor", [(1, 1), (2, 2), (1, 2), (2, 1)])
@pytest.mark.parametrize("whole", [False, True], ids=["crop", "whole-image"])
def test_batch_equals_numpy_reference_per_image(device, factor, whole):
    """Filter inside each box's cover (the default), or over the whole window's image."""
    rng = np.random.default_rng(sum(factor))
    c, boxes, ext = windows(rng, 5, 4, 5, factor)
    within = np.concatenate([np.zeros_like(ext), ext[:, ::-1]], axis=1) if whole else None
    freqs = [0, 1, 2, 8, 9, 16, 27, 63]
    got = resize_dct_batch(
        torch.as_tensor(c, dtype=torch.float32, device=device),
        torch.as_tensor(boxes),
        (16, 24),
        extent=torch.as_tensor(ext),
        factor=factor,
        frequencies=freqs,
        within=None if within is None else torch.as_tensor(within),
    )
    assert got.device.type == device and got.dtype == torch.float32
    assert tuple(got.shape) == (5, len(freqs), 2, 3)
    for i in range(5):
        ref = resize_dct(
            c[i],
            boxes[i],
            (16, 24),
            image_size=tuple(ext[i]),
            factor=factor,
            frequencies=freqs,
            within=None if within is None else tuple(within[i]),
        )
        assert_close(got[i].cpu(), ref)


@pytest.mark.parametrize("device", DEVICES)
def test_flip_is_the_mirrored_resize(device):
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 255, (40, 48))
    c = torch.as_tensor(block_dct(x))[None].to(device)
    box = (3.25, 1.5, 45.0, 37.75)
    kw = dict(extent=torch.tensor([[40, 48]]), frequencies=None)
    flipped = resize_dct_batch(c, torch.tensor([box]), 24, flip=torch.tensor([True]), **kw)
    # independent route: resize the mirrored image with the mirrored box
    mirrored = (48 - box[2], box[1], 48 - box[0], box[3])
    ref = resize_dct(block_dct(x[:, ::-1].copy()), mirrored, 24, image_size=(40, 48))
    assert_close(flipped[0].cpu(), ref)
    plain = resize_dct_batch(c, torch.tensor([box]), 24, flip=torch.tensor([False]), **kw)
    assert_close(plain[0].cpu(), resize_dct(block_dct(x), box, 24, image_size=(40, 48)))


def test_narrow_chroma_is_replicated_as_libjpeg_does():
    rng = np.random.default_rng(9)
    c, boxes, _ = windows(rng, 2, 2, 1, (2, 2))
    ext = np.array([[30, 3], [30, 4]])  # chroma 2 samples wide: replication
    boxes[:, 0], boxes[:, 2] = 0.0, ext[:, 1]
    got = resize_dct_batch(
        torch.as_tensor(c), torch.as_tensor(boxes), 8, extent=torch.as_tensor(ext), factor=(2, 2)
    )
    for i in range(2):
        ref = resize_dct(c[i], boxes[i], 8, image_size=tuple(ext[i]), factor=(2, 2))
        assert_close(got[i], ref)


def test_errors():
    c = torch.zeros(2, 64, 2, 2)
    ext = torch.tensor([[16, 16], [16, 16]])
    boxes = torch.tensor([[0.0, 0.0, 16.0, 16.0]] * 2)
    with pytest.raises(ShapeError):
        resize_dct_batch(c[:, :63], boxes, 8, extent=ext)
    with pytest.raises(ShapeError):
        resize_dct_batch(c, boxes[:1], 8, extent=ext)
    with pytest.raises(ShapeError, match="within"):
        resize_dct_batch(c, boxes, 8, extent=ext, within=torch.zeros(2, 2, dtype=torch.int64))
    with pytest.raises(InvalidArgumentError, match="multiple of 8"):
        resize_dct_batch(c, boxes, 12, extent=ext)
    with pytest.raises(InvalidArgumentError, match="factor"):
        resize_dct_batch(c, boxes, 8, extent=ext, factor=(4, 1))
    with pytest.raises(InvalidArgumentError, match="frequencies"):
        resize_dct_batch(c, boxes, 8, extent=ext, frequencies=[70])
