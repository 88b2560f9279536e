"""FreqLoader over reordered JPEGs (a folder, a jpeg-route store) equals it over the originals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import freqpipe as fp
from freqpipe.data import FreqLoader
from freqpipe.errors import InvalidArgumentError
from freqpipe.jpeg import read_coefficients


@pytest.fixture(scope="module")
def reordered_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("reordered") / "samples"
    fp.store.reorder_folder(fp.samples_path(), dst, progress=False)
    return dst


def _batches(source: object, **kw: object) -> list[tuple[torch.Tensor, torch.Tensor]]:
    loader = FreqLoader(source, batch_size=3, select="dct24", size=64, device="cpu", **kw)
    return list(loader)


@pytest.mark.parametrize("train", [False, True])
def test_reordered_folder_gives_the_same_batches(reordered_folder: Path, train: bool) -> None:
    seed = {"generator": torch.Generator().manual_seed(5), "shuffle": True} if train else {}
    ref = _batches(fp.samples_path(), train=train, **seed)
    seed = {"generator": torch.Generator().manual_seed(5), "shuffle": True} if train else {}
    got = _batches(reordered_folder, train=train, **seed)
    assert len(ref) == len(got) == 3
    for (xr, yr), (xg, yg) in zip(ref, got):
        torch.testing.assert_close(xg, xr, rtol=0, atol=0)
        assert yg.tolist() == yr.tolist()


def test_reordered_jpeg_store_gives_the_same_batches(tmp_path: Path) -> None:
    dst = tmp_path / "store"
    fp.store.convert(
        fp.samples_path(), dst, route="jpeg", size=64, order=["dct24", "all"], progress=False
    )
    store = fp.store.FreqStore(dst)
    assert store.manifest["order"][0] == fp.Selection.preset("dct24").to_json()
    for i in range(len(store)):
        c = read_coefficients(store.get_bytes(i), freqs=fp.Selection.preset("dct6").per_plane)
        assert c.progressive and c.bytes_read < c.total_bytes
    ref = _batches(fp.samples_path())
    got = list(FreqLoader(store, batch_size=3, select="dct24", size=64, device="cpu"))
    for (xr, yr), (xg, yg) in zip(ref, got):
        torch.testing.assert_close(xg, xr, rtol=0, atol=0)
        assert yg.tolist() == yr.tolist()


def test_order_needs_the_jpeg_route(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="route='jpeg'"):
        fp.store.convert(fp.samples_path(), tmp_path / "s", order=["dct24"], progress=False)
