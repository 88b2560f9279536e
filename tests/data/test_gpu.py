"""CUDA path of FreqLoader against its CPU path (skips without a GPU and CuPy)."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
import torch

from freqpipe.data import FreqLoader, JpegFileList
from tests.tolerances import assert_close

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cuda() -> torch.device:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    if importlib.util.find_spec("cupy") is None:
        pytest.skip("CuPy (the gpu extra) is not installed")
    return torch.device("cuda")


CASES = [
    {"output": "dct"},
    {"output": "dct", "chroma": "separate"},
    {"output": "dct", "transfer_dtype": "int8", "select": "dct6"},
    {"output": "dct", "transfer_dtype": "int8", "raw": True},
    {"output": "dct", "transfer_dtype": "int8", "chroma": "separate", "raw": True},
    {"output": "dct", "raw": True},
    {"output": "dct", "source": "pixels"},
    {"output": "dwt"},
    {"output": "rgb"},
]


@pytest.mark.parametrize("kw", CASES, ids=lambda kw: "-".join(map(str, kw.values())))
@pytest.mark.parametrize("workers", [0, 2])
def test_cuda_equals_cpu(cuda: torch.device, indexed: JpegFileList, kw: dict, workers: int) -> None:
    common = {"batch_size": 3, "size": 64, "num_workers": workers, **kw}
    gpu = list(FreqLoader(indexed, device=cuda, pin_memory=True, **common))
    cpu = list(FreqLoader(indexed, device="cpu", **common))
    assert len(gpu) == len(cpu) == math.ceil(len(indexed) / 3) > 0
    for got, ref in zip(gpu, cpu):
        flat_got = [t for part in got for t in (part if isinstance(part, tuple) else (part,))]
        flat_ref = [t for part in ref for t in (part if isinstance(part, tuple) else (part,))]
        assert len(flat_got) == len(flat_ref)
        for g, r in zip(flat_got, flat_ref):
            assert g.device.type == "cuda" and g.dtype == r.dtype and g.shape == r.shape
            if g.is_floating_point():
                assert_close(g.cpu().numpy(), r.numpy(), r.numpy().dtype)
            else:
                assert torch.equal(g.cpu(), r)


def test_float16_and_stream_safety(cuda: torch.device, indexed: JpegFileList) -> None:
    """Batches read on the consumer's own stream are complete, and float16 rounds float32.

    The loader computes on its side stream and makes the consumer's current stream wait on an
    event: work queued on another stream ``side`` must still see finished batches, so each
    batch is read there (a kernel, then the copy back) and compared with the CPU loader's
    float32 output to float16's tolerance (the GPU computes in float32 and rounds once).
    """
    common = {"batch_size": 4, "size": 64, "num_workers": 2, "prefetch_factor": 1}
    loader = FreqLoader(indexed, device=cuda, pin_memory=True, dtype=torch.float16, **common)
    side = torch.cuda.Stream()
    got = []
    with torch.cuda.stream(side):  # the loader hands batches to the stream current at next()
        for x, y in loader:
            assert x.device.type == "cuda" and x.dtype == torch.float16
            got.append((x.float().cpu(), y.cpu()))
    ref = list(FreqLoader(indexed, device="cpu", **common))
    assert len(got) == len(ref) == math.ceil(len(indexed) / 4) > 0
    for (x, y), (x_ref, y_ref) in zip(got, ref):
        assert torch.equal(y, y_ref)
        assert x.shape == x_ref.shape and x_ref.dtype == torch.float32
        assert_close(x.numpy(), x_ref.numpy(), np.float16)


@pytest.mark.parametrize("workers", [0, 2])
def test_cuda_resume_equals_one_epoch(cuda: torch.device, indexed: JpegFileList, workers) -> None:
    """A checkpoint taken mid-epoch on a CUDA loader resumes to the uninterrupted batches."""

    def make() -> FreqLoader:
        return FreqLoader(
            indexed,
            batch_size=2,
            shuffle=True,
            num_workers=workers,
            size=64,
            device=cuda,
            pin_memory=True,
            generator=torch.Generator().manual_seed(9),
        )

    whole = [(y.cpu(), x.cpu()) for x, y in make()]
    first = make()
    it = iter(first)
    head = [next(it) for _ in range(2)]
    resumed = make()
    resumed.load_state_dict(first.state_dict())
    got = [(y.cpu(), x.cpu()) for x, y in head + list(resumed)]
    assert len(got) == len(whole) > 2
    for (gy, gx), (wy, wx) in zip(got, whole):
        assert torch.equal(gy, wy) and torch.equal(gx, wx)


def test_cuda_transform_equals_cpu(cuda: torch.device, indexed: JpegFileList) -> None:
    """transform= renders on the GPU what it renders on the CPU (same draws, same covers)."""
    from freqpipe.transforms.dct import Compose, RandomHorizontalFlip, RandomResizedCrop

    transform = Compose([RandomResizedCrop(64), RandomHorizontalFlip()])
    common = {"batch_size": 3, "transform": transform, "shuffle": True}
    gpu = list(
        FreqLoader(indexed, device=cuda, generator=torch.Generator().manual_seed(2), **common)
    )
    cpu = list(
        FreqLoader(indexed, device="cpu", generator=torch.Generator().manual_seed(2), **common)
    )
    assert len(gpu) == len(cpu) > 0
    for (gx, gy), (cx, cy) in zip(gpu, cpu):
        assert gx.device.type == "cuda" and torch.equal(gy.cpu(), cy)
        # float32 matrix products on two devices: a few ulps of the values' scale
        assert_close(gx.cpu().numpy(), cx.numpy(), np.float32)


def test_cuda_band_transfer_equals_cpu(cuda: torch.device, indexed: JpegFileList) -> None:
    """transfer_frequencies="band": the GPU scatters the same bands the CPU does."""
    from freqpipe.transforms.dct import Compose, RandomHorizontalFlip, RandomResizedCrop

    transform = Compose([RandomResizedCrop(64), RandomHorizontalFlip()])
    common = {
        "batch_size": 3,
        "transform": transform,
        "shuffle": True,
        "transfer_frequencies": "band",
    }
    gpu = list(
        FreqLoader(indexed, device=cuda, generator=torch.Generator().manual_seed(5), **common)
    )
    cpu = list(
        FreqLoader(indexed, device="cpu", generator=torch.Generator().manual_seed(5), **common)
    )
    assert len(gpu) == len(cpu) > 0
    for (gx, gy), (cx, cy) in zip(gpu, cpu):
        assert gx.device.type == "cuda" and torch.equal(gy.cpu(), cy)
        assert_close(gx.cpu().numpy(), cx.numpy(), np.float32)
