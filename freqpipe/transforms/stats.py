"""Per-channel statistics for normalisation (conventions §3), streaming and in float64.

Two conventions:

* ``"per_coefficient"`` (default, the sane one): mean and std of every coefficient value of a
  channel, over all images and block positions.
* ``"per_image"`` (DCTNet's released statistics): each image's spatial mean of the channel,
  then mean and std of those across images, so AC stds are tiny.

Batches are reduced with a two-pass mean/M2 in float64 and merged with Chan et al.'s parallel
form of Welford's update, so the result does not depend on how the data are batched. Stds are
population stds (``ddof=0``, as ``np.std``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from freqpipe.errors import InvalidArgumentError, ShapeError
from freqpipe.transforms._xp import array_namespace
from freqpipe.transforms.selection import Selection

__all__ = ["CONVENTIONS", "DEFAULT_STATS", "ChannelStats", "load_default_stats", "normalize"]

#: Accepted statistics conventions.
CONVENTIONS: tuple[str, ...] = ("per_coefficient", "per_image")
#: Names of the statistics shipped in ``freqpipe/transforms/data`` (``stats_<name>.json``).
DEFAULT_STATS: tuple[str, ...] = ("dct24", "dct64", "all")

_DATA = Path(__file__).resolve().parent / "data"
_FORMAT = "freqpipe.channel_stats"


class ChannelStats:
    """Streaming per-channel mean and std (Welford / Chan merge, float64).

    Args:
        selection: the channels the statistics describe (a :class:`Selection` or a preset
            name); fixes the channel count. Optional if ``channels`` is given.
        channels: channel count when there is no selection.
        convention: ``"per_coefficient"`` or ``"per_image"`` (module docstring).

    Raises:
        InvalidArgumentError: unknown convention, or neither / inconsistent selection and channels.

    Example:
        >>> s = ChannelStats(channels=2)
        >>> s.update(np.array([[[[1.0, 3.0]], [[0.0, 0.0]]]]))
        >>> s.mean.tolist(), s.std.tolist(), s.count
        ([2.0, 0.0], [1.0, 0.0], 2)
    """

    def __init__(
        self,
        selection: Selection | str | None = None,
        *,
        channels: int | None = None,
        convention: Literal["per_coefficient", "per_image"] = "per_coefficient",
    ):
        if convention not in CONVENTIONS:
            raise InvalidArgumentError(
                f"unknown convention {convention!r}; valid: {', '.join(CONVENTIONS)}",
                value=convention,
            )
        sel = Selection.from_spec(selection) if selection is not None else None
        if sel is None and channels is None:
            raise InvalidArgumentError("give a selection or a channel count")
        if sel is not None and channels is not None and channels != len(sel):
            raise InvalidArgumentError(f"channels={channels} but the selection has {len(sel)}")
        self.selection = sel
        self.convention = convention
        self.channels = len(sel) if sel is not None else int(channels)  # type: ignore[arg-type]
        self._count = 0
        self._mean = np.zeros(self.channels, np.float64)
        self._m2 = np.zeros(self.channels, np.float64)

    @property
    def count(self) -> int:
        """Samples seen per channel: values (per_coefficient) or images (per_image)."""
        return self._count

    @property
    def mean(self) -> np.ndarray:
        """Per-channel mean, float64 (C,)."""
        return self._mean.copy()

    @property
    def var(self) -> np.ndarray:
        """Per-channel population variance, float64 (C,); NaN before any update."""
        if self._count == 0:
            return np.full(self.channels, np.nan)
        return self._m2 / self._count

    @property
    def std(self) -> np.ndarray:
        """Per-channel population std, float64 (C,); NaN before any update."""
        return np.sqrt(self.var)

    def _merge(self, n_b: int, mean_b: np.ndarray, m2_b: np.ndarray) -> None:
        n_a = self._count
        n = n_a + n_b
        if n_b == 0:
            return
        delta = mean_b - self._mean
        self._mean = self._mean + delta * (n_b / n)
        self._m2 = self._m2 + m2_b + delta**2 * (n_a * n_b / n)
        self._count = n

    def update(self, batch: Any) -> None:
        """Add a batch of samples.

        Args:
            batch: (N, C, h, w) or (C, h, w) array, any real dtype; NumPy or CuPy (reduced on
                the device, merged on the host).

        Raises:
            ShapeError: wrong number of dimensions or channels.

        Example:
            >>> s = ChannelStats("dct6", convention="per_image")
            >>> s.update(np.ones((4, 6, 7, 7), np.float32)); s.count
            4
        """
        xp = array_namespace(batch)
        x = xp.asarray(batch)
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ShapeError(
                f"expected (N, {self.channels}, h, w), got {tuple(batch.shape)}",
                shape=tuple(batch.shape),
            )
        x = x.astype(xp.float64, copy=False)
        if self.convention == "per_image":
            samples = x.mean(axis=(2, 3))  # (N, C)
        else:
            samples = xp.moveaxis(x, 1, 0).reshape(self.channels, -1).T  # (n, C)
        n_b = int(samples.shape[0])
        if n_b == 0:
            return
        mean_b = samples.mean(axis=0)
        m2_b = ((samples - mean_b) ** 2).sum(axis=0)
        to_host = getattr(xp, "asnumpy", np.asarray)
        self._merge(n_b, np.asarray(to_host(mean_b)), np.asarray(to_host(m2_b)))

    def merge(self, other: ChannelStats) -> ChannelStats:
        """Fold another accumulator (e.g. from another worker) into this one, in place.

        Args:
            other: statistics of the same channels and convention.

        Returns:
            ``self``.

        Raises:
            InvalidArgumentError: different channel count, selection or convention.

        Example:
            >>> a, b = ChannelStats(channels=1), ChannelStats(channels=1)
            >>> a.update(np.zeros((1, 1, 1, 2))); b.update(np.full((1, 1, 1, 2), 2.0))
            >>> a.merge(b).mean.tolist(), a.std.tolist()
            ([1.0], [1.0])
        """
        if (other.channels, other.convention) != (self.channels, self.convention) or (
            other.selection != self.selection
        ):
            raise InvalidArgumentError(
                "cannot merge statistics of different channels or conventions"
            )
        self._merge(other._count, other._mean, other._m2)
        return self

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (format tag, convention, selection, count, mean, std, m2).

        Returns:
            The dict that :meth:`from_dict` reads.

        Example:
            >>> ChannelStats(channels=1).to_dict()["convention"]
            'per_coefficient'
        """
        return {
            "format": _FORMAT,
            "version": 1,
            "convention": self.convention,
            "selection": json.loads(self.selection.to_json()) if self.selection else None,
            "channels": self.channels,
            "names": list(self.selection.names) if self.selection else None,
            "count": self._count,
            "mean": self._mean.tolist(),
            "std": self.std.tolist() if self._count else None,
            "m2": self._m2.tolist(),
        }

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> ChannelStats:
        """Rebuild statistics from :meth:`to_dict` output (accumulation can continue).

        Args:
            obj: the dict.

        Returns:
            The statistics.

        Raises:
            InvalidArgumentError: not a freqpipe statistics object, or inconsistent lengths.

        Example:
            >>> s = ChannelStats("dct6")
            >>> ChannelStats.from_dict(s.to_dict()).selection == s.selection
            True
        """
        if not isinstance(obj, dict) or obj.get("format") != _FORMAT:
            raise InvalidArgumentError(f"not a freqpipe statistics object (format {_FORMAT!r})")
        sel = Selection.from_json(obj["selection"]) if obj.get("selection") else None
        out = cls(sel, channels=int(obj["channels"]), convention=obj["convention"])
        mean = np.asarray(obj["mean"], np.float64)
        m2 = np.asarray(obj["m2"], np.float64)
        if mean.shape != (out.channels,) or m2.shape != (out.channels,):
            raise InvalidArgumentError(f"mean/m2 must have {out.channels} entries")
        out._count, out._mean, out._m2 = int(obj["count"]), mean, m2
        return out

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the statistics (with their selection and convention) as JSON.

        Args:
            path: output file.

        Example:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.json"
            >>> ChannelStats("dct6").save(p); ChannelStats.load(p).channels
            6
        """
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ChannelStats:
        """Read statistics written by :meth:`save`.

        Args:
            path: a JSON file.

        Returns:
            The statistics.

        Raises:
            InvalidArgumentError: the file is not freqpipe statistics.

        Example:
            >>> ChannelStats.load(_DATA / "stats_dct24.json").channels
            24
        """
        try:
            obj = json.loads(Path(path).read_text())
        except json.JSONDecodeError as exc:
            raise InvalidArgumentError(f"{path}: not JSON ({exc})") from exc
        return cls.from_dict(obj)

    def __repr__(self) -> str:
        return (
            f"ChannelStats({self.selection!r}, channels={self.channels}, "
            f"convention={self.convention!r}, count={self._count})"
        )


def load_default_stats(name: str = "dct24") -> ChannelStats:
    """Load the per-coefficient statistics shipped with freqpipe.

    They were computed on the bundled sample photographs with the DCTNet pixel route on the
    evaluation loader's own crop (``freqpipe.jpeg.pixels.load_center_crop``: resize 512, centre
    crop 448 by torchvision's rule, conventions §7), then the blockwise DCT of Y, Cb, Cr;
    regenerate with ``freqpipe stats --regenerate-defaults``. Eight photographs are a small
    sample: use them to get started, and ``freqpipe stats`` on your data for real training.

    Args:
        name: ``"dct24"``, ``"dct64"`` or ``"all"``.

    Returns:
        The statistics, with their selection.

    Raises:
        InvalidArgumentError: an unknown name (the message lists the shipped ones).

    Example:
        >>> s = load_default_stats("dct24")
        >>> len(s.selection), s.convention
        (24, 'per_coefficient')
    """
    if name not in DEFAULT_STATS:
        raise InvalidArgumentError(
            f"no default statistics {name!r}; shipped: {', '.join(DEFAULT_STATS)}", value=name
        )
    return ChannelStats.load(_DATA / f"stats_{name}.json")


def normalize(x: Any, stats: ChannelStats, *, axis: int = -3) -> Any:
    """Normalise channels: ``(x - mean) / std`` per channel.

    A channel whose std is 0 (constant in the statistics) is only centred (divided by 1).

    Args:
        x: array with ``stats.channels`` entries on ``axis``, e.g. (N, C, h, w); NumPy or
            CuPy.
        stats: the statistics.
        axis: the channel axis.

    Returns:
        Normalised array; float64 for float64 input, float32 otherwise.

    Raises:
        ShapeError: the channel count does not match.

    Example:
        >>> s = ChannelStats(channels=1); s.update(np.array([[[[0.0, 2.0]]]]))
        >>> normalize(np.array([[[[0.0, 2.0]]]]), s).ravel().tolist()
        [-1.0, 1.0]
    """
    xp = array_namespace(x)
    x = xp.asarray(x)
    if not -x.ndim <= axis < x.ndim or x.shape[axis] != stats.channels:
        raise ShapeError(
            f"expected {stats.channels} channels on axis {axis}, got {tuple(x.shape)}",
            shape=tuple(x.shape),
        )
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    std = stats.std
    std = np.where((std > 0) & np.isfinite(std), std, 1.0)
    shape = [1] * x.ndim
    shape[axis] = -1
    mean_x = xp.asarray(stats.mean.reshape(shape).astype(dtype))
    inv_x = xp.asarray((1.0 / std).reshape(shape).astype(dtype))
    return (x.astype(dtype, copy=False) - mean_x) * inv_x
