"""torchvision-style transforms for batches of JPEG coefficients, applied on their device.

A :class:`DctBatch` holds dequantised coefficient windows (one tensor per component) and what
the transforms have asked for so far. Geometric transforms (:class:`RandomResizedCrop`,
:class:`Resize`, :class:`CenterCrop`, :class:`RandomHorizontalFlip`) only move a per-image
crop box, an output size and a flip flag; colour transforms (:class:`ColorJitter`,
:class:`RandomGrayscale`) record per-image affine maps of YCbCr; :meth:`DctBatch.render` then
computes each output plane once, with :func:`~freqpipe.transforms.resize_torch.resize_dct_batch`
and only the frequencies asked for, and applies the colour map. :class:`RandomErasing` acts on
the rendered output, as torchvision's acts after ``Normalize``.

Why this is exact: resizing and the colour operations of torchvision (brightness, contrast,
saturation, grayscale) are affine maps of the pixels, and the block DCT is linear, so each has
an exact counterpart on coefficients. What is not reproduced is torchvision's clamping to the
valid range after each operation (and hue, which is not affine in YCbCr); the tests measure
the difference against the clamped pixel pipeline.

Parameters are drawn per image from ``batch.rngs`` (NumPy generators: the loader gives each
sample its own stream), with the algorithms of torchvision's ``get_params``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from freqpipe.errors import InvalidArgumentError, ShapeError
from freqpipe.transforms.dct_pipeline import random_resized_crop_params, resize_shape
from freqpipe.transforms.resize_torch import resize_dct_batch

__all__ = [
    "CenterCrop",
    "ColorJitter",
    "Compose",
    "CutMix",
    "DctBatch",
    "MixUp",
    "RandomErasing",
    "RandomGrayscale",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "Resize",
]

# torchvision's rgb_to_grayscale weights (not quite the JFIF luma weights of FACTS §2)
_GRAY_RGB = np.array([0.2989, 0.587, 0.114])
# centred YCbCr (Y - 128, Cb - 128, Cr - 128) -> RGB - 128 (FACTS §2, JFIF full range)
_YCC_TO_RGB = np.array([[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]])
_RGB_TO_YCC = np.linalg.inv(_YCC_TO_RGB)
# gray(RGB) = _GRAY_YCC . centred YCbCr + _GRAY_OFFSET
_GRAY_YCC = _GRAY_RGB @ _YCC_TO_RGB
_GRAY_OFFSET = 128.0 * _GRAY_RGB.sum()


def _size2(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, int):
        out = (size, size)
    else:
        out = (int(size[0]), int(size[1])) if len(size) == 2 else (int(size[0]), int(size[0]))
    if min(out) < 8 or out[0] % 8 or out[1] % 8:
        raise InvalidArgumentError(f"size must be positive multiples of 8, got {size}", value=size)
    return out


@dataclass
class DctBatch:
    """A batch of coefficient windows plus the pending geometry and colour of each image.

    Attributes:
        planes: per component, (N, 64, Hb, Wb) float dequantised coefficients, natural order.
        factors: per component, ``(vertical, horizontal)`` subsampling (1 or 2).
        extent: (N, 2) int64 ``(height, width)`` of each window's image in full-res pixels.
        rngs: one ``numpy.random.Generator`` per image for the random transforms.
        box: (N, 4) float64 ``(left, top, right, bottom)``; starts as the whole extent.
        flip: (N,) bool, horizontal flip.
        size: the output ``(height, width)``; ``None`` keeps each window's block grid.
        colour: (N, 3, 3) float64, the affine colour map on centred YCbCr ...
        offset: (N, 3) float64 ... and its offset.
        erase: per image, ``(top, left, height, width)`` in output blocks, or ``None``.
    """

    planes: list[torch.Tensor]
    factors: list[tuple[int, int]]
    extent: torch.Tensor
    rngs: list[np.random.Generator]
    box: torch.Tensor = field(init=False)
    flip: torch.Tensor = field(init=False)
    size: tuple[int, int] | None = None
    colour_ops: list[Callable[[np.ndarray, np.ndarray, np.ndarray], None]] = field(
        default_factory=list
    )
    erase: list[tuple[int, int, int, int] | None] = field(init=False)
    erase_value: float = 0.0
    pending_short: int | None = None

    def __post_init__(self) -> None:
        n = self.extent.shape[0]
        if not self.planes or any(p.ndim != 4 or p.shape[:2] != (n, 64) for p in self.planes):
            raise ShapeError(f"expected planes of shape (N={n}, 64, Hb, Wb)")
        if len(self.factors) != len(self.planes) or len(self.rngs) != n:
            raise InvalidArgumentError("need one factor per plane and one generator per image")
        h, w = self.extent[:, 0].to(torch.float64), self.extent[:, 1].to(torch.float64)
        zero = torch.zeros_like(h)
        self.box = torch.stack([zero, zero, w, h], dim=1)
        self.flip = torch.zeros(n, dtype=torch.bool)
        self.erase = [None] * n

    def __len__(self) -> int:
        return int(self.extent.shape[0])

    @classmethod
    def from_coefficients(
        cls,
        coefficients: Sequence[Any],
        *,
        seed: int = 0,
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> DctBatch:
        """A batch of whole images from :class:`~freqpipe.jpeg.JpegCoefficients` (YCbCr JPEGs).

        Each component is dequantised, zero-padded to the largest block grid of the batch
        (each image's ``extent`` says what is real) and moved to ``device``; image ``i`` draws
        its random parameters from ``numpy.random.default_rng([seed, i])``.

        Args:
            coefficients: what :func:`freqpipe.read_coefficients` returned, one per image, all
                with the same component sampling.
            seed: base seed of the per-image generators.
            device: where the coefficients go (default CPU).
            dtype: floating dtype of the coefficients.

        Returns:
            The batch.

        Raises:
            InvalidArgumentError: an empty list, or images with different samplings.

        Example:
            >>> import freqpipe as fp
            >>> from freqpipe._samples import sample_files
            >>> b = DctBatch.from_coefficients([fp.read_coefficients(sample_files()[0])])
            >>> len(b), b.factors
            (1, [(1, 1), (2, 2), (2, 2)])
        """
        if not coefficients:
            raise InvalidArgumentError("need at least one image")
        sampling = coefficients[0].sampling
        if any(c.sampling != sampling for c in coefficients):
            raise InvalidArgumentError("every image of a batch needs the same sampling factors")
        vmax, hmax = max(v for _, v in sampling), max(h for h, _ in sampling)
        planes = []
        for comp in range(len(sampling)):
            grids = [c.planes[comp].shape[:2] for c in coefficients]
            hb, wb = max(g[0] for g in grids), max(g[1] for g in grids)
            plane = torch.zeros(len(coefficients), 64, hb, wb, dtype=dtype)
            for n, c in enumerate(coefficients):
                q = torch.from_numpy(np.ascontiguousarray(c.dequantized()[comp])).permute(2, 0, 1)
                plane[n, :, : q.shape[1], : q.shape[2]] = q
            planes.append(plane.to(device) if device is not None else plane)
        extent = torch.tensor([[c.height, c.width] for c in coefficients])
        return cls(
            planes,
            [(vmax // v, hmax // h) for h, v in sampling],
            extent,
            [np.random.default_rng([seed, i]) for i in range(len(coefficients))],
        )

    @property
    def device(self) -> torch.device:
        """The device of the coefficients."""
        return self.planes[0].device

    def _colour_maps(self, means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fold the recorded colour operations, given each image's mean centred YCbCr."""
        n = len(self)
        m = np.repeat(np.eye(3)[None], n, axis=0)
        o = np.zeros((n, 3))
        for op in self.colour_ops:
            op(m, o, means)
        return m, o

    def render(self, frequencies: Sequence[Sequence[int]] | None = None) -> list[torch.Tensor]:
        """Compute each output plane: (N, F_p, height / 8, width / 8) per component.

        Args:
            frequencies: per plane, the natural-order frequencies to return (default all 64).

        Returns:
            One tensor per plane, in the planes' dtype and device. All planes are on the
            full-resolution output grid (chroma upsampled as libjpeg does).
        """
        if frequencies is None:
            wanted = [list(range(64))] * len(self.planes)
        else:
            wanted = [[int(f) for f in plane] for plane in frequencies]
        if len(wanted) != len(self.planes):
            raise InvalidArgumentError(f"need frequencies for {len(self.planes)} planes")
        if self.pending_short is not None:
            raise InvalidArgumentError(
                f"Resize({self.pending_short}) gives each image its own size: follow it with "
                "CenterCrop so that the batch has one"
            )
        mixing = bool(self.colour_ops)
        # colour maps mix planes frequency by frequency and need every plane's DC for means
        union = sorted(set().union(*map(set, wanted)) | ({0} if mixing else set()))
        size = self.size
        if size is None:
            hb, wb = self.planes[0].shape[-2:]
            size = (8 * int(hb), 8 * int(wb))
        rendered = [
            resize_dct_batch(
                plane,
                self.box,
                size,
                extent=self.extent,
                factor=factor,
                frequencies=union if mixing else wanted[i],
                flip=self.flip,
            )
            for i, (plane, factor) in enumerate(zip(self.planes, self.factors))
        ]
        if mixing:
            if len(rendered) != 3:
                raise InvalidArgumentError("colour transforms need the three YCbCr planes")
            dc = union.index(0)
            means = torch.stack([r[:, dc].mean(dim=(-2, -1)) / 8 for r in rendered], 1)
            m, o = self._colour_maps(means.double().cpu().numpy())
            mt = torch.as_tensor(m, dtype=rendered[0].dtype, device=self.device)
            stacked = torch.stack(rendered, 1)  # (N, 3, F, h, w)
            mixed = torch.einsum("npq,nqfhw->npfhw", mt, stacked)
            ot = torch.as_tensor(8 * o, dtype=mixed.dtype, device=self.device)
            mixed[:, :, dc] += ot[:, :, None, None]
            rendered = [mixed[:, p][:, [union.index(f) for f in wanted[p]]] for p in range(3)]
        return rendered

    def apply_erasing(self, x: torch.Tensor) -> torch.Tensor:
        """Fill each image's erased block rectangle of ``x`` (N, C, h, w) with the value."""
        for i, rect in enumerate(self.erase):
            if rect is not None:
                top, left, h, w = rect
                x[i, :, top : top + h, left : left + w] = self.erase_value
        return x


class Compose:
    """Apply transforms in order, as ``torchvision.transforms.Compose``.

    Example:
        >>> t = Compose([RandomResizedCrop(224), RandomHorizontalFlip()])
        >>> len(t.transforms)
        2
    """

    def __init__(self, transforms: Sequence[Callable[[DctBatch], DctBatch]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, batch: DctBatch) -> DctBatch:
        for t in self.transforms:
            batch = t(batch)
        return batch

    def __repr__(self) -> str:
        return "Compose(" + ", ".join(map(repr, self.transforms)) + ")"


def _no_colour_yet(batch: DctBatch, name: str) -> None:
    if batch.colour_ops:
        raise InvalidArgumentError(
            f"{name} after a colour transform: put geometric transforms first (colour "
            "statistics such as contrast's mean are taken over the final crop)"
        )


class RandomResizedCrop:
    """torchvision's ``RandomResizedCrop(size, scale, ratio)`` with bilinear interpolation.

    The region is drawn by torchvision's ``get_params`` algorithm per image; the crop and
    resize happen in the DCT domain at render time. The box is block-free (any pixel), and
    the filter may read pixels just outside it, as Pillow's ``resize(box=...)`` does.

    Example:
        >>> RandomResizedCrop(448).size
        (448, 448)
    """

    def __init__(
        self,
        size: int | Sequence[int],
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
    ) -> None:
        self.size = _size2(size)
        if not (0 < scale[0] <= scale[1]) or not (0 < ratio[0] <= ratio[1]):
            raise InvalidArgumentError(f"bad scale {scale} or ratio {ratio}")
        self.scale = (float(scale[0]), float(scale[1]))
        self.ratio = (float(ratio[0]), float(ratio[1]))

    def __call__(self, batch: DctBatch) -> DctBatch:
        _no_colour_yet(batch, "RandomResizedCrop")
        for i, rng in enumerate(batch.rngs):
            left, top, right, bottom = batch.box[i].tolist()
            # integer parameters over the current region, as torchvision on a PIL image
            height, width = round(bottom - top), round(right - left)
            t, l_, h, w = random_resized_crop_params(height, width, rng, self.scale, self.ratio)
            batch.box[i] = torch.tensor([left + l_, top + t, left + l_ + w, top + t + h])
        batch.size = self.size
        return batch

    def __repr__(self) -> str:
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio})"


class Resize:
    """torchvision's ``Resize(size)``: an int resizes the short side, keeping the aspect.

    Followed by :class:`CenterCrop` (the evaluation recipe) the two compose into one box, since
    cropping a resized image equals resizing with the matching box. A ``Resize`` whose output
    is not whole blocks must be followed by a crop that is.

    Example:
        >>> Resize(512).size
        512
    """

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = size

    def __call__(self, batch: DctBatch) -> DctBatch:
        _no_colour_yet(batch, "Resize")
        if isinstance(self.size, int):
            # each image's own (h, w); CenterCrop then gives the batch one size
            batch.pending_short = self.size
        else:
            batch.size = _size2(self.size)
            batch.pending_short = None
        return batch

    def __repr__(self) -> str:
        return f"Resize(size={self.size})"


class CenterCrop:
    """torchvision's ``CenterCrop(size)`` (its rounding of odd margins), after :class:`Resize`.

    Example:
        >>> CenterCrop(448).size
        (448, 448)
    """

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _size2(size)

    def __call__(self, batch: DctBatch) -> DctBatch:
        _no_colour_yet(batch, "CenterCrop")
        short = batch.pending_short
        out_h, out_w = self.size
        for i in range(len(batch)):
            left, top, right, bottom = batch.box[i].tolist()
            h, w = bottom - top, right - left
            if short is not None:
                rh, rw = resize_shape(round(h), round(w), short=short)
            elif batch.size is not None:
                rh, rw = batch.size
            else:
                rh, rw = round(h), round(w)
            # torchvision: int(round((resized - crop) / 2)); then map back through the resize
            ct, cl = round((rh - out_h) / 2.0), round((rw - out_w) / 2.0)
            sy, sx = h / rh, w / rw
            batch.box[i] = torch.tensor(
                [left + cl * sx, top + ct * sy, left + (cl + out_w) * sx, top + (ct + out_h) * sy]
            )
        batch.size = self.size
        batch.pending_short = None
        return batch

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


class RandomHorizontalFlip:
    """torchvision's ``RandomHorizontalFlip(p)``: exact, folded into the resize matrices.

    Example:
        >>> RandomHorizontalFlip().p
        0.5
    """

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise InvalidArgumentError(f"p must be in [0, 1], got {p}", value=p)
        self.p = p

    def __call__(self, batch: DctBatch) -> DctBatch:
        _no_colour_yet(batch, "RandomHorizontalFlip")
        for i, rng in enumerate(batch.rngs):
            if rng.random() < self.p:
                batch.flip[i] = ~batch.flip[i]
        return batch

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


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

    def __call__(self, batch: DctBatch) -> DctBatch:
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

    def __call__(self, batch: DctBatch) -> DctBatch:
        picked = np.array([rng.random() < self.p for rng in batch.rngs])
        if picked.any():
            # grayscale is saturation 0; images not picked keep saturation 1 (the identity)
            batch.colour_ops.append(saturation_op(np.where(picked, 0.0, 1.0)))
        return batch

    def __repr__(self) -> str:
        return f"RandomGrayscale(p={self.p})"


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

    def __call__(self, batch: DctBatch) -> DctBatch:
        if batch.size is None:
            hb, wb = (int(v) for v in batch.planes[0].shape[-2:])
        else:
            hb, wb = batch.size[0] // 8, batch.size[1] // 8
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
