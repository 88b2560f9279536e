"""The bandwidth benchmark behind ``freqpipe bench``: every pipeline on the same images.

Each pipeline is a factory that builds a fresh iterable of ``(x, ..., labels)`` batches; all are
timed in one process, one after the other, on the same files, with the same batch size and
worker count. Per pipeline: images per second, CPU seconds per image (this process and its
worker processes), host-to-device bytes per image (the tensors a GPU pipeline copies over PCIe),
bytes read from disk per image, and peak resident memory (this process and its children).

The baseline is torch's DataLoader with Pillow and torchvision's default training transforms
(RandomResizedCrop, horizontal flip, ToTensor, Normalize), written here with PIL and torch since
torchvision is not a dependency: :class:`PillowBaseline`. It is the one implementation the
benchmark scripts in ``benchmarks/`` use too.
"""

from __future__ import annotations

import os
import resource
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from freqpipe._timing import cpu_seconds
from freqpipe.data import IMAGENET_MEAN, IMAGENET_STD, FreqLoader, JpegFolder, SampleRng
from freqpipe.transforms import Selection, random_resized_crop_params

__all__ = [
    "PillowBaseline",
    "PipelineResult",
    "Skip",
    "cpu_seconds",
    "measure",
    "pipelines",
    "rss_bytes",
]


class Skip(Exception):
    """A pipeline that cannot run here; the message says why (no GPU, no DALI, ...)."""


class PillowBaseline(torch.utils.data.Dataset):
    """ImageFolder samples with torchvision's default training transforms, in PIL and torch.

    Args:
        samples: ``(path, label)`` pairs.
        size: output side (RandomResizedCrop(size)).
        normalize: True: float32 ToTensor + Normalize (ImageNet); False: the uint8 crop, to be
            normalised on the device.

    Randomness, as torchvision's ``RandomResizedCrop`` and ``RandomHorizontalFlip``: every
    ``__getitem__`` draws a new crop and flip from torch's random generator, so each epoch sees
    new crops. In a ``DataLoader`` that generator is the one the loader seeds in each worker
    from its own per-epoch base seed, so ``torch.manual_seed`` (or ``DataLoader(generator=)``)
    makes a run reproducible, whatever the worker count. The torch draw seeds the sample's NumPy
    stream through :class:`~freqpipe.data.SampleRng`, as FreqLoader derives its
    per-sample streams from (base seed, epoch, index).

    Example:
        >>> from freqpipe._samples import samples_path
        >>> ds = PillowBaseline(JpegFolder(samples_path()).samples, 32, normalize=False)
        >>> x, y = ds[0]
        >>> tuple(x.shape), x.dtype, y
        ((3, 32, 32), torch.uint8, 0)
    """

    def __init__(self, samples: list[tuple[str, int]], size: int, *, normalize: bool):
        self.samples, self.size, self.normalize = samples, size, normalize
        self.mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        # One torch draw per call, as torchvision's transforms: new parameters every epoch.
        base = int(torch.empty((), dtype=torch.int64).random_().item())
        rng = SampleRng(base, 0).for_index(index)
        with Image.open(path) as im:
            img = im.convert("RGB")
        top, left, h, w = random_resized_crop_params(img.height, img.width, rng)
        s = self.size
        # torchvision's resized_crop: crop, then resize (the filter stays inside the crop)
        img = img.crop((left, top, left + w, top + h)).resize((s, s), Image.Resampling.BILINEAR)
        if rng.random() < 0.5:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        x = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).contiguous()
        if self.normalize:
            x = (x.float().div_(255) - self.mean) / self.std
        return x, label


def rss_bytes() -> int:
    """Resident memory of this process and its live children (Linux /proc; else this process)."""
    pids = [os.getpid()]
    try:
        for task in Path("/proc/self/task").iterdir():
            pids += [int(p) for p in (task / "children").read_text().split()]
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:  # a worker that just exited
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


@dataclass
class PipelineResult:
    """What :func:`measure` reports for one pipeline (all per image unless said otherwise)."""

    name: str
    images: int = 0
    seconds: float = 0.0
    images_per_s: float = 0.0
    cpu_s_per_image: float = 0.0
    h2d_bytes_per_image: float = 0.0
    disk_bytes_per_image: float = 0.0
    peak_rss_bytes: int = 0
    skipped: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _batch_bytes(batch: Any) -> int:
    """Bytes of the host tensors of one batch (what a GPU pipeline copies to the device)."""
    if isinstance(batch, torch.Tensor):
        return batch.nelement() * batch.element_size()
    if isinstance(batch, (tuple, list)):
        return sum(_batch_bytes(b) for b in batch)
    return 0


def measure(
    name: str,
    make: Callable[[], Iterable[Any]],
    *,
    seconds: float,
    disk_bytes_per_image: float,
    h2d_bytes_per_image: Callable[[Any], float] | None = None,
) -> PipelineResult:
    """Time a pipeline for about ``seconds`` (whole epochs repeated, first batch as warm-up).

    Args:
        name: the pipeline's name.
        make: builds a fresh iterable of batches whose last element holds the labels.
        seconds: wall time to run after the warm-up batch.
        disk_bytes_per_image: what one image costs to read from storage.
        h2d_bytes_per_image: from a batch, the bytes per image a GPU would receive; default
            the size of the batch's tensors divided by its image count.

    Returns:
        A :class:`PipelineResult`; ``skipped`` says why when ``make`` raised :class:`Skip`.
    """
    result = PipelineResult(name, disk_bytes_per_image=float(disk_bytes_per_image))
    peak = [rss_bytes()]
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.05):
            peak[0] = max(peak[0], rss_bytes())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        loader = make()
        warm = next(iter(loader))  # first batch: worker start-up, kernel caches, page cache
        per_image = (
            h2d_bytes_per_image(warm)
            if h2d_bytes_per_image is not None
            else _batch_bytes(warm) / max(len(warm[-1]), 1)
        )
        del warm
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        images = 0
        while time.perf_counter() - t0 < seconds:
            for batch in loader:
                images += len(batch[-1])
                if time.perf_counter() - t0 >= seconds:
                    break
        wall = time.perf_counter() - t0
        del loader  # worker processes exit and are reaped, so their CPU time is counted
        cpu = cpu_seconds() - cpu0
    except Skip as why:
        result.skipped = str(why)
        return result
    finally:
        stop.set()
        watcher.join()
    result.images, result.seconds = images, wall
    result.images_per_s = images / wall if wall else 0.0
    result.cpu_s_per_image = cpu / images if images else 0.0
    result.h2d_bytes_per_image = float(per_image)
    result.peak_rss_bytes = peak[0]
    return result


def pipelines(
    root: Path,
    *,
    device: str,
    batch_size: int,
    workers: int,
    size: int,
    store_dir: Path | None = None,
    select: str | os.PathLike[str] | Selection = "dct24",
) -> list[tuple[str, Callable[[], Iterable[Any]], float, Callable[[Any], float] | None]]:
    """The pipelines ``freqpipe bench`` compares: ``(name, make, disk bytes/image, h2d)``.

    Every pipeline reads the same ImageFolder ``root`` with the same batch size and worker count
    (worker processes for DataLoader, worker threads for FreqLoader and DALI).
    """
    selection = Selection.from_spec(select)
    # the rows that follow --select carry its name (a preset, or the JSON file it came from)
    label = selection.name or (Path(select).name if not isinstance(select, Selection) else "custom")
    folder = JpegFolder(root)
    samples = folder.samples
    jpeg_bytes = float(np.mean([os.path.getsize(p) for p, _ in samples]))
    common: dict[str, Any] = dict(
        batch_size=batch_size, num_workers=workers, shuffle=True, device=device
    )

    def torch_baseline(normalize: bool) -> Callable[[], Iterable[Any]]:
        def make() -> Iterable[Any]:
            dataset = PillowBaseline(samples, size, normalize=normalize)
            return torch.utils.data.DataLoader(
                dataset, batch_size=batch_size, shuffle=True, num_workers=workers
            )

        return make

    def freq(**kw: Any) -> Callable[[], Iterable[Any]]:
        return lambda: FreqLoader(folder, size=size, **common, **kw)

    def loader_h2d(**kw: Any) -> Callable[[Any], float]:
        per = FreqLoader(folder, size=size, **common, **kw).h2d_bytes_per_sample()
        return lambda _batch: float(per)

    def dali() -> Iterable[Any]:
        import freqpipe.dali as fdali

        if not fdali.available():
            raise Skip("DALI is not installed (pip install freqpipe[dali])")
        device_id = None if device == "cpu" else 0
        pipe = fdali.pipeline(
            root,
            batch_size=batch_size,
            output="dct",
            select=selection,
            size=size,
            train=True,
            device_id=device_id,
            num_threads=max(workers, 1),
        )
        return fdali.Iterator(pipe)

    def store() -> Iterable[Any]:
        if store_dir is None:
            raise Skip("no store was converted")
        from freqpipe.store import FreqStore

        return FreqLoader(FreqStore(store_dir), **common)

    # DALI's mixed decoder sends compressed bytes to the GPU; in CPU mode the uint8 crop would.
    dali_h2d = jpeg_bytes if device == "cuda" else float(3 * size * size + 8)
    store_record = float(_store_record_bytes(store_dir)) if store_dir is not None else 0.0

    def store_h2d(_batch: Any) -> float:
        return store_record  # what FreqLoader copies: the record, its quant values, the label

    return [
        ("DataLoader + Pillow, float32", torch_baseline(True), jpeg_bytes, None),
        (
            "DataLoader + Pillow, uint8 (normalise on device)",
            torch_baseline(False),
            jpeg_bytes,
            None,
        ),
        (f"DALI decode + freqpipe DCT ({label})", dali, jpeg_bytes, lambda _b: dali_h2d),
        (
            f"FreqLoader coefficients {label}",
            freq(select=selection),
            jpeg_bytes,
            loader_h2d(select=selection),
        ),
        (
            "FreqLoader coefficients dct64",
            freq(select="dct64"),
            jpeg_bytes,
            loader_h2d(select="dct64"),
        ),
        ("FreqLoader coefficients all", freq(select="all"), jpeg_bytes, loader_h2d(select="all")),
        (
            f"FreqLoader pixels + fused DCT (DCTNet, {label})",
            freq(select=selection, source="pixels"),
            jpeg_bytes,
            loader_h2d(select=selection, source="pixels"),
        ),
        (f"FreqStore {label}", store, store_record, store_h2d),
    ]


def _store_record_bytes(store_dir: Path) -> int:
    """Bytes one sample of the store sends to the device: its batch fields and the label."""
    from freqpipe.store import FreqStore

    fields = FreqStore(store_dir).batch_fields()
    return sum(int(np.prod(shape)) * np.dtype(dt).itemsize for shape, dt in fields.values()) + 8


def convert_for_bench(
    root: Path, size: int, workers: int, select: str | os.PathLike[str] | Selection = "dct24"
) -> tempfile.TemporaryDirectory[str]:
    """Convert ``root`` into a temporary store of ``select`` (not timed); the caller cleans up.

    Whole-image records, so the store's row trains with random crops and flips as the others do
    (a fixed-crop store would load the same centre crop every epoch).
    """
    from freqpipe.store import convert

    tmp = tempfile.TemporaryDirectory(prefix="freqpipe-bench-")
    convert(
        root,
        Path(tmp.name) / "store",
        select=Selection.from_spec(select),
        size=size,
        layout="whole",
        workers=workers,
        progress=False,
    )
    return tmp
