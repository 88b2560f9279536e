"""Issue 14 item 10: the Selection JSON ``freqpipe select`` writes is accepted everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from freqpipe import FreqStore
from freqpipe._samples import samples_path
from freqpipe.cli import main
from freqpipe.data import FreqLoader
from freqpipe.errors import SelectionError
from freqpipe.transforms import Selection


@pytest.fixture(scope="module")
def selection_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sel") / "sel.json"
    assert (
        main(
            [
                "select",
                str(samples_path()),
                "--out",
                str(out),
                "--steps",
                "2",
                "--size",
                "32",
                "--limit",
                "8",
                "--batch-size",
                "4",
                "--device",
                "cpu",
                "--model",
                "dct_resnet50",
            ]
        )
        == 0
    )
    return out


def test_loader_reads_the_file(selection_file: Path) -> None:
    sel = Selection.from_json(selection_file.read_text())
    for spec in (selection_file, str(selection_file)):
        loader = FreqLoader(
            samples_path(), batch_size=2, size=32, device="cpu", select=spec, normalize=None
        )
        assert loader.selection == sel
        assert next(iter(loader))[0].shape[1] == len(sel)


def test_convert_and_stats_read_the_file(selection_file: Path, tmp_path: Path) -> None:
    sel = Selection.from_json(selection_file.read_text())
    assert (
        main(
            [
                "convert",
                str(samples_path()),
                str(tmp_path / "st"),
                "--size",
                "32",
                "--select",
                str(selection_file),
                "--no-progress",
            ]
        )
        == 0
    )
    assert FreqStore(tmp_path / "st").selection == sel
    out = tmp_path / "stats.json"
    assert (
        main(
            [
                "stats",
                str(samples_path()),
                "--select",
                str(selection_file),
                "--size",
                "32",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert len(json.loads(out.read_text())["mean"]) == len(sel)


def test_bad_selection_file_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(SelectionError, match="bad.json"):
        Selection.from_spec(bad)
    with pytest.raises(SelectionError, match="missing.json"):
        Selection.from_spec(str(tmp_path / "missing.json"))


def test_select_and_verify_show_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s.json"
    assert (
        main(
            [
                "select",
                str(samples_path()),
                "--out",
                str(out),
                "--steps",
                "3",
                "--size",
                "32",
                "--limit",
                "8",
                "--batch-size",
                "4",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "3/3" in err and "loss=" in err and "kept=" in err and "/192" in err
    assert (
        main(
            [
                "convert",
                str(samples_path()),
                str(tmp_path / "st"),
                "--size",
                "16",
                "--shard-size",
                "3",
                "--no-progress",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "st")]) == 0
    err = capsys.readouterr().err
    assert "verify" in err and "3/3" in err and "shard" in err
    assert main(["verify", str(tmp_path / "st"), "--no-progress"]) == 0
    assert "shard/s" not in capsys.readouterr().err
