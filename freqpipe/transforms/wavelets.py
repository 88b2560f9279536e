"""2-D discrete wavelet transforms by lifting: haar, bior2.2 (LeGall 5/3), bior4.4 (CDF 9/7).

The coefficients match PyWavelets (conventions §6): ``dwt2`` returns ``(cA, (cH, cV, cD))`` with cH
the detail along axis -2 (rows high-pass, columns low-pass), cV along axis -1, cD both. Each
1-D pass splits the samples into even ``s`` and odd ``d`` and applies the lifting steps:

* CDF 9/7: ``d += a (s_l + s_r)``, ``s += b (d_l + d_r)``, ``d += g (s_l + s_r)``,
  ``s += e (d_l + d_r)``; then ``cA = (sqrt2 / K) s``, ``cD = -(K / sqrt2) d``.
* LeGall 5/3: ``d -= (s_l + s_r) / 2``, ``s += (d_l + d_r) / 4``; ``cA = sqrt2 s``,
  ``cD = -d / sqrt2``.
* Haar: ``d -= s``, ``s += d / 2``; same scaling as 5/3, i.e. ``cA = (x0 + x1) / sqrt2``,
  ``cD = (x0 - x1) / sqrt2``.

Boundary modes, for a length N along a transformed axis (N >= 2):

* ``"periodization"``: periodic indexing. Equals ``pywt.dwt2(..., mode="periodization")`` at
  every level. Odd N is handled as PyWavelets does: the last sample is repeated to make the
  length even, so every subband has ``ceil(N / 2)`` samples and the inverse returns the even
  length ``2 ceil(N / 2)`` (``waverec2`` crops to the next level's shape, as PyWavelets).
* ``"reflect"``: whole-sample symmetric extension (``x[-1] = x[1]``, ``x[N] = x[N-2]``), the
  JPEG 2000 boundary. For the biorthogonal wavelets this is *not* PyWavelets' ``symmetric``;
  it equals ``pywt.dwt2(..., mode="reflect")`` after cropping PyWavelets' longer output at
  offset 2 (bior4.4) or 1 (bior2.2) to our length. Odd N is natural here: cA has
  ``ceil(N / 2)`` samples and the detail ``floor(N / 2)`` along that axis, so the four subbands
  can differ in shape (and :func:`stack_subbands` refuses them), and the inverse restores N
  exactly. Haar has no neighbours, so for even N ``"reflect"`` equals ``"periodization"`` and
  equals PyWavelets' ``reflect`` with no crop; for odd N the sample ``x[N] = x[N-2]`` is
  appended, as PyWavelets' ``reflect`` does (ceil(N/2) everywhere; the inverse returns the even
  length).

Multi-level ``"reflect"`` applies the same rule to each level's cA; because PyWavelets keeps its
longer outputs between levels, compare with it level by level, not through ``pywt.wavedec2``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from freqpipe.errors import InvalidArgumentError, ShapeError
from freqpipe.transforms._dispatch import from_numpy_like, gpu_impl, to_numpy_if_torch
from freqpipe.transforms._lifting import (
    _FILTER_LEN,
    MODES,
    WAVELETS,
    _check_args,
    _fwd1,
    _inv1,
    _work_dtype,
)
from freqpipe.transforms._xp import array_namespace

Coeffs2 = tuple[Any, tuple[Any, Any, Any]]

__all__ = [
    "MODES",
    "WAVELETS",
    "dwt2",
    "idwt2",
    "stack_subbands",
    "unstack_subbands",
    "wavedec2",
    "waverec2",
]


def _prepare(x: Any) -> tuple[Any, Any]:
    xp = array_namespace(x)
    x = xp.asarray(x)
    if x.ndim < 2:
        raise ShapeError(f"expected (..., H, W), got {tuple(x.shape)}", shape=tuple(x.shape))
    return x, _work_dtype(x.dtype)


def _dwt2_planes(x: Any, wavelet: str, mode: str, work: Any) -> list[Any]:
    lo, hi = _fwd1(x, -1, wavelet, mode, work)
    ca, ch = _fwd1(lo, -2, wavelet, mode, work)
    cv, cd = _fwd1(hi, -2, wavelet, mode, work)
    return [ca, ch, cv, cd]


# On the CPU a large batch goes through a few planes at a time so that the lifting temporaries
# stay in cache (about 2 MB of samples per chunk).
_CHUNK_ELEMENTS = 1 << 19


def _dwt2_level(x: Any, wavelet: str, mode: str) -> Coeffs2:
    x, work = _prepare(x)
    *lead, h, w = x.shape
    n = int(np.prod(lead)) if lead else 1
    step = max(1, _CHUNK_ELEMENTS // max(h * w, 1))
    if array_namespace(x) is not np or n <= step:
        ca, ch, cv, cd = _dwt2_planes(x, wavelet, mode, work)
        return ca, (ch, cv, cd)
    planes = x.reshape(n, h, w)
    outs: list[Any] = []
    for lo in range(0, n, step):
        bands = _dwt2_planes(planes[lo : lo + step], wavelet, mode, work)
        if not outs:
            outs = [np.empty((n, *b.shape[-2:]), dtype=b.dtype) for b in bands]
        for o, b in zip(outs, bands, strict=True):
            o[lo : lo + step] = b
    ca, ch, cv, cd = (o.reshape(*lead, *o.shape[-2:]) for o in outs)
    return ca, (ch, cv, cd)


def _idwt2_level(coeffs: Coeffs2, wavelet: str, mode: str) -> Any:
    try:
        ca, (ch, cv, cd) = coeffs
    except (TypeError, ValueError) as exc:
        raise ShapeError("expected coefficients (cA, (cH, cV, cD))") from exc
    if any(c is None for c in (ca, ch, cv, cd)):
        raise ShapeError("None subbands are not supported; pass zeros of the right shape")
    xp = array_namespace(ca)
    ca, ch, cv, cd = (xp.asarray(c) for c in (ca, ch, cv, cd))
    work = _work_dtype(np.result_type(ca.dtype, ch.dtype, cv.dtype, cd.dtype))
    ca, ch, cv, cd = (c.astype(work, copy=False) for c in (ca, ch, cv, cd))
    shapes = [tuple(c.shape) for c in (ca, ch, cv, cd)]
    lead = {s[:-2] for s in shapes}
    rows_s, rows_d = ca.shape[-2], ch.shape[-2]
    cols_s, cols_d = ca.shape[-1], cv.shape[-1]
    ok = (
        len(lead) == 1
        and ca.ndim >= 2
        and cv.shape[-2] == rows_s
        and cd.shape[-2] == rows_d
        and ch.shape[-1] == cols_s
        and cd.shape[-1] == cols_d
    )
    for ns, nd in ((rows_s, rows_d), (cols_s, cols_d)):
        if mode == "reflect" and wavelet != "haar":
            ok = ok and ns - nd in (0, 1) and nd >= 1
        else:
            ok = ok and ns == nd and nd >= 1
    if not ok:
        raise ShapeError(f"inconsistent subband shapes (cA, cH, cV, cD) = {shapes}")
    lo = _inv1(ca, ch, -2, wavelet, mode)
    hi = _inv1(cv, cd, -2, wavelet, mode)
    return _inv1(lo, hi, -1, wavelet, mode)


def wavedec2(
    x: Any, wavelet: str = "bior4.4", mode: str = "periodization", level: int | None = None
) -> list[Any]:
    """Multi-level 2-D DWT of the last two axes, as ``pywt.wavedec2`` lays it out.

    Args:
        x: array (..., H, W), batched over leading axes; float32 stays float32, float64 stays
            float64, integers become float64 (as PyWavelets). NumPy or CuPy.
        wavelet: ``"haar"``, ``"bior2.2"`` or ``"bior4.4"``.
        mode: ``"periodization"`` or ``"reflect"`` (see the module docstring).
        level: number of levels >= 1; None for PyWavelets' ``dwt_max_level`` (at least 1).

    Returns:
        ``[cAn, (cHn, cVn, cDn), ..., (cH1, cV1, cD1)]``.

    Raises:
        InvalidArgumentError: unknown wavelet or mode, or level < 1.
        ShapeError: an axis shorter than 2 at some level.

    Example:
        >>> c = wavedec2(np.ones((32, 32)), "haar", level=3)
        >>> c[0].shape, len(c)
        ((4, 4), 4)
    """
    _check_args(wavelet, mode)
    x, _ = _prepare(x)
    if level is None:
        n = min(x.shape[-2:])
        level = max(1, math.floor(math.log2(max(n, 1) / (_FILTER_LEN[wavelet] - 1))))
    if not isinstance(level, (int, np.integer)) or level < 1:
        raise InvalidArgumentError(f"level must be an int >= 1, got {level!r}", value=level)
    details: list[Any] = []
    a = x
    for _ in range(int(level)):
        a, det = _dwt2_level(a, wavelet, mode)
        details.append(det)
    return [a, *reversed(details)]


def waverec2(coeffs: Sequence[Any], wavelet: str = "bior4.4", mode: str = "periodization") -> Any:
    """Inverse of :func:`wavedec2`.

    Args:
        coeffs: ``[cAn, (cHn, cVn, cDn), ..., (cH1, cV1, cD1)]``.
        wavelet: as used for the decomposition.
        mode: as used for the decomposition.

    Returns:
        The reconstruction (..., H, W). With ``"periodization"`` and odd sizes the result has
        the even size ``2 ceil(H / 2)`` (PyWavelets does the same); crop it.

    Raises:
        InvalidArgumentError: unknown wavelet or mode.
        ShapeError: the subband shapes do not fit together.

    Example:
        >>> x = np.random.default_rng(0).random((2, 24, 40))
        >>> bool(np.allclose(waverec2(wavedec2(x, level=2)), x))
        True
    """
    _check_args(wavelet, mode)
    if len(coeffs) < 1:
        raise ShapeError("expected [cAn, (cHn, cVn, cDn), ...], got an empty list")
    a = coeffs[0]
    for det in coeffs[1:]:
        if len(det) != 3:
            raise ShapeError("each detail level must be a tuple (cH, cV, cD)")
        ch, cv, _ = det
        want = (cv.shape[-2], ch.shape[-1])
        if tuple(a.shape[-2:]) != want:
            if a.shape[-2] < want[0] or a.shape[-1] < want[1]:
                raise ShapeError(
                    f"approximation {tuple(a.shape)} too small for details of shape {want}"
                )
            a = a[..., : want[0], : want[1]]
        a = _idwt2_level((a, (det[0], det[1], det[2])), wavelet, mode)
    return a


def dwt2(
    x: Any, wavelet: str = "bior4.4", mode: str = "periodization", level: int = 1
) -> Coeffs2 | list[Any]:
    """2-D discrete wavelet transform of the last two axes, by lifting (conventions §6).

    Args:
        x: array (..., H, W), batched over leading axes; float32 stays float32, float64 stays
            float64, integers become float64. NumPy, torch CPU (returned as torch), or on a GPU
            (CuPy / CUDA torch, delegated to ``freqpipe.cuda``).
        wavelet: ``"haar"``, ``"bior2.2"`` (LeGall 5/3) or ``"bior4.4"`` (CDF 9/7).
        mode: ``"periodization"`` or ``"reflect"`` (boundaries and odd sizes: module docstring).
        level: 1 gives ``(cA, (cH, cV, cD))`` exactly as ``pywt.dwt2``; ``level > 1`` gives
            the :func:`wavedec2` list ``[cAn, (cHn, cVn, cDn), ..., (cH1, cV1, cD1)]``.

    Returns:
        Subbands of shape (..., ceil(H/2), ceil(W/2)) for even sizes or periodization (see
        the module docstring for odd sizes with ``"reflect"``).

    Raises:
        InvalidArgumentError: unknown wavelet or mode, or level < 1.
        ShapeError: fewer than 2 dimensions, or an axis shorter than 2.
        DTypeError: complex input.

    Example:
        >>> ca, (ch, cv, cd) = dwt2(np.ones((2, 4, 6), np.float32), "haar")
        >>> ca.shape, ca.dtype.name, round(float(ca[0, 0, 0]), 5)
        ((2, 2, 3), 'float32', 2.0)
    """
    impl = gpu_impl("dwt2", x)
    if impl is not None:
        return impl(x, wavelet=wavelet, mode=mode, level=level)
    _check_args(wavelet, mode)
    x, was_torch = to_numpy_if_torch(x)
    if not isinstance(level, (int, np.integer)) or level < 1:
        raise InvalidArgumentError(f"level must be an int >= 1, got {level!r}", value=level)
    if level == 1:
        return from_numpy_like(_dwt2_level(x, wavelet, mode), was_torch)
    return from_numpy_like(wavedec2(x, wavelet, mode, level), was_torch)


def idwt2(
    coeffs: Coeffs2 | Sequence[Any], wavelet: str = "bior4.4", mode: str = "periodization"
) -> Any:
    """Inverse 2-D DWT: ``(cA, (cH, cV, cD))`` as ``pywt.idwt2``, or a :func:`wavedec2` list.

    Args:
        coeffs: one level ``(cA, (cH, cV, cD))`` (each (..., h, w)), or the multi-level list
            that ``dwt2(..., level > 1)`` returns.
        wavelet: as used for the transform.
        mode: as used for the transform.

    Returns:
        The reconstruction (..., H, W), float32 for float32 subbands, else float64; torch
        when the subbands are torch CPU tensors.

    Raises:
        InvalidArgumentError: unknown wavelet or mode.
        ShapeError: subband shapes that do not fit together.

    Example:
        >>> x = np.arange(64.0).reshape(8, 8)
        >>> bool(np.allclose(idwt2(dwt2(x, "bior2.2"), "bior2.2"), x))
        True
    """
    if isinstance(coeffs, list):
        first = coeffs[0]
    elif isinstance(coeffs, tuple) and len(coeffs) == 2:
        first = coeffs[0]
    else:
        raise ShapeError("expected (cA, (cH, cV, cD)) or a wavedec2 list")
    impl = gpu_impl("idwt2", first)
    if impl is not None:
        return impl(coeffs, wavelet=wavelet, mode=mode)
    _check_args(wavelet, mode)
    _, was_torch = to_numpy_if_torch(first)
    if was_torch:
        coeffs = _tree_numpy(coeffs)
    if isinstance(coeffs, list):
        out = waverec2(coeffs, wavelet, mode)
    else:
        out = _idwt2_level(coeffs, wavelet, mode)  # type: ignore[arg-type]
    return from_numpy_like(out, was_torch)


def _tree_numpy(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return type(v)(_tree_numpy(e) for e in v)
    return to_numpy_if_torch(v)[0]


def stack_subbands(coeffs: Coeffs2) -> Any:
    """Stack one level's subbands as channels for a model: (..., 4, h, w), order A, H, V, D.

    For an RGB batch (N, 3, H, W) the result is (N, 3, 4, H/2, W/2); reshape to
    (N, 12, H/2, W/2) for the colour-major channel layout.

    Args:
        coeffs: ``(cA, (cH, cV, cD))``, four arrays of one shape.

    Returns:
        A new array (..., 4, h, w).

    Raises:
        ShapeError: the subbands differ in shape (odd sizes with ``"reflect"``).

    Example:
        >>> stack_subbands(dwt2(np.zeros((3, 8, 8)), "haar")).shape
        (3, 4, 4, 4)
    """
    ca, (ch, cv, cd) = coeffs
    xp = array_namespace(ca)
    bands = [xp.asarray(b) for b in (ca, ch, cv, cd)]
    if len({tuple(b.shape) for b in bands}) != 1:
        raise ShapeError(
            f"subbands differ in shape {[tuple(b.shape) for b in bands]}; use even sizes to "
            "stack them"
        )
    return xp.stack(bands, axis=-3)


def unstack_subbands(x: Any) -> Coeffs2:
    """Inverse of :func:`stack_subbands`: (..., 4, h, w) -> ``(cA, (cH, cV, cD))`` views.

    Args:
        x: stacked subbands, axis -3 of length 4.

    Returns:
        ``(cA, (cH, cV, cD))``, views into ``x``.

    Raises:
        ShapeError: axis -3 is not 4 long.

    Example:
        >>> ca, (ch, cv, cd) = unstack_subbands(np.zeros((4, 2, 2)))
        >>> ca.shape
        (2, 2)
    """
    xp = array_namespace(x)
    x = xp.asarray(x)
    if x.ndim < 3 or x.shape[-3] != 4:
        raise ShapeError(f"expected (..., 4, h, w), got {tuple(x.shape)}", shape=tuple(x.shape))
    return x[..., 0, :, :], (x[..., 1, :, :], x[..., 2, :, :], x[..., 3, :, :])
