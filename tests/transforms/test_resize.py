"""DCT-domain resizing against Pillow (the resampling) and libjpeg (the chroma upsampling)."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

import freqpipe as fp
from freqpipe.errors import InvalidArgumentError, ShapeError
from freqpipe.transforms import block_dct, block_idct, rgb_to_ycbcr
from freqpipe.transforms.resize import (
    coefficient_image,
    dct_resize_matrix,
    resize_dct,
    resize_matrix,
    upsample_matrix,
)
from tests.tolerances import assert_close


def pil_resize_f(x: np.ndarray, box, size) -> np.ndarray:
    """Pillow's own bilinear resize of a box of a float32 ("F") image, filter on the whole image.

    Resizing the whole image and then cropping (``Resize`` + ``CenterCrop``) in one step.
    """
    im = Image.fromarray(np.ascontiguousarray(x, dtype=np.float32), mode="F")
    return np.asarray(im.resize((size[1], size[0]), Image.BILINEAR, box=tuple(box)), np.float64)


def pil_crop_resize_f(x: np.ndarray, box, size) -> np.ndarray:
    """Pillow's crop, then bilinear resize, of a float32 image: torchvision's ``resized_crop``.

    A fractional box is cut to the whole pixels covering it and resized with the box relative
    to the cut (what the pixel source does after a scaled decode).
    """
    cover = (math.floor(box[0]), math.floor(box[1]), math.ceil(box[2]), math.ceil(box[3]))
    inner = (box[0] - cover[0], box[1] - cover[1], box[2] - cover[0], box[3] - cover[1])
    im = Image.fromarray(np.ascontiguousarray(x, dtype=np.float32), mode="F").crop(cover)
    return np.asarray(im.resize((size[1], size[0]), Image.BILINEAR, box=inner), np.float64)


def random_box(rng, height, width):
    left = rng.uniform(0, width - 1)
    top = rng.uniform(0, height - 1)
    return left, top, rng.uniform(left + 0.5, width), rng.uniform(top + 0.5, height)


def random_integer_box(rng, height, width):
    """A box of whole pixels, as torchvision's RandomResizedCrop draws."""
    left, top = int(rng.integers(0, width)), int(rng.integers(0, height))
    return left, top, int(rng.integers(left + 1, width + 1)), int(rng.integers(top + 1, height + 1))


def jpeg(height, width, subsampling, seed=0, quality=90):
    """A smooth-ish photo-like JPEG (upscaled noise) with the given Pillow subsampling."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 255, (height // 4 + 2, width // 4 + 2, 3)).astype(np.uint8)
    img = Image.fromarray(base).resize((width, height), Image.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, subsampling=subsampling)
    return buf.getvalue()


def float_planes(c):
    """Each component decoded in float (IDCT, libjpeg's upsampling) at full resolution.

    ``upsample_matrix`` is checked against libjpeg itself in
    ``test_upsample_matrix_is_libjpegs_fancy_upsampling``.
    """
    hmax = max(h for h, _ in c.sampling)
    vmax = max(v for _, v in c.sampling)
    out = []
    # jdsample.c: components at most two samples wide are replicated, not filtered
    for comp, plane in enumerate(c.dequantized()):
        h, v = c.sampling[comp]
        fv, fh = vmax // v, hmax // h
        hc, wc = -(-c.height // fv), -(-c.width // fh)
        x = block_idct(np.moveaxis(plane.astype(np.float64), -1, 0))[:hc, :wc]
        fancy = not (fh == 2 and wc <= 2)
        up_v = upsample_matrix(fv, hc, c.height, fancy=fancy)
        up_h = upsample_matrix(fh, wc, c.width, fancy=fancy)
        out.append(((fv, fh), up_v @ x @ up_h.T))
    return out


def _resize_2d(x, box, size, **within):
    """``R_v x R_hᵀ`` of a (top, bottom) / (left, right) box, optionally with ``within``."""
    (h, w), (oh, ow) = x.shape, size
    kv = {"within": within["within"][1::2]} if within else {}
    kh = {"within": within["within"][0::2]} if within else {}
    r_v = resize_matrix((box[1], box[3]), h, oh, **kv)
    return r_v @ x @ resize_matrix((box[0], box[2]), w, ow, **kh).T


@pytest.mark.parametrize("draw", [random_integer_box, random_box])
def test_resize_matrix_is_pillows_crop_then_resize(draw):
    """The default: the filter reads only the box's whole pixels, as torchvision's crop."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        h, w = (int(v) for v in rng.integers(3, 70, 2))
        size = tuple(int(v) for v in rng.integers(1, 90, 2))
        x = rng.uniform(0, 255, (h, w))
        box = draw(rng, h, w)
        # Pillow's "F" mode stores each of its two passes in float32
        assert_close(_resize_2d(x, box, size), pil_crop_resize_f(x, box, size), np.float32)


def test_resize_matrix_within_the_image_is_pillows_box_resize():
    """``within`` the whole image: Pillow's ``resize(box=...)``, a resize and then a crop."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        h, w = (int(v) for v in rng.integers(3, 70, 2))
        size = tuple(int(v) for v in rng.integers(1, 90, 2))
        x = rng.uniform(0, 255, (h, w))
        box = random_box(rng, h, w)
        got = _resize_2d(x, box, size, within=(0, 0, w, h))
        assert_close(got, pil_resize_f(x, box, size), precision=np.float32)


def test_resize_matrix_integer_boxes_and_identity():
    x = np.random.default_rng(1).uniform(0, 255, (1, 40))
    for box, out in [((0, 40), 40), ((0, 40), 17), ((3, 29), 26), ((5, 9), 64)]:
        got = x @ resize_matrix(box, 40, out).T
        ref = pil_crop_resize_f(x, (box[0], 0, box[1], 1), (1, out))
        assert_close(got, ref, precision=np.float32)
        if box == (0, 40):  # the whole image: nothing to crop, both rules agree
            assert_close(got, pil_resize_f(x, (0, 0, 40, 1), (1, out)), precision=np.float32)
    assert_close(resize_matrix((0, 12), 12, 12), np.eye(12))
    r = resize_matrix((1.5, 30.25), 32, 11)
    assert_close(r.sum(axis=1), np.ones(11))


@pytest.mark.parametrize(
    ("height", "width", "subsampling"),
    [(37, 51, 2), (40, 48, 2), (33, 64, 1), (29, 30, 0), (9, 17, 2), (64, 3, 2)],
)
def test_upsample_matrix_is_libjpegs_fancy_upsampling(height, width, subsampling):
    """Against libjpeg's own YCbCr output (Pillow's draft mode skips only the colour step).

    libjpeg's integer IDCT and rounded upsampling sit within one level of the float maths.
    """
    data = jpeg(height, width, subsampling)
    c = fp.read_coefficients(data)
    with Image.open(io.BytesIO(data)) as im:
        im.draft("YCbCr", im.size)
        assert im.mode == "YCbCr"
        ycc = np.asarray(im, np.float64)
    for comp, (_, plane) in enumerate(float_planes(c)):
        err = np.abs(plane - ycc[..., comp])
        assert err.max() < 1.0 and err.mean() < 0.35, (comp, err.max(), err.mean())


def test_upsample_matrix_rejects_what_libjpeg_does_not_filter():
    with pytest.raises(InvalidArgumentError, match="expected 1 or 2"):
        upsample_matrix(4, 10)
    with pytest.raises(InvalidArgumentError):
        upsample_matrix(2, 5, 11)
    assert_close(upsample_matrix(2, 5).sum(axis=1), np.ones(10))


@pytest.mark.parametrize(("subsampling", "size"), [(2, 24), (1, 32), (0, 16), (2, 40)])
def test_resize_dct_equals_block_dct_of_resized_decode(subsampling, size):
    """Coefficients only == block_dct(Pillow crop, resize(float decode)), before clamping."""
    data = jpeg(45, 61, subsampling, seed=subsampling)
    c = fp.read_coefficients(data)
    rng = np.random.default_rng(size)
    boxes = [random_box(rng, c.height, c.width) for _ in range(3)] + [(0, 0, c.width, c.height)]
    for box in boxes:
        for comp, (factor, pixels) in enumerate(float_planes(c)):
            ref = block_dct(pil_crop_resize_f(pixels, box, (size, size)))
            plane = np.moveaxis(c.dequantized()[comp], -1, 0)
            kw = dict(image_size=(c.height, c.width), factor=factor)
            assert_close(resize_dct(plane, box, size, **kw), ref, precision=np.float32)
            # the whole image within the filter's reach: Resize, then crop
            ref = block_dct(pil_resize_f(pixels, box, (size, size)))
            whole = (0, 0, c.width, c.height)
            assert_close(resize_dct(plane, box, size, within=whole, **kw), ref, np.float32)


def test_resize_dct_of_photos_against_the_uint8_pixel_path():
    """The pixel path (libjpeg decode to uint8 RGB, Pillow resize, YCbCr) rounds and clamps.

    Measured on three bundled photos (4:2:0), one random box each, to 224: the DCT route
    differs from it by an RMS of 0.18-0.57 per luma coefficient (0.4-0.8 % of the luma
    channels' RMS) and 0.23-1.08 per chroma coefficient (1-4.6 % of the much smaller chroma
    RMS); the DC error, 0.4-5, is clamping of saturated pixels plus libjpeg's rounding.
    Against the float decode the same route is exact (``test_resize_dct_equals_...``).
    """
    from freqpipe._samples import sample_files

    for path in sample_files()[:3]:
        data = path.read_bytes()
        c = fp.read_coefficients(data)
        with Image.open(io.BytesIO(data)) as im:
            rgb = np.asarray(im.convert("RGB"), np.float64)
        box = random_box(np.random.default_rng(3), c.height, c.width)
        resized = np.stack([pil_crop_resize_f(rgb[..., i], box, (224, 224)) for i in range(3)], -1)
        ref = block_dct(np.moveaxis(rgb_to_ycbcr(resized, channel_axis=-1), -1, 0))
        for comp, (factor, _) in enumerate(float_planes(c)):
            plane = np.moveaxis(c.dequantized()[comp], -1, 0)
            got = resize_dct(plane, box, 224, image_size=(c.height, c.width), factor=factor)
            rmse = np.sqrt(((got - ref[comp]) ** 2).mean())
            rel = rmse / np.sqrt((ref[comp] ** 2).mean())
            assert rmse < 1.5, (path.name, comp, rmse)
            assert rel < (0.01 if comp == 0 else 0.06), (path.name, comp, rel)


def test_selected_frequencies_are_the_slice_of_all():
    x = np.random.default_rng(4).uniform(0, 255, (3, 40, 56))
    c = block_dct(x)
    box, kw = (3.5, 2.25, 51.0, 38.5), dict(image_size=(40, 56))
    full = resize_dct(c, box, (16, 24), **kw)
    assert full.shape == (3, 64, 2, 3)
    freqs = [0, 1, 8, 9, 2, 17, 63]
    assert_close(resize_dct(c, box, (16, 24), frequencies=freqs, **kw), full[:, freqs])


def test_coefficient_image_layout():
    c = np.arange(64.0 * 2 * 3).reshape(64, 2, 3)
    img = coefficient_image(c)
    assert img.shape == (16, 24)
    assert img[8 * 1 + 2, 8 * 2 + 5] == c[8 * 2 + 5, 1, 2]


def test_errors():
    with pytest.raises(InvalidArgumentError, match="multiple of 8"):
        dct_resize_matrix((0, 8), 8, 12)
    with pytest.raises(InvalidArgumentError, match="box"):
        resize_matrix((3, 2), 8, 8)
    with pytest.raises(InvalidArgumentError, match="box"):
        resize_matrix((0, 9), 8, 8)
    with pytest.raises(InvalidArgumentError, match="within"):
        resize_matrix((1.5, 4), 8, 8, within=(2, 8))
    with pytest.raises(InvalidArgumentError, match="within"):
        resize_matrix((1, 4), 8, 8, within=(0, 9))
    with pytest.raises(ShapeError):
        resize_dct(np.zeros((63, 1, 1)), (0, 0, 8, 8), 8, image_size=(8, 8))
    with pytest.raises(InvalidArgumentError, match="frequencies"):
        resize_dct(np.zeros((64, 1, 1)), (0, 0, 8, 8), 8, image_size=(8, 8), frequencies=[64])
