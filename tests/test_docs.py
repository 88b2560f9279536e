"""The repository's own docs stay true: every module architecture.md names exists, and every
"conventions §n" the code cites is a section of conventions.md."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


def test_every_module_in_architecture_exists():
    text = (DOCS / "architecture.md").read_text()
    paths = set(re.findall(r"`((?:freqpipe|kernels)/[\w/.]*)`", text))
    assert len(paths) >= 30
    missing = sorted(p for p in paths if not (REPO / p).exists())
    assert not missing, f"architecture.md names modules that do not exist: {missing}"


def test_cited_convention_sections_exist():
    sections = set(re.findall(r"^## §(\d+)", (DOCS / "conventions.md").read_text(), re.M))
    cited = set()
    for path in [
        *REPO.glob("freqpipe/**/*.py"),
        *REPO.glob("tests/**/*.py"),
        *REPO.glob("kernels/*"),
    ]:
        cited |= set(re.findall(r"conventions §(\d+)", path.read_text(errors="replace")))
    assert cited, "nothing cites docs/conventions.md"
    assert cited <= sections, f"cited sections missing from conventions.md: {cited - sections}"
