"""DCT-input ResNet-50: DCTNet's (Xu et al., CVPR 2020) and a Gueguen-style late concatenation.

DCTNet (conventions §3) drops ``conv1``, ``bn1``, ``relu`` and ``maxpool``: the C x 56 x 56 DCT
channels of a 448 x 448 crop go straight into ``layer1``. With C = 64 nothing else changes; with
C != 64 the first bottleneck's 1x1 ``conv1`` and its 1x1 shortcut conv take C inputs (the input
adaptation). :func:`load_rgb_resnet50` initialises such a model from an RGB ResNet-50 state dict
by slicing those two weights to their first C input channels, as DCTNet does.

The late-concatenation variant follows Gueguen et al. (NeurIPS 2018, "Faster neural networks
straight from JPEG"): the Y plane's 64 channels on the 28 x 28 block grid of a 224 crop run
through ``layer2`` (stride 1) and ``layer3`` down to 14 x 14, where the 4:2:0 chroma planes
(Cb and Cr, 128 channels at 14 x 14) are concatenated; ``layer4`` and ``fc`` follow.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from freqpipe.errors import InvalidArgumentError
from freqpipe.models._registry import register_model
from freqpipe.models.resnet import RESNET50_LAYERS, ResNet, init_weights, make_stage

__all__ = ["LateConcatResNet", "dct_resnet50", "dct_resnet50_late_concat", "load_rgb_resnet50"]

# The two layer1 weights whose input dimension is the DCT channel count.
_ADAPTED = ("layer1.0.conv1.weight", "layer1.0.downsample.0.weight")


def load_rgb_resnet50(
    model: ResNet, state_dict: Mapping[str, torch.Tensor] | str | Path
) -> list[str]:
    """Initialise a stem-less DCT ResNet-50 from an RGB ResNet-50 state dict (DCTNet slicing).

    The stem (``conv1.*``, ``bn1.*``) is dropped. The two input-adaptation weights (shape
    (out, 64, 1, 1) in the RGB model) keep their first C input channels when C <= 64; when
    C > 64 the first 64 are copied and the others start at zero, so the network initially sees
    only the first 64 channels (our choice: DCTNet publishes no rule for C > 64). ``fc`` is
    copied when its shape matches, else left as initialised.

    Args:
        model: a model from :func:`dct_resnet50` (modified in place).
        state_dict: torchvision-keyed ResNet-50 weights, or a path to a ``torch.save`` of them.

    Returns:
        The keys of ``model`` that were not filled from ``state_dict`` (``fc.*`` when the
        number of classes differs).

    Raises:
        InvalidArgumentError: a required key is missing or has an unexpected shape.

    Example:
        >>> rgb = ResNet((1, 1, 1, 1), num_classes=3, width=4)
        >>> dct = ResNet((1, 1, 1, 1), num_classes=3, width=4, in_channels=2, stem=False)
        >>> load_rgb_resnet50(dct, rgb.state_dict())
        []
        >>> bool((dct.layer1[0].conv1.weight == rgb.layer1[0].conv1.weight[:, :2]).all())
        True
    """
    source: Mapping[str, torch.Tensor] = (
        torch.load(state_dict, map_location="cpu", weights_only=True)
        if isinstance(state_dict, (str, Path))
        else state_dict
    )
    target = model.state_dict()
    missing: list[str] = []
    new: dict[str, torch.Tensor] = {}
    for key, ref in target.items():
        if key not in source:
            raise InvalidArgumentError(f"state dict has no {key!r}: not a ResNet-50 state dict?")
        src = source[key]
        if key in _ADAPTED:
            c = ref.shape[1]
            w = torch.zeros_like(ref)
            k = min(c, src.shape[1])
            w[:, :k] = src[:, :k]
            new[key] = w
        elif src.shape != ref.shape:
            if key.startswith("fc."):
                missing.append(key)
                continue
            raise InvalidArgumentError(
                f"{key}: expected shape {tuple(ref.shape)}, state dict has {tuple(src.shape)}"
            )
        else:
            new[key] = src
    model.load_state_dict(new, strict=False)
    return missing


def _create_dct_resnet(
    in_channels: int,
    num_classes: int,
    init_from: Mapping[str, torch.Tensor] | str | Path | None,
    **kwargs: Any,
) -> ResNet:
    model = ResNet(
        RESNET50_LAYERS, num_classes=num_classes, in_channels=in_channels, stem=False, **kwargs
    )
    if init_from is not None:
        load_rgb_resnet50(model, init_from)
    return model


@register_model
def dct_resnet50(
    in_channels: int = 24,
    num_classes: int = 1000,
    init_from: Mapping[str, torch.Tensor] | str | Path | None = None,
    **kwargs: Any,
) -> ResNet:
    """DCTNet's ResNet-50: C x 56 x 56 DCT channels straight into ``layer1`` (conventions §3).

    Loader: ``FreqLoader(root, select="dct24", size=448)``.
    """
    return _create_dct_resnet(in_channels, num_classes, init_from, **kwargs)


class LateConcatResNet(nn.Module):
    """ResNet-50 on separate Y and CbCr DCT tensors, chroma concatenated at 14 x 14.

    The defaults take what ``FreqLoader(chroma="separate")`` yields with its default
    selection (dct24: 16 Y channels, 4 + 4 chroma), as it comes: ``model(x)`` with ``x`` the
    loader's ``(y, cbcr)`` pair, or ``model(y, cbcr)``.

    Args:
        y_channels: Y DCT channels (16 for dct24, 64 for all frequencies).
        cbcr_channels: Cb and Cr channels together (8 for dct24, 128 for all frequencies).
        num_classes: output size.

    Shapes:
        ``forward(y, cbcr)``: y (N, y_channels, 28, 28), cbcr (N, cbcr_channels, 14, 14) for a
        224 crop with 4:2:0 chroma (any y of twice cbcr's size works) -> (N, num_classes).

    Example:
        >>> m = LateConcatResNet(4, 2, num_classes=3).eval()
        >>> m(torch.zeros(1, 4, 4, 4), torch.zeros(1, 2, 2, 2)).shape
        torch.Size([1, 3])
    """

    def __init__(self, y_channels: int = 16, cbcr_channels: int = 8, num_classes: int = 1000):
        super().__init__()
        for name, v in (
            ("y_channels", y_channels),
            ("cbcr_channels", cbcr_channels),
            ("num_classes", num_classes),
        ):
            if not isinstance(v, int) or v < 1:
                raise InvalidArgumentError(f"{name} must be a positive int, got {v!r}")
        # The raw coefficients span very different ranges per frequency; a BN per input
        # channel standardises them before the first conv (Gueguen et al. do the same).
        self.bn_y = nn.BatchNorm2d(y_channels)
        self.bn_cbcr = nn.BatchNorm2d(cbcr_channels)
        layers = RESNET50_LAYERS
        self.layer2 = make_stage(y_channels, 128, layers[1], 1)
        self.layer3 = make_stage(512, 256, layers[2], 2)
        self.layer4 = make_stage(1024 + cbcr_channels, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)
        init_weights(self)

    def forward(self, y: Any, cbcr: torch.Tensor | None = None) -> torch.Tensor:
        """Map Y (N, Cy, 2h, 2w) and CbCr (N, Cc, h, w) to logits (N, num_classes).

        ``y`` may be the loader's ``(y, cbcr)`` pair, with ``cbcr`` left out.
        """
        if cbcr is None:
            if not isinstance(y, (tuple, list)) or len(y) != 2:
                raise InvalidArgumentError(
                    "pass (y, cbcr), the batch FreqLoader(chroma='separate') yields, or y and "
                    f"cbcr as two arguments; got one {type(y).__name__}"
                )
            y, cbcr = y
        f = self.layer3(self.layer2(self.bn_y(y)))
        if f.shape[-2:] != cbcr.shape[-2:]:
            raise InvalidArgumentError(
                f"Y {tuple(y.shape)} reaches {tuple(f.shape[-2:])} at the concatenation but "
                f"CbCr is {tuple(cbcr.shape)}; CbCr must be half Y's size (4:2:0)"
            )
        f = self.layer4(torch.cat([f, self.bn_cbcr(cbcr)], 1))
        return self.fc(torch.flatten(self.avgpool(f), 1))


@register_model
def dct_resnet50_late_concat(
    y_channels: int = 16, cbcr_channels: int = 8, num_classes: int = 1000
) -> LateConcatResNet:
    """Gueguen-style ResNet-50: Y 28 x 28 and CbCr 14 x 14, concatenated before ``layer4``.

    Loader: ``FreqLoader(root, chroma="separate", size=224)``.
    """
    return LateConcatResNet(y_channels, cbcr_channels, num_classes)
