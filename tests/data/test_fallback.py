"""Issue 14 item 3: files ImageFolder's Pillow loader reads go through the per-file fallback."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import scipy.fft
from PIL import Image
from torch.utils.data import DataLoader

from freqpipe.data import FreqLoader, JpegFileList, JpegFolder
from freqpipe.errors import FreqpipeError
from freqpipe.transforms import Selection, center_crop_box, resize_shape

SIZE = 64


def _pil_loader(path: str) -> Image.Image:
    """torchvision's ``default_loader`` without torchvision (``ImageFolder``'s reader)."""
    with open(path, "rb") as f:
        return Image.open(f).convert("RGB")


@pytest.fixture()
def odd_folder(photos: list[Path], tmp_path: Path) -> Path:
    """A class folder of odd files ImageNet holds: CMYK, a PNG named .jpg, 4:4:4, 4:2:0."""
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    img = Image.open(photos[0]).convert("RGB")
    img.convert("CMYK").save(root / "a" / "cmyk.jpg", quality=95)
    img.save(root / "a" / "png.jpg", format="PNG")
    Image.open(photos[1]).convert("RGB").save(root / "b" / "full.jpg", quality=95, subsampling=0)
    (root / "b" / "plain.jpg").write_bytes(photos[2].read_bytes())
    return root


def _tv_centre(extent: int, n: int) -> int:
    """torchvision CenterCrop's start on one axis, in blocks (pad (n - e) // 2 before first)."""
    return -((n - extent) // 2) if extent < n else int(round((extent - n) / 2.0))  # noqa: RUF046


def _ycc_dct_window(rgb: np.ndarray, top: int, left: int, n: int) -> np.ndarray:
    """Independent reference: conventions §2 YCbCr, scipy's orthonormal DCT per 8x8 block."""
    win = rgb[top * 8 : (top + n) * 8, left * 8 : (left + n) * 8].astype(np.float64)
    r, g, b = win[..., 0], win[..., 1], win[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    out = np.empty((3, 64, n, n))
    for p, plane in enumerate((y, cb, cr)):
        blocks = plane.reshape(n, 8, n, 8).transpose(0, 2, 1, 3) - 128
        out[p] = (
            scipy.fft.dctn(blocks, axes=(2, 3), norm="ortho").reshape(n, n, 64).transpose(2, 0, 1)
        )
    return out.reshape(192, n, n)


def test_folder_reads_what_imagefolder_reads(
    odd_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ds = JpegFolder(odd_folder)
    theirs = DataLoader(
        [(_pil_loader(p), t) for p, t in ds.samples],
        batch_size=4,
        collate_fn=lambda b: [t for _, t in b],
    )
    with caplog.at_level(logging.INFO, logger="freqpipe.data"):
        loader = FreqLoader(ds, batch_size=4, size=SIZE, device="cpu", normalize=None)
        ((x, y),) = list(loader)
    assert y.tolist() == next(iter(theirs))
    assert loader.fallbacks == {"CMYK JPEG (no YCbCr coefficients)": 1, "PNG file, not a JPEG": 1}
    assert sum("cmyk.jpg" in r.getMessage() for r in caplog.records) == 1
    sel = Selection.preset("dct24")
    n = SIZE // 8
    for i, (path, _) in enumerate(ds.samples[:2]):  # the two fallbacks: Pillow's RGB, then DCT
        rgb = np.asarray(_pil_loader(path))
        hb, wb = -(-rgb.shape[0] // 8), -(-rgb.shape[1] // 8)
        ref = _ycc_dct_window(rgb, _tv_centre(hb, n), _tv_centre(wb, n), n)[sel.indices]
        np.testing.assert_allclose(x[i].numpy(), ref, atol=0.51 + 1e-3)
    assert float(x[0].abs().max()) > 10  # not a blank slot


def test_pixel_source_reads_cmyk_and_png(odd_folder: Path) -> None:
    ds = JpegFolder(odd_folder)
    loader = FreqLoader(ds, batch_size=4, size=SIZE, device="cpu", output="rgb", normalize=None)
    x, _ = next(iter(loader))
    assert sorted(loader.fallbacks.values()) == [1, 1]
    for i, (path, _) in enumerate(ds.samples[:2]):
        img = _pil_loader(path)
        rh, rw = resize_shape(img.height, img.width, SIZE)
        resized = np.asarray(img.resize((rw, rh), Image.Resampling.BILINEAR))
        top, left = center_crop_box(rh, rw, SIZE)
        ref = resized[top : top + SIZE, left : left + SIZE].transpose(2, 0, 1) / 255
        np.testing.assert_allclose(x[i].numpy(), ref, atol=1e-6)


@pytest.mark.parametrize("output", ["dct", "rgb"])
def test_unreadable_by_pillow_is_still_a_bad_file(files: list[Path], output: str) -> None:
    ds = JpegFileList([files[0], b"GIF89a but not really"], [0, 1])
    loader = FreqLoader(ds, batch_size=2, size=SIZE, device="cpu", output=output)
    with pytest.raises(FreqpipeError, match="<bytes of item 1>.*on_error='skip'"):
        next(iter(loader))
    assert loader.fallbacks == {}
