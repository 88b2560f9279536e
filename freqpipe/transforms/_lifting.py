"""Lifting steps of the 1-D wavelet passes (conventions §6), for freqpipe.transforms.wavelets.

Each pass works along a negative axis (-1 or -2) of an array batched over the others, with
slices only (no Python loop over rows), and in place on its even/odd halves.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from freqpipe.errors import DTypeError, InvalidArgumentError, ShapeError
from freqpipe.transforms._xp import array_namespace

#: Wavelet names accepted (PyWavelets spelling).
WAVELETS: tuple[str, ...] = ("haar", "bior2.2", "bior4.4")
#: Boundary modes accepted.
MODES: tuple[str, ...] = ("periodization", "reflect")

_SQRT2 = math.sqrt(2.0)
# CDF 9/7 lifting constants (conventions §6).
_A, _B, _G, _E, _K = (
    -1.586134342059924,
    -0.052980118572961,
    0.882911075530934,
    0.443506852043971,
    1.230174104914001,
)
# (kind, coefficient) steps; "p" predicts d from s neighbours, "u" updates s from d.
# Haar's predict uses only s[i] ("h"). Then (scale of s, scale of d).
_STEPS: dict[str, tuple[tuple[tuple[str, float], ...], float, float]] = {
    "haar": ((("h", -1.0), ("u0", 0.5)), _SQRT2, -1.0 / _SQRT2),
    "bior2.2": ((("p", -0.5), ("u", 0.25)), _SQRT2, -1.0 / _SQRT2),
    "bior4.4": ((("p", _A), ("u", _B), ("p", _G), ("u", _E)), _SQRT2 / _K, -_K / _SQRT2),
}
# Filter lengths, for the default number of levels (as pywt.dwt_max_level).
_FILTER_LEN = {"haar": 2, "bior2.2": 6, "bior4.4": 10}


def _sl(axis: int, s: slice) -> tuple[Any, ...]:
    """Index tuple selecting ``s`` along the negative ``axis`` (-1 or -2)."""
    return (Ellipsis, s) + (slice(None),) * (-axis - 1)


def _check_args(wavelet: str, mode: str) -> None:
    if wavelet not in _STEPS:
        raise InvalidArgumentError(
            f"unknown wavelet {wavelet!r}; valid: {', '.join(WAVELETS)}", value=wavelet
        )
    if mode not in MODES:
        raise InvalidArgumentError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}", value=mode)


def _work_dtype(dtype: np.dtype) -> Any:
    if dtype.kind == "c" or dtype.kind not in "biuf":
        raise DTypeError(f"expected real input, got {dtype}", dtype=dtype)
    if dtype == np.float64:
        return np.float64
    if dtype.kind == "f":
        return np.float32  # float16 and float32
    return np.float64  # integers, as PyWavelets


def _predict(d: Any, s: Any, c: float, axis: int, periodic: bool) -> None:
    """``d[i] += c (s[i] + s[i+1])`` with the boundary's ``s[ns]``."""
    nd, ns = d.shape[axis], s.shape[axis]
    inner = min(nd, ns - 1)
    if inner > 0:
        d[_sl(axis, slice(0, inner))] += c * (
            s[_sl(axis, slice(0, inner))] + s[_sl(axis, slice(1, inner + 1))]
        )
    if nd > inner:  # even length: the last d needs s[ns]
        right = s[_sl(axis, slice(0, 1))] if periodic else s[_sl(axis, slice(ns - 1, ns))]
        d[_sl(axis, slice(nd - 1, nd))] += c * (s[_sl(axis, slice(ns - 1, ns))] + right)


def _update(s: Any, d: Any, c: float, axis: int, periodic: bool) -> None:
    """``s[i] += c (d[i-1] + d[i])`` with the boundary's ``d[-1]`` and ``d[nd]``."""
    ns, nd = s.shape[axis], d.shape[axis]
    m = min(ns, nd)
    if m > 1:
        s[_sl(axis, slice(1, m))] += c * (d[_sl(axis, slice(0, m - 1))] + d[_sl(axis, slice(1, m))])
    left = d[_sl(axis, slice(nd - 1, nd))] if periodic else d[_sl(axis, slice(0, 1))]
    s[_sl(axis, slice(0, 1))] += c * (left + d[_sl(axis, slice(0, 1))])
    if ns > nd:  # odd length (reflect): d[nd] = d[nd-1]
        s[_sl(axis, slice(ns - 1, ns))] += (2 * c) * d[_sl(axis, slice(nd - 1, nd))]


def _apply(s: Any, d: Any, kind: str, c: float, axis: int, periodic: bool) -> None:
    if kind == "p":
        _predict(d, s, c, axis, periodic)
    elif kind == "u":
        _update(s, d, c, axis, periodic)
    elif kind == "h":
        d += c * s
    else:  # "u0"
        s += c * d


def _fwd1(x: Any, axis: int, wavelet: str, mode: str, work: Any) -> tuple[Any, Any]:
    xp = array_namespace(x)
    n = x.shape[axis]
    if n < 2:
        raise ShapeError(
            f"cannot transform an axis of length {n} (need >= 2), shape {tuple(x.shape)}",
            shape=tuple(x.shape),
        )
    periodic = mode == "periodization"
    if n % 2 and (periodic or wavelet == "haar"):
        extra = slice(n - 1, n) if periodic else slice(n - 2, n - 1)
        x = xp.concatenate([x, x[_sl(axis, extra)]], axis=axis)
    s = x[_sl(axis, slice(0, None, 2))].astype(work, copy=True)
    d = x[_sl(axis, slice(1, None, 2))].astype(work, copy=True)
    steps, scale_s, scale_d = _STEPS[wavelet]
    for kind, c in steps:
        _apply(s, d, kind, c, axis, periodic)
    s *= scale_s
    d *= scale_d
    return s, d


def _inv1(s: Any, d: Any, axis: int, wavelet: str, mode: str) -> Any:
    xp = array_namespace(s)
    steps, scale_s, scale_d = _STEPS[wavelet]
    periodic = mode == "periodization"
    s = s * (1.0 / scale_s)
    d = d * (1.0 / scale_d)
    for kind, c in reversed(steps):
        _apply(s, d, kind, -c, axis, periodic)
    ns, nd = s.shape[axis], d.shape[axis]
    shape = list(s.shape)
    shape[axis] = ns + nd
    out = xp.empty(shape, dtype=s.dtype)
    out[_sl(axis, slice(0, None, 2))] = s
    out[_sl(axis, slice(1, None, 2))] = d
    return out
