"""freqpipe: frequency-domain image pipelines for PyTorch.

JPEG coefficients
    :func:`read_coefficients`, :func:`read_coefficients_batch`, :class:`JpegCoefficients`,
    :func:`reorder_jpeg` (lossless frequency-ordered rewrite: prefixes hold whole selections)
Transforms (NumPy reference; CuPy arrays and CUDA tensors dispatch to the GPU kernels)
    :func:`rgb_to_ycbcr`, :func:`ycbcr_to_rgb`, :func:`block_dct`, :func:`block_idct`,
    :func:`dwt2`, :func:`idwt2`, :func:`wavedec2`, :func:`waverec2`, :func:`stack_subbands`,
    :func:`unstack_subbands`
Channels
    :class:`Selection`, :func:`gather_blocks`, :func:`hflip_dct`, :func:`vflip_dct`,
    :func:`crop_blocks`, :func:`align_chroma`, :func:`stack_planes`,
    :func:`natural_to_zigzag`, :func:`zigzag_to_natural`
Statistics
    :class:`ChannelStats`, :func:`normalize`, :func:`load_default_stats`
Loading (imported on first use)
    :class:`FreqLoader` (torch DataLoader's interface), :class:`JpegFolder`,
    :class:`JpegFileList`, :class:`ElasticSampler` (DistributedSampler's interface, resumable
    at another world size)
Packed store (imported on first use)
    :func:`convert`, :func:`verify`, :class:`FreqStore`
Samples
    :func:`samples_path`, :func:`sample_files`
Errors
    :class:`FreqpipeError` and its subclasses (:mod:`freqpipe.errors`)

Models
    :mod:`freqpipe.models` (``fp.models``, imported on first use): DCT-ResNet-50,
    MobileNetV2-DCT, the channel gate, the Wavelet-like Auto-Encoder, Wavelet+CNN, octave
    convolution, with a registry (``fp.models.list_models()``, ``fp.models.create(name)``)

Everything is re-exported from the subpackages; ``import freqpipe`` imports neither CuPy nor
DALI nor the kernels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from freqpipe._samples import sample_files, samples_path
from freqpipe.errors import (
    BadFileWarning,
    BatchTimeoutError,
    CorruptJpegError,
    CorruptJpegWarning,
    DeviceUnavailableError,
    DiskFullError,
    DTypeError,
    FileMissingError,
    FixedCropStoreError,
    FixedCropWarning,
    FreqpipeError,
    ImageTooLargeError,
    IncompleteStoreError,
    InvalidArgumentError,
    LoaderStateError,
    MissingExtraError,
    NotAJpegError,
    SelectionError,
    ShapeError,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreSchemaError,
    UnsupportedJpegError,
)
from freqpipe.jpeg import (
    JpegCoefficients,
    read_coefficients,
    read_coefficients_batch,
    reorder_jpeg,
)
from freqpipe.transforms import (
    ChannelStats,
    Selection,
    align_chroma,
    block_dct,
    block_idct,
    crop_blocks,
    dwt2,
    gather_blocks,
    hflip_dct,
    idwt2,
    load_default_stats,
    natural_to_zigzag,
    normalize,
    rgb_to_ycbcr,
    stack_planes,
    stack_subbands,
    unstack_subbands,
    vflip_dct,
    wavedec2,
    waverec2,
    ycbcr_to_rgb,
    zigzag_to_natural,
)

__version__ = "0.1.0"

# What imports torch (the loader, the store, the models) or an optional extra (DALI) loads on
# first attribute access (PEP 562), so `import freqpipe` stays light.
_LAZY_SUBMODULES = ("data", "dali", "models", "store")
_LAZY_NAMES = {
    "ElasticSampler": "freqpipe.data",
    "FreqLoader": "freqpipe.data",
    "JpegFileList": "freqpipe.jpeg.datasets",
    "JpegFolder": "freqpipe.jpeg.datasets",
    "FreqStore": "freqpipe.store",
    "convert": "freqpipe.store",
    "verify": "freqpipe.store",
}

if TYPE_CHECKING:
    from freqpipe.data import ElasticSampler, FreqLoader, JpegFileList, JpegFolder
    from freqpipe.store.convert import convert
    from freqpipe.store.reader import FreqStore
    from freqpipe.store.verify import verify


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"freqpipe.{name}")
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    raise AttributeError(f"module 'freqpipe' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_NAMES) | set(_LAZY_SUBMODULES))


__all__ = [
    "BadFileWarning",
    "BatchTimeoutError",
    "ChannelStats",
    "CorruptJpegError",
    "CorruptJpegWarning",
    "DTypeError",
    "DeviceUnavailableError",
    "DiskFullError",
    "ElasticSampler",
    "FileMissingError",
    "FixedCropStoreError",
    "FixedCropWarning",
    "FreqLoader",
    "FreqStore",
    "FreqpipeError",
    "ImageTooLargeError",
    "IncompleteStoreError",
    "InvalidArgumentError",
    "JpegCoefficients",
    "JpegFileList",
    "JpegFolder",
    "LoaderStateError",
    "MissingExtraError",
    "NotAJpegError",
    "Selection",
    "SelectionError",
    "ShapeError",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreSchemaError",
    "UnsupportedJpegError",
    "__version__",
    "align_chroma",
    "block_dct",
    "block_idct",
    "convert",
    "crop_blocks",
    "dwt2",
    "gather_blocks",
    "hflip_dct",
    "idwt2",
    "load_default_stats",
    "natural_to_zigzag",
    "normalize",
    "read_coefficients",
    "read_coefficients_batch",
    "reorder_jpeg",
    "rgb_to_ycbcr",
    "sample_files",
    "samples_path",
    "stack_planes",
    "stack_subbands",
    "unstack_subbands",
    "verify",
    "vflip_dct",
    "wavedec2",
    "waverec2",
    "ycbcr_to_rgb",
    "zigzag_to_natural",
]
