"""Octave convolution and Oct-ResNet-50 (Chen et al., ICCV 2019; conventions §5).

A feature map with C channels is split into ``C - round(alpha C)`` high-frequency channels at
full resolution and ``round(alpha C)`` low-frequency channels at half resolution, passed as a
tuple ``(high, low)``; with alpha = 0 it is a plain tensor. An :class:`OctConv2d` computes

    Y_H = f(X_H; W_HH) + upsample(f(X_L; W_LH), 2)
    Y_L = f(X_L; W_LL) + f(avgpool(X_H, 2); W_HL)

with 2x2 average pooling down and nearest-neighbour up. Its four weights partition the plain
conv's ``(C_out, C_in, k, k)`` weight, so the parameter count is exactly the plain conv's.

Stride 2 average-pools both inputs first. The low input is then already at the high output's
resolution, so ``W_LH`` needs no upsampling there (and ``W_HL`` sees X_H pooled 4x4); this is
what lets the last stage switch back to alpha = 0 with a stride-2 shortcut on 7 x 7 maps.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from freqpipe.errors import InvalidArgumentError
from freqpipe.models._registry import register_model
from freqpipe.models.resnet import RESNET50_LAYERS, init_weights

__all__ = ["OctBatchNorm2d", "OctConv2d", "OctReLU", "OctResNet", "oct_resnet50"]

#: A plain tensor (alpha = 0) or a ``(high, low)`` pair.
OctTensor = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def _split(channels: int, alpha: float, name: str) -> tuple[int, int]:
    if not 0.0 <= alpha < 1.0:
        raise InvalidArgumentError(f"{name} must be in [0, 1), got {alpha!r}")
    low = round(alpha * channels)
    if low >= channels:
        raise InvalidArgumentError(
            f"{name}={alpha} leaves no high-frequency channel out of {channels}"
        )
    return channels - low, low


def _unpack(x: OctTensor, low_channels: int, what: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    if isinstance(x, tuple):
        h, lo = x
        if low_channels == 0:
            raise InvalidArgumentError(f"{what}: got a (high, low) tuple but alpha_in is 0")
        return h, lo
    if low_channels:
        raise InvalidArgumentError(
            f"{what}: expected a (high, low) tuple for alpha_in > 0, got a tensor {tuple(x.shape)}"
        )
    return x, None


def _pack(h: torch.Tensor, lo: torch.Tensor | None) -> OctTensor:
    return h if lo is None else (h, lo)


class OctConv2d(nn.Module):
    """Octave convolution: (high, low) in, (high, low) out; plain tensors where alpha is 0.

    Args:
        in_channels: total input channels (high + low).
        out_channels: total output channels.
        kernel_size: square kernel size.
        alpha_in: fraction of input channels that are low frequency, in [0, 1).
        alpha_out: fraction of output channels that are low frequency, in [0, 1).
        stride: 1 or 2 (2 average-pools the inputs first, see the module docstring).
        padding: zero padding; default ``(kernel_size - 1) // 2`` (same size).
        bias: add a learned bias per output channel.

    Shapes:
        high (N, (1 - alpha_in) C_in, H, W), low (N, alpha_in C_in, H / 2, W / 2) ->
        high (N, (1 - alpha_out) C_out, H / s, W / s), low (N, alpha_out C_out, H / 2s, W / 2s).
        Channel splits round ``alpha * channels``.

    Example:
        >>> conv = OctConv2d(16, 8, 3, alpha_in=0.5, alpha_out=0.25)
        >>> h, lo = conv((torch.zeros(1, 8, 8, 8), torch.zeros(1, 8, 4, 4)))
        >>> tuple(h.shape), tuple(lo.shape)
        ((1, 6, 8, 8), (1, 2, 4, 4))
        >>> sum(p.numel() for p in conv.parameters()) == 16 * 8 * 3 * 3
        True
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        alpha_in: float = 0.5,
        alpha_out: float = 0.5,
        stride: int = 1,
        padding: int | None = None,
        bias: bool = False,
    ):
        super().__init__()
        if stride not in (1, 2):
            raise InvalidArgumentError(f"stride must be 1 or 2, got {stride!r}")
        if not isinstance(kernel_size, int) or kernel_size < 1:
            raise InvalidArgumentError(f"kernel_size must be a positive int, got {kernel_size!r}")
        self.h_in, self.l_in = _split(in_channels, alpha_in, "alpha_in")
        self.h_out, self.l_out = _split(out_channels, alpha_out, "alpha_out")
        self.stride = stride
        pad = (kernel_size - 1) // 2 if padding is None else padding

        def conv(cin: int, cout: int, with_bias: bool) -> nn.Conv2d | None:
            if cin == 0 or cout == 0:
                return None
            return nn.Conv2d(cin, cout, kernel_size, padding=pad, bias=with_bias)

        # Each output frequency gets its bias from exactly one of its two convs, so a biased
        # OctConv2d also has the plain conv's parameter count.
        # _split guarantees high channels on both sides, so h2h always exists.
        self.h2h = nn.Conv2d(self.h_in, self.h_out, kernel_size, padding=pad, bias=bias)
        self.l2h = conv(self.l_in, self.h_out, False)
        self.l2l = conv(self.l_in, self.l_out, bias)
        self.h2l = conv(self.h_in, self.l_out, bias and self.l2l is None)

    def forward(self, x: OctTensor) -> OctTensor:
        """Apply the octave convolution to a tensor (alpha_in = 0) or a ``(high, low)`` pair."""
        xh, xl = _unpack(x, self.l_in, "OctConv2d")
        if self.stride == 2:
            xh = F.avg_pool2d(xh, 2)
        yh = self.h2h(xh)
        yl = None
        if self.h2l is not None:
            yl = self.h2l(F.avg_pool2d(xh, 2))
        if xl is not None:
            if self.l2h is not None:
                lh = self.l2h(xl)
                # Stride 1: low is at half the high output's size, upsample by 2. Stride 2:
                # low is already at the output size (nearest to ``size`` is then a no-op).
                if lh.shape[-2:] != yh.shape[-2:]:
                    lh = F.interpolate(lh, size=yh.shape[-2:], mode="nearest")
                yh = yh + lh
            if self.l2l is not None:
                ll = self.l2l(F.avg_pool2d(xl, 2) if self.stride == 2 else xl)
                yl = ll if yl is None else yl + ll
        return _pack(yh, yl)


class OctBatchNorm2d(nn.Module):
    """Batch norm for each frequency of an octave feature map.

    Args:
        channels: total channels.
        alpha: low-frequency fraction (as for :class:`OctConv2d`'s output).

    Example:
        >>> bn = OctBatchNorm2d(8, 0.5)
        >>> [t.shape[1] for t in bn((torch.zeros(2, 4, 4, 4), torch.zeros(2, 4, 2, 2)))]
        [4, 4]
    """

    def __init__(self, channels: int, alpha: float):
        super().__init__()
        h, lo = _split(channels, alpha, "alpha")
        self.bn_h = nn.BatchNorm2d(h)
        self.bn_l = nn.BatchNorm2d(lo) if lo else None
        self.l_channels = lo

    def forward(self, x: OctTensor) -> OctTensor:
        """Normalise high and low separately; shapes unchanged."""
        h, lo = _unpack(x, self.l_channels, "OctBatchNorm2d")
        return _pack(self.bn_h(h), None if lo is None or self.bn_l is None else self.bn_l(lo))


class OctReLU(nn.Module):
    """ReLU applied to a tensor or to both parts of a ``(high, low)`` pair.

    Example:
        >>> OctReLU()((-torch.ones(1), torch.ones(1)))
        (tensor([0.]), tensor([1.]))
    """

    def forward(self, x: OctTensor) -> OctTensor:
        """Apply ReLU elementwise; shapes unchanged."""
        if isinstance(x, tuple):
            return F.relu(x[0]), F.relu(x[1])
        return F.relu(x)


def _oct_add(a: OctTensor, b: OctTensor) -> OctTensor:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return a[0] + b[0], a[1] + b[1]
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a + b
    raise InvalidArgumentError("cannot add an octave pair and a plain tensor")


class OctBottleneck(nn.Module):
    """ResNet v1.5 bottleneck built from octave convolutions.

    Args:
        in_channels: input channels (total).
        planes: 3x3 width; the block outputs ``4 * planes``.
        stride: stride of the 3x3 conv.
        alpha_in: low fraction of the input.
        alpha: low fraction inside the block.
        alpha_out: low fraction of the output.

    Example:
        >>> blk = OctBottleneck(8, 2, 1, 0.0, 0.5, 0.5)
        >>> [t.shape[1:] for t in blk(torch.zeros(1, 8, 4, 4))]
        [torch.Size([4, 4, 4]), torch.Size([4, 2, 2])]
    """

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int,
        alpha_in: float,
        alpha: float,
        alpha_out: float,
    ):
        super().__init__()
        out = planes * self.expansion
        # The first conv moves to the block's alpha; the last stage's first block therefore
        # leaves octave mode in its first 1x1 conv (alpha_in = alpha, alpha = 0).
        self.conv1 = OctConv2d(in_channels, planes, 1, alpha_in, alpha)
        self.bn1 = OctBatchNorm2d(planes, alpha)
        self.conv2 = OctConv2d(planes, planes, 3, alpha, alpha, stride=stride)
        self.bn2 = OctBatchNorm2d(planes, alpha)
        self.conv3 = OctConv2d(planes, out, 1, alpha, alpha_out)
        self.bn3 = OctBatchNorm2d(out, alpha_out)
        self.relu = OctReLU()
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != out or alpha_in != alpha_out:
            self.downsample = nn.Sequential(
                OctConv2d(in_channels, out, 1, alpha_in, alpha_out, stride=stride),
                OctBatchNorm2d(out, alpha_out),
            )

    def forward(self, x: OctTensor) -> OctTensor:
        """Map an octave map of ``in_channels`` to one of ``4 * planes`` (stride applied)."""
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(_oct_add(y, identity))


class OctResNet(nn.Module):
    """ResNet-50 layout with octave convolutions in every bottleneck (conventions §5).

    The stem is a plain conv. The first block of ``layer1`` has alpha_in = 0 (plain input),
    ``layer1``-``layer3`` run at ``alpha``, and ``layer4`` at alpha = 0 (its first block
    converts back). alpha = 0 gives a plain ResNet-50 (with different module names).

    Args:
        alpha: low-frequency fraction, in [0, 1).
        layers: blocks per stage.
        num_classes: output size.
        in_channels: input channels.

    Shapes:
        (N, in_channels, H, W) -> (N, num_classes); H, W multiples of 32.

    Example:
        >>> m = OctResNet(0.5, layers=(1, 1, 1, 1), num_classes=3)
        >>> m(torch.zeros(1, 3, 64, 64)).shape
        torch.Size([1, 3])
    """

    def __init__(
        self,
        alpha: float = 0.25,
        layers: tuple[int, int, int, int] = RESNET50_LAYERS,
        num_classes: int = 1000,
        in_channels: int = 3,
    ):
        super().__init__()
        _split(64, alpha, "alpha")
        if not isinstance(num_classes, int) or num_classes < 1:
            raise InvalidArgumentError(f"num_classes must be a positive int, got {num_classes!r}")
        self.alpha = alpha
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c = 64
        stages = []
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers)):
            a_stage = alpha if i < 3 else 0.0
            blocks = []
            for j in range(n):
                a_in = (0.0 if i == 0 else alpha) if j == 0 else a_stage
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(OctBottleneck(c, planes, stride, a_in, a_stage, a_stage))
                c = planes * 4
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (N, in_channels, H, W) to logits (N, num_classes)."""
        y: Any = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        y = self.layer4(self.layer3(self.layer2(self.layer1(y))))
        return self.fc(torch.flatten(self.avgpool(y), 1))


def _create_oct_resnet(alpha: float, layers: tuple[int, int, int, int], **kwargs: Any) -> OctResNet:
    return OctResNet(alpha, layers, **kwargs)


@register_model
def oct_resnet50(alpha: float = 0.25, num_classes: int = 1000, **kwargs: Any) -> OctResNet:
    """Oct-ResNet-50 with low-frequency fraction ``alpha``, RGB 224 x 224 input (conventions §5)."""
    return _create_oct_resnet(alpha, RESNET50_LAYERS, num_classes=num_classes, **kwargs)
