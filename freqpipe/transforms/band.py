"""Which input frequencies a DCT-domain resize needs: the band a transfer may leave out.

A resized crop's kept output frequencies ``f`` come from input frequencies ``k`` through the
per-axis matrices ``T = B_out R U B_inᵀ`` (:mod:`freqpipe.transforms.resize`). Two facts set
the band:

- **Scale.** A pattern of ``k / 16`` cycles per input sample lands at ``k / s`` output
  frequency when the box is ``s`` input samples per output sample. Zooming out (``s > 1``,
  the box shrunk to the output) maps input ``k`` to a lower output frequency, so the kept
  output band needs input frequencies up to about ``f s`` only; zooming in (``s < 1``) needs
  input frequencies up to ``f / s``: more than the output keeps, all eight per axis below
  ``s`` of about 1/2 for dct24's luma.
- **Blocks.** Truncating the highest frequencies of each input block is not a low-pass filter
  of the image: what is left out has steps at the input blocks' edges, and output blocks are
  not aligned with input blocks, so some of it reaches every output frequency (about ``1 / k``
  of the left-out amplitude for odd ``k``). How much depends on how much energy the image has
  at those frequencies.

So the band is chosen per image from both: :func:`axis_gains` tabulates, from the reference
matrices, the mean-square gain ``G[f, k]`` of input frequency ``k`` into output frequency ``f``
along one axis at scale ``s`` (averaged over output blocks and sub-pixel offsets of the box);
:func:`select_band` weighs it with the energy the image's cover has at each input frequency
and leaves out the frequencies whose estimated share of every kept output channel's energy,
summed, stays within ``tolerance²``. The estimate treats blocks as uncorrelated; the loader's
measured error (``benchmarks/bench_band.py``) is what decides whether that is good enough.

Example:
    >>> energy = np.zeros(64); energy[0] = 1e6; energy[63] = 1.0
    >>> band = select_band([energy], [[0, 1, 8, 9]], (1.0, 1.0), factor=(1, 1), tolerance=0.01)
    >>> bool(band[0]), bool(band[63]), int(band.sum())
    (True, False, 1)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms.resize import dct_resize_matrix

__all__ = ["BAND_TOLERANCE", "axis_gains", "band_energy", "select_band"]

#: The estimated error the loader's band mode allows on each kept channel, relative to that
#: channel's RMS (``FreqLoader(transfer_frequencies="band")``).
BAND_TOLERANCE = 0.0005

# The tabulated scales: a log grid from 1/8 to 8 in quarter octaves, wide enough for
# RandomResizedCrop's default scale range at 224 to 448 on ImageNet-sized photos (scales off
# the grid take its nearest end, which keeps at least as much: gains fall off monotonically).
_LOG2_SCALES = np.linspace(-3.0, 3.0, 25)
_OUT_SAMPLES = 64  # eight output blocks: the gains are per block, so more only averages longer
_OFFSETS = (0.0, 2.7, 5.3)  # sub-block positions of the box (pixels)


@functools.lru_cache(maxsize=2)
def _gain_table(factor: int) -> np.ndarray:
    """(scales, 8, 8) mean-square gains ``G[s, f, k]`` for a component subsampled by ``factor``."""
    table = np.zeros((_LOG2_SCALES.size, 8, 8))
    for i, log2s in enumerate(_LOG2_SCALES):
        length = _OUT_SAMPLES * 2.0**log2s
        for offset in _OFFSETS:
            start = 16.0 + offset  # away from the image's edge: no edge replication in U
            image = int(np.ceil(start + length)) + 16
            t = dct_resize_matrix((start, start + length), image, _OUT_SAMPLES, factor=factor)
            sq = (t**2).reshape(_OUT_SAMPLES // 8, 8, -1, 8)  # (out block, f, in block, k)
            table[i] += sq.sum(axis=2).mean(axis=0)
    return table / len(_OFFSETS)


def axis_gains(scale: float, factor: int = 1) -> np.ndarray:
    """Mean-square gain of each input frequency into each output frequency along one axis.

    Args:
        scale: full-resolution pixels of the box per output pixel (``> 1`` zooms out).
        factor: the component's subsampling on this axis (1, or 2 for 4:2:0 chroma).

    Returns:
        float64 (8, 8) ``G[f, k]``: output frequency ``f``'s energy per output block from unit
        energy per input block at input frequency ``k``, blocks uncorrelated.

    Raises:
        InvalidArgumentError: a scale that is not positive, a factor other than 1 or 2.

    Example:
        >>> g = axis_gains(2.0)  # zoomed out: output 0..3 hardly see input 6 and 7
        >>> bool(g[:4, 6:].max() < 0.01 < 0.1 < g[:4, :2].max())
        True
        >>> bool(axis_gains(0.5)[3, 6:].max() > 0.1)  # zoomed in: output 3 needs them
        True
    """
    if factor not in (1, 2):
        raise InvalidArgumentError(f"factor must be 1 or 2, got {factor}", value=factor)
    return _gain_table(factor)[_scale_index(scale)]


def _scale_index(scale: float) -> int:
    """The tabulated scale nearest to ``scale`` (in octaves)."""
    if not scale > 0:
        raise InvalidArgumentError(f"scale must be positive, got {scale}", value=scale)
    return int(np.abs(_LOG2_SCALES - np.log2(scale)).argmin())


@functools.lru_cache(maxsize=1024)
def _channel_gains(
    wanted: tuple[int, ...], scales: tuple[int, int], factor: tuple[int, int]
) -> np.ndarray:
    """(F, 64) gains of output frequencies ``wanted`` from each input frequency, read-only.

    ``contribution[f, k] = Gv[fv, kv] Gh[fu, ku] E[k]`` with ``k = 8 kv + ku``: this is the
    ``G`` part, the same for every image of one scale bin (so built once per bin).
    """
    gv, gh = (_gain_table(fac)[i] for i, fac in zip(scales, factor))
    f = np.asarray(wanted, np.int64)
    gain = (gv[f // 8][:, :, None] * gh[f % 8][:, None, :]).reshape(len(f), 64)  # (F, kv, ku)
    gain.flags.writeable = False
    return gain


def band_energy(q: np.ndarray, quant: np.ndarray, *, channel_axis: int = 0) -> np.ndarray:
    """Energy of each frequency of a quantised cover, dequantised: float64 (64,).

    Args:
        q: (64, rows, cols) quantised coefficients (int16), natural order; (rows, cols, 64)
            with ``channel_axis=-1`` (the decoder's layout).
        quant: (64,) the component's quantisation table.
        channel_axis: where the 64 frequencies are: 0 (first) or -1 (last).

    Returns:
        ``sum over blocks of (q * quant)²`` per frequency.

    Raises:
        InvalidArgumentError: another ``channel_axis``.

    Example:
        >>> band_energy(np.ones((64, 2, 2), np.int16), np.full(64, 3))[:2]
        array([36., 36.])
        >>> band_energy(np.ones((2, 2, 64), np.int16), np.full(64, 3), channel_axis=-1)[:2]
        array([36., 36.])
    """
    x = np.asarray(q).astype(np.float32)
    if channel_axis == 0:
        energy = np.einsum("kb,kb->k", *[x.reshape(64, -1)] * 2)
    elif channel_axis in (-1, x.ndim - 1):
        energy = np.einsum("bk,bk->k", *[x.reshape(-1, 64)] * 2)
    else:
        raise InvalidArgumentError(f"channel_axis must be 0 or -1, got {channel_axis}")
    return energy.astype(np.float64) * np.asarray(quant, np.float64) ** 2


def select_band(
    energies: Sequence[np.ndarray],
    kept: Sequence[Sequence[int]],
    scale: tuple[float, float],
    *,
    factor: tuple[int, int] = (1, 1),
    tolerance: float = BAND_TOLERANCE,
) -> np.ndarray:
    """The input frequencies of one or more planes (sharing one band) that a resize needs.

    Leaves out input frequencies from the least important up while, for every plane and kept
    output channel, the estimated energy they would have contributed stays within
    ``tolerance²`` of that channel's estimated energy (so the RMS error within ``tolerance``
    of its RMS). The DC is always kept.

    Args:
        energies: per plane, (64,) its cover's energy per input frequency (:func:`band_energy`).
        kept: per plane, the natural-order output frequencies that are computed.
        scale: ``(vertical, horizontal)`` full-resolution pixels of the box per output pixel.
        factor: ``(vertical, horizontal)`` subsampling of the planes.
        tolerance: the allowed RMS error, relative to each kept channel's RMS.

    Returns:
        bool (64,): the input frequencies to send, natural order.

    Raises:
        InvalidArgumentError: mismatched lists or a negative tolerance.

    Example:
        >>> flat = np.ones(64)
        >>> int(select_band([flat], [[0]], (4.0, 4.0), tolerance=0.05).sum())  # zoomed out
        8
        >>> int(select_band([flat], [[0]], (0.25, 0.25), tolerance=0.05).sum())  # zoomed in
        52
    """
    if len(energies) != len(kept) or not energies:
        raise InvalidArgumentError("need one energy vector and one kept list per plane")
    if tolerance < 0:
        raise InvalidArgumentError(f"tolerance must be >= 0, got {tolerance}", value=tolerance)
    if any(f not in (1, 2) for f in factor):
        raise InvalidArgumentError(f"factors must be 1 or 2, got {factor}", value=factor)
    scales = (_scale_index(scale[0]), _scale_index(scale[1]))
    shares = []
    for energy, wanted in zip(energies, kept):
        gain = _channel_gains(tuple(sorted({int(v) for v in wanted})), scales, tuple(factor))
        contribution = gain * np.asarray(energy, np.float64)[None]
        total = contribution.sum(axis=1, keepdims=True)
        shares.append(
            np.divide(contribution, total, out=np.zeros_like(contribution), where=total > 0)
        )
    share = np.concatenate(shares)  # (every kept channel of every plane, 64)
    share[:, 0] = np.inf  # the DC stays
    order = np.argsort(share.max(axis=0), kind="stable")
    worst = np.cumsum(share[:, order], axis=1).max(axis=0)
    dropped = int(np.searchsorted(worst, tolerance**2, side="right"))
    band = np.ones(64, bool)
    band[order[:dropped]] = False
    return band
