"""Channel selection over the 192 DCT channels (Y, Cb, Cr x 64 frequencies), conventions §3."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from freqpipe.errors import SelectionError, ShapeError
from freqpipe.transforms._xp import array_namespace
from freqpipe.transforms.layout import ZIGZAG_TO_NATURAL

__all__ = ["PLANE_NAMES", "PRESETS", "Selection"]

#: Plane names, in the order of the flat 192-channel stack (offsets 0, 64, 128).
PLANE_NAMES = ("Y", "Cb", "Cr")


def _r(a: int, b: int) -> list[int]:
    return list(range(a, b + 1))


# DCTNet's static selections (conventions §3): (Y, Cb = Cr), natural order k = 8 v + u.
_PRESET_TABLE: dict[str, tuple[list[int], list[int]]] = {
    "dct6": ([0, 1, 8, 9], [0]),
    "dct24": (_r(0, 3) + _r(8, 11) + _r(16, 19) + _r(24, 27), [0, 1, 8, 9]),
    "dct32": (_r(0, 4) + _r(8, 12) + _r(16, 20) + _r(24, 27) + _r(32, 34), [0, 1, 2, 8, 9]),
    "dct48": (
        _r(0, 5) + _r(8, 13) + _r(16, 21) + _r(24, 29) + _r(32, 35) + _r(40, 43),
        [0, 1, 2, 8, 9, 10, 16, 17],
    ),
    "dct64": (
        _r(0, 6) + _r(8, 14) + _r(16, 21) + _r(24, 29) + _r(32, 37) + _r(40, 45) + _r(48, 53),
        [0, 1, 2, 8, 9, 10, 16, 17, 24, 25],
    ),
    "all": (_r(0, 63), _r(0, 63)),
}

#: Names accepted by :meth:`Selection.preset`.
PRESETS: tuple[str, ...] = tuple(_PRESET_TABLE)


def _plane_indices(values: Iterable[int] | None, plane: str) -> np.ndarray:
    if values is None:
        return np.zeros(0, np.int64)
    try:
        raw = np.asarray(list(values))
    except TypeError as exc:
        raise SelectionError(f"{plane}: expected an iterable of ints, got {values!r}") from exc
    if raw.size and raw.dtype.kind not in "iu":
        raise SelectionError(f"{plane}: expected integer indices 0..63, got {raw.tolist()!r}")
    idx = raw.astype(np.int64).reshape(-1)
    bad = idx[(idx < 0) | (idx > 63)]
    if bad.size:
        raise SelectionError(
            f"{plane}: index {int(bad[0])} out of range; valid indices are 0..63 (natural order "
            "k = 8 v + u)",
            value=int(bad[0]),
        )
    uniq = np.unique(idx)
    if uniq.size != idx.size:
        raise SelectionError(f"{plane}: duplicate indices in {idx.tolist()}", value=idx.tolist())
    uniq.flags.writeable = False
    return uniq


_PRESETS_MADE: dict[str, Selection] = {}


class Selection:
    """An immutable set of DCT channels: natural-order frequencies chosen per Y, Cb, Cr plane.

    Channels are ordered Y then Cb then Cr, each plane's frequencies ascending in natural
    order. In the flat 192 space (:func:`~freqpipe.transforms.stack_planes`) Y is offset 0,
    Cb 64, Cr 128.

    Args:
        y: natural-order indices (0..63) kept from the Y plane.
        cb: indices kept from Cb.
        cr: indices kept from Cr.
        name: an optional label (presets set it); not part of equality.

    Raises:
        SelectionError: an index outside 0..63, a duplicate, or nothing selected at all.

    Example:
        >>> s = Selection(y=[0, 1, 8], cb=[0], cr=[0])
        >>> len(s), s.names, s.indices.tolist()
        (5, ('Y0', 'Y1', 'Y8', 'Cb0', 'Cr0'), [0, 1, 8, 64, 128])
    """

    __slots__ = ("_name", "_planes")
    _planes: tuple[np.ndarray, np.ndarray, np.ndarray]
    _name: str | None

    def __init__(
        self,
        y: Iterable[int] | None = None,
        cb: Iterable[int] | None = None,
        cr: Iterable[int] | None = None,
        *,
        name: str | None = None,
    ):
        planes = tuple(_plane_indices(v, p) for v, p in zip((y, cb, cr), PLANE_NAMES, strict=True))
        if sum(p.size for p in planes) == 0:
            raise SelectionError("empty selection: choose at least one channel")
        object.__setattr__(self, "_planes", planes)
        object.__setattr__(self, "_name", name)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Selection is immutable")

    @classmethod
    def preset(cls, name: str) -> Selection:
        """Return a named preset: dct6, dct24, dct32, dct48, dct64 (conventions §3) or all (192).

        Args:
            name: the preset name (case-insensitive).

        Returns:
            The selection; Cb and Cr use the same frequencies.

        Raises:
            SelectionError: unknown name (the message lists the valid ones).

        Example:
            >>> len(Selection.preset("dct24")), len(Selection.preset("all"))
            (24, 192)
        """
        key = str(name).lower()
        if key not in _PRESET_TABLE:
            raise SelectionError(
                f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}", value=name
            )
        if cls is not Selection:
            y, c = _PRESET_TABLE[key]
            return cls(y=y, cb=c, cr=c, name=key)
        made = _PRESETS_MADE.get(key)
        if made is None:  # immutable, so one instance per name: every select="dct24" asks again
            y, c = _PRESET_TABLE[key]
            made = _PRESETS_MADE[key] = cls(y=y, cb=c, cr=c, name=key)
        return made

    @classmethod
    def zigzag(cls, y: int, cb: int = 0, cr: int | None = None) -> Selection:
        """Keep the first n frequencies in JPEG zigzag order of each plane.

        Args:
            y: how many Y frequencies (0..64).
            cb: how many Cb frequencies (0..64).
            cr: how many Cr frequencies; defaults to ``cb``.

        Returns:
            The selection (stored in natural order, like every selection).

        Raises:
            SelectionError: a count outside 0..64, or all counts zero.

        Example:
            >>> Selection.zigzag(y=3, cb=1).names
            ('Y0', 'Y1', 'Y8', 'Cb0', 'Cr0')
        """
        counts = (y, cb, cb if cr is None else cr)
        for n, p in zip(counts, PLANE_NAMES, strict=True):
            if not isinstance(n, (int, np.integer)) or not 0 <= n <= 64:
                raise SelectionError(f"{p}: zigzag count must be an int in 0..64, got {n!r}")
        planes = [ZIGZAG_TO_NATURAL[: int(n)].tolist() for n in counts]
        return cls(*planes, name=f"zigzag{counts[0]}-{counts[1]}-{counts[2]}")

    @classmethod
    def from_indices(cls, indices: Iterable[int]) -> Selection:
        """Build a selection from indices in the flat 192 space (Y 0.., Cb 64.., Cr 128..).

        Args:
            indices: flat channel indices 0..191, any order.

        Returns:
            The selection (channels re-ordered Y, Cb, Cr ascending).

        Raises:
            SelectionError: an index outside 0..191 or a duplicate.

        Example:
            >>> Selection.from_indices([128, 0, 64]).names
            ('Y0', 'Cb0', 'Cr0')
        """
        idx = np.asarray(list(indices))
        if idx.size and idx.dtype.kind not in "iu":
            raise SelectionError(f"expected integer indices 0..191, got {idx.tolist()!r}")
        idx = idx.astype(np.int64).reshape(-1)
        bad = idx[(idx < 0) | (idx > 191)]
        if bad.size:
            raise SelectionError(
                f"flat index {int(bad[0])} out of range; valid indices are 0..191",
                value=int(bad[0]),
            )
        return cls(*(idx[(idx >= 64 * p) & (idx < 64 * p + 64)] - 64 * p for p in range(3)))

    @classmethod
    def from_spec(cls, spec: str | os.PathLike[str] | Selection) -> Selection:
        """Accept a Selection, a preset name or a Selection JSON file, as ``select=`` does.

        Every ``select=`` argument and ``--select`` option goes through here, so the JSON that
        ``freqpipe select --out sel.json`` writes (or :meth:`to_json`) is accepted everywhere.

        Args:
            spec: a :class:`Selection` (returned as is), a preset name, or the path (``str``
                ending in ``.json``, or any ``os.PathLike``) of a Selection JSON file.

        Returns:
            The selection.

        Raises:
            SelectionError: unknown preset name, unreadable or malformed file, or wrong type.

        Example:
            >>> Selection.from_spec("dct6") == Selection.preset("dct6")
            True
            >>> import tempfile, pathlib
            >>> f = pathlib.Path(tempfile.mkdtemp()) / "sel.json"
            >>> _ = f.write_text(Selection.preset("dct24").to_json())
            >>> Selection.from_spec(f) == Selection.from_spec(str(f)) == Selection.preset("dct24")
            True
        """
        if isinstance(spec, Selection):
            return spec
        if isinstance(spec, os.PathLike) or (
            isinstance(spec, str) and spec.lower().endswith(".json")
        ):
            path = os.fspath(spec)
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except OSError as exc:
                raise SelectionError(
                    f"cannot read the selection file {path}: {exc.strerror}"
                ) from exc
            try:
                return cls.from_json(text)
            except SelectionError as exc:
                raise SelectionError(f"{path}: {exc}") from exc
        if isinstance(spec, str):
            return cls.preset(spec)
        raise SelectionError(
            f"expected a Selection, a preset name ({', '.join(PRESETS)}) or a Selection JSON "
            f"file, got {spec!r}"
        )

    @property
    def name(self) -> str | None:
        """The preset or zigzag label, or None for explicit selections."""
        return self._name

    @property
    def per_plane(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Natural-order indices kept per plane (Y, Cb, Cr), read-only int64 arrays."""
        return self._planes

    @property
    def indices(self) -> np.ndarray:
        """Indices in the flat 192 space, int64, Y then Cb then Cr, ascending."""
        return np.concatenate([p + 64 * i for i, p in enumerate(self._planes)])

    @property
    def frequencies(self) -> np.ndarray:
        """Natural-order frequency ``k`` (0..63) of each selected channel, int64."""
        return np.concatenate(self._planes)

    @property
    def names(self) -> tuple[str, ...]:
        """Channel names such as ``"Y0"``, ``"Cb9"``, in channel order."""
        return tuple(f"{n}{k}" for n, p in zip(PLANE_NAMES, self._planes, strict=True) for k in p)

    def __len__(self) -> int:
        return sum(int(p.size) for p in self._planes)

    def issubset(self, other: Selection) -> bool:
        """Whether every channel of this selection is also in ``other`` (plane by plane).

        Example:
            >>> Selection.preset("dct6").issubset(Selection.preset("dct24"))
            True
            >>> Selection.preset("dct24").issubset(Selection.zigzag(y=24))
            False
        """
        return all(
            bool(np.isin(a, b).all()) for a, b in zip(self._planes, other._planes, strict=True)
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Selection):
            return NotImplemented
        return all(np.array_equal(a, b) for a, b in zip(self._planes, other._planes, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(tuple(p.tolist()) for p in self._planes))

    def __repr__(self) -> str:
        if self._name is not None and self._name in _PRESET_TABLE:
            return f"Selection.preset({self._name!r})"
        y, cb, cr = (p.tolist() for p in self._planes)
        return f"Selection(y={y}, cb={cb}, cr={cr})"

    def to_json(self) -> str:
        """Serialise to a JSON object ``{"name", "y", "cb", "cr"}``.

        Returns:
            A JSON string that :meth:`from_json` reads back to an equal selection.

        Example:
            >>> Selection.preset("dct6").to_json()
            '{"name": "dct6", "y": [0, 1, 8, 9], "cb": [0], "cr": [0]}'
        """
        y, cb, cr = (p.tolist() for p in self._planes)
        return json.dumps({"name": self._name, "y": y, "cb": cb, "cr": cr})

    @classmethod
    def from_json(cls, text: str | dict[str, Any]) -> Selection:
        """Read a selection written by :meth:`to_json` (a string, or the parsed dict).

        Args:
            text: JSON with keys ``y``, ``cb``, ``cr`` (lists of 0..63) and optional ``name``.

        Returns:
            The selection.

        Raises:
            SelectionError: malformed JSON, missing keys or invalid indices.

        Example:
            >>> s = Selection.preset("dct24")
            >>> Selection.from_json(s.to_json()) == s
            True
        """
        try:
            obj = json.loads(text) if isinstance(text, str) else text
        except json.JSONDecodeError as exc:
            raise SelectionError(f"not a JSON selection: {exc}") from exc
        if not isinstance(obj, dict) or not {"y", "cb", "cr"} <= obj.keys():
            raise SelectionError(
                f"expected a JSON object with keys 'y', 'cb', 'cr', got {str(obj)[:80]!r}"
            )
        return cls(obj["y"], obj["cb"], obj["cr"], name=obj.get("name"))

    def select(self, c: Any, *, axis: int = -3) -> Any:
        """Keep the selected channels of a flat 192-channel array.

        Args:
            c: coefficients with 192 entries on ``axis``, e.g. (N, 192, h, w); any dtype;
                NumPy or CuPy.
            axis: the channel axis.

        Returns:
            A new array with ``len(self)`` entries on ``axis``, same dtype.

        Raises:
            ShapeError: ``axis`` is not 192 long.

        Example:
            >>> Selection.preset("dct24").select(np.zeros((2, 192, 7, 7))).shape
            (2, 24, 7, 7)
        """
        xp = array_namespace(c)
        c = xp.asarray(c)
        if not -c.ndim <= axis < c.ndim or c.shape[axis] != 192:
            raise ShapeError(
                f"expected 192 channels on axis {axis}, got {tuple(c.shape)}", shape=c.shape
            )
        return xp.take(c, xp.asarray(self.indices), axis=axis)

    def select_planes(self, planes: Sequence[Any], *, axis: int = -3) -> Any:
        """Keep the selected channels of per-plane coefficients and stack them.

        Args:
            planes: ``(y, cb, cr)``, each with 64 coefficients on ``axis`` (e.g. (..., 64, h, w)
                from :func:`~freqpipe.transforms.block_dct`, or (h, w, 64) with ``axis=-1``);
                planes with nothing selected may have any grid, the others must share one.
            axis: the coefficient axis of each plane.

        Returns:
            The selected channels concatenated along ``axis``, Y first.

        Raises:
            ShapeError: not three planes, a coefficient axis not 64 long, or selected planes
                on different grids.

        Example:
            >>> p = np.zeros((64, 56, 56), np.float32)
            >>> Selection.preset("dct24").select_planes([p, p, p]).shape
            (24, 56, 56)
        """
        if len(planes) != 3:
            raise ShapeError(f"expected 3 planes (Y, Cb, Cr), got {len(planes)}")
        xp = array_namespace(planes[0])
        parts = []
        for plane, idx, pname in zip(planes, self._planes, PLANE_NAMES, strict=True):
            if idx.size == 0:
                continue
            plane = xp.asarray(plane)
            if not -plane.ndim <= axis < plane.ndim or plane.shape[axis] != 64:
                raise ShapeError(
                    f"{pname}: expected 64 coefficients on axis {axis}, got {tuple(plane.shape)}",
                    shape=plane.shape,
                )
            parts.append(xp.take(plane, xp.asarray(idx), axis=axis))
        shapes = {tuple(s for i, s in enumerate(p.shape) if i != axis % p.ndim) for p in parts}
        if len(shapes) > 1:
            raise ShapeError(
                f"selected planes lie on different grids {sorted(shapes)}; align chroma first"
            )
        return parts[0] if len(parts) == 1 else xp.concatenate(parts, axis=axis)
