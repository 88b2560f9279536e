"""Shared pieces of the DALI integration: importing DALI, file lists, the output spec."""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from freqpipe.errors import InvalidArgumentError, MissingExtraError

__all__ = [
    "AUTO",
    "PipelineSpec",
    "available",
    "require_dali",
    "resolve_device_id",
    "resolve_files",
    "shard_range",
]

#: Sentinel of ``device_id``: GPU 0 when torch sees CUDA, else DALI's CPU-only mode (None).
AUTO = "auto"

_INSTALL = "install the `dali` extra: `pip install freqpipe[dali]` (nvidia-dali-cuda120)"


def require_dali() -> ModuleType:
    """Import ``nvidia.dali``, or explain how to get it.

    Returns:
        The ``nvidia.dali`` module (``fn``, ``types`` and ``plugin.pytorch`` imported too).

    Raises:
        MissingExtraError: DALI is not installed.

    Example:
        >>> require_dali().__name__  # doctest: +SKIP
        'nvidia.dali'
    """
    try:
        dali = importlib.import_module("nvidia.dali")
        importlib.import_module("nvidia.dali.fn")
        importlib.import_module("nvidia.dali.types")
        importlib.import_module("nvidia.dali.plugin.pytorch")
    except ImportError as exc:
        raise MissingExtraError(f"freqpipe.dali needs NVIDIA DALI: {_INSTALL} ({exc})") from exc
    return dali


def available() -> bool:
    """Tell whether NVIDIA DALI can be imported (without raising).

    Returns:
        True when ``nvidia.dali`` and its PyTorch plugin import.

    Example:
        >>> isinstance(available(), bool)
        True
    """
    try:
        require_dali()
    except MissingExtraError:
        return False
    return True


def resolve_device_id(device_id: Any) -> int | None:
    """``"auto"`` -> 0 when torch sees a CUDA device, else None (DALI's CPU-only mode).

    Args:
        device_id: ``"auto"``, None or a GPU index.

    Returns:
        A GPU index, or None for the CPU-only pipeline.

    Raises:
        InvalidArgumentError: anything else.

    Example:
        >>> resolve_device_id(None) is None
        True
    """
    if isinstance(device_id, str) and device_id == AUTO:
        import torch

        return 0 if torch.cuda.is_available() else None
    if device_id is None:
        return None
    if isinstance(device_id, bool) or not isinstance(device_id, int) or device_id < 0:
        raise InvalidArgumentError(
            f"device_id must be 'auto', None (CPU only) or a GPU index >= 0, got {device_id!r}",
            value=device_id,
        )
    return device_id


def resolve_files(
    root_or_files: Any, labels: Sequence[int] | None = None
) -> tuple[list[str], list[int]]:
    """Files and labels for DALI's file reader, labelled exactly as ``JpegFolder``.

    Args:
        root_or_files: a folder (read with :class:`~freqpipe.data.JpegFolder`, torchvision
            ``ImageFolder`` labels), a map-style dataset of ``(path, label)`` (``JpegFolder``,
            ``JpegFileList`` of paths), or a sequence of paths.
        labels: labels for a sequence of paths (default all 0); not with a folder or dataset.

    Returns:
        ``(files, labels)``, in dataset order.

    Raises:
        InvalidArgumentError: bytes items, mismatched lengths, an empty list, or ``labels``
            given with a folder or dataset.

    Example:
        >>> from freqpipe._samples import samples_path
        >>> files, labels = resolve_files(samples_path())
        >>> len(files) == len(labels), labels[0]
        (True, 0)
    """
    if isinstance(root_or_files, (str, os.PathLike)) and os.path.isdir(root_or_files):
        from freqpipe.data import JpegFolder

        root_or_files = JpegFolder(root_or_files)
    is_dataset = hasattr(root_or_files, "__getitem__") and hasattr(root_or_files, "samples")
    is_dataset = is_dataset or type(root_or_files).__name__ == "JpegFileList"
    if is_dataset:
        if labels is not None:
            raise InvalidArgumentError("labels= only goes with a sequence of paths")
        pairs = [root_or_files[i] for i in range(len(root_or_files))]
        files = [p for p, _ in pairs]
        labs = [int(v) for _, v in pairs]
    elif isinstance(root_or_files, (str, os.PathLike, bytes)):
        raise InvalidArgumentError(
            f"expected a folder, a dataset or a sequence of paths, got {root_or_files!r}",
            value=root_or_files,
        )
    else:
        files = list(root_or_files)
        labs = [0] * len(files) if labels is None else [int(v) for v in labels]
    if any(isinstance(f, (bytes, bytearray, memoryview)) for f in files):
        raise InvalidArgumentError("DALI's file reader needs paths, not JPEG bytes")
    if len(files) != len(labs):
        raise InvalidArgumentError(f"{len(files)} files but {len(labs)} labels")
    if not files:
        raise InvalidArgumentError("no files to read")
    return [os.fspath(f) for f in files], labs


def shard_range(n: int, shard_id: int, num_shards: int) -> tuple[int, int]:
    """``[start, end)`` of one shard, split as DALI's readers split (contiguous, floor).

    Args:
        n: dataset size.
        shard_id: this shard, 0..num_shards-1.
        num_shards: number of shards.

    Returns:
        ``(start, end)``; the shards are disjoint and cover ``range(n)``.

    Raises:
        InvalidArgumentError: a bad shard.

    Example:
        >>> [shard_range(10, i, 3) for i in range(3)]
        [(0, 3), (3, 6), (6, 10)]
    """
    if num_shards < 1 or not 0 <= shard_id < num_shards:
        raise InvalidArgumentError(
            f"need 0 <= shard_id < num_shards, got shard_id={shard_id}, num_shards={num_shards}"
        )
    return n * shard_id // num_shards, n * (shard_id + 1) // num_shards


@dataclass(frozen=True)
class PipelineSpec:
    """What a freqpipe DALI pipeline outputs, and what :class:`Iterator` does with it.

    Attributes:
        source: ``"pixels"`` (uint8 (N, size, size, 3) crops) or ``"coefficients"``
            (int16 q (N, C, size/8, size/8) and uint16 quant (N, C)).
        output: ``"dct"``, ``"dwt"`` or ``"rgb"``.
        selection: the DCT :class:`~freqpipe.transforms.Selection` (dct output) or None.
        size: crop side in pixels.
        stats: per-output-channel ``(mean, std)`` float64 arrays, or None.
        dtype: torch floating dtype of ``x``.
        wavelet: wavelet of the dwt output.
        kernel: ``"iterator"`` (freqpipe's transform after the iterator, DLPack) or
            ``"pipeline"`` (inside the pipeline, a python_function; outputs are final).
        device_id: the pipeline's GPU, or None (CPU only).
        batch_size: the pipeline's batch size.
        shard_size: samples in this pipeline's shard (for ``len``).
        reader_name: the file reader's name, or None (external source).
        output_map: the pipeline's output names, in order.
    """

    source: str
    output: str
    selection: Any
    size: int
    stats: Any
    dtype: Any
    wavelet: str
    kernel: str
    device_id: int | None
    batch_size: int
    shard_size: int
    reader_name: str | None
    output_map: tuple[str, ...]
