"""verify catches damage; unreadable inputs land in rejects.tsv; CLI exit codes."""

from __future__ import annotations

import argparse
import csv
import warnings
from pathlib import Path

import numpy as np
import pytest

import freqpipe as fp
from freqpipe._cli import convert as convert_cli
from freqpipe._cli import verify as verify_cli
from freqpipe.store import FreqStore, convert, verify
from tests.conftest import conformance_manifest


@pytest.fixture()
def store(small_folder: Path, tmp_path: Path) -> Path:
    convert(small_folder, tmp_path / "s", select="dct6", size=32, shard_size=5, progress=False)
    return tmp_path / "s"


def _cli(module, *argv: str) -> int:  # type: ignore[no-untyped-def]
    p = argparse.ArgumentParser()
    module.register(p.add_subparsers())
    return int(module.run(p.parse_args(list(argv))))


def test_verify_ok(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert verify(store).ok
    assert _cli(verify_cli, "verify", str(store)) == 0
    assert "ok: 4 shard(s), 18 records" in capsys.readouterr().out


def test_verify_catches_flipped_byte(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shard = store / "shard-r0000-000001.fps"
    data = bytearray(shard.read_bytes())
    data[4096 + 7] ^= 0x01  # one bit of a coefficient
    shard.write_bytes(bytes(data))
    report = verify(store)
    assert (
        report.problems
        == [p for p in report.problems if "shard-r0000-000001.fps: blake2b checksum mismatch" in p]
        and len(report.problems) == 1
    )
    assert _cli(verify_cli, "verify", str(store)) == 1
    assert "checksum mismatch" in capsys.readouterr().err


def test_verify_catches_truncated_shard(store: Path) -> None:
    shard = store / "shard-r0000-000002.fps"
    shard.write_bytes(shard.read_bytes()[:5000])
    (problem,) = verify(store).problems
    assert "shard-r0000-000002.fps: 5000 bytes, manifest says" in problem
    with pytest.raises(fp.FreqpipeError, match="truncated"):
        FreqStore(store)


def test_verify_catches_missing_manifest_and_shard(store: Path) -> None:
    (store / "shard-r0000-000003.fps").unlink()
    assert verify(store).problems == ["shard-r0000-000003.fps: missing"]
    (store / "manifest.json").unlink()
    (problem,) = verify(store).problems
    assert "manifest.json is missing" in problem and "--resume" in problem


def test_verify_catches_label_out_of_range(store: Path) -> None:
    import json

    m = json.loads((store / "manifest.json").read_text())
    m["classes"] = m["classes"][:1]
    (store / "manifest.json").write_text(json.dumps(m))
    assert any("outside 0..0" in p for p in verify(store).problems)


def _pillow_reads(path: Path) -> bool:
    """What ImageFolder's default loader reads (``Image.open(f).convert("RGB")``)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return False
    return True


def test_conformance_corrupt_inputs_are_rejected(conformance_dir: Path, tmp_path: Path) -> None:
    rows = conformance_manifest()
    files = [conformance_dir / r["file"] for r in rows]
    lst = tmp_path / "list.txt"
    lst.write_text("".join(f"{f} {i % 3}\n" for i, f in enumerate(files)))
    expected_bad = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f in files:
            try:
                c = fp.read_coefficients(f)
                if c.colorspace not in ("ycbcr", "gray") and not _pillow_reads(f):
                    expected_bad.add(str(f))
                elif len(c.planes) == 3:  # exotic sampling (luma subsampled) cannot be aligned
                    fp.gather_blocks(c.planes, selection="dct6", top=0, left=0, height=1, width=1)
            except fp.UnsupportedJpegError:  # NotAJpegError too: ImageFolder's loader decides
                if not _pillow_reads(f):
                    expected_bad.add(str(f))
            except fp.FreqpipeError:
                expected_bad.add(str(f))
    assert (
        _cli(
            convert_cli,
            "convert",
            str(lst),
            str(tmp_path / "s"),
            "--select",
            "dct6",
            "--size",
            "64",
            "--shard-size",
            "16",
            "--no-progress",
        )
        == 0
    )
    with (tmp_path / "s" / "rejects.tsv").open() as f:
        rejected = list(csv.DictReader(f, delimiter="\t"))
    got_bad = {str(Path(r["path"]).resolve()) for r in rejected}
    assert got_bad == {str(Path(p).resolve()) for p in expected_bad}
    assert any("truncated" in r["path"] for r in rejected) and all(r["error"] for r in rejected)
    store = FreqStore(tmp_path / "s")
    assert len(store) == len(files) - len(expected_bad) and verify(tmp_path / "s").ok
    good = [i for i, f in enumerate(files) if str(f) not in expected_bad]
    np.testing.assert_array_equal(store.indices, good)
    np.testing.assert_array_equal(store.labels, [i % 3 for i in good])
