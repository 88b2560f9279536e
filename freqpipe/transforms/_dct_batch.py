"""torchvision-style transforms for batches of JPEG coefficients, applied on their device.

A :class:`DctBatch` holds dequantised coefficient windows (one tensor per component) and what
the transforms have asked for so far (its :class:`BatchGeometry`: host NumPy, which the
transforms also run on alone, without coefficients or torch, in the loader's workers).
Geometric transforms (:class:`RandomResizedCrop`, :class:`Resize`, :class:`CenterCrop`,
:class:`RandomHorizontalFlip`) only move a per-image crop box, an output size and a flip flag;
colour transforms (:class:`ColorJitter`, :class:`RandomGrayscale`) record per-image affine
maps of YCbCr; :meth:`DctBatch.render` then
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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch

from freqpipe.errors import InvalidArgumentError, ShapeError
from freqpipe.transforms.resize_torch import resize_dct_batch

__all__ = ["AnyBatch", "BatchGeometry", "Compose", "DctBatch", "no_colour_yet", "size2"]


def size2(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, int):
        out = (size, size)
    else:
        out = (int(size[0]), int(size[1])) if len(size) == 2 else (int(size[0]), int(size[0]))
    if min(out) < 8 or out[0] % 8 or out[1] % 8:
        raise InvalidArgumentError(f"size must be positive multiples of 8, got {size}", value=size)
    return out


class BatchGeometry:
    """What the transforms decide for each image of a batch, before any coefficient is read.

    Plain NumPy on the host, no torch: the loader's workers run a transform on a geometry of
    one image (no coefficients) to learn which pixels its crop reads, and the same transform
    then runs on the device stage's :class:`DctBatch` (a subclass), drawing the same
    parameters from the same per-image streams. Each transform draws its parameters once, in
    its ``__call__``, for both.

    Args:
        extent: (N, 2) ``(height, width)`` of each image in full-resolution pixels (array-like;
            a CPU tensor for a :class:`DctBatch`).
        rngs: one ``numpy.random.Generator`` per image.

    Attributes:
        box: (N, 4) float64 ``(left, top, right, bottom)``; starts as the whole extent.
        within: (N, 4) int64, the pixels the resize filter may read: the region that is
            resized (the whole extent, or a RandomResizedCrop's crop); a CenterCrop after a
            resize narrows ``box`` but not this.
        flip: (N,) bool, horizontal flip.
        size: the output ``(height, width)``; ``None`` keeps each window's block grid.
        pending_short: a ``Resize(int)``'s short side, until a CenterCrop fixes the size.
        colour_ops: the recorded colour-map updates (see ``_dct_colour``).
        erase: per image, ``(top, left, height, width)`` in output blocks, or ``None``.
        erase_value: what erased blocks are set to.

    Example:
        >>> from freqpipe.transforms.dct import RandomResizedCrop
        >>> g = RandomResizedCrop(64)(BatchGeometry([[480, 640]], [np.random.default_rng(0)]))
        >>> g.box.shape, g.size
        ((1, 4), (64, 64))
    """

    def __init__(self, extent: Any, rngs: Sequence[np.random.Generator]) -> None:
        hw = np.asarray(extent, dtype=np.float64)
        if hw.ndim != 2 or hw.shape[1] != 2:
            raise ShapeError(f"expected extent (N, 2), got {tuple(hw.shape)}", shape=hw.shape)
        n = hw.shape[0]
        if len(rngs) != n:
            raise InvalidArgumentError("need one generator per image")
        self.extent, self.rngs = extent, list(rngs)
        self.box = np.zeros((n, 4))
        self.box[:, 2], self.box[:, 3] = hw[:, 1], hw[:, 0]
        self.within = self.box.astype(np.int64)
        self.flip = np.zeros(n, dtype=bool)
        self.size: tuple[int, int] | None = None
        self.pending_short: int | None = None
        self.colour_ops: list[Callable[[np.ndarray, np.ndarray, np.ndarray], None]] = []
        self.erase: list[tuple[int, int, int, int] | None] = [None] * n
        self.erase_value = 0.0

    def __len__(self) -> int:
        return len(self.box)

    @property
    def block_grid(self) -> tuple[int, int] | None:
        """The output's block grid while no transform has fixed :attr:`size` (None: unknown)."""
        if self.size is not None:
            return self.size[0] // 8, self.size[1] // 8
        return None


#: What a transform takes and gives back: a geometry (the worker's probe) or a DctBatch.
AnyBatch = TypeVar("AnyBatch", bound=BatchGeometry)


@dataclass
class DctBatch(BatchGeometry):
    """A batch of coefficient windows plus the pending geometry and colour of each image.

    The geometry (``box``, ``within``, ``flip``, ``size``, colour and erasing) is the
    :class:`BatchGeometry` of the images' extents.

    Attributes:
        planes: per component, (N, 64, Hb, Wb) float dequantised coefficients, natural order.
        factors: per component, ``(vertical, horizontal)`` subsampling (1 or 2).
        extent: (N, 2) int64 CPU tensor, ``(height, width)`` of each window's image in
            full-res pixels.
        rngs: one ``numpy.random.Generator`` per image for the random transforms.
    """

    planes: list[torch.Tensor]
    factors: list[tuple[int, int]]
    extent: torch.Tensor
    rngs: list[np.random.Generator]

    def __post_init__(self) -> None:
        n = self.extent.shape[0]
        if not self.planes or any(p.ndim != 4 or p.shape[:2] != (n, 64) for p in self.planes):
            raise ShapeError(f"expected planes of shape (N={n}, 64, Hb, Wb)")
        if len(self.factors) != len(self.planes) or len(self.rngs) != n:
            raise InvalidArgumentError("need one factor per plane and one generator per image")
        BatchGeometry.__init__(self, self.extent, self.rngs)

    @property
    def block_grid(self) -> tuple[int, int]:
        """The output's block grid: :attr:`size`'s, or the windows' own while it is None."""
        if self.size is not None:
            return self.size[0] // 8, self.size[1] // 8
        hb, wb = self.planes[0].shape[-2:]
        return int(hb), int(wb)

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
        box, flip, within = (torch.from_numpy(a) for a in (self.box, self.flip, self.within))
        rendered = [
            resize_dct_batch(
                plane,
                box,
                size,
                extent=self.extent,
                factor=factor,
                frequencies=union if mixing else wanted[i],
                flip=flip,
                within=within,
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
        >>> from freqpipe.transforms.dct import RandomHorizontalFlip, RandomResizedCrop
        >>> t = Compose([RandomResizedCrop(224), RandomHorizontalFlip()])
        >>> len(t.transforms)
        2
    """

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, batch: AnyBatch) -> AnyBatch:
        for t in self.transforms:
            batch = t(batch)
        return batch

    def __repr__(self) -> str:
        return "Compose(" + ", ".join(map(repr, self.transforms)) + ")"


def no_colour_yet(batch: BatchGeometry, name: str) -> None:
    if batch.colour_ops:
        raise InvalidArgumentError(
            f"{name} after a colour transform: put geometric transforms first (colour "
            "statistics such as contrast's mean are taken over the final crop)"
        )
