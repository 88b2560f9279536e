"""FreqLoader's ``transform=``: torchvision-style transforms of coefficients, on the device.

DCTNet's preprocessing (RandomResizedCrop, flip, colour jitter; Resize + CenterCrop for
evaluation) without decoding pixels (conventions §9). The transform runs twice per sample, both
times drawing from the sample's own stream (:class:`~freqpipe.data.SampleRng` of
``(seed, epoch, index, attempt)``), so both draw the same parameters:

1. in the worker, on a batch of one image that holds no coefficients, only to learn which
   pixels its resize filter reads (``DctBatch.within``); the worker then entropy-decodes the
   file (no IDCT, no colour conversion, no resize) and copies the block-aligned cover of those
   pixels, with one chroma sample of margin for libjpeg's upsampling, into the slot with the
   cover's origin;
2. in the device stage (:func:`render_covers`), on the batch of covers: the same draws, boxes
   moved to the covers' origins, then ``DctBatch.render`` of the selected frequencies only.

Images smaller than the crop are resized, as torchvision does, not padded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from freqpipe.data._batch import BatchSpec, HostBatch
from freqpipe.data._source import ErrorPolicy, SampleSource
from freqpipe.errors import InvalidArgumentError, UnsupportedJpegError
from freqpipe.jpeg import DEFAULT_MAX_PIXELS, decode_jpeg
from freqpipe.jpeg.fallback import coefficient_window, fallback_reason, fallback_rgb
from freqpipe.transforms import Selection

__all__ = ["COVER_FIELDS", "TransformSource", "cover_sizes", "output_size", "render_covers"]

#: The slot fields of the cover of each sample.
COVER_FIELDS = ("luma", "chroma", "quant", "factors", "origin", "blocks", "extent", "rng_key")

_ALL_FREQUENCIES = np.arange(64, dtype=np.int64)
_ALL = Selection.from_indices(list(range(192)))

#: Transforms that mix images of a batch: they belong after the loader.
_BATCH_LEVEL = ("MixUp", "CutMix")


def _probe(transform: Callable[[Any], Any], extent: tuple[int, int], rng: Any) -> Any:
    """Run ``transform`` on a batch of one image of ``extent`` that holds no coefficients."""
    import torch

    from freqpipe.transforms.dct import DctBatch

    empty = torch.zeros(1, 64, 0, 0)
    batch = DctBatch(
        [empty, empty, empty], [(1, 1)] * 3, torch.tensor([extent]), [rng]
    )  # the factors do not change what the geometric transforms draw
    return transform(batch)


def output_size(transform: Callable[[Any], Any]) -> tuple[int, int]:
    """The ``(height, width)`` a transform gives every image (it must end with one size).

    Raises:
        InvalidArgumentError: a batch-level transform (MixUp, CutMix), or no fixed size.
    """
    names = {type(t).__name__ for t in getattr(transform, "transforms", [transform])}
    mixing = sorted(names & set(_BATCH_LEVEL))
    if mixing:
        raise InvalidArgumentError(
            f"transform= takes per-image transforms; apply {', '.join(mixing)} to the loader's "
            "batches (they mix images and labels)"
        )
    batch = _probe(transform, (480, 640), np.random.default_rng(0))
    if batch.size is None or batch.pending_short is not None:
        raise InvalidArgumentError(
            "transform= must give every image one size: end it with RandomResizedCrop(size) "
            "or Resize + CenterCrop(size)"
        )
    return batch.size


class TransformSource(SampleSource):
    """Fills slots with the block-aligned coefficient covers the transform's resize reads.

    Args:
        dataset: map-style ``(path or bytes, label)``.
        policy: the bad-file policy.
        transform: per-image DCT-batch transforms (``freqpipe.transforms.dct``).
        batch_size: samples per slot.
        cover_blocks: initial capacity (luma blocks per side) of a slot's covers; a larger
            cover grows the slot (in pageable memory) instead of being cut.
        strict: as the reader's.
        max_pixels: as the reader's.
    """

    produces = "cover"

    def __init__(
        self,
        dataset: Any,
        policy: ErrorPolicy,
        *,
        transform: Callable[[Any], Any],
        batch_size: int,
        cover_blocks: int,
        strict: bool = True,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
    ):
        super().__init__(dataset, policy)
        self.transform, self.strict, self.max_pixels = transform, strict, max_pixels
        c = int(cover_blocks)
        self.spec = BatchSpec(
            batch_size,
            {
                "luma": ((64, c, c), "int16"),
                "chroma": ((2, 64, c, c), "int16"),
                "quant": ((3, 64), "uint16"),
                "factors": ((2,), "int64"),
                "origin": ((2,), "int64"),
                "blocks": ((2,), "int64"),
                "extent": ((2,), "int64"),
                # SampleRng's (seed, epoch, index, attempt), uint64 bits held as int64 (what
                # every device copies)
                "rng_key": ((4,), "int64"),
            },
        )

    def load_one(self, batch: HostBatch, pos: int, source: Any, name: str, rng: Any) -> None:
        """Decode one file's coefficients and copy the cover its transform reads."""
        key = rng.bit_generator.seed_seq.entropy  # SampleRng's (seed, epoch, index, attempt)
        problem: str | UnsupportedJpegError | None
        try:
            dec = decode_jpeg(source, strict=self.strict, max_pixels=self.max_pixels)
            problem = _layout_problem(dec)
        except UnsupportedJpegError as exc:  # NotAJpegError included: maybe a PNG
            dec, problem = None, exc
        if dec is None or problem is not None:
            self._fallback(batch, pos, source, name, rng, key, problem)
            return
        if dec.source == "<bytes>":
            object.__setattr__(dec, "source", name)
        factor = dec.repeat(1) if len(dec.grids) > 1 else (1, 1)
        top, left, rows, cols = self._place(batch, pos, (dec.height, dec.width), factor, rng, key)
        a = batch.arrays
        # No zeroing: the resize weighs only pixels inside the crop, and the margin keeps
        # libjpeg's upsampling inside the cover, so what lies past a cover has weight zero.
        luma = a["luma"][pos]
        # the gather writes C-contiguous blocks; the slot's covers are padded to its capacity
        luma[:, :rows, :cols] = dec.gather(
            0, np.empty((64, rows, cols), np.int16), _ALL_FREQUENCIES, top=top // 8, left=left // 8
        )
        chroma = a["chroma"][pos]
        quant = a["quant"][pos]
        quant[0] = dec.quant[0]
        crows, ccols = -(-rows // factor[0]), -(-cols // factor[1])
        for c in (1, 2):
            if c < len(dec.grids):
                start = (top // (8 * factor[0]), left // (8 * factor[1]))
                chroma[c - 1][:, :crows, :ccols] = dec.gather(
                    c,
                    np.empty((64, crows, ccols), np.int16),
                    _ALL_FREQUENCIES,
                    top=start[0],
                    left=start[1],
                )
                quant[c] = dec.quant[c]
            else:  # grayscale: chroma zero is neutral (YCbCr's 128 after the level shift)
                chroma[c - 1][:, :rows, :cols] = 0
                quant[c] = 1

    def _fallback(
        self, batch: HostBatch, pos: int, source: Any, name: str, rng: Any, key: Any, why: Any
    ) -> None:
        """A file without YCbCr coefficients in 1x/2x chroma: Pillow's RGB, its block DCT."""
        rgb, kind = fallback_rgb(source, why)
        top, left, rows, cols = self._place(batch, pos, rgb.shape[:2], (1, 1), rng, key)
        x, _ = coefficient_window(
            rgb,
            _ALL,
            top=top // 8,
            left=left // 8,
            blocks=max(rows, cols),
            hflip=False,
            separate=False,
        )
        x = np.clip(np.rint(x[:, :rows, :cols]), -32768, 32767)
        a = batch.arrays
        a["luma"][pos][:, :rows, :cols] = x[:64]
        a["chroma"][pos][:, :, :rows, :cols] = x[64:].reshape(2, 64, rows, cols)
        a["quant"][pos] = 1
        self.policy.record_fallback(name, fallback_reason(why, kind))

    def _place(
        self,
        batch: HostBatch,
        pos: int,
        extent: tuple[int, int],
        factor: tuple[int, int],
        rng: Any,
        key: Any,
    ) -> tuple[int, int, int, int]:
        """Find the cover the transform reads and record where it lies in the image.

        Returns:
            ``(top, left, rows, cols)``: the cover's origin in pixels and its size in blocks
            (the slot grown to hold it).
        """
        height, width = extent
        within = _probe(self.transform, (height, width), rng).within[0].tolist()
        (top, bottom), (left, right) = (
            _cover_span(within[1], within[3], factor[0], height),
            _cover_span(within[0], within[2], factor[1], width),
        )
        rows, cols = (bottom - top) // 8, (right - left) // 8
        self._ensure_capacity(batch, pos, rows, cols)
        a = batch.arrays
        a["factors"][pos] = factor
        a["origin"][pos] = (top, left)
        a["blocks"][pos] = (rows, cols)
        a["extent"][pos] = (height, width)
        a["rng_key"][pos] = np.asarray(key, np.uint64).view(np.int64)
        return top, left, rows, cols

    def finish(self, batch: HostBatch) -> None:
        """Pack the batch's covers back to back, so each crosses to the device at its own size.

        The slot's cover arrays are padded to their capacity; this rewrites samples
        ``0..count-1`` in place, each as its C-contiguous ``(..., rows, cols)`` block, one after
        the other from the start of the same (pinned) memory (:func:`cover_sizes` gives the
        parts), and sends that prefix (``batch.packed``).
        """
        n = batch.count
        blocks, factors = batch.arrays["blocks"][:n], batch.arrays["factors"][:n]
        batch.packed = {}
        for name, sizes in zip(("luma", "chroma"), cover_sizes(blocks, factors)):
            padded = batch.arrays[name]
            flat = padded.reshape(-1)
            at = 0
            for i in range(n):  # forward: a part never lands on a sample not yet moved
                rows, cols = (int(v) for v in blocks[i])
                if name == "chroma":
                    rows, cols = -(-rows // int(factors[i][0])), -(-cols // int(factors[i][1]))
                flat[at : at + sizes[i]] = padded[i, ..., :rows, :cols].reshape(-1)
                at += int(sizes[i])
            pinned = batch.tensors.get(name)
            batch.packed[name] = (flat[:at], None if pinned is None else pinned.reshape(-1)[:at])

    def _ensure_capacity(self, batch: HostBatch, pos: int, rows: int, cols: int) -> None:
        """Grow the slot's cover arrays (keeping samples 0..pos-1) to hold ``rows x cols``."""
        have_rows, have_cols = batch.arrays["luma"].shape[-2:]
        if rows <= have_rows and cols <= have_cols:
            return
        rows, cols = max(rows, have_rows), max(cols, have_cols)
        for name in ("luma", "chroma"):
            old = batch.arrays[name]
            new = np.zeros((*old.shape[:-2], rows, cols), old.dtype)
            new[:pos, ..., : old.shape[-2], : old.shape[-1]] = old[:pos]
            batch.arrays[name] = new
            batch.tensors.pop(name, None)  # pageable from now on: copied, not pinned


def cover_sizes(blocks: Any, factors: Any) -> tuple[np.ndarray, np.ndarray]:
    """Values per sample of the packed luma and chroma covers, from their blocks and factors.

    Args:
        blocks: (N, 2) luma block rows and columns of each cover.
        factors: (N, 2) chroma subsampling of each sample.

    Returns:
        ``(luma, chroma)``: int64 (N,) each; chroma holds both components.
    """
    blocks, factors = np.asarray(blocks, np.int64), np.asarray(factors, np.int64)
    luma = 64 * blocks[:, 0] * blocks[:, 1]
    chroma = 2 * 64 * (-(-blocks[:, 0] // factors[:, 0])) * (-(-blocks[:, 1] // factors[:, 1]))
    return luma, chroma


def _layout_problem(dec: Any) -> str | None:
    """Why a JPEG's coefficients cannot go through transform= as they are (None: they can)."""
    if dec.colorspace not in ("ycbcr", "gray"):
        return f"{dec.colorspace.upper()} JPEG (no YCbCr coefficients)"
    if len(dec.grids) > 1:
        factor = dec.repeat(1)
        if any(f not in (1, 2) for f in factor) or (len(dec.grids) > 2 and dec.repeat(2) != factor):
            return f"chroma sampling {dec.sampling} (transform= takes 1x or 2x chroma)"
    return None


def _cover_span(start: int, end: int, factor: int, extent: int) -> tuple[int, int]:
    """Pixel span ``[lo, hi)`` of whole blocks covering ``[start, end)`` on one axis.

    Subsampled chroma (``factor`` 2) is upsampled by libjpeg from each sample's neighbours, so
    the span reaches one chroma block further on each side (clamped to the image), and is
    aligned to chroma blocks so that the luma and chroma covers start together.
    """
    step = 8 * factor
    lo = max(start // step - (factor > 1), 0) * step
    blocks_in_image = -(-extent // step)
    hi = min(-(-end // step) + (factor > 1), blocks_in_image) * step
    return lo, hi


def render_covers(
    fields: Mapping[str, Any],
    transform: Callable[[Any], Any],
    selection: Selection,
    size: tuple[int, int],
    *,
    mean: Any = None,
    std: Any = None,
) -> Any:
    """The transformed, selected, normalised coefficients of a batch of covers.

    Args:
        fields: the :data:`COVER_FIELDS` of a filled slot, torch tensors (CPU or CUDA).
        transform: the loader's transform.
        selection: the output channels.
        size: the transform's output ``(height, width)``.
        mean: per-channel means (or None: no normalisation).
        std: per-channel standard deviations.

    Returns:
        float32 (N, len(selection), height / 8, width / 8) on the fields' device;
        ``RandomErasing`` applied last, as torchvision's after ``Normalize``.
    """
    import torch

    from freqpipe.transforms.dct import DctBatch

    luma, chroma = fields["luma"], fields["chroma"]  # packed: each cover at its own size
    device = luma.device
    n = fields["blocks"].shape[0]
    out = torch.empty(n, len(selection), size[0] // 8, size[1] // 8, device=device)
    factors = fields["factors"].cpu().numpy()
    blocks = fields["blocks"].cpu().numpy()
    luma_at, chroma_at = (np.concatenate([[0], np.cumsum(v)]) for v in cover_sizes(blocks, factors))
    origin = fields["origin"].to(device=device, dtype=torch.float64)
    extent = fields["extent"].to(device)
    quant = fields["quant"].to(device=device, dtype=torch.float32)
    keys = fields["rng_key"].cpu().numpy().view(np.uint64)
    wanted = [p.tolist() for p in selection.per_plane]
    for factor in {tuple(f) for f in factors.tolist()}:
        members = np.flatnonzero((factors == factor).all(axis=1))
        idx = torch.as_tensor(members, device=device)
        # the covers of this group, unpacked onto one grid (the largest of them)
        rows, cols = (int(v) for v in blocks[members].max(axis=0))
        crows, ccols = -(-rows // factor[0]), -(-cols // factor[1])
        y = torch.zeros(len(members), 64, rows, cols, device=device)
        c = torch.zeros(len(members), 2, 64, crows, ccols, device=device)
        for j, i in enumerate(members):
            r, k = (int(v) for v in blocks[i])
            cr, ck = -(-r // factor[0]), -(-k // factor[1])
            y[j, :, :r, :k] = luma[luma_at[i] : luma_at[i + 1]].view(64, r, k)
            c[j, :, :, :cr, :ck] = chroma[chroma_at[i] : chroma_at[i + 1]].view(2, 64, cr, ck)
        q = quant[idx]
        planes = [y * q[:, 0, :, None, None]] + [
            c[:, p] * q[:, p + 1, :, None, None] for p in (0, 1)
        ]
        batch = DctBatch(
            planes,
            [(1, 1), factor, factor],
            extent[idx].cpu(),
            [np.random.default_rng([int(k) for k in keys[i]]) for i in members],
        )
        batch = transform(batch)
        shift = origin[idx][:, [1, 0, 1, 0]].cpu()  # (left, top, left, top)
        batch.box = batch.box - shift
        own = 8 * torch.as_tensor(blocks[members]).flip(1)  # each cover's (width, height)
        real = torch.minimum(extent[idx].cpu().flip(1) - shift[:, :2], own)  # pixels it holds
        within = batch.within - shift.to(torch.int64)
        batch.within = torch.minimum(
            within.clamp(min=0), torch.cat([real, real], 1).to(torch.int64)
        )
        batch.extent = real.flip(1).to(torch.int64)
        x = torch.cat(batch.render(wanted), dim=1).float()
        if mean is not None:
            m = torch.as_tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
            s = torch.as_tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
            x = (x - m) / s
        out[idx] = batch.apply_erasing(x)
    return out
