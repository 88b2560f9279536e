"""Regularising transforms on rendered coefficient batches: RandomErasing, MixUp, CutMix."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms._dct_batch import AnyBatch

__all__ = ["CutMix", "MixUp", "RandomErasing"]


class RandomErasing:
    """torchvision's ``RandomErasing(p, scale, ratio, value)`` at block granularity.

    The rectangle is drawn by torchvision's algorithm on the output's block grid (each
    block one "pixel"), and its blocks are set to ``value`` in every channel of the
    normalised output, as torchvision erases the normalised tensor (0 is the mean).

    Example:
        >>> RandomErasing().scale
        (0.02, 0.33)
    """

    def __init__(
        self,
        p: float = 0.5,
        scale: tuple[float, float] = (0.02, 0.33),
        ratio: tuple[float, float] = (0.3, 3.3),
        value: float = 0.0,
    ) -> None:
        if not 0.0 <= p <= 1.0:
            raise InvalidArgumentError(f"p must be in [0, 1], got {p}", value=p)
        self.p, self.scale, self.ratio, self.value = p, tuple(scale), tuple(ratio), float(value)

    def get_params(self, rng: np.random.Generator, height: int, width: int) -> Any:
        """``(top, left, h, w)`` in blocks, or ``None`` when nothing fits in 10 tries."""
        area = height * width
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        for _ in range(10):
            target = area * float(rng.uniform(self.scale[0], self.scale[1]))
            aspect = math.exp(float(rng.uniform(log_lo, log_hi)))
            h = round(math.sqrt(target * aspect))
            w = round(math.sqrt(target / aspect))
            if h < height and w < width:
                top = int(rng.integers(0, height - h + 1))
                left = int(rng.integers(0, width - w + 1))
                return top, left, h, w
        return None

    def __call__(self, batch: AnyBatch) -> AnyBatch:
        grid = batch.block_grid
        if grid is None:  # a geometry without coefficients: the worker's probe
            raise InvalidArgumentError(
                "RandomErasing before the output size is known: put it after "
                "RandomResizedCrop or CenterCrop"
            )
        hb, wb = grid
        for i, rng in enumerate(batch.rngs):
            if rng.random() < self.p:
                batch.erase[i] = self.get_params(rng, hb, wb)
        batch.erase_value = self.value
        return batch

    def __repr__(self) -> str:
        return f"RandomErasing(p={self.p}, scale={self.scale}, ratio={self.ratio})"


def _soft_labels(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    if y.ndim == 1:
        return torch.nn.functional.one_hot(y.long(), num_classes).to(torch.float32)
    return y.to(torch.float32)


class MixUp:
    """torchvision v2's ``MixUp(alpha, num_classes)`` on a batch of DCT channels.

    The DCT is linear, so mixing coefficients is mixing the images. Pairs each sample with
    the next one (``roll(1)``), ``lambda ~ Beta(alpha, alpha)`` once per batch.

    Example:
        >>> x, y = torch.ones(4, 2, 3, 3), torch.tensor([0, 1, 2, 3])
        >>> xm, ym = MixUp(num_classes=4)(x, y, rng=np.random.default_rng(0))
        >>> tuple(ym.shape), bool(torch.allclose(ym.sum(1), torch.ones(4)))
        ((4, 4), True)
    """

    def __init__(self, *, alpha: float = 1.0, num_classes: int) -> None:
        if alpha <= 0 or num_classes < 1:
            raise InvalidArgumentError(f"need alpha > 0 and num_classes >= 1, got {alpha}")
        self.alpha, self.num_classes = float(alpha), int(num_classes)

    def __call__(
        self, x: torch.Tensor, y: torch.Tensor, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        lam = float(rng.beta(self.alpha, self.alpha))
        soft = _soft_labels(y, self.num_classes)
        return lam * x + (1 - lam) * x.roll(1, 0), lam * soft + (1 - lam) * soft.roll(1, 0)


class CutMix:
    """torchvision v2's ``CutMix(alpha, num_classes)`` with the box on the block grid.

    The pasted rectangle is whole 8x8 blocks, so it is exactly the DCT of a pixel-domain
    CutMix whose box is aligned to blocks; the label weight is the area actually kept.

    Example:
        >>> x, y = torch.zeros(2, 1, 4, 4), torch.tensor([0, 1])
        >>> _, ym = CutMix(num_classes=2)(x, y, rng=np.random.default_rng(1))
        >>> bool(torch.allclose(ym.sum(1), torch.ones(2)))
        True
    """

    def __init__(self, *, alpha: float = 1.0, num_classes: int) -> None:
        if alpha <= 0 or num_classes < 1:
            raise InvalidArgumentError(f"need alpha > 0 and num_classes >= 1, got {alpha}")
        self.alpha, self.num_classes = float(alpha), int(num_classes)

    def box(self, rng: np.random.Generator, height: int, width: int) -> tuple[int, ...]:
        """``(top, left, bottom, right)`` in blocks, drawn as torchvision v2's CutMix."""
        lam = float(rng.beta(self.alpha, self.alpha))
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = math.sqrt(1.0 - lam)
        half_h, half_w = int(r * height / 2), int(r * width / 2)
        return (
            max(cy - half_h, 0),
            max(cx - half_w, 0),
            min(cy + half_h, height),
            min(cx + half_w, width),
        )

    def __call__(
        self, x: torch.Tensor, y: torch.Tensor, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = x.shape[-2:]
        top, left, bottom, right = self.box(rng, int(height), int(width))
        out = x.clone()
        out[..., top:bottom, left:right] = x.roll(1, 0)[..., top:bottom, left:right]
        kept = 1.0 - (bottom - top) * (right - left) / float(height * width)
        soft = _soft_labels(y, self.num_classes)
        return out, kept * soft + (1 - kept) * soft.roll(1, 0)
