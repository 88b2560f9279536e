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
from collections.abc import Callable, Iterable, Iterator, Mapping
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
            the size of the batch's tensors divided by its image count. A loader that counts
            what it sent (``FreqLoader.h2d_bytes_sent``: its int8 transfer varies per batch)
            reports its own mean over the run instead.

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
        images, wall = 0, 0.0
        while wall < seconds:
            for batch in loader:
                images += len(batch[-1])
                # the clock stops at the last batch: shutting the abandoned epoch down (worker
                # processes, FFCV's thread) is not loading; its CPU time is still counted
                wall = time.perf_counter() - t0
                if wall >= seconds:
                    break
            else:  # a whole epoch: its end and the next one's start are part of loading
                wall = time.perf_counter() - t0
        counted = getattr(loader, "h2d_bytes_sent", None)
        if callable(counted):
            sent, samples = counted()
            per_image = sent / samples if samples else per_image
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
    full_store_dir: Path | None = None,
    reordered_dir: Path | None = None,
    select: str | os.PathLike[str] | Selection = "dct24",
    betons: Mapping[str, Path | str] | None = None,
    peers: bool = True,
) -> list[tuple[str, Callable[[], Iterable[Any]], float, Callable[[Any], float] | None]]:
    """The pipelines ``freqpipe bench`` compares: ``(name, make, disk bytes/image, h2d)``.

    Every pipeline reads the same ImageFolder ``root`` with the same batch size, worker count
    (worker processes for DataLoader, worker threads for FreqLoader, DALI, FFCV and SPDL) and
    crop size. ``store_dir`` is a whole-image store scaled to FFCV's maximum side
    (:data:`BETON_MAX_RESOLUTION`, like for like with its ``.beton`` files) and
    ``full_store_dir`` one at the photos' own size (:func:`convert_for_bench`; None: those
    rows say no store was converted). ``reordered_dir`` is the same tree rewritten by
    :func:`freqpipe.store.reorder_folder` (frequency-ordered, written untimed as FFCV's files
    are; None: that row says so). ``betons`` is what :func:`write_betons` returned (None:
    the FFCV rows say no ``.beton`` was written); ``peers=False`` leaves the FFCV, SPDL and
    plain DALI rows out.
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

    def freq_reordered(**kw: Any) -> Callable[[], Iterable[Any]]:
        def make() -> Iterable[Any]:
            if reordered_dir is None:
                raise Skip("no frequency-ordered copy was written")
            return FreqLoader(reordered_dir, size=size, **common, **kw)

        return make

    reordered_bytes = (
        float(np.mean([os.path.getsize(p) for p, _ in JpegFolder(reordered_dir).samples]))
        if reordered_dir is not None
        else 0.0
    )

    def loader_h2d(**kw: Any) -> Callable[[Any], float]:
        per = FreqLoader(folder, size=size, **common, **kw).h2d_bytes_per_sample()
        return lambda _batch: float(per)

    def dali(output: str = "dct") -> Iterable[Any]:
        import freqpipe.dali as fdali

        if not fdali.available():
            raise Skip("DALI is not installed (pip install freqpipe[dali])")
        device_id = None if device == "cpu" else 0
        pipe = fdali.pipeline(
            root,
            batch_size=batch_size,
            output=output,
            select=selection,
            size=size,
            train=True,
            device_id=device_id,
            num_threads=max(workers, 1),
        )
        return fdali.Iterator(pipe)

    def store(path: Path | None, transfer: str) -> Callable[[], Iterable[Any]]:
        def make() -> Iterable[Any]:
            if path is None:
                raise Skip("no store was converted")
            from freqpipe.store import FreqStore

            return FreqLoader(FreqStore(path), transfer_dtype=transfer, **common)

        return make

    def store_disk(path: Path | None) -> float:
        return float(_store_disk_bytes(path)) if path is not None else 0.0

    # DALI's mixed decoder sends compressed bytes to the GPU; in CPU mode the uint8 crop would.
    dali_h2d = jpeg_bytes if device == "cuda" else float(3 * size * size + 8)
    scaled = f"max side {BETON_MAX_RESOLUTION}"

    def ffcv(mode: str) -> Callable[[], Iterable[Any]]:
        def make() -> Iterable[Any]:
            beton = (betons or {}).get(mode, "no .beton was written")
            if isinstance(beton, str):
                raise Skip(beton)
            return ffcv_loader(
                beton, batch_size=batch_size, workers=workers, size=size, device=device
            )

        return make

    def beton_bytes(mode: str) -> float:
        beton = (betons or {}).get(mode)
        return os.path.getsize(beton) / len(samples) if isinstance(beton, Path) else 0.0

    def spdl() -> Iterable[Any]:
        return SpdlLoader(samples, size=size, batch_size=batch_size, workers=workers, device=device)

    uint8_crop = float(3 * size * size + 8)  # what FFCV and SPDL copy: the uint8 crop, the label
    peer_rows: list[tuple[str, Callable[[], Iterable[Any]], float, Callable[[Any], float] | None]]
    peer_rows = [
        *(
            (
                f"FFCV .beton {title} (max side {BETON_MAX_RESOLUTION}) + RandomResizedCrop",
                ffcv(mode),
                beton_bytes(mode),
                lambda _b: uint8_crop,
            )
            for mode, title in BETON_MODES.items()
        ),
        ("SPDL decode + RandomResizedCrop (FFmpeg filters)", spdl, jpeg_bytes, None),
        (
            "DALI decode + RandomResizedCrop (rgb)",
            lambda: dali("rgb"),
            jpeg_bytes,
            lambda _b: dali_h2d,
        ),
    ]
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
            f"FreqLoader coefficients {label}, frequency-ordered files",
            freq_reordered(select=selection),
            reordered_bytes,
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
        (
            f"FreqLoader coefficients {label}, half-resolution chroma, int8 transfer",
            freq(select=selection, chroma="separate", transfer_dtype="int8"),
            jpeg_bytes,
            None,  # counted by the loader
        ),
        (
            f"FreqStore {label} whole, {scaled}, int8 transfer",
            store(store_dir, "int8"),
            store_disk(store_dir),
            None,
        ),
        (
            f"FreqStore {label} whole, {scaled}, int16 transfer",
            store(store_dir, "int16"),
            store_disk(store_dir),
            None,
        ),
        (
            f"FreqStore {label} whole, full size, int8 transfer",
            store(full_store_dir, "int8"),
            store_disk(full_store_dir),
            None,
        ),
        *(peer_rows if peers else []),
    ]


def _store_disk_bytes(store_dir: Path) -> float:
    """What one image costs on disk: the store's files over its records.

    Whole-image records vary in size, so this is not one record's size.
    """
    from freqpipe.store import FreqStore

    total = sum(f.stat().st_size for f in Path(store_dir).rglob("*") if f.is_file())
    return total / max(len(FreqStore(store_dir)), 1)


def _store_record_bytes(store_dir: Path) -> int:
    """Bytes one sample of the store sends to the device: its batch fields and the label."""
    from freqpipe.store import FreqStore

    fields = FreqStore(store_dir).batch_fields()
    return sum(int(np.prod(shape)) * np.dtype(dt).itemsize for shape, dt in fields.values()) + 8


def convert_for_bench(
    root: Path,
    size: int,
    workers: int,
    select: str | os.PathLike[str] | Selection = "dct24",
    *,
    max_side: int | None = None,
) -> tempfile.TemporaryDirectory[str]:
    """Convert ``root`` into a temporary store of ``select`` (not timed); the caller cleans up.

    Whole-image records, so the store's row trains with random crops and flips as the others do
    (a fixed-crop store would load the same centre crop every epoch); with ``max_side``
    scaled down to it first, as FFCV's ``max_resolution``. The store is ``<dir>/store``.
    """
    from freqpipe.store import convert

    tmp = tempfile.TemporaryDirectory(prefix="freqpipe-bench-")
    convert(
        root,
        Path(tmp.name) / "store",
        select=Selection.from_spec(select),
        size=size,
        layout="whole",
        max_side=max_side,
        workers=workers,
        progress=False,
    )
    return tmp


# --- peers: other loaders on the same images -----------------------------------------------------

#: What a peer row that cannot import its library tells the user to run.
PEERS_INSTALL = "pip install 'freqpipe[peers]'"
#: Debian 12's FFmpeg 5.1 runtime libraries, which ``spdl.io`` loads when first used.
SPDL_APT = (
    "libavutil57 libavcodec59 libavformat59 libavfilter8 libswscale6 libswresample4 libavdevice59"
)
#: The two ``.beton`` layouts of FFCV's ImageNet example: JPEG re-encoded at quality 90, and raw
#: RGB pixels; both with the longer side capped at 256 pixels, as its smallest configuration.
BETON_MODES = {"jpg": "JPEG q90", "raw": "raw"}
BETON_MAX_RESOLUTION = 256


def _import_peer(module: str, extra_hint: str = "") -> Any:
    """``module`` imported, or :class:`Skip` saying it is not installed and how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:  # the peer itself, or one of its own dependencies
        package = module.split(".")[0]
        missing = exc.name if exc.name and exc.name.split(".")[0] != package else package
        raise Skip(f"{missing} not installed: {PEERS_INSTALL}{extra_hint}") from exc
    except (ImportError, OSError) as exc:  # e.g. a shared library it links is missing
        raise Skip(f"{module} fails to import ({exc}): {PEERS_INSTALL}{extra_hint}") from exc


def _import_ffcv(module: str = "ffcv") -> Any:
    return _import_peer(
        module, "; it builds against libopencv-dev libturbojpeg0-dev pkg-config (apt-get)"
    )


class _PilFolder:
    """``(path, label)`` samples as FFCV's writer reads them: ``(RGB image, label)``."""

    def __init__(self, samples: list[tuple[str, int]]):
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Image.Image, int]:
        path, label = self.samples[index]
        with Image.open(path) as im:
            return im.convert("RGB"), label


def write_betons(root: Path, out: Path, *, workers: int) -> dict[str, Path | str]:
    """Write FFCV's ``.beton`` files of ``root`` into ``out`` (untimed, as a store is converted).

    Args:
        root: an ImageFolder directory (the same files every pipeline reads).
        out: an existing directory; each mode's file is ``out/<mode>.beton``.
        workers: the writer's worker processes.

    Returns:
        mode (``"jpg"``, ``"raw"``: :data:`BETON_MODES`) -> the file written, or why it was not
        (FFCV not installed, the writer failed): the FFCV rows then say so.
    """
    try:
        ffcv_writer, fields = _import_ffcv("ffcv.writer"), _import_ffcv("ffcv.fields")
    except Skip as why:
        return dict.fromkeys(BETON_MODES, str(why))
    dataset = _PilFolder(JpegFolder(root).samples)
    written: dict[str, Path | str] = {}
    for mode in BETON_MODES:
        path = out / f"{mode}.beton"
        image = fields.RGBImageField(
            write_mode=mode, max_resolution=BETON_MAX_RESOLUTION, jpeg_quality=90
        )
        try:
            writer = ffcv_writer.DatasetWriter(
                str(path), {"image": image, "label": fields.IntField()}, num_workers=workers
            )
            writer.from_indexed_dataset(dataset)
            written[mode] = path
        except Exception as exc:  # the row reports it; the other pipelines still run
            written[mode] = f"writing the {mode} .beton failed: {exc!r}"
    return written


def ffcv_loader(
    beton: Path, *, batch_size: int, workers: int, size: int, device: str
) -> Iterable[Any]:
    """FFCV's ImageNet training loader over ``beton``: ``(images, labels)`` batches.

    As FFCV's ImageNet example: ``RandomResizedCropRGBImageDecoder((size, size))`` (decode and
    crop in one step), ``RandomHorizontalFlip``, ``ToTensor``, ``ToDevice``, ``ToTorchImage``
    (uint8, channels last), labels ``IntDecoder``, ``ToTensor``, ``Squeeze``, ``ToDevice``;
    random order; ``workers`` threads. On CUDA the example's ``NormalizeImage`` (float16) runs
    after the copy; on the CPU it is left out, as the uint8 Pillow row normalises on the device:
    FFCV 1.0.2's pipeline compiler never returns when that jitted CPU stage follows
    ``ToTensor`` (its operation grouping loops).
    """
    ffcv = _import_ffcv()
    from ffcv import transforms as ft
    from ffcv.fields.decoders import IntDecoder, RandomResizedCropRGBImageDecoder

    target = torch.device(device)
    image: list[Any] = [
        RandomResizedCropRGBImageDecoder((size, size)),
        ft.RandomHorizontalFlip(),
        ft.ToTensor(),
        ft.ToDevice(target, non_blocking=True),
        ft.ToTorchImage(),
    ]
    if target.type == "cuda":
        mean, std = np.array(IMAGENET_MEAN) * 255, np.array(IMAGENET_STD) * 255
        image.append(ft.NormalizeImage(mean, std, np.float16))
    label = [IntDecoder(), ft.ToTensor(), ft.Squeeze(), ft.ToDevice(target, non_blocking=True)]
    loader = ffcv.loader.Loader(
        str(beton),
        batch_size=batch_size,
        num_workers=max(workers, 1),
        order=ffcv.loader.OrderOption.RANDOM,
        drop_last=False,  # every image counted, as DataLoader's default
        pipelines={"image": image, "label": label},
    )
    # numba 0.68's dispatcher finalizer raises KeyError (seen in pytest as an unraisable error)
    # when a collected FFCV loader's stage code is finalised while another one compiles; at
    # exit numba skips its finalizers. So the few loaders a benchmark makes live until then.
    _FFCV_LOADERS.append(loader)
    return _ClosingEpochs(loader)


_FFCV_LOADERS: list[Any] = []


class _ClosingEpochs:
    """FFCV's loader, each epoch closed when its consumer stops early (a timed run does).

    An FFCV 1.0.2 epoch is a thread that fills a queue; left unfinished and not closed, it
    waits on the full queue for ever, and numba's finalizers then raise when the process
    collects the stage code it still runs.
    """

    def __init__(self, loader: Any):
        self.loader = loader

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Any]:
        epoch = iter(self.loader)
        try:
            yield from epoch
        finally:
            epoch.close()
            epoch.join()


class SpdlLoader:
    """SPDL's image loading, as its documentation builds it: ``(images, labels)`` batches.

    A ``spdl.pipeline`` per epoch: the shuffled ``(path, label)`` samples -> ``demux_image`` and
    ``decode_packets`` with an FFmpeg filter graph that does the random-resized crop
    (torchvision's parameters, :func:`~freqpipe.transforms.random_resized_crop_params`), a
    bilinear scale to ``size`` and the random flip, ``workers`` at a time -> ``aggregate`` ->
    ``convert_frames`` into one batch tensor (SPDL's advice: no tensor per image) -> a sink of
    3 batches. Images come out uint8, channels last (an NCHW view, as FFCV's ``ToTorchImage``).

    Randomness: one torch draw per epoch seeds every sample's crop and flip, so
    ``torch.manual_seed`` makes a run reproducible.

    Args:
        samples: ``(path, label)`` pairs.
        size: output side.
        batch_size: images per batch (the last batch may be short).
        workers: decoding concurrency and the pipeline's threads.
        device: where the batches go (``"cpu"``: they stay).

    Raises:
        Skip: SPDL is not installed, or ``spdl.io`` cannot load FFmpeg.
    """

    def __init__(
        self,
        samples: list[tuple[str, int]],
        *,
        size: int,
        batch_size: int,
        workers: int,
        device: str = "cpu",
    ):
        self.spdl_io = _import_peer("spdl.io")
        self.builder = _import_peer("spdl.pipeline").PipelineBuilder
        try:  # spdl.io loads FFmpeg's libraries on first use, not on import
            self.spdl_io.demux_image(samples[0][0])
        except RuntimeError as exc:
            raise Skip(
                f"spdl.io cannot load FFmpeg ({str(exc)[:120]}...): apt-get install {SPDL_APT}"
            ) from exc
        self.samples, self.size = samples, size
        self.batch_size, self.workers = batch_size, max(workers, 1)
        self.device = torch.device(device)

    def _decode(self, item: tuple[str, int, int]) -> tuple[Any, int]:
        path, label, seed = item
        packets = self.spdl_io.demux_image(path)
        rng = np.random.default_rng(seed)
        top, left, h, w = random_resized_crop_params(packets.height, packets.width, rng)
        flip = ",hflip" if rng.random() < 0.5 else ""
        s = self.size
        graph = f"crop={w}:{h}:{left}:{top},scale={s}:{s}:flags=bilinear{flip},format=rgb24"
        return self.spdl_io.decode_packets(packets, filter_desc=graph), label

    def _batch(self, items: list[tuple[Any, int]]) -> tuple[torch.Tensor, torch.Tensor]:
        frames, labels = zip(*items)
        x = self.spdl_io.to_torch(self.spdl_io.convert_frames(list(frames)))
        y = torch.tensor(labels, dtype=torch.int64)
        return x.permute(0, 3, 1, 2).to(self.device), y.to(self.device)

    def __len__(self) -> int:
        return -(-len(self.samples) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        base = int(torch.empty((), dtype=torch.int64).random_().item())
        order = torch.randperm(len(self.samples)).tolist()
        source = [(*self.samples[i], base + i) for i in order]
        pipeline = (
            self.builder()
            .add_source(source)
            .pipe(self._decode, concurrency=self.workers)
            .aggregate(self.batch_size)
            .pipe(self._batch)
            .add_sink(3)
            .build(num_threads=self.workers)
        )
        with pipeline.auto_stop():
            yield from pipeline
