"""The maths of freqpipe, written once against an array module (NumPy here, CuPy on a GPU).

Colour (conventions §2)
    :func:`rgb_to_ycbcr`, :func:`ycbcr_to_rgb`
Block DCT (conventions §1)
    :func:`block_dct`, :func:`block_idct`, :func:`dct_matrix`
Layouts
    :data:`ZIGZAG_TO_NATURAL`, :data:`NATURAL_TO_ZIGZAG`, :func:`natural_to_zigzag`,
    :func:`zigzag_to_natural`, :func:`channels_first`, :func:`channels_last`,
    :func:`stack_planes`, :func:`split_planes`, :func:`align_chroma`,
    :func:`subsampling_factors`
Channel selection (conventions §3)
    :class:`Selection`, :data:`PRESETS`, :data:`PLANE_NAMES`
Exact DCT-domain augmentation (conventions §1)
    :func:`hflip_dct`, :func:`vflip_dct`, :func:`crop_blocks`, :func:`gather_blocks`,
    :func:`flip_signs`
Wavelets by lifting (conventions §6)
    :func:`dwt2`, :func:`idwt2`, :func:`wavedec2`, :func:`waverec2`, :func:`stack_subbands`,
    :func:`unstack_subbands`, :data:`WAVELETS`, :data:`MODES`
Statistics and normalisation (conventions §3)
    :class:`ChannelStats`, :func:`normalize`, :func:`load_default_stats`
Resizing in the DCT domain (no decoding)
    :func:`resize_dct`, :func:`dct_resize_matrix`, :func:`resize_matrix`,
    :func:`upsample_matrix`; batched on a torch device: :mod:`freqpipe.transforms.resize_torch`
DCTNet pixel route
    :func:`image_to_dct192`, :func:`resize_shape`, :func:`center_crop_box`,
    :func:`random_resized_crop_params`
Window geometry (torchvision's CenterCrop rule, blocks or pixels)
    :func:`center_start`, :func:`center_window`, :func:`random_window`, :func:`choose_window`
GPU dispatch
    :func:`register_gpu`, :func:`gpu_impl`, :func:`array_namespace`
Errors
    :class:`ShapeError`, :class:`DTypeError`, :class:`SelectionError`, :class:`InvalidArgumentError`
    (all :class:`~freqpipe.errors.FreqpipeError` and ``ValueError`` / ``TypeError``)

Coefficients are channel-first ``(..., 64, H/8, W/8)`` in natural order ``k = 8 v + u``; the
192-channel stack is Y, Cb, Cr. NumPy input never imports CuPy, torch or the GPU backend.
"""

from __future__ import annotations

from freqpipe.errors import DTypeError, InvalidArgumentError, SelectionError, ShapeError
from freqpipe.transforms._dispatch import gpu_impl, register_gpu
from freqpipe.transforms._xp import array_namespace
from freqpipe.transforms.augment import (
    crop_blocks,
    flip_signs,
    gather_blocks,
    hflip_dct,
    vflip_dct,
)
from freqpipe.transforms.color import rgb_to_ycbcr, ycbcr_to_rgb
from freqpipe.transforms.dct import block_dct, block_idct, dct_matrix
from freqpipe.transforms.dct_pipeline import (
    center_crop_box,
    image_to_dct192,
    random_resized_crop_params,
    resize_shape,
)
from freqpipe.transforms.layout import (
    NATURAL_TO_ZIGZAG,
    ZIGZAG_TO_NATURAL,
    align_chroma,
    channels_first,
    channels_last,
    natural_to_zigzag,
    split_planes,
    stack_planes,
    subsampling_factors,
    zigzag_to_natural,
)
from freqpipe.transforms.resize import dct_resize_matrix, resize_dct, resize_matrix, upsample_matrix
from freqpipe.transforms.selection import PLANE_NAMES, PRESETS, Selection
from freqpipe.transforms.stats import ChannelStats, load_default_stats, normalize
from freqpipe.transforms.wavelets import (
    MODES,
    WAVELETS,
    dwt2,
    idwt2,
    stack_subbands,
    unstack_subbands,
    wavedec2,
    waverec2,
)
from freqpipe.transforms.windows import center_start, center_window, choose_window, random_window

__all__ = [
    "MODES",
    "NATURAL_TO_ZIGZAG",
    "PLANE_NAMES",
    "PRESETS",
    "WAVELETS",
    "ZIGZAG_TO_NATURAL",
    "ChannelStats",
    "DTypeError",
    "InvalidArgumentError",
    "Selection",
    "SelectionError",
    "ShapeError",
    "align_chroma",
    "array_namespace",
    "block_dct",
    "block_idct",
    "center_crop_box",
    "center_start",
    "center_window",
    "channels_first",
    "channels_last",
    "choose_window",
    "crop_blocks",
    "dct_matrix",
    "dct_resize_matrix",
    "dwt2",
    "flip_signs",
    "gather_blocks",
    "gpu_impl",
    "hflip_dct",
    "idwt2",
    "image_to_dct192",
    "load_default_stats",
    "natural_to_zigzag",
    "normalize",
    "random_resized_crop_params",
    "random_window",
    "register_gpu",
    "resize_dct",
    "resize_matrix",
    "resize_shape",
    "rgb_to_ycbcr",
    "split_planes",
    "stack_planes",
    "stack_subbands",
    "subsampling_factors",
    "unstack_subbands",
    "upsample_matrix",
    "vflip_dct",
    "wavedec2",
    "waverec2",
    "ycbcr_to_rgb",
    "zigzag_to_natural",
]
