"""CuPy / torch interoperation: importing CuPy, zero-copy views, the caller's stream.

Kernels run on the stream the consumer uses: torch's current stream for CUDA torch tensors
(wrapped as a ``cupy.cuda.ExternalStream``), CuPy's current stream for CuPy arrays. Outputs for
torch callers are allocated by torch (its caching allocator, its stream) and handed to the
kernels as zero-copy DLPack views, so nothing is copied and torch's memory accounting holds.
"""

from __future__ import annotations

import contextlib
import importlib
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np

from freqpipe.errors import FreqpipeError, MissingExtraError

__all__ = ["GpuContext", "is_torch", "require_cupy"]


def require_cupy() -> ModuleType:
    """Import CuPy, or explain how to get it.

    Returns:
        The ``cupy`` module.

    Raises:
        MissingExtraError: CuPy is not installed (or cannot load its CUDA libraries).

    Example:
        >>> require_cupy()  # doctest: +SKIP
        <module 'cupy' ...>
    """
    try:
        return importlib.import_module("cupy")
    except ImportError as exc:
        raise MissingExtraError(
            "the GPU kernels need CuPy: install the `gpu` extra, `pip install freqpipe[gpu]` "
            f"(CuPy import failed: {exc})"
        ) from exc


def is_torch(x: Any) -> bool:
    """Tell whether ``x`` is a torch tensor, without importing torch.

    Args:
        x: any object.

    Returns:
        True for ``torch.Tensor`` instances.

    Example:
        >>> is_torch(np.zeros(2))
        False
    """
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "is_cuda")


_STREAMS: dict[tuple[int, int], Any] = {}


def _external_stream(cupy: ModuleType, raw: int, device_id: int) -> Any:
    """CuPy handle of a torch stream, made once per stream (not once per call)."""
    key = (raw, device_id)
    stream = _STREAMS.get(key)
    if stream is None:
        with warnings.catch_warnings():
            # CuPy 14 deprecates ExternalStream for Stream.from_external, absent from CuPy 13
            warnings.simplefilter("ignore", DeprecationWarning)
            stream = _STREAMS[key] = cupy.cuda.ExternalStream(raw, device_id)
    return stream


_TABLES: dict[tuple[Any, ...], Any] = {}
_TABLES_MAX = 64

_TORCH_DTYPES = ("uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")


class GpuContext:
    """Device, stream and allocator of one call, taken from its main input.

    Args:
        like: a CuPy array or a CUDA torch tensor.

    Raises:
        FreqpipeError: ``like`` is neither (a CPU tensor, a NumPy array, ...).
    """

    def __init__(self, like: Any):
        self.cupy = require_cupy()
        self.torch: ModuleType | None = None
        self.device: Any = None
        if is_torch(like):
            if not like.is_cuda:
                raise FreqpipeError(
                    f"expected a CUDA tensor, got one on {like.device}; move it with .cuda() "
                    "or call the NumPy reference"
                )
            self.torch = importlib.import_module("torch")
            self.device_id = int(like.device.index if like.device.index is not None else 0)
            self.device = self.torch.device("cuda", self.device_id)
            raw = self.torch.cuda.current_stream(self.device).cuda_stream
            self.stream = _external_stream(self.cupy, raw, self.device_id)
        elif type(like).__module__.split(".")[0] == "cupy":
            self.device_id = int(like.device.id)
            self.stream = self.cupy.cuda.get_current_stream()
        else:
            raise FreqpipeError(
                f"expected a CuPy array or a CUDA torch tensor, got {type(like).__name__}"
            )

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Make the call's device and stream current for CuPy inside the block."""
        with self.cupy.cuda.Device(self.device_id), self.stream:
            yield

    def asarray(self, x: Any) -> Any:
        """Zero-copy CuPy view of a CUDA torch tensor or CuPy array (call inside ``active``)."""
        if is_torch(x):
            if not x.is_cuda:
                raise FreqpipeError(f"expected a CUDA tensor, got one on {x.device}")
            return self._view(x)
        if type(x).__module__.split(".")[0] == "cupy":
            return x
        raise FreqpipeError(f"expected a CuPy array or CUDA torch tensor, got {type(x).__name__}")

    def table(self, values: Any, dtype: Any) -> Any:
        """A small host table (selection map, statistics) on the device, cached by content.

        The same selection and statistics come with every batch; caching their device copies
        keeps a synchronous host-to-device copy out of each call.
        """
        host = np.ascontiguousarray(values, dtype=dtype)
        key = (self.device_id, host.dtype.str, host.shape, host.tobytes())
        hit = _TABLES.get(key)
        if hit is None:
            if len(_TABLES) >= _TABLES_MAX:
                _TABLES.pop(next(iter(_TABLES)))
            hit = _TABLES[key] = self.cupy.asarray(host)
        return hit

    def _view(self, t: Any) -> Any:
        """CuPy array over a CUDA tensor's memory, built from its pointer and strides.

        ``cupy.from_dlpack`` makes torch record an event on its stream and make the consumer's
        stream wait on it whenever the two stream handles differ, as torch's default stream (0)
        and CuPy's name for it (1) always do: driver calls per array, per call, for kernels
        that run on that very stream anyway. The kernels here run on the tensor's own current
        stream, so a plain view is enough; the tensor is its memory's owner and kept alive.
        """
        name = str(t.dtype).removeprefix("torch.")
        if name not in _TORCH_DTYPES or t.numel() == 0 or t.device.index != self.device_id:
            return self.cupy.from_dlpack(t.detach())
        item = t.element_size()
        span = 1 + sum((n - 1) * st for n, st in zip(t.shape, t.stride()))
        mem = self.cupy.cuda.memory.UnownedMemory(t.data_ptr(), span * item, t, self.device_id)
        return self.cupy.ndarray(
            tuple(t.shape),
            dtype=name,
            memptr=self.cupy.cuda.memory.MemoryPointer(mem, 0),
            strides=tuple(st * item for st in t.stride()),
        )

    def empty(self, shape: tuple[int, ...], dtype: Any) -> tuple[Any, Any]:
        """Allocate an output; returns ``(cupy_view, what_to_return_to_the_caller)``."""
        dt = np.dtype(dtype)
        if self.torch is not None:
            if dt.name not in _TORCH_DTYPES:
                raise FreqpipeError(f"no torch dtype for {dt}")
            t = self.torch.empty(shape, dtype=getattr(self.torch, dt.name), device=self.device)
            return self._view(t), t
        a = self.cupy.empty(shape, dtype=dt)
        return a, a

    def wrap(self, a: Any) -> Any:
        """Hand a CuPy result back in the caller's type (zero-copy for torch)."""
        if self.torch is not None:
            return self.torch.from_dlpack(a)
        return a
