"""Kernel sources: where they live, how they are assembled, and their compiled modules.

The sources are ``kernels/*.cu`` at the top of a source checkout, copied into the wheel as
``freqpipe/_kernels``. Local ``#include "..."`` lines are inlined here, so the string handed
to NVRTC is self-contained; its SHA-256 goes into the compile options as well, so CuPy's
on-disk cache (keyed by source and options, blind to headers) can never serve a stale build.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path
from typing import Any

import freqpipe
from freqpipe.cuda._interop import require_cupy
from freqpipe.errors import FreqpipeError

__all__ = ["FAMILIES", "get_function", "kernel_dir", "kernel_source", "source_hash"]

#: Kernel families, one ``.cu`` file each.
FAMILIES: tuple[str, ...] = ("block_dct", "dequant", "dwt")

_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([^"]+)"[ \t]*$', re.MULTILINE)
_PRAGMA_ONCE = re.compile(r"^[ \t]*#[ \t]*pragma[ \t]+once[ \t]*$", re.MULTILINE)


def kernel_dir() -> Path:
    """Return the folder holding the ``.cu`` sources (the wheel's copy, else the checkout's).

    Returns:
        ``freqpipe/_kernels`` when installed from a wheel, else the repository's ``kernels/``.

    Raises:
        FreqpipeError: neither folder exists (a broken installation).

    Example:
        >>> (kernel_dir() / "block_dct.cu").is_file()
        True
    """
    package = Path(freqpipe.__file__).resolve().parent
    for candidate in (package / "_kernels", package.parent / "kernels"):
        if (candidate / "common.cuh").is_file():
            return candidate
    raise FreqpipeError(
        f"CUDA kernel sources not found in {package / '_kernels'} or {package.parent / 'kernels'}; "
        "reinstall freqpipe"
    )


def _inline(path: Path, seen: set[Path]) -> str:
    text = _PRAGMA_ONCE.sub("", path.read_text(encoding="utf-8"))

    def replace(match: re.Match[str]) -> str:
        target = (path.parent / match.group(1)).resolve()
        if target in seen:
            return ""
        seen.add(target)
        return _inline(target, seen)

    return _INCLUDE.sub(replace, text)


@functools.cache
def kernel_source(family: str) -> str:
    """Return the self-contained source of a kernel family, local includes inlined.

    Args:
        family: one of :data:`FAMILIES`.

    Returns:
        The CUDA C++ source string that NVRTC compiles (and the CPU shim tests run).

    Raises:
        FreqpipeError: unknown family.

    Example:
        >>> "fp_fused_dct_rgb_nhwc_f32" in kernel_source("block_dct")
        True
    """
    if family not in FAMILIES:
        raise FreqpipeError(f"unknown kernel family {family!r}; valid: {', '.join(FAMILIES)}")
    path = (kernel_dir() / f"{family}.cu").resolve()
    return _inline(path, {path})


def source_hash(family: str) -> str:
    """Return the first 16 hex digits of the SHA-256 of a family's inlined source.

    Args:
        family: one of :data:`FAMILIES`.

    Returns:
        A 16-character hex string.

    Example:
        >>> len(source_hash("dwt"))
        16
    """
    return hashlib.sha256(kernel_source(family).encode()).hexdigest()[:16]


@functools.cache
def _module_loader() -> Any:
    cupy = require_cupy()

    @cupy.memoize(for_each_device=True)
    def load(family: str) -> Any:
        options = ("-std=c++17", f"-DFREQPIPE_SOURCE_HASH=0x{source_hash(family)}ull")
        return cupy.RawModule(code=kernel_source(family), options=options)

    return load


#: (device, family, entry point) -> RawKernel. CuPy's ``RawModule.get_function`` builds a new
#: RawKernel and walks two per-device memo caches on every call; a launch needs one lookup.
_KERNELS: dict[tuple[int, str, str], Any] = {}


def get_function(family: str, name: str) -> Any:
    """Return a compiled kernel of the current device (compiled once per device, then cached).

    Args:
        family: the ``.cu`` file, one of :data:`FAMILIES`.
        name: the ``extern "C"`` entry point.

    Returns:
        A ``cupy.RawKernel``.

    Raises:
        MissingExtraError: CuPy is not installed.

    Example:
        >>> get_function("dwt", "fp_dwt2_fwd_haar_periodization_f32_f32")  # doctest: +SKIP
    """
    cupy = require_cupy()
    key = (cupy.cuda.runtime.getDevice(), family, name)
    kernel = _KERNELS.get(key)
    if kernel is None:
        kernel = _KERNELS[key] = _module_loader()(family).get_function(name)
    return kernel
