"""DCTNet's MobileNetV2-DCT (conventions §3): no stem, C x 112 x 112 DCT channels (896 crop)."""

from __future__ import annotations

from typing import Any

from freqpipe.models._registry import register_model
from freqpipe.models.mobilenet import MobileNetV2

__all__ = ["mobilenet_v2_dct"]


def _create_mobilenet_v2_dct(in_channels: int, num_classes: int, **kwargs: Any) -> MobileNetV2:
    # Without features.0 the first inverted residual (t = 1: depthwise 3x3 then 1x1 to 16)
    # takes the C DCT channels at 112 x 112, where RGB MobileNetV2 has 32 channels after its
    # stride-2 stem: every later feature map keeps its RGB size.
    return MobileNetV2(num_classes=num_classes, in_channels=in_channels, stem=False, **kwargs)


@register_model
def mobilenet_v2_dct(in_channels: int = 24, num_classes: int = 1000, **kwargs: Any) -> MobileNetV2:
    """DCTNet's MobileNetV2: C x 112 x 112 DCT input, no stem (conventions §3).

    Loader: ``FreqLoader(root, select="dct24", size=896)``.
    """
    return _create_mobilenet_v2_dct(in_channels, num_classes, **kwargs)
