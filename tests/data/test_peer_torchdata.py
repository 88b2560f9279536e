"""Issue 19: the same checkpoint-and-resume scenario through torchdata's StatefulDataLoader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sampler", ["random", "distributed"])
@pytest.mark.parametrize("steps", [0, 2])
def test_same_index_sequence_as_stateful_dataloader(
    tmp_path: Path, sampler: str, steps: int
) -> None:
    pytest.importorskip("torchdata.stateful_dataloader", reason="torchdata (the dev extra)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    seen = {}
    for kind in ("torchdata", "freqpipe"):
        for mode in ("save", "resume"):  # each in a new process
            args = ["-m", "tests.data._peer_child", kind, sampler, str(steps), str(tmp_path), mode]
            result = subprocess.run(
                [sys.executable, *args],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=240,
                check=False,
            )
            assert result.returncode == 0, result.stderr[-4000:]
        seen[kind] = [
            json.loads((tmp_path / f"{kind}-{mode}.json").read_text())
            for mode in ("save", "resume")
        ]
    assert seen["freqpipe"] == seen["torchdata"]
    head, rest = seen["freqpipe"]
    assert len(head) == 3 * steps and len(set(head + rest)) == len(head + rest)
