"""The test environment is the pinned one (constraints.txt), checked where it matters: in CI."""

from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path

import pytest

CONSTRAINTS = Path(__file__).resolve().parent.parent / "constraints.txt"


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    """Parse ``name==version`` lines of constraints.txt (comments and blanks ignored)."""
    out = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep and name and version, f"constraints.txt: not name==version: {line!r}"
        out[_canonical(name)] = version.strip()
    return out


def test_constraints_file_pins_the_core():
    got = pins()
    for name in ("numpy", "pillow", "scipy", "torch", "pytest", "ruff", "mypy", "setuptools"):
        assert name in got, f"constraints.txt does not pin {name}"
    assert got["torch"].startswith("2.13.0"), "torch must stay the CPU wheel the scripts install"


@pytest.mark.skipif(not _truthy("CI"), reason="the installed versions are checked under CI=true")
@pytest.mark.skipif(_truthy("FREQPIPE_UNPINNED"), reason="the unpinned canary has no pins")
def test_installed_versions_are_the_pinned_ones():
    installed = {_canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    drift = [
        f"{name}: installed {installed[name]}, constraints.txt pins {version}"
        for name, version in sorted(pins().items())
        if name in installed and installed[name] != version
    ]
    assert not drift, "the test environment drifted from constraints.txt:\n" + "\n".join(drift)
