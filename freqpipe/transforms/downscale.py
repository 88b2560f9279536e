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
"""

from __future__ import annotations

import functools
import math

import numpy as np

from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms.dct import dct_matrix
from freqpipe.transforms.resize import apply_dct_matrices, resize_matrix

__all__ = ["downscale_dct", "downscale_matrix", "max_side_size"]


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
