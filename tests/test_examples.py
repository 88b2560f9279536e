"""The runnable examples still run (tiny settings), so a refactor cannot silently break them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def _run(*args: str, timeout: float = 240) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


@pytest.mark.parametrize("mode", [[], ["--baseline"]], ids=["freqloader", "baseline"])
def test_train_dct_resnet(mode: list[str]) -> None:
    out = _run(
        str(EXAMPLES / "train_dct_resnet.py"),
        "--size",
        "64",
        "--batch-size",
        "4",
        "--steps",
        "2",
        "--workers",
        "0",
        *mode,
    )
    assert "images/s" in out


def test_read_coefficients_example() -> None:
    assert "images/s" in _run(str(EXAMPLES / "read_coefficients.py"), "--threads", "2")


def test_convert_dataset_example(tmp_path: Path) -> None:
    import freqpipe as fp

    _run(str(EXAMPLES / "convert_dataset.py"), str(fp.samples_path()), str(tmp_path / "store"))
    assert (tmp_path / "store" / "manifest.json").is_file()


def test_train_wae_example() -> None:
    _run(
        str(EXAMPLES / "train_wae.py"),
        "--size",
        "32",
        "--steps",
        "2",
        "2",
        "2",
        "--batch-size",
        "2",
    )


def test_resume_example_survives_sigkill(tmp_path: Path) -> None:
    import json
    import os
    import signal

    script = [sys.executable, str(EXAMPLES / "resume.py"), "--epochs", "2", "--every", "4"]
    whole = tmp_path / "whole.json"
    _run(*script[1:], str(tmp_path / "uninterrupted.pt"), "--out", str(whole))
    ckpt, out = tmp_path / "ck.pt", tmp_path / "seen.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = [*script, str(ckpt), "--step-seconds", "0.3"]
    proc = subprocess.Popen(killed, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:  # kill mid-epoch 1, two steps after its last checkpoint
        if line.strip() == "step 22":
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    resumed = _run(*script[1:], str(ckpt), "--out", str(out))
    assert "resumed at epoch 1 step 20" in resumed
    seen = json.loads(out.read_text())
    assert [sorted(epoch) for epoch in seen] == [list(range(32))] * 2  # each sample once
    assert seen == json.loads(whole.read_text())  # and in the uninterrupted run's order
