"""Each fuzz target runs for a fixed number of inputs, so CI keeps the targets working.

A short deterministic run (``-seed=1``) over the seed corpus plus a few hundred mutations: any
untyped exception, crash or hang fails the test with libFuzzer's report. Longer campaigns:
``scripts/fuzz.sh TARGET SECONDS``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytest.importorskip("atheris", reason="atheris (dev extra) is not installed")

#: Mutations after the seed corpus; the four targets together take a few seconds.
RUNS = {"reader": 200, "markers": 200, "gather": 200, "store": 30}


@pytest.mark.parametrize("target", sorted(RUNS))
def test_fuzz_target_runs_clean(target: str, tmp_path: Path) -> None:
    seeds, corpus, artifacts = tmp_path / "seeds", tmp_path / "corpus", tmp_path / "artifacts"
    corpus.mkdir()
    artifacts.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    module = f"tests.fuzz.fuzz_{target}"
    cmd = [sys.executable, "-m", module]
    proc = subprocess.run(
        [
            *cmd,
            f"-runs={RUNS[target]}",
            "-seed=1",
            "-timeout=30",
            "-max_total_time=60",
            f"-artifact_prefix={artifacts}/",
            str(corpus),
            f"--seeds={seeds}",
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert any(seeds.iterdir()), "empty seed corpus"
    assert "Done" in proc.stderr and not any(artifacts.iterdir())
