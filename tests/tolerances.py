"""The one per-dtype tolerance table of the test suite (STYLE.md habit 7).

``assert_close`` checks ``|actual - expected| <= atol * scale + rtol * |expected|`` with
``scale = max(1, max |expected|)``: the absolute part is relative to the data's magnitude, so
one table serves pixels (0..255), DCT coefficients (about +-1024) and unit-normal noise alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TOL: dict[Any, dict[str, float]] = {
    np.float16: {"rtol": 1e-3, "atol": 1e-3},
    np.float32: {"rtol": 1e-5, "atol": 1e-5},
    np.float64: {"rtol": 1e-9, "atol": 1e-9},
}


def tolerance(dtype: Any) -> dict[str, float]:
    """Return the tolerance of a floating dtype (integers compare as float64)."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        dt = np.dtype(np.float64)
    return TOL[dt.type]


def assert_close(actual: Any, expected: Any, dtype: Any = None) -> None:
    """Assert ``actual`` matches ``expected`` to the tolerance of ``dtype`` (default: actual's).

    Accepts NumPy arrays, scalars and torch tensors.
    """
    a = np.asarray(actual.numpy() if hasattr(actual, "numpy") else actual)
    e = np.asarray(expected.numpy() if hasattr(expected, "numpy") else expected)
    assert a.shape == e.shape, f"shape {a.shape} != expected {e.shape}"
    tol = tolerance(dtype if dtype is not None else a.dtype)
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    scale = max(1.0, float(np.abs(e64).max())) if e64.size else 1.0
    err = np.abs(a64 - e64)
    bound = tol["atol"] * scale + tol["rtol"] * np.abs(e64)
    if err.size and not (err <= bound).all():
        i = np.unravel_index(int(np.argmax(err - bound)), err.shape)
        raise AssertionError(
            f"max error {err.max():.3g} exceeds tolerance {tol} (scale {scale:.3g}); "
            f"worst at {i}: actual {a64[i]!r} expected {e64[i]!r}"
        )
