"""Dispatch of public transforms to the GPU backend and to/from torch CPU tensors.

The GPU side (``freqpipe.cuda``, installed with ``pip install freqpipe[gpu]``) registers its
implementations with :func:`register_gpu`. A public function asks :func:`gpu_impl` first; for a
CuPy array or a CUDA torch tensor it gets the registered callable and delegates. NumPy input
never imports ``freqpipe.cuda``, CuPy or torch.

Torch tensors on the CPU are accepted by the public functions: they are viewed as NumPy arrays
(no copy), transformed by the NumPy reference and handed back as torch tensors.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from freqpipe.errors import MissingExtraError

__all__ = ["from_numpy_like", "gpu_impl", "is_gpu_array", "register_gpu", "to_numpy_if_torch"]

F = TypeVar("F", bound=Callable[..., Any])

_GPU_IMPLS: dict[str, Callable[..., Any]] = {}
_backend_import_tried = False


def register_gpu(name: str) -> Callable[[F], F]:
    """Register ``fn`` as the GPU implementation of the public op ``name``.

    Args:
        name: the op, e.g. ``"block_dct"``, ``"block_idct"``, ``"dwt2"``, ``"idwt2"``.

    Returns:
        A decorator storing the function and returning it unchanged.

    Example:
        >>> @register_gpu("doctest_op")
        ... def _impl(x):
        ...     return x
        >>> "doctest_op" in registered_gpu_ops()
        True
    """

    def decorator(fn: F) -> F:
        _GPU_IMPLS[name] = fn
        return fn

    return decorator


def registered_gpu_ops() -> tuple[str, ...]:
    """Return the names of the ops that have a GPU implementation registered.

    Returns:
        Sorted op names.

    Example:
        >>> isinstance(registered_gpu_ops(), tuple)
        True
    """
    return tuple(sorted(_GPU_IMPLS))


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def is_gpu_array(x: Any) -> bool:
    """Tell whether ``x`` lives on a GPU (CuPy array or CUDA torch tensor); imports nothing.

    Args:
        x: any object.

    Returns:
        True for a CuPy array or a torch tensor with ``is_cuda`` true.

    Example:
        >>> import numpy as np
        >>> is_gpu_array(np.zeros(2))
        False
    """
    top = type(x).__module__.split(".")[0]
    if top == "cupy":
        return True
    return top == "torch" and bool(getattr(x, "is_cuda", False))


def gpu_impl(name: str, x: Any) -> Callable[..., Any] | None:
    """Return the GPU implementation of ``name`` when ``x`` is on a GPU, else None.

    On the first GPU input, ``freqpipe.cuda`` is imported once so that it can register itself.

    Args:
        name: the op name used with :func:`register_gpu`.
        x: the op's main input.

    Returns:
        The registered callable, or None for host input (NumPy, torch CPU, lists).

    Raises:
        MissingExtraError: ``x`` is on a GPU but no implementation of ``name`` is registered.

    Example:
        >>> import numpy as np
        >>> gpu_impl("block_dct", np.zeros((8, 8))) is None
        True
    """
    global _backend_import_tried
    if not is_gpu_array(x):
        return None
    if name not in _GPU_IMPLS and not _backend_import_tried:
        _backend_import_tried = True
        try:
            importlib.import_module("freqpipe.cuda")
        except ImportError:
            pass
    fn = _GPU_IMPLS.get(name)
    if fn is None:
        raise MissingExtraError(
            f"{name}: got a GPU array ({type(x).__module__}.{type(x).__name__}) but no GPU "
            "implementation is registered; the GPU backend needs `pip install freqpipe[gpu]` "
            "(CuPy), or move the input to the CPU first"
        )
    return fn


def to_numpy_if_torch(x: Any) -> tuple[Any, bool]:
    """View a torch CPU tensor as a NumPy array (no copy); leave other input alone.

    Args:
        x: an array-like or a torch tensor on the CPU.

    Returns:
        ``(array, was_torch)``.

    Example:
        >>> import numpy as np
        >>> to_numpy_if_torch(np.zeros(2))[1]
        False
    """
    if _is_torch(x) and hasattr(x, "detach"):
        return x.detach().cpu().numpy(), True
    return x, False


def from_numpy_like(y: Any, was_torch: bool) -> Any:
    """Hand a NumPy result back as a torch tensor when the input was one.

    Args:
        y: a NumPy array, or a tuple/list of them (nested).
        was_torch: the flag from :func:`to_numpy_if_torch`.

    Returns:
        ``y`` unchanged, or converted with ``torch.from_numpy`` (structure kept).

    Example:
        >>> import numpy as np
        >>> from_numpy_like(np.ones(2), False).tolist()
        [1.0, 1.0]
    """
    if not was_torch:
        return y
    torch = importlib.import_module("torch")

    def conv(v: Any) -> Any:
        if isinstance(v, tuple):
            return tuple(conv(e) for e in v)
        if isinstance(v, list):
            return [conv(e) for e in v]
        return torch.from_numpy(np.ascontiguousarray(v))

    return conv(y)
