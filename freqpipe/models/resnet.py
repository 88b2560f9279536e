"""ResNet-50 with torchvision-compatible state-dict keys (``conv1``, ``layer1.0.conv2``...).

torchvision is not a dependency (DESIGN.md); this definition follows the ResNet v1.5 layout
(stride on the 3x3 conv of each bottleneck) so that ``torchvision.models.resnet50`` weights
load with ``load_state_dict(..., strict=True)``. ``width`` scales every channel count, which is
how the WAE classifier builds its quarter-width high-frequency branch (conventions §4).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from freqpipe.errors import InvalidArgumentError
from freqpipe.models._registry import register_model

__all__ = ["Bottleneck", "ResNet", "make_stage", "resnet50"]

#: Blocks per stage of ResNet-50.
RESNET50_LAYERS = (3, 4, 6, 3)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride here, v1.5) -> 1x1 bottleneck with an optional projection shortcut.

    Args:
        in_channels: input channels.
        planes: width of the 3x3 conv; the block outputs ``4 * planes`` channels.
        stride: stride of the 3x3 conv (1 or 2).
        downsample: shortcut projection (``conv 1x1 + BN``) when shape changes, else None.

    Example:
        >>> Bottleneck(8, 2)(torch.zeros(1, 8, 4, 4)).shape
        torch.Size([1, 8, 4, 4])
    """

    expansion = 4

    def __init__(
        self, in_channels: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (N, in_channels, H, W) to (N, 4 * planes, H / stride, W / stride)."""
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + identity)


def make_stage(in_channels: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
    """Build one ResNet stage (``layerN``): ``blocks`` bottlenecks, the first one projecting.

    Args:
        in_channels: input channels of the stage.
        planes: bottleneck width; the stage outputs ``4 * planes`` channels.
        blocks: number of bottlenecks.
        stride: stride of the first block.

    Returns:
        ``nn.Sequential`` of :class:`Bottleneck` (keys ``0.conv1.weight``, ``0.downsample.0``...).

    Example:
        >>> make_stage(4, 2, 2, 2)(torch.zeros(1, 4, 8, 8)).shape
        torch.Size([1, 8, 4, 4])
    """
    out = planes * Bottleneck.expansion
    downsample = None
    if stride != 1 or in_channels != out:
        downsample = nn.Sequential(
            nn.Conv2d(in_channels, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out)
        )
    layers = [Bottleneck(in_channels, planes, stride, downsample)]
    layers += [Bottleneck(out, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


def init_weights(module: nn.Module) -> None:
    """Torchvision's initialisation: Kaiming-normal convs (fan_out), BN 1/0, Linear N(0, 0.01).

    Args:
        module: initialised in place, recursively.

    Example:
        >>> init_weights(nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2)))
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


class ResNet(nn.Module):
    """Bottleneck ResNet (v1.5) with torchvision's module names.

    Args:
        layers: blocks per stage, ``(3, 4, 6, 3)`` for ResNet-50.
        num_classes: size of the ``fc`` output.
        in_channels: input channels of the stem (3 for RGB).
        width: channel count of the stem and of the first stage's bottleneck (64 in the paper;
            16 for the WAE's quarter-width branch); later stages double it.
        stem: keep ``conv1``/``bn1``/``relu``/``maxpool``. Without a stem the input goes
            straight into ``layer1`` with ``in_channels`` channels (DCTNet, conventions §3).

    Shapes:
        (N, in_channels, H, W) -> (N, num_classes); :meth:`forward_features` gives
        (N, 32 * width, H / 32, W / 32) with a stem, (N, 32 * width, H / 8, W / 8) without.

    Example:
        >>> m = ResNet((1, 1, 1, 1), num_classes=5, width=4)
        >>> m(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 5])
    """

    def __init__(
        self,
        layers: tuple[int, int, int, int] = RESNET50_LAYERS,
        num_classes: int = 1000,
        in_channels: int = 3,
        width: int = 64,
        stem: bool = True,
    ):
        super().__init__()
        for name, v in (
            ("num_classes", num_classes),
            ("in_channels", in_channels),
            ("width", width),
        ):
            if not isinstance(v, int) or v < 1:
                raise InvalidArgumentError(f"{name} must be a positive int, got {v!r}")
        self.num_features = width * 8 * Bottleneck.expansion
        if stem:
            self.conv1: nn.Module = nn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
            self.bn1: nn.Module = nn.BatchNorm2d(width)
            self.relu: nn.Module = nn.ReLU(inplace=True)
            self.maxpool: nn.Module = nn.MaxPool2d(3, 2, 1)
            stage_in = width
        else:
            # Identity modules carry no parameters, so the state-dict keys are torchvision's
            # minus conv1/bn1 (what DCTNet's checkpoints look like).
            self.conv1 = self.bn1 = self.relu = self.maxpool = nn.Identity()
            stage_in = in_channels
        self.layer1 = make_stage(stage_in, width, layers[0], 1)
        self.layer2 = make_stage(width * 4, width * 2, layers[1], 2)
        self.layer3 = make_stage(width * 8, width * 4, layers[2], 2)
        self.layer4 = make_stage(width * 16, width * 8, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.num_features, num_classes)
        init_weights(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Map the input to the last stage's feature map (N, 32 * width, h, w)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """Map features (N, 32 * width, h, w) to logits (N, num_classes)."""
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (N, in_channels, H, W) to logits (N, num_classes)."""
        return self.forward_head(self.forward_features(x))


def _create_resnet(layers: tuple[int, int, int, int], **kwargs: Any) -> ResNet:
    return ResNet(layers, **kwargs)


@register_model
def resnet50(num_classes: int = 1000, **kwargs: Any) -> ResNet:
    """ResNet-50 (v1.5, torchvision keys), RGB 224 x 224 input."""
    return _create_resnet(RESNET50_LAYERS, num_classes=num_classes, **kwargs)
