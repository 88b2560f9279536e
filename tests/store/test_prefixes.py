"""A frequency-ordered JPEG store records each record's prefixes; loads read only those bytes."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import freqpipe as fp
import freqpipe.data._coefficients as coefficient_source
from freqpipe.cli import main
from freqpipe.data import FreqLoader
from freqpipe.errors import StoreCorruptError
from freqpipe.jpeg import read_coefficients, scan_table
from freqpipe.jpeg._ext import native
from freqpipe.jpeg.datasets import JpegFolder
from freqpipe.jpeg.scans import ScanPrefix, prefix_end, selection_wanted
from freqpipe.store import FreqStore, convert, verify
from freqpipe.store.format import read_header
from freqpipe.store.kinds import jpeg_bytes
from freqpipe.transforms import Selection

jpeglib = pytest.importorskip("jpeglib")

CUSTOM = Selection(y=[0, 1, 8, 9, 16, 2], cb=[0, 1], cr=[0])  # inside dct24, not dct6
ORDER = ("dct6", CUSTOM, "dct24", "dct64", "all")
SELECTS = {"dct6": "dct6", "dct24": "dct24", "dct64": "dct64", "custom": CUSTOM}
#: Inside dct24 (its smallest cover in ORDER) but not one of ORDER's selections itself.
INNER = Selection(y=[0, 1, 8], cb=[0], cr=[0, 1])


@pytest.fixture(scope="module")
def ordered(small_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> FreqStore:
    dst = tmp_path_factory.mktemp("ordered") / "store"
    convert(small_folder, dst, route="jpeg", size=32, shard_size=7, order=ORDER, progress=False)
    return FreqStore(dst)


def _old_style(src: Path, dst: Path, monkeypatch: pytest.MonkeyPatch) -> FreqStore:
    """A store whose shards lack ``prefixes``, as written before the section existed."""
    pack = jpeg_bytes.JpegBytesKind.pack

    def old_pack(self, spec, buffers, ok):  # type: ignore[no-untyped-def]
        arrays = pack(self, spec, buffers, ok)
        del arrays["prefixes"]
        return arrays

    with monkeypatch.context() as m:
        m.setattr(jpeg_bytes.JpegBytesKind, "pack", old_pack)
        convert(src, dst, route="jpeg", size=32, shard_size=7, order=ORDER, progress=False)
    return FreqStore(dst)


def _reference(path: str) -> list[np.ndarray]:
    """The original file's planes (Hb, Wb, 64) from jpeglib, an independent libjpeg binding."""
    im = jpeglib.read_dct(path)
    planes = [im.Y] + ([im.Cb, im.Cr] if im.Cb is not None else [])
    return [np.asarray(p).reshape(p.shape[0], p.shape[1], 64) for p in planes]


def _cover(sel: object) -> list[int]:
    """The selections of ORDER holding every channel of ``sel``, by index."""
    want = Selection.from_spec(sel)  # type: ignore[arg-type]
    return [s for s, o in enumerate(ORDER) if want.issubset(Selection.from_spec(o))]


def _request(sel: Selection, ncomp: int) -> tuple[list[int], list[np.ndarray]]:
    comps = [c for c in range(ncomp) if sel.per_plane[c].size]
    return comps, [sel.per_plane[c] for c in comps]


def test_prefix_lengths_are_the_readers_cut(ordered: FreqStore) -> None:
    sizes, prefixes = ordered.prefix_lengths()
    assert prefixes is not None and prefixes.shape == (len(ordered), len(ORDER))
    assert ordered.order == tuple(Selection.from_spec(s) for s in ORDER)
    for i in range(len(ordered)):
        data = ordered.get_bytes(i)
        assert sizes[i] == len(data)
        table = scan_table(data)
        assert table is not None and table.progressive
        for s, sel in enumerate(ORDER):
            cut = prefix_end(table, selection_wanted(Selection.from_spec(sel), table.ncomp))
            assert prefixes[i, s] == (len(data) if cut is None else cut[0]), (i, sel)
    # the order really cuts: dct6 well short of the record, "all" the whole of it
    assert (prefixes[:, 0] < sizes).all() and (prefixes[:, -1] == sizes).all()


@pytest.mark.parametrize("name", [*SELECTS, "inner"])
def test_prefix_reads_are_exact(ordered: FreqStore, small_folder: Path, name: str) -> None:
    sel = SELECTS.get(name, INNER)
    sel = Selection.from_spec(sel)
    _, prefixes = ordered.prefix_lengths()
    assert prefixes is not None
    cover = _cover(sel)
    for i, path in enumerate(_inputs(ordered, small_folder)):
        src = ordered.get_prefix(i, sel)
        assert isinstance(src, ScanPrefix) and src.end == prefixes[i, cover].min()
        ref = _reference(path)
        comps, freqs = _request(sel, len(ref))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a prefix read must not warn
            got = read_coefficients(src, components=comps, freqs=freqs)
        whole = read_coefficients(ordered.get_bytes(i), components=comps, freqs=freqs)
        assert got.bytes_read == src.end and got.total_bytes == len(ordered.get_bytes(i))
        for plane, full, c, f in zip(got.planes, whole.planes, comps, freqs):
            np.testing.assert_array_equal(plane, ref[c][..., f])
            np.testing.assert_array_equal(plane, full)


def _inputs(store: FreqStore, root: Path) -> list[str]:
    """The input file of each record (convert numbers its inputs in ImageFolder's order)."""
    files = [str(p) for p, _ in JpegFolder(root).samples]
    return [files[int(k)] for k in store.indices]


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(bytes_read, total_bytes) of every decode the coefficient source makes."""
    seen: list[tuple[int, int]] = []
    decode = coefficient_source.decode_jpeg

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        dec = decode(*args, **kwargs)
        seen.append((dec.bytes_read, dec.total_bytes))
        return dec

    monkeypatch.setattr(coefficient_source, "decode_jpeg", spy)
    return seen


def _load(source: object, select: object, **kw: object) -> list[tuple[torch.Tensor, torch.Tensor]]:
    loader = FreqLoader(source, batch_size=4, select=select, size=32, device="cpu", **kw)
    return list(loader)


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("name", list(SELECTS))
def test_loader_reads_only_the_stored_prefix(
    ordered: FreqStore, small_folder: Path, name: str, train: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    sel = SELECTS[name]
    kw = {"train": train, "shuffle": train, "generator": torch.Generator().manual_seed(3)}
    ref = _load(small_folder, sel, **kw)
    kw["generator"] = torch.Generator().manual_seed(3)
    seen = _spy(monkeypatch)

    def no_walk(*args: object) -> None:
        raise AssertionError("the reader walked the markers of a stored prefix")

    monkeypatch.setattr(native(), "prefix_cut", no_walk)
    got = _load(ordered, sel, **kw)
    assert len(got) == len(ref)
    for (xr, yr), (xg, yg) in zip(ref, got):
        torch.testing.assert_close(xg, xr, rtol=0, atol=0)
        assert yg.tolist() == yr.tolist()
    sizes, prefixes = ordered.prefix_lengths()
    assert prefixes is not None
    want = prefixes[:, _cover(sel)].min(axis=1)
    # one decode per record, of exactly its stored prefix (in the sampler's order)
    assert sorted(seen) == sorted(zip(want.tolist(), sizes.tolist()))
    assert sum(r for r, _ in seen) < sum(t for _, t in seen)


def test_store_without_prefixes_still_loads(
    small_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ordered: FreqStore
) -> None:
    old = _old_style(small_folder, tmp_path / "old", monkeypatch)
    for e in old.shard_entries:
        header = read_header(old.path / e["name"])
        assert set(header.sections) == {"data", "offsets", "labels", "index"}
    assert verify(old.path).ok
    assert old.prefix_lengths()[1] is None
    assert isinstance(old.get_prefix(0, "dct24"), bytes)
    seen = _spy(monkeypatch)
    got = _load(old, "dct24")
    walked = list(seen)
    new = _load(ordered, "dct24")
    for (xo, yo), (xn, yn) in zip(got, new):
        torch.testing.assert_close(xo, xn, rtol=0, atol=0)
        assert yo.tolist() == yn.tolist()
    # the walk finds the same cut the new stores record (dct24 is its own smallest cover)
    _, prefixes = ordered.prefix_lengths()
    assert prefixes is not None
    assert [r for r, _ in walked] == prefixes[:, ORDER.index("dct24")].tolist()


def test_selection_outside_the_order_falls_back_to_the_walk(
    small_folder: Path, tmp_path: Path
) -> None:
    convert(small_folder, tmp_path / "s", route="jpeg", size=32, order=["dct6"], progress=False)
    store = FreqStore(tmp_path / "s")
    data = store.get_prefix(0, "dct24")
    assert isinstance(data, bytes) and data == store.get_bytes(0)
    assert isinstance(store.get_prefix(0, "dct6"), ScanPrefix)


def test_verify_checks_prefix_lengths_against_the_scans(
    small_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = jpeg_bytes.prefix_lengths

    def off_by_one(data, order):  # type: ignore[no-untyped-def]
        lengths = real(data, order)
        return [lengths[0] - 1, *lengths[1:]]  # still inside the record: only a walk can tell

    with monkeypatch.context() as m:
        m.setattr(jpeg_bytes, "prefix_lengths", off_by_one)
        convert(small_folder, tmp_path / "bad", route="jpeg", size=32, order=ORDER, progress=False)
    report = verify(tmp_path / "bad")
    assert not report.ok
    assert any("stored prefix lengths" in p for p in report.problems), report.problems
    assert any("more records with wrong prefix lengths" in p for p in report.problems)


def test_prefix_past_its_record_is_refused_on_open(
    small_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = jpeg_bytes.prefix_lengths
    with monkeypatch.context() as m:
        m.setattr(jpeg_bytes, "prefix_lengths", lambda d, o: [n + 1 for n in real(d, o)])
        convert(small_folder, tmp_path / "bad", route="jpeg", size=32, order=ORDER, progress=False)
    with pytest.raises(StoreCorruptError, match="prefix length .* lies outside"):
        FreqStore(tmp_path / "bad")
    assert any("lies outside" in p for p in verify(tmp_path / "bad").problems)


def test_prefix_columns_must_match_the_order(ordered: FreqStore, tmp_path: Path) -> None:
    dst = tmp_path / "copy"
    shutil.copytree(ordered.path, dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest["order"] = manifest["order"][:2]
    (dst / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(fp.StoreSchemaError, match="prefixes"):
        FreqStore(dst)
    manifest["order"] = ["not a selection"]
    (dst / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(fp.StoreSchemaError, match=r"order\[0\]"):
        FreqStore(dst)


def test_inspect_reports_the_stored_prefixes(
    ordered: FreqStore,
    small_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["inspect", "--json", str(ordered.path)]) == 0
    (info,) = json.loads(capsys.readouterr().out)
    sizes, prefixes = ordered.prefix_lengths()
    assert prefixes is not None
    assert info["records"] == len(ordered) and info["kind"] == "jpeg"
    assert info["order"] == ["dct6", f"custom ({len(CUSTOM)} channels)", "dct24", "dct64", "all"]
    assert info["record_bytes"] == pytest.approx(sizes.mean(), abs=0.1)
    got = [(p["bytes"], p["of_record"]) for p in info["prefixes"]]
    want = [(prefixes[:, s].mean(), prefixes[:, s].mean() / sizes.mean()) for s in range(5)]
    assert got == [(pytest.approx(b, abs=0.1), pytest.approx(r, abs=1e-4)) for b, r in want]
    assert got[-1][1] == 1.0 and got[0][1] < 0.8
    assert main(["inspect", str(ordered.path)]) == 0
    text = capsys.readouterr().out
    assert "prefix       dct6" in text and "% of the record)" in text
    old = _old_style(small_folder, tmp_path / "old", monkeypatch)
    assert main(["inspect", str(old.path)]) == 0
    assert "not stored" in capsys.readouterr().out
