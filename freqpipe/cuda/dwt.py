"""Lifting DWT kernels: haar, bior2.2, bior4.4; periodization, reflect; batched.

One launch per level; multi-level transforms loop over levels on the approximation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from freqpipe.cuda._interop import GpuContext
from freqpipe.cuda._launch import (
    Launch,
    Planned,
    grid_1d,
    plane_count,
    require_c_contiguous,
    run,
)
from freqpipe.cuda._tables import out_dtype, pointer
from freqpipe.errors import DTypeError, InvalidArgumentError, ShapeError
from freqpipe.transforms.wavelets import MODES, WAVELETS

__all__ = ["dwt2", "idwt2", "plan_dwt2_level", "plan_idwt2_level"]

_WNAME = {"haar": "haar", "bior2.2": "bior22", "bior4.4": "bior44"}
_T = {"float32": "f32", "float16": "f16"}
#: output columns per thread (FP_DWT_P in dwt.cu)
_P = 4
#: output rows per thread: long enough to amortise the vertical halo, short enough for
#: enough threads on small images
_SEG_ROWS = 16


def _check(wavelet: str, mode: str) -> None:
    if wavelet not in WAVELETS:
        raise InvalidArgumentError(f"unknown wavelet {wavelet!r}; valid: {', '.join(WAVELETS)}")
    if mode not in MODES:
        raise InvalidArgumentError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")


def _detail_len(n: int, wavelet: str, mode: str) -> int:
    return n // 2 if (mode == "reflect" and wavelet != "haar") else (n + 1) // 2


def plan_dwt2_level(backend: Any, x: Any, wavelet: str, mode: str, dtype: Any = None) -> Planned:
    """Prepare one forward level: (..., H, W) -> cA, cH, cV, cD as the NumPy reference.

    Args:
        backend: ``GpuContext`` or ``HostBackend``.
        x: C-contiguous float32 or float16 (..., H, W), H, W >= 2.
        wavelet: ``"haar"``, ``"bior2.2"`` or ``"bior4.4"``.
        mode: ``"periodization"`` or ``"reflect"``.
        dtype: output dtype (float32 / float16); None keeps the input's.

    Returns:
        ``((cA, cH, cV, cD), launches)``.

    Raises:
        InvalidArgumentError, ShapeError, DTypeError: invalid arguments.
    """
    _check(wavelet, mode)
    if x.dtype.name not in _T:
        raise DTypeError(f"no DWT kernel for {x.dtype}", dtype=x.dtype)
    shape = tuple(x.shape)
    if len(shape) < 2 or min(shape[-2:]) < 2:
        raise ShapeError(f"expected (..., H, W) with H, W >= 2, got {shape}", shape=shape)
    require_c_contiguous("array", x)
    dt = out_dtype(dtype if dtype is not None else x.dtype)
    *lead, h, w = shape
    hs, ws = (h + 1) // 2, (w + 1) // 2
    hd, wd = _detail_len(h, wavelet, mode), _detail_len(w, wavelet, mode)
    outs = [backend.empty((*lead, a, b), dt) for a, b in ((hs, ws), (hd, ws), (hs, wd), (hd, wd))]
    n_planes = plane_count(lead)
    n_threads = n_planes * (-(-hs // _SEG_ROWS)) * (-(-ws // _P))
    grid, block = grid_1d(n_threads)
    vec_ok = w % 4 == 0 and pointer(x) % 16 == 0
    name = f"fp_dwt2_fwd_{_WNAME[wavelet]}_{mode}_{_T[x.dtype.name]}_{_T[dt.name]}"
    args = (
        x,
        *(o[0] for o in outs),
        np.int64(n_planes),
        np.int32(h),
        np.int32(w),
        np.int32(_SEG_ROWS),
        np.int32(vec_ok),
    )
    return tuple(o[1] for o in outs), [Launch("dwt", name, grid, block, args)]


def plan_idwt2_level(
    backend: Any, coeffs: tuple[Any, Any, Any, Any], wavelet: str, mode: str, dtype: Any = None
) -> Planned:
    """Prepare one inverse level: (cA, cH, cV, cD) -> (..., H, W).

    Args:
        backend: ``GpuContext`` or ``HostBackend``.
        coeffs: four C-contiguous subbands of one dtype, shaped as the forward level makes.
        wavelet: as the forward transform.
        mode: as the forward transform.
        dtype: output dtype; None keeps the input's.

    Returns:
        ``((x,), launches)``.

    Raises:
        InvalidArgumentError, ShapeError, DTypeError: invalid arguments.
    """
    _check(wavelet, mode)
    ca = coeffs[0]
    if any(c.dtype != ca.dtype for c in coeffs) or ca.dtype.name not in _T:
        raise DTypeError(
            f"expected four float32 or float16 subbands of one dtype, got "
            f"{[str(c.dtype) for c in coeffs]}",
            dtype=ca.dtype,
        )
    shapes = [tuple(c.shape) for c in coeffs]
    lead, (hs, ws) = shapes[0][:-2], shapes[0][-2:]
    hd, wd = shapes[3][-2:]
    h = hs + hd if (mode == "reflect" and wavelet != "haar") else 2 * hs
    w = ws + wd if (mode == "reflect" and wavelet != "haar") else 2 * ws
    want = [(*lead, a, b) for a, b in ((hs, ws), (hd, ws), (hs, wd), (hd, wd))]
    if (
        shapes != want
        or hs < 1
        or ws < 1
        or _detail_len(h, wavelet, mode) != hd
        or _detail_len(w, wavelet, mode) != wd
    ):
        raise ShapeError(f"inconsistent subband shapes (cA, cH, cV, cD) = {shapes}")
    require_c_contiguous("subbands", *coeffs)
    dt = out_dtype(dtype if dtype is not None else ca.dtype)
    arr, ret = backend.empty((*lead, h, w), dt)
    n_planes = plane_count(lead)
    grid, block = grid_1d(n_planes * (-(-hs // _SEG_ROWS)) * (-(-ws // _P)))
    name = f"fp_dwt2_inv_{_WNAME[wavelet]}_{mode}_{_T[ca.dtype.name]}_{_T[dt.name]}"
    args = (*coeffs, arr, np.int64(n_planes), np.int32(h), np.int32(w), np.int32(_SEG_ROWS))
    return (ret,), [Launch("dwt", name, grid, block, args)]


def _work_dtype(ctx: GpuContext, a: Any) -> tuple[Any, str | None]:
    """Kernel-ready array and the output dtype the reference gives (None: no kernel)."""
    if a.dtype.name in ("float32", "float16"):
        return ctx.cupy.ascontiguousarray(a), "float32"
    return a, None


def dwt2(
    x: Any,
    wavelet: str = "bior4.4",
    mode: str = "periodization",
    level: int = 1,
    *,
    dtype: Any = None,
) -> Any:
    """GPU body of :func:`freqpipe.transforms.dwt2` (same arguments and result layout).

    float32 and float16 input run the lifting kernels (float32 arithmetic); the result is
    float32, as the reference, unless ``dtype="float16"`` asks for half-precision output.
    float64 and integer input are computed by the reference maths on CuPy (float64).

    Args:
        x: (..., H, W) CuPy array or CUDA torch tensor.
        wavelet: ``"haar"``, ``"bior2.2"`` or ``"bior4.4"``.
        mode: ``"periodization"`` or ``"reflect"``.
        level: number of levels; 1 gives ``(cA, (cH, cV, cD))``, more the wavedec2 list.
        dtype: None (as the reference) or ``"float16"`` / ``"float32"`` output.

    Returns:
        ``(cA, (cH, cV, cD))`` or ``[cAn, (cHn, cVn, cDn), ..., (cH1, cV1, cD1)]``, same
        array type and device as ``x``.

    Raises:
        InvalidArgumentError, ShapeError, DTypeError: invalid arguments.
        MissingExtraError: CuPy is not installed.

    Example:
        >>> ca, (ch, cv, cd) = dwt2(torch_cuda_batch, "bior4.4")  # doctest: +SKIP
    """
    _check(wavelet, mode)
    if not isinstance(level, (int, np.integer)) or level < 1:
        raise InvalidArgumentError(f"level must be an int >= 1, got {level!r}", value=level)
    ctx = GpuContext(x)
    with ctx.active():
        a, ref_dtype = _work_dtype(ctx, ctx.asarray(x))
        if ref_dtype is None:
            from freqpipe.transforms.wavelets import _dwt2_level, wavedec2

            res: Any = (
                _dwt2_level(a, wavelet, mode) if level == 1 else wavedec2(a, wavelet, mode, level)
            )
            return _wrap_tree(ctx, res)
        dt = dtype if dtype is not None else ref_dtype
        details = []
        approx = a
        for _ in range(int(level)):
            outs, launches = plan_dwt2_level(ctx, approx, wavelet, mode, dt)
            run(launches)
            details.append(tuple(outs[1:]))
            approx = ctx.asarray(outs[0])
        first = outs[0]  # already the caller's type: no round trip through DLPack
    if level == 1:
        return first, details[0]
    return [first, *reversed(details)]


def _wrap_tree(ctx: GpuContext, v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return type(v)(_wrap_tree(ctx, e) for e in v)
    return ctx.wrap(v)


def idwt2(
    coeffs: Any, wavelet: str = "bior4.4", mode: str = "periodization", *, dtype: Any = None
) -> Any:
    """GPU body of :func:`freqpipe.transforms.idwt2`: one level or a wavedec2 list.

    Args:
        coeffs: ``(cA, (cH, cV, cD))`` or ``[cAn, (cHn, cVn, cDn), ..., (cH1, cV1, cD1)]``
            of CuPy arrays or CUDA torch tensors.
        wavelet: as the forward transform.
        mode: as the forward transform.
        dtype: None (float32, as the reference, for float32/float16 subbands) or
            ``"float16"``.

    Returns:
        The reconstruction (..., H, W), same array type and device as the subbands.

    Raises:
        InvalidArgumentError, ShapeError, DTypeError: invalid arguments.

    Example:
        >>> x = idwt2(dwt2(batch))  # doctest: +SKIP
    """
    _check(wavelet, mode)
    if isinstance(coeffs, list):
        levels = [tuple(d) for d in coeffs[1:]]
        first = coeffs[0]
    else:
        first, det = coeffs
        levels = [tuple(det)]
    ctx = GpuContext(first)
    with ctx.active():
        a = ctx.asarray(first)
        dets = [tuple(ctx.asarray(d) for d in lv) for lv in levels]
        kinds = {a.dtype.name} | {d.dtype.name for lv in dets for d in lv}
        if not kinds <= {"float32", "float16"}:
            from freqpipe.transforms.wavelets import _idwt2_level, waverec2

            res = (
                waverec2([a, *dets], wavelet, mode)
                if isinstance(coeffs, list)
                else _idwt2_level((a, dets[0]), wavelet, mode)
            )
            return ctx.wrap(res)
        dt = dtype if dtype is not None else "float32"
        result = None
        for lv in dets:
            ch, cv, cd = lv
            want = (cv.shape[-2], ch.shape[-1])
            if tuple(a.shape[-2:]) != want:
                if a.shape[-2] < want[0] or a.shape[-1] < want[1]:
                    raise ShapeError(f"approximation {tuple(a.shape)} too small for {want}")
                a = a[..., : want[0], : want[1]]
            subbands = tuple(
                ctx.cupy.ascontiguousarray(c.astype(np.dtype(dt), copy=False))
                if len(kinds) > 1
                else ctx.cupy.ascontiguousarray(c)
                for c in (a, ch, cv, cd)
            )
            outs, launches = plan_idwt2_level(ctx, subbands, wavelet, mode, dt)
            run(launches)
            result = outs[0]  # the caller's type already
            a = ctx.asarray(result)
        return ctx.wrap(a) if result is None else result
