"""Resizing in the DCT domain: the coefficients of a resized crop, without decoding.

Along one axis, a plane of samples ``x`` and its blockwise DCT ``c = B x`` (``B`` the
block-diagonal 8-point DCT of :func:`~freqpipe.transforms.dct_matrix`) are related linearly,
and so is a resize ``y = R x`` of a crop box. Hence the coefficients of the resized crop are

    ``c_out = B_out · R · U · B_inᵀ · c_in = T · c_in``

with ``U`` the decoder's chroma upsampling for a subsampled plane (the identity for luma).
In two dimensions ``C_out = T_v · C_in · T_hᵀ`` on the "coefficient image" whose element
``[8 i + v, 8 j + u]`` is coefficient ``k = 8 v + u`` of block ``(i, j)``. Both ``R`` and
``U`` have rows summing to one, so the level shift of 128 passes through unchanged, and since
colour conversion is affine, resizing the YCbCr planes equals resizing RGB and converting.

The matrices follow what a pixel pipeline does, so the DCT route reproduces it before rounding:

- ``R`` is Pillow's bilinear resampling of a box in float pixel coordinates, cropped first
  as torchvision's ``resized_crop`` does on PIL images (``img.crop(box).resize(size,
  BILINEAR)``): triangle filter, support widened by the scale when downscaling (antialias),
  weights normalised per output sample, source samples clamped to the crop. The crop
  (``within``) is the box's whole-pixel cover unless told otherwise; the whole image gives
  Pillow's ``resize(size, BILINEAR, box=...)``, a resize followed by a crop (torchvision's
  ``Resize`` + ``CenterCrop`` in one step).
- ``U`` is libjpeg(-turbo)'s "fancy" upsampling of 2x subsampled chroma (``jdsample.c``): each
  output sample is 3/4 of its nearest input and 1/4 of the next nearest, edges replicated.
  libjpeg works in integers with rounding; ``U`` is the exact linear map it rounds.

Everything here is NumPy float64, the reference; :mod:`freqpipe.transforms.resize_torch` is the
batched implementation that runs on the loader's device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from freqpipe.errors import InvalidArgumentError, ShapeError
from freqpipe.transforms.dct import dct_matrix

__all__ = [
    "apply_dct_matrices",
    "block_dct_matrix",
    "coefficient_image",
    "dct_resize_matrix",
    "fancy_upsampling",
    "resize_dct",
    "resize_matrix",
    "upsample_matrix",
]


def resize_matrix(
    box: tuple[float, float],
    in_size: int,
    out_size: int,
    *,
    within: tuple[int, int] | None = None,
) -> np.ndarray:
    """Pillow's bilinear resize of ``box`` cut out of ``within``, as an (out, in) matrix.

    This is ``crop(within).resize(out_size, BILINEAR, box=box - within[0])`` in Pillow terms:
    output sample ``i`` is centred at ``box[0] + (i + 0.5) * scale`` source pixels, with
    ``scale = (box[1] - box[0]) / out_size``; the triangle filter is stretched by
    ``max(scale, 1)`` (antialiasing when downscaling), only source samples in ``within``
    take part, and each row is normalised to sum to one. By default ``within`` is the box's
    integer cover, so an integer box is torchvision's ``resized_crop`` (crop, then resize);
    ``within=(0, in_size)`` is Pillow's ``resize(box=...)`` of the whole image, i.e. resizing
    the image and then cropping, as ``Resize`` + ``CenterCrop`` (conventions §9).

    Args:
        box: ``(start, end)`` of the source interval in pixels (floats allowed; it may not
            extend past the image).
        in_size: number of source samples (the image's extent on this axis).
        out_size: number of output samples.
        within: ``(first, stop)``, the whole source samples the filter may read; it must
            contain the box. Default ``(floor(start), ceil(end))``.

    Returns:
        (out_size, in_size) float64; ``R @ x`` resizes a column ``x``.

    Raises:
        InvalidArgumentError: an empty box, a box outside the image or outside ``within``,
            or a size below one.

    Example:
        >>> resize_matrix((0, 4), 4, 2) * 7  # halving: the filter is two pixels wide
        array([[3., 3., 1., 0.],
               [0., 1., 3., 3.]])
        >>> resize_matrix((1, 3), 4, 1)  # crop, then halve: the filter stays inside
        array([[0. , 0.5, 0.5, 0. ]])
        >>> resize_matrix((1, 3), 4, 1, within=(0, 4)) * 8  # resize(box=): it reaches out
        array([[1., 3., 3., 1.]])
    """
    start, end = float(box[0]), float(box[1])
    if in_size < 1 or out_size < 1:
        raise InvalidArgumentError(f"sizes must be positive, got in {in_size}, out {out_size}")
    if not (0.0 <= start < end <= in_size):
        raise InvalidArgumentError(
            f"box {start, end} must satisfy 0 <= start < end <= {in_size}", value=box
        )
    first, stop = (math.floor(start), math.ceil(end)) if within is None else within
    if not (0 <= first <= start and end <= stop <= in_size):
        raise InvalidArgumentError(
            f"within {first, stop} must hold the box {start, end} inside 0..{in_size}",
            value=within,
        )
    # In the cut's own coordinates, as Pillow sees them: it passes the box to C as
    # single-precision floats and subtracts them in float32
    start32, end32 = np.float32(start - first), np.float32(end - first)
    scale = float(end32 - start32) / out_size
    start = float(start32)
    filterscale = max(scale, 1.0)
    support = 1.0 * filterscale  # the bilinear filter's support is 1
    out = np.zeros((out_size, in_size))
    for i in range(out_size):
        center = start + (i + 0.5) * scale
        # Pillow truncates toward zero (C cast) and then clamps to its (cut) image
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), stop - first)
        j = np.arange(lo, hi)
        w = np.maximum(0.0, 1.0 - np.abs((j - center + 0.5) / filterscale))
        total = w.sum()
        if total:
            out[i, first + lo : first + hi] = w / total
    return out


def upsample_matrix(
    factor: int, in_size: int, out_size: int | None = None, *, fancy: bool = True
) -> np.ndarray:
    """Chroma upsampling of libjpeg along one axis, as an (out, in) matrix.

    Args:
        factor: 1 (not subsampled: the identity) or 2 (fancy triangle upsampling).
        in_size: samples of the subsampled component (libjpeg's ``downsampled_width``,
            ``ceil(image_size * factor_of_component / max_factor)``).
        out_size: samples to keep (the image's extent; default ``factor * in_size``).
        fancy: the triangle filter; ``False`` replicates each sample, which libjpeg does
            instead for components at most two samples wide (see :func:`fancy_upsampling`).

    Returns:
        (out_size, in_size) float64 with rows summing to one.

    Raises:
        InvalidArgumentError: a factor other than 1 or 2, or ``out_size`` past
            ``factor * in_size``.

    Example:
        >>> upsample_matrix(2, 3)
        array([[1.  , 0.  , 0.  ],
               [0.75, 0.25, 0.  ],
               [0.25, 0.75, 0.  ],
               [0.  , 0.75, 0.25],
               [0.  , 0.25, 0.75],
               [0.  , 0.  , 1.  ]])
    """
    if factor not in (1, 2):
        raise InvalidArgumentError(
            f"chroma upsampling by {factor} is not linear-fancy in libjpeg; expected 1 or 2",
            value=factor,
        )
    full = factor * in_size
    out_size = full if out_size is None else int(out_size)
    if not 0 < out_size <= full:
        raise InvalidArgumentError(f"out_size must be in 1..{full}, got {out_size}")
    if factor == 1:
        return np.eye(out_size, in_size)
    if not fancy:
        return np.repeat(np.eye(in_size), 2, axis=0)[:out_size]
    u = np.zeros((full, in_size))
    i = np.arange(in_size)
    u[2 * i, i] = 0.75
    u[2 * i, np.maximum(i - 1, 0)] += 0.25
    u[2 * i + 1, i] = 0.75
    u[2 * i + 1, np.minimum(i + 1, in_size - 1)] += 0.25
    return u[:out_size]


def fancy_upsampling(factor: tuple[int, int], image_width: int) -> bool:
    """Whether libjpeg filters (rather than replicates) a component subsampled by ``factor``.

    ``jdsample.c`` uses the triangle filter for 2x horizontal subsampling only when the
    component is more than two samples wide, and then on both axes of a 2x2 component.

    Args:
        factor: ``(vertical, horizontal)`` subsampling of the component.
        image_width: the image's width in pixels.

    Returns:
        ``True`` for the fancy filter.

    Example:
        >>> fancy_upsampling((2, 2), 640), fancy_upsampling((2, 2), 3)
        (True, False)
    """
    return not (factor[1] == 2 and -(-image_width // 2) <= 2)


def block_dct_matrix(blocks: int) -> np.ndarray:
    """The block-diagonal 8-point DCT ``B`` of ``blocks`` blocks: (8 blocks, 8 blocks).

    ``B @ x`` transforms a column of samples; ``B.T @ c`` is the inverse (``B`` is orthogonal).
    Row ``8 b + k`` is frequency ``k`` of block ``b``.

    Args:
        blocks: number of 8-sample blocks.

    Returns:
        float64 (8 blocks, 8 blocks).

    Example:
        >>> b = block_dct_matrix(3)
        >>> bool(np.allclose(b @ b.T, np.eye(24)))
        True
    """
    return np.kron(np.eye(blocks), dct_matrix())


def dct_resize_matrix(
    box: tuple[float, float],
    image_size: int,
    out_size: int,
    *,
    factor: int = 1,
    in_blocks: int | None = None,
    fancy: bool = True,
    within: tuple[int, int] | None = None,
) -> np.ndarray:
    """``T = B_out R U B_inᵀ`` along one axis: coefficients in, coefficients of the resized box out.

    Args:
        box: ``(start, end)`` in pixels of the full-resolution image (luma grid).
        image_size: the image's extent on this axis in pixels.
        out_size: output samples, a multiple of 8.
        factor: this component's subsampling on this axis (2 for 4:2:0 chroma, 1 for luma).
        in_blocks: blocks of the coefficient plane on this axis (libjpeg may pad the plane
            to whole MCUs); default ``ceil(ceil(image_size / factor) / 8)``.
        fancy: libjpeg's triangle upsampling (see :func:`fancy_upsampling`) or replication.
        within: the pixels the resize filter may read, as :func:`resize_matrix` (default the
            box's integer cover: crop, then resize).

    Returns:
        (out_size, 8 in_blocks) float64; row ``8 b + k`` is output frequency ``k`` of output
        block ``b``, column ``8 b' + k'`` input frequency ``k'`` of input block ``b'``.

    Raises:
        InvalidArgumentError: ``out_size`` not a multiple of 8, a plane too small for the
            image, or the errors of :func:`resize_matrix` / :func:`upsample_matrix`.

    Example:
        >>> t = dct_resize_matrix((0, 16), 16, 16)  # the whole image at its own size
        >>> bool(np.allclose(t, np.eye(16)))
        True
    """
    if out_size < 8 or out_size % 8:
        raise InvalidArgumentError(f"out_size must be a positive multiple of 8, got {out_size}")
    component = -(-image_size // factor)  # libjpeg's downsampled_width
    blocks = -(-component // 8) if in_blocks is None else int(in_blocks)
    if 8 * blocks < component:
        raise InvalidArgumentError(
            f"{blocks} blocks cannot hold a {component}-sample component", value=in_blocks
        )
    r = resize_matrix(box, image_size, out_size, within=within)
    u = upsample_matrix(factor, component, image_size, fancy=fancy)
    b_in_t = block_dct_matrix(blocks).T[:component]  # samples <- coefficients
    return block_dct_matrix(out_size // 8) @ (r @ (u @ b_in_t))


def coefficient_image(c: Any) -> Any:
    """(..., 64, Hb, Wb) natural order -> (..., 8 Hb, 8 Wb), ``[8i + v, 8j + u] = c[8v + u, i, j]``.

    Args:
        c: coefficients, channel-first (NumPy, or anything with ``reshape``/``permute``-free
            NumPy semantics).

    Returns:
        The coefficient image, on which the per-axis matrices act as ``T_v @ img @ T_h.T``.

    Example:
        >>> coefficient_image(np.arange(64.0).reshape(64, 1, 1))[1, 0]  # v = 1, u = 0
        np.float64(8.0)
    """
    *lead, _, hb, wb = c.shape
    n = len(lead)
    blocks = c.reshape(*lead, 8, 8, hb, wb)
    order = (*range(n), n + 2, n, n + 3, n + 1)  # (..., Hb, v, Wb, u)
    return blocks.transpose(order).reshape(*lead, 8 * hb, 8 * wb)


def resize_dct(
    c: Any,
    box: Sequence[float],
    size: int | tuple[int, int],
    *,
    image_size: tuple[int, int],
    factor: tuple[int, int] = (1, 1),
    frequencies: Sequence[int] | None = None,
    within: Sequence[int] | None = None,
) -> np.ndarray:
    """Coefficients of ``resize(crop(plane, box), size)``, computed from coefficients only.

    Equal, to float64 rounding, to :func:`~freqpipe.transforms.block_dct` of the decoded
    plane (libjpeg's upsampling for chroma, no clamping or rounding) cropped to ``within``
    and resized by Pillow's bilinear filter with ``box`` (relative to the crop).

    Args:
        c: one component's dequantised coefficients, (..., 64, Hb, Wb), natural order, on the
            orthonormal scale of :func:`~freqpipe.transforms.block_dct` (level shift 128).
        box: ``(left, top, right, bottom)`` in full-resolution pixels, as Pillow's ``box``.
        size: output ``(height, width)`` (or one int for a square), multiples of 8.
        image_size: ``(height, width)`` of the full-resolution image.
        factor: ``(vertical, horizontal)`` subsampling of this component, e.g. ``(2, 2)`` for
            4:2:0 chroma; the output is on the full-resolution grid either way.
        frequencies: natural-order output frequencies to compute (default all 64).
        within: ``(left, top, right, bottom)``, the whole pixels the filter may read; default
            the box's integer cover, torchvision's crop; ``(0, 0, width, height)`` resizes the
            whole image and then crops (see :func:`resize_matrix`).

    Returns:
        float64 (..., F, height / 8, width / 8), F = ``len(frequencies)``.

    Raises:
        ShapeError: ``c`` is not (..., 64, Hb, Wb).
        InvalidArgumentError: a bad box, size or factor (see :func:`dct_resize_matrix`).

    Example:
        >>> from freqpipe.transforms import block_dct
        >>> x = np.random.default_rng(0).uniform(0, 255, (24, 24))
        >>> same = resize_dct(block_dct(x), (0, 0, 24, 24), 24, image_size=(24, 24))
        >>> bool(np.allclose(same, block_dct(x)))
        True
    """
    c = np.asarray(c, dtype=np.float64)
    if c.ndim < 3 or c.shape[-3] != 64:
        raise ShapeError(f"expected (..., 64, Hb, Wb), got {tuple(c.shape)}", shape=c.shape)
    out_h, out_w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    left, top, right, bottom = (float(v) for v in box)
    fancy = fancy_upsampling(factor, image_size[1])
    w_h, w_v = (None, None) if within is None else ((within[0], within[2]), (within[1], within[3]))
    t_v = dct_resize_matrix(
        (top, bottom),
        image_size[0],
        out_h,
        factor=factor[0],
        in_blocks=c.shape[-2],
        fancy=fancy,
        within=w_v,
    )
    t_h = dct_resize_matrix(
        (left, right),
        image_size[1],
        out_w,
        factor=factor[1],
        in_blocks=c.shape[-1],
        fancy=fancy,
        within=w_h,
    )
    return apply_dct_matrices(c, t_v, t_h, frequencies)


def apply_dct_matrices(
    c: np.ndarray,
    t_v: np.ndarray,
    t_h: np.ndarray,
    frequencies: Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """``T_v · C · T_hᵀ`` on the coefficient image, computing only the wanted frequencies.

    Args:
        c: (..., 64, Hb, Wb) float64 coefficients, natural order.
        t_v: (8 hb_out, 8 Hb) per-axis coefficient matrix of the rows (:func:`dct_resize_matrix`).
        t_h: (8 wb_out, 8 Wb) the same for the columns.
        frequencies: natural-order output frequencies (default all 64).

    Returns:
        float64 (..., F, hb_out, wb_out), F = ``len(frequencies)``.

    Raises:
        InvalidArgumentError: frequencies outside 0..63.

    Example:
        >>> c = np.random.default_rng(0).normal(size=(64, 2, 3))
        >>> same = apply_dct_matrices(c, np.eye(16), np.eye(24), [0, 9])
        >>> bool(np.allclose(same, c[[0, 9]]))
        True
    """
    freqs = np.arange(64) if frequencies is None else np.asarray(frequencies, dtype=np.int64)
    if freqs.ndim != 1 or freqs.size == 0 or freqs.min() < 0 or freqs.max() > 63:
        raise InvalidArgumentError(f"frequencies must be natural-order indices 0..63, got {freqs}")
    vs, us = np.unique(freqs // 8), np.unique(freqs % 8)
    hb_out, wb_out = t_v.shape[0] // 8, t_h.shape[0] // 8
    # only the output rows / columns of the wanted vertical / horizontal frequencies
    rows = (8 * np.arange(hb_out)[:, None] + vs[None, :]).ravel()
    cols = (8 * np.arange(wb_out)[:, None] + us[None, :]).ravel()
    img = coefficient_image(c)
    out = t_v[rows] @ img @ t_h[cols].T  # (..., hb_out * len(vs), wb_out * len(us))
    n = c.ndim - 3
    out = out.reshape(*c.shape[:-3], hb_out, len(vs), wb_out, len(us))
    out = out.transpose(*range(n), n + 1, n + 3, n, n + 2)  # (..., V, U, Hb, Wb)
    return out[..., np.searchsorted(vs, freqs // 8), np.searchsorted(us, freqs % 8), :, :]
