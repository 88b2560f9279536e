"""Small host tables shared by the launch plans: channel maps, masks, normalisation."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from freqpipe.errors import DTypeError, InvalidArgumentError, ShapeError
from freqpipe.transforms.selection import Selection

__all__ = ["channel_map", "out_dtype", "pointer", "scale_bias", "selection_of"]


def selection_of(selection: Any) -> Selection:
    """Accept a :class:`Selection`, a preset name, or flat 192-space indices.

    Args:
        selection: ``Selection``, ``"dct24"``-style name, or an iterable of ints in 0..191.

    Returns:
        The selection.

    Example:
        >>> len(selection_of("dct24"))
        24
    """
    if isinstance(selection, str):
        return _preset(selection)
    if isinstance(selection, Selection):
        return selection
    return Selection.from_indices(selection)


@functools.lru_cache(maxsize=32)
def _preset(name: str) -> Selection:
    # every batch names the same preset; parsing it is most of a small call's host time
    return Selection.from_spec(name)


def channel_map(indices: np.ndarray) -> tuple[np.ndarray, tuple[np.uint64, ...]]:
    """Map flat 192-space indices to output channels, and per-plane 64-bit masks.

    Args:
        indices: flat indices (Y 0..63, Cb 64..127, Cr 128..191) in output channel order.

    Returns:
        ``(chan, masks)``: int32 (192,) with the output channel of each index (-1 elsewhere),
        and three ``np.uint64`` masks, bit ``k`` of plane ``p`` set when ``64 p + k`` is kept.

    Example:
        >>> chan, masks = channel_map(np.array([0, 64, 130]))
        >>> int(chan[130]), [int(m) for m in masks]
        (2, [1, 1, 4])
    """
    chan, masks = _channel_map(tuple(np.asarray(indices, dtype=np.int64).tolist()))
    return chan.copy(), masks


@functools.lru_cache(maxsize=64)
def _channel_map(indices: tuple[int, ...]) -> tuple[np.ndarray, tuple[np.uint64, ...]]:
    # the same selection comes with every batch: build its map once
    chan = np.full(192, -1, np.int32)
    masks = [0, 0, 0]
    for pos, idx in enumerate(indices):
        chan[idx] = pos
        masks[idx // 64] |= 1 << (idx % 64)
    return chan, tuple(np.uint64(m) for m in masks)


def scale_bias(mean: Any, std: Any, n_chan: int) -> tuple[np.ndarray, np.ndarray]:
    """Fold ``(x - mean) / std`` into ``x * scale + bias`` (float32, one value per channel).

    Args:
        mean: per-channel means (length ``n_chan``) or None for 0.
        std: per-channel standard deviations (length ``n_chan``, > 0) or None for 1.
        n_chan: number of channels.

    Returns:
        ``(scale, bias)``, float32 arrays of length ``n_chan``.

    Raises:
        ShapeError: a length differs from ``n_chan``.
        InvalidArgumentError: a std is not positive and finite.

    Example:
        >>> [a.tolist() for a in scale_bias([1.0, 2.0], [2.0, 4.0], 2)]
        [[0.5, 0.25], [-0.5, -0.5]]
    """
    m = np.zeros(n_chan) if mean is None else np.asarray(mean, dtype=np.float64).reshape(-1)
    s = np.ones(n_chan) if std is None else np.asarray(std, dtype=np.float64).reshape(-1)
    if m.shape != (n_chan,) or s.shape != (n_chan,):
        raise ShapeError(
            f"expected mean and std of length {n_chan} (one per output channel), got "
            f"{m.shape} and {s.shape}",
            shape=m.shape if m.shape != (n_chan,) else s.shape,
        )
    if not (np.isfinite(s).all() and (s > 0).all()):
        raise InvalidArgumentError("std must be positive and finite", value=s)
    return (1.0 / s).astype(np.float32), (-m / s).astype(np.float32)


def out_dtype(dtype: Any, allowed: tuple[str, ...] = ("float32", "float16")) -> np.dtype:
    """Validate an output dtype.

    Args:
        dtype: anything ``np.dtype`` accepts (``torch`` dtypes by their name).
        allowed: names accepted.

    Returns:
        The NumPy dtype.

    Raises:
        DTypeError: not one of ``allowed``.

    Example:
        >>> out_dtype("float16").name
        'float16'
    """
    name = str(dtype).replace("torch.", "")
    try:
        dt = np.dtype(name)
    except TypeError as exc:
        raise DTypeError(f"expected one of {allowed}, got {dtype!r}", dtype=dtype) from exc
    if dt.name not in allowed:
        raise DTypeError(f"expected one of {allowed}, got {dt}", dtype=dt)
    return dt


def pointer(a: Any) -> int:
    """Device or host address of an array's first element (NumPy or CuPy).

    Args:
        a: a NumPy or CuPy array.

    Returns:
        The address as an int.

    Example:
        >>> pointer(np.zeros(4)) % 8
        0
    """
    data = getattr(a, "data", None)
    ptr = getattr(data, "ptr", None)
    if ptr is not None:
        return int(ptr)
    return int(a.ctypes.data)
