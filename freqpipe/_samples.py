"""The bundled sample photographs (see ``freqpipe/samples/ATTRIBUTION.md``)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["sample_files", "samples_path"]

_SAMPLES = Path(__file__).resolve().parent / "samples"


def samples_path() -> Path:
    """Return the folder of bundled sample photographs (ImageFolder layout).

    Returns:
        Path of a directory with one sub-folder per class, each holding JPEG files.

    Example:
        >>> (samples_path() / "ATTRIBUTION.md").is_file()
        True
    """
    return _SAMPLES


def sample_files() -> list[Path]:
    """Return the bundled sample JPEGs, sorted by path.

    Returns:
        A list of paths to ``.jpg`` files.

    Example:
        >>> len(sample_files()) >= 4
        True
    """
    return sorted(_SAMPLES.glob("*/*.jpg"))
