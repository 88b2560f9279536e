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

from collections.abc import Sequence

import numpy as np
import torch

from freqpipe.errors import InvalidArgumentError, ShapeError
from freqpipe.transforms.dct import dct_matrix

__all__ = ["dct_resize_matrices", "resize_dct_batch"]


def _block_dct(blocks: int, *, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    m = torch.as_tensor(dct_matrix(), dtype=dtype, device=device)
    return torch.block_diag(*([m] * blocks)) if blocks else m[:0, :0]


def _pillow_bilinear(
    start: torch.Tensor, end: torch.Tensor, extent: torch.Tensor, out_size: int, samples: int
) -> torch.Tensor:
    """(N, out_size, samples) Pillow bilinear weights; source samples at or past ``extent`` unused.

    Pillow hands the box to C as float32 and subtracts in float32 (as the NumPy reference).
    """
    start32, end32 = start.to(torch.float32), end.to(torch.float32)
    scale = (end32 - start32).to(torch.float64) / out_size  # (N,)
    filterscale = torch.clamp(scale, min=1.0)
    i = torch.arange(out_size, dtype=torch.float64, device=start.device)
    center = start32.to(torch.float64)[:, None] + (i[None, :] + 0.5) * scale[:, None]
    j = torch.arange(samples, dtype=torch.float64, device=start.device)
    x = (j[None, None, :] - center[:, :, None] + 0.5) / filterscale[:, None, None]
    w = torch.clamp(1.0 - x.abs(), min=0.0)
    w = w * (j[None, None, :] < extent[:, None, None].to(torch.float64))
    total = w.sum(dim=-1, keepdim=True)
    return w / torch.where(total == 0, torch.ones_like(total), total)


def _libjpeg_upsample(component: torch.Tensor, fancy: torch.Tensor, samples: int) -> torch.Tensor:
    """(N, 2 samples, samples): libjpeg's 2x upsampling of components ``component`` wide.

    Fancy: 3/4 of the nearest sample and 1/4 of the next, replicating the component's last
    sample at its end; otherwise plain replication (as :func:`~freqpipe.transforms.resize.
    upsample_matrix`).
    """
    device = component.device
    i = torch.arange(samples, device=device)
    last = (component - 1).clamp(min=0)[:, None]
    here = torch.minimum(i[None, :], last)[..., None]  # (N, samples, 1)
    left = torch.minimum(torch.clamp(i - 1, min=0)[None, :], last)[..., None]
    right = torch.minimum((i + 1)[None, :], last)[..., None]
    j = i[None, None, :]
    even = 0.75 * (j == here) + 0.25 * (j == left)
    odd = 0.75 * (j == here) + 0.25 * (j == right)
    tri = torch.stack([even, odd], dim=2).reshape(-1, 2 * samples, samples)
    rep = torch.repeat_interleave(torch.eye(samples, device=device), 2, dim=0)
    return torch.where(fancy[:, None, None], tri.to(torch.float64), rep.to(torch.float64))


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
    rows: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Per-image ``T = B_out R U B_inᵀ`` along one axis, built on the boxes' device.

    Args:
        start: (N,) box starts in full-resolution pixels of each window.
        end: (N,) box ends.
        extent: (N,) each window's valid full-resolution extent (its image size on this axis).
        out_size: output samples, a multiple of 8.
        in_blocks: blocks of the coefficient windows on this axis.
        factor: the component's subsampling on this axis (1 or 2).
        fancy: (N,) bool, libjpeg's triangle upsampling per image (default all True).
        flip: (N,) bool, mirror the output along this axis (an exact horizontal flip when
            applied to the width axis).
        rows: output rows to keep (``8 b + k`` for frequency ``k`` of output block ``b``).
        dtype: floating dtype of the result (the matrices are built in float64).

    Returns:
        (N, len(rows) or out_size, 8 in_blocks).

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
    component = torch.div(extent + factor - 1, factor, rounding_mode="floor")
    fancy = torch.ones(n, dtype=torch.bool, device=device) if fancy is None else fancy
    r = _pillow_bilinear(start, end, extent, out_size, factor * samples)
    if flip is not None:
        r = torch.where(flip[:, None, None], r.flip(1), r)
    if factor != 1:
        r = r @ _libjpeg_upsample(component, fancy, samples)
    b_out = _block_dct(out_size // 8, dtype=torch.float64, device=device)
    if rows is not None:
        b_out = b_out[rows]
    b_in = _block_dct(in_blocks, dtype=torch.float64, device=device)
    return (b_out @ r @ b_in.T).to(dtype)


def resize_dct_batch(
    coeffs: torch.Tensor,
    boxes: torch.Tensor,
    size: int | tuple[int, int],
    *,
    extent: torch.Tensor,
    factor: tuple[int, int] = (1, 1),
    frequencies: Sequence[int] | None = None,
    flip: torch.Tensor | None = None,
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
    out_h, out_w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    freqs = np.arange(64) if frequencies is None else np.asarray(frequencies, dtype=np.int64)
    if freqs.ndim != 1 or freqs.size == 0 or freqs.min() < 0 or freqs.max() > 63:
        raise InvalidArgumentError(f"frequencies must be natural-order indices 0..63, got {freqs}")
    vs, us = np.unique(freqs // 8), np.unique(freqs % 8)
    device, dtype = coeffs.device, coeffs.dtype
    row_v = torch.as_tensor((8 * np.arange(out_h // 8)[:, None] + vs).ravel(), device=device)
    row_h = torch.as_tensor((8 * np.arange(out_w // 8)[:, None] + us).ravel(), device=device)
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
        rows=row_v,
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
        rows=row_h,
        dtype=dtype,
    )
    img = coeffs.reshape(n, 8, 8, hb, wb).permute(0, 3, 1, 4, 2).reshape(n, 8 * hb, 8 * wb)
    out = t_v @ img @ t_h.transpose(1, 2)  # (N, Hb' V, Wb' U)
    out = out.reshape(n, out_h // 8, len(vs), out_w // 8, len(us)).permute(0, 2, 4, 1, 3)
    vi = torch.as_tensor(np.searchsorted(vs, freqs // 8), device=device)
    ui = torch.as_tensor(np.searchsorted(us, freqs % 8), device=device)
    return out[:, vi, ui]
