"""Block-DCT kernels: fused RGB -> selected DCT channels, its inverse, plain block DCT / IDCT.

``plan_*`` functions validate and prepare (shapes, tables, launch geometry) for NumPy or CuPy
arrays and return ``(outputs, launches)``; the public functions run them on the GPU.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from freqpipe.cuda._interop import GpuContext
from freqpipe.cuda._launch import (
    BLOCK,
    Launch,
    Planned,
    block_crop,
    grid_1d,
    plane_count,
    require_c_contiguous,
    run_plan,
)
from freqpipe.cuda._tables import channel_map, out_dtype, pointer, scale_bias, selection_of
from freqpipe.errors import DTypeError, InvalidArgumentError, ShapeError

__all__ = [
    "block_dct_gpu",
    "block_idct_gpu",
    "fused_dct",
    "fused_idct",
    "plan_block_dct",
    "plan_block_idct",
    "plan_fused_dct",
    "plan_fused_idct",
]

_SUFFIX = {"float32": "f32", "float16": "f16", "uint8": "u8"}


def _image_axes(images: Any, layout: str, multiple: int) -> tuple[int, int, int, tuple[int, ...]]:
    """(N, H, W) and element strides (n, c, h, w) of a batch of 3-channel images."""
    if layout not in ("nhwc", "nchw"):
        raise InvalidArgumentError(f"layout must be 'nhwc' or 'nchw', got {layout!r}", value=layout)
    shape = tuple(images.shape)
    c_axis = 3 if layout == "nhwc" else 1
    if len(shape) != 4 or shape[c_axis] != 3:
        want = "(N, H, W, 3)" if layout == "nhwc" else "(N, 3, H, W)"
        raise ShapeError(f"expected {want} images for layout={layout!r}, got {shape}", shape=shape)
    if images.dtype != np.uint8:
        raise DTypeError(f"expected uint8 images, got {images.dtype}", dtype=images.dtype)
    n, h, w = (shape[0], shape[1], shape[2]) if layout == "nhwc" else (shape[0], *shape[2:])
    if h % multiple or w % multiple:
        raise ShapeError(
            f"expected H and W multiples of {multiple}, got {h}x{w}; crop or pad first",
            shape=shape,
        )
    st = tuple(s // images.itemsize for s in images.strides)
    strides = (st[0], st[3], st[1], st[2]) if layout == "nhwc" else st
    return n, h, w, strides


def plan_fused_dct(
    backend: Any,
    images: Any,
    selection: Any = "dct24",
    *,
    layout: Literal["nhwc", "nchw"] = "nhwc",
    colorspace: Literal["rgb", "ycbcr"] = "rgb",
    chroma: Literal["upsample", "separate"] = "upsample",
    dtype: Any = "float32",
    mean: Any = None,
    std: Any = None,
    round_ycbcr: bool = False,
) -> Planned:
    """Prepare the fused forward pass (see :func:`fused_dct` for the arguments).

    Args:
        backend: ``GpuContext`` or ``HostBackend`` (allocation and tables).
        images: uint8 images, NumPy or CuPy.
        selection: see :func:`fused_dct`.
        layout: see :func:`fused_dct`.
        colorspace: see :func:`fused_dct`.
        chroma: see :func:`fused_dct`.
        dtype: see :func:`fused_dct`.
        mean: see :func:`fused_dct`.
        std: see :func:`fused_dct`.
        round_ycbcr: see :func:`fused_dct`.

    Returns:
        ``(outputs, launches)``: the objects to return (one or two) and the launch records.

    Raises:
        ShapeError, DTypeError, InvalidArgumentError, SelectionError: invalid arguments.
    """
    if chroma not in ("upsample", "separate"):
        raise InvalidArgumentError(
            f"chroma must be 'upsample' or 'separate', got {chroma!r}", value=chroma
        )
    if colorspace not in ("rgb", "ycbcr"):
        raise InvalidArgumentError(
            f"colorspace must be 'rgb' or 'ycbcr', got {colorspace!r}", value=colorspace
        )
    dt = out_dtype(dtype)
    sel = selection_of(selection)
    n, h, w, (s_n, s_c, s_h, s_w) = _image_axes(images, layout, 16 if chroma == "separate" else 8)
    src = "rgb" if colorspace == "rgb" else "ycc"
    idx = np.asarray(sel.indices)
    n_chan = len(idx)
    scale, bias = scale_bias(mean, std, n_chan)
    n_y = int((idx < 64).sum())
    groups = [idx] if chroma == "upsample" else [idx[:n_y], idx[n_y:]]
    grids = [(h // 8, w // 8)] if chroma == "upsample" else [(h // 8, w // 8), (h // 16, w // 16)]
    outs: list[Any] = []
    launches: list[Launch] = []
    start = 0
    for g, (hb, wb) in zip(groups, grids, strict=True):
        arr, ret = backend.empty((n, len(g), hb, wb), dt)
        outs.append(ret)
        if len(g) == 0:
            continue
        chan, masks = channel_map(g)
        tables = (
            backend.table(chan, np.int32),
            backend.table(scale[start : start + len(g)], np.float32),
            backend.table(bias[start : start + len(g)], np.float32),
        )
        start += len(g)
        grid, block = grid_1d(n * hb * wb)
        geo = (np.int32(n), np.int32(hb), np.int32(wb))
        strides = tuple(np.int64(s) for s in (s_n, s_c, s_h, s_w))
        tail = (*tables, np.int32(len(g)), np.int32(bool(round_ycbcr)))
        if chroma == "separate" and g is groups[1]:
            name = f"fp_fused_dct420_{src}_{_SUFFIX[dt.name]}"
            args = (images, arr, *geo, *strides, masks[1], masks[2], *tail)
        else:
            variant = _fused_layout(images, layout, (s_n, s_c, s_h, s_w))
            name = f"fp_fused_dct_{src}_{variant}_{_SUFFIX[dt.name]}"
            args = (images, arr, *geo, *strides, *masks, *tail)
        launches.append(Launch("block_dct", name, grid, block, args))
    return tuple(outs), launches


def _fused_layout(images: Any, layout: str, strides: tuple[int, ...]) -> str:
    """Pick the vector-load variant when block rows are contiguous and 8-byte aligned."""
    s_n, s_c, s_h, s_w = strides
    if pointer(images) % 8 or s_n % 8 or s_h % 8:
        return "strided"
    if layout == "nhwc" and (s_w, s_c) == (3, 1):
        return "nhwc"
    if layout == "nchw" and s_w == 1 and s_c % 8 == 0:
        return "nchw"
    return "strided"


def fused_dct(
    images: Any,
    selection: Any = "dct24",
    *,
    layout: Literal["nhwc", "nchw"] = "nhwc",
    colorspace: Literal["rgb", "ycbcr"] = "rgb",
    chroma: Literal["upsample", "separate"] = "upsample",
    dtype: Any = "float32",
    mean: Any = None,
    std: Any = None,
    round_ycbcr: bool = False,
) -> Any:
    """Fused GPU pass: 8-bit images -> YCbCr -> level shift -> 8x8 DCT -> selected channels.

    One kernel reads each pixel once and writes only the selected coefficients, planar, as
    ``image_to_dct192`` followed by ``Selection.select`` (and ``normalize``) would give.

    Args:
        images: uint8 batch, (N, H, W, 3) for ``layout="nhwc"`` or (N, 3, H, W) for
            ``"nchw"`` (any strides); a CuPy array or CUDA torch tensor. H and W multiples
            of 8 (of 16 with ``chroma="separate"``).
        selection: a :class:`~freqpipe.transforms.Selection`, a preset name (``"dct24"``)
            or flat indices in the 192 space (Y 0..63, Cb 64..127, Cr 128..191).
        layout: ``"nhwc"`` or ``"nchw"``.
        colorspace: ``"rgb"`` (converted with conventions §2) or ``"ycbcr"`` (already converted).
        chroma: ``"upsample"``: chroma at full resolution, every plane on the luma grid
            (DCTNet layout). ``"separate"``: 4:2:0 chroma (2x2 means) on its own grid.
        dtype: ``float32`` or ``float16`` output.
        mean: per-output-channel means to subtract (length C), or None.
        std: per-output-channel standard deviations to divide by (length C), or None.
        round_ycbcr: round YCbCr to 8 bits before the DCT, as an encoder or a uint8
            ``rgb_to_ycbcr`` would (default: full float precision, as ``image_to_dct192``).

    Returns:
        ``"upsample"``: (N, C, H/8, W/8). ``"separate"``: ``(y, cbcr)`` with y
        (N, C_y, H/8, W/8) and cbcr (N, C_cb + C_cr, H/16, W/16). Same array type and device
        as ``images``, produced on the caller's current stream.

    Raises:
        MissingExtraError: CuPy is not installed.
        ShapeError, DTypeError, InvalidArgumentError, SelectionError: invalid arguments.

    Example:
        >>> x = torch.zeros((256, 448, 448, 3), dtype=torch.uint8, device="cuda")  # doctest: +SKIP
        >>> fused_dct(x, "dct24", dtype=torch.float16).shape  # doctest: +SKIP
        torch.Size([256, 24, 56, 56])
    """
    outs = run_plan(
        images,
        lambda ctx: plan_fused_dct(
            ctx,
            ctx.asarray(images),
            selection,
            layout=layout,
            colorspace=colorspace,
            chroma=chroma,
            dtype=dtype,
            mean=mean,
            std=std,
            round_ycbcr=round_ycbcr,
        ),
    )
    return outs[0] if chroma == "upsample" else outs


def plan_fused_idct(
    backend: Any,
    coeffs: Any,
    selection: Any = "dct24",
    *,
    output: Literal["rgb", "ycbcr"] = "rgb",
    dtype: Any = "uint8",
    layout: Literal["nchw", "nhwc"] = "nchw",
    mean: Any = None,
    std: Any = None,
    size: tuple[int, int] | None = None,
) -> Planned:
    """Prepare the fused inverse (see :func:`fused_idct` for the arguments).

    Args:
        backend: ``GpuContext`` or ``HostBackend``.
        coeffs: (N, C, hb, wb) float32 / float16 selected channels.
        selection: see :func:`fused_idct`.
        output: see :func:`fused_idct`.
        dtype: see :func:`fused_idct`.
        layout: see :func:`fused_idct`.
        mean: see :func:`fused_idct`.
        std: see :func:`fused_idct`.
        size: see :func:`fused_idct`.

    Returns:
        ``((pixels,), launches)``.

    Raises:
        ShapeError, DTypeError, InvalidArgumentError, SelectionError: invalid arguments.
    """
    if output not in ("rgb", "ycbcr"):
        raise InvalidArgumentError(f"output must be 'rgb' or 'ycbcr', got {output!r}", value=output)
    if layout not in ("nchw", "nhwc"):
        raise InvalidArgumentError(f"layout must be 'nchw' or 'nhwc', got {layout!r}", value=layout)
    sel = selection_of(selection)
    idx = np.asarray(sel.indices)
    shape = tuple(coeffs.shape)
    if len(shape) != 4 or shape[1] != len(idx):
        raise ShapeError(
            f"expected (N, {len(idx)}, hb, wb) coefficients for a {len(idx)}-channel selection, "
            f"got {shape}",
            shape=shape,
        )
    if coeffs.dtype.name not in ("float32", "float16"):
        raise DTypeError(f"expected float32 or float16 coefficients, got {coeffs.dtype}")
    dt = out_dtype(dtype, ("uint8", "float32"))
    n, n_chan, hb, wb = shape
    h, w = block_crop(size, hb, wb, shape)
    require_c_contiguous("coefficients", coeffs)
    out_shape = (n, 3, h, w) if layout == "nchw" else (n, h, w, 3)
    arr, ret = backend.empty(out_shape, dt)
    st = tuple(s // arr.itemsize for s in arr.strides)
    d_strides = st if layout == "nchw" else (st[0], st[3], st[1], st[2])
    scale, bias = scale_bias(mean, std, n_chan)
    chan, masks = channel_map(idx)
    # coef = x * std + mean undoes the normalisation
    inv_scale, inv_bias = (1.0 / scale).astype(np.float32), (-bias / scale).astype(np.float32)
    grid, block = grid_1d(n * hb * wb, BLOCK, y=8)
    space = "rgb" if output == "rgb" else "ycc"
    name = f"fp_fused_idct_{_SUFFIX[coeffs.dtype.name]}_{space}_{_SUFFIX[dt.name]}"
    args = (
        coeffs,
        arr,
        np.int32(n),
        np.int32(hb),
        np.int32(wb),
        np.int32(n_chan),
        *masks,
        backend.table(chan, np.int32),
        backend.table(inv_scale, np.float32),
        backend.table(inv_bias, np.float32),
        *(np.int64(s) for s in d_strides),
        np.int32(h),
        np.int32(w),
    )
    return (ret,), [Launch("block_dct", name, grid, block, args)]


def fused_idct(
    coeffs: Any,
    selection: Any = "dct24",
    *,
    output: Literal["rgb", "ycbcr"] = "rgb",
    dtype: Any = "uint8",
    layout: Literal["nchw", "nhwc"] = "nchw",
    mean: Any = None,
    std: Any = None,
    size: tuple[int, int] | None = None,
) -> Any:
    """Inverse of :func:`fused_dct` (``chroma="upsample"``): selected channels -> pixels.

    Coefficients that are not selected count as zero, so a dct24 batch reconstructs its
    low-pass approximation (for visualising what a model sees).

    Args:
        coeffs: (N, C, H/8, W/8) float32 or float16, C-contiguous; CuPy or CUDA torch.
        selection: the selection the channels came from (C entries).
        output: ``"rgb"`` or ``"ycbcr"`` pixels.
        dtype: ``uint8`` (rounded, clipped) or ``float32`` (neither).
        layout: ``"nchw"`` -> (N, 3, H, W) or ``"nhwc"`` -> (N, H, W, 3).
        mean: the normalisation means used forward (length C), or None.
        std: the normalisation standard deviations used forward (length C), or None.
        size: optional ``(H, W)`` crop of the block grid.

    Returns:
        Pixels, same array type and device as ``coeffs``.

    Raises:
        MissingExtraError: CuPy is not installed.
        ShapeError, DTypeError, InvalidArgumentError, SelectionError: invalid arguments.

    Example:
        >>> rgb = fused_idct(fused_dct(images, "dct64"), "dct64")  # doctest: +SKIP
    """
    return run_plan(
        coeffs,
        lambda ctx: plan_fused_idct(
            ctx,
            ctx.asarray(coeffs),
            selection,
            output=output,
            dtype=dtype,
            layout=layout,
            mean=mean,
            std=std,
            size=size,
        ),
    )[0]


_PLANE_IN = {"uint8": "u8", "int16": "i16", "float16": "f16", "float32": "f32", "float64": "f64"}


def plan_block_dct(backend: Any, x: Any, level_shift: float = 128.0) -> Planned:
    """Prepare ``block_dct`` of a C-contiguous (..., H, W) array (see the NumPy reference).

    Args:
        backend: ``GpuContext`` or ``HostBackend``.
        x: C-contiguous uint8, int16, float16, float32 or float64 array (..., H, W).
        level_shift: subtracted before the transform.

    Returns:
        ``((coefficients,), launches)``; coefficients (..., 64, ceil(H/8), ceil(W/8)),
        float64 for float64 input, else float32.

    Raises:
        ShapeError: fewer than 2 dimensions or an empty plane.
        DTypeError: a dtype without a kernel (convert first).
    """
    shape = tuple(x.shape)
    if len(shape) < 2 or shape[-1] == 0 or shape[-2] == 0:
        raise ShapeError(f"expected (..., H, W) with H, W >= 1, got {shape}", shape=shape)
    if x.dtype.name not in _PLANE_IN:
        raise DTypeError(f"no block_dct kernel for {x.dtype}", dtype=x.dtype)
    require_c_contiguous("array", x)
    *lead, h, w = shape
    hb, wb = -(-h // 8), -(-w // 8)
    kernel = f"fp_plane_dct_{_PLANE_IN[x.dtype.name]}"
    blocks = (*lead, hb, wb)
    return _plane_plan(backend, x, kernel, blocks, (*lead, 64, hb, wb), (h, w, hb, wb), level_shift)


def plan_block_idct(
    backend: Any, c: Any, level_shift: float = 128.0, size: tuple[int, int] | None = None
) -> Planned:
    """Prepare ``block_idct`` of a C-contiguous (..., 64, hb, wb) array.

    Args:
        backend: ``GpuContext`` or ``HostBackend``.
        c: C-contiguous int16, float16, float32 or float64 coefficients.
        level_shift: added after the transform.
        size: optional ``(H, W)`` crop.

    Returns:
        ``((samples,), launches)``; (..., 8 hb, 8 wb) or (..., H, W); float64 for float64
        input, else float32.

    Raises:
        ShapeError: axis -3 is not 64 long, or ``size`` exceeds the block grid.
        DTypeError: a dtype without a kernel (convert first).
    """
    shape = tuple(c.shape)
    if len(shape) < 3 or shape[-3] != 64:
        raise ShapeError(f"expected (..., 64, Hb, Wb), got {shape}", shape=shape)
    name = _PLANE_IN.get(c.dtype.name)
    if name is None or name == "u8":
        raise DTypeError(f"no block_idct kernel for {c.dtype}", dtype=c.dtype)
    require_c_contiguous("coefficients", c)
    *lead, _, hb, wb = shape
    h, w = block_crop(size, hb, wb, shape)
    kernel = f"fp_plane_idct_{name}"
    blocks = (*lead, hb, wb)
    return _plane_plan(backend, c, kernel, blocks, (*lead, h, w), (hb, wb, h, w), level_shift)


def _plane_plan(
    backend: Any,
    src: Any,
    kernel: str,
    blocks: tuple[int, ...],
    out_shape: tuple[int, ...],
    sizes: tuple[int, int, int, int],
    level_shift: float,
) -> Planned:
    """The one launch of ``fp_plane_dct_*`` / ``fp_plane_idct_*``: a thread per 8x8 block.

    ``blocks`` is the block grid (..., Hb, Wb); ``sizes`` are the kernel's four int
    parameters, (H, W, Hb, Wb) forward and (Hb, Wb, H, W) inverse. Float64 computes in
    float64, everything else in float32.
    """
    n_planes = plane_count(blocks[:-2])
    ct = np.float64 if src.dtype == np.float64 else np.float32
    arr, ret = backend.empty(out_shape, ct)
    grid, block = grid_1d(plane_count(blocks))
    args = (src, arr, np.int64(n_planes), *(np.int32(v) for v in sizes), ct(level_shift))
    return (ret,), [Launch("block_dct", kernel, grid, block, args)]


def _plane_input(ctx: GpuContext, x: Any, kernel_dtypes: tuple[str, ...]) -> Any:
    a = ctx.asarray(x)
    if a.dtype.kind not in "biuf":
        raise DTypeError(f"expected a real dtype, got {a.dtype}", dtype=a.dtype)
    if a.dtype.name not in kernel_dtypes:
        a = a.astype(np.float32)  # the reference computes integers in float32 too
    return ctx.cupy.ascontiguousarray(a)


def block_dct_gpu(x: Any, *, level_shift: float = 128.0) -> Any:
    """GPU body of :func:`freqpipe.transforms.block_dct` (same arguments and result).

    Args:
        x: (..., H, W) CuPy array or CUDA torch tensor.
        level_shift: subtracted before the transform.

    Returns:
        (..., 64, ceil(H/8), ceil(W/8)) coefficients; float64 for float64, else float32.

    Example:
        >>> block_dct(cupy.zeros((16, 16), cupy.uint8)).shape  # doctest: +SKIP
        (64, 2, 2)
    """
    return run_plan(
        x, lambda ctx: plan_block_dct(ctx, _plane_input(ctx, x, tuple(_PLANE_IN)), level_shift)
    )[0]


def block_idct_gpu(
    c: Any, *, level_shift: float = 128.0, size: tuple[int, int] | None = None
) -> Any:
    """GPU body of :func:`freqpipe.transforms.block_idct` (same arguments and result).

    Args:
        c: (..., 64, Hb, Wb) CuPy array or CUDA torch tensor.
        level_shift: added after the transform.
        size: optional ``(H, W)`` crop.

    Returns:
        (..., 8 Hb, 8 Wb) or (..., H, W) samples; float64 for float64, else float32.

    Example:
        >>> block_idct(cupy.zeros((64, 2, 2), cupy.float32)).shape  # doctest: +SKIP
        (16, 16)
    """
    kernel_dtypes = ("int16", "float16", "float32", "float64")
    return run_plan(
        c, lambda ctx: plan_block_idct(ctx, _plane_input(ctx, c, kernel_dtypes), level_shift, size)
    )[0]
