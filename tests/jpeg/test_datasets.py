"""JpegFolder labels as torchvision's ImageFolder; JpegFileList."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from freqpipe._samples import samples_path
from freqpipe.errors import InvalidArgumentError
from freqpipe.jpeg.datasets import JpegFileList, JpegFolder


def _image_folder_by_hand(root: Path) -> list[tuple[str, int]]:
    """torchvision's find_classes + make_dataset, written out (the reference ordering)."""
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir())
    out = []
    for label, name in enumerate(classes):
        for dirpath, _, fnames in sorted(os.walk(root / name, followlinks=True)):
            for f in sorted(fnames):
                if f.lower().endswith((".jpg", ".jpeg")):
                    out.append((os.path.join(dirpath, f), label))
    return out


def _tree(root: Path) -> None:
    for rel in [
        "b_class/z.JPG",
        "b_class/a.jpeg",
        "b_class/sub/m.jpg",
        "b_class/notes.txt",
        "A_class/x.JpEg",
        "A_class/y.png",
        "c/only.jpg",
        "c/deeper/more/k.JPEG",
    ]:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"\xff\xd8")


def test_labels_and_order_match_image_folder(tmp_path: Path) -> None:
    _tree(tmp_path)
    ds = JpegFolder(tmp_path)
    assert ds.classes == ["A_class", "b_class", "c"]
    assert ds.samples == _image_folder_by_hand(tmp_path)
    assert [ds[i] for i in range(len(ds))] == ds.samples
    assert ds.targets == [label for _, label in ds.samples]
    assert ds.class_to_idx == {"A_class": 0, "b_class": 1, "c": 2}


def test_bundled_samples() -> None:
    ds = JpegFolder(samples_path())
    assert ds.samples == _image_folder_by_hand(samples_path())
    assert len(ds) == 8 and len(ds.classes) == 6


def test_empty_root_and_empty_class_raise_like_image_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        JpegFolder(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "a.jpg").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes empty"):
        JpegFolder(tmp_path)
    assert len(JpegFolder(tmp_path, allow_empty=True)) == 1


def test_file_list(tmp_path: Path) -> None:
    ds = JpegFileList(["a.jpg", b"\xff\xd8"], [1, 2])
    assert ds[0] == ("a.jpg", 1) and ds[1] == (b"\xff\xd8", 2)
    with pytest.raises(InvalidArgumentError):
        JpegFileList(["a.jpg"], [1, 2])
    (tmp_path / "list.txt").write_text("# header\nx/a b.jpg 3\n\nc.jpg 0\n")
    ds = JpegFileList.from_text(tmp_path / "list.txt")
    assert ds.files == [str(tmp_path / "x/a b.jpg"), str(tmp_path / "c.jpg")]
    assert ds.targets == [3, 0]
    (tmp_path / "bad.txt").write_text("nolabel\n")
    with pytest.raises(InvalidArgumentError):
        JpegFileList.from_text(tmp_path / "bad.txt")
