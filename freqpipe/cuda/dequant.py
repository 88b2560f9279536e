"""Dequantisation kernel: quantised int16 / int8 coefficients -> normalised float on the GPU.

This is what the loader runs after the host-to-device copy of a batch of selected, still
quantised channels and their per-image quant values (DESIGN, data flow).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from freqpipe.cuda._launch import Launch, Planned, grid_1d, require_c_contiguous, run_plan
from freqpipe.cuda._tables import out_dtype, pointer, scale_bias
from freqpipe.errors import DTypeError, ShapeError

__all__ = ["dequantize", "plan_dequantize"]

_IN = {"int16": "i16", "int8": "i8"}
_OUT = {"float32": "f32", "float16": "f16"}
_VEC = 8


def plan_dequantize(
    backend: Any,
    q: Any,
    quant: Any,
    *,
    chroma: Any = None,
    mean: Any = None,
    std: Any = None,
    dtype: Any = "float32",
) -> Planned:
    """Prepare :func:`dequantize` (same arguments; ``quant`` already float32 and contiguous).

    Args:
        backend: ``GpuContext`` or ``HostBackend``.
        q: (N, C_y, h, w) int16 / int8, C-contiguous.
        quant: (N, C_y + C_c) float32, C-contiguous.
        chroma: None or (N, C_c, hc, wc), same dtype as ``q``, C-contiguous.
        mean: see :func:`dequantize`.
        std: see :func:`dequantize`.
        dtype: see :func:`dequantize`.

    Returns:
        ``((out,), launches)``.

    Raises:
        ShapeError, DTypeError: invalid arguments.
    """
    if q.dtype.name not in _IN:
        raise DTypeError(f"expected int16 or int8 coefficients, got {q.dtype}", dtype=q.dtype)
    if q.ndim != 4:
        raise ShapeError(f"expected (N, C, h, w) coefficients, got {tuple(q.shape)}", shape=q.shape)
    n, n_y, h, w = (int(v) for v in q.shape)
    if chroma is not None:
        if chroma.dtype != q.dtype or chroma.ndim != 4 or int(chroma.shape[0]) != n:
            raise ShapeError(
                f"chroma must be (N={n}, C_c, hc, wc) of {q.dtype}, got "
                f"{tuple(chroma.shape)} {chroma.dtype}",
                shape=tuple(chroma.shape),
            )
        n_c, hc, wc = (int(v) for v in chroma.shape[1:])
        ry, rx = (-(-h // hc) if hc else 1), (-(-w // wc) if wc else 1)
        if n_c and (hc == 0 or wc == 0 or (hc - 1) * ry >= h or (wc - 1) * rx >= w):
            raise ShapeError(
                f"chroma grid {hc}x{wc} is not an integer subsampling of the luma grid {h}x{w}",
                shape=tuple(chroma.shape),
            )
    else:
        n_c, hc, wc, ry, rx = 0, 1, 1, 1, 1
    n_chan = n_y + n_c
    if tuple(quant.shape) != (n, n_chan):
        raise ShapeError(
            f"expected quant of shape (N, C) = {(n, n_chan)}, got {tuple(quant.shape)}",
            shape=tuple(quant.shape),
        )
    require_c_contiguous("inputs", q, quant, *(() if chroma is None else (chroma,)))
    dt = out_dtype(dtype)
    scale, bias = scale_bias(mean, std, n_chan)
    arr, ret = backend.empty((n, n_chan, h, w), dt)
    vec = (
        w % _VEC == 0
        and all(pointer(a) % 16 == 0 for a in (q, arr))
        and (chroma is None or pointer(chroma) % 16 == 0)
    )
    v = _VEC if vec else 1
    grid, block = grid_1d(n * n_chan * h * (w // v))
    args = (
        q,
        chroma if chroma is not None else q,
        quant,
        backend.table(scale, np.float32),
        backend.table(bias, np.float32),
        arr,
        *(np.int32(x) for x in (n, n_y, n_c, h, w, hc, wc, ry, rx)),
    )
    name = f"fp_dequant_{_IN[q.dtype.name]}_{_OUT[dt.name]}_v{v}"
    return (ret,), [Launch("dequant", name, grid, block, args)]


def dequantize(
    q: Any,
    quant: Any,
    *,
    chroma: Any = None,
    mean: Any = None,
    std: Any = None,
    dtype: Any = "float32",
) -> Any:
    """Dequantise and normalise selected JPEG coefficients on the GPU, in one pass.

    ``out[n, c] = (q[n, c] * quant[n, c] - mean[c]) / std[c]``. With ``chroma``, its
    channels follow the luma ones and each chroma block is repeated over the luma blocks it
    covers (``align_chroma(mode="upsample")``; factors from the grids, 2x2 for 4:2:0).

    Args:
        q: quantised luma (or all same-grid) channels, (N, C_y, h, w) int16 or int8;
            CuPy or CUDA torch, C-contiguous.
        quant: per-image quant value of each output channel, (N, C_y + C_c), any real dtype
            (uint16 as a JPEG's tables); same device.
        chroma: None, or (N, C_c, hc, wc) chroma channels on their own grid, dtype of ``q``.
        mean: per-channel means (length C_y + C_c) or None.
        std: per-channel standard deviations or None.
        dtype: ``float32`` or ``float16`` output.

    Returns:
        (N, C_y + C_c, h, w) in ``dtype``, same array type and device as ``q``, produced on
        the caller's current stream.

    Raises:
        MissingExtraError: CuPy is not installed.
        ShapeError, DTypeError: invalid arguments.

    Example:
        >>> x = dequantize(q_int16_cuda, quant_cuda, dtype=torch.float16)  # doctest: +SKIP
    """
    return run_plan(
        q,
        lambda ctx: plan_dequantize(
            ctx,
            ctx.asarray(q),
            ctx.cupy.ascontiguousarray(ctx.asarray(quant), dtype=np.float32),
            chroma=None if chroma is None else ctx.asarray(chroma),
            mean=mean,
            std=std,
            dtype=dtype,
        ),
    )[0]
