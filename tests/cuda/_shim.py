"""Run kernels on the CPU: compile a family's exact source with kernels/cpu_shim.h and g++.

The source is the string freqpipe.cuda hands to NVRTC (includes inlined). Each
``extern "C" __global__`` entry point gets a generated wrapper that loops over the launch grid;
``ShimLib.run`` executes the same :class:`~freqpipe.cuda._launch.Launch` records the GPU path
runs, after checking every argument against the C parameter type (the mistake CuPy would not
catch: a Python int or the wrong NumPy scalar travelling as the wrong width).
"""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from freqpipe.cuda._launch import Launch
from freqpipe.cuda._module import kernel_dir, kernel_source

_ENTRY = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)')

# C scalar type -> (NumPy scalar type, ctypes type)
_SCALARS: dict[str, tuple[type, Any]] = {
    "int": (np.int32, ctypes.c_int32),
    "long long": (np.int64, ctypes.c_int64),
    "unsigned long long": (np.uint64, ctypes.c_uint64),
    "float": (np.float32, ctypes.c_float),
    "double": (np.float64, ctypes.c_double),
}
# C pointee type -> NumPy dtype of the array passed
_POINTEES: dict[str, str] = {
    "unsigned char": "uint8",
    "signed char": "int8",
    "short": "int16",
    "int": "int32",
    "float": "float32",
    "double": "float64",
    "fp_half": "float16",
}


def gxx() -> str | None:
    """Path of g++, or None."""
    return shutil.which("g++")


def _preprocess(source: str, workdir: Path) -> str:
    """Expand the entry-point macros (without the shim, so __global__ stays visible)."""
    path = workdir / "entries.cu"
    path.write_text(source)
    out = subprocess.run(
        ["g++", "-E", "-P", "-x", "c++", "-std=c++17", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def _params(text: str) -> list[tuple[str, str, bool]]:
    """(base type, name, is_pointer) of each parameter of a C parameter list."""
    result = []
    for raw in text.split(","):
        p = " ".join(raw.replace("__restrict__", " ").split())
        is_ptr = "*" in p
        p = p.replace("*", " ").replace("const ", " ")
        words = p.split()
        result.append((" ".join(words[:-1]), words[-1], is_ptr))
    return result


class ShimLib:
    """A family's kernels compiled for the CPU.

    Args:
        family: ``"block_dct"``, ``"dequant"`` or ``"dwt"``.
        workdir: a scratch folder for the generated C++ and the shared library.
    """

    def __init__(self, family: str, workdir: Path):
        source = kernel_source(family)
        entries = _ENTRY.findall(_preprocess(source, workdir))
        if not entries:
            raise RuntimeError(f'no extern "C" __global__ entry points in {family}')
        self.signatures: dict[str, list[tuple[str, str, bool]]] = {}
        wrappers = []
        for name, plist in entries:
            params = _params(plist)
            self.signatures[name] = params
            decl = ", ".join(f"{'void*' if ptr else base} {pname}" for base, pname, ptr in params)
            call = ", ".join(f"({base}*){pname}" if ptr else pname for base, pname, ptr in params)
            wrappers.append(
                f'extern "C" void shim_{name}(unsigned gx, unsigned gy, unsigned gz, '
                f"unsigned bx, unsigned by, unsigned bz, {decl}) {{\n"
                f"    FP_SHIM_LAUNCH({name}, gx, gy, gz, bx, by, bz, {call});\n}}\n"
            )
        cpp = workdir / f"{family}_shim.cpp"
        cpp.write_text(
            f'#include "{kernel_dir() / "cpu_shim.h"}"\n' + source + "\n" + "\n".join(wrappers)
        )
        lib = workdir / f"{family}_shim.so"
        subprocess.run(
            ["g++", "-std=c++17", "-O1", "-shared", "-fPIC", "-w", str(cpp), "-o", str(lib)],
            check=True,
            capture_output=True,
            text=True,
        )
        self.lib = ctypes.CDLL(str(lib))

    def run(self, launches: Iterable[Launch]) -> None:
        """Execute launch records whose arrays are NumPy arrays, checking every argument."""
        for launch in launches:
            params = self.signatures[launch.kernel]
            if len(params) != len(launch.args):
                raise TypeError(
                    f"{launch.kernel}: {len(launch.args)} arguments for {len(params)} parameters"
                )
            c_args: list[Any] = []
            for (base, pname, ptr), value in zip(params, launch.args, strict=True):
                if ptr:
                    if not isinstance(value, np.ndarray):
                        raise TypeError(f"{launch.kernel}.{pname}: expected an array")
                    if value.dtype.name != _POINTEES[base]:
                        raise TypeError(
                            f"{launch.kernel}.{pname}: {base}* given {value.dtype} array"
                        )
                    c_args.append(ctypes.c_void_p(value.ctypes.data))
                else:
                    np_type, c_type = _SCALARS[base]
                    if type(value) is not np_type:
                        raise TypeError(
                            f"{launch.kernel}.{pname}: {base} given {type(value).__name__}"
                        )
                    c_args.append(c_type(value.item()))
            if min(launch.grid) == 0:
                continue
            fn = getattr(self.lib, f"shim_{launch.kernel}")
            fn.restype = None
            fn(*(ctypes.c_uint(v) for v in (*launch.grid, *launch.block)), *c_args)
