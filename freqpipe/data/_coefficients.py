"""Coefficient source: selected quantised DCT channels straight from the JPEG bitstream.

Per sample (in a worker thread, GIL released in the native parts): entropy-decode, choose a
block-aligned window at native resolution (random + random flip when training, centred for
evaluation), and gather only the selected channels, cropped and flipped, channel-first into the
batch slot (:meth:`freqpipe.jpeg.DecodedJpeg.gather`), with each channel's quant value.

Geometry rules (documented on :class:`~freqpipe.data.FreqLoader`):
- the window is ``size / 8`` luma blocks square, placed by
  :func:`freqpipe.transforms.windows.choose_window` (torchvision's CenterCrop rule on the block
  grid for evaluation, uniform for training); an image smaller than that is zero-padded;
- ``chroma="upsample"``: chroma blocks are repeated onto the luma grid, so any luma block
  offset stays aligned; ``chroma="separate"``: chroma on the 4:2:0 grid (size / 16), the window
  offsets are even; 4:4:4, 4:2:2 and 4:4:0 chroma is subsampled there in the DCT domain
  (:meth:`freqpipe.jpeg.DecodedJpeg.halving`, conventions §9), rounded, with quant values 1;
- files without YCbCr coefficients in that layout (CMYK/YCCK/RGB-stored JPEGs, 4:1:1-like
  chroma with ``separate``, PNGs named ``.jpg``) go through the Pillow fallback
  (:mod:`freqpipe.jpeg.fallback`): unit quant values, the pixel source's block DCT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from freqpipe.data._batch import BatchSpec, HostBatch, SampleRng
from freqpipe.data._packing import TransferPacking, dc_flags
from freqpipe.data._source import ErrorPolicy, SampleSource
from freqpipe.errors import UnsupportedJpegError
from freqpipe.jpeg import DEFAULT_MAX_PIXELS, decode_jpeg
from freqpipe.jpeg.fallback import coefficient_window, fallback_reason, fallback_rgb
from freqpipe.jpeg.gather import DecodedJpeg, FrameHeader, gather_planes
from freqpipe.transforms import Selection
from freqpipe.transforms.windows import choose_window

__all__ = ["CoefficientBatchReader", "CoefficientSource"]


class CoefficientSource(SampleSource):
    """Fills slots with quantised selected channels and their quant values.

    Args:
        dataset: map-style ``(path or bytes, label)`` dataset.
        policy: bad-file policy.
        selection: channels.
        size: crop side in pixels (a multiple of 8; of 16 with ``separate``).
        batch_size: samples per slot.
        chroma: ``"upsample"`` or ``"separate"``.
        train: random windows and flips.
        transfer: ``"int16"``, or ``"int8"``: also pack each batch plane by plane
            (:mod:`freqpipe.data._packing`), which crosses instead.
        max_pixels: the reader's decompression-bomb guard.
        strict: raise on damaged data (True) or accept what libjpeg recovers.
    """

    produces = "coefficients"

    def __init__(
        self,
        dataset: Any,
        policy: ErrorPolicy,
        *,
        selection: Selection,
        size: int,
        batch_size: int,
        chroma: str,
        train: bool,
        transfer: str = "int16",
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        strict: bool = True,
    ):
        super().__init__(dataset, policy)
        self.strict = strict
        self.selection = selection
        self.blocks = size // 8
        self.chroma = chroma
        self.train = train
        self.transfer = transfer
        self.max_pixels = max_pixels
        n = self.blocks
        y, cb, cr = (int(p.size) for p in selection.per_plane)
        fields: dict[str, tuple[tuple[int, ...], str]]
        if chroma == "separate":
            fields = {"coefficients": ((y, n, n), "int16"), "quant": ((y,), "uint16")}
            fields["chroma_coefficients"] = ((cb + cr, n // 2, n // 2), "int16")
            fields["chroma_quant"] = ((cb + cr,), "uint16")
        else:
            fields = {
                "coefficients": ((y + cb + cr, n, n), "int16"),
                "quant": ((y + cb + cr,), "uint16"),
            }
        self.packing = (
            TransferPacking(fields, dc_flags(selection, separate=chroma == "separate"))
            if transfer == "int8"
            else None
        )
        if self.packing is not None:
            fields.update(self.packing.fields)
        self.spec = BatchSpec(batch_size, fields)

    def _layout_problem(self, dec: DecodedJpeg) -> str | None:
        """Why this JPEG has no YCbCr coefficients in the layout asked for (None: it has)."""
        if dec.colorspace not in ("ycbcr", "gray"):
            return f"{dec.colorspace.upper()} JPEG (no YCbCr coefficients)"
        if self.chroma == "separate":
            try:
                for p in range(1, len(dec.grids)):
                    dec.halving(p)
            except UnsupportedJpegError as exc:
                return exc.reason
        return None

    def _decode(
        self, source: Any, name: str, select: Selection | None, block_rows: Any = None
    ) -> DecodedJpeg:
        dec = decode_jpeg(
            source,
            strict=self.strict,
            max_pixels=self.max_pixels,
            select=select,
            block_rows=block_rows,
        )
        if dec.source == "<bytes>":
            object.__setattr__(dec, "source", name)
        return dec

    def load_one(self, batch: HostBatch, pos: int, source: Any, name: str, rng: Any) -> None:
        """Decode one file and gather its window into ``batch`` position ``pos``.

        Files without YCbCr coefficients in the asked layout (CMYK/YCCK/RGB-stored JPEGs,
        4:1:1-like chroma with ``separate``, other formats such as PNG) go through the Pillow
        fallback; a file Pillow cannot read either raises the reader's error.
        """
        separate = self.chroma == "separate"
        window: list[tuple[int, int, bool]] = []

        def window_rows(frame: FrameHeader) -> tuple[int, int]:
            # drawn once the header gives the grid, so the decoder can skip the other rows
            window.append(
                choose_window(
                    frame.grids[0],
                    self.blocks,
                    train=self.train,
                    rng=rng,
                    align=2 if separate else 1,
                )
            )
            top = window[0][0]
            return top, top + self.blocks

        partial = self.read_whole()  # the first read of a file checks all of it
        try:
            dec = self._decode(source, name, self.selection, window_rows if partial else None)
        except UnsupportedJpegError as exc:  # NotAJpegError included: maybe a PNG
            self._fallback(batch, pos, source, name, rng, exc)
            return
        if not partial:
            self.mark_read_whole()
            window_rows(dec.frame)
        problem = self._layout_problem(dec)
        if problem is not None:
            self._fallback(batch, pos, source, name, rng, problem)
            return
        halved = separate and any(dec.halving(p) != (1, 1) for p in range(1, len(dec.grids)))
        if halved and not dec.complete:
            # subsampling reads every chroma frequency and row, past what the window needs
            dec = self._decode(source, name, None)
        top, left, flip = window[0]
        a = batch.arrays
        gather_planes(
            dec,
            self.selection,
            a["coefficients"][pos],
            a["quant"][pos],
            top=top,
            left=left,
            hflip=flip,
            chroma_out=a["chroma_coefficients"][pos] if separate else None,
            chroma_quant=a["chroma_quant"][pos] if separate else None,
        )

    def _fallback(
        self, batch: HostBatch, pos: int, source: Any, name: str, rng: Any, why: Any
    ) -> None:
        """Fill position ``pos`` from Pillow's RGB decode (unit quant values)."""
        rgb, kind = fallback_rgb(source, why)
        separate = self.chroma == "separate"
        grid = (-(-rgb.shape[0] // 8), -(-rgb.shape[1] // 8))
        top, left, flip = choose_window(
            grid, self.blocks, train=self.train, rng=rng, align=2 if separate else 1
        )
        x, c = coefficient_window(
            rgb,
            self.selection,
            top=top,
            left=left,
            blocks=self.blocks,
            hflip=flip,
            separate=separate,
        )
        a = batch.arrays
        np.copyto(a["coefficients"][pos], np.clip(np.rint(x), -32768, 32767), casting="unsafe")
        a["quant"][pos] = 1
        if c is not None:
            np.copyto(
                a["chroma_coefficients"][pos], np.clip(np.rint(c), -32768, 32767), casting="unsafe"
            )
            a["chroma_quant"][pos] = 1
        self.policy.record_fallback(name, fallback_reason(why, kind))

    def finish(self, batch: HostBatch) -> None:
        """With the int8 transfer, pack the batch's quantised fields for the device."""
        batch.meta["transfer"] = "int16" if self.packing is None else "int8"
        if self.packing is not None:
            self.packing.pack(batch)


class CoefficientBatchReader:
    """FreqLoader's coefficient source outside the loader: the batch of given indices.

    For pipelines that schedule reads themselves (DALI's ``external_source``): the same
    windows, flips and bad-file policy as ``FreqLoader(dataset, train=train)`` with the same
    per-sample streams (:class:`~freqpipe.data.SampleRng` of ``(seed, epoch, index)``).

    Args:
        dataset: a map-style dataset of ``(path or bytes, label)``.
        selection: the channels to read.
        size: crop side in pixels (a multiple of 8).
        batch_size: the most indices one :meth:`read` takes.
        train: random windows and flips; otherwise centred windows.
        on_error: ``"raise"``, ``"skip"`` or ``"warn"``, as FreqLoader's.

    Example:
        >>> from freqpipe._samples import sample_files
        >>> from freqpipe.data import JpegFileList
        >>> from freqpipe.transforms import Selection
        >>> reader = CoefficientBatchReader(
        ...     JpegFileList(sample_files()), Selection.preset("dct24"), size=64, batch_size=2,
        ...     train=False)
        >>> fields, labels = reader.read([0, 1], seed=0, epoch=0)
        >>> fields["coefficients"].shape, fields["quant"].shape, labels.tolist()
        ((2, 24, 8, 8), (2, 24), [0, 0])
    """

    def __init__(
        self,
        dataset: Any,
        selection: Selection,
        *,
        size: int,
        batch_size: int,
        train: bool,
        on_error: str = "raise",
    ):
        self._source = CoefficientSource(
            dataset,
            ErrorPolicy(on_error),
            selection=selection,
            size=size,
            batch_size=batch_size,
            chroma="upsample",
            train=train,
        )
        self._slot = HostBatch.allocate(self._source.spec, pinned=False)

    def read(
        self, indices: Sequence[int], *, seed: int, epoch: int
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Read the samples ``indices``.

        Returns:
            ``(fields, labels)``: ``{"coefficients": int16 (N, C, size/8, size/8), "quant":
            uint16 (N, C)}`` and int64 (N,), arrays of their own.
        """
        self._source.fill(self._slot, list(indices), SampleRng(seed, epoch))
        fields = {k: self._slot.view(k).copy() for k in ("coefficients", "quant")}
        return fields, self._slot.labels[: self._slot.count].copy()
