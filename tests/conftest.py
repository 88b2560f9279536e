"""Fixtures shared by the whole suite.

Real files nobody here wrote live beside the project in ``../shared/data``; tests that use them
skip with a reason when it is absent. Everything else the suite makes itself.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
CONFORMANCE = SHARED_DATA / "jpeg-conformance"
PHOTOS = SHARED_DATA / "photos"


def conformance_manifest() -> list[dict[str, str]]:
    """Rows of jpeg-conformance/MANIFEST.tsv, or [] when ../shared is absent."""
    manifest = CONFORMANCE / "MANIFEST.tsv"
    if not manifest.is_file():
        return []
    with manifest.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def photo_files() -> list[Path]:
    """The ImageNet-style photos of ../shared/data/photos, or [] when absent."""
    return sorted(PHOTOS.glob("*/*.JPEG")) if PHOTOS.is_dir() else []


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    if not CONFORMANCE.is_dir():
        pytest.skip(f"shared conformance JPEGs not present at {CONFORMANCE}")
    return CONFORMANCE


@pytest.fixture(scope="session")
def photos() -> list[Path]:
    files = photo_files()
    if not files:
        pytest.skip(f"shared photos not present at {PHOTOS}")
    return files
