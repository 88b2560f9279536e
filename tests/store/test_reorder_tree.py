"""``freqpipe reorder`` / reorder_folder: same tree out, lossless, rejects, resume."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from freqpipe._samples import samples_path
from freqpipe.cli import main
from freqpipe.errors import InvalidArgumentError
from freqpipe.jpeg import prefix_lengths, read_coefficients, scan_table
from freqpipe.store import reorder_folder
from freqpipe.transforms import Selection


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(samples_path(), src)
    first = sorted(src.rglob("*.jp*g"))[0]
    (first.parent / "broken.JPG").write_bytes(first.read_bytes()[:2000])
    (first.parent / "notes.txt").write_text("not an image")
    return src


def _same_coefficients(a: Path, b: Path) -> bool:
    x, y = read_coefficients(a), read_coefficients(b)
    return all(np.array_equal(p, q) for p, q in zip(x.planes, y.planes))


def test_tree_is_reordered_losslessly_with_rejects(tree: Path, tmp_path: Path) -> None:
    dst = tmp_path / "dst"
    s = reorder_folder(tree, dst, workers=2, progress=False)
    originals = sorted(p for p in tree.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    assert s.reordered == len(originals) - 1 and s.rejected == 1 and s.skipped == 0
    for src in originals:
        out = dst / src.relative_to(tree)
        if src.name == "broken.JPG":
            assert not out.exists()
            continue
        table = scan_table(out.read_bytes())
        assert table is not None and table.progressive
        assert _same_coefficients(src, out)
    assert not (dst / sorted(tree.rglob("notes.txt"))[0].relative_to(tree)).exists()
    rejects = (dst / "rejects.tsv").read_text().splitlines()
    assert rejects[0] == "path\terror" and len(rejects) == 2
    assert rejects[1].split("\t")[0].endswith("broken.JPG")
    assert not list(dst.rglob("*.tmp"))


def test_resume_keeps_present_files_and_refuses_without_it(tree: Path, tmp_path: Path) -> None:
    dst = tmp_path / "dst"
    reorder_folder(tree, dst, progress=False)
    victim = sorted(dst.rglob("*.jpg"))[0]
    victim.unlink()
    with pytest.raises(InvalidArgumentError, match="resume"):
        reorder_folder(tree, dst, progress=False)
    s = reorder_folder(tree, dst, resume=True, progress=False)
    assert s.reordered == 1 and s.rejected == 1 and s.skipped == 7
    assert victim.is_file()


def test_cli_custom_order_and_exit_code(tree: Path, tmp_path: Path) -> None:
    sel = Selection(y=[0, 1, 2, 8, 9, 10], cb=[0, 1], cr=[0])
    spec = tmp_path / "sel.json"
    spec.write_text(sel.to_json())
    dst = tmp_path / "dst"
    order = f"dct6,{spec},all"
    code = main(["reorder", str(tree), str(dst), "--order", order, "--no-progress", "--strip"])
    assert code == 1  # one file rejected
    out = sorted(dst.rglob("*.jpg"))[0]
    data = out.read_bytes()
    a, b, c = prefix_lengths(data, ["dct6", sel, "all"])
    assert a < b < c == len(data)
    got = read_coefficients(data, components=[0, 1], freqs=[sel.per_plane[0], sel.per_plane[1]])
    assert got.bytes_read == b
    assert main(["reorder", str(tree), str(tmp_path / "x"), "--order", "nope.json"]) == 1
    assert main(["reorder", str(tmp_path / "missing"), str(tmp_path / "y")]) == 1


def test_restart_rows_reach_every_file_and_a_bad_value_stops_before_any(
    tree: Path, tmp_path: Path
) -> None:
    main(["reorder", str(tree), str(tmp_path / "rows"), "--no-progress"])
    main(["reorder", str(tree), str(tmp_path / "kept"), "--no-progress", "--restart-rows", "0"])
    rows, kept = (sorted((tmp_path / d).rglob("*.jpg")) for d in ("rows", "kept"))
    assert rows and len(rows) == len(kept)
    for a, b in zip(rows, kept):
        assert read_coefficients(a).restart_interval > 0 == read_coefficients(b).restart_interval
        assert _same_coefficients(a, b)
    assert main(["reorder", str(tree), str(tmp_path / "bad"), "--restart-rows", "-1"]) == 1
    assert not (tmp_path / "bad").exists()
