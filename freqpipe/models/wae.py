"""Wavelet-like Auto-Encoder and its two-branch classifier (Chen et al., AAAI 2018; conventions §4).

The WAE encoder splits an image I (N, 3, H, W) into two half-resolution images: I_L, which
carries the content and feeds a standard network, and I_H, which the transform loss
``L_t = ||I - I'||^2 + lambda ||I_H||^2`` drives towards low energy and which feeds a copy of
the network with every channel count divided by 4. The classifier scores ``s_L`` from the
low branch's features f_L alone and ``s_c`` from ``concat(f_L, f_H)``; the prediction is their
average (the paper's text; the released model sums them, which has the same arg-max) and the
loss is the sum of both cross-entropies. At 224 x 224 the low branch costs 1/4 of the plain
network and the high branch 1/64: the 1/(1/4 + 1/64) = 3.76x bound of the paper.

Three-stage training (WAE alone, classifier on a frozen WAE, joint with L_c + 0.001 L_t) is
in :mod:`freqpipe.models.wae_train`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from freqpipe.errors import InvalidArgumentError
from freqpipe.models._registry import register_model
from freqpipe.models.resnet import ResNet, init_weights
from freqpipe.models.vgg import VGG, VGG16_CFG, make_classifier, make_features

__all__ = ["BACKBONES", "WAE", "DualBranchClassifier", "WAEClassifier", "WAEOutput"]

#: Backbones the two-branch classifiers accept.
BACKBONES = ("vgg16", "resnet50")


def _conv3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


def _decoder_branch(channels: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(channels, hidden, 4, stride=2, padding=1),
        nn.ReLU(inplace=True),
        _conv3(hidden, hidden),
        nn.ReLU(inplace=True),
        _conv3(hidden, hidden),
        nn.ReLU(inplace=True),
        _conv3(hidden, channels),
    )


class WAE(nn.Module):
    """Wavelet-like auto-encoder: I -> (I_L, I_H) at half resolution -> reconstruction I'.

    Encoder: three 3x3 convs (``hidden`` channels, ReLU), then two parallel 3x3 stride-2 convs
    without activation to I_L and I_H. Decoder: two branches, each a 4x4 stride-2 transposed
    conv and three 3x3 convs; I' = branch_L(I_L) + branch_H(I_H).

    Args:
        in_channels: image channels (3).
        hidden: intermediate channels (16 in the paper).
        lam: weight lambda of ``||I_H||^2`` in the transform loss (1 in the paper).

    Shapes:
        ``encode``: (N, C, H, W) -> two (N, C, H/2, W/2); ``decode``: the reverse;
        ``forward``: ``(I_L, I_H, I')``. H and W even.

    Example:
        >>> wae = WAE()
        >>> il, ih, rec = wae(torch.zeros(1, 3, 8, 8))
        >>> il.shape, rec.shape
        (torch.Size([1, 3, 4, 4]), torch.Size([1, 3, 8, 8]))
    """

    def __init__(self, in_channels: int = 3, hidden: int = 16, lam: float = 1.0):
        super().__init__()
        if not lam >= 0:
            raise InvalidArgumentError(f"lam must be >= 0, got {lam!r}")
        self.lam = float(lam)
        self.encoder = nn.Sequential(
            _conv3(in_channels, hidden),
            nn.ReLU(inplace=True),
            _conv3(hidden, hidden),
            nn.ReLU(inplace=True),
            _conv3(hidden, hidden),
            nn.ReLU(inplace=True),
        )
        self.to_low = _conv3(hidden, in_channels, stride=2)
        self.to_high = _conv3(hidden, in_channels, stride=2)
        self.decoder_low = _decoder_branch(in_channels, hidden)
        self.decoder_high = _decoder_branch(in_channels, hidden)
        init_weights(self)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Split (N, C, H, W) into ``(I_L, I_H)``, each (N, C, H/2, W/2)."""
        if x.ndim != 4 or x.shape[-1] % 2 or x.shape[-2] % 2:
            raise InvalidArgumentError(
                f"expected (N, C, H, W) with H, W even, got {tuple(x.shape)}"
            )
        f = self.encoder(x)
        return self.to_low(f), self.to_high(f)

    def decode(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        """Reconstruct (N, C, H, W) from I_L and I_H (N, C, H/2, W/2)."""
        return self.decoder_low(low) + self.decoder_high(high)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(I_L, I_H, I')`` for an image batch (N, C, H, W)."""
        low, high = self.encode(x)
        return low, high, self.decode(low, high)

    def transform_loss(
        self, x: torch.Tensor, high: torch.Tensor, recon: torch.Tensor
    ) -> torch.Tensor:
        """``L_t = mean((I - I')^2) + lam * mean(I_H^2)``: a scalar.

        Means over elements stand in for the paper's squared norms (a constant factor) so that
        lambda = 1 balances the two terms whatever the image size.

        Example:
            >>> wae = WAE()
            >>> x = torch.zeros(1, 3, 4, 4)
            >>> float(wae.transform_loss(x, torch.ones(1, 3, 2, 2), x))
            1.0
        """
        return F.mse_loss(recon, x) + self.lam * high.pow(2).mean()


class DualBranchClassifier(nn.Module):
    """A standard network on a low-frequency image and a quarter-width copy on the details.

    ``s_low`` comes from the low branch's own head on f_L; ``s_fused`` from a head of the same
    kind on ``concat(f_L, f_H)`` (VGG: 7x7 pool + three FC layers; ResNet: global pool + FC).
    The low branch keeps torchvision's key names under ``low.``, so RGB weights load into it.

    Args:
        backbone: ``"vgg16"`` or ``"resnet50"``.
        num_classes: output size.
        low_channels: channels of the low-frequency input (3).
        high_channels: channels of the high-frequency input (3 for I_H, 9 for cH, cV, cD).

    Shapes:
        ``forward(low, high)``: (N, low_channels, h, w), (N, high_channels, h, w) ->
        ``(s_low, s_fused)``, each (N, num_classes).

    Example:
        >>> m = DualBranchClassifier("resnet50", num_classes=4).eval()
        >>> [s.shape for s in m(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 32))]
        [torch.Size([1, 4]), torch.Size([1, 4])]
    """

    def __init__(
        self,
        backbone: str = "vgg16",
        num_classes: int = 1000,
        low_channels: int = 3,
        high_channels: int = 3,
    ):
        super().__init__()
        if backbone not in BACKBONES:
            raise InvalidArgumentError(
                f"backbone must be one of {', '.join(BACKBONES)}, got {backbone!r}"
            )
        self.backbone = backbone
        self.high: nn.Module
        self.fused_head: nn.Module
        if backbone == "vgg16":
            self.low: VGG | ResNet = VGG(num_classes=num_classes, in_channels=low_channels)
            self.high = make_features(VGG16_CFG, high_channels, divisor=4)
            fused = self.low.num_features + self.low.num_features // 4
            self.fused_head = nn.Sequential(
                nn.AdaptiveAvgPool2d((7, 7)),
                nn.Flatten(1),
                make_classifier(fused * 49, num_classes),
            )
        else:
            self.low = ResNet(num_classes=num_classes, in_channels=low_channels)
            high = ResNet(num_classes=1, in_channels=high_channels, width=16)
            high.fc = nn.Identity()  # type: ignore[assignment]  # only its features are used
            self.high = high
            fused = self.low.num_features + high.num_features
            self.fused_head = nn.Sequential(
                nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(fused, num_classes)
            )
        init_weights(self.fused_head)

    def _high_features(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(self.high, ResNet):
            return self.high.forward_features(x)
        return self.high(x)

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(s_low, s_fused)`` logits for the two inputs."""
        f_low = self.low.forward_features(low)
        f_high = self._high_features(high)
        if f_low.shape[-2:] != f_high.shape[-2:]:
            raise InvalidArgumentError(
                f"low {tuple(low.shape)} and high {tuple(high.shape)} inputs give feature maps "
                f"of different sizes {tuple(f_low.shape)} vs {tuple(f_high.shape)}"
            )
        return self.low.forward_head(f_low), self.fused_head(torch.cat([f_low, f_high], 1))


class WAEOutput(NamedTuple):
    """Everything one training step of :class:`WAEClassifier` needs.

    Attributes:
        logits: final score, the average of the two heads (N, K).
        s_low: score from f_L alone (N, K).
        s_fused: score from concat(f_L, f_H) (N, K).
        low: I_L (N, 3, H/2, W/2).
        high: I_H (N, 3, H/2, W/2).
        recon: I' (N, 3, H, W), or None when not requested.
    """

    logits: torch.Tensor
    s_low: torch.Tensor
    s_fused: torch.Tensor
    low: torch.Tensor
    high: torch.Tensor
    recon: torch.Tensor | None


class WAEClassifier(nn.Module):
    """WAE front end + :class:`DualBranchClassifier` (the paper's WAE-VGG16 / WAE-ResNet-50).

    Args:
        backbone: ``"vgg16"`` or ``"resnet50"``.
        num_classes: output size.
        wae: a (pre-trained) :class:`WAE`; a new one by default.

    Shapes:
        (N, 3, H, W), H and W even -> logits (N, num_classes); the networks see H/2 x W/2.

    Example:
        >>> m = WAEClassifier("resnet50", num_classes=5).eval()
        >>> m(torch.zeros(1, 3, 64, 64)).shape
        torch.Size([1, 5])
    """

    def __init__(self, backbone: str = "vgg16", num_classes: int = 1000, wae: WAE | None = None):
        super().__init__()
        self.wae = wae if wae is not None else WAE()
        self.classifier = DualBranchClassifier(backbone, num_classes)

    def forward_all(self, x: torch.Tensor, reconstruct: bool = True) -> WAEOutput:
        """Run everything; ``reconstruct`` also decodes I' (needed for the transform loss)."""
        low, high = self.wae.encode(x)
        s_low, s_fused = self.classifier(low, high)
        recon = self.wae.decode(low, high) if reconstruct else None
        return WAEOutput((s_low + s_fused) / 2, s_low, s_fused, low, high, recon)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images (N, 3, H, W) to logits (N, num_classes); the decoder is not run."""
        return self.forward_all(x, reconstruct=False).logits

    @staticmethod
    def classification_loss(out: WAEOutput, target: torch.Tensor) -> torch.Tensor:
        """``L_c``: the sum of the two heads' cross-entropies, a scalar.

        Example:
            >>> z = torch.zeros(2, 4)
            >>> out = WAEOutput(z, z, z, z, z, None)
            >>> round(float(WAEClassifier.classification_loss(out, torch.tensor([0, 1]))), 4)
            2.7726
        """
        return F.cross_entropy(out.s_low, target) + F.cross_entropy(out.s_fused, target)


@register_model
def wae_autoencoder(**kwargs: Any) -> WAE:
    """The Wavelet-like Auto-Encoder alone (conventions §4)."""
    return WAE(**kwargs)


@register_model
def wae_vgg16(num_classes: int = 1000, **kwargs: Any) -> WAEClassifier:
    """WAE-VGG16: VGG16 on I_L, quarter-width VGG16 on I_H, RGB 224 x 224 input."""
    return WAEClassifier("vgg16", num_classes=num_classes, **kwargs)


@register_model
def wae_resnet50(num_classes: int = 1000, **kwargs: Any) -> WAEClassifier:
    """WAE-ResNet-50: ResNet-50 on I_L, quarter-width ResNet-50 on I_H, RGB 224 x 224 input."""
    return WAEClassifier("resnet50", num_classes=num_classes, **kwargs)
