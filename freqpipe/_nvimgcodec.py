"""Optional JPEG decoding with NVIDIA nvImageCodec (nvJPEG on the GPU; libjpeg-turbo on CPU).

nvImageCodec (``nvidia-nvimgcodec-cu12`` / ``-cu13``, about 32 MB with nvJPEG) is the GPU
decoder that fits where DALI's wheel (>= 199 MB) does not (conventions §7). This module is imported
only on demand and imports ``nvidia.nvimgcodec`` lazily; FreqLoader's pixel source can use
:func:`decode_batch` in place of PyTurboJPEG. Proposed extra: ``nvimgcodec =
["nvidia-nvimgcodec-cu12[nvjpeg]>=0.5"]``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

from freqpipe.errors import CorruptJpegError, InvalidArgumentError, MissingExtraError

__all__ = ["available", "decode_batch", "require_nvimgcodec"]

_DECODERS: dict[tuple[str, int], Any] = {}


def require_nvimgcodec() -> ModuleType:
    """Import ``nvidia.nvimgcodec``, or explain how to get it.

    Returns:
        The module.

    Raises:
        MissingExtraError: nvImageCodec is not installed.

    Example:
        >>> require_nvimgcodec().__name__  # doctest: +SKIP
        'nvidia.nvimgcodec'
    """
    try:
        return importlib.import_module("nvidia.nvimgcodec")
    except ImportError as exc:
        raise MissingExtraError(
            "GPU JPEG decoding without DALI needs nvImageCodec: `pip install "
            f"nvidia-nvimgcodec-cu12[nvjpeg]` (or -cu13) ({exc})"
        ) from exc


def available(device: str = "cuda") -> bool:
    """Tell whether :func:`decode_batch` can run on ``device`` (never raises).

    Args:
        device: ``"cuda"`` (needs a CUDA device torch can see) or ``"cpu"``.

    Returns:
        True when nvImageCodec imports (and, for ``"cuda"``, a GPU is present).

    Example:
        >>> isinstance(available("cpu"), bool)
        True
    """
    try:
        require_nvimgcodec()
    except MissingExtraError:
        return False
    if device == "cpu":
        return True
    import torch

    return bool(torch.cuda.is_available())


def _decoder(nvimg: ModuleType, device: str, device_id: int) -> Any:
    key = (device, device_id)
    dec = _DECODERS.get(key)
    if dec is None:
        if device == "cpu":
            dec = nvimg.Decoder(
                device_id=nvimg.NVIMGCODEC_DEVICE_CPU_ONLY,
                backends=[nvimg.Backend(nvimg.BackendKind.CPU_ONLY)],
            )
        else:
            dec = nvimg.Decoder(device_id=device_id)
        _DECODERS[key] = dec
    return dec


def decode_batch(
    data: Sequence[bytes], *, device: str = "cuda", device_id: int = 0, output: str = "torch"
) -> list[Any]:
    """Decode JPEGs to RGB uint8 (H, W, 3) arrays, batched (nvJPEG on a GPU).

    Args:
        data: the JPEGs' bytes.
        device: ``"cuda"`` (nvJPEG: hardware decoder where present, else CUDA/hybrid) or
            ``"cpu"`` (nvImageCodec's CPU backend).
        device_id: the GPU for ``"cuda"``.
        output: ``"torch"`` (tensors, zero-copy through DLPack, on ``cuda:device_id`` or the
            CPU), ``"cupy"`` (device only) or ``"numpy"`` (host; copies from the GPU).

    Returns:
        One (H, W, 3) uint8 array per input, in order.

    Raises:
        MissingExtraError: nvImageCodec (or CuPy for ``output="cupy"``) is missing.
        InvalidArgumentError: a bad ``device`` / ``output``.
        CorruptJpegError: a file nvImageCodec cannot decode (names its index).

    Example:
        >>> from freqpipe._samples import sample_files
        >>> imgs = decode_batch([sample_files()[0].read_bytes()], device="cpu")  # doctest: +SKIP
        >>> imgs[0].dtype, imgs[0].shape[-1]  # doctest: +SKIP
        (torch.uint8, 3)
    """
    if device not in ("cuda", "cpu"):
        raise InvalidArgumentError(f"device must be 'cuda' or 'cpu', got {device!r}", value=device)
    if output not in ("torch", "cupy", "numpy") or (output == "cupy" and device == "cpu"):
        raise InvalidArgumentError(
            f"output must be 'torch', 'numpy' or (on cuda) 'cupy', got {output!r}", value=output
        )
    nvimg = require_nvimgcodec()
    dec = _decoder(nvimg, device, device_id)
    params = nvimg.DecodeParams(color_spec=nvimg.ColorSpec.SRGB, allow_any_depth=False)
    images = dec.decode([bytes(d) for d in data], params=params)
    out: list[Any] = []
    for i, img in enumerate(images):
        if img is None:
            raise CorruptJpegError(f"nvImageCodec could not decode item {i}", source=f"<item {i}>")
        out.append(_convert(img, device, output))
    return out


def _convert(img: Any, device: str, output: str) -> Any:
    if output == "numpy":
        host = img.cpu() if device == "cuda" else img
        return np.asarray(host)
    if device == "cpu":
        import torch

        return torch.from_numpy(np.asarray(img))
    if output == "cupy":
        try:
            cupy = importlib.import_module("cupy")
        except ImportError as exc:
            raise MissingExtraError(
                f"output='cupy' needs CuPy: `pip install freqpipe[gpu]` ({exc})"
            ) from exc
        return cupy.asarray(img)
    import torch

    return torch.from_dlpack(img)
