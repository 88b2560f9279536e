"""Small JPEG datasets made on the fly for the store tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import freqpipe as fp

REPO = Path(__file__).resolve().parents[2]


def make_folder(root: Path, per_class: int = 6, classes: int = 3, seed: int = 0) -> Path:
    """An ImageFolder of small JPEGs cut from the bundled photos: varied size, quality, sampling."""
    rng = np.random.default_rng(seed)
    photos = [Image.open(p).convert("RGB") for p in fp.sample_files()[:4]]
    for c in range(classes):
        d = root / f"class_{c}"
        d.mkdir(parents=True)
        for i in range(per_class):
            im = photos[(c + i) % len(photos)]
            w, h = int(rng.integers(48, 96)), int(rng.integers(40, 88))
            x, y = int(rng.integers(0, im.width - w)), int(rng.integers(0, im.height - h))
            crop = im.crop((x, y, x + w, y + h))
            if i % 5 == 4:
                crop = crop.convert("L")
            ext = ".JPG" if i % 4 == 3 else ".jpg"
            crop.save(
                d / f"img_{i:03d}{ext}",
                quality=int(rng.choice([30, 60, 90, 98])),
                subsampling=int(rng.choice([0, 1, 2])),
            )
    return root


@pytest.fixture(scope="session")
def small_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_folder(tmp_path_factory.mktemp("folder") / "data")


@pytest.fixture(scope="session")
def big_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 images: enough shards for the kill / rank tests."""
    return make_folder(tmp_path_factory.mktemp("big") / "data", per_class=20, seed=1)


def run_convert(*args: str, env: dict[str, str] | None = None, **kw: object) -> subprocess.Popen:
    """Start ``freqpipe convert ARGS`` in a subprocess (through the CLI module's run())."""
    code = (
        "import argparse, sys\n"
        "from freqpipe._cli import convert\n"
        "p = argparse.ArgumentParser(); convert.register(p.add_subparsers())\n"
        "a = p.parse_args(['convert', *sys.argv[1:]])\n"
        "sys.exit(convert.run(a))\n"
    )
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args, "--no-progress"],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,  # type: ignore[arg-type]
    )
