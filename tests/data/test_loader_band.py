"""FreqLoader(transform=..., transfer_frequencies="band"): fewer bytes, the measured error.

Band mode sends only the input frequencies :func:`freqpipe.transforms.band.select_band` finds
the kept channels need; the device stage puts them back among zeros. The reference is the
exact mode (all 64 frequencies), itself equal to the whole image's transform
(tests/data/test_loader_transform.py). What is checked here: the error on real photos stays
within what benchmarks/bench_band.py measured over all of ../shared/data/photos; every input
frequency that on its own moves a kept channel by more than that is sent (worked out from the
coefficients and the reference maths, not from the band's own estimate); the packed covers
hold exactly the band's values and count the bytes that cross; bad values are refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import freqpipe as fp
from freqpipe.data import FreqLoader, JpegFileList, SampleRng
from freqpipe.data._transformed import band_frequencies, cover_sizes
from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms import Selection
from freqpipe.transforms.dct import CenterCrop, Compose, DctBatch, RandomResizedCrop, Resize

#: The issue's bar (1 % of each kept channel's RMS in the image). Over all of the photos
#: (benchmarks/results/bench_band.json: 400 photos, 3 seeds of RandomResizedCrop(448) and (224),
#: Resize + CenterCrop) band mode's median is far below it but its worst case is above it
#: (2.4 % at RandomResizedCrop(448)), which is why it is not the default; these ten photos and
#: draws (fixed seeds) stay within it.
TOLERANCE = 0.01

TRAIN = Compose([RandomResizedCrop(448)])
EVAL = Compose([Resize(512), CenterCrop(448)])


@pytest.fixture(scope="module")
def some_photos(photos: list[Path]) -> JpegFileList:
    picked = photos[:: max(len(photos) // 10, 1)][:10]
    return JpegFileList(picked, list(range(len(picked))))


def _loader(files: JpegFileList, transform, mode: str, seed: int = 0, **kw) -> FreqLoader:
    return FreqLoader(
        files,
        batch_size=5,
        transform=transform,
        transfer_frequencies=mode,
        select="dct24",
        normalize=None,
        device="cpu",
        generator=torch.Generator().manual_seed(seed),
        **kw,
    )


def _channel_errors(exact: torch.Tensor, band: torch.Tensor) -> torch.Tensor:
    """Per image, the worst kept channel's RMS error relative to its RMS (zero channels out)."""
    ms_exact = exact.double().pow(2).mean((2, 3))
    ms_diff = (band - exact).double().pow(2).mean((2, 3))
    live = ms_exact > 0
    return torch.where(live, ms_diff / torch.where(live, ms_exact, 1.0), 0.0).sqrt().max(1).values


@pytest.mark.parametrize("transform", [TRAIN, EVAL], ids=["train-448", "eval-448"])
def test_band_within_the_measured_tolerance(some_photos, transform) -> None:
    exact = torch.cat([x for x, _ in _loader(some_photos, transform, "all", seed=3)])
    band = torch.cat([x for x, _ in _loader(some_photos, transform, "band", seed=3)])
    err = _channel_errors(exact, band)
    assert err.max() < TOLERANCE, err
    assert err.max() > 0  # frequencies were left out: not the exact mode by accident


def test_every_frequency_that_matters_on_its_own_is_sent(some_photos) -> None:
    """The band holds each input frequency whose own contribution exceeds the tolerance.

    Each frequency's contribution to the kept channels is rendered alone, from the whole
    image's coefficients through the reference transform, with the sample's own draws; the
    band the worker recorded for that sample must contain every one above the tolerance.
    Dropping the weakest frequency the band kept must move the output (it was not sent idly).
    """
    loader = _loader(some_photos, TRAIN, "band")
    source = loader._source
    slot = loader._stage.transfer.allocate(source.spec)
    seed, picked = 7, [0, 3]
    source.fill(slot, picked, SampleRng(seed, 0))
    wanted = [p.tolist() for p in Selection.preset("dct24").per_plane]
    checked = 0
    for pos, index in enumerate(picked):
        c = fp.read_coefficients(some_photos[index][0])
        whole = DctBatch.from_coefficients([c], dtype=torch.float64)
        exact = _render(whole, wanted, [seed, 0, index, 0])
        sent_y, sent_c = (set(band_frequencies(b).tolist()) for b in slot.arrays["band"][pos])
        for k in range(1, 64):
            only = DctBatch(
                [_only(p, k) for p in whole.planes], whole.factors, whole.extent, whole.rngs
            )
            part = _render(only, wanted, [seed, 0, index, 0])
            rel = part.pow(2).mean((1, 2)).sqrt() / exact.pow(2).mean((1, 2)).sqrt()
            assert rel[:16].max() <= TOLERANCE or k in sent_y, (index, k, float(rel[:16].max()))
            assert rel[16:].max() <= TOLERANCE or k in sent_c, (index, k, float(rel[16:].max()))
            checked += int(rel.max() > TOLERANCE)
    assert checked > 0  # some frequency besides the DC mattered: the check had teeth
    assert 1 < len(sent_y) < 64


def _only(plane: torch.Tensor, k: int) -> torch.Tensor:
    out = torch.zeros_like(plane)
    out[:, k] = plane[:, k]
    return out


def _render(batch: DctBatch, wanted: list[list[int]], key: list[int]) -> torch.Tensor:
    batch.rngs = [np.random.default_rng(key)]
    return torch.cat(TRAIN(batch).render(wanted), dim=1)[0]


def test_packed_band_holds_the_cover_values_and_counts_the_bytes(some_photos) -> None:
    exact_loader = _loader(some_photos, TRAIN, "all")
    band_loader = _loader(some_photos, TRAIN, "band")
    slots = {}
    for name, loader in (("all", exact_loader), ("band", band_loader)):
        slot = loader._stage.transfer.allocate(loader._source.spec)
        loader._source.fill(slot, [0, 1, 2], SampleRng(5, 0))
        slots[name] = slot
    a, b = slots["all"].arrays, slots["band"].arrays
    assert np.array_equal(a["blocks"][:3], b["blocks"][:3])  # the same crops: the same covers
    assert (a["band"][:3] == -1).all()  # exact mode: all 64 bits
    sizes = {
        m: cover_sizes(s.arrays["blocks"][:3], s.arrays["factors"][:3], s.arrays["band"][:3])
        for m, s in slots.items()
    }
    for name in ("luma", "chroma"):
        p = 0 if name == "luma" else 1
        assert slots["band"].view(name).size == sizes["band"][p].sum()  # what crosses
        assert slots["all"].view(name).size == sizes["all"][p].sum()
        assert sizes["band"][p].sum() < sizes["all"][p].sum()
    luma_all, luma_band = slots["all"].view("luma"), slots["band"].view("luma")
    at_all = at_band = 0
    for i in range(3):
        rows, cols = (int(v) for v in a["blocks"][i])
        # the decoder's layout: blocks row by row, each block's frequencies together
        cover = luma_all[at_all : at_all + 64 * rows * cols].reshape(rows, cols, 64)
        freqs = band_frequencies(b["band"][i, 0])
        n = len(freqs) * rows * cols
        assert np.array_equal(
            luma_band[at_band : at_band + n].reshape(rows, cols, -1), cover[..., freqs]
        )
        at_all, at_band = at_all + 64 * rows * cols, at_band + n


@pytest.mark.parametrize("value", ["exact", "BAND", None, 1])
def test_a_wrong_transfer_frequencies_value_is_refused(some_photos, value) -> None:
    with pytest.raises(InvalidArgumentError, match="transfer_frequencies must be one of") as info:
        _loader(some_photos, TRAIN, value)
    assert info.value.value == value


def test_band_needs_a_transform(some_photos) -> None:
    with pytest.raises(InvalidArgumentError, match="applies to transform="):
        FreqLoader(some_photos, batch_size=2, device="cpu", transfer_frequencies="band")
