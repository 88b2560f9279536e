from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pytest

from freqpipe._cli import stats as cli
from freqpipe._samples import sample_files
from freqpipe.jpeg import load_resized_rgb
from freqpipe.transforms import ChannelStats, Selection, image_to_dct192
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
    args = parse(str(photo_dir), "--select", "dct6", "--size", "64", "--out", str(out),
                 "--no-progress")  # fmt: skip
    assert args.func is cli.run
    assert cli.run(args) == 0
    err = capsys.readouterr()
    assert "1 skipped" in err.out and "broken.jpg" in err.err
    stats = ChannelStats.load(out)
    assert stats.selection == Selection.preset("dct6")
    assert stats.count == 2 * 8 * 8
    # the same numbers computed by hand through the documented route
    ref = ChannelStats("dct6")
    for f in (photo_dir / "a" / "b" / "TWO.JPEG", photo_dir / "a" / "one.jpg"):
        dct = image_to_dct192(load_resized_rgb(f, 64), 64)
        ref.update(Selection.preset("dct6").select(dct)[None])
    # float64 sums of float32 DCTs: float32 is the precision of the computation
    assert_close(stats.mean, ref.mean, precision=np.float32)
    assert_close(stats.std, ref.std, precision=np.float32)


def test_run_per_image_and_limit(photo_dir, tmp_path):
    out = tmp_path / "s.json"
    args = parse(str(photo_dir), "--size", "64", "--out", str(out), "--convention", "per_image",
                 "--limit", "1", "--no-progress")  # fmt: skip
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


def test_load_resized_rgb_resizes_short_side():
    rgb = load_resized_rgb(sample_files()[0], 448)
    assert rgb.dtype == np.uint8 and min(rgb.shape[:2]) == 512 and rgb.shape[2] == 3
