"""Build the native JPEG coefficient reader and ship the CUDA kernel sources.

Metadata lives in pyproject.toml; this file only describes what setuptools cannot express
declaratively: the C extension over the system libjpeg-turbo, the small C extension over
coefficient blocks in memory (no library), and copying ``kernels/`` (kept at
the top of the repository, beside the CPU shim tests) into the package as ``freqpipe/_kernels``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithKernels(build_py):
    """Copy kernels/*.cu and *.h into the built package so wheels carry them."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "freqpipe" / "_kernels"
        target.mkdir(parents=True, exist_ok=True)
        for source in sorted((ROOT / "kernels").glob("*")):
            if source.suffix in {".cu", ".cuh", ".h"}:
                shutil.copy2(source, target / source.name)


def _jpeg_extension() -> Extension:
    include_dirs = [d for d in os.environ.get("FREQPIPE_JPEG_INCLUDE", "").split(os.pathsep) if d]
    library_dirs = [d for d in os.environ.get("FREQPIPE_JPEG_LIBDIR", "").split(os.pathsep) if d]
    return Extension(
        "freqpipe.jpeg._native",
        sources=["freqpipe/jpeg/_native.c", "freqpipe/jpeg/_spectral.c"],
        depends=["freqpipe/jpeg/_spectral.h"],  # rebuilt when it changes; shipped in the sdist
        include_dirs=include_dirs,
        library_dirs=library_dirs,
        libraries=["jpeg"],
        extra_compile_args=["-O3", "-std=c99", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    )


def _blocks_extension() -> Extension:
    return Extension(
        "freqpipe.jpeg._blocks",
        sources=["freqpipe/jpeg/_blocks.c"],
        extra_compile_args=["-O3", "-std=c99", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    )


setup(
    ext_modules=[_jpeg_extension(), _blocks_extension()], cmdclass={"build_py": BuildPyWithKernels}
)
