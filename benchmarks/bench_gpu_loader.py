"""FreqLoader end to end on the GPU against DataLoader + torchvision, in one run, same images.

Pipelines, each at 224 and 448, the same worker count (8) and batch size, training augmentation:

- ``FreqLoader coefficients dct24``: entropy decode + native crop/flip/select on the CPU,
  int16 channels to the GPU, dequantise + normalise there;
- ``FreqLoader coefficients dct24, host only``: the same with ``raw=True`` on the CPU (224 only):
  the CPU-bound loader without its device stage, to show what that stage adds per batch;
- ``FreqLoader pixels + fused DCT``: decode + RandomResizedCrop on the CPU, uint8 to the GPU,
  the fused DCT kernel there (the DCTNet setting);
- ``FreqStore dct24``: a converted store (conversion not timed);
- ``DataLoader + torchvision v2``: Pillow decode, ``RandomResizedCrop`` + flip in 8 worker
  processes, uint8 to the GPU (pinned, non-blocking), ``ToDtype`` + ``Normalize`` on the GPU;
- ``torchvision decode_jpeg(device="cuda")``: workers read the files, the batch is decoded on
  the GPU by nvJPEG in one call, then cropped, flipped and normalised there (a GPU-decoding peer).

Per pipeline (``freqpipe.bench.measure``): images/s, CPU-ms per image (this process and its
worker processes), host-to-device bytes per image, and the GPU busy fraction (NVML's
utilisation, sampled every 20 ms while it runs). Targets of the issue are evaluated at 224.

    python benchmarks/bench_gpu_loader.py [--data DIR] [--out DIR] [--device cuda] [--quick]

``--device cpu`` runs the freqpipe pipelines on the CPU (a smoke run; the torchvision ones skip
without torchvision or CUDA). Writes ``bench_gpu_loader.json`` into ``--out`` after every
pipeline, so a run stopped at its time limit keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import freqpipe
from freqpipe._timing import run_info, write_json
from freqpipe.bench import Skip, convert_for_bench, measure
from freqpipe.data import FreqLoader, JpegFolder
from freqpipe.data._stats import IMAGENET_MEAN, IMAGENET_STD

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "photos"
Pipeline = tuple[str, Callable[[], Iterable[Any]], Callable[[Any], float]]


class GpuBusy:
    """Mean NVML utilisation of GPU 0 while the block runs (None without CUDA or NVML)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.samples: list[float] = []
        self._stop = threading.Event()

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self.samples.append(torch.cuda.utilization(self.device) / 100.0)
            except Exception:  # no NVML: the fraction stays unknown
                return

    def __enter__(self) -> GpuBusy:
        if self.device.type == "cuda":
            self._thread = threading.Thread(target=self._watch, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.device.type == "cuda":
            self._thread.join()

    @property
    def fraction(self) -> float | None:
        return statistics.mean(self.samples) if self.samples else None


def _torchvision() -> Any:
    try:
        import torchvision
        from torchvision.transforms import v2
    except ImportError as exc:
        raise Skip(f"torchvision is not installed ({exc})") from exc
    return torchvision, v2


class _TorchvisionFolder(torch.utils.data.Dataset):
    """ImageFolder samples -> uint8 (3, size, size): Pillow decode, RandomResizedCrop, flip."""

    def __init__(self, samples: list[tuple[str, int]], size: int):
        _, v2 = _torchvision()
        self.samples = samples
        self.transform = v2.Compose(
            [v2.ToImage(), v2.RandomResizedCrop(size, antialias=True), v2.RandomHorizontalFlip()]
        )

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        path, label = self.samples[index]
        with Image.open(path) as im:
            return self.transform(im.convert("RGB")), label


class _FileBytes(torch.utils.data.Dataset):
    """ImageFolder samples -> (the file's bytes as a uint8 tensor, label)."""

    def __init__(self, samples: list[tuple[str, int]]):
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        import torchvision

        path, label = self.samples[index]
        return torchvision.io.read_file(path), label


class _Epochs:
    """Re-iterable wrapper: each ``iter`` is a new epoch, as a DataLoader's (``measure`` runs
    whole epochs until its time is up, and a plain generator would be spent after one)."""

    def __init__(self, epoch: Callable[[], Iterator[Any]]):
        self.epoch = epoch

    def __iter__(self) -> Iterator[Any]:
        return self.epoch()


def _bytes_collate(batch: list[tuple[torch.Tensor, int]]) -> tuple[list[torch.Tensor], Any]:
    return [b[0] for b in batch], torch.tensor([b[1] for b in batch])


def pipelines(
    root: Path, *, device: torch.device, size: int, batch: int, workers: int, store: Path | None
) -> list[Pipeline]:
    """The pipelines at one crop size: ``(name, make, h2d bytes per image from a batch)``."""
    folder = JpegFolder(root)
    samples = folder.samples
    jpeg_bytes = float(np.mean([os.path.getsize(p) for p, _ in samples]))
    cuda = device.type == "cuda"
    common: dict[str, Any] = {"batch_size": batch, "num_workers": workers, "shuffle": True}
    # the baselines at their best: worker processes started once, not once per epoch
    persistent = {"persistent_workers": workers > 0}
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1) * 255
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1) * 255

    def freq(**kw: Any) -> tuple[Callable[[], Iterable[Any]], Callable[[Any], float]]:
        per = float(
            FreqLoader(folder, size=size, device=device, **common, **kw).h2d_bytes_per_sample()
        )
        return (
            lambda: FreqLoader(folder, size=size, device=device, pin_memory=cuda, **common, **kw),
            lambda _b: per,
        )

    def torchvision_baseline() -> Iterable[Any]:
        _torchvision()
        loader = torch.utils.data.DataLoader(
            _TorchvisionFolder(samples, size), pin_memory=cuda, **common, **persistent
        )

        def gen() -> Iterator[Any]:
            for x, y in loader:
                x = x.to(device, non_blocking=True).float()  # ToDtype on the device
                yield (x - mean) / std, y.to(device, non_blocking=True)  # Normalize

        return _Epochs(gen)

    def nvjpeg_peer() -> Iterable[Any]:
        torchvision, v2 = _torchvision()
        if not cuda:
            raise Skip("decode_jpeg(device='cuda') needs a CUDA device")
        crop = v2.Compose([v2.RandomResizedCrop(size, antialias=True), v2.RandomHorizontalFlip()])
        loader = torch.utils.data.DataLoader(
            _FileBytes(samples), collate_fn=_bytes_collate, **common, **persistent
        )
        mode = torchvision.io.ImageReadMode.RGB

        def gen() -> Iterator[Any]:
            for data, y in loader:
                images = torchvision.io.decode_jpeg(data, mode=mode, device=device)
                x = torch.stack([crop(im) for im in images]).float()
                yield (x - mean) / std, y.to(device, non_blocking=True)

        return _Epochs(gen)

    def freq_store() -> Iterable[Any]:
        if store is None:
            raise Skip("no store was converted")
        from freqpipe.store import FreqStore

        return FreqLoader(FreqStore(store), device=device, pin_memory=cuda, **common)

    def store_h2d(_b: Any) -> float:
        from freqpipe.bench import _store_record_bytes

        return float(_store_record_bytes(store)) if store is not None else 0.0

    out: list[Pipeline] = [
        ("FreqLoader coefficients dct24", *freq(select="dct24")),
        ("FreqLoader pixels + fused DCT dct24", *freq(select="dct24", source="pixels")),
        ("FreqStore dct24", freq_store, store_h2d),
        ("DataLoader + torchvision v2", torchvision_baseline, lambda _b: 3.0 * size * size + 8),
        ("torchvision decode_jpeg(device='cuda')", nvjpeg_peer, lambda _b: jpeg_bytes + 8),
    ]
    if size == 224:
        host_only = FreqLoader(folder, size=size, device="cpu", raw=True, **common)
        per = float(host_only.h2d_bytes_per_sample())
        make = lambda: FreqLoader(folder, size=size, device="cpu", raw=True, **common)  # noqa: E731
        out.insert(1, ("FreqLoader coefficients dct24, host only", make, lambda _b: per))
    return out


def targets(results: list[dict[str, Any]], batch: int) -> dict[str, Any]:
    """The issue's loader targets at 224, from the measured rows (None where one is missing)."""
    at = {r["name"]: r for r in results if r.get("size") == 224 and not r.get("skipped")}
    ours = at.get("FreqLoader coefficients dct24")
    base = at.get("DataLoader + torchvision v2")
    host = at.get("FreqLoader coefficients dct24, host only")
    out: dict[str, Any] = {}
    if ours and base:
        speed = ours["images_per_s"] / base["images_per_s"]
        h2d = ours["h2d_bytes_per_image"] / base["h2d_bytes_per_image"]
        out["images/s vs DataLoader+torchvision >= 2.5x"] = {"value": speed, "met": speed >= 2.5}
        out["H2D bytes vs DataLoader+torchvision <= 0.1x"] = {"value": h2d, "met": h2d <= 0.1}
    if ours and host:
        added = host["images_per_s"] / ours["images_per_s"] - 1.0  # time per batch, relative
        out["device stage adds <= 10% per batch"] = {"value": added, "met": added <= 0.10}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 448])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--quick", action="store_true", help="224 only, a short pass of each")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"bench_gpu_loader: no data at {args.data}", file=sys.stderr)
        return 2
    sizes, seconds = ([224], 0.3) if args.quick else (args.sizes, args.seconds)
    device = torch.device(args.device)
    torch.set_num_threads(1)  # the pipelines' own workers are the parallelism compared
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "bench_gpu_loader.json"
    results: list[dict[str, Any]] = []
    meta = {
        "benchmark": "bench_gpu_loader",
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "data": str(args.data),
        "images": len(JpegFolder(args.data)),
        "settings": {"batch": args.batch, "workers": args.workers, "seconds": seconds},
        "python": platform.python_version(),
        "torch": torch.__version__,
        "freqpipe": freqpipe.__version__,
        **run_info(device.type),
    }
    for size in sizes:
        tmp = convert_for_bench(args.data, size, max(args.workers, 1))
        store = Path(tmp.name) / "store"
        try:
            for name, make, h2d in pipelines(
                args.data,
                device=device,
                size=size,
                batch=args.batch,
                workers=args.workers,
                store=store,
            ):
                with GpuBusy(device) as busy:
                    r = measure(
                        name,
                        make,
                        seconds=seconds,
                        disk_bytes_per_image=0.0,
                        h2d_bytes_per_image=h2d,
                    ).to_dict()
                r.update(size=size, gpu_busy=busy.fraction)
                results.append(r)
                state = r["skipped"] or (
                    f"{r['images_per_s']:8.0f} img/s {1e3 * r['cpu_s_per_image']:7.2f} CPU-ms/img "
                    f"{r['h2d_bytes_per_image']:9.0f} B/img busy {r['gpu_busy']}"
                )
                print(f"{size} {name:42s} {state}", flush=True)
                meta_out = {**meta, "results": results, "targets": targets(results, args.batch)}
                write_json(path, meta_out)
        finally:
            tmp.cleanup()
    print(json.dumps(targets(results, args.batch), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
