"""The one kernel-contract check every kernel test calls (torchvision v2 style).

``check_kernel_contract(fn, inputs)`` runs ``fn(*inputs)`` and asserts: the inputs are not
modified; every output has the input's array type and device and the expected dtype; the
batch equals the concatenation of per-sample calls (bit for bit: the same threads do the same
arithmetic); an empty batch works and gives empty outputs of the right shape. It returns the
batched outputs (flattened to a list, as host NumPy arrays) for the caller's reference check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def to_host(a: Any) -> np.ndarray:
    """Copy a NumPy / CuPy array or torch tensor to a NumPy array."""
    if hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    if type(a).__module__.split(".")[0] == "cupy":
        return a.get()
    return np.asarray(a)


def _flatten(v: Any) -> list[Any]:
    if isinstance(v, (list, tuple)):
        return [x for e in v for x in _flatten(e)]
    return [v]


def _device(a: Any) -> Any:
    if hasattr(a, "detach"):
        return str(a.device)
    if type(a).__module__.split(".")[0] == "cupy":
        return ("cupy", a.device.id)
    return "host"


def check_kernel_contract(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    *,
    out_dtypes: Sequence[Any] | None = None,
    per_sample: int = 3,
) -> list[np.ndarray]:
    """Check the kernel contract of ``fn`` on batched ``inputs`` (batch axis 0 for all).

    Args:
        fn: the operation under test.
        inputs: its positional arguments; each is sliced along axis 0 for the per-sample and
            empty-batch calls.
        out_dtypes: the expected dtype name of each (flattened) output, or None to skip.
        per_sample: how many leading samples to compare with the batched result.

    Returns:
        The batched outputs as host NumPy arrays, in flattened order.
    """
    before = [to_host(x).copy() for x in inputs]
    outs = _flatten(fn(*inputs))
    for x, b in zip(inputs, before, strict=True):
        np.testing.assert_array_equal(to_host(x), b, err_msg="an input was modified")
    kind, dev = type(inputs[0]).__module__.split(".")[0], _device(inputs[0])
    host = []
    for i, o in enumerate(outs):
        assert type(o).__module__.split(".")[0] == kind, f"output {i} is {type(o)}, input {kind}"
        assert _device(o) == dev, f"output {i} on {_device(o)}, input on {dev}"
        if out_dtypes is not None:
            assert str(o.dtype).replace("torch.", "") == np.dtype(out_dtypes[i]).name
        host.append(to_host(o))
    n = inputs[0].shape[0]
    for s in range(min(n, per_sample)):
        single = _flatten(fn(*(x[s : s + 1] for x in inputs)))
        for i, (o, h) in enumerate(zip(single, host, strict=True)):
            np.testing.assert_array_equal(
                to_host(o), h[s : s + 1], err_msg=f"output {i}: sample {s} alone != in batch"
            )
    empty = _flatten(fn(*(x[:0] for x in inputs)))
    for i, (o, h) in enumerate(zip(empty, host, strict=True)):
        assert tuple(o.shape) == (0, *h.shape[1:]), f"empty batch: output {i} {tuple(o.shape)}"
    return host
