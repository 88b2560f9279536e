"""Every kernel family compiles for sm_90 and an older target (sm_75) with nvcc, no GPU needed.

What is compiled is the exact string NVRTC gets at run time (includes inlined), with the
options freqpipe passes. PTX generation (the NVVM stage NVRTC runs too) is what is checked; all
six compiles start at once so the check costs about the longest of them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from freqpipe.cuda._module import FAMILIES, kernel_source, source_hash

ARCHS = ("90", "75")


@pytest.fixture(scope="module")
def compiled(nvcc: str, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Any]:
    work = tmp_path_factory.mktemp("nvcc")
    procs = {}
    for family in FAMILIES:
        src = work / f"{family}.cu"
        src.write_text(kernel_source(family))
        for arch in ARCHS:
            cmd = [
                nvcc,
                "--ptx",
                f"-arch=compute_{arch}",
                "-std=c++17",
                f"-DFREQPIPE_SOURCE_HASH=0x{source_hash(family)}ull",
                str(src),
                "-o",
                str(work / f"{family}_{arch}.ptx"),
            ]
            procs[family, arch] = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
    return {key: (p.wait(timeout=600), p.communicate()[0], work) for key, p in procs.items()}


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("family", FAMILIES)
def test_kernel_family_compiles(compiled, family, arch):
    rc, log, work = compiled[family, arch]
    assert rc == 0, f"nvcc failed for {family} sm_{arch}:\n{log}"
    assert "warning" not in log.lower(), log
    ptx = Path(work / f"{family}_{arch}.ptx").read_text()
    assert ".entry" in ptx
