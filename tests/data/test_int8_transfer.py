"""``transfer_dtype="int8"``: planes bit-packed at their own widths, equal to int16 bit for bit.

Every source that sends quantised coefficients (files, separate chroma, fixed-crop and
whole-image stores, raw output; 4:2:0, 4:2:2, 4:4:4 and grayscale files, odd sizes, the
shared photos), trained with the same seeds over two epochs; what crosses is counted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import freqpipe as fp
from freqpipe.data import FreqLoader, JpegFileList
from freqpipe.data._batch import HostBatch, SampleRng
from freqpipe.jpeg.blocks import PAD, plane_layout, unpack_planes
from tests.jpeg.fixtures import encoded_fixtures


def _epochs(loader: FreqLoader, seed: int = 5) -> list[tuple[torch.Tensor, ...]]:
    torch.manual_seed(seed)
    out = []
    for _ in range(2):
        for batch in loader:
            flat = []
            for part in batch:
                flat.extend(part if isinstance(part, tuple) else (part,))
            out.append(tuple(flat))
    return out


def _assert_same(a: FreqLoader, b: FreqLoader) -> None:
    got, ref = _epochs(a), _epochs(b)
    assert len(got) == len(ref) > 0
    for g, r in zip(got, ref):
        assert len(g) == len(r)
        for x, y in zip(g, r):
            assert x.dtype == y.dtype and torch.equal(x, y)  # bit for bit


@pytest.fixture(scope="module")
def whole_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("whole") / "s"
    fp.store.convert(
        fp.samples_path(),
        dst,
        select="dct24",
        size=64,
        layout="whole",
        dtype="int16",
        progress=False,
    )
    return dst


@pytest.fixture(scope="module")
def crop_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("crop") / "s"
    fp.store.convert(fp.samples_path(), dst, select="dct6", size=32, dtype="int16", progress=False)
    return dst


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"chroma": "separate"},
        {"raw": True},
        {"select": "all", "train": False},
        {"normalize": None, "dtype": torch.float16},
    ],
    ids=["dct24", "separate", "raw", "all-eval", "float16"],
)
def test_files_int8_equals_int16(indexed: JpegFileList, kw: dict) -> None:
    common = {"batch_size": 3, "size": 64, "device": "cpu", "train": True, "num_workers": 2, **kw}
    _assert_same(
        FreqLoader(indexed, transfer_dtype="int8", **common),
        FreqLoader(indexed, transfer_dtype="int16", **common),
    )


@pytest.mark.parametrize("raw", [False, True])
def test_stores_int8_equal_int16(whole_dir: Path, crop_dir: Path, raw: bool) -> None:
    for path, train in ((whole_dir, True), (crop_dir, False)):
        store = fp.store.FreqStore(path)
        assert store.manifest["dtype"] == "int16"
        common = {"batch_size": 3, "device": "cpu", "train": train, "raw": raw}
        _assert_same(
            FreqLoader(store, transfer_dtype="int8", **common),
            FreqLoader(store, transfer_dtype="int16", **common),
        )


def test_what_crosses_is_packed_and_counted(whole_dir: Path) -> None:
    store = fp.store.FreqStore(whole_dir)
    loader = FreqLoader(store, batch_size=4, device="cpu", train=True, transfer_dtype="int8")
    wide = FreqLoader(store, batch_size=4, device="cpu", train=True)
    src = loader._source
    slot = HostBatch.allocate(src.spec, pinned=False)
    src.fill(slot, [0, 1, 2, 3], SampleRng(1, 0))
    q = slot.arrays["coefficients"][:4]
    dc = np.zeros(24, bool)
    dc[[0, 16, 20]] = True  # Y0, Cb0, Cr0 of dct24
    meta, stream = slot.view("coefficients_meta"), slot.view("coefficients_stream")
    esc = slot.view("coefficients_escapes")
    np.testing.assert_array_equal(unpack_planes(meta, stream, esc, dc, (8, 8)), q)
    lay = plane_layout(meta.astype(np.int64), 8, 8)
    bits = int((lay["rows"] * lay["cols"] * lay["bits"]).sum())
    assert stream.size == (bits + 7) // 8 + PAD  # the planes back to back, padded
    assert (lay["bits"] <= 16).all() and (lay["escape_bits"] <= 16).all()
    for each in (loader, wide):
        for _ in each:
            pass
    sent, samples = loader.h2d_bytes_sent()
    sent16, samples16 = wide.h2d_bytes_sent()
    assert samples == samples16 == len(store)
    assert sent16 == len(store) * wide.h2d_bytes_per_sample()
    batches = -(-len(store) // 4)
    small = len(store) * (2 * 24 + 24 * 2 + 8) + 2 * batches * PAD  # meta, quant, label; pads
    assert small < sent < sent16 / 2


def test_counted_bytes_are_the_tensors_sizes(whole_dir: Path) -> None:
    store = fp.store.FreqStore(whole_dir)
    loader = FreqLoader(store, batch_size=3, device="cpu", train=True, transfer_dtype="int8")
    src, stage = loader._source, loader._stage
    slot = HostBatch.allocate(src.spec, pinned=False)
    total = 0
    for start in range(0, len(store), 3):
        idx = list(range(start, min(start + 3, len(store))))
        src.fill(slot, idx, SampleRng(2, 0))
        before = stage.sent_bytes
        stage.issue(slot, stage.host_finish(slot))
        tensors = [slot.tensor(k) for k in stage.plan.sent_fields]
        want = sum(t.numel() * t.element_size() for t in tensors) + 8 * len(idx)
        assert stage.sent_bytes - before == want
        total += want
    assert stage.sent_bytes == total


def _fixture_files(root: Path) -> list[Path]:
    """4:2:0, 4:2:2, 4:4:0, 4:4:4 and grayscale files, and odd sizes down to 1 x 1."""
    wanted = ("420", "422", "444", "440", "gray", "7x9", "17x15", "33x31", "65x3", "1x1")
    paths = []
    for name, data in encoded_fixtures():
        if any(w in name for w in wanted) and "cmyk" not in name:
            paths.append(root / f"{name}.jpg")
            paths[-1].write_bytes(data)
    return paths


@pytest.mark.parametrize("chroma", ["upsample", "separate"])
def test_every_sampling_and_odd_sizes_equal_int16(tmp_path: Path, chroma: str) -> None:
    paths = _fixture_files(tmp_path)
    files = JpegFileList(paths, list(range(len(paths))))
    common = {"batch_size": 4, "size": 32, "device": "cpu", "train": True, "chroma": chroma}
    _assert_same(
        FreqLoader(files, transfer_dtype="int8", **common),
        FreqLoader(files, transfer_dtype="int16", **common),
    )


@pytest.mark.parametrize("max_side", [None, 48])
def test_whole_store_of_every_sampling_equals_int16(tmp_path: Path, max_side: int | None) -> None:
    root = tmp_path / "in" / "all"
    root.mkdir(parents=True)
    _fixture_files(root)
    dst = tmp_path / "s"
    fp.store.convert(
        tmp_path / "in",
        dst,
        select="dct24",
        size=32,
        layout="whole",
        max_side=max_side,
        dtype="int16",
        progress=False,
    )
    store = fp.store.FreqStore(dst)
    for raw in (False, True):
        common = {"batch_size": 5, "device": "cpu", "train": True, "raw": raw}
        _assert_same(
            FreqLoader(store, transfer_dtype="int8", **common),
            FreqLoader(store, transfer_dtype="int16", **common),
        )


def test_photo_store_int8_equals_int16_in_under_half_the_bytes(
    tmp_path: Path, photos: list[Path]
) -> None:
    dst = tmp_path / "s"
    listing = tmp_path / "photos.txt"  # a fifth of them: the mix of samplings they have
    listing.write_text("".join(f"{p} {i}\n" for i, p in enumerate(photos[::5])))
    fp.store.convert(
        listing, dst, select="dct24", size=224, layout="whole", max_side=256, progress=False
    )
    store = fp.store.FreqStore(dst)
    assert len(store) == len(photos[::5]) == 80
    common = {"batch_size": 16, "device": "cpu", "train": True}
    packed = FreqLoader(store, transfer_dtype="int8", **common)
    _assert_same(packed, FreqLoader(store, transfer_dtype="int16", **common))
    sent, samples = packed.h2d_bytes_sent()
    # all 400 photos send 13,246 a sample (issue 18's target 15,053); a fifth of them vary more
    assert sent / samples < 0.4 * packed.h2d_bytes_per_sample()


def test_an_int8_store_sends_its_records(tmp_path: Path) -> None:
    dst = tmp_path / "s"
    high = fp.Selection(y=[63], cb=[63], cr=[63])  # the highest frequency fits int8 everywhere
    fp.store.convert(fp.samples_path(), dst, select=high, size=16, progress=False)
    store = fp.store.FreqStore(dst)
    assert store.manifest["dtype"] == "int8"
    loader = FreqLoader(store, batch_size=8, device="cpu", transfer_dtype="int8")
    assert loader._source.packing is None
    _assert_same(loader, FreqLoader(store, batch_size=8, device="cpu"))
