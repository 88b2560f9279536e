"""The peers of ``freqpipe bench``: rows that say why they cannot run; FFCV and SPDL when there."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from freqpipe._samples import samples_path
from freqpipe.bench import (
    BETON_MODES,
    Skip,
    SpdlLoader,
    ffcv_loader,
    measure,
    pipelines,
    write_betons,
)
from freqpipe.cli import main
from freqpipe.data import JpegFolder

SIZE = 64
PEERS = ("FFCV", "SPDL")


@pytest.fixture
def peers_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    """FFCV and SPDL unimportable, as where they are not installed (None blocks an import)."""
    for name in list(sys.modules):
        if name.startswith(("ffcv.", "spdl.")):
            monkeypatch.delitem(sys.modules, name)
    for name in ("ffcv", "spdl"):
        monkeypatch.setitem(sys.modules, name, None)


def test_absent_peers_write_no_beton_and_say_why(peers_absent: None, tmp_path: Path) -> None:
    written = write_betons(samples_path(), tmp_path, workers=1)
    assert set(written) == set(BETON_MODES)
    for why in written.values():
        assert why == (
            "ffcv not installed: pip install 'freqpipe[peers]'; it builds against "
            "libopencv-dev libturbojpeg0-dev pkg-config (apt-get)"
        )
    assert not list(tmp_path.iterdir())


def test_absent_peer_rows_are_listed_with_their_reasons(peers_absent: None, tmp_path: Path) -> None:
    betons = write_betons(samples_path(), tmp_path, workers=1)
    rows = pipelines(
        samples_path(), device="cpu", batch_size=4, workers=1, size=SIZE, betons=betons
    )
    peer_rows = [row for row in rows if row[0].startswith(PEERS)]
    assert len(peer_rows) == 3
    for name, make, disk, h2d in peer_rows:
        result = measure(
            name, make, seconds=0.1, disk_bytes_per_image=disk, h2d_bytes_per_image=h2d
        )
        assert result.skipped and "not installed: pip install 'freqpipe[peers]'" in result.skipped
        assert result.images == 0
    spdl = dict((r[0], r[1]) for r in peer_rows)["SPDL decode + RandomResizedCrop (FFmpeg filters)"]
    with pytest.raises(Skip, match="^spdl not installed"):
        spdl()


def test_ffcv_rows_without_betons_say_so() -> None:
    rows = pipelines(samples_path(), device="cpu", batch_size=4, workers=1, size=SIZE)
    for name, make, *_ in rows:
        if name.startswith("FFCV"):
            with pytest.raises(Skip, match="no .beton was written"):
                make()


def test_no_peers_leaves_their_rows_out(tmp_path: Path) -> None:
    import json

    args = ["bench", "--seconds", "0.2", "--out", str(tmp_path), "--device", "cpu"]
    assert (
        main([*args, "--size", str(SIZE), "--batch-size", "4", "--workers", "1", "--no-peers"]) == 0
    )
    record = json.loads((tmp_path / "results.json").read_text())
    assert record["settings"]["peers"] is False
    names = [r["name"] for r in record["results"]]
    assert names and not any(n.startswith(PEERS) or "RandomResizedCrop" in n for n in names)
    assert not list(tmp_path.glob("*.beton"))


# --- the peers themselves, where they are installed (`pip install 'freqpipe[peers]'`) ----------


def _labels() -> list[int]:
    return sorted(label for _, label in JpegFolder(samples_path()).samples)


def test_ffcv_betons_and_loader(tmp_path: Path) -> None:
    pytest.importorskip("ffcv", reason="FFCV is not installed (freqpipe[peers])")
    written = write_betons(samples_path(), tmp_path, workers=1)
    n = len(_labels())
    for mode in BETON_MODES:
        beton = written[mode]
        assert isinstance(beton, Path) and beton.stat().st_size > 0, beton
        loader = ffcv_loader(beton, batch_size=3, workers=1, size=SIZE, device="cpu")
        batches = list(loader)
        x, y = batches[0]
        assert x.shape == (3, 3, SIZE, SIZE) and x.dtype == torch.uint8
        assert sorted(torch.cat([b[1] for b in batches]).tolist()) == _labels()
        assert sum(len(b[1]) for b in batches) == n  # drop_last=False: every image
        assert int(x.max()) > int(x.min())  # pixels, not an empty buffer


def test_spdl_loader_batches_crops_and_seeds() -> None:
    pytest.importorskip("spdl.io", reason="SPDL is not installed (freqpipe[peers])")
    samples = JpegFolder(samples_path()).samples
    try:
        loader = SpdlLoader(samples, size=SIZE, batch_size=3, workers=2)
    except Skip as why:  # installed, but Debian's FFmpeg 5.1 libraries are not
        pytest.skip(str(why))
    assert len(loader) == -(-len(samples) // 3)

    def epoch(seed: int) -> tuple[list[int], list[bytes]]:
        torch.manual_seed(seed)
        batches = list(loader)
        assert all(x.shape[1:] == (3, SIZE, SIZE) and x.dtype == torch.uint8 for x, _ in batches)
        labels = sorted(int(v) for _, y in batches for v in y)
        # batches come in completion order, which varies with the threads: compare as sets
        images = sorted(img.contiguous().numpy().tobytes() for x, _ in batches for img in x)
        return labels, images

    labels, images = epoch(0)
    assert labels == _labels()
    assert images == epoch(0)[1], "torch.manual_seed makes the crops reproducible"
    assert images != epoch(1)[1], "another seed, other crops"
