"""VGG16 with torchvision-compatible state-dict keys (``features.N``, ``classifier.N``).

``width_divisor`` divides every channel count, which is how the WAE classifier builds its
quarter-width high-frequency branch (conventions §4).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from freqpipe.errors import InvalidArgumentError
from freqpipe.models._registry import register_model
from freqpipe.models.resnet import init_weights

__all__ = ["VGG", "VGG16_CFG", "vgg16"]

#: Configuration "D" of Simonyan & Zisserman: conv widths, "M" for a 2x2 max-pool.
# The formatter is told to skip this: the paper's column D as one row (one value a line otherwise).
VGG16_CFG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
)  # fmt: skip


def make_features(cfg: tuple[int | str, ...], in_channels: int, divisor: int = 1) -> nn.Sequential:
    """Build VGG's ``features``: 3x3 conv + ReLU per number, 2x2 max-pool per ``"M"``.

    Args:
        cfg: the configuration, e.g. :data:`VGG16_CFG`.
        in_channels: input channels.
        divisor: every conv width is divided by it (1 for VGG16, 4 for a quarter-width copy).

    Returns:
        ``nn.Sequential`` with torchvision's indices (conv at 0, 2, 5, ...).

    Example:
        >>> make_features((8, "M"), 3)(torch.zeros(1, 3, 4, 4)).shape
        torch.Size([1, 8, 2, 2])
    """
    layers: list[nn.Module] = []
    c = in_channels
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            out = int(v) // divisor
            layers += [nn.Conv2d(c, out, 3, padding=1), nn.ReLU(inplace=True)]
            c = out
    return nn.Sequential(*layers)


def make_classifier(in_features: int, num_classes: int, hidden: int = 4096) -> nn.Sequential:
    """VGG's head: Linear-ReLU-Dropout twice, then Linear (torchvision indices 0, 3, 6).

    Args:
        in_features: flattened input size (512 x 7 x 7 for VGG16).
        num_classes: output size.
        hidden: width of the two hidden layers.

    Returns:
        The head.

    Example:
        >>> make_classifier(4, 3, hidden=8)(torch.zeros(2, 4)).shape
        torch.Size([2, 3])
    """
    return nn.Sequential(
        nn.Linear(in_features, hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(hidden, hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(hidden, num_classes),
    )


class VGG(nn.Module):
    """VGG without batch norm: ``features``, 7x7 adaptive ``avgpool``, ``classifier``.

    Args:
        cfg: layer configuration (default VGG16).
        num_classes: output size.
        in_channels: input channels (3 for RGB).
        width_divisor: divides every conv width and the hidden width of the head.

    Shapes:
        (N, in_channels, H, W) -> (N, num_classes); :meth:`forward_features` gives
        (N, 512 / width_divisor, H / 32, W / 32).

    Example:
        >>> m = VGG((4, "M"), num_classes=3, width_divisor=1)
        >>> m(torch.zeros(1, 3, 8, 8)).shape
        torch.Size([1, 3])
    """

    def __init__(
        self,
        cfg: tuple[int | str, ...] = VGG16_CFG,
        num_classes: int = 1000,
        in_channels: int = 3,
        width_divisor: int = 1,
    ):
        super().__init__()
        if not isinstance(width_divisor, int) or width_divisor < 1:
            raise InvalidArgumentError(f"width_divisor must be an int >= 1, got {width_divisor!r}")
        if not isinstance(num_classes, int) or num_classes < 1:
            raise InvalidArgumentError(f"num_classes must be a positive int, got {num_classes!r}")
        self.features = make_features(cfg, in_channels, width_divisor)
        self.num_features = [int(v) for v in cfg if v != "M"][-1] // width_divisor
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = make_classifier(
            self.num_features * 49, num_classes, 4096 // width_divisor
        )
        init_weights(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Map the input to the last conv block's map (N, num_features, H / 32, W / 32)."""
        return self.features(x)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """Map features (N, num_features, h, w) to logits (N, num_classes)."""
        return self.classifier(torch.flatten(self.avgpool(x), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (N, in_channels, H, W) to logits (N, num_classes)."""
        return self.forward_head(self.forward_features(x))


def _create_vgg(cfg: tuple[int | str, ...], **kwargs: Any) -> VGG:
    return VGG(cfg, **kwargs)


@register_model
def vgg16(num_classes: int = 1000, **kwargs: Any) -> VGG:
    """VGG16 (configuration D, no BN, torchvision keys), RGB 224 x 224 input."""
    return _create_vgg(VGG16_CFG, num_classes=num_classes, **kwargs)
