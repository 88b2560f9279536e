"""The same images through ``FreqLoader(folder)`` and ``FreqLoader(FreqStore(convert(folder)))``.

Each module's own test can only check its own rounding; this one runs both paths on the same
files (real photos, most of them smaller than 448 in one dimension, and the bundled samples), at
224 and 448, and asks for equal batches (issue 15 item 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import freqpipe as fp
from freqpipe._samples import sample_files
from freqpipe.data import FreqLoader
from freqpipe.store import FreqStore
from tests.conftest import photo_files
from tests.tolerances import assert_close

SIZES = (224, 448)
BATCH = 4


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A class-per-folder tree: 6 shared photos (when present) and the bundled samples."""
    root = tmp_path_factory.mktemp("mixed")
    files = photo_files()[:6] + sample_files()
    for i, f in enumerate(files):
        d = root / f.parent.name
        d.mkdir(exist_ok=True)
        (d / f"{i:02d}{f.suffix}").symlink_to(f)
    return root


def _store(folder: Path, tmp: Path, route: str, size: int) -> FreqStore:
    dst = tmp / f"{route}{size}"
    fp.store.convert(folder, dst, select="dct24", size=size, route=route, progress=False)
    return FreqStore(dst)


def _batches(loader: FreqLoader) -> list[tuple[torch.Tensor, list[int]]]:
    return [(x, y.tolist()) for x, y in loader]


def _assert_same(a: FreqLoader, b: FreqLoader, precision: object = None) -> None:
    xa, xb = _batches(a), _batches(b)
    assert len(xa) == len(xb) > 1
    for (x1, y1), (x2, y2) in zip(xa, xb):
        assert y1 == y2
        if precision is not None:
            assert_close(x2.numpy(), x1.numpy(), precision=precision)
        else:
            assert torch.equal(x1, x2), (x1 - x2).abs().amax(dim=(1, 2, 3)).tolist()


def test_folder_has_images_smaller_than_the_window(folder: Path) -> None:
    from PIL import Image

    sizes = []
    for f in sorted(folder.glob("*/*")):
        with Image.open(f) as im:
            sizes.append(min(im.size))
    assert min(sizes) < 448  # the padding rule is exercised


@pytest.mark.parametrize("size", SIZES)
def test_coefficient_route_eval(folder: Path, tmp_path: Path, size: int) -> None:
    # The store keeps a fixed centre crop, so only evaluation can be compared.
    store = _store(folder, tmp_path, "coefficient", size)
    common = {"batch_size": BATCH, "device": "cpu", "normalize": None}
    direct = FreqLoader(folder, train=False, select="dct24", size=size, **common)
    _assert_same(direct, FreqLoader(store, **common))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("train", [False, True])
def test_jpeg_route_eval_and_train(folder: Path, tmp_path: Path, size: int, train: bool) -> None:
    # The jpeg route crops at load time: training windows and flips must follow the same seed.
    store = _store(folder, tmp_path, "jpeg", size)
    common = {"batch_size": BATCH, "device": "cpu", "select": "dct24", "size": size}

    def make(dataset: object) -> FreqLoader:
        g = torch.Generator().manual_seed(7)
        return FreqLoader(dataset, train=train, generator=g, **common)

    _assert_same(make(folder), make(store))


# Both sides decode with freqpipe.jpeg.pixels.load_center_crop's libjpeg-turbo (scaled where the
# region is at least twice the resize target): at 224 Pillow's full-size decode differed by
# up to ~44 on the 960-pixel samples.
@pytest.mark.parametrize("size", SIZES)
def test_pixel_route_eval(folder: Path, tmp_path: Path, size: int) -> None:
    # float16 records against the loader's float32 DCT of the same crop.
    store = _store(folder, tmp_path, "pixel", size)
    common = {"batch_size": BATCH, "device": "cpu", "normalize": None}
    direct = FreqLoader(folder, train=False, select="dct24", size=size, source="pixels", **common)
    _assert_same(direct, FreqLoader(store, **common), precision=np.float16)


def test_files_imagefolder_reads_convert_as_the_loader_reads_them(tmp_path: Path) -> None:
    """CMYK JPEGs and PNGs named .jpg: no rejects, and the store equals the loader's fallback."""
    from PIL import Image

    root = tmp_path / "odd"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    samples = sample_files()
    for i, f in enumerate(samples[:3]):
        (root / "a" / f"{i}.jpg").symlink_to(f)
    with Image.open(samples[3]) as im:
        im.convert("CMYK").save(root / "a" / "cmyk.jpg", "JPEG", quality=90)
        im.save(root / "b" / "png_named.jpg", "PNG")
    (root / "b" / "ok.jpg").symlink_to(samples[4])
    dst = tmp_path / "store"
    summary = fp.store.convert(root, dst, select="dct24", size=224, progress=False)
    assert summary.rejected == 0, (dst / "rejects.tsv").read_text()
    kw = dict(batch_size=3, num_workers=0, device="cpu")
    _assert_same(
        FreqLoader(root, select="dct24", size=224, train=False, **kw),
        FreqLoader(FreqStore(dst), **kw),
    )


@pytest.mark.parametrize("size", SIZES)
def test_whole_layout_trains_as_the_folder_does(folder: Path, tmp_path: Path, size: int) -> None:
    # Whole-image records crop at load time: for one seed and epoch, the folder's coefficient
    # source and the store draw the same windows and flips; another epoch draws others.
    dst = tmp_path / f"whole{size}"
    fp.store.convert(folder, dst, select="dct24", size=size, layout="whole", progress=False)
    store = FreqStore(dst)
    common = {"batch_size": BATCH, "device": "cpu", "normalize": None}

    def make(dataset: object, epoch: int, **kw: object) -> FreqLoader:
        g = torch.Generator().manual_seed(11)
        loader = FreqLoader(dataset, train=True, shuffle=True, generator=g, **common, **kw)
        loader.set_epoch(epoch)
        return loader

    for epoch in (0, 1):
        _assert_same(make(folder, epoch, select="dct24", size=size), make(store, epoch))
    first, second = _batches(make(store, 0)), _batches(make(store, 1))
    assert any(not torch.equal(a, b) for (a, _), (b, _) in zip(first, second))


def test_whole_layout_evaluates_as_the_folder_does(folder: Path, tmp_path: Path) -> None:
    dst = tmp_path / "whole"
    fp.store.convert(folder, dst, select="dct24", size=224, layout="whole", progress=False)
    common = {"batch_size": BATCH, "device": "cpu", "train": False}
    direct = FreqLoader(folder, select="dct24", size=224, **common)
    _assert_same(direct, FreqLoader(FreqStore(dst), **common))
