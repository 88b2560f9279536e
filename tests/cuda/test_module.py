"""Source assembly, lazy import, dispatch registration and errors without CuPy."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest

from freqpipe.cuda._module import FAMILIES, kernel_dir, kernel_source, source_hash
from freqpipe.errors import MissingExtraError


def test_sources_are_self_contained_and_hashed():
    for family in FAMILIES:
        src = kernel_source(family)
        assert not re.search(r'#\s*include\s+"', src), "local includes must be inlined"
        assert "struct fp_half" in src
        assert len(source_hash(family)) == 16
    assert (kernel_dir() / "cpu_shim.h").is_file()


def test_every_entry_point_is_extern_c_without_barriers():
    for family in FAMILIES:
        src = kernel_source(family)
        for banned in ("__syncthreads", "__shared__", "__shfl"):
            assert banned not in src, f"{family} uses {banned}: the CPU shim cannot run it"


def test_import_freqpipe_does_not_import_cupy_and_cuda_registers():
    code = (
        "import sys, numpy as np, freqpipe, freqpipe.transforms as T;"
        "assert 'cupy' not in sys.modules;"
        "T.block_dct(np.zeros((8, 8)));"
        "assert 'freqpipe.cuda' not in sys.modules;"
        "import freqpipe.cuda;"
        "from freqpipe.transforms._dispatch import registered_gpu_ops as r;"
        "assert {'block_dct', 'block_idct', 'dwt2', 'idwt2'} <= set(r()), r();"
        "assert 'cupy' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
def test_missing_cupy_names_the_gpu_extra():
    from freqpipe.cuda import fused_dct

    with pytest.raises(MissingExtraError, match=r"freqpipe\[gpu\]"):
        fused_dct(object(), "dct24")
