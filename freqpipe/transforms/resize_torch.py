"""Batched DCT-domain resizing in torch: one code path for CPU and CUDA tensors.

The maths is that of :mod:`freqpipe.transforms.resize` (the NumPy reference, which the tests
compare against): per image and axis ``T = B_out R U B_inᵀ``, then ``T_v · C · T_hᵀ`` on the
coefficient image. Here the per-image matrices are built on the tensors' device from the
boxes, with only the rows of the requested output frequencies, and applied as batched matrix
products, so a loader's device stage turns a batch of dequantised coefficient windows into the
coefficients of RandomResizedCrop'd, flipped images without leaving the device.

Importing this module imports torch; :mod:`freqpipe.transforms` itself does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from freqpipe.errors import InvalidArgumentError, ShapeError
from freqpipe.transforms.dct import dct_matrix

__all__ = ["dct_resize_matrices", "resize_dct_batch"]


def _pillow_bilinear(
    start: torch.Tensor, end: torch.Tensor, within: torch.Tensor, out_size: int, samples: int
) -> torch.Tensor:
    """(N, out_size, samples) Pillow bilinear weights reading only ``within``, (N, 2) int.

    As :func:`freqpipe.transforms.resize.resize_matrix`: Pillow's resize of the image cut to
    ``within``, the box relative to the cut handed to C as float32 and subtracted in float32.
    Each output sample has at most ``2 support + 2`` taps, so the weights are computed on the
    taps and scattered into the (otherwise zero) matrix.
    """
    device = start.device
    cut, stop = within[:, 0].to(torch.int64), within[:, 1].to(torch.int64)
    start32 = (start - cut).to(torch.float32)
    end32 = (end - cut).to(torch.float32)
    scale = (end32 - start32).to(torch.float64) / out_size  # (N,)
    filterscale = torch.clamp(scale, min=1.0)
    i = torch.arange(out_size, dtype=torch.float64, device=device)
    center = start32.to(torch.float64)[:, None] + (i[None, :] + 0.5) * scale[:, None]
    support = filterscale[:, None]  # the triangle filter's support is 1, stretched
    first = torch.clamp(torch.trunc(center - support + 0.5), min=0).to(torch.int64)
    taps = math.ceil(2 * float(filterscale.max())) + 2
    j = first[..., None] + torch.arange(taps, device=device)  # (N, out, taps), cut's pixels
    x = (j.to(torch.float64) - center[..., None] + 0.5) / filterscale[:, None, None]
    w = torch.clamp(1.0 - x.abs(), min=0.0) * (j < (stop - cut)[:, None, None])
    total = w.sum(dim=-1, keepdim=True)
    w = w / torch.where(total == 0, torch.ones_like(total), total)
    out = torch.zeros(start.shape[0], out_size, samples, dtype=torch.float64, device=device)
    return out.scatter_add_(2, (j + cut[:, None, None]).clamp(max=samples - 1), w)


def _cover(start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """(N, 2) the whole pixels covering each box: the default crop the filter reads."""
    return torch.stack([torch.floor(start), torch.ceil(end)], dim=1).to(torch.int64)


def _upsample_columns(
    t: torch.Tensor, component: torch.Tensor, fancy: torch.Tensor, samples: int
) -> torch.Tensor:
    """``t @ U`` for libjpeg's 2x upsampling ``U`` of components ``component`` wide.

    ``t`` is (N, R, 2 samples) over full-resolution samples; the result (N, R, samples) is
    over component samples. ``U`` is never built: each output sample is 3/4 of its nearest
    component sample and 1/4 of the next (the component's last sample replicated at its end),
    or the nearest alone where libjpeg replicates (``fancy`` False), as
    :func:`freqpipe.transforms.resize.upsample_matrix`.
    """
    n, rows, _ = t.shape
    i = torch.arange(samples, device=t.device)
    last = (component - 1).clamp(min=0)[:, None]
    index = [
        torch.minimum(j[None, :], last)[:, None, :].expand(n, rows, samples)
        for j in (i, torch.clamp(i - 1, min=0), i + 1)
    ]
    near = torch.where(fancy, 0.75, 1.0).to(t.dtype)[:, None, None]
    far = torch.where(fancy, 0.25, 0.0).to(t.dtype)[:, None, None]
    even, odd = t[..., 0::2], t[..., 1::2]
    out = torch.zeros(n, rows, samples, dtype=t.dtype, device=t.device)
    out.scatter_add_(2, index[0], (even + odd) * near)
    out.scatter_add_(2, index[1], even * far)
    out.scatter_add_(2, index[2], odd * far)
    return out


def dct_resize_matrices(
    start: torch.Tensor,
    end: torch.Tensor,
    extent: torch.Tensor,
    out_size: int,
    in_blocks: int,
    *,
    factor: int = 1,
    fancy: torch.Tensor | None = None,
    flip: torch.Tensor | None = None,
    frequencies: Sequence[int] | None = None,
    within: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Per-image ``T = B_out R U B_inᵀ`` along one axis, built on the boxes' device.

    The block-diagonal DCTs and the upsampling are applied block by block (never as dense
    matrices), and only the rows of the requested output frequencies are made.

    Args:
        start: (N,) box starts in full-resolution pixels of each window.
        end: (N,) box ends.
        extent: (N,) each window's valid full-resolution extent (its image size on this axis),
            which sets the chroma component's size.
        out_size: output samples, a multiple of 8.
        in_blocks: blocks of the coefficient windows on this axis.
        factor: the component's subsampling on this axis (1 or 2).
        fancy: (N,) bool, libjpeg's triangle upsampling per image (default all True).
        flip: (N,) bool, mirror the output along this axis (an exact horizontal flip when
            applied to the width axis).
        frequencies: the output frequencies along this axis to keep (sorted, 0..7; default
            all eight); rows come block-major: row ``b * F + f``.
        within: (N, 2) int, ``(first, stop)`` of the pixels the filter may read (default the
            box's integer cover: crop, then resize; see
            :func:`freqpipe.transforms.resize.resize_matrix`).
        dtype: floating dtype of the result (the matrices are built in float64).

    Returns:
        (N, out_size / 8 * F, 8 in_blocks).

    Raises:
        InvalidArgumentError: ``out_size`` not a multiple of 8, a factor other than 1 or 2.

    Example:
        >>> s, e = torch.tensor([0.0]), torch.tensor([16.0])
        >>> t = dct_resize_matrices(s, e, torch.tensor([16]), 16, 2, dtype=torch.float64)
        >>> bool(torch.allclose(t[0], torch.eye(16, dtype=torch.float64)))
        True
    """
    if out_size < 8 or out_size % 8:
        raise InvalidArgumentError(f"out_size must be a positive multiple of 8, got {out_size}")
    if factor not in (1, 2):
        raise InvalidArgumentError(f"chroma factor must be 1 or 2, got {factor}", value=factor)
    n, device = start.shape[0], start.device
    samples = 8 * in_blocks  # component samples of a window
    fancy = torch.ones(n, dtype=torch.bool, device=device) if fancy is None else fancy
    within = _cover(start, end) if within is None else within.to(device)
    r = _pillow_bilinear(start, end, within, out_size, factor * samples)
    if flip is not None:
        r = torch.where(flip[:, None, None], r.flip(1), r)
    m = torch.as_tensor(dct_matrix(), dtype=torch.float64, device=device)
    kept = m if frequencies is None else m[list(frequencies)]
    # B_out: each output block's rows mix only that block's eight samples
    t = torch.einsum("fk,nbkp->nbfp", kept, r.reshape(n, out_size // 8, 8, -1))
    t = t.reshape(n, -1, r.shape[-1])
    if factor != 1:
        component = torch.div(extent + factor - 1, factor, rounding_mode="floor")
        t = _upsample_columns(t, component, fancy, samples)
    # B_in transposed, block by block: samples of input block b' <- its coefficients
    t = (t.reshape(n, t.shape[1], in_blocks, 8) @ m.T).reshape(n, t.shape[1], samples)
    return t.to(dtype)


def resize_dct_batch(
    coeffs: torch.Tensor,
    boxes: torch.Tensor,
    size: int | tuple[int, int],
    *,
    extent: torch.Tensor,
    factor: tuple[int, int] = (1, 1),
    frequencies: Sequence[int] | None = None,
    flip: torch.Tensor | None = None,
    within: torch.Tensor | None = None,
) -> torch.Tensor:
    """Coefficients of each window's box resized to ``size``, from coefficients only.

    Per image this equals :func:`freqpipe.transforms.resize.resize_dct` of the window (with
    ``image_size`` its extent), optionally mirrored horizontally.

    Args:
        coeffs: (N, 64, Hb, Wb) dequantised coefficient windows of one component, natural
            order, float (CPU or CUDA).
        boxes: (N, 4) ``(left, top, right, bottom)`` in full-resolution pixels of each window.
        size: output ``(height, width)`` or one int, multiples of 8.
        extent: (N, 2) ``(height, width)`` valid full-resolution extent of each window.
        factor: ``(vertical, horizontal)`` subsampling of the component (1 or 2 each).
        frequencies: natural-order output frequencies (default all 64).
        flip: (N,) bool, horizontal flip per image.
        within: (N, 4) int ``(left, top, right, bottom)``, the pixels each filter may read;
            default each box's integer cover, torchvision's crop (see
            :func:`freqpipe.transforms.resize.resize_dct`).

    Returns:
        (N, F, height / 8, width / 8) in ``coeffs``' dtype, on its device.

    Raises:
        ShapeError: ``coeffs`` not (N, 64, Hb, Wb), or ``boxes`` / ``extent`` not (N, 4) / (N, 2).
        InvalidArgumentError: bad sizes, factors or frequencies.

    Example:
        >>> c = torch.zeros(2, 64, 3, 4)
        >>> boxes = torch.tensor([[0.0, 0.0, 32.0, 24.0], [4.5, 2.0, 20.0, 22.0]])
        >>> out = resize_dct_batch(c, boxes, 16, extent=torch.tensor([[24, 32], [24, 32]]),
        ...                        frequencies=[0, 1, 8])
        >>> tuple(out.shape)
        (2, 3, 2, 2)
    """
    if coeffs.ndim != 4 or coeffs.shape[1] != 64:
        raise ShapeError(f"expected (N, 64, Hb, Wb), got {tuple(coeffs.shape)}")
    n, _, hb, wb = coeffs.shape
    if tuple(boxes.shape) != (n, 4) or tuple(extent.shape) != (n, 2):
        raise ShapeError(
            f"expected boxes (N, 4) and extent (N, 2) for N = {n}, "
            f"got {tuple(boxes.shape)} and {tuple(extent.shape)}"
        )
    if within is not None and tuple(within.shape) != (n, 4):
        raise ShapeError(f"expected within (N, 4) for N = {n}, got {tuple(within.shape)}")
    out_h, out_w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    freqs = np.arange(64) if frequencies is None else np.asarray(frequencies, dtype=np.int64)
    if freqs.ndim != 1 or freqs.size == 0 or freqs.min() < 0 or freqs.max() > 63:
        raise InvalidArgumentError(f"frequencies must be natural-order indices 0..63, got {freqs}")
    vs, us = np.unique(freqs // 8), np.unique(freqs % 8)
    device, dtype = coeffs.device, coeffs.dtype
    boxes = boxes.to(device=device, dtype=torch.float64)
    extent = extent.to(device=device)
    width_component = torch.div(extent[:, 1] + factor[1] - 1, factor[1], rounding_mode="floor")
    # jdsample.c: 2x-horizontal components at most two samples wide are replicated
    fancy = ~((factor[1] == 2) & (width_component <= 2))
    t_v = dct_resize_matrices(
        boxes[:, 1],
        boxes[:, 3],
        extent[:, 0],
        out_h,
        hb,
        factor=factor[0],
        fancy=fancy,
        frequencies=vs.tolist(),
        within=None if within is None else within[:, 1::2],
        dtype=dtype,
    )
    t_h = dct_resize_matrices(
        boxes[:, 0],
        boxes[:, 2],
        extent[:, 1],
        out_w,
        wb,
        factor=factor[1],
        fancy=fancy,
        flip=flip,
        frequencies=us.tolist(),
        within=None if within is None else within[:, 0::2],
        dtype=dtype,
    )
    img = coeffs.reshape(n, 8, 8, hb, wb).permute(0, 3, 1, 4, 2).reshape(n, 8 * hb, 8 * wb)
    out = t_v @ img @ t_h.transpose(1, 2)  # (N, Hb' V, Wb' U)
    out = out.reshape(n, out_h // 8, len(vs), out_w // 8, len(us)).permute(0, 2, 4, 1, 3)
    vi = torch.as_tensor(np.searchsorted(vs, freqs // 8), device=device)
    ui = torch.as_tensor(np.searchsorted(us, freqs % 8), device=device)
    return out[:, vi, ui]
