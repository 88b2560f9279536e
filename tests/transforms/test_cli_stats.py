from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pytest

from freqpipe._cli import stats as cli
from freqpipe._samples import sample_files
from freqpipe.jpeg.pixels import load_center_crop
from freqpipe.transforms import (
    ChannelStats,
    Selection,
    center_crop_box,
    image_to_dct192,
    resize_shape,
)
from tests.tolerances import assert_close


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="freqpipe")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["stats", *argv])


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    files = sample_files()[:2]
    (tmp_path / "a" / "b").mkdir(parents=True)
    shutil.copy(files[0], tmp_path / "a" / "one.jpg")
    shutil.copy(files[1], tmp_path / "a" / "b" / "TWO.JPEG")
    (tmp_path / "a" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (tmp_path / "notes.txt").write_text("ignored")
    return tmp_path


def test_run_writes_stats_and_skips_broken(photo_dir, tmp_path, capsys):
    out = tmp_path / "out" / "stats.json"
    args = parse(
        str(photo_dir), "--select", "dct6", "--size", "64", "--out", str(out), "--no-progress"
    )
    assert args.func is cli.run
    assert cli.run(args) == 0
    err = capsys.readouterr()
    assert "1 skipped" in err.out and "broken.jpg" in err.err
    stats = ChannelStats.load(out)
    assert stats.selection == Selection.preset("dct6")
    assert stats.count == 2 * 8 * 8
    # the same numbers computed by hand through the documented route: the evaluation crop
    ref = ChannelStats("dct6")
    for f in (photo_dir / "a" / "b" / "TWO.JPEG", photo_dir / "a" / "one.jpg"):
        dct = image_to_dct192(load_center_crop(f, 64))
        ref.update(Selection.preset("dct6").select(dct)[None])
    # float64 sums of float32 DCTs: float32 is the precision of the computation
    assert_close(stats.mean, ref.mean, precision=np.float32)
    assert_close(stats.std, ref.std, precision=np.float32)


def test_run_per_image_and_limit(photo_dir, tmp_path):
    out = tmp_path / "s.json"
    args = parse(
        str(photo_dir),
        "--size",
        "64",
        "--out",
        str(out),
        "--convention",
        "per_image",
        "--limit",
        "1",
        "--no-progress",
    )
    assert cli.run(args) == 0
    stats = ChannelStats.load(out)
    assert stats.convention == "per_image" and stats.count == 1 and stats.channels == 24


def test_run_bad_arguments(photo_dir, tmp_path, capsys):
    out = str(tmp_path / "s.json")
    assert cli.run(parse(str(photo_dir), "--select", "dct7", "--out", out)) == 2
    assert "dct24" in capsys.readouterr().err
    assert cli.run(parse(str(photo_dir), "--size", "60", "--out", out)) == 2
    assert cli.run(parse(str(tmp_path / "missing"), "--out", out)) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.run(parse(str(empty), "--out", out)) == 2


def test_iter_jpegs_is_recursive_and_case_insensitive(photo_dir):
    names = sorted(p.name for p in cli.iter_jpegs(photo_dir))
    assert names == ["TWO.JPEG", "broken.jpg", "one.jpg"]


def test_stats_crop_is_pillows_resize_and_centre_crop_at_full_decode():
    # At 448 every sample is decoded at full size (the resize enlarges), so the evaluation crop
    # the statistics use is DCTNet's Pillow route: resize the short side to 512, centre-crop.
    # Both decoders are libjpeg-turbo (system and Pillow's bundled copy): measured identical.
    from PIL import Image

    for f in sample_files():
        crop = load_center_crop(f, 448)
        with Image.open(f) as im:
            rgb = im.convert("RGB")
        rh, rw = resize_shape(rgb.height, rgb.width, 448)
        assert min(rh, rw) == 512
        resized = np.asarray(rgb.resize((rw, rh), Image.Resampling.BILINEAR))
        top, left = center_crop_box(rh, rw, 448)
        assert crop.dtype == np.uint8 and crop.shape == (448, 448, 3)
        np.testing.assert_array_equal(crop, resized[top : top + 448, left : left + 448])
