"""Datasets of JPEG files: what :class:`~freqpipe.data.FreqLoader` and ``freqpipe convert`` read.

Every dataset the loader takes is map-style: ``len(ds)`` and ``ds[i] -> (source, label)`` with
``source`` a path or the JPEG's bytes and ``label`` the target (an int class index, or anything
``torch.utils.data.default_collate`` batches). :class:`JpegFolder` labels a folder
exactly as torchvision's ``ImageFolder``; :class:`JpegFileList` takes explicit files and labels.
Nothing is decoded here: the loader's sources and the store's conversion read the files. The
datasets live below both (in :mod:`freqpipe.jpeg`), so neither has to import the other.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union

from freqpipe.errors import InvalidArgumentError

__all__ = ["JPEG_EXTENSIONS", "JpegFileList", "JpegFolder"]

#: File extensions :class:`JpegFolder` keeps by default (compared case-insensitively).
JPEG_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg")

PathLike = Union[str, "os.PathLike[str]"]


class JpegFolder:
    """JPEG files in class sub-folders, labelled exactly as torchvision's ``ImageFolder``.

    Classes are the sorted names of ``root``'s sub-folders, numbered 0..N-1; each class's
    files are found by a sorted recursive walk (following links) and kept when their name ends
    with one of ``extensions``, case-insensitively. With the default extensions the samples,
    labels and order equal ``ImageFolder(root)``'s on a folder of JPEGs.

    Args:
        root: the dataset folder.
        extensions: file name endings to keep (default ``.jpg``, ``.jpeg``).
        allow_empty: accept class folders without files (as ``ImageFolder(allow_empty=True)``).

    Attributes:
        classes: class names, sorted.
        class_to_idx: class name -> label.
        samples: ``(path, label)`` pairs, in order (``imgs`` is an alias).
        targets: labels, in order.

    Raises:
        FileNotFoundError: no class folder, or a class without a file (as ``ImageFolder``).

    Example:
        >>> from freqpipe._samples import samples_path
        >>> ds = JpegFolder(samples_path())
        >>> len(ds.classes), ds[0][1], ds.targets[-1]
        (6, 0, 5)
    """

    def __init__(
        self,
        root: PathLike,
        extensions: Sequence[str] = JPEG_EXTENSIONS,
        *,
        allow_empty: bool = False,
    ):
        self.root = os.fspath(root)
        self.extensions = tuple(e.lower() for e in extensions)
        self.classes = sorted(e.name for e in os.scandir(self.root) if e.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"Couldn't find any class folder in {self.root}.")
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        samples: list[tuple[str, int]] = []
        empty: list[str] = []
        for name in self.classes:
            label = self.class_to_idx[name]
            folder = os.path.join(self.root, name)
            count = 0
            for dirpath, _, fnames in sorted(os.walk(folder, followlinks=True)):
                for fname in sorted(fnames):
                    if fname.lower().endswith(self.extensions):
                        samples.append((os.path.join(dirpath, fname), label))
                        count += 1
            if count == 0:
                empty.append(name)
        if empty and not allow_empty:
            raise FileNotFoundError(
                f"Found no valid file for the classes {', '.join(sorted(empty))}. "
                f"Supported extensions are: {', '.join(self.extensions)}"
            )
        self.samples = samples
        self.imgs = samples
        self.targets = [label for _, label in samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[str, int]:
        return self.samples[index]

    def __repr__(self) -> str:
        return f"JpegFolder({self.root!r}, {len(self)} files, {len(self.classes)} classes)"


class JpegFileList:
    """JPEG files (paths or bytes) with their targets.

    Args:
        files: paths, or the JPEGs' bytes.
        labels: one target per file (default all 0): an int class index, or anything
            ``default_collate`` batches (floats, soft/multi-hot tensors or arrays, tuples, dicts).

    Raises:
        InvalidArgumentError: the lengths differ.

    Example:
        >>> from freqpipe._samples import sample_files
        >>> ds = JpegFileList(sample_files()[:2], [3, 4])
        >>> len(ds), ds[1][1]
        (2, 4)
    """

    def __init__(self, files: Sequence[PathLike | bytes], labels: Sequence[Any] | None = None):
        self.files = [f if isinstance(f, (bytes, bytearray)) else os.fspath(f) for f in files]
        # Targets are kept as given (floats, tensors, dicts): the loader collates them.
        self.targets = [0] * len(self.files) if labels is None else list(labels)
        if len(self.targets) != len(self.files):
            raise InvalidArgumentError(
                f"{len(self.files)} files but {len(self.targets)} labels", value=len(self.targets)
            )

    @classmethod
    def from_text(cls, path: PathLike, root: PathLike | None = None) -> JpegFileList:
        r"""Read ``<file> <label>`` lines (as ImageNet's ``train.txt``); paths relative to ``root``.

        Args:
            path: the list file; blank lines and ``#`` comments are skipped.
            root: folder the listed paths are relative to (default: the list's folder).

        Returns:
            The dataset.

        Raises:
            InvalidArgumentError: a line without a file and an integer label.

        Example:
            >>> import tempfile
            >>> with tempfile.TemporaryDirectory() as d:
            ...     _ = (Path(d) / "l.txt").write_text("a.jpg 1\nb.jpg 0\n")
            ...     JpegFileList.from_text(Path(d) / "l.txt").targets
            [1, 0]
        """
        base = Path(root) if root is not None else Path(path).parent
        files: list[PathLike] = []
        labels: list[int] = []
        for lineno, line in enumerate(Path(path).read_text().splitlines(), 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            name, _, label = text.rpartition(" ")
            if not name or not label.lstrip("-").isdigit():
                raise InvalidArgumentError(f"{path}:{lineno}: expected '<file> <label>'")
            files.append(os.fspath(base / name.strip()))
            labels.append(int(label))
        return cls(files, labels)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        return self.files[index], self.targets[index]

    def __repr__(self) -> str:
        return f"JpegFileList({len(self)} files)"


def item_name(source: Any, index: int) -> str:
    """A name for error messages: the path, or ``"<bytes of item i>"``."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return f"<bytes of item {index}>"
