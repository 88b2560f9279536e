"""Colour transforms of coefficient batches: per-image affine maps of YCbCr (conventions §2).

torchvision's brightness, contrast, saturation and grayscale are affine in RGB, hence in YCbCr;
each is recorded as an update of the map a render applies frequency by frequency.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms._dct_batch import AnyBatch

__all__ = ["ColorJitter", "RandomGrayscale", "brightness_op", "contrast_op", "saturation_op"]

# torchvision's rgb_to_grayscale weights (not quite the JFIF luma weights of conventions §2)
_GRAY_RGB = np.array([0.2989, 0.587, 0.114])
# centred YCbCr (Y - 128, Cb - 128, Cr - 128) -> RGB - 128 (conventions §2, JFIF full range)
_YCC_TO_RGB = np.array([[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]])
# gray(RGB) = _GRAY_YCC . centred YCbCr + _GRAY_OFFSET
_GRAY_YCC = _GRAY_RGB @ _YCC_TO_RGB
_GRAY_OFFSET = 128.0 * _GRAY_RGB.sum()


def brightness_op(factor: np.ndarray) -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    """Torchvision ``adjust_brightness`` (RGB times ``factor``) as a colour-map update."""

    def op(m: np.ndarray, o: np.ndarray, means: np.ndarray) -> None:
        # RGB' = b RGB: centred Y' = b Y + 128 (b - 1), chroma scales by b
        m *= factor[:, None, None]
        o *= factor[:, None]
        o[:, 0] += 128.0 * (factor - 1.0)

    return op


def contrast_op(factor: np.ndarray) -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    """Torchvision ``adjust_contrast``: blend with the image's mean gray level."""

    def op(m: np.ndarray, o: np.ndarray, means: np.ndarray) -> None:
        current = np.einsum("npq,nq->np", m, means) + o  # mean centred YCbCr so far
        gray = current @ _GRAY_YCC + _GRAY_OFFSET
        # RGB' = c RGB + (1 - c) gray: centred Y' = c Y + (1 - c)(gray - 128), chroma by c
        m *= factor[:, None, None]
        o *= factor[:, None]
        o[:, 0] += (1.0 - factor) * (gray - 128.0)

    return op


def saturation_op(factor: np.ndarray) -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    """Torchvision ``adjust_saturation``: blend each pixel with its own gray level."""

    def op(m: np.ndarray, o: np.ndarray, means: np.ndarray) -> None:
        # RGB' = s RGB + (1 - s) gray(RGB) 1; gray(RGB) 1 in centred YCbCr is gray - 128 on Y
        to_gray = np.zeros((3, 3))
        to_gray[0] = _GRAY_YCC
        blend = factor[:, None, None] * np.eye(3) + (1.0 - factor)[:, None, None] * to_gray
        o[:] = np.einsum("npq,nq->np", blend, o)
        o[:, 0] += (1.0 - factor) * (_GRAY_OFFSET - 128.0)
        m[:] = np.einsum("npq,nqr->npr", blend, m)

    return op


class ColorJitter:
    """torchvision's ``ColorJitter(brightness, contrast, saturation)``; no hue.

    Factors are drawn per image uniformly from ``[max(0, 1 - v), 1 + v]`` (or the given
    ``(min, max)``) and applied in a random order, as torchvision does. Hue is a rotation in
    RGB's hue circle, not an affine map of YCbCr, so it is not offered.

    Example:
        >>> ColorJitter(0.4, 0.4, 0.4).brightness
        (0.6, 1.4)
    """

    def __init__(
        self,
        brightness: float | tuple[float, float] = 0,
        contrast: float | tuple[float, float] = 0,
        saturation: float | tuple[float, float] = 0,
        hue: float = 0,
    ) -> None:
        if hue:
            raise InvalidArgumentError(
                "hue jitter is not an affine map of YCbCr and has no exact DCT-domain form",
                value=hue,
            )
        self.brightness = self._range(brightness, "brightness")
        self.contrast = self._range(contrast, "contrast")
        self.saturation = self._range(saturation, "saturation")

    @staticmethod
    def _range(value: float | tuple[float, float], name: str) -> tuple[float, float] | None:
        if isinstance(value, (int, float)):
            if value < 0:
                raise InvalidArgumentError(f"{name} must be non-negative, got {value}")
            return (max(0.0, 1.0 - value), 1.0 + value) if value else None
        lo, hi = float(value[0]), float(value[1])
        if not 0 <= lo <= hi:
            raise InvalidArgumentError(f"{name} range must satisfy 0 <= min <= max, got {value}")
        return None if lo == hi == 1.0 else (lo, hi)

    def get_params(self, rng: np.random.Generator) -> tuple[list[int], list[float | None]]:
        """The order (0 brightness, 1 contrast, 2 saturation) and factors for one image."""
        order = [int(i) for i in rng.permutation(3)]
        factors = [
            None if r is None else float(rng.uniform(r[0], r[1]))
            for r in (self.brightness, self.contrast, self.saturation)
        ]
        return order, factors

    def __call__(self, batch: AnyBatch) -> AnyBatch:
        params = [self.get_params(rng) for rng in batch.rngs]
        makers = (brightness_op, contrast_op, saturation_op)
        # ops are per image; apply step k of every image's order as one vectorised op each
        for step in range(3):
            for kind in range(3):
                sel = np.array([p[0][step] == kind and p[1][kind] is not None for p in params])
                if not sel.any():
                    continue
                factor = np.array([p[1][kind] if s else 1.0 for p, s in zip(params, sel)])
                batch.colour_ops.append(makers[kind](factor))
        return batch

    def __repr__(self) -> str:
        return (
            f"ColorJitter(brightness={self.brightness}, contrast={self.contrast}, "
            f"saturation={self.saturation})"
        )


class RandomGrayscale:
    """torchvision's ``RandomGrayscale(p)``: three equal channels of the gray level.

    Example:
        >>> RandomGrayscale().p
        0.1
    """

    def __init__(self, p: float = 0.1) -> None:
        if not 0.0 <= p <= 1.0:
            raise InvalidArgumentError(f"p must be in [0, 1], got {p}", value=p)
        self.p = p

    def __call__(self, batch: AnyBatch) -> AnyBatch:
        picked = np.array([rng.random() < self.p for rng in batch.rngs])
        if picked.any():
            # grayscale is saturation 0; images not picked keep saturation 1 (the identity)
            batch.colour_ops.append(saturation_op(np.where(picked, 0.0, 1.0)))
        return batch

    def __repr__(self) -> str:
        return f"RandomGrayscale(p={self.p})"
