"""DCT-domain transforms against their pixel-domain counterparts (Pillow and float re-writes
of torchvision's functional ops), then block_dct."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

import freqpipe as fp
from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms import block_dct, random_resized_crop_params, resize_shape, rgb_to_ycbcr
from freqpipe.transforms.dct import (
    BatchGeometry,
    CenterCrop,
    ColorJitter,
    Compose,
    CutMix,
    DctBatch,
    MixUp,
    RandomErasing,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomResizedCrop,
    Resize,
)
from tests.tolerances import assert_close
from tests.transforms.test_resize import float_planes, jpeg, pil_crop_resize_f, pil_resize_f

GRAY = np.array([0.2989, 0.587, 0.114])  # torchvision's rgb_to_grayscale


def coefficient_batch(datas, seed=0):
    """A DctBatch of whole JPEGs and, per file, its float-decoded planes."""
    coeffs = [fp.read_coefficients(d) for d in datas]
    return DctBatch.from_coefficients(coeffs, seed=seed), [float_planes(c) for c in coeffs]


def dct_of(ycc_planes):
    return np.stack([block_dct(p) for p in ycc_planes])


@pytest.fixture(scope="module")
def photo_jpegs():
    from freqpipe._samples import sample_files

    files = sample_files()[:3]
    return [f.read_bytes() for f in files]


def test_random_resized_crop_and_flip_equal_the_pixel_route(photo_jpegs):
    batch, decoded = coefficient_batch(photo_jpegs, seed=1)
    Compose([RandomResizedCrop(64), RandomHorizontalFlip()])(batch)
    got = batch.render()
    for i, planes in enumerate(decoded):
        rng = np.random.default_rng([1, i])  # the same stream, drawn by the reference
        height, width = planes[0][1].shape
        top, left, h, w = random_resized_crop_params(height, width, rng)
        flip = rng.random() < 0.5
        box = (left, top, left + w, top + h)
        ref = []
        for _, pixels in planes:
            out = pil_crop_resize_f(pixels, box, (64, 64))  # torchvision's resized_crop
            ref.append(out[:, ::-1] if flip else out)
        for p in range(3):
            assert_close(got[p][i].numpy(), block_dct(ref[p].copy()), precision=np.float32)


@pytest.mark.parametrize("subsampling", [0, 1, 2])
def test_resize_center_crop_equals_the_evaluation_pixel_route(subsampling):
    datas = [jpeg(75, 101, subsampling, seed=s) for s in (1, 2)]
    batch, decoded = coefficient_batch(datas)
    Compose([Resize(40), CenterCrop(32)])(batch)
    got = batch.render(frequencies=[[0, 1, 8, 9]] * 3)
    rh, rw = resize_shape(75, 101, short=40)
    top, left = round((rh - 32) / 2.0), round((rw - 32) / 2.0)
    for i, planes in enumerate(decoded):
        for p, (_, pixels) in enumerate(planes):
            resized = pil_resize_f(pixels, (0, 0, 101, 75), (rh, rw))
            ref = block_dct(resized[top : top + 32, left : left + 32].copy())[[0, 1, 8, 9]]
            assert_close(got[p][i].numpy(), ref, precision=np.float32)


def rgb_batch(rgbs):
    """A 4:4:4 DctBatch made from float RGB images (block_dct of their YCbCr)."""
    planes = [
        torch.stack(
            [torch.as_tensor(block_dct(rgb_to_ycbcr(x, channel_axis=-1)[..., i])) for x in rgbs]
        )
        for i in range(3)
    ]
    extent = torch.tensor([x.shape[:2] for x in rgbs])
    rngs = [np.random.default_rng([7, i]) for i in range(len(rgbs))]
    return DctBatch(planes, [(1, 1)] * 3, extent, rngs)


def pixel_colour(rgb, order, factors, clamp=False):
    """torchvision's adjust_brightness/contrast/saturation on float RGB (0..255), re-written."""
    x = rgb.astype(np.float64)
    for kind in order:
        f = factors[kind]
        if f is None:
            continue
        if kind == 0:
            x = x * f
        elif kind == 1:
            x = f * x + (1 - f) * (x @ GRAY).mean()
        else:
            x = f * x + (1 - f) * (x @ GRAY)[..., None]
        if clamp:
            x = np.clip(x, 0, 255)
    return x


@pytest.fixture(scope="module")
def rgb_crops(sample_photos):
    return [p[:64, :96].astype(np.float64) for p in sample_photos[:3]]


def test_color_jitter_equals_torchvisions_ops_before_clamping(rgb_crops):
    batch = rgb_batch(rgb_crops)
    jitter = ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4)
    jitter(batch)
    got = batch.render()
    for i, rgb in enumerate(rgb_crops):
        order, factors = jitter.get_params(np.random.default_rng([7, i]))
        ref = dct_of(
            np.moveaxis(rgb_to_ycbcr(pixel_colour(rgb, order, factors), channel_axis=-1), -1, 0)
        )
        for p in range(3):
            assert_close(got[p][i].numpy(), ref[p], precision=np.float32)


def test_color_jitter_against_the_clamped_pixel_pipeline(sample_photos):
    """torchvision clamps after each op; the DCT route does not.

    Measured on the eight bundled photos (top-left 64x96 crops, often sky; jitter 0.4 each):
    where no pixel leaves 0..255 the two agree to float precision (3 of 8); elsewhere the
    relative RMS difference per plane was 0.01-0.29 of the channels' RMS (Y 0-17 %, chroma
    0-29 %), all of it from pixels pushed past 255 by brightness or contrast above 1.
    """
    crops = [p[:64, :96].astype(np.float64) for p in sample_photos]
    batch = rgb_batch(crops)
    jitter = ColorJitter(0.4, 0.4, 0.4)
    jitter(batch)
    got = batch.render()
    exact = 0
    for i, rgb in enumerate(crops):
        order, factors = jitter.get_params(np.random.default_rng([7, i]))
        x = pixel_colour(rgb, order, factors, clamp=True)
        ref = dct_of(np.moveaxis(rgb_to_ycbcr(x, channel_axis=-1), -1, 0))
        unclamped = pixel_colour(rgb, order, factors)
        if x.min() >= 0 and np.array_equal(x, unclamped):
            exact += 1
            for p in range(3):
                assert_close(got[p][i].numpy(), ref[p], precision=np.float32)
        for p in range(3):
            err = got[p][i].numpy() - ref[p]
            assert np.sqrt((err**2).mean() / (ref[p] ** 2).mean()) < 0.35
    assert exact >= 1


def test_random_grayscale_is_torchvisions_gray(rgb_crops):
    batch = rgb_batch(rgb_crops)
    RandomGrayscale(p=1.0)(batch)
    got = batch.render()
    for i, rgb in enumerate(rgb_crops):
        gray = np.repeat((rgb @ GRAY)[..., None], 3, axis=-1)
        ref = dct_of(np.moveaxis(rgb_to_ycbcr(gray, channel_axis=-1), -1, 0))
        for p in range(3):
            assert_close(got[p][i].numpy(), ref[p], precision=np.float32)
    assert float(got[1].abs().max()) < 1e-3 and float(got[2].abs().max()) < 1e-3
    untouched = rgb_batch(rgb_crops)
    RandomGrayscale(p=0.0)(untouched)
    assert_close(untouched.render()[1].numpy(), rgb_batch(rgb_crops).render()[1].numpy())


def test_colour_after_geometry_only():
    batch = rgb_batch([np.zeros((16, 16, 3))])
    ColorJitter(brightness=0.2)(batch)
    with pytest.raises(InvalidArgumentError, match="geometric transforms first"):
        RandomResizedCrop(8)(batch)
    with pytest.raises(InvalidArgumentError, match="hue"):
        ColorJitter(hue=0.1)


def test_random_erasing_follows_torchvisions_algorithm_on_blocks(rgb_crops):
    batch = rgb_batch(rgb_crops)
    RandomErasing(p=1.0, value=0.0)(batch)
    out = torch.stack(batch.render(frequencies=[[0, 1]] * 3), 1).flatten(1, 2)
    before = out.clone()
    batch.apply_erasing(out)
    for i, rect in enumerate(batch.erase):
        assert rect is not None
        top, left, h, w = rect
        assert 0.02 * 8 * 12 - 1 <= h * w <= 0.33 * 8 * 12 + 1
        assert (out[i, :, top : top + h, left : left + w] == 0).all()
        mask = torch.ones_like(out[i], dtype=torch.bool)
        mask[:, top : top + h, left : left + w] = False
        assert torch.equal(out[i][mask], before[i][mask])


def test_mixup_and_cutmix_equal_pixel_mixing(rgb_crops):
    x = torch.as_tensor(np.stack([dct_of(np.moveaxis(r, -1, 0)) for r in rgb_crops]))
    x = x.reshape(3, 192, 8, 12)
    y = torch.tensor([0, 1, 2])
    xm, ym = MixUp(alpha=0.5, num_classes=3)(x, y, rng=np.random.default_rng(3))
    lam = float(np.random.default_rng(3).beta(0.5, 0.5))
    pix = [lam * rgb_crops[i] + (1 - lam) * rgb_crops[i - 1] for i in range(3)]
    ref = np.stack([dct_of(np.moveaxis(p, -1, 0)) for p in pix]).reshape(3, 192, 8, 12)
    assert_close(xm.numpy(), ref)
    assert_close(ym[:, 0].numpy(), np.array([lam, 1 - lam, 0]))  # sample 1 mixes in 0

    cut = CutMix(alpha=1.0, num_classes=3)
    xc, yc = cut(x, y, rng=np.random.default_rng(5))
    top, left, bottom, right = cut.box(np.random.default_rng(5), 8, 12)
    pix = []
    for i in range(3):
        p = rgb_crops[i].copy()
        p[8 * top : 8 * bottom, 8 * left : 8 * right] = rgb_crops[i - 1][
            8 * top : 8 * bottom, 8 * left : 8 * right
        ]
        pix.append(p)
    ref = np.stack([dct_of(np.moveaxis(p, -1, 0)) for p in pix]).reshape(3, 192, 8, 12)
    assert_close(xc.numpy(), ref)
    kept = 1 - (bottom - top) * (right - left) / 96
    assert_close(yc[0].numpy(), np.array([kept, 0, 1 - kept]))


def test_resize_without_crop_is_refused():
    batch = rgb_batch([np.zeros((24, 40, 3))])
    Resize(16)(batch)
    with pytest.raises(InvalidArgumentError, match="CenterCrop"):
        batch.render()
    with pytest.raises(InvalidArgumentError, match="multiples of 8"):
        RandomResizedCrop(30)


class TorchCalls(TorchFunctionMode):
    """Records every torch function and tensor method called while it is active."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls.append(getattr(func, "__name__", repr(func)))
        return func(*args, **(kwargs or {}))


GEOMETRY_RECIPES = [
    Compose([RandomResizedCrop(64), RandomHorizontalFlip()]),
    Compose([RandomResizedCrop(48, scale=(0.5, 1.0), ratio=(0.5, 2.0)), RandomHorizontalFlip()]),
    Compose([Resize(73), CenterCrop(64), RandomHorizontalFlip(p=0.3)]),
    Compose([Resize((96, 128)), CenterCrop(64)]),
    Compose([CenterCrop(40), RandomResizedCrop(32)]),
    Compose(
        [
            RandomResizedCrop(64),
            ColorJitter(0.4, 0.4, 0.4),
            RandomGrayscale(0.5),
            RandomErasing(p=0.7),
        ]
    ),
]


@pytest.mark.parametrize("transform", GEOMETRY_RECIPES)
def test_a_geometry_draws_what_the_batch_draws_without_torch(transform):
    """The worker's probe: the same parameters from the same streams, no torch op at all."""
    extents = [(75, 101), (480, 640), (40, 52), (1000, 333)]
    planes = [torch.zeros(len(extents), 64, 2, 2)] * 3
    keys = [[4, 0, i, 0] for i in range(len(extents))]
    batch = transform(
        DctBatch(
            planes,
            [(1, 1)] * 3,
            torch.tensor(extents),
            [np.random.default_rng(k) for k in keys],
        )
    )
    with TorchCalls() as calls:
        geometries = [
            transform(BatchGeometry(np.array([e]), [np.random.default_rng(k)]))
            for e, k in zip(extents, keys)
        ]
    assert calls.calls == []
    for i, g in enumerate(geometries):
        assert g.box[0].tolist() == batch.box[i].tolist()
        assert g.within[0].tolist() == batch.within[i].tolist()
        assert bool(g.flip[0]) == bool(batch.flip[i])
        assert g.size == batch.size and g.pending_short == batch.pending_short
        assert g.erase[0] == batch.erase[i]
        assert bool(g.colour_ops) == bool(batch.colour_ops)  # ColorJitter: every image
        # the streams are left where the batch left them: later draws agree too
        assert g.rngs[0].random() == batch.rngs[i].random()


def test_erasing_before_the_output_size_needs_the_windows():
    geometry = BatchGeometry(np.array([[64, 64]]), [np.random.default_rng(0)])
    with pytest.raises(InvalidArgumentError, match="after RandomResizedCrop or CenterCrop"):
        RandomErasing(p=1.0)(geometry)
    batch = rgb_batch([np.zeros((24, 40, 3))])  # a batch's own block grid serves
    RandomErasing(p=1.0)(batch)
    assert batch.block_grid == (3, 5) and geometry.block_grid is None
