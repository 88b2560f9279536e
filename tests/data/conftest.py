"""Shared helpers of the loader tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from freqpipe._samples import sample_files
from freqpipe.data import JpegFileList


@pytest.fixture(scope="session")
def files() -> list[Path]:
    return sample_files()


@pytest.fixture(scope="session")
def indexed(files: list[Path]) -> JpegFileList:
    """The bundled samples labelled by their own index (labels reveal the order)."""
    return JpegFileList(files, list(range(len(files))))
