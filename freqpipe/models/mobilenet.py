"""MobileNetV2 with torchvision-compatible state-dict keys (``features.N.conv.M``...).

``stem=False`` removes ``features.0`` (the stride-2 3x3 conv) and feeds the input straight
into the first inverted residual: DCTNet's MobileNetV2-DCT (conventions §3), see
:mod:`freqpipe.models.mobilenet_dct`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from freqpipe.errors import InvalidArgumentError
from freqpipe.models._registry import register_model
from freqpipe.models.resnet import init_weights

__all__ = ["InvertedResidual", "MobileNetV2", "mobilenet_v2"]

#: (expansion t, output channels c, repeats n, first stride s) of Sandler et al., Table 2.
MOBILENET_V2_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def _conv_bn_act(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Module:
    # torchvision's Conv2dNormActivation: keys "0" (conv) and "1" (BN), ReLU6 at "2".
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise 3x3 -> linear projection (1x1), residual when shapes match.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the depthwise conv (1 or 2).
        expand_ratio: hidden width = ``round(in_channels * expand_ratio)``; 1 skips the expansion.

    Example:
        >>> InvertedResidual(8, 8, 1, 6)(torch.zeros(1, 8, 4, 4)).shape
        torch.Size([1, 8, 4, 4])
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden = round(in_channels * expand_ratio)
        self.use_res_connect = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(_conv_bn_act(in_channels, hidden, 1))
        layers += [
            _conv_bn_act(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (N, in_channels, H, W) to (N, out_channels, H / stride, W / stride)."""
        y = self.conv(x)
        return x + y if self.use_res_connect else y


class MobileNetV2(nn.Module):
    """MobileNetV2 (width 1.0): ``features`` (stem, 17 inverted residuals, 1x1 to 1280), head.

    Args:
        num_classes: output size.
        in_channels: input channels (3 for RGB; the DCT channel count without a stem).
        stem: keep ``features.0``; without it ``features.0`` is an ``nn.Identity`` (so the
            other keys keep torchvision's indices) and ``features.1`` takes ``in_channels``.
        dropout: dropout before the classifier.

    Shapes:
        (N, in_channels, H, W) -> (N, num_classes); features are (N, 1280, H / 32, W / 32)
        with a stem, (N, 1280, H / 16, W / 16) without.

    Example:
        >>> MobileNetV2(num_classes=4).eval()(torch.zeros(1, 3, 32, 32)).shape
        torch.Size([1, 4])
    """

    def __init__(
        self, num_classes: int = 1000, in_channels: int = 3, stem: bool = True, dropout: float = 0.2
    ):
        super().__init__()
        for name, v in (("num_classes", num_classes), ("in_channels", in_channels)):
            if not isinstance(v, int) or v < 1:
                raise InvalidArgumentError(f"{name} must be a positive int, got {v!r}")
        features: list[nn.Module] = [_conv_bn_act(in_channels, 32, 3, 2) if stem else nn.Identity()]
        c = 32 if stem else in_channels
        for t, out, n, s in MOBILENET_V2_SETTINGS:
            for i in range(n):
                features.append(InvertedResidual(c, out, s if i == 0 else 1, t))
                c = out
        self.num_features = 1280
        features.append(_conv_bn_act(c, self.num_features, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1280, num_classes))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (N, in_channels, H, W) to logits (N, num_classes)."""
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


def _create_mobilenet_v2(**kwargs: Any) -> MobileNetV2:
    return MobileNetV2(**kwargs)


@register_model
def mobilenet_v2(num_classes: int = 1000, **kwargs: Any) -> MobileNetV2:
    """MobileNetV2 1.0 (torchvision keys), RGB 224 x 224 input."""
    return _create_mobilenet_v2(num_classes=num_classes, **kwargs)
