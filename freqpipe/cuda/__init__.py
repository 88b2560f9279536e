"""GPU backend: CUDA C kernels from ``kernels/`` launched through CuPy.

Importing this package does not import CuPy; calling a kernel does, and raises
:class:`~freqpipe.errors.MissingExtraError` naming the ``gpu`` extra when it is missing. On
import the package registers its implementations with the transforms' GPU dispatch, so
``freqpipe.block_dct`` / ``block_idct`` / ``dwt2`` / ``idwt2`` on a CuPy array or a CUDA torch
tensor run here. Every function takes CuPy arrays or CUDA torch tensors, returns the same type
on the same device (zero-copy, DLPack) and launches on the caller's current stream.

Fused DCT (one pass from 8-bit pixels to selected, normalised channels)
    :func:`fused_dct`, :func:`fused_idct`
Coefficient path (after the host-to-device copy of quantised channels)
    :func:`dequantize`
Wavelets (lifting; haar, bior2.2, bior4.4; periodization, reflect)
    :func:`dwt2`, :func:`idwt2`
Dispatch targets of the reference API
    :func:`block_dct_gpu`, :func:`block_idct_gpu`
Kernel sources
    :func:`kernel_dir`, :func:`kernel_source`, :data:`FAMILIES`
"""

from __future__ import annotations

from freqpipe.cuda._module import FAMILIES, kernel_dir, kernel_source
from freqpipe.cuda.dct import block_dct_gpu, block_idct_gpu, fused_dct, fused_idct
from freqpipe.cuda.dequant import dequantize
from freqpipe.cuda.dwt import dwt2, idwt2
from freqpipe.transforms._dispatch import register_gpu

__all__ = [
    "FAMILIES",
    "block_dct_gpu",
    "block_idct_gpu",
    "dequantize",
    "dwt2",
    "fused_dct",
    "fused_idct",
    "idwt2",
    "kernel_dir",
    "kernel_source",
]

register_gpu("block_dct")(block_dct_gpu)
register_gpu("block_idct")(block_idct_gpu)
register_gpu("dwt2")(dwt2)
register_gpu("idwt2")(idwt2)
