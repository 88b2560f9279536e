"""Array-module helper: the maths is written once against ``xp`` (NumPy or CuPy)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["array_namespace", "is_cupy_array"]


def is_cupy_array(x: Any) -> bool:
    """Tell whether ``x`` is a CuPy array, without importing CuPy.

    Args:
        x: any object.

    Returns:
        True when the type of ``x`` is defined in a ``cupy`` module.

    Example:
        >>> is_cupy_array(np.zeros(3))
        False
    """
    return type(x).__module__.split(".")[0] == "cupy"


def array_namespace(x: Any) -> ModuleType:
    """Return the array module of ``x``: ``cupy`` for CuPy arrays, else ``numpy``.

    CuPy is imported only when ``x`` already is a CuPy array, so NumPy input never loads it.

    Args:
        x: an array (NumPy, CuPy) or anything NumPy accepts.

    Returns:
        The module to call array functions on.

    Example:
        >>> array_namespace(np.zeros(3)).__name__
        'numpy'
    """
    if is_cupy_array(x):
        return importlib.import_module("cupy")
    return np
