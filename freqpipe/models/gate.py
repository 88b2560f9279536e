"""DCTNet's learned channel gate (Xu et al., CVPR 2020; conventions §3).

For each input channel the gate predicts two logits (keep, drop) from the globally pooled
input: global average pool -> 1x1 conv C -> C + BN + ReLU -> grouped 1x1 conv to 2 logits per
channel. In training a hard straight-through Gumbel-softmax with temperature ``tau`` samples a
0/1 decision per image and channel (the forward pass multiplies by exactly 0 or 1, the backward
pass uses the soft probabilities); in evaluation the decision is the arg-max, no noise. The
training loss adds ``lam`` times the number of channels kept (mean over the batch).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from freqpipe.errors import InvalidArgumentError

__all__ = ["ChannelGate", "GatedModel", "fit_gate"]


class ChannelGate(nn.Module):
    """Per-channel keep/drop gate with a sparsity penalty.

    Args:
        num_channels: input channels C (192 for all DCT channels of Y, Cb, Cr).
        tau: Gumbel-softmax temperature (training only).
        lam: weight lambda of the sparsity penalty, per channel kept.
        init_keep_logit: initial bias of the keep logit over the drop logit; the default 2.0
            starts with about 88% of channels kept so that training decides what to drop.

    Shapes:
        ``forward(x)``: x (N, C, H, W) -> ``(x * gate, gate)`` with gate (N, C) of 0/1 floats.
        Training needs N >= 2 (the gate's batch norm).

    Example:
        >>> gate = ChannelGate(6, lam=0.1).eval()
        >>> y, g = gate(torch.randn(2, 6, 4, 4))
        >>> y.shape, g.shape, set(g.flatten().tolist()) <= {0.0, 1.0}
        (torch.Size([2, 6, 4, 4]), torch.Size([2, 6]), True)
    """

    def __init__(
        self,
        num_channels: int = 192,
        tau: float = 1.0,
        lam: float = 0.0,
        init_keep_logit: float = 2.0,
    ):
        super().__init__()
        if not isinstance(num_channels, int) or num_channels < 1:
            raise InvalidArgumentError(f"num_channels must be a positive int, got {num_channels!r}")
        if not tau > 0:
            raise InvalidArgumentError(f"tau must be > 0, got {tau!r}")
        if not lam >= 0:
            raise InvalidArgumentError(f"lam must be >= 0, got {lam!r}")
        self.num_channels = num_channels
        self.tau = float(tau)
        self.lam = float(lam)
        self.squeeze = nn.Conv2d(num_channels, num_channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(num_channels)
        self.relu = nn.ReLU(inplace=True)
        # groups=C: output channels 2i (keep) and 2i+1 (drop) see only channel i's feature.
        self.logits = nn.Conv2d(num_channels, 2 * num_channels, 1, groups=num_channels)
        nn.init.normal_(self.logits.weight, 0.0, 0.01)
        bias = torch.zeros(2 * num_channels)
        bias[0::2] = init_keep_logit
        self.logits.bias = nn.Parameter(bias)

    def gate_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Return the (keep, drop) logits (N, C, 2) of an input (N, C, H, W)."""
        if x.ndim != 4 or x.shape[1] != self.num_channels:
            raise InvalidArgumentError(
                f"expected (N, {self.num_channels}, H, W), got {tuple(x.shape)}"
            )
        z = self.relu(self.bn(self.squeeze(x.mean((2, 3), keepdim=True))))
        return self.logits(z).view(x.shape[0], self.num_channels, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Gate the channels of x (N, C, H, W); return ``(gated x, gate (N, C))``."""
        logits = self.gate_logits(x)
        if self.training:
            gate = F.gumbel_softmax(logits, tau=self.tau, hard=True, dim=-1)[..., 0]
        else:
            gate = (logits[..., 0] >= logits[..., 1]).to(x.dtype)
        return x * gate[:, :, None, None], gate

    def sparsity_loss(self, gate: torch.Tensor) -> torch.Tensor:
        """Return ``lam`` x (channels kept per image, averaged over the batch): a scalar."""
        return self.lam * gate.sum(1).mean()


class GatedModel(nn.Module):
    """A :class:`ChannelGate` in front of a classifier taking the same C channels.

    Args:
        gate: the gate.
        backbone: a model mapping (N, C, H, W) to logits.

    Shapes:
        (N, C, H, W) -> ``(logits, gate (N, C))``.

    Example:
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4 * 2 * 2, 3))
        >>> logits, g = GatedModel(ChannelGate(4), net).eval()(torch.zeros(2, 4, 2, 2))
        >>> logits.shape, g.shape
        (torch.Size([2, 3]), torch.Size([2, 4]))
    """

    def __init__(self, gate: ChannelGate, backbone: nn.Module):
        super().__init__()
        self.gate = gate
        self.backbone = backbone

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(backbone(gated x), gate)``."""
        x, gate = self.gate(x)
        return self.backbone(x), gate


def fit_gate(
    model: GatedModel,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    batch_size: int = 16,
    lr: float = 1e-2,
    backbone_lr: float = 1e-3,
    generator: torch.Generator | None = None,
    callback: Callable[[int, float, float], None] | None = None,
) -> torch.Tensor:
    """Train a gated model briefly and return how often each channel is kept.

    Each step draws a random batch from ``(x, y)``; the loss is cross-entropy plus the gate's
    sparsity penalty. Afterwards the model is put in eval mode and the arg-max decisions are
    averaged over all of ``x``.

    Args:
        model: the gate and its backbone (trained in place, left in eval mode).
        x: inputs (M, C, H, W), already normalised, on the model's device.
        y: int64 labels (M,).
        steps: optimisation steps.
        batch_size: images per step (at least 2, for the gate's batch norm).
        lr: Adam learning rate of the gate.
        backbone_lr: Adam learning rate of the backbone.
        generator: seeds the batch sampling (the Gumbel noise follows ``torch.manual_seed``).
        callback: called as ``callback(step, task_loss, channels_kept)`` after each step.

    Returns:
        Keep frequency per channel, float32 (C,) in [0, 1], on the CPU.

    Raises:
        InvalidArgumentError: fewer than 2 images, or mismatched ``x`` and ``y``.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> m = GatedModel(ChannelGate(4, lam=0.5), net)
        >>> freq = fit_gate(m, torch.randn(8, 4, 2, 2), torch.arange(8) % 2, steps=2)
        >>> freq.shape
        torch.Size([4])
    """
    if x.shape[0] < 2 or x.shape[0] != y.shape[0]:
        raise InvalidArgumentError(
            f"need at least 2 images and one label each, got x {tuple(x.shape)}, y {tuple(y.shape)}"
        )
    batch_size = max(2, min(batch_size, x.shape[0]))
    opt = torch.optim.Adam(
        [
            {"params": model.gate.parameters(), "lr": lr},
            {"params": model.backbone.parameters(), "lr": backbone_lr},
        ]
    )
    model.train()
    for step in range(steps):
        idx = torch.randperm(x.shape[0], generator=generator)[:batch_size].to(x.device)
        logits, gate = model(x[idx])
        task = F.cross_entropy(logits, y[idx])
        loss = task + model.gate.sparsity_loss(gate)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if callback is not None:
            callback(step, float(task.detach()), float(gate.detach().sum(1).mean()))
    model.eval()
    kept = torch.zeros(x.shape[1], device=x.device)
    with torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            kept += model.gate(x[start : start + batch_size])[1].sum(0)
    return (kept / x.shape[0]).float().cpu()
