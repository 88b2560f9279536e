"""``freqpipe inspect`` against the reader and against an independent header parse (Pillow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import freqpipe as fp
from freqpipe.cli import main
from freqpipe.jpeg import read_coefficients
from tests.jpeg.fixtures import encoded_fixtures


def test_inspect_json_agrees_with_reader_and_pillow(capsys: pytest.CaptureFixture[str]) -> None:
    sample = fp.sample_files()[0]
    assert main(["inspect", "--json", str(sample)]) == 0
    (info,) = json.loads(capsys.readouterr().out)
    c = read_coefficients(sample)
    with Image.open(sample) as im:
        assert (info["width"], info["height"]) == im.size
        # Pillow 8.3+ reports quantization tables in natural order, as libjpeg holds them.
        quant = np.array(info["components"][0]["quant"]).reshape(64)
        np.testing.assert_array_equal(quant, np.array(im.quantization[0]))
        np.testing.assert_array_equal(quant, c.quant[0])
    assert info["subsampling"] == "4:2:0" and info["frame"] == "baseline"
    y = info["components"][0]
    nonzero = np.array(y["nonzero_fraction"]).reshape(64)
    expected = (c.planes[0].reshape(-1, 64) != 0).mean(axis=0)
    np.testing.assert_allclose(nonzero, expected, atol=1e-4)
    energy = np.array(y["energy"]).reshape(64)
    deq = c.dequantized()[0].reshape(-1, 64).astype(np.float64)
    np.testing.assert_allclose(energy, (deq**2).mean(axis=0), atol=0.01)


def test_inspect_progressive_scan_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name, data = next(f for f in encoded_fixtures() if f[0] == "pillow-420-progressive")
    path = tmp_path / f"{name}.jpg"
    path.write_bytes(data)
    assert main(["inspect", "--json", str(path)]) == 0
    (info,) = json.loads(capsys.readouterr().out)
    assert info["progressive"] and info["frame"] == "progressive"
    assert len(info["scans"]) == read_coefficients(path).scans > 1
    assert info["scans"][0]["Ss"] == 0 and info["scans"][0]["Se"] == 0  # DC first


def test_inspect_text_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg at all")
    name, data = encoded_fixtures()[-1]
    good = tmp_path / "ok.jpg"
    good.write_bytes(data)
    rc = main(["inspect", str(good), str(bad)])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "restart" in out and "fraction of nonzero" in out
    assert "broken.jpg" in err and "NotAJpegError" in err


def test_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "freqpipe.cli", "inspect", str(fp.sample_files()[1])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "4:2:0" in result.stdout


def test_inspect_lists_what_each_prefix_of_a_reordered_file_completes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from freqpipe import reorder_jpeg
    from freqpipe.jpeg import prefix_lengths

    _, data = next(f for f in encoded_fixtures() if f[0] == "pillow-420")
    out = reorder_jpeg(data)
    path = tmp_path / "reordered.jpg"
    path.write_bytes(out)
    assert main(["inspect", "--json", str(path)]) == 0
    (info,) = json.loads(capsys.readouterr().out)
    done = {name: s["end"] for s in info["scans"] for name in s["completes"]}
    presets = ["dct6", "dct24", "dct32", "dct48", "dct64", "all"]
    assert set(done) == set(presets)
    # The bytes a reader needs for each preset (the whole file for the last scan's).
    expected = prefix_lengths(out, presets)
    assert [done[p] if done[p] < info["scans"][-1]["end"] else len(out) for p in presets] == (
        expected
    )
    assert [(s["Ss"], s["Se"]) for s in info["scans"][:2]] == [(0, 0), (1, 4)]
    assert main(["inspect", str(path)]) == 0
    text = capsys.readouterr().out
    assert "completes dct6" in text and "read)" in text
