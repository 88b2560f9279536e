"""CUDA path of FreqLoader against its CPU path (skips without a GPU and CuPy)."""

from __future__ import annotations

import importlib.util

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
    {"output": "dct", "raw": True},
    {"output": "dct", "source": "pixels"},
    {"output": "dwt"},
    {"output": "rgb"},
]


@pytest.mark.parametrize("kw", CASES, ids=lambda kw: "-".join(map(str, kw.values())))
@pytest.mark.parametrize("workers", [0, 2])
def test_cuda_equals_cpu(cuda: torch.device, indexed: JpegFileList, kw: dict, workers: int) -> None:
    common = {"batch_size": 3, "size": 64, "num_workers": workers, **kw}
    gpu = FreqLoader(indexed, device=cuda, pin_memory=True, **common)
    cpu = FreqLoader(indexed, device="cpu", **common)
    for got, ref in zip(gpu, cpu):
        flat_got = [t for part in got for t in (part if isinstance(part, tuple) else (part,))]
        flat_ref = [t for part in ref for t in (part if isinstance(part, tuple) else (part,))]
        for g, r in zip(flat_got, flat_ref):
            assert g.device.type == "cuda" and g.dtype == r.dtype and g.shape == r.shape
            if g.is_floating_point():
                assert_close(g.cpu().numpy(), r.numpy(), r.numpy().dtype)
            else:
                assert torch.equal(g.cpu(), r)


def test_float16_and_stream_safety(cuda: torch.device, indexed: JpegFileList) -> None:
    loader = FreqLoader(indexed, batch_size=4, size=64, device=cuda, pin_memory=True,
                        dtype=torch.float16, num_workers=2, prefetch_factor=1)  # fmt: skip
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):  # the consumer's own stream waits on the loader's event
        outs = [x.float().sum().item() for x, _ in loader for _ in range(2)]
    assert all(torch.isfinite(torch.tensor(outs)))
