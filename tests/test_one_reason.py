"""Issue 14 items 8 and 9: hints name options that exist; one file gives one reason everywhere."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import freqpipe as fp
from freqpipe._samples import sample_files
from freqpipe.cli import main
from freqpipe.data import FreqLoader, JpegFileList
from freqpipe.errors import CorruptJpegError, CorruptJpegWarning, FileMissingError, FreqpipeError

#: libjpeg-turbo fails on these too (MANIFEST.tsv: Pillow's decode FAILs): nothing to recover.
FATAL = ["zune-image/fuzz-corpus__jpeg__issue389.jpg", "zune-image/fuzz-corpus__jpeg__issue256.jpg"]


@pytest.fixture()
def truncated(tmp_path: Path) -> Path:
    """A photo cut in the middle of its scan: the header is intact."""
    data = sample_files()[0].read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    return path


def test_strict_false_recovers_what_the_hint_promises(truncated: Path) -> None:
    with pytest.raises(CorruptJpegError, match="strict=False") as info:
        fp.read_coefficients(truncated)
    assert info.value.recoverable
    with pytest.warns(CorruptJpegWarning):
        c = fp.read_coefficients(truncated, strict=False)
    assert c.planes[0].any() and not c.planes[0][-1].any()  # top decoded, the missing rows zero


@pytest.mark.parametrize("name", FATAL)
def test_no_strict_hint_where_strict_false_cannot_help(conformance_dir: Path, name: str) -> None:
    for strict in (True, False):
        with pytest.raises(CorruptJpegError) as info:
            fp.read_coefficients(conformance_dir / name, strict=strict)
        assert "strict" not in str(info.value) and not info.value.recoverable


def test_loader_hint_names_its_own_options(truncated: Path) -> None:
    ds = JpegFileList([truncated], [0])
    with pytest.raises(CorruptJpegError) as info:
        next(iter(FreqLoader(ds, size=32, device="cpu")))
    message = str(info.value)
    assert "pass strict=False" in message and "on_error='skip'" in message
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorruptJpegWarning)
        x, _ = next(iter(FreqLoader(ds, size=32, device="cpu", strict=False)))  # it exists
    assert x.shape == (1, 24, 4, 4)


def test_one_reason_and_offset_everywhere(
    truncated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(CorruptJpegError) as info:
        fp.read_coefficients(truncated)
    reader = fp.errors.file_reason(info.value)
    assert info.value.offset is not None and f"(byte {info.value.offset})" in reader
    loader = FreqLoader(
        JpegFileList([truncated, sample_files()[1]], [0, 1]),
        batch_size=2,
        size=32,
        device="cpu",
        on_error="skip",
    )
    next(iter(loader))
    assert loader.bad_files == [(str(truncated), reader)]
    with pytest.raises(CorruptJpegError) as raised:
        next(iter(FreqLoader(JpegFileList([truncated], [0]), size=32, device="cpu")))
    assert f"{truncated} (byte {info.value.offset}): {info.value.reason}" in str(raised.value)
    assert main(["inspect", "--json", str(truncated)]) == 1
    (record,) = json.loads(capsys.readouterr().out)
    assert record["file"] == str(truncated) and record["error"]["error"] == reader
    assert record["width"] == 640 and record["frame"] == "baseline"  # the header still shows
    assert record["error"]["hint"] == "pass --no-strict to see what libjpeg recovers"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorruptJpegWarning)
        assert main(["inspect", "--json", "--no-strict", str(truncated)]) == 0
    capsys.readouterr()
    src = tmp_path / "src" / "a"
    src.mkdir(parents=True)
    (src / "cut.jpg").write_bytes(truncated.read_bytes())
    (src / "ok.jpg").write_bytes(sample_files()[1].read_bytes())
    assert (
        main(
            [
                "convert",
                str(tmp_path / "src"),
                str(tmp_path / "st"),
                "--size",
                "32",
                "--no-progress",
            ]
        )
        == 0
    )
    rejects = (tmp_path / "st" / "rejects.tsv").read_text().splitlines()[1:]
    assert [r.split("\t")[2] for r in rejects] == [f"CorruptJpegError: {reader}"]
    manifest = json.loads((tmp_path / "st" / "manifest.json").read_text())
    assert (
        manifest["command"].startswith("freqpipe convert ")
        and "convert convert" not in (manifest["command"])
    )


def test_inspect_names_files_directories_and_missing_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = sample_files()[0]
    assert main(["inspect", "--json", str(good)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["file"] == str(good)
    assert main(["inspect", str(tmp_path)]) == 1
    assert "is a directory" in capsys.readouterr().err
    missing = tmp_path / "missing.jpg"
    with pytest.raises(FileMissingError) as info:
        fp.read_coefficients(missing)
    assert isinstance(info.value, FreqpipeError) and isinstance(info.value, FileNotFoundError)
    assert main(["inspect", str(missing)]) == 1
    assert "FileMissingError: no such file" in capsys.readouterr().err


def test_cli_errors_hint_no_python_option(
    truncated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["demo", "--image", str(truncated), "--out", str(truncated.with_suffix(".png"))]) == 1
    )
    err = capsys.readouterr().err
    assert f"{truncated} (byte " in err and "Premature end" in err and "strict=False" not in err
