"""Shrinking a whole image to a maximum side in the DCT domain (a store's ``--max-side``).

FFCV's ``max_resolution``: an image whose longer side exceeds ``max_side`` is scaled so that
side becomes ``max_side``, the other one ``floor(side * max_side / longest)``. Here the image is
never decoded: per axis, the coefficients of one component go through

    ``T = B_out · E · R · B_inᵀ``

with ``R`` Pillow's bilinear resampling of the whole component (antialiased,
:func:`~freqpipe.transforms.resize.resize_matrix`) and ``E`` the edge replication that pads the
result to whole 8x8 blocks, as a JPEG encoder pads a picture whose size is not a multiple of 8.
Each component is resized at its own resolution (4:2:0 chroma to half the new size), so the
result is laid out as the file's own planes are and the loader's block repetition of chroma
onto the luma grid applies unchanged.

The same maths bring full-resolution chroma to the 4:2:0 grid (``chroma="separate"`` for a
4:4:4, 4:2:2 or 4:4:0 file): :func:`subsample_dct` halves an axis exactly, output sample ``i``
centred between samples ``2i`` and ``2i + 1`` as in a 4:2:0 encoding, by Pillow's bilinear
filter (weights 1/8, 3/8, 3/8, 1/8; conventions §9).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms.dct import dct_matrix
from freqpipe.transforms.resize import apply_dct_matrices, resize_matrix

__all__ = [
    "downscale_dct",
    "downscale_matrix",
    "max_side_size",
    "subsample_axis",
    "subsample_dct",
    "subsample_matrix",
]


def max_side_size(height: int, width: int, max_side: int | None) -> tuple[int, int]:
    """The image size after scaling its longer side down to ``max_side`` (FFCV's rule).

    Args:
        height: image height in pixels.
        width: image width in pixels.
        max_side: the longest side allowed; None keeps every size.

    Returns:
        ``(height, width)``: unchanged when the image fits, else the longer side ``max_side``
        and the other ``max(1, floor(side * max_side / longest))``.

    Raises:
        InvalidArgumentError: a non-positive size or ``max_side``.

    Example:
        >>> max_side_size(375, 500, 256), max_side_size(100, 80, 256)
        ((192, 256), (100, 80))
    """
    if height < 1 or width < 1 or (max_side is not None and max_side < 1):
        raise InvalidArgumentError(
            f"expected positive sizes, got {height}x{width} and max_side {max_side}"
        )
    longest = max(height, width)
    if max_side is None or longest <= max_side:
        return height, width
    # integer arithmetic: floor of the exact ratio, the longer side exactly max_side
    return max(1, height * max_side // longest), max(1, width * max_side // longest)


def downscale_matrix(extent: float, in_blocks: int, out_samples: int) -> np.ndarray:
    """One axis of one component: its block coefficients to those of the resized, padded axis.

    Args:
        extent: the component's extent in its own samples, ``image_size / factor`` (a 4:2:0
            chroma plane of an odd-sized image covers half of its last sample).
        in_blocks: blocks of the coefficient plane on this axis (at least
            ``ceil(ceil(extent) / 8)``).
        out_samples: samples after resizing (``ceil(new_image_size / factor)``).

    Returns:
        float64 (8 ceil(out_samples / 8), 8 in_blocks): row ``8 b + k`` is output frequency
        ``k`` of output block ``b``.

    Raises:
        InvalidArgumentError: an empty axis, or a plane too small for ``extent``.

    Example:
        >>> t = downscale_matrix(16, 2, 16)  # the axis at its own size
        >>> bool(np.allclose(t, np.eye(16)))
        True
    """
    in_samples = math.ceil(extent)
    if out_samples < 1 or in_samples < 1 or 8 * in_blocks < in_samples:
        raise InvalidArgumentError(
            f"cannot resize {extent} samples in {in_blocks} blocks to {out_samples} samples"
        )
    return _downscale_matrix(float(extent), int(in_blocks), int(out_samples)).copy()


@functools.lru_cache(maxsize=64)
def _downscale_matrix(extent: float, in_blocks: int, out_samples: int) -> np.ndarray:
    # Datasets repeat a few image sizes; the matrices are cached read-only per size.
    r = resize_matrix((0.0, extent), math.ceil(extent), out_samples)
    return _coefficient_matrix(r, in_blocks)


def _coefficient_matrix(r: np.ndarray, in_blocks: int) -> np.ndarray:
    """``B_out · E · r · B_inᵀ``: a resampling ``r`` of samples as a map of block coefficients."""
    out_samples = r.shape[0]
    out_blocks = -(-out_samples // 8)
    edge = np.minimum(np.arange(8 * out_blocks), out_samples - 1)  # replicate the last sample
    samples = np.zeros((8 * out_blocks, 8 * in_blocks))
    samples[:, : r.shape[1]] = r[edge]
    # B_out · S · B_inᵀ, block by block: both B are block-diagonal copies of the 8-point DCT,
    # so the products are 8-wide contractions (the same as block_dct_matrix's dense products)
    m = dct_matrix()
    t = (samples.reshape(8 * out_blocks, in_blocks, 8) @ m.T).reshape(8 * out_blocks, -1)
    t = np.einsum("kj,bjc->bkc", m, t.reshape(out_blocks, 8, -1)).reshape(8 * out_blocks, -1)
    t.flags.writeable = False
    return t


def downscale_dct(
    c: np.ndarray,
    extent: tuple[float, float],
    out_samples: tuple[int, int],
    frequencies: np.ndarray | None = None,
) -> np.ndarray:
    """One component's coefficients resized in the DCT domain (see the module docstring).

    Equal, to float64 rounding, to :func:`~freqpipe.transforms.block_dct` of the component's
    samples (its plane cut to ``ceil(extent)``) resized by Pillow's bilinear filter to
    ``out_samples`` and padded to whole blocks by edge replication.

    Args:
        c: (64, Hb, Wb) dequantised coefficients of one component, natural order.
        extent: ``(rows, cols)`` the component covers in its own samples.
        out_samples: ``(rows, cols)`` of the resized component.
        frequencies: natural-order output frequencies (default all 64).

    Returns:
        float64 (F, ceil(rows / 8), ceil(cols / 8)).

    Raises:
        InvalidArgumentError: see :func:`downscale_matrix`.

    Example:
        >>> from freqpipe.transforms import block_dct
        >>> x = np.random.default_rng(0).uniform(0, 255, (16, 24))
        >>> small = downscale_dct(block_dct(x), (16, 24), (8, 12))
        >>> small.shape
        (64, 1, 2)
    """
    c = np.asarray(c, dtype=np.float64)
    t_v = _downscale_matrix(float(extent[0]), c.shape[-2], int(out_samples[0]))
    t_h = _downscale_matrix(float(extent[1]), c.shape[-1], int(out_samples[1]))
    return apply_dct_matrices(c, t_v, t_h, frequencies)


def subsample_matrix(samples: int, in_blocks: int) -> np.ndarray:
    """One axis of a full-resolution component to the halved axis of 4:2:0 chroma, coefficients.

    The ``samples`` are padded to an even count by repeating the last one (as a JPEG encoder
    pads an odd-sized picture before subsampling), reduced 2x by Pillow's bilinear filter
    (:func:`~freqpipe.transforms.resize.resize_matrix` of the padded axis: output sample ``i``
    centred between samples ``2i`` and ``2i + 1``, weights 1/8, 3/8, 3/8, 1/8, renormalised at
    the edges), and padded to whole 8x8 blocks by edge replication. So output block ``b``
    covers the luma pixels of the 4:2:0 chroma block ``b``.

    Args:
        samples: the component's samples on this axis (its extent before block padding).
        in_blocks: blocks of the coefficient plane on this axis (at least
            ``ceil(samples / 8)``).

    Returns:
        float64 (8 ceil(ceil(samples / 2) / 8), 8 in_blocks): row ``8 b + k`` is output
        frequency ``k`` of output block ``b``. Read-only (cached per size).

    Raises:
        InvalidArgumentError: an empty axis, or a plane too small for ``samples``.

    Example:
        >>> subsample_matrix(375, 47).shape  # an ImageNet height: 188 samples, 24 blocks
        (192, 376)
    """
    if samples < 1 or 8 * in_blocks < samples:
        raise InvalidArgumentError(f"cannot subsample {samples} samples in {in_blocks} blocks")
    return _subsample_matrix(int(samples), int(in_blocks))


@functools.lru_cache(maxsize=64)
def _subsample_matrix(samples: int, in_blocks: int) -> np.ndarray:
    half = -(-samples // 2)
    pad = np.zeros((2 * half, samples))
    pad[np.arange(2 * half), np.minimum(np.arange(2 * half), samples - 1)] = 1.0
    return _coefficient_matrix(resize_matrix((0.0, 2.0 * half), 2 * half, half) @ pad, in_blocks)


def subsample_dct(
    c: np.ndarray,
    samples: tuple[int, int],
    factor: tuple[int, int],
    frequencies: np.ndarray | None = None,
) -> np.ndarray:
    """One component's coefficients subsampled onto the 4:2:0 chroma grid, without decoding.

    An axis with ``factor`` 2 is halved (:func:`subsample_matrix`); one with ``factor`` 1 is
    already on the grid and its coefficients pass unchanged. For 4:4:4 chroma ``factor`` is
    ``(2, 2)``, for 4:2:2 ``(2, 1)``, for 4:4:0 ``(1, 2)``. Equal, to float64 rounding, to
    :func:`~freqpipe.transforms.block_dct` of Pillow's bilinear 2x reduction
    (``resize((w / 2, h / 2), BILINEAR)`` of the plane cut to ``samples`` and padded to even
    sizes by edge replication), padded to whole blocks by edge replication.

    Args:
        c: (64, Hb, Wb) dequantised coefficients of one component, natural order.
        samples: ``(rows, cols)`` of the component in its own samples.
        factor: ``(vertical, horizontal)`` subsampling to apply, 1 or 2 per axis.
        frequencies: natural-order output frequencies (default all 64).

    Returns:
        float64 (F, Hb', Wb'): ``Hb' = ceil(ceil(rows / 2) / 8)`` where halved, else ``Hb``.

    Raises:
        InvalidArgumentError: a factor other than 1 or 2, or see :func:`subsample_matrix`.

    Example:
        >>> from freqpipe.transforms import block_dct
        >>> flat = block_dct(np.full((24, 40), 200.0))
        >>> half = subsample_dct(flat, (24, 40), (2, 2))
        >>> half.shape, round(float(half[0, 0, 0]), 6)  # DC = 8 x (200 - 128)
        ((64, 2, 3), 576.0)
    """
    c = np.asarray(c, dtype=np.float64)
    t_v, t_h = (subsample_axis(n, b, f) for n, b, f in zip(samples, c.shape[-2:], factor))
    return apply_dct_matrices(c, t_v, t_h, frequencies)


def subsample_axis(samples: int, in_blocks: int, factor: int) -> np.ndarray:
    """:func:`subsample_matrix` for ``factor`` 2, the identity on ``in_blocks`` blocks for 1.

    Example:
        >>> subsample_axis(20, 3, 1).shape, subsample_axis(20, 3, 2).shape
        ((24, 24), (16, 24))
    """
    if factor not in (1, 2):
        raise InvalidArgumentError(
            f"chroma reaches the 4:2:0 grid by halving an axis or keeping it; got factor {factor}",
            value=factor,
        )
    return subsample_matrix(samples, in_blocks) if factor == 2 else np.eye(8 * in_blocks)
