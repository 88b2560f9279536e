"""Loader output equals the reference transforms applied by hand (CPU device)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from turbojpeg import TJPF_RGB, TurboJPEG

from freqpipe.data import FreqLoader, JpegFileList
from freqpipe.data._batch import SampleRng
from freqpipe.data._pixels import PixelSource, decode_rgb, random_resized_crop_params
from freqpipe.data._source import ErrorPolicy
from freqpipe.jpeg import read_coefficients
from freqpipe.transforms import (
    Selection,
    center_crop_box,
    dwt2,
    gather_blocks,
    image_to_dct192,
    load_default_stats,
    normalize,
    resize_shape,
    stack_subbands,
)
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
        planes, selection=sel, top=top + pad, left=left + pad, height=blocks, width=blocks,
        hflip=flip,
    )  # fmt: skip
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
        indexed, batch_size=4, size=320, device="cpu", select=sel, train=True,
        normalize=None, generator=g,
    )  # fmt: skip
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
    ref_y = gather_blocks(c.planes[:1], selection=Selection(y=ks[0]), top=top, left=left,
                          height=8, width=8)  # fmt: skip
    np.testing.assert_array_equal(q[0].numpy(), ref_y)
    for i in (1, 2):
        ref_c = gather_blocks(
            [c.planes[i]], selection=Selection(y=ks[i]), top=top // 2, left=left // 2,
            height=4, width=4,
        )  # fmt: skip
        np.testing.assert_array_equal(cq[0, 4 * (i - 1) : 4 * i].numpy(), ref_c)
    x = FreqLoader(indexed, batch_size=2, size=64, device="cpu", chroma="separate")
    (xy, xc), _ = next(iter(x))
    assert xy.shape == (2, 16, 8, 8) and xc.shape == (2, 8, 4, 4)


def _eval_pixels(path: Path, size: int) -> np.ndarray:
    """By hand: full decode, resize short side to size*8/7 (bilinear), centre crop."""
    rgb = TurboJPEG().decode(path.read_bytes(), pixel_format=TJPF_RGB)
    rh, rw = resize_shape(rgb.shape[0], rgb.shape[1], size)
    resized = np.asarray(Image.fromarray(rgb).resize((rw, rh), Image.BILINEAR))
    top, left = center_crop_box(rh, rw, size)
    return resized[top : top + size, left : left + size]


@pytest.mark.parametrize("output", ["dct", "dwt", "rgb"])
def test_pixel_source_eval(indexed: JpegFileList, files: list[Path], output: str) -> None:
    size = 224  # short sides >= 279 < 2 * 256: no scaled decode, so the reference is plain
    ds = JpegFileList(files[:2], [0, 1])
    loader = FreqLoader(ds, batch_size=2, size=size, device="cpu", output=output,
                        source="pixels", normalize=None)  # fmt: skip
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


def test_pixel_source_train_uses_the_per_sample_stream(
    indexed: JpegFileList, files: list[Path]
) -> None:
    g = torch.Generator().manual_seed(11)
    loader = FreqLoader(indexed, batch_size=4, size=64, device="cpu", output="rgb",
                        train=True, normalize="default", generator=g)  # fmt: skip
    x, y = next(iter(loader))
    src = PixelSource(indexed, ErrorPolicy("raise"), size=64, batch_size=1, train=True)
    rngs = SampleRng(_base_seed(11), 0)
    mean = np.array([0.485, 0.456, 0.406], np.float32)[:, None, None]
    std = np.array([0.229, 0.224, 0.225], np.float32)[:, None, None]
    for xi, yi in zip(x, y.tolist()):
        crop = src.crop_rgb(files[yi].read_bytes(), rngs.for_index(yi))
        ref = (crop.transpose(2, 0, 1).astype(np.float32) / 255 - mean) / std
        assert_close(xi.numpy(), ref, np.float32)


def test_random_resized_crop_params_follow_torchvision() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        top, left, h, w = random_resized_crop_params(300, 500, rng)
        assert 0 <= top <= 300 - h and 0 <= left <= 500 - w
        assert 0.08 * 150000 * 0.9 <= h * w <= 150000
        assert 3 / 4 * 0.9 <= w / h <= 4 / 3 * 1.1
    # A 1x100 strip: no attempt fits, the fallback is the centred crop at the max ratio.
    assert random_resized_crop_params(1, 100, rng) == (0, 49, 1, 1)
    assert random_resized_crop_params(50, 50, np.random.default_rng(1))[2:] != (0, 0)


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
