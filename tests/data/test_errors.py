"""Bad-file policies on the shared conformance files (and self-made bad bytes)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from freqpipe.data import BadFileWarning, FreqLoader, JpegFileList
from freqpipe.errors import CorruptJpegError, FreqpipeError
from tests.conftest import conformance_manifest

BROKEN = [
    "pillow/truncated_jpeg.jpg",
    "zune-image/incomplete_image.jpg",
    "zune-image/fuzz-corpus__jpeg__issue389.jpg",
    "libjpeg-turbo/monkey12.jpg",
]


def _mixed(files: list[Path], bad: list[Path | bytes]) -> JpegFileList:
    items: list[Path | bytes] = [files[0], bad[0], files[1], *bad[1:], files[2]]
    return JpegFileList(items, list(range(len(items))))


def test_raise_names_the_file(conformance_dir: Path, files: list[Path]) -> None:
    assert conformance_manifest()
    bad = conformance_dir / BROKEN[0]
    loader = FreqLoader(_mixed(files, [bad]), batch_size=4, size=32, device="cpu")
    with pytest.raises(CorruptJpegError) as info:
        next(iter(loader))
    assert str(bad) in str(info.value) and info.value.source == str(bad)


@pytest.mark.parametrize("workers", [0, 2])
def test_skip_keeps_batch_size_deterministically(
    conformance_dir: Path, files: list[Path], workers: int
) -> None:
    bad = [conformance_dir / b for b in BROKEN]
    ds = _mixed(files, bad)

    def run() -> tuple[list[list[int]], int]:
        loader = FreqLoader(
            ds,
            batch_size=4,
            size=32,
            device="cpu",
            on_error="skip",
            num_workers=workers,
            shuffle=True,
            generator=torch.Generator().manual_seed(0),
        )
        labels = [y.tolist() for _, y in loader]
        return labels, loader.skipped

    labels, skipped = run()
    assert [len(b) for b in labels] == [4, 3]
    assert skipped >= len(bad)
    assert run() == (labels, skipped)
    good = {0, 2, len(ds) - 1}
    assert set(itertools.chain(*labels)) <= good


def test_warn_and_bytes_items(files: list[Path]) -> None:
    ds = _mixed(files, [b"not a jpeg at all"])
    g = torch.Generator().manual_seed(0)
    loader = FreqLoader(ds, batch_size=4, size=32, device="cpu", on_error="warn", generator=g)
    with pytest.warns(BadFileWarning, match="<bytes of item 1>"):
        x, y = next(iter(loader))
    assert x.shape[0] == 4 and loader.skipped >= 1  # a replacement may be the bad item again
    assert loader.bad_files[0][0] == "<bytes of item 1>"
    with pytest.raises(FreqpipeError, match="<bytes of item 1>"):
        next(iter(FreqLoader(ds, batch_size=4, size=32, device="cpu")))


def test_pixel_source_errors(files: list[Path], tmp_path: Path) -> None:
    missing = tmp_path / "missing.jpg"
    ds = JpegFileList([files[0], missing, b"\x00\x01garbage"], [0, 1, 2])
    with pytest.raises(FreqpipeError, match="missing.jpg"):
        next(iter(FreqLoader(ds, batch_size=3, size=32, device="cpu", output="rgb")))
    loader = FreqLoader(ds, batch_size=3, size=32, device="cpu", output="rgb", on_error="skip")
    x, y = next(iter(loader))
    assert y.tolist() == [0, 0, 0] and loader.skipped >= 2  # replacements may be bad too
    all_bad = JpegFileList([missing], [0])
    with pytest.raises(FreqpipeError, match="no readable replacement"):
        next(iter(FreqLoader(all_bad, size=32, device="cpu", on_error="skip")))
