"""Whole-image records (``layout="whole"``, issue 18 item 1): round trip, windows, --max-side,
schema and verify."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from freqpipe._cli import convert as convert_cli
from freqpipe._samples import sample_files
from freqpipe.errors import InvalidArgumentError, StoreCorruptError, StoreSchemaError
from freqpipe.jpeg import decode_jpeg, gather_coefficients
from freqpipe.store import FreqStore, convert, verify
from freqpipe.store.format import read_header
from freqpipe.transforms import Selection, hflip_dct, resize_dct
from freqpipe.transforms.downscale import max_side_size
from tests.jpeg.fixtures import encoded_fixtures
from tests.store.test_schema import _edit_header, _edit_manifest

SELECT = "dct24"


@pytest.fixture(scope="module")
def fixture_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every sampling, progressive, grayscale, odd sizes down to 1x1, CMYK; and the samples."""
    root = tmp_path_factory.mktemp("fixtures") / "data"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    for name, data in encoded_fixtures():
        (root / "a" / f"{name}.jpg").write_bytes(data)
    for f in sample_files():
        (root / "b" / f.name).symlink_to(f)
    return root


@pytest.fixture(scope="module")
def whole(fixture_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> FreqStore:
    dst = tmp_path_factory.mktemp("whole") / "s"
    convert(fixture_folder, dst, select=SELECT, size=32, layout="whole", progress=False)
    return FreqStore(dst)


def _paths(store: FreqStore, folder: Path) -> list[Path]:
    files = sorted(p for p in folder.glob("*/*"))
    return [files[int(i)] for i in store.indices]


def test_every_record_is_the_whole_grid_gather(whole: FreqStore, fixture_folder: Path) -> None:
    sel = Selection.preset(SELECT)
    assert whole.record_kind == "whole" and len(whole) == len(_paths(whole, fixture_folder))
    for i, path in enumerate(_paths(whole, fixture_folder)):
        rec, _ = whole[i]
        dec = decode_jpeg(path)
        if dec.colorspace not in ("ycbcr", "gray"):  # CMYK: the fallback, checked below
            continue
        hb, wb = dec.grids[0]
        want, quant = gather_coefficients(dec, sel, top=0, left=0, height=hb, width=wb)
        assert whole.grids[i].tolist() == [hb, wb], path.name
        np.testing.assert_array_equal(rec["coeffs"], want, err_msg=path.name)
        np.testing.assert_array_equal(rec["quant"], quant, err_msg=path.name)


@pytest.mark.parametrize("seed", range(3))
def test_any_window_equals_the_readers_gather(
    whole: FreqStore, fixture_folder: Path, seed: int
) -> None:
    # Inside, across the edges and past the image (zero padding), flipped or not: the native
    # gather of that window from the file is the reference.
    sel = Selection.preset(SELECT)
    rng = np.random.default_rng(seed)
    paths = _paths(whole, fixture_folder)
    idx = [i for i, p in enumerate(paths) if decode_jpeg(p).colorspace in ("ycbcr", "gray")]
    g = whole.size // 8
    windows = []
    for i in idx:
        hb, wb = whole.grids[i]
        windows.append((rng.integers(-g, hb + 1), rng.integers(-g, wb + 1), rng.random() < 0.5))
    batch = whole.read_batch(idx, windows=windows)
    for row, (i, (top, left, flip)) in enumerate(zip(idx, windows)):
        want, quant = gather_coefficients(
            paths[i], sel, top=int(top), left=int(left), height=g, width=g, hflip=bool(flip)
        )
        np.testing.assert_array_equal(batch.coeffs[row], want, err_msg=paths[i].name)
        np.testing.assert_array_equal(batch.quant[row], quant)


def test_a_flipped_window_is_the_exact_flip(whole: FreqStore) -> None:
    a = whole.read_batch([0, 0], windows=[(1, 2, False), (1, 2, True)]).coeffs
    np.testing.assert_array_equal(a[1], hflip_dct(a[0], frequencies=whole.selection.frequencies))


@pytest.mark.parametrize("size", [32, 96])
def test_centred_windows_equal_the_crop_layout(
    whole: FreqStore, fixture_folder: Path, tmp_path: Path, size: int
) -> None:
    # 96 pixels is larger than most fixtures: the centred padding rule is exercised.
    crop_dst, whole_dst = tmp_path / "crop", tmp_path / "whole"
    convert(fixture_folder, crop_dst, select=SELECT, size=size, progress=False)
    convert(fixture_folder, whole_dst, select=SELECT, size=size, layout="whole", progress=False)
    crop, wide = FreqStore(crop_dst), FreqStore(whole_dst)
    assert crop.record_kind == "quantized" and len(crop) == len(wide)
    every = np.arange(len(crop))
    a, b = crop.read_batch(every), wide.read_batch(every)
    np.testing.assert_array_equal(a.coeffs.astype(np.int16), b.coeffs.astype(np.int16))
    np.testing.assert_array_equal(a.quant, b.quant)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_int8_shards_keep_room_for_the_flip(fixture_folder: Path, tmp_path: Path) -> None:
    convert(
        fixture_folder,
        tmp_path / "s",
        select="dct6",
        size=32,
        layout="whole",
        shard_size=1,
        progress=False,
    )
    store = FreqStore(tmp_path / "s")
    narrow = 0
    for e in store.manifest["shards"]:
        if read_header(tmp_path / "s" / e["name"]).sections["coeffs"]["dtype"] == "|i1":
            narrow += 1
            i = store.indices.tolist().index(e["inputs"][0])
            assert int(np.abs(store[i][0]["coeffs"]).max()) <= 127
    assert 0 < narrow < len(store)  # both kinds of shard
    assert verify(tmp_path / "s").ok


def _jpeg(path: Path, size: tuple[int, int], mode: str, subsampling: int) -> Path:
    with Image.open(sample_files()[1]) as im:
        im.convert("RGB").resize(size).convert(mode).save(path, quality=90, subsampling=subsampling)
    return path


@pytest.mark.parametrize(
    ("mode", "subsampling"), [("RGB", 2), ("RGB", 0), ("RGB", 1), ("L", 0)], ids=str
)
def test_max_side_is_resize_dct_within_half_a_step(
    tmp_path: Path, mode: str, subsampling: int
) -> None:
    # 128x96 to a longer side of 64: 64x48, every plane a whole number of blocks, so the
    # reference is resize_dct of each component at its own resolution, whole-image box.
    root = tmp_path / "data" / "a"
    root.mkdir(parents=True)
    path = _jpeg(root / "x.jpg", (128, 96), mode, subsampling)
    dst = tmp_path / "s"
    convert(tmp_path / "data", dst, select="dct64", size=32, max_side=64, progress=False)
    store = FreqStore(dst)
    assert store.record_kind == "whole" and store.max_side == 64
    rec, _ = store[0]
    assert rec["coeffs"].shape[1:] == (6, 8) and store.grids[0].tolist() == [6, 8]
    dec = decode_jpeg(path)
    sel = Selection.preset("dct64")
    start, errors, signal = 0, [], []
    for plane, ks in enumerate(sel.per_plane):
        got = rec["coeffs"][start : start + ks.size].astype(np.float64)
        q = rec["quant"][start : start + ks.size].astype(np.float64)[:, None, None]
        start += ks.size
        if plane >= len(dec.grids):
            assert not got.any()
            continue
        rv, rh = dec.repeat(plane)
        full = np.empty((64, *dec.grids[plane]), np.int16)
        dec.gather(plane, full, np.arange(64), top=0, left=0)
        values = full * dec.quant[plane].astype(np.float64)[:, None, None]
        h, w = 96 // rv, 128 // rh
        ref = resize_dct(values, (0, 0, w, h), (48 // rv, 64 // rh), image_size=(h, w))[ks]
        ref = np.repeat(np.repeat(ref, rv, axis=1), rh, axis=2)
        assert np.all(np.abs(got * q - ref) <= q / 2 + 1e-6), plane
        errors.append((got * q - ref).ravel())
        signal.append(ref.ravel())
    err, sig = np.concatenate(errors), np.concatenate(signal)
    # re-quantising is a JPEG re-encode's rounding at the file's quality (q90 here): about 4 %
    # relative RMS over all 64 frequencies, the high ones being mostly rounding
    assert np.sqrt(np.mean(err**2) / np.mean(sig**2)) < 0.06


def test_max_side_keeps_small_images_and_follows_ffcv_sizes(tmp_path: Path) -> None:
    root = tmp_path / "data" / "a"
    root.mkdir(parents=True)
    _jpeg(root / "big.jpg", (500, 375), "RGB", 2)
    _jpeg(root / "small.jpg", (100, 60), "RGB", 2)
    buf = io.BytesIO()
    Image.new("CMYK", (300, 150), (10, 20, 30, 40)).save(buf, "JPEG")
    (root / "cmyk.jpg").write_bytes(buf.getvalue())  # the fallback scales with Pillow
    convert(tmp_path / "data", tmp_path / "s", select=SELECT, size=64, max_side=256, progress=False)
    store = FreqStore(tmp_path / "s")
    assert max_side_size(375, 500, 256) == (192, 256)
    assert store.grids.tolist() == [[24, 32], [16, 32], [8, 13]]  # big, cmyk, small
    small, _ = store[2]
    want, _ = gather_coefficients(root / "small.jpg", SELECT, top=0, left=0, height=8, width=13)
    np.testing.assert_array_equal(small["coeffs"], want)
    assert verify(tmp_path / "s").ok


def test_settings_that_cannot_make_whole_records_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "data"
    (src / "a").mkdir(parents=True)
    (src / "a" / "x.jpg").symlink_to(sample_files()[0])
    for kw in (
        {"route": "jpeg", "layout": "whole"},
        {"route": "pixel", "layout": "whole"},
        {"dtype": "float16", "layout": "whole"},
        {"layout": "crop", "max_side": 256},
        {"layout": "bogus"},
        {"max_side": 4},
    ):
        with pytest.raises(InvalidArgumentError):
            convert(src, tmp_path / "never", progress=False, **kw)  # type: ignore[arg-type]


def test_cli_layout_and_max_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "data"
    (src / "a").mkdir(parents=True)
    for f in sample_files()[:2]:
        (src / "a" / f.name).symlink_to(f)
    p = argparse.ArgumentParser()
    convert_cli.register(p.add_subparsers())
    for name, extra in (("w", ["--layout", "whole"]), ("m", ["--max-side", "256"])):
        args = p.parse_args(
            ["convert", str(src), str(tmp_path / name), "--size", "64", "--no-progress", *extra]
        )
        assert convert_cli.run(args) == 0
        assert FreqStore(tmp_path / name).record_kind == "whole"
    assert FreqStore(tmp_path / "m").max_side == 256 and FreqStore(tmp_path / "w").max_side is None
    assert "store complete" in capsys.readouterr().out


def _shard(store_dir: Path) -> Path:
    return next(store_dir.glob("shard-*.fps"))


def test_corrupt_whole_shards_are_typed_errors(fixture_folder: Path, tmp_path: Path) -> None:
    dst = tmp_path / "s"
    convert(
        fixture_folder, dst, select=SELECT, size=32, layout="whole", dtype="int16", progress=False
    )
    assert verify(dst).ok
    shard = _shard(dst)
    original = shard.read_bytes()

    def grids_int64(h: dict) -> None:
        h["sections"]["grids"]["dtype"] = "<i8"

    def offsets_short(h: dict) -> None:
        h["sections"]["offsets"]["shape"] = [h["records"]]

    def coeffs_4d(h: dict) -> None:
        h["sections"]["coeffs"]["shape"] = [h["records"], 24, 4, 4]

    for edit, field in ((grids_int64, "grids"), (offsets_short, "offsets"), (coeffs_4d, "coeffs")):
        _edit_header(shard, edit)
        with pytest.raises(StoreSchemaError, match=field) as exc:
            FreqStore(dst)
        assert str(shard) in str(exc.value)
        shard.write_bytes(original)
    # a grid changed on disk (same size): the offsets no longer cut the records
    at = read_header(shard).sections["grids"]["offset"]
    damaged = bytearray(original)
    damaged[at : at + 4] = np.int32(999).tobytes()
    shard.write_bytes(bytes(damaged))
    with pytest.raises(StoreCorruptError, match="offsets") as exc2:
        FreqStore(dst)
    assert str(shard) in str(exc2.value)
    assert not verify(dst).ok
    shard.write_bytes(original)
    _edit_manifest(dst, lambda m: m.update(kind="quantized"))
    with pytest.raises(StoreSchemaError):
        FreqStore(dst)


def test_max_side_on_a_crop_manifest_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "data"
    (src / "a").mkdir(parents=True)
    (src / "a" / "x.jpg").symlink_to(sample_files()[0])
    convert(src, tmp_path / "s", select="dct6", size=16, progress=False)
    _edit_manifest(tmp_path / "s", lambda m: m.update(max_side=256))
    with pytest.raises(StoreSchemaError, match="max_side"):
        FreqStore(tmp_path / "s")


def test_windows_need_whole_records(tmp_path: Path) -> None:
    src = tmp_path / "data"
    (src / "a").mkdir(parents=True)
    (src / "a" / "x.jpg").symlink_to(sample_files()[0])
    convert(src, tmp_path / "c", select="dct6", size=16, progress=False)
    crop = FreqStore(tmp_path / "c")
    assert crop.grids is None
    with pytest.raises(InvalidArgumentError, match="layout='whole'"):
        crop.read_batch([0], windows=[(0, 0, False)])
    convert(src, tmp_path / "w", select="dct6", size=16, layout="whole", progress=False)
    with pytest.raises(InvalidArgumentError, match="windows must be"):
        FreqStore(tmp_path / "w").read_batch([0], windows=[(0, 0)])
