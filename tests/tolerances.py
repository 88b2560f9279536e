"""The one per-dtype tolerance table of the test suite (STYLE.md habit 7).

``assert_close`` checks ``|actual - expected| <= atol * scale + rtol * |expected|`` with
``scale = max(1, max |expected|)``: the absolute part is relative to the data's magnitude, so
one table serves pixels (0..255), DCT coefficients (about +-1024) and unit-normal noise alike.

The row of the table is the precision the compared values were *computed* in, which is not
always the dtype they arrive in: statistics accumulated in float64 from float32 DCT values, or
float32 results written to JSON and read back as float64, carry float32 rounding. Such
comparisons pass ``precision=np.float32``. Without it the less precise of the two arrays'
dtypes is used, so a float32 result compared with a float64 reference gets the float32 row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Each row is a few units in the last place of its dtype (eps: float16 9.8e-4, float32 1.2e-7,
# float64 2.2e-16) times the error growth of the short computations we test (an 8-point DCT,
# a few lifting steps, a mean over thousands of values summed in float64).
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


def _float_dtype(a: np.ndarray) -> np.dtype:
    return a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)


def assert_close(actual: Any, expected: Any, precision: Any = None) -> None:
    """Assert ``actual`` matches ``expected`` to the tolerance of ``precision``.

    Args:
        actual: NumPy array, scalar or torch tensor.
        expected: the reference, same shape.
        precision: the floating dtype the values were computed in, where it is coarser than
            both arrays' dtypes (float32 data accumulated or stored as float64). Default: the
            less precise of the two arrays' dtypes.
    """
    a = np.asarray(actual.numpy() if hasattr(actual, "numpy") else actual)
    e = np.asarray(expected.numpy() if hasattr(expected, "numpy") else expected)
    assert a.shape == e.shape, f"shape {a.shape} != expected {e.shape}"
    if precision is None:
        da, de = _float_dtype(a), _float_dtype(e)
        precision = da if da.itemsize <= de.itemsize else de
    tol = tolerance(precision)
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
