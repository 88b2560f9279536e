"""The README's examples run as written (placeholders filled, as a reader would), so none drifts.

Every fenced ``python`` block runs in a fresh interpreter, in a folder holding what the README
names (``photo.jpg``, ``imagenet/train``), after a prelude that defines the free names the text
explains (``paths``, ``rgb``, ``H``, ``W``, ``img``, ``rank``, ``world_size``). Without CUDA,
``device="cuda"`` becomes ``device="cpu"``: the README says the main example runs so. Every
``freqpipe ...`` command of a ``bash`` block runs against the bundled samples.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from freqpipe._samples import sample_files, samples_path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)

PRELUDE = """
import numpy as np
from freqpipe._samples import sample_files
paths = sample_files()
H = W = 64
rgb = np.random.default_rng(0).integers(0, 256, (3, H, W), dtype=np.uint8)
img = rgb.astype(np.float32) / 255
rank, world_size = 0, 1
"""

#: Commands of bash blocks that set up a machine or run this very suite (run by CI itself), or
#: start a fuzzing campaign of minutes and the builds around it (tests/fuzz runs every target
#: briefly instead).
_NOT_HERE = (
    "bash scripts/",
    "scripts/fuzz.sh",
    "FREQPIPE_ASAN=1 scripts/fuzz.sh",
    "python setup.py",
)


def _blocks(lang: str) -> list[tuple[int, str]]:
    text = README.read_text()
    return [
        (text[: m.start()].count("\n") + 1, m.group(2))
        for m in _FENCE.finditer(text)
        if m.group(1) == lang
    ]


def _workdir(tmp_path: Path) -> Path:
    (tmp_path / "photo.jpg").write_bytes(sample_files()[0].read_bytes())
    (tmp_path / "imagenet").mkdir()
    (tmp_path / "imagenet" / "train").symlink_to(samples_path(), target_is_directory=True)
    (tmp_path / "train").symlink_to(samples_path(), target_is_directory=True)
    (tmp_path / "val").symlink_to(samples_path(), target_is_directory=True)
    return tmp_path


def _run(args: list[str], cwd: Path) -> None:
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    result = subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=600, check=False, env=env
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]


PYTHON = _blocks("python")
COMMANDS = [
    (line, cmd)
    for line, block in _blocks("bash")
    for cmd in block.splitlines()
    if cmd.strip() and not cmd.startswith(_NOT_HERE)
]


def test_the_readme_has_examples() -> None:
    assert len(PYTHON) >= 5 and any("convert" in c for _, c in COMMANDS)


@pytest.mark.parametrize(("line", "code"), PYTHON, ids=[f"line{n}" for n, _ in PYTHON])
def test_python_example_runs(line: int, code: str, tmp_path: Path) -> None:
    if "fp.dali" in code and not torch.cuda.is_available():
        pytest.skip("the DALI example decodes on cuda:0")
    if not torch.cuda.is_available():
        code = code.replace('device="cuda"', 'device="cpu"')
    _run([sys.executable, "-c", PRELUDE + code], _workdir(tmp_path))


@pytest.mark.parametrize(("line", "cmd"), COMMANDS, ids=[f"line{n}" for n, _ in COMMANDS])
def test_command_runs(line: int, cmd: str, tmp_path: Path) -> None:
    words = shlex.split(cmd.split("#", 1)[0])
    assert words[0] == "freqpipe", f"README line {line}: not a freqpipe command: {cmd}"
    words = ["train/" if w == "DIR" else w for w in words[1:]]
    work = _workdir(tmp_path)
    if words[0] == "verify":  # needs the store the convert line above it writes
        _run(
            [
                sys.executable,
                "-c",
                "from freqpipe.cli import main; main()",
                "convert",
                "train/",
                "store/",
                "--select",
                "dct24",
                "--size",
                "64",
            ],
            work,
        )
    _run([sys.executable, "-c", "from freqpipe.cli import main; main()", *words], work)
