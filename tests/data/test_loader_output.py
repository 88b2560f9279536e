"""Loader output equals the reference transforms applied by hand (CPU device)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from turbojpeg import TJPF_RGB, TurboJPEG

from freqpipe.data import FreqLoader, JpegFileList, _pixels
from freqpipe.data._batch import SampleRng
from freqpipe.data._pixels import decode_rgb, random_resized_crop_params
from freqpipe.jpeg import read_coefficients
from freqpipe.transforms import (
    Selection,
    dwt2,
    gather_blocks,
    image_to_dct192,
    load_default_stats,
    normalize,
    stack_subbands,
)
from tests import _torchvision_ref as tv
from tests.tolerances import assert_close


def _base_seed(seed: int) -> int:
    """The base seed FreqLoader (like DataLoader) draws first from a fresh generator."""
    g = torch.Generator().manual_seed(seed)
    return int(torch.empty((), dtype=torch.int64).random_(generator=g).item())


def _tv_centre(extent: int, n: int) -> int:
    """torchvision CenterCrop's start on one axis, in blocks (pad (n - e) // 2 before first)."""
    return -((n - extent) // 2) if extent < n else int(round((extent - n) / 2.0))  # noqa: RUF046


def _coeff_reference(
    path: Path, sel: Selection, blocks: int, *, rng: np.random.Generator | None
) -> np.ndarray:
    """read_coefficients -> window (by hand) -> pad -> gather_blocks -> dequantise."""
    c = read_coefficients(path)
    hb, wb = c.planes[0].shape[:2]
    if rng is None:
        top, left, flip = _tv_centre(hb, blocks), _tv_centre(wb, blocks), False
    else:
        top = int(rng.integers(min(0, hb - blocks), max(0, hb - blocks) + 1))
        left = int(rng.integers(min(0, wb - blocks), max(0, wb - blocks) + 1))
        flip = bool(rng.random() < 0.5)
    pad = blocks
    planes = []
    for i in range(3):
        (yh, yv), (h, v) = c.sampling[0], c.sampling[i]
        p = np.repeat(np.repeat(c.planes[i], yv // v, 0), yh // h, 1)[:hb, :wb]
        planes.append(np.pad(p, ((pad, pad), (pad, pad), (0, 0))))
    q = gather_blocks(
        planes,
        selection=sel,
        top=top + pad,
        left=left + pad,
        height=blocks,
        width=blocks,
        hflip=flip,
    )
    quant = np.concatenate([c.quant[i][k] for i, k in enumerate(sel.per_plane)])
    return q.astype(np.float32) * quant[:, None, None].astype(np.float32)


@pytest.mark.parametrize("size", [224, 384])  # 384 pads the 279-pixel-high sample
def test_coefficient_source_eval(indexed: JpegFileList, files: list[Path], size: int) -> None:
    sel = Selection.preset("dct24")
    stats = load_default_stats("dct24")
    loader = FreqLoader(indexed, batch_size=3, size=size, device="cpu", normalize="dct24")
    seen = 0
    for x, y in loader:
        assert x.shape == (len(y), 24, size // 8, size // 8) and x.dtype == torch.float32
        for xi, yi in zip(x, y.tolist()):
            ref = normalize(_coeff_reference(files[yi], sel, size // 8, rng=None)[None], stats)
            assert_close(xi.numpy(), ref[0], np.float32)
            seen += 1
    assert seen == len(files)


def test_coefficient_source_train_and_raw(indexed: JpegFileList, files: list[Path]) -> None:
    sel = Selection.preset("dct48")
    g = torch.Generator().manual_seed(5)
    loader = FreqLoader(
        indexed,
        batch_size=4,
        size=320,
        device="cpu",
        select=sel,
        train=True,
        normalize=None,
        generator=g,
    )
    rngs = SampleRng(_base_seed(5), 0)
    for x, y in loader:
        for xi, yi in zip(x, y.tolist()):
            ref = _coeff_reference(files[yi], sel, 40, rng=rngs.for_index(yi))
            np.testing.assert_array_equal(xi.numpy(), ref)
    raw = FreqLoader(indexed, batch_size=8, size=64, device="cpu", raw=True)
    q, quant, y = next(iter(raw))
    assert q.dtype == torch.int16 and quant.dtype == torch.uint16 and quant.shape == (8, 24)
    ref = _coeff_reference(files[0], Selection.preset("dct24"), 8, rng=None)
    np.testing.assert_array_equal(q[0].numpy() * quant[0, :, None, None].numpy(), ref)


def test_chroma_separate(indexed: JpegFileList, files: list[Path]) -> None:
    loader = FreqLoader(indexed, batch_size=2, size=64, device="cpu", chroma="separate", raw=True)
    q, quant, cq, cquant, y = next(iter(loader))
    assert q.shape == (2, 16, 8, 8) and cq.shape == (2, 8, 4, 4) and cquant.shape == (2, 8)
    c = read_coefficients(files[0])
    hb, wb = c.planes[0].shape[:2]
    top, left = _tv_centre(hb, 8), _tv_centre(wb, 8)
    top, left = top - top % 2, left - left % 2
    ks = Selection.preset("dct24").per_plane
    ref_y = gather_blocks(
        c.planes[:1], selection=Selection(y=ks[0]), top=top, left=left, height=8, width=8
    )
    np.testing.assert_array_equal(q[0].numpy(), ref_y)
    for i in (1, 2):
        ref_c = gather_blocks(
            [c.planes[i]],
            selection=Selection(y=ks[i]),
            top=top // 2,
            left=left // 2,
            height=4,
            width=4,
        )
        np.testing.assert_array_equal(cq[0, 4 * (i - 1) : 4 * i].numpy(), ref_c)
    x = FreqLoader(indexed, batch_size=2, size=64, device="cpu", chroma="separate")
    (xy, xc), _ = next(iter(x))
    assert xy.shape == (2, 16, 8, 8) and xc.shape == (2, 8, 4, 4)


_MEAN = np.array([0.485, 0.456, 0.406], np.float32)[:, None, None]
_STD = np.array([0.229, 0.224, 0.225], np.float32)[:, None, None]


def _turbo_rgb(path: Path, scaling_factor: tuple[int, int] | None = None) -> np.ndarray:
    """libjpeg-turbo's RGB decode (the loader's decoder), full size unless scaled."""
    return TurboJPEG().decode(
        path.read_bytes(), pixel_format=TJPF_RGB, scaling_factor=scaling_factor
    )


def _eval_pixels(path: Path, size: int) -> np.ndarray:
    """torchvision's Resize(round(size * 512 / 448)) + CenterCrop(size) of the full decode."""
    return tv.resize_then_center_crop(Image.fromarray(_turbo_rgb(path)), round(size * 8 / 7), size)


@pytest.mark.parametrize("output", ["dct", "dwt", "rgb"])
def test_pixel_source_eval(indexed: JpegFileList, files: list[Path], output: str) -> None:
    size = 224  # short sides >= 279 < 2 * 256: no scaled decode, so the reference is plain
    ds = JpegFileList(files[:2], [0, 1])
    loader = FreqLoader(
        ds, batch_size=2, size=size, device="cpu", output=output, source="pixels", normalize=None
    )
    x, y = next(iter(loader))
    pix = np.stack([_eval_pixels(files[i], size) for i in (0, 1)])
    if output == "dct":
        sel = Selection.preset("dct24")
        ref = np.stack([sel.select(image_to_dct192(p)) for p in pix])
    else:
        ref = pix.transpose(0, 3, 1, 2).astype(np.float32) / 255
        if output == "dwt":
            ref = stack_subbands(dwt2(ref, "bior4.4", "periodization")).reshape(2, 12, 112, 112)
    assert x.shape == ref.shape
    assert_close(x.numpy(), ref, np.float32)


def _scaling_factor(region: tuple[int, int], target: tuple[int, int]) -> tuple[int, int] | None:
    """The strongest libjpeg-turbo reduction (1/8, 1/4, 1/2) whose result still covers target."""
    for den in (8, 4, 2):
        if region[0] >= den * target[0] and region[1] >= den * target[1]:
            return (1, den)
    return None


@pytest.mark.parametrize("size", [512, 64])  # 512: every crop decoded full size; 64: scaled
def test_pixel_source_train_follows_torchvision(
    indexed: JpegFileList, files: list[Path], size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training crops are torchvision's RandomResizedCrop + RandomHorizontalFlip per sample.

    Each sample's NumPy generator (``SampleRng``: base seed, epoch, index) is drawn in
    torchvision's order: ``get_params`` (two uniforms per try, then the top and left
    integers), then one ``random() < 0.5`` for the flip. Compared, per sample:

    - the loader's crop box (recorded where the pixel source draws it) equals
      :func:`tests._torchvision_ref.get_params` on a fresh generator of the same seed;
    - the output equals, exactly (after the ImageNet normalisation, to float32 rounding),
      the crop then Pillow bilinear resize of libjpeg-turbo's decode at the scale the loader
      documents (full size, or 1/2, 1/4, 1/8 while that covers the target), flipped as drawn;
      a scaled decode is cropped to the whole pixels covering the scaled box (conventions §9);
    - and it follows torchvision's ``resized_crop`` (crop, then resize) of the full-size decode:
      with a full-size decode to one grey level everywhere, the border included; with a
      scaled decode to a mean of a few levels (libjpeg-turbo's scaled IDCT is its own
      low-pass filter, as in ``test_scaled_decode_is_close_to_full_decode``).
    """
    drawn: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    draw = _pixels.random_resized_crop_params

    def recording_draw(height: int, width: int, rng: np.random.Generator) -> tuple[int, ...]:
        box = draw(height, width, rng)
        drawn[(height, width)] = box  # the samples' sizes are all different
        return box

    monkeypatch.setattr(_pixels, "random_resized_crop_params", recording_draw)
    g = torch.Generator().manual_seed(11)
    loader = FreqLoader(
        indexed,
        batch_size=4,
        size=size,
        device="cpu",
        output="rgb",
        train=True,
        normalize="default",
        generator=g,
    )
    rngs = SampleRng(_base_seed(11), 0)
    seen, flips = 0, 0
    for x, y in loader:
        assert x.shape == (len(y), 3, size, size)
        for xi, yi in zip(x.numpy(), y.tolist()):
            full = _turbo_rgb(files[yi])
            height, width = full.shape[:2]
            rng = rngs.for_index(yi)
            i, j, h, w = tv.get_params(height, width, rng)
            assert drawn[(height, width)] == (i, j, h, w), files[yi].name
            flip = bool(rng.random() < 0.5)
            flips += flip

            factor = _scaling_factor((h, w), (size, size))
            decoded = full if factor is None else _turbo_rgb(files[yi], factor)
            fy, fx = decoded.shape[0] / height, decoded.shape[1] / width
            box = (j * fx, i * fy, (j + w) * fx, (i + h) * fy)
            cover = (*map(math.floor, box[:2]), *map(math.ceil, box[2:]))
            inner = (box[0] - cover[0], box[1] - cover[1], box[2] - cover[0], box[3] - cover[1])
            cropped = Image.fromarray(decoded).crop(cover)
            boxed = np.asarray(cropped.resize((size, size), Image.Resampling.BILINEAR, box=inner))
            if flip:
                boxed = boxed[:, ::-1]
            ref = (boxed.transpose(2, 0, 1).astype(np.float32) / 255 - _MEAN) / _STD
            assert_close(xi, ref, np.float32)

            levels = np.rint((xi * _STD + _MEAN) * 255).transpose(1, 2, 0)
            torchvision = tv.resized_crop(Image.fromarray(full), i, j, h, w, size)
            if flip:
                torchvision = torchvision[:, ::-1]
            diff = np.abs(levels - torchvision.astype(np.float64))
            if factor is None:
                # the same crop and resize: the same pixels
                assert diff.max() == 0, files[yi].name
            else:
                assert diff.mean() < 6, files[yi].name
            seen += 1
    assert seen == len(files) and 0 < flips < seen


def test_random_resized_crop_params_follow_torchvision() -> None:
    """The shared draw equals the re-implementation, box and generator state, fallback included."""
    shapes = [(300, 500), (500, 300), (50, 50), (1, 100), (100, 1), (1, 1), (2, 1000), (1000, 2)]
    params = [{}, {"scale": (0.5, 0.6), "ratio": (1.0, 2.0)}, {"scale": (0.08, 0.2)}]
    for height, width in shapes:
        for kw in params:
            for seed in range(60):
                ours, ref = np.random.default_rng(seed), np.random.default_rng(seed)
                box = random_resized_crop_params(height, width, ours, **kw)
                assert box == tv.get_params(height, width, ref, **kw), (height, width, kw, seed)
                assert ours.random() == ref.random()  # as many draws: the flip comes next
    # No try fits (a side would round to 0 or exceed the image): the centred fallback, clipped
    # to the ratio range (too wide, too tall) or the whole image when its ratio is allowed.
    rng = np.random.default_rng(0)
    assert random_resized_crop_params(1, 100, rng) == (0, 49, 1, 1)
    assert random_resized_crop_params(100, 1, rng) == (49, 0, 1, 1)
    assert random_resized_crop_params(2, 1000, rng) == (0, 498, 2, 3)  # 2 * 4/3 rounds up
    assert random_resized_crop_params(1000, 2, rng) == (498, 0, 3, 2)
    assert random_resized_crop_params(1, 1, rng, scale=(0.08, 0.2)) == (0, 0, 1, 1)


def test_scaled_decode_is_close_to_full_decode(files: list[Path]) -> None:
    data = files[4].read_bytes()  # 960x640
    tj = TurboJPEG()
    half = decode_rgb(tj, data, (640, 960), (300, 300))
    quarter = decode_rgb(tj, data, (640, 960), (160, 160))
    full = decode_rgb(tj, data, (640, 960), (400, 400))
    assert half.shape == (320, 480, 3) and quarter.shape == (160, 240, 3)
    assert full.shape == (640, 960, 3)
    small = np.asarray(Image.fromarray(full).resize((240, 160), Image.BILINEAR), np.float32)
    assert np.abs(small - quarter.astype(np.float32)).mean() < 4.0
