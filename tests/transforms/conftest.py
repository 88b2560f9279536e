"""Shared fixtures: real photographs decoded by Pillow (an outside decoder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "freqpipe" / "samples"
# ../shared/data beside the checkout (see its README); optional.
SHARED = REPO.parent / "shared" / "data"


def _decode(path: Path, max_side: int = 512) -> np.ndarray:
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    if max(rgb.size) > max_side:  # keep the suite fast; content stays a real photo
        rgb = rgb.reduce(int(np.ceil(max(rgb.size) / max_side)))
    return np.asarray(rgb, dtype=np.uint8)


@pytest.fixture(scope="session")
def sample_photos() -> list[np.ndarray]:
    """The bundled sample photographs, (H, W, 3) uint8."""
    files = sorted(SAMPLES.glob("*/*.jpg"))
    assert files, "bundled samples missing"
    return [_decode(p) for p in files]


@pytest.fixture(scope="session")
def shared_photos() -> list[np.ndarray]:
    """Six ImageNet-style photographs from ../shared/data/photos; skipped when absent."""
    root = SHARED / "photos"
    files = sorted(root.glob("*/*.JPEG")) + sorted(root.glob("*/*.jpg"))
    if not files:
        pytest.skip(f"shared photos not found at {root}")
    picked = files[:: max(1, len(files) // 6)][:6]
    return [_decode(p) for p in picked]


@pytest.fixture(scope="session")
def photos(sample_photos: list[np.ndarray], request: pytest.FixtureRequest) -> list[np.ndarray]:
    """Bundled photos plus the shared ones when present."""
    root = SHARED / "photos"
    if root.is_dir():
        return sample_photos + request.getfixturevalue("shared_photos")
    return sample_photos
