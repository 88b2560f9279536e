"""The WAE paper's "Wavelet+CNN" baseline (conventions §4): a fixed CDF 9/7 DWT instead of the WAE.

The approximation cA (3 colour channels) feeds the standard network and the three detail
subbands cH, cV, cD (9 channels) the quarter-width one. The model takes the subbands already
computed, as a tensor, so it stays torch-only: run ``freqpipe.transforms.dwt2(x, "bior4.4")``
(CPU or GPU) and :func:`freqpipe.transforms.stack_subbands`, then reshape (N, 3, 4, h, w) to
(N, 12, h, w): channel ``4 * colour + band`` with bands in the order A, H, V, D.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from freqpipe.errors import InvalidArgumentError
from freqpipe.models._registry import register_model
from freqpipe.models.wae import DualBranchClassifier

__all__ = ["WaveletCNN", "split_subbands"]


def split_subbands(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split colour-major stacked subbands (N, 4C, h, w) into cA (N, C) and details (N, 3C).

    Args:
        x: (N, 4 C, h, w), channel ``4 c + b`` holding band b (A, H, V, D) of colour c.

    Returns:
        ``(cA (N, C, h, w), details (N, 3 C, h, w))``, details ordered colour-major.

    Raises:
        InvalidArgumentError: the channel count is not a multiple of 4.

    Example:
        >>> a, d = split_subbands(torch.arange(12.0).view(1, 12, 1, 1))
        >>> a.flatten().tolist(), d.flatten().tolist()[:4]
        ([0.0, 4.0, 8.0], [1.0, 2.0, 3.0, 5.0])
    """
    if x.ndim != 4 or x.shape[1] % 4:
        raise InvalidArgumentError(f"expected (N, 4C, h, w) stacked subbands, got {tuple(x.shape)}")
    n, c4, h, w = x.shape
    bands = x.view(n, c4 // 4, 4, h, w)
    return bands[:, :, 0], bands[:, :, 1:].reshape(n, 3 * (c4 // 4), h, w)


class WaveletCNN(nn.Module):
    """Wavelet+CNN: cA into the standard network, cH/cV/cD into the quarter-width branch.

    Args:
        backbone: ``"vgg16"`` or ``"resnet50"``.
        num_classes: output size.
        in_channels: colour channels of the transformed image (3).

    Shapes:
        (N, 4 in_channels, H/2, W/2) stacked subbands (module docstring) -> (N, num_classes).

    Example:
        >>> import numpy as np
        >>> from freqpipe.transforms import dwt2, stack_subbands
        >>> img = np.zeros((1, 3, 64, 64), np.float32)
        >>> x = torch.from_numpy(stack_subbands(dwt2(img, "bior4.4"))).flatten(1, 2)
        >>> x.shape
        torch.Size([1, 12, 32, 32])
        >>> WaveletCNN("resnet50", num_classes=5).eval()(x).shape
        torch.Size([1, 5])
    """

    def __init__(self, backbone: str = "vgg16", num_classes: int = 1000, in_channels: int = 3):
        super().__init__()
        if not isinstance(in_channels, int) or in_channels < 1:
            raise InvalidArgumentError(f"in_channels must be a positive int, got {in_channels!r}")
        self.in_channels = in_channels
        self.classifier = DualBranchClassifier(
            backbone, num_classes, low_channels=in_channels, high_channels=3 * in_channels
        )

    def forward_all(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(s_low, s_fused)`` for stacked subbands; train on the sum of both CEs."""
        if x.ndim != 4 or x.shape[1] != 4 * self.in_channels:
            raise InvalidArgumentError(
                f"expected (N, {4 * self.in_channels}, h, w) stacked subbands, got {tuple(x.shape)}"
            )
        return self.classifier(*split_subbands(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map stacked subbands (N, 4C, h, w) to logits (N, num_classes), the heads' average."""
        s_low, s_fused = self.forward_all(x)
        return (s_low + s_fused) / 2


@register_model
def wavelet_cnn_vgg16(num_classes: int = 1000, **kwargs: Any) -> WaveletCNN:
    """Wavelet+CNN with VGG16: bior4.4 subbands (N, 12, 112, 112) of a 224 image.

    Loader: ``FreqLoader(root, output="dwt", wavelet="bior4.4", size=224)``.
    """
    return WaveletCNN("vgg16", num_classes=num_classes, **kwargs)


@register_model
def wavelet_cnn_resnet50(num_classes: int = 1000, **kwargs: Any) -> WaveletCNN:
    """Wavelet+CNN with ResNet-50: bior4.4 subbands (N, 12, 112, 112) of a 224 image.

    Loader: ``FreqLoader(root, output="dwt", wavelet="bior4.4", size=224)``.
    """
    return WaveletCNN("resnet50", num_classes=num_classes, **kwargs)
