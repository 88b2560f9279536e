"""``transfer_dtype="int8"``: DC int16 + AC int8 + escapes, equal to the int16 transfer bit for bit.

Every source that sends quantised coefficients (files, separate chroma, fixed-crop and
whole-image stores, raw output), trained with the same seeds; what crosses is counted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import freqpipe as fp
from freqpipe.data import FreqLoader, JpegFileList
from freqpipe.data._batch import HostBatch, SampleRng
from freqpipe.jpeg.blocks import ESCAPE


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
    np.testing.assert_array_equal(slot.view("coefficients_dc"), q[:, dc])
    ac, esc = slot.view("coefficients_ac"), slot.view("coefficients_escapes")
    outside = (q[:, ~dc] < -127) | (q[:, ~dc] > 127)
    assert (ac[outside] == ESCAPE).all() and esc.size == int(outside.sum())
    for each in (loader, wide):
        for _ in each:
            pass
    sent, samples = loader.h2d_bytes_sent()
    sent16, samples16 = wide.h2d_bytes_sent()
    assert samples == samples16 == len(store)
    assert sent16 == len(store) * wide.h2d_bytes_per_sample()
    per_ac = 21 * 8 * 8
    floor = len(store) * (3 * 64 * 2 + per_ac + 24 * 2 + 8)  # no escapes at all
    assert floor <= sent < sent16
    assert (sent - floor) % 2 == 0  # the rest is int16 escapes


def test_an_int8_store_sends_its_records(tmp_path: Path) -> None:
    dst = tmp_path / "s"
    high = fp.Selection(y=[63], cb=[63], cr=[63])  # the highest frequency fits int8 everywhere
    fp.store.convert(fp.samples_path(), dst, select=high, size=16, progress=False)
    store = fp.store.FreqStore(dst)
    assert store.manifest["dtype"] == "int8"
    loader = FreqLoader(store, batch_size=8, device="cpu", transfer_dtype="int8")
    assert loader._source.packing is None
    _assert_same(loader, FreqLoader(store, batch_size=8, device="cpu"))
