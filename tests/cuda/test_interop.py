"""GpuContext's view of a torch tensor, checked on the CPU against a recording stand-in for CuPy."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch

from freqpipe.cuda._interop import GpuContext


class _Recorder:
    """Stands in for the few CuPy names ``GpuContext._view`` uses and records their arguments."""

    def __init__(self) -> None:
        self.from_dlpack_calls = 0

        def unowned(ptr: int, size: int, owner: Any, device_id: Any) -> dict[str, Any]:
            return {"ptr": ptr, "size": size, "owner": owner, "device": device_id}

        def pointer(mem: dict[str, Any], offset: int) -> dict[str, Any]:
            return {**mem, "offset": offset}

        def ndarray(shape: tuple[int, ...], dtype: str, memptr: Any, strides: Any) -> Any:
            return SimpleNamespace(shape=shape, dtype=dtype, memptr=memptr, strides=strides)

        def from_dlpack(_t: Any) -> str:
            self.from_dlpack_calls += 1
            return "dlpack"

        memory = SimpleNamespace(UnownedMemory=unowned, MemoryPointer=pointer)
        self.cuda = SimpleNamespace(memory=memory)
        self.ndarray = ndarray
        self.from_dlpack = from_dlpack


def _ctx(device_id: Any = None) -> tuple[GpuContext, _Recorder]:
    ctx = GpuContext.__new__(GpuContext)  # no CUDA here: only the view logic is under test
    rec = _Recorder()
    ctx.cupy, ctx.device_id = rec, device_id
    return ctx, rec


@pytest.mark.parametrize(
    "make",
    [
        lambda: torch.zeros((2, 5, 6, 3), dtype=torch.uint8),
        lambda: torch.zeros((2, 3, 5, 6), dtype=torch.uint8).permute(0, 2, 3, 1),
        lambda: torch.zeros((4, 10), dtype=torch.float16)[1:, 2:7],
        lambda: torch.zeros((3, 1), dtype=torch.int16).expand(3, 4),
    ],
    ids=["contiguous", "permuted", "offset-slice", "expanded"],
)
def test_view_covers_exactly_the_elements_it_can_reach(make):
    t = make()
    ctx, rec = _ctx()
    v = ctx._view(t)
    item = t.element_size()
    assert v.shape == tuple(t.shape)
    assert v.dtype == str(t.dtype).removeprefix("torch.")
    assert v.strides == tuple(s * item for s in t.stride())
    assert v.memptr["ptr"] == t.data_ptr() and v.memptr["offset"] == 0
    assert v.memptr["owner"] is t  # the tensor keeps its memory alive
    last = sum((n - 1) * s for n, s in zip(t.shape, t.stride()))
    assert v.memptr["size"] == (last + 1) * item
    assert rec.from_dlpack_calls == 0


@pytest.mark.parametrize(
    "t", [torch.zeros(0, dtype=torch.float32), torch.zeros(3, dtype=torch.bool)], ids=str
)
def test_view_falls_back_to_dlpack_for_empty_and_unlisted_dtypes(t):
    ctx, rec = _ctx()
    assert ctx._view(t) == "dlpack" and rec.from_dlpack_calls == 1


def test_view_of_a_tensor_on_another_device_goes_through_dlpack():
    ctx, rec = _ctx(device_id=0)  # a CPU tensor's device index (None) is not 0
    assert ctx._view(torch.zeros(3)) == "dlpack" and rec.from_dlpack_calls == 1
