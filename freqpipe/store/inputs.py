"""What a conversion's inputs are: a folder or a file list, in global order, with labels.

An ImageFolder directory is read in torchvision's order
(:class:`~freqpipe.jpeg.datasets.JpegFolder`), a ``<file> <label>`` list in its own order
(:class:`~freqpipe.jpeg.datasets.JpegFileList`). The order fixes every record's place in the
store, and its digest lets a resumed or multi-rank run check it converts the same inputs.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from freqpipe.errors import InvalidArgumentError
from freqpipe.jpeg.datasets import JpegFileList, JpegFolder

__all__ = ["Inputs", "input_digest", "scan_inputs"]


@dataclass(frozen=True)
class Inputs:
    """The conversion's inputs in global order."""

    paths: list[str]
    labels: np.ndarray
    classes: list[str]
    root: str

    def relname(self, i: int) -> str:
        """Input ``i``'s path relative to the source root (for rejects.tsv)."""
        try:
            rel = os.path.relpath(self.paths[i], self.root)
        except ValueError:  # pragma: no cover - different drives on Windows
            return self.paths[i]
        return self.paths[i] if rel.startswith("..") else rel


def scan_inputs(src: str | os.PathLike[str]) -> Inputs:
    """List the inputs of a conversion in their global order.

    Args:
        src: an ImageFolder-layout directory (labels as torchvision's ``ImageFolder``), or a
            text file of ``<file> <label>`` lines (paths relative to the list's folder; classes
            named ``"0"`` .. ``str(max label)``).

    Returns:
        The inputs.

    Raises:
        InvalidArgumentError: ``src`` is missing, empty, or the list is malformed.

    Example:
        >>> from freqpipe._samples import samples_path
        >>> inp = scan_inputs(samples_path())
        >>> len(inp.paths), inp.labels[:2].tolist(), inp.classes[0]
        (8, [0, 1], 'n01860187_black_swan')
    """
    p = Path(src)
    if p.is_dir():
        try:
            folder = JpegFolder(p)
        except FileNotFoundError as exc:
            raise InvalidArgumentError(f"{p}: {exc}", value=str(p)) from exc
        paths = [s for s, _ in folder.samples]
        labels = np.asarray(folder.targets, np.int64)
        return Inputs(paths, labels, list(folder.classes), str(p))
    if p.is_file():
        flist = JpegFileList.from_text(p)
        labels = np.asarray(flist.targets, np.int64)
        if labels.size and labels.min() < 0:
            raise InvalidArgumentError(f"{p}: negative label {int(labels.min())}")
        n_classes = int(labels.max()) + 1 if labels.size else 0
        files = [os.fspath(f) for f in flist.files if isinstance(f, (str, os.PathLike))]
        return Inputs(files, labels, [str(i) for i in range(n_classes)], str(p.parent))
    raise InvalidArgumentError(f"SRC {p} is neither a directory nor a file list", value=str(p))


def input_digest(inputs: Inputs) -> str:
    """The sha256 of every input's relative path and label, in order (the plan records it)."""
    h = hashlib.sha256()
    for i in range(len(inputs.paths)):
        h.update(f"{inputs.relname(i)}\t{int(inputs.labels[i])}\n".encode())
    return h.hexdigest()
