"""FreqLoader(transform=...): coefficient covers rendered on the device equal whole images.

The reference is the same transform on a DctBatch of each whole image
(``DctBatch.from_coefficients``), itself checked against torchvision's pixel ops on decoded
pixels in tests/transforms/test_dct_batch.py. Equality here says the worker reads every
coefficient the crop needs (luma, chroma and its upsampling margin) and that the device stage
moves the boxes to the covers correctly, for each sampling, crops at the image edges, crops
larger than the slot's first capacity, and images smaller than the output.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

import freqpipe as fp
from freqpipe.data import FreqLoader, JpegFileList, SampleRng
from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms import Selection
from freqpipe.transforms.dct import (
    CenterCrop,
    ColorJitter,
    Compose,
    DctBatch,
    MixUp,
    RandomErasing,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomResizedCrop,
    Resize,
)
from tests.tolerances import assert_close
from tests.transforms.test_dct_batch import TorchCalls
from tests.transforms.test_resize import jpeg


def _gray(height: int, width: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8), "L")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture(scope="module")
def mixed() -> list[bytes]:
    """4:4:4, 4:2:2, 4:2:0 and grayscale, odd sizes, one smaller than the crop, one large."""
    return [
        jpeg(75, 101, 0, seed=1),
        jpeg(83, 66, 1, seed=2),
        jpeg(97, 131, 2, seed=3),
        _gray(70, 90, seed=4),
        jpeg(40, 52, 2, seed=5),
        jpeg(300, 410, 2, seed=6),
    ]


def _reference(data: bytes, transform, selection: Selection, key: list[int]) -> torch.Tensor:
    c = fp.read_coefficients(data)
    batch = DctBatch.from_coefficients([c], dtype=torch.float64)
    if len(batch.planes) == 1:  # grayscale: zero chroma, as the loader reads it
        zero = torch.zeros_like(batch.planes[0])
        batch = DctBatch([batch.planes[0], zero, zero], [(1, 1)] * 3, batch.extent, batch.rngs)
    batch.rngs = [np.random.default_rng(key)]
    batch = transform(batch)
    x = torch.cat(batch.render([p.tolist() for p in selection.per_plane]), dim=1)
    return batch.apply_erasing(x)[0]


def _run(files: list[bytes], transform, select: str = "dct24", **kw) -> tuple[list, FreqLoader]:
    ds = JpegFileList(files, list(range(len(files))))
    loader = FreqLoader(
        ds,
        batch_size=3,
        transform=transform,
        select=select,
        device="cpu",
        normalize=None,
        generator=torch.Generator().manual_seed(11),
        **kw,
    )
    return list(loader), loader


@pytest.mark.parametrize(
    "transform",
    [
        Compose([RandomResizedCrop(64), RandomHorizontalFlip()]),
        Compose([RandomResizedCrop(48, scale=(0.5, 1.0)), RandomHorizontalFlip(p=1.0)]),
        Compose([Resize(73), CenterCrop(64)]),
    ],
    ids=["rrc-flip", "rrc-large-flip", "resize-centercrop"],
)
@pytest.mark.parametrize("workers", [0, 2])
def test_covers_equal_whole_images(mixed, transform, workers) -> None:
    batches, loader = _run(mixed, transform, num_workers=workers)
    sel = Selection.preset("dct24")
    got = torch.cat([x for x, _ in batches])
    assert [int(v) for _, y in batches for v in y] == list(range(len(mixed)))
    base = loader._base_seed
    for i, data in enumerate(mixed):
        ref = _reference(data, transform, sel, [base, 0, i, 0])
        assert_close(got[i].numpy(), ref.numpy(), precision=np.float32)


def test_colour_and_erasing_follow_the_same_draws(mixed) -> None:
    transform = Compose(
        [
            RandomResizedCrop(64),
            ColorJitter(0.4, 0.4, 0.4),
            RandomGrayscale(0.5),
            RandomErasing(p=1.0),
        ]
    )
    files = [mixed[0], mixed[2], mixed[5]]
    batches, loader = _run(files, transform, select="dct64")
    got = torch.cat([x for x, _ in batches])
    for i, data in enumerate(files):
        ref = _reference(data, transform, Selection.preset("dct64"), [loader._base_seed, 0, i, 0])
        assert_close(got[i].numpy(), ref.numpy(), precision=np.float32)


def test_new_crops_every_epoch_and_normalised_by_default(mixed) -> None:
    ds = JpegFileList(mixed[:3], [0, 1, 2])
    loader = FreqLoader(
        ds, batch_size=3, transform=Compose([RandomResizedCrop(64)]), device="cpu", shuffle=True
    )
    (a, _), (b, _) = next(iter(loader)), next(iter(loader))
    assert a.shape == (3, 24, 8, 8) and a.dtype == torch.float32
    assert not torch.equal(a, b)
    assert float(a.abs().mean()) < 10  # normalised: the shipped dct24 statistics


def test_png_named_jpg_goes_through_the_fallback(mixed, tmp_path) -> None:
    png = io.BytesIO()
    Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(png, "PNG")
    batches, loader = _run([mixed[0], png.getvalue()], Compose([RandomResizedCrop(32)]))
    assert loader.fallbacks == {"PNG file, not a JPEG": 1} or sum(loader.fallbacks.values()) == 1
    assert torch.cat([x for x, _ in batches]).shape == (2, 24, 4, 4)


def test_a_fallback_after_the_header_draws_what_the_device_stage_draws(mixed) -> None:
    # A CMYK JPEG's cover is placed from its header before the layout check sends it to
    # Pillow; the fallback must draw again from the start of the sample's stream, as the
    # device stage does, so it matches a PNG of the same pixels (which never had a header).
    rgb = np.asarray(Image.open(io.BytesIO(mixed[2])).convert("RGB"))
    cmyk, png = io.BytesIO(), io.BytesIO()
    Image.fromarray(rgb).convert("CMYK").save(cmyk, "JPEG", quality=95)
    Image.open(io.BytesIO(cmyk.getvalue())).convert("RGB").save(png, "PNG")
    transform = Compose([RandomResizedCrop(48), RandomHorizontalFlip()])
    [(a, _)], loader = _run([cmyk.getvalue()], transform)
    [(b, _)], _ = _run([png.getvalue()], transform)
    assert sum(loader.fallbacks.values()) == 1
    torch.testing.assert_close(a[0], b[0], rtol=0, atol=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"transform": Compose([RandomResizedCrop(64), MixUp(alpha=0.2, num_classes=10)])},
            "MixUp",
        ),
        ({"transform": Compose([Resize(64)])}, "one size"),
        ({"transform": RandomResizedCrop(64), "size": 32}, "leave size out"),
        ({"transform": RandomResizedCrop(64), "source": "pixels"}, "coefficient source"),
        ({"transform": RandomResizedCrop(64), "raw": True}, "raw=False"),
    ],
)
def test_bad_transform_arguments(mixed, kwargs, match) -> None:
    ds = JpegFileList(mixed[:1], [0])
    with pytest.raises(InvalidArgumentError, match=match):
        FreqLoader(ds, batch_size=1, device="cpu", **kwargs)


@pytest.mark.parametrize("transfer", ["all", "band"])
def test_the_workers_fill_a_slot_without_any_torch_op(mixed, tmp_path, transfer) -> None:
    """Per sample the workers decode, draw and copy with NumPy only.

    A torch op per sample (the probe once ran the transform on empty tensors) wakes torch's
    thread pool in every worker thread, whose spinning doubled the workers' CPU time.
    """
    png = io.BytesIO()
    Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(png, "PNG")
    files = [*mixed, png.getvalue()]  # every sampling, grayscale, and the fallback
    transform = Compose([RandomResizedCrop(64), RandomHorizontalFlip(), ColorJitter(0.4)])
    loader = FreqLoader(
        JpegFileList(files, list(range(len(files)))),
        batch_size=len(files),
        transform=transform,
        transfer_frequencies=transfer,
        device="cpu",
    )
    source = loader._source
    slot = loader._stage.transfer.allocate(source.spec)
    with TorchCalls() as calls:
        source.fill(slot, list(range(len(files))), SampleRng(3, 0))
    assert calls.calls == []
    assert slot.count == len(files) and sum(loader.fallbacks.values()) == 1


def test_each_cover_is_the_files_blocks_in_the_decoders_layout(mixed) -> None:
    """Packed back to back, (rows, cols, 64) each, zero where a cover passes the block grid."""
    files = mixed + [jpeg(70, 90, 2, seed=7)]  # 4:2:0 whose chroma-aligned cover passes luma's
    loader = FreqLoader(
        JpegFileList(files, list(range(len(files)))),
        batch_size=len(files),
        transform=Compose([RandomResizedCrop(32, scale=(0.9, 1.0))]),
        device="cpu",
    )
    slot = loader._stage.transfer.allocate(loader._source.spec)
    loader._source.fill(slot, list(range(len(files))), SampleRng(1, 0))
    a = slot.arrays
    at = {"luma": 0, "chroma": 0}
    passed_the_grid = 0
    for i, data in enumerate(files):
        c = fp.read_coefficients(data)
        rows, cols = (int(v) for v in a["blocks"][i])
        top, left = (int(v) // 8 for v in a["origin"][i])
        fv, fh = (int(v) for v in a["factors"][i])
        for name, planes, grid in (
            ("luma", c.planes[:1], (rows, cols)),
            ("chroma", c.planes[1:], (-(-rows // fv), -(-cols // fh))),
        ):
            start = (top, left) if name == "luma" else (top // fv, left // fh)
            n = 2 if name == "chroma" else 1
            got = slot.view(name)[at[name] : at[name] + n * grid[0] * grid[1] * 64]
            got = got.reshape(n, *grid, 64)
            want = np.zeros_like(got)
            for p, plane in enumerate(planes):
                part = plane[start[0] : start[0] + grid[0], start[1] : start[1] + grid[1]]
                want[p, : part.shape[0], : part.shape[1]] = part
                passed_the_grid += part.shape[:2] != grid
            assert np.array_equal(got, want), (i, name)
            at[name] += got.size
    assert passed_the_grid > 0
    assert at["luma"] == slot.view("luma").size and at["chroma"] == slot.view("chroma").size


@pytest.mark.parametrize("frequencies", ["all", "band"])
def test_int8_transfer_of_covers_gives_the_same_batches_in_fewer_bytes(mixed, frequencies) -> None:
    # the covers cross narrowed to int8 with int16 escapes (every DC of these files escapes)
    transform = Compose([RandomResizedCrop(64), RandomHorizontalFlip()])
    kw = {"transfer_frequencies": frequencies, "num_workers": 2}
    wide, wide_loader = _run(mixed, transform, **kw)
    narrow, narrow_loader = _run(mixed, transform, transfer_dtype="int8", **kw)
    for (a, ya), (b, yb) in zip(wide, narrow):
        torch.testing.assert_close(b, a, rtol=0, atol=0)
        assert ya.tolist() == yb.tolist()
    assert 0 < narrow_loader.h2d_bytes_sent()[0] < 0.7 * wide_loader.h2d_bytes_sent()[0]


def test_widening_on_the_host_and_on_the_device_agree() -> None:
    from freqpipe.data._outputs import _CUDA_OPS, _NUMPY_OPS
    from freqpipe.jpeg.blocks import narrow_int16

    rng = np.random.default_rng(3)
    values = (rng.standard_normal(5000) * 90).astype(np.int16)
    values[::97] = np.array([-32768, 32767, -128, 128, -127], np.int16).repeat(11)[
        : values[::97].size
    ]
    narrow, escapes = np.empty(values.size, np.int8), np.empty(values.size, np.int16)
    m = narrow_int16(values, narrow, escapes)
    assert m == int(((values < -127) | (values > 127)).sum())
    host = _NUMPY_OPS.widen(narrow, escapes[:m])
    device = _CUDA_OPS.widen(torch.from_numpy(narrow), torch.from_numpy(escapes[:m]))
    np.testing.assert_array_equal(host, values)
    np.testing.assert_array_equal(device.numpy(), values)
