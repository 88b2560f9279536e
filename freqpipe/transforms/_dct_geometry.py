"""Geometric transforms of coefficient batches: a box, a size and a flip per image.

Nothing is computed until :meth:`~freqpipe.transforms.dct.DctBatch.render`. The transforms
touch only a batch's :class:`~freqpipe.transforms._dct_batch.BatchGeometry` (Python floats
and NumPy, no torch), so the loader's workers run them too, to learn each crop's box.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms._dct_batch import AnyBatch, no_colour_yet, size2
from freqpipe.transforms.dct_pipeline import random_resized_crop_params, resize_shape

__all__ = ["CenterCrop", "RandomHorizontalFlip", "RandomResizedCrop", "Resize"]


class RandomResizedCrop:
    """torchvision's ``RandomResizedCrop(size, scale, ratio)`` with bilinear interpolation.

    The region is drawn by torchvision's ``get_params`` algorithm per image; the crop and
    resize happen in the DCT domain at render time. The box is block-free (any pixel), and,
    as torchvision crops before it resizes, the filter reads only pixels inside it
    (conventions §9).

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
        self.size = size2(size)
        if not (0 < scale[0] <= scale[1]) or not (0 < ratio[0] <= ratio[1]):
            raise InvalidArgumentError(f"bad scale {scale} or ratio {ratio}")
        self.scale = (float(scale[0]), float(scale[1]))
        self.ratio = (float(ratio[0]), float(ratio[1]))

    def __call__(self, batch: AnyBatch) -> AnyBatch:
        no_colour_yet(batch, "RandomResizedCrop")
        for i, rng in enumerate(batch.rngs):
            left, top, right, bottom = batch.box[i].tolist()
            # integer parameters over the current region, as torchvision on a PIL image
            height, width = round(bottom - top), round(right - left)
            t, l_, h, w = random_resized_crop_params(height, width, rng, self.scale, self.ratio)
            left, top = left + l_, top + t
            batch.box[i] = (left, top, left + w, top + h)
            # the crop is what gets resized: whole pixels (as cut from an earlier resize's box)
            batch.within[i] = (
                math.floor(left),
                math.floor(top),
                math.ceil(left + w),
                math.ceil(top + h),
            )
        batch.size = self.size
        return batch

    def __repr__(self) -> str:
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio})"


class Resize:
    """torchvision's ``Resize(size)``: an int resizes the short side, keeping the aspect.

    Followed by :class:`CenterCrop` (the evaluation recipe) the two compose into one box, since
    cropping a resized image equals resizing with the matching box while the filter still
    reads the whole resized region (``DctBatch.within``). A ``Resize`` whose output is not
    whole blocks must be followed by a crop that is.

    Example:
        >>> Resize(512).size
        512
    """

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = size

    def __call__(self, batch: AnyBatch) -> AnyBatch:
        no_colour_yet(batch, "Resize")
        if isinstance(self.size, int):
            # each image's own (h, w); CenterCrop then gives the batch one size
            batch.pending_short = self.size
        else:
            batch.size = size2(self.size)
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
        self.size = size2(size)

    def __call__(self, batch: AnyBatch) -> AnyBatch:
        no_colour_yet(batch, "CenterCrop")
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
            batch.box[i] = (
                left + cl * sx,
                top + ct * sy,
                left + (cl + out_w) * sx,
                top + (ct + out_h) * sy,
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

    def __call__(self, batch: AnyBatch) -> AnyBatch:
        no_colour_yet(batch, "RandomHorizontalFlip")
        for i, rng in enumerate(batch.rngs):
            if rng.random() < self.p:
                batch.flip[i] = not batch.flip[i]
        return batch

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"
