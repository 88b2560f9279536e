"""A kernel launch as data: which entry point, geometry, arguments.

Host-side preparation (validation, tables, launch geometry) is written once against an array
module and returns :class:`Launch` records; :func:`run` executes them with CuPy on the current
stream, and the CPU-shim tests execute the very same records with the kernels compiled by g++.
Scalars are NumPy scalars of exactly the C parameter's type (a Python int would travel as
``long long``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import numpy as np

from freqpipe.cuda._module import get_function

__all__ = ["BLOCK", "HostBackend", "Launch", "grid_1d", "run"]

#: Threads per block of the 1-D launches. 128 keeps register-heavy thread-per-block kernels at
#: several resident blocks per SM.
BLOCK = 128


@dataclasses.dataclass(frozen=True)
class Launch:
    """One kernel launch.

    Attributes:
        family: the ``.cu`` file (``"block_dct"``, ``"dequant"``, ``"dwt"``).
        kernel: the ``extern "C"`` entry point.
        grid: blocks per grid, (x, y, z).
        block: threads per block, (x, y, z).
        args: arrays (NumPy or CuPy, as prepared) and NumPy scalars, in parameter order.
    """

    family: str
    kernel: str
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    args: tuple[Any, ...]


def grid_1d(n_threads: int, block: int = BLOCK, y: int = 1) -> tuple[tuple[int, int, int], ...]:
    """Return ``(grid, block)`` covering ``n_threads`` threads along x (``y`` blocks along y).

    Args:
        n_threads: threads needed along x (>= 0).
        block: threads per block.
        y: grid size along y.

    Returns:
        ``((gx, y, 1), (block, 1, 1))``; ``gx`` is 0 for an empty launch.

    Example:
        >>> grid_1d(300)
        ((3, 1, 1), (128, 1, 1))
    """
    return ((n_threads + block - 1) // block, y, 1), (block, 1, 1)


def run(launches: Iterable[Launch]) -> None:
    """Launch each record with CuPy on the current device and stream; empty grids are skipped.

    Args:
        launches: records whose array arguments are CuPy arrays.

    Example:
        >>> run([])
    """
    for launch in launches:
        if min(launch.grid) == 0:
            continue
        get_function(launch.family, launch.kernel)(launch.grid, launch.block, launch.args)


class HostBackend:
    """Allocator and table maker of the launch plans for NumPy arrays (the CPU-shim tests).

    :class:`~freqpipe.cuda._interop.GpuContext` is the device counterpart: both offer
    ``empty(shape, dtype) -> (kernel_array, returned_object)`` and ``table(values, dtype)``.

    Example:
        >>> HostBackend().empty((2, 3), np.float32)[0].shape
        (2, 3)
    """

    def empty(self, shape: tuple[int, ...], dtype: Any) -> tuple[Any, Any]:
        """Allocate an output; the kernel array is also what the caller gets."""
        a = np.empty(shape, dtype=dtype)
        return a, a

    def table(self, values: Any, dtype: Any) -> Any:
        """A small table as a contiguous NumPy array."""
        return np.ascontiguousarray(values, dtype=dtype)
