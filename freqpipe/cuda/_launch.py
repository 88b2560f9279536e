"""A kernel launch as data: which entry point, geometry, arguments.

Host-side preparation (validation, tables, launch geometry) is written once against an array
module and returns :class:`Launch` records; :func:`run` executes them with CuPy on the current
stream, and the CPU-shim tests execute the very same records with the kernels compiled by g++.
Scalars are NumPy scalars of exactly the C parameter's type (a Python int would travel as
``long long``). :func:`run_plan` is the GPU half every public kernel function shares; the
shape checks the plans share (:func:`plane_count`, :func:`block_crop`,
:func:`require_c_contiguous`) are pure functions, tested on the CPU.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from freqpipe.cuda._interop import GpuContext
from freqpipe.cuda._module import get_function
from freqpipe.errors import ShapeError

__all__ = [
    "BLOCK",
    "HostBackend",
    "Launch",
    "Planned",
    "block_crop",
    "grid_1d",
    "plane_count",
    "require_c_contiguous",
    "run",
    "run_plan",
]

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


#: What a ``plan_*`` function returns: the objects for the caller, and the launches that fill them.
Planned = tuple[tuple[Any, ...], list[Launch]]


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


def run_plan(like: Any, plan: Callable[[GpuContext], Planned]) -> tuple[Any, ...]:
    """Build a launch plan for the device and stream of ``like``, run it, return its outputs.

    Every public kernel function is this call: ``plan`` states what differs (which inputs,
    made kernel-ready with the context, and which ``plan_*`` function with which options).

    Args:
        like: the call's main input, a CuPy array or CUDA torch tensor; it picks the device,
            the stream (the caller's current one) and the allocator of the outputs.
        plan: given the call's :class:`~freqpipe.cuda._interop.GpuContext`, returns
            ``(outputs, launches)``; it runs with that device and stream current.

    Returns:
        The plan's outputs, in the caller's array type, produced on the caller's stream.

    Raises:
        FreqpipeError: ``like`` is not on a CUDA device.
        MissingExtraError: CuPy is not installed.

    Example:
        >>> run_plan(cupy_array, lambda ctx: plan_block_dct(ctx, cupy_array))  # doctest: +SKIP
    """
    ctx = GpuContext(like)
    with ctx.active():
        outs, launches = plan(ctx)
        run(launches)
    return outs


def plane_count(lead: Sequence[int]) -> int:
    """Return how many planes the leading axes of a ``(..., H, W)`` array hold.

    Args:
        lead: the shape before the two plane axes (empty for a single plane).

    Returns:
        The product of ``lead`` (1 when empty).

    Example:
        >>> plane_count((2, 3)), plane_count(())
        (6, 1)
    """
    return int(np.prod(lead, dtype=np.int64))


def block_crop(
    size: tuple[int, int] | None, hb: int, wb: int, shape: tuple[int, ...]
) -> tuple[int, int]:
    """Validate the optional ``(H, W)`` crop of an inverse transform's 8x8 block grid.

    Args:
        size: ``(H, W)`` or None for the whole grid.
        hb: blocks down.
        wb: blocks across.
        shape: the input's shape, for the error.

    Returns:
        ``(H, W)``: ``size``, or ``(8 hb, 8 wb)``.

    Raises:
        ShapeError: ``size`` is empty or larger than the block grid.

    Example:
        >>> block_crop(None, 2, 3, (64, 2, 3)), block_crop((10, 20), 2, 3, (64, 2, 3))
        ((16, 24), (10, 20))
    """
    h, w = (8 * hb, 8 * wb) if size is None else (int(size[0]), int(size[1]))
    if not (0 < h <= 8 * hb and 0 < w <= 8 * wb):
        raise ShapeError(
            f"size {tuple(size or ())} does not fit a block grid of {hb}x{wb} "
            f"(at most {8 * hb}x{8 * wb})",
            shape=shape,
        )
    return h, w


def require_c_contiguous(what: str, *arrays: Any) -> None:
    """Refuse arrays the kernels cannot index as dense row-major memory.

    Args:
        what: the inputs, as the error names them (``"coefficients"``).
        *arrays: NumPy or CuPy arrays.

    Raises:
        ShapeError: one of them is not C-contiguous.

    Example:
        >>> require_c_contiguous("inputs", np.zeros((2, 3)))
        >>> require_c_contiguous("inputs", np.zeros((2, 3)).T)
        Traceback (most recent call last):
        ...
        freqpipe.errors.ShapeError: expected C-contiguous inputs
    """
    for a in arrays:
        if not a.flags.c_contiguous:
            raise ShapeError(f"expected C-contiguous {what}", shape=tuple(a.shape))


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
