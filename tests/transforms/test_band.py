"""The band a DCT-domain resize needs (freqpipe.transforms.band): its gains and its choice."""

from __future__ import annotations

import numpy as np
import pytest

from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms.band import axis_gains, band_energy, select_band
from freqpipe.transforms.resize import dct_resize_matrix

DCT24_Y = [8 * v + u for v in range(4) for u in range(4)]


def test_gains_are_the_reference_matrices_squared() -> None:
    """At a tabulated scale, one box's per-block energy gains agree with the table's average.

    The table averages a few sub-pixel positions of the box; the box here is at another one,
    which moves single gains by up to about 0.1 but hardly how much of a flat spectrum
    reaches the low output frequencies (dct24's luma: 0..3).
    """
    t = dct_resize_matrix((19.0, 19.0 + 128.0), 180, 64)  # scale 2
    one = (t**2).reshape(8, 8, -1, 8).sum(axis=2).mean(axis=0)
    table = axis_gains(2.0)
    assert np.allclose(one[:4].sum(axis=1), table[:4].sum(axis=1), rtol=0.05)


def test_zooming_in_needs_more_input_frequencies() -> None:
    energy = 1e4 / (1.0 + np.add.outer(np.arange(8), np.arange(8)).ravel()) ** 2
    sent = [int(select_band([energy], [DCT24_Y], (s, s)).sum()) for s in (4.0, 2.0, 1.0, 0.5)]
    assert sent == sorted(sent) and sent[0] < sent[-1] == 64


def test_zero_energy_sends_the_dc_and_no_tolerance_sends_what_contributes() -> None:
    assert select_band([np.zeros(64)], [DCT24_Y], (1.0, 1.0)).tolist() == [True] + [False] * 63
    energy = np.ones(64)
    band = select_band([energy], [DCT24_Y], (0.5, 0.5), tolerance=0.0)
    gv = axis_gains(0.5)
    reaches = (gv[:4].max(axis=0)[:, None] * gv[:4].max(axis=0)[None, :]).ravel() > 0
    assert np.array_equal(band, reaches | (np.arange(64) == 0))


def test_energy_is_dequantised_and_bad_arguments_are_refused() -> None:
    q = np.zeros((64, 2, 3), np.int16)
    q[5] = 2
    assert band_energy(q, np.full(64, 4))[5] == 6 * 64.0
    with pytest.raises(InvalidArgumentError):
        select_band([np.ones(64)], [], (1.0, 1.0))
    with pytest.raises(InvalidArgumentError):
        axis_gains(0.0)


def test_energy_of_the_decoders_layout_equals_channel_first() -> None:
    q = np.random.default_rng(2).integers(-300, 300, (64, 5, 7)).astype(np.int16)
    quant = np.arange(1, 65)
    last = np.ascontiguousarray(q.transpose(1, 2, 0))
    assert np.array_equal(band_energy(last, quant, channel_axis=-1), band_energy(q, quant))
    assert np.array_equal(
        band_energy(last[1:4, 2:], quant, channel_axis=2), band_energy(q[:, 1:4, 2:], quant)
    )
    with pytest.raises(InvalidArgumentError, match="channel_axis"):
        band_energy(q, quant, channel_axis=1)
