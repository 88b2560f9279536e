"""``freqpipe bench`` on the samples: every pipeline available here runs; JSON schema; bytes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import freqpipe as fp
from freqpipe.cli import main

SIZE = 224
# Theoretical bytes per image crossing to the device at 224 x 224 with chroma "upsample":
# coefficient channels x 28 x 28 int16, one uint16 quant value per channel, one int64 label.
GRID = (SIZE // 8) ** 2
EXPECTED_H2D = {
    "DataLoader + Pillow, float32": 3 * SIZE * SIZE * 4 + 8,
    "DataLoader + Pillow, uint8 (normalise on device)": 3 * SIZE * SIZE + 8,
    "FreqLoader coefficients dct24": 24 * GRID * 2 + 24 * 2 + 8,  # 16 Y + 4 Cb + 4 Cr
    "FreqLoader coefficients dct24, frequency-ordered files": 24 * GRID * 2 + 24 * 2 + 8,
    "FreqLoader coefficients dct64": 64 * GRID * 2 + 64 * 2 + 8,  # 44 + 10 + 10
    "FreqLoader coefficients all": 192 * GRID * 2 + 192 * 2 + 8,
    "FreqLoader pixels + fused DCT (DCTNet, dct24)": 3 * SIZE * SIZE
    + 8,  # uint8 crop, DCT on device
    "FreqStore dct24 whole, max side 256, int16 transfer": 24 * GRID * 2 + 24 * 2 + 8,
}
# The int8 transfer: each plane bit-packed at its own width with escapes, varying per batch;
# so between its fixed part (two bytes of meta per plane, the quant values, the label: the
# floor) and the int16 transfer's bytes.
INT8_FLOOR = {
    "FreqStore dct24 whole, max side 256, int8 transfer": 24 * 2 + 24 * 2 + 8,
    "FreqStore dct24 whole, full size, int8 transfer": 24 * 2 + 24 * 2 + 8,
    "FreqLoader coefficients dct24, half-resolution chroma, int8 transfer": 24 * 2 + 24 * 2 + 8,
}

# The peers: rows whether or not their libraries are installed (then saying why not).
PEER_ROWS = (
    "FFCV .beton JPEG q90 (max side 256) + RandomResizedCrop",
    "FFCV .beton raw (max side 256) + RandomResizedCrop",
    "SPDL decode + RandomResizedCrop (FFmpeg filters)",
    "DALI decode + RandomResizedCrop (rgb)",
)


@pytest.fixture(scope="module")
def bench_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    args = ["bench", "--seconds", "2", "--out", str(out), "--device", "cpu", "--size", str(SIZE)]
    assert main([*args, "--batch-size", "8", "--workers", "1"]) == 0
    return out


def test_results_json_schema(bench_out: Path) -> None:
    record = json.loads((bench_out / "results.json").read_text())
    assert record["format"] == "freqpipe.bench" and record["version"] == 1
    assert set(record) >= {"command", "data", "settings", "hardware", "versions", "results"}
    assert record["settings"]["size"] == SIZE and record["hardware"]["device"] == "cpu"
    keys = {
        "name",
        "images",
        "seconds",
        "images_per_s",
        "cpu_s_per_image",
        "h2d_bytes_per_image",
        "disk_bytes_per_image",
        "peak_rss_bytes",
        "skipped",
        "notes",
    }
    names = [r["name"] for r in record["results"]]
    assert set(EXPECTED_H2D) <= set(names)
    assert set(PEER_ROWS) <= set(names), "every peer has a row, run or not"
    for r in record["results"]:
        assert set(r) == keys
        if r["skipped"]:
            # only optional pipelines may be absent, and each says how to install what it needs
            assert r["name"].startswith(("DALI", "FFCV", "SPDL")), r["name"]
            assert "DALI" in r["skipped"] or "freqpipe[peers]" in r["skipped"], r["skipped"]
            continue
        assert r["images"] > 0 and r["images_per_s"] > 0 and r["cpu_s_per_image"] > 0
        assert r["peak_rss_bytes"] > 0 and r["disk_bytes_per_image"] > 0


def test_bytes_per_image_are_the_tensor_sizes(bench_out: Path) -> None:
    results = {
        r["name"]: r for r in json.loads((bench_out / "results.json").read_text())["results"]
    }
    for name, expected in EXPECTED_H2D.items():
        assert results[name]["h2d_bytes_per_image"] == expected, name
    for name in PEER_ROWS:  # the uint8 crop and the label, where the peer ran here
        if not results[name]["skipped"]:
            assert results[name]["h2d_bytes_per_image"] == 3 * SIZE * SIZE + 8, name
    int16 = EXPECTED_H2D["FreqStore dct24 whole, max side 256, int16 transfer"]
    for name, floor in INT8_FLOOR.items():
        assert floor <= results[name]["h2d_bytes_per_image"] < int16, name
    # The bench's stores hold whole images (their rows train with random crops): on disk, what
    # the same conversion writes per image, measured here on its own.
    for name, max_side in (("max side 256", 256), ("full size", None)):
        store = results[f"FreqStore dct24 whole, {name}, int8 transfer"]
        want = _whole_store_bytes(224, "dct24", max_side)
        assert store["disk_bytes_per_image"] == pytest.approx(want), name


def _whole_store_bytes(size: int, select: str, max_side: int | None) -> float:
    import tempfile

    import freqpipe as fp

    with tempfile.TemporaryDirectory() as d:
        fp.store.convert(
            fp.samples_path(),
            Path(d) / "s",
            select=select,
            size=size,
            layout="whole",
            max_side=max_side,
            progress=False,
        )
        files = [f for f in (Path(d) / "s").rglob("*") if f.is_file()]
        return sum(f.stat().st_size for f in files) / len(fp.FreqStore(Path(d) / "s"))


def test_plot_written(bench_out: Path) -> None:
    with Image.open(bench_out / "bench.png") as im:
        assert im.format == "PNG" and im.width >= 600


def test_cuda_without_gpu_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert main(["bench", "--device", "cuda", "--out", str(tmp_path)]) == 1
    assert "no CUDA device" in capsys.readouterr().err


def test_select_takes_a_selection_file(tmp_path: Path) -> None:
    from freqpipe.transforms import Selection

    sel = tmp_path / "sel.json"
    sel.write_text(Selection(y=[0, 1, 8], cb=[0], cr=[0]).to_json())
    out = tmp_path / "out"
    args = ["bench", "--seconds", "0.5", "--out", str(out), "--device", "cpu", "--size", "64"]
    assert main([*args, "--batch-size", "4", "--workers", "1", "--select", str(sel)]) == 0
    results = {r["name"]: r for r in json.loads((out / "results.json").read_text())["results"]}
    grid = (64 // 8) ** 2
    assert results["FreqLoader coefficients sel.json"]["h2d_bytes_per_image"] == (
        5 * grid * 2 + 5 * 2 + 8
    )
    int16 = results["FreqStore sel.json whole, max side 256, int16 transfer"]
    assert int16["h2d_bytes_per_image"] == 5 * grid * 2 + 5 * 2 + 8
    assert main([*args, "--select", str(tmp_path / "missing.json")]) != 0


def test_frequency_ordered_row_reads_the_reordered_copy(bench_out: Path) -> None:
    """Its disk bytes are the reordered files' (written untimed), not the originals'."""
    results = {
        r["name"]: r for r in json.loads((bench_out / "results.json").read_text())["results"]
    }
    ordered = results["FreqLoader coefficients dct24, frequency-ordered files"]
    original = results["FreqLoader coefficients dct24"]
    assert not ordered["skipped"]
    samples = [p for p, _ in fp.JpegFolder(fp.samples_path()).samples]
    expected = np.mean([len(fp.reorder_jpeg(p)) for p in samples])
    assert ordered["disk_bytes_per_image"] == pytest.approx(expected)
    assert ordered["disk_bytes_per_image"] != original["disk_bytes_per_image"]
