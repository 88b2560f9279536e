"""``freqpipe demo``: runs on a CPU machine, writes its figure, and its reconstruction is right."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import freqpipe as fp
from freqpipe._cli.demo import psnr, reconstruct
from freqpipe.cli import main
from freqpipe.transforms import Selection
from freqpipe.transforms.dct_pipeline import image_to_dct192


def test_demo_exits_zero_and_writes_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo.png"
    assert main(["demo", "--out", str(out), "--size", "224"]) == 0
    printed = capsys.readouterr().out
    assert "[read]" in printed and "[select]" in printed and "[draw]" in printed
    with Image.open(out) as im:
        assert im.format == "PNG" and im.width > 500 and im.height > 500


def test_reconstruction_from_all_channels_is_the_image() -> None:
    with Image.open(fp.sample_files()[2]) as im:
        rgb = np.asarray(im.convert("RGB"))[:64, :64]
    coeffs = image_to_dct192(rgb)
    everything = reconstruct(coeffs, Selection.preset("all"))
    # YCbCr is computed unrounded, so the only loss is uint8 rounding in two conversions.
    assert np.abs(everything.astype(int) - rgb.astype(int)).max() <= 2
    fewer = [
        psnr(reconstruct(coeffs, Selection.preset(p)), rgb) for p in ("dct6", "dct24", "dct64")
    ]
    assert fewer == sorted(fewer) and fewer[0] > 15
