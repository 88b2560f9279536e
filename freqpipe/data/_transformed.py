"""FreqLoader's ``transform=``: torchvision-style transforms of coefficients, on the device.

DCTNet's preprocessing (RandomResizedCrop, flip, colour jitter; Resize + CenterCrop for
evaluation) without decoding pixels (conventions §9). The transform runs twice per sample, both
times drawing from the sample's own stream (:class:`~freqpipe.data.SampleRng` of
``(seed, epoch, index, attempt)``), so both draw the same parameters:

1. in the worker, on the :class:`~freqpipe.transforms.dct.BatchGeometry` of one image (no
   coefficients; Python floats and NumPy, no torch op: a torch op per sample would wake
   torch's thread pool in every worker thread), only to learn which pixels its resize filter
   reads (``within``); the worker then entropy-decodes the file (no IDCT, no colour
   conversion, no resize) and copies the block-aligned cover of those pixels, with one chroma
   sample of margin for libjpeg's upsampling, into the slot with the cover's origin: once,
   from the decoder's memory, in its block layout, packed after the batch's earlier covers;
2. in the device stage (:func:`render_covers`), on the batch of covers: the same draws, boxes
   moved to the covers' origins, then ``DctBatch.render`` of the selected frequencies only.

Images smaller than the crop are resized, as torchvision does, not padded.

Two transfer modes (``FreqLoader(transfer_frequencies=...)``): ``"all"`` sends all 64
frequencies of each cover, and the output is exactly the whole image's; ``"band"`` sends only
the input frequencies :func:`freqpipe.transforms.band.select_band` finds the kept output
channels need at the sample's scale and with its cover's energy, records them as a 64-bit mask
per plane (the ``band`` field), and the device stage scatters them back among zeros: an
approximation whose measured error is in ``benchmarks/bench_band.py``'s results.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from freqpipe.data._batch import BatchSpec, HostBatch
from freqpipe.data._source import ErrorPolicy, SampleSource
from freqpipe.errors import InvalidArgumentError, UnsupportedJpegError
from freqpipe.jpeg import DEFAULT_MAX_PIXELS, FrameHeader, decode_jpeg
from freqpipe.jpeg.blocks import narrow_int16
from freqpipe.jpeg.fallback import coefficient_window, fallback_reason, fallback_rgb
from freqpipe.transforms import Selection
from freqpipe.transforms.band import BAND_TOLERANCE, axis_gains, band_energy, select_band

__all__ = [
    "COVER_FIELDS",
    "TransformSource",
    "band_frequencies",
    "cover_sizes",
    "output_size",
    "render_covers",
]

#: The slot fields of the cover of each sample.
COVER_FIELDS = (
    "luma",
    "chroma",
    "quant",
    "factors",
    "origin",
    "blocks",
    "extent",
    "rng_key",
    "band",
)

_ALL = Selection.from_indices(list(range(192)))
_BITS = np.uint64(1) << np.arange(64, dtype=np.uint64)
_EVERY = np.ones(64, bool)
_DC_ONLY = np.arange(64) == 0

#: Transforms that mix images of a batch: they belong after the loader.
_BATCH_LEVEL = ("MixUp", "CutMix")


def _probe(transform: Callable[[Any], Any], extent: tuple[int, int], rng: Any) -> Any:
    """Run ``transform`` on the geometry of one image of ``extent``: no coefficients, no torch.

    The transforms draw their parameters from ``rng`` exactly as on the device stage's
    ``DctBatch`` (one implementation, in their ``__call__``), with Python floats and NumPy
    only: no torch op, so no wake-up of torch's thread pool per sample in the workers.
    """
    from freqpipe.transforms._dct_batch import BatchGeometry

    return transform(BatchGeometry(np.array([extent], np.int64), [rng]))


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
        cover_blocks: a slot's capacity for covers: on average per sample, luma blocks per
            side (the covers are packed, so small ones leave room for large); a batch whose
            covers need more grows the slot (in pageable memory) instead of being cut.
        selection: the output channels (what the band mode keeps the input frequencies for).
        band: send only the input frequencies the kept channels need (else all 64).
        tolerance: band mode's estimated error allowance per kept channel (see
            :func:`~freqpipe.transforms.band.select_band`).
        strict: as the reader's.
        max_pixels: as the reader's.
        transfer: ``"int16"``, or ``"int8"``: the covers cross narrowed to int8, each value
            outside -127..127 escaped as int16 (:func:`~freqpipe.jpeg.blocks.narrow_int16`;
            the output stage widens them back, so the batches are the same).

    Attributes:
        narrow: the fields that cross narrowed (``OutputPlan.narrow``).
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
        selection: Selection = _ALL,
        band: bool = False,
        tolerance: float = BAND_TOLERANCE,
        strict: bool = True,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        transfer: str = "int16",
    ):
        super().__init__(dataset, policy)
        self.transform, self.strict, self.max_pixels = transform, strict, max_pixels
        self.narrow: tuple[str, ...] = _COVERS if transfer == "int8" else ()
        self.band, self.tolerance = bool(band), float(tolerance)
        per_plane = [p.tolist() for p in selection.per_plane]
        self._kept = (per_plane[0], sorted(set(per_plane[1]) | set(per_plane[2])))
        if self.band:  # the gain tables, built once here rather than by the first workers
            axis_gains(1.0, 1), axis_gains(1.0, 2)
        c = int(cover_blocks)
        self.spec = BatchSpec(
            batch_size,
            {
                # capacity: the covers are packed back to back in this memory (see _write)
                "luma": ((c, c, 64), "int16"),
                "chroma": ((2, c, c, 64), "int16"),
                "quant": ((3, 64), "uint16"),
                "factors": ((2,), "int64"),
                "origin": ((2,), "int64"),
                "blocks": ((2,), "int64"),
                "extent": ((2,), "int64"),
                # SampleRng's (seed, epoch, index, attempt), uint64 bits held as int64 (what
                # every device copies)
                "rng_key": ((4,), "int64"),
                # the input frequencies sent, luma and chroma: bit k for frequency k, as above
                "band": ((2,), "int64"),
                # narrowed covers: room for every value, all of them escaped at worst
                **{
                    f"{name}_{part}": (shape, dtype)
                    for name, shape in (("luma", (c, c, 64)), ("chroma", (2, c, c, 64)))
                    if name in self.narrow
                    for part, dtype in (("int8", "int8"), ("escapes", "int16"))
                },
            },
        )

    def load_one(self, batch: HostBatch, pos: int, source: Any, name: str, rng: Any) -> None:
        """Decode one file's coefficients and copy the cover its transform reads."""
        key = rng.bit_generator.seed_seq.entropy  # SampleRng's (seed, epoch, index, attempt)
        placed: list[tuple[int, int, Any, tuple[int, int]]] = []

        def cover_rows(frame: FrameHeader) -> tuple[int, int]:
            # placed from the header, so the decoder can leave the rows below the cover unread
            factor = frame.repeat(1) if len(frame.grids) > 1 else (1, 1)
            if factor is None:  # the layout check below sends the file to the fallback
                return 0, frame.grids[0][0]
            placed.append(
                (*self._place(batch, pos, (frame.height, frame.width), factor, rng, key), factor)
            )
            top, rows = placed[0][0] // 8, int(batch.arrays["blocks"][pos][0])
            return top, top + rows

        problem: str | UnsupportedJpegError | None
        partial = self.read_whole()  # the first read of a file checks all of it
        try:
            dec = decode_jpeg(
                source,
                strict=self.strict,
                max_pixels=self.max_pixels,
                block_rows=cover_rows if partial else None,
            )
            if not partial:
                self.mark_read_whole()
                cover_rows(dec.frame)
            problem = _layout_problem(dec)
        except UnsupportedJpegError as exc:  # NotAJpegError included: maybe a PNG
            dec, problem = None, exc
        if dec is None or problem is not None or not placed:
            # drawn again from the start of the sample's stream, as the device stage draws
            fresh = np.random.default_rng([int(k) for k in key])
            self._fallback(batch, pos, source, name, fresh, key, problem)
            return
        if dec.source == "<bytes>":
            object.__setattr__(dec, "source", name)
        top, left, geometry, factor = placed[0]
        rows, cols = batch.arrays["blocks"][pos].tolist()
        fv, fh = factor
        chroma_cover = (top // (8 * fv), left // (8 * fh), -(-rows // fv), -(-cols // fh))
        cover = [(top // 8, left // 8, rows, cols), chroma_cover, chroma_cover]  # top, left, size

        def blocks(component: int) -> np.ndarray:
            t, l_, r, c = cover[component]
            return dec.plane(component)[t : t + r, l_ : l_ + c]

        quant = np.ones((3, 64), np.uint16)  # grayscale: unit quant for the zero chroma
        quant[: len(dec.grids)] = dec.quant[: len(dec.grids)]
        self._write(batch, pos, blocks, quant, geometry, chroma=len(dec.grids) > 1)

    def _fallback(
        self, batch: HostBatch, pos: int, source: Any, name: str, rng: Any, key: Any, why: Any
    ) -> None:
        """A file without YCbCr coefficients in 1x/2x chroma: Pillow's RGB, its block DCT."""
        rgb, kind = fallback_rgb(source, why)
        top, left, geometry = self._place(batch, pos, rgb.shape[:2], (1, 1), rng, key)
        rows, cols = batch.arrays["blocks"][pos].tolist()
        x, _ = coefficient_window(
            rgb,
            _ALL,
            top=top // 8,
            left=left // 8,
            blocks=max(rows, cols),
            hflip=False,
            separate=False,
        )
        x = np.clip(np.rint(x[:, :rows, :cols]), -32768, 32767).astype(np.int16)

        def blocks(component: int) -> np.ndarray:
            return x[64 * component : 64 * (component + 1)].transpose(1, 2, 0)

        self._write(batch, pos, blocks, np.ones((3, 64), np.uint16), geometry, chroma=True)
        self.policy.record_fallback(name, fallback_reason(why, kind))

    def _place(
        self,
        batch: HostBatch,
        pos: int,
        extent: tuple[int, int],
        factor: tuple[int, int],
        rng: Any,
        key: Any,
    ) -> tuple[int, int, tuple[tuple[float, float], bool]]:
        """Find the cover the transform reads and record where it lies in the image.

        Returns:
            ``(top, left, (scale, colour))``: the cover's origin in pixels (its size in blocks
            is in the ``blocks`` field); the box's ``(vertical, horizontal)`` pixels per output
            pixel, and whether colour transforms mix the planes.
        """
        height, width = extent
        probe = _probe(self.transform, (height, width), rng)
        within = probe.within[0].tolist()
        left_, top_, right_, bottom_ = probe.box[0].tolist()
        out_h, out_w = probe.size
        scale = ((bottom_ - top_) / out_h, (right_ - left_) / out_w)
        (top, bottom), (left, right) = (
            _cover_span(within[1], within[3], factor[0], height),
            _cover_span(within[0], within[2], factor[1], width),
        )
        a = batch.arrays
        a["factors"][pos] = factor
        a["origin"][pos] = (top, left)
        a["blocks"][pos] = ((bottom - top) // 8, (right - left) // 8)
        a["extent"][pos] = (height, width)
        a["rng_key"][pos] = np.asarray(key, np.uint64).view(np.int64)
        return top, left, (scale, bool(probe.colour_ops))

    def _write(
        self,
        batch: HostBatch,
        pos: int,
        blocks: Callable[[int], np.ndarray],
        quant: np.ndarray,
        geometry: tuple[tuple[float, float], bool],
        *,
        chroma: bool,
    ) -> None:
        """Copy a cover's band of frequencies (all 64 unless :attr:`band`) into the slot.

        Covers are packed back to back in the order of the positions (the ``luma`` and
        ``chroma`` fields' memory used flat, :func:`cover_sizes` giving each part), each
        copied once, from the decoder's memory to where it crosses to the device, in the
        decoder's own layout: blocks row by row, each block's frequencies together
        (``(rows, cols, F)``; chroma ``(2, rows, cols, F)``). The device stage transposes.

        Args:
            batch: the slot.
            pos: the sample's position in it (filled in order from 0).
            blocks: ``blocks(component)`` (0 luma, 1 and 2 chroma): int16 (rows, cols, 64),
                the cover's blocks that lie inside the component's grid (a view; fewer rows
                or columns where the cover passes the grid: those are zero).
            quant: (3, 64) quantisation tables.
            geometry: what :meth:`_place` found: the box's scale and whether colour mixes.
            chroma: the file has chroma (else a grayscale file: zero chroma is sent).
        """
        a = batch.arrays
        rows, cols = a["blocks"][pos].tolist()
        fv, fh = a["factors"][pos].tolist()
        chroma_grid = (-(-rows // fv), -(-cols // fh))
        chroma_blocks = chroma_grid[0] * chroma_grid[1]
        ends = batch.meta.setdefault("cover_ends", [])
        del ends[pos:]  # a retried position (bad file) overwrites its own part
        luma_at, chroma_at = ends[-1] if ends else (0, 0)
        luma_flat, chroma_flat = self._room(
            batch, luma_at, 64 * rows * cols, chroma_at, 128 * chroma_blocks
        )
        y = blocks(0)
        band_y = band_c = _EVERY
        if self.band:
            scale, colour = geometry
            kept_y, kept_c = self._kept
            if colour:  # colour maps mix the planes frequency by frequency: each needs all
                kept_y = kept_c = sorted(set(kept_y) | set(kept_c))
            energy = band_energy(y, quant[0], channel_axis=-1)
            band_y = select_band([energy], [kept_y], scale, tolerance=self.tolerance)
        sent = _frequencies(band_y)
        _copy_blocks(y, _part(luma_flat, luma_at, (rows, cols), int(band_y.sum())), sent)
        if not chroma:
            # zero chroma: one zero frequency keeps the layout whole (all 64 without band)
            band_c = _DC_ONLY if self.band else _EVERY
            _part(chroma_flat, chroma_at, (2, *chroma_grid), int(band_c.sum()))[...] = 0
        else:
            cb, cr = blocks(1), blocks(2)
            if self.band:
                energies = [
                    band_energy(b, quant[p], channel_axis=-1) for p, b in ((1, cb), (2, cr))
                ]
                band_c = select_band(
                    energies, [kept_c, kept_c], scale, factor=(fv, fh), tolerance=self.tolerance
                )
            c = _part(chroma_flat, chroma_at, (2, *chroma_grid), int(band_c.sum()))
            sent = _frequencies(band_c)
            _copy_blocks(cb, c[0], sent)
            _copy_blocks(cr, c[1], sent)
        a["quant"][pos] = quant
        a["band"][pos] = np.array([_BITS[band_y].sum(), _BITS[band_c].sum()], np.uint64).view(
            np.int64
        )
        luma_n, chroma_n = int(band_y.sum()), int(band_c.sum())
        ends.append((luma_at + luma_n * rows * cols, chroma_at + 2 * chroma_n * chroma_blocks))

    def finish(self, batch: HostBatch) -> None:
        """Send the packed prefix of the covers (``batch.packed``): each at its own size."""
        ends = batch.meta.get("cover_ends", [])
        luma_end, chroma_end = ends[batch.count - 1] if batch.count else (0, 0)
        batch.packed = {}
        for name, end in (("luma", luma_end), ("chroma", chroma_end)):
            values = batch.arrays[name].reshape(-1)[:end]
            if name not in self.narrow:
                batch.packed[name] = (values, _flat(batch, name, end))
                continue
            narrow, escapes = (_room_for(batch, f"{name}_{p}", end) for p in ("int8", "escapes"))
            m = narrow_int16(values, narrow, escapes)
            batch.packed[f"{name}_int8"] = (narrow[:end], _flat(batch, f"{name}_int8", end))
            batch.packed[f"{name}_escapes"] = (escapes[:m], _flat(batch, f"{name}_escapes", m))

    def _room(
        self, batch: HostBatch, luma_at: int, luma: int, chroma_at: int, chroma: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The slot's flat luma and chroma buffers, with room for ``luma`` and ``chroma`` more.

        A buffer too small is replaced by a larger one holding the values before ``*_at``.
        """
        flats = []
        for name, at, more in (("luma", luma_at, luma), ("chroma", chroma_at, chroma)):
            flat = batch.arrays[name].reshape(-1)
            if at + more > flat.size:
                # a batch of unusually large covers: half as much again, pageable from now on
                grown = np.empty(max(at + more, flat.size * 3 // 2), flat.dtype)
                grown[:at] = flat[:at]
                batch.arrays[name] = flat = grown
                batch.tensors.pop(name, None)
            flats.append(flat)
        return flats[0], flats[1]


#: The cover fields (packed back to back in the slot, each cover at its own size).
_COVERS = ("luma", "chroma")


def _flat(batch: HostBatch, name: str, end: int) -> Any:
    """The first ``end`` values of a slot field's pinned tensor, or None when not pinned."""
    pinned = batch.tensors.get(name)
    return None if pinned is None else pinned.reshape(-1)[:end]


def _room_for(batch: HostBatch, name: str, size: int) -> np.ndarray:
    """A slot field, flat, with room for ``size`` values (replaced, pageable, when smaller)."""
    flat = batch.arrays[name].reshape(-1)
    if flat.size < size:  # its cover field grew for a batch of large covers: so does this
        batch.arrays[name] = flat = np.empty(max(size, flat.size * 3 // 2), flat.dtype)
        batch.tensors.pop(name, None)
    return flat


def cover_sizes(blocks: Any, factors: Any, band: Any) -> tuple[np.ndarray, np.ndarray]:
    """Values per sample of the packed luma and chroma covers, from their blocks and bands.

    Args:
        blocks: (N, 2) luma block rows and columns of each cover.
        factors: (N, 2) chroma subsampling of each sample.
        band: (N, 2) the ``band`` field: the frequencies sent (luma, chroma) as bit masks.

    Returns:
        ``(luma, chroma)``: int64 (N,) each; chroma holds both components.

    Example:
        >>> every = np.array([[-1, -1]])  # all 64 bits
        >>> [int(v[0]) for v in cover_sizes([[3, 4]], [[2, 2]], every)]
        [768, 512]
        >>> [int(v[0]) for v in cover_sizes([[3, 4]], [[2, 2]], np.array([[3, 1]]))]
        [24, 8]
    """
    blocks, factors = np.asarray(blocks, np.int64), np.asarray(factors, np.int64)
    counts = _band_counts(band)
    luma = counts[:, 0] * blocks[:, 0] * blocks[:, 1]
    chroma = (
        2 * counts[:, 1] * (-(-blocks[:, 0] // factors[:, 0])) * (-(-blocks[:, 1] // factors[:, 1]))
    )
    return luma, chroma


def band_frequencies(bits: Any) -> np.ndarray:
    """The natural-order frequencies of one ``band`` mask (int64 holding uint64 bits).

    Example:
        >>> band_frequencies(np.int64(0b1011)).tolist()
        [0, 1, 3]
    """
    word = np.asarray(bits, np.int64).view(np.uint64)
    return np.flatnonzero(word & _BITS)


def _part(flat: np.ndarray, at: int, grid: tuple[int, ...], count: int) -> np.ndarray:
    """The ``(*grid, count)`` view of ``flat`` that starts at value ``at``."""
    return flat[at : at + math.prod(grid) * count].reshape(*grid, count)


def _frequencies(band: np.ndarray) -> np.ndarray | None:
    """The natural-order indices of a (64,) bool band; None for all 64 (a plain copy)."""
    return None if band.all() else np.flatnonzero(band)


def _copy_blocks(window: np.ndarray, out: np.ndarray, freqs: np.ndarray | None) -> None:
    """Copy ``window``'s blocks into the top-left of ``out``, zero past its edge.

    Args:
        window: (r, c, 64) int16 coefficients, ``r <= rows`` and ``c <= cols`` (a view of
            the decoder's plane, :meth:`~freqpipe.jpeg.gather.DecodedJpeg.plane`).
        out: (rows, cols, F) int16, filled.
        freqs: the F natural-order frequencies to copy (None: all 64).
    """
    r, c = window.shape[:2]
    if freqs is None:
        out[:r, :c] = window
    else:
        np.take(window, freqs, axis=2, out=out[:r, :c])
    # a 4:2:0 cover aligned to chroma blocks can reach one luma block past the grid
    out[r:] = 0
    out[:r, c:] = 0


def _band_counts(band: Any) -> np.ndarray:
    """(N, 2) frequencies sent per plane, from the (N, 2) ``band`` masks."""
    words = np.ascontiguousarray(band, np.int64).view(np.uint64)
    return ((words[..., None] & _BITS) != 0).sum(axis=-1)


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
    band = fields["band"].cpu().numpy()
    sizes = cover_sizes(blocks, factors, band)
    luma_at, chroma_at = (np.concatenate([[0], np.cumsum(v)]) for v in sizes)
    origin = fields["origin"].cpu().numpy().astype(np.float64)
    extent = fields["extent"].cpu().numpy()
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
            # the frequencies sent land at their places; the others stay zero
            fy, fc = (torch.as_tensor(band_frequencies(b), device=device) for b in band[i])
            # the worker's layout: blocks row by row, each block's frequencies together
            part = luma[luma_at[i] : luma_at[i + 1]].view(r, k, len(fy)).permute(2, 0, 1)
            y[j][fy, :r, :k] = part.float()
            part = chroma[chroma_at[i] : chroma_at[i + 1]].view(2, cr, ck, len(fc))
            c[j][:, fc, :cr, :ck] = part.permute(0, 3, 1, 2).float()
        q = quant[idx]
        planes = [y * q[:, 0, :, None, None]] + [
            c[:, p] * q[:, p + 1, :, None, None] for p in (0, 1)
        ]
        batch = DctBatch(
            planes,
            [(1, 1), factor, factor],
            torch.from_numpy(extent[members]),
            [np.random.default_rng([int(k) for k in keys[i]]) for i in members],
        )
        batch = transform(batch)
        shift = origin[members][:, [1, 0, 1, 0]]  # (left, top, left, top)
        batch.box = batch.box - shift
        own = 8 * blocks[members][:, ::-1]  # each cover's (width, height)
        real = np.minimum(extent[members][:, ::-1] - shift[:, :2], own)  # pixels it holds
        within = batch.within - shift.astype(np.int64)
        batch.within = np.minimum(
            np.maximum(within, 0), np.concatenate([real, real], 1).astype(np.int64)
        )
        batch.extent = torch.from_numpy(real[:, ::-1].astype(np.int64))
        x = torch.cat(batch.render(wanted), dim=1).float()
        if mean is not None:
            m = torch.as_tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
            s = torch.as_tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
            x = (x - m) / s
        out[idx] = batch.apply_erasing(x)
    return out
