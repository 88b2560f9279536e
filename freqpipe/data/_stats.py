"""Resolve the loader's ``normalize=`` argument into per-output-channel mean and std."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms import ChannelStats, Selection, load_default_stats
from freqpipe.transforms.stats import DEFAULT_STATS

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "as_channel_stats", "resolve_stats"]

#: torchvision's ImageNet statistics on the [0, 1] scale (the default for ``output="rgb"``).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Stats = tuple[np.ndarray, np.ndarray]


def _subset(stats: ChannelStats, selection: Selection | None, channels: int) -> Stats:
    mean, std = stats.mean, stats.std
    if stats.channels == channels and (
        selection is None or stats.selection is None or stats.selection == selection
    ):
        return mean, std
    if selection is None or stats.selection is None:
        raise InvalidArgumentError(
            f"the statistics have {stats.channels} channels, the output has {channels}"
        )
    have = {int(k): i for i, k in enumerate(stats.selection.indices)}
    missing = [int(k) for k in selection.indices if int(k) not in have]
    if missing:
        raise InvalidArgumentError(
            f"the statistics do not cover the selected flat channels {missing[:8]}; compute "
            "them with `freqpipe stats` for this selection",
            value=missing,
        )
    take = [have[int(k)] for k in selection.indices]
    return mean[take], std[take]


def resolve_stats(
    normalize: Any, *, output: str, selection: Selection | None, channels: int
) -> Stats | None:
    """Per-channel ``(mean, std)`` float64 arrays for the output, or None for raw values.

    Args:
        normalize: None (no normalisation), ``"default"``, a shipped statistics name
            (``dct24``, ``dct64``, ``all``), a path to a statistics JSON, a
            :class:`ChannelStats`, or a ``(mean, std)`` pair of sequences.
        output: ``"dct"``, ``"dwt"`` or ``"rgb"``.
        selection: the DCT selection (None for dwt / rgb).
        channels: output channel count.

    Returns:
        ``(mean, std)`` with std > 0 everywhere (a zero std only centres), or None.

    Raises:
        InvalidArgumentError: statistics that do not match the output.
    """
    if normalize is None:
        return None
    if isinstance(normalize, str) and normalize == "default":
        if output == "dct":
            return _clean(_subset(load_default_stats("all"), selection, channels))
        if output == "rgb":
            return _clean((np.asarray(IMAGENET_MEAN), np.asarray(IMAGENET_STD)))
        return None
    if isinstance(normalize, ChannelStats):
        stats = normalize
    elif isinstance(normalize, str) and normalize in DEFAULT_STATS:
        stats = load_default_stats(normalize)
    elif isinstance(normalize, (str, os.PathLike)):
        if not os.path.isfile(normalize):
            raise InvalidArgumentError(
                f"normalize={normalize!r} is neither 'default', a shipped statistics name "
                f"({', '.join(DEFAULT_STATS)}) nor an existing JSON file",
                value=normalize,
            )
        stats = ChannelStats.load(normalize)
    elif isinstance(normalize, (tuple, list)) and len(normalize) == 2:
        mean = np.asarray(normalize[0], np.float64).reshape(-1)
        std = np.asarray(normalize[1], np.float64).reshape(-1)
        if mean.shape != (channels,) or std.shape != (channels,):
            raise InvalidArgumentError(f"(mean, std) must have {channels} entries each")
        return _clean((mean, std))
    else:
        raise InvalidArgumentError(
            f"normalize must be None, 'default', a statistics name, a JSON path, a "
            f"ChannelStats or (mean, std), got {type(normalize).__name__}",
            value=normalize,
        )
    return _clean(_subset(stats, selection if output == "dct" else None, channels))


def _clean(stats: Stats) -> Stats:
    mean, std = (np.asarray(a, np.float64).copy() for a in stats)
    std[~((std > 0) & np.isfinite(std))] = 1.0
    return mean, std


def as_channel_stats(mean: np.ndarray, std: np.ndarray) -> ChannelStats:
    """A :class:`ChannelStats` carrying exactly ``mean`` and ``std`` (for ``normalize``)."""
    obj = ChannelStats(channels=len(mean)).to_dict()
    obj.update(count=1, mean=list(map(float, mean)), m2=list(map(float, np.square(std))))
    return ChannelStats.from_dict(obj)
