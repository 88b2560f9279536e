"""Multiply-add counting on :class:`torch.utils.flop_counter.FlopCounterMode`.

The papers quote "FLOPs" meaning multiply-adds (MACs). ``FlopCounterMode`` counts 2 FLOPs per
MAC for convolutions (also transposed) and matrix products and nothing for pooling, batch norm,
activations or additions, so :func:`count_macs` halves its figures and keeps convolutions and
linear layers apart, because papers differ on which they count (the WAE paper counts only
convolutions; ResNet-50's 4.1 G is convolutions plus ``fc``).

Count on the ``meta`` device to get figures without allocating or computing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["MacCount", "count_macs"]

_CONV_OPS = {"convolution", "_convolution", "conv2d", "cudnn_convolution", "conv_transpose2d"}
_LINEAR_OPS = {"addmm", "mm", "bmm", "baddbmm", "matmul", "linear"}


@dataclass(frozen=True)
class MacCount:
    """Multiply-adds of one forward pass, split by operator family.

    Attributes:
        conv: MACs of convolutions (including transposed ones).
        linear: MACs of matrix products (``nn.Linear`` and friends).
        other: MACs of any other counted operator (e.g. attention).
    """

    conv: int
    linear: int
    other: int

    @property
    def total(self) -> int:
        """All counted MACs."""
        return self.conv + self.linear + self.other

    def giga(self, which: str = "total") -> float:
        """Return a field in units of 1e9 MACs (``"total"``, ``"conv"``, ``"linear"``).

        Example:
            >>> MacCount(conv=2_000_000_000, linear=0, other=0).giga("conv")
            2.0
        """
        return float(getattr(self, which)) / 1e9


def count_macs(model: nn.Module | Callable[..., Any], *inputs: Any, **kwargs: Any) -> MacCount:
    """Count the multiply-adds of ``model(*inputs, **kwargs)`` (2 FLOPs of torch = 1 MAC).

    Args:
        model: a module or any callable running torch operations.
        *inputs: its inputs (batch 1 for per-image figures); ``meta`` tensors work.
        **kwargs: keyword inputs.

    Returns:
        The counts, per image only if the batch is 1.

    Example:
        >>> conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        >>> count_macs(conv, torch.zeros(1, 3, 4, 4)).conv == 8 * 3 * 9 * 16
        True
    """
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(*inputs, **kwargs)
    conv = linear = other = 0
    for op, flops in counter.get_flop_counts().get("Global", {}).items():
        # "aten.addmm" (packet) or "aten.addmm.default" (overload): the op name is field 1.
        parts = str(op).split(".")
        name = parts[1] if len(parts) > 1 else parts[0]
        if name in _CONV_OPS:
            conv += int(flops)
        elif name in _LINEAR_OPS:
            linear += int(flops)
        else:
            other += int(flops)
    return MacCount(conv // 2, linear // 2, other // 2)
