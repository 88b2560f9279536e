"""Crop, flip and select JPEG coefficients straight into caller buffers (native, no GIL).

:func:`decode_jpeg` entropy-decodes a file once and keeps libjpeg's coefficient arrays;
:meth:`DecodedJpeg.gather` then writes any block window of a component, flipped and with only
the chosen frequencies, channel-first into a caller's int16 slot (a view into a pinned batch
buffer), with zero padding outside the image. :func:`gather_coefficients` does both for one
window of all three planes; :func:`gather_planes` fills a loader slot, and with separate chroma
brings 4:4:4, 4:2:2 and 4:4:0 chroma to the 4:2:0 grid in the DCT domain
(:func:`~freqpipe.transforms.downscale.subsample_dct`). The NumPy reference is
:func:`freqpipe.transforms.gather_blocks`; the tests compare the two exhaustively.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from freqpipe.errors import InvalidArgumentError, ShapeError, UnsupportedJpegError
from freqpipe.jpeg.reader import (
    DEFAULT_MAX_PIXELS,
    JpegSource,
    _borrowed_plane,
    _native,
    _translate,
    open_decoder,
    run_decode,
    sample_path,  # noqa: F401  (the doctests' sample)
)
from freqpipe.jpeg.scans import selection_masks
from freqpipe.transforms import Selection, hflip_dct
from freqpipe.transforms.downscale import subsample_axis
from freqpipe.transforms.resize import apply_dct_matrices

__all__ = ["DecodedJpeg", "FrameHeader", "decode_jpeg", "gather_coefficients"]


class FrameHeader(NamedTuple):
    """What a JPEG's header says of its frame, before any coefficient is decoded.

    Attributes:
        width: image width in pixels.
        height: image height in pixels.
        sampling: (h, v) sampling factors per component.
        grids: (Hb, Wb) block grid per component.
    """

    width: int
    height: int
    sampling: tuple[tuple[int, int], ...]
    grids: tuple[tuple[int, int], ...]

    def repeat(self, component: int) -> tuple[int, int] | None:
        """:meth:`DecodedJpeg.repeat` from the header: None where it would raise.

        Example:
            >>> FrameHeader(640, 480, ((2, 2), (1, 1), (1, 1)), ((60, 80), (30, 40))).repeat(1)
            (2, 2)
        """
        return _repeat(self.sampling, component)


def _repeat(sampling: tuple[tuple[int, int], ...], component: int) -> tuple[int, int] | None:
    (yh, yv), (h, v) = sampling[0], sampling[component]
    return None if yh % h or yv % v else (yv // v, yh // h)


@dataclass(frozen=True, eq=False)
class DecodedJpeg:
    """One JPEG, entropy-decoded, its coefficients held in libjpeg's memory until collected.

    Attributes:
        width: image width in pixels.
        height: image height in pixels.
        colorspace: ``"gray"``, ``"ycbcr"``, ``"rgb"``, ``"cmyk"``, ``"ycck"`` or
            ``"unknown"``, as stored.
        sampling: (h, v) sampling factors per component.
        grids: (Hb, Wb) block grid per component (``ceil(size / 8)`` of its samples).
        quant: uint16 (ncomp, 64) quantisation tables, natural order.
        source: the file name or ``"<bytes>"``.
        complete: every coefficient was read (False: a progressive file read only up to the
            last scan ``select`` needs, or only around ``block_rows``; the other coefficients
            unspecified).
        block_rows: the luma block rows ``[start, stop)`` asked for, or None (all). Blocks of
            other rows may not have been read (zero today).
        bytes_read: bytes of the file handed to the decoder (a scan prefix with ``select``).
        total_bytes: the file's size.
    """

    width: int
    height: int
    colorspace: str
    sampling: tuple[tuple[int, int], ...]
    grids: tuple[tuple[int, int], ...]
    quant: np.ndarray
    source: str
    complete: bool
    _decoder: Any
    bytes_read: int = 0
    total_bytes: int = 0
    block_rows: tuple[int, int] | None = None

    @property
    def frame(self) -> FrameHeader:
        """What the header says of the frame (what a ``block_rows`` function is given).

        Example:
            >>> decode_jpeg(sample_path()).frame.grids[0]
            (51, 80)
        """
        return FrameHeader(self.width, self.height, self.sampling, self.grids)

    def repeat(self, component: int) -> tuple[int, int]:
        """Block repetition ``(rep_v, rep_h)`` that aligns a component with the luma grid.

        Args:
            component: component index.

        Returns:
            ``(2, 2)`` for 4:2:0 chroma, ``(1, 2)`` for 4:2:2, ``(1, 1)`` for luma.

        Raises:
            UnsupportedJpegError: the factors are not integer ratios of the luma factors.

        Example:
            >>> decode_jpeg(sample_path()).repeat(1)
            (2, 2)
        """
        rep = _repeat(self.sampling, component)
        if rep is None:
            raise UnsupportedJpegError(
                f"sampling factors {self.sampling} are not integer ratios of the luma factors",
                source=self.source,
            )
        return rep

    def halving(self, component: int) -> tuple[int, int]:
        """Subsampling ``(v, h)`` that brings a component to the 4:2:0 chroma grid.

        Each axis is either already subsampled 2x against luma (1: keep it) or not at all (2:
        halve it): ``(1, 1)`` for 4:2:0 chroma, ``(2, 2)`` for 4:4:4, ``(2, 1)`` for 4:2:2,
        ``(1, 2)`` for 4:4:0.

        Args:
            component: a chroma component's index.

        Returns:
            ``(v, h)``, each 1 or 2.

        Raises:
            UnsupportedJpegError: a sampling that halving cannot bring there (4:1:1, 4:1:0,
                factors of 3), naming the file and its factors.

        Example:
            >>> decode_jpeg(sample_path()).halving(1)
            (1, 1)
        """
        rep = self.repeat(component)
        if any(r not in (1, 2) for r in rep):
            raise UnsupportedJpegError(
                f"chroma sampling {self.sampling} (component {component} repeated {rep} onto "
                "luma) does not reach the 4:2:0 grid by halving; chroma='separate' takes "
                "4:2:0, 4:2:2, 4:4:0 and 4:4:4",
                source=self.source,
            )
        return 2 // rep[0], 2 // rep[1]

    def samples(self, component: int) -> tuple[int, int]:
        """``(rows, cols)`` of a component in its own samples (libjpeg's downsampled size).

        Example:
            >>> d = decode_jpeg(sample_path())
            >>> (d.height, d.width), d.samples(1)
            ((408, 640), (204, 320))
        """
        vmax = max(v for _, v in self.sampling)
        hmax = max(h for h, _ in self.sampling)
        h, v = self.sampling[component]
        return -(-self.height * v // vmax), -(-self.width * h // hmax)

    def plane(self, component: int) -> np.ndarray:
        """One component's quantised coefficients where libjpeg holds them: no copy.

        Args:
            component: component index (0 = Y).

        Returns:
            Read-only int16 (Hb, Wb, 64) view, natural order (``grids[component]`` blocks),
            valid as long as it is referenced (it keeps the decoder alive). Of a file read
            with ``select``, only the coefficients the selection needs are specified.

        Raises:
            InvalidArgumentError: no such component.

        Example:
            >>> d = decode_jpeg(sample_path())
            >>> p = d.plane(0)
            >>> p.shape, p.dtype.name, p.flags.writeable
            ((51, 80, 64), 'int16', False)
        """
        if not 0 <= component < len(self.grids):
            raise InvalidArgumentError(
                f"component {component} out of range for {len(self.grids)} components"
            )
        view = _borrowed_plane(self._decoder, component, (*self.grids[component], 64))
        view.flags.writeable = False
        return view

    def gather(
        self,
        component: int,
        out: Any,
        freqs: Sequence[int] | np.ndarray | bytes,
        *,
        top: int,
        left: int,
        hflip: bool = False,
        repeat: tuple[int, int] = (1, 1),
        bounds: tuple[int, int] | None = None,
    ) -> Any:
        """Write a window of one component, channel-first, into ``out`` (GIL released).

        Output block ``(r, c)`` is the block at position ``(top + r, left + c)`` of the
        component's grid with each block repeated ``repeat`` times (flipped columns when
        ``hflip``); positions outside the grid or outside ``bounds`` are zero.

        Args:
            component: component index (0 = Y).
            out: writable C-contiguous int16 array (F, rows, cols), F = ``len(freqs)``.
            freqs: natural-order frequencies 0..63 to keep, in output order.
            top: first row of the window on the repeated grid (may be negative: padding).
            left: first column of the window on the repeated grid (may be negative).
            hflip: flip horizontally (columns reversed, odd-u negated; conventions §1).
            repeat: ``(rep_v, rep_h)`` block repetition (see :meth:`repeat`).
            bounds: ``(rows, cols)`` of the repeated grid that hold data (e.g. the luma grid,
                so repeated chroma beyond the image is padded like luma); default all of it.

        Returns:
            ``out``.

        Raises:
            InvalidArgumentError: a bad ``out``, ``freqs`` or ``repeat``.

        Example:
            >>> d = decode_jpeg(sample_path())
            >>> out = np.empty((2, 3, 4), np.int16)
            >>> d.gather(0, out, [0, 1], top=-1, left=0)[:, 0].tolist()
            [[0, 0, 0, 0], [0, 0, 0, 0]]
        """
        arr = np.asarray(out)
        fb = freqs if isinstance(freqs, bytes) else bytes(np.asarray(freqs, np.uint8))
        if arr.dtype != np.int16 or arr.ndim != 3 or arr.shape[0] != len(fb):
            raise InvalidArgumentError(
                f"out must be int16 (F={len(fb)}, rows, cols), got {arr.dtype} {arr.shape}"
            )
        if not arr.flags.c_contiguous or not arr.flags.writeable:
            raise InvalidArgumentError("out must be a writable C-contiguous array")
        if not 0 <= component < len(self.grids):
            raise InvalidArgumentError(
                f"component {component} out of range for {len(self.grids)} components"
            )
        br, bc = bounds if bounds is not None else (-1, -1)
        try:
            self._decoder.gather(
                component,
                arr,
                fb,
                top,
                left,
                arr.shape[1],
                arr.shape[2],
                bool(hflip),
                int(repeat[0]),
                int(repeat[1]),
                int(br),
                int(bc),
            )
        except ValueError as exc:
            raise InvalidArgumentError(str(exc)) from None
        except _native().DecodeError as exc:  # pragma: no cover - in-memory arrays
            raise _translate(exc, self.source) from None
        return out


def decode_jpeg(
    src: JpegSource,
    *,
    strict: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    select: Selection | str | None = None,
    block_rows: tuple[int, int] | Callable[[FrameHeader], tuple[int, int]] | None = None,
) -> DecodedJpeg:
    """Entropy-decode a JPEG once, keeping its coefficients for :meth:`DecodedJpeg.gather`.

    Args:
        src: a path, the file's bytes, a binary file object, or a
            :class:`~freqpipe.jpeg.scans.ScanPrefix` (with ``select``: read without a marker
            walk).
        strict: raise on any corruption (default), as :func:`read_coefficients`.
        max_pixels: refuse larger images before allocating; None disables the check.
        select: the channels that will be gathered (Y, Cb, Cr planes = components 0, 1, 2;
            a fourth component is read whole). A progressive file is then read only up to
            the last scan they need (a frequency-ordered file, :func:`reorder_jpeg`, stops
            early) and the other coefficients are unspecified. None reads everything.
        block_rows: the luma block rows ``[start, stop)`` that will be gathered (every
            component's blocks covering the same image rows are kept), or a function of the
            file's :class:`FrameHeader` returning them once the header is read (e.g. a loader
            drawing a random window). A file with restart markers that freqpipe's
            spectral decoder reads (:func:`reorder_jpeg` writes one per MCU row) then has its
            restart intervals outside those rows skipped unread, and a sequential file stops
            after the last iMCU row they need: neither decoded nor checked, their coefficients
            unspecified. Other progressive files are read whole. None: all rows.

    Returns:
        The decoded file.

    Raises:
        NotAJpegError, UnsupportedJpegError, CorruptJpegError, ImageTooLargeError: as
            :func:`~freqpipe.jpeg.read_coefficients`.

    Example:
        >>> d = decode_jpeg(sample_path())
        >>> d.grids[0], d.sampling[1], d.quant.dtype.name
        ((51, 80), (1, 1), 'uint16')
    """
    masks_for = None if select is None else partial(selection_masks, Selection.from_spec(select))
    decoder, name, extent = open_decoder(
        src, strict=strict, max_pixels=max_pixels, masks_for=masks_for
    )
    header = decoder.header
    comps = header["components"]
    n = len(comps)
    sampling = tuple((c["h"], c["v"]) for c in comps)
    grids = tuple((c["height_in_blocks"], c["width_in_blocks"]) for c in comps)
    frame = FrameHeader(header["width"], header["height"], sampling, grids)
    rows = block_rows(frame) if callable(block_rows) else block_rows
    pixel_rows = None if rows is None else _pixel_rows(rows, header)
    # Outs of None copy nothing: gather() later reads libjpeg's arrays in place.
    _, quant_bytes, _ = run_decode(decoder, name, [None] * n, list(range(n)), [b""] * n, pixel_rows)
    return DecodedJpeg(
        width=header["width"],
        height=header["height"],
        colorspace=header["colorspace"],
        sampling=sampling,
        grids=grids,
        quant=np.frombuffer(b"".join(quant_bytes), dtype=np.uint16).reshape(n, 64),
        source=name,
        complete=(select is None or not header["progressive"]) and pixel_rows is None,
        _decoder=decoder,
        bytes_read=extent.bytes_read,
        total_bytes=extent.total_bytes,
        block_rows=None if rows is None else (int(rows[0]), int(rows[1])),
    )


def _pixel_rows(rows: Any, header: dict[str, Any]) -> tuple[int, int] | None:
    """Luma block rows ``[start, stop)`` as the image rows they cover (None: all of them)."""
    try:
        start, stop = (int(r) for r in rows)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"block_rows must be (start, stop) luma block rows, got {rows!r}", value=rows
        ) from None
    comps = header["components"]
    vmax = max(c["v"] for c in comps)
    # image rows per luma block row: 8 luma samples, each vmax / v0 image rows
    y0 = max(start, 0) * 8 * vmax // comps[0]["v"]
    y1 = min(-(-max(stop, 0) * 8 * vmax // comps[0]["v"]), header["height"])
    if y0 <= 0 and y1 >= header["height"]:
        return None
    return (min(y0, y1), y1) if y1 > 0 else (0, 0)


def gather_coefficients(
    src: JpegSource | DecodedJpeg,
    selection: Selection | str,
    *,
    top: int,
    left: int,
    height: int,
    width: int,
    hflip: bool = False,
    out: Any = None,
    strict: bool = True,
) -> tuple[Any, np.ndarray]:
    """Selected quantised channels of a luma-block window, chroma repeated onto the luma grid.

    The native counterpart of :func:`freqpipe.transforms.gather_blocks` (``chroma`` aligned
    by repetition), reading the file itself and padding with zeros where the window leaves
    the image (the luma grid). A grayscale file has zero chroma (the DCT of a flat 128 plane).

    Args:
        src: a JPEG (path, bytes, file object) or an already :func:`decode_jpeg`-ed file.
        selection: channels to keep (a :class:`~freqpipe.transforms.Selection` or preset).
        top: first luma block row (negative pads above).
        left: first luma block column (negative pads on the left).
        height: block rows of the window.
        width: block columns of the window.
        hflip: flip the window horizontally.
        out: optional int16 (C, height, width) C-contiguous array to fill.
        strict: as :func:`~freqpipe.jpeg.read_coefficients`.

    Returns:
        ``(coefficients, quant)``: int16 (C, height, width), quantised; uint16 (C,) the
        quantisation value of each channel (1 for the zero chroma of a grayscale file).

    Raises:
        UnsupportedJpegError: CMYK/YCCK/RGB-stored files, or non-integer chroma sampling.
        ShapeError: ``out`` of the wrong shape.

    Example:
        >>> q, qt = gather_coefficients(sample_path(), "dct24", top=0, left=0, height=4, width=4)
        >>> q.shape, q.dtype.name, qt.shape
        ((24, 4, 4), 'int16', (24,))
    """
    sel = Selection.from_spec(selection)
    dec = src if isinstance(src, DecodedJpeg) else decode_jpeg(src, strict=strict)
    n = len(sel)
    if out is None:
        out = np.empty((n, height, width), np.int16)
    elif tuple(out.shape) != (n, height, width):
        raise ShapeError(f"out must have shape {(n, height, width)}, got {tuple(out.shape)}")
    quant = np.ones(n, np.uint16)
    gather_planes(dec, sel, out, quant, top=top, left=left, hflip=hflip)
    return out, quant


def gather_planes(
    dec: DecodedJpeg,
    sel: Selection,
    out: Any,
    quant: np.ndarray,
    *,
    top: int,
    left: int,
    hflip: bool,
    chroma_out: Any = None,
    chroma_quant: Any = None,
) -> None:
    """Fill one image's slot: luma-grid window ``out`` (and ``chroma_out`` when separate).

    With ``chroma_out`` None every plane is aligned to the luma grid by repetition; otherwise
    chroma channels go to ``chroma_out`` on the 4:2:0 grid at ``(top // 2, left // 2)`` (``top``
    and ``left`` even): 4:2:0 chroma as coded, other chroma subsampled there by
    :func:`~freqpipe.transforms.downscale.subsample_dct` and rounded to integers, with quant
    values of 1. ``quant`` (and ``chroma_quant``) receive each channel's quantisation value.

    Raises:
        UnsupportedJpegError: a non-YCbCr file, or separate chroma of a sampling that does
            not reach the 4:2:0 grid (:meth:`DecodedJpeg.halving`).
        InvalidArgumentError: separate chroma to subsample from a partial read
            (``decode_jpeg(select=...)`` of a progressive file).
    """
    if dec.colorspace not in ("ycbcr", "gray"):
        raise UnsupportedJpegError(
            f"colorspace {dec.colorspace!r}: only YCbCr and grayscale JPEGs carry YCbCr "
            "coefficients",
            source=dec.source,
        )
    bounds = dec.grids[0]
    start = cstart = 0
    for plane, ks in enumerate(sel.per_plane):
        if ks.size == 0:
            continue
        separate = chroma_out is not None and plane > 0
        dst_all, q_all = (chroma_out, chroma_quant) if separate else (out, quant)
        first = cstart if separate else start
        dst = dst_all[first : first + ks.size]
        if plane >= len(dec.grids):  # grayscale: chroma is exactly zero
            dst[...] = 0
            q_all[first : first + ks.size] = 1
        elif separate:
            halve = dec.halving(plane)
            chroma_bounds = (-(-bounds[0] // 2), -(-bounds[1] // 2))
            if halve == (1, 1):
                dec.gather(
                    plane,
                    dst,
                    ks,
                    top=top // 2,
                    left=left // 2,
                    hflip=hflip,
                    bounds=chroma_bounds,
                )
                q_all[first : first + ks.size] = dec.quant[plane][ks]
            else:
                _gather_halved(
                    dec, plane, dst, ks, (top // 2, left // 2), halve, chroma_bounds, hflip
                )
                q_all[first : first + ks.size] = 1
        else:
            rep = dec.repeat(plane)
            dec.gather(plane, dst, ks, top=top, left=left, hflip=hflip, repeat=rep, bounds=bounds)
            q_all[first : first + ks.size] = dec.quant[plane][ks]
        if separate:
            cstart += ks.size
        else:
            start += ks.size
    if start != out.shape[0]:
        raise ShapeError(f"out has {out.shape[0]} channels, the selection fills {start}")


def _gather_halved(
    dec: DecodedJpeg,
    component: int,
    out: Any,
    freqs: np.ndarray,
    origin: tuple[int, int],
    halve: tuple[int, int],
    bounds: tuple[int, int],
    hflip: bool,
) -> None:
    """A window of a full-resolution chroma component on the 4:2:0 grid, rounded into ``out``.

    Only the output blocks inside the image are computed, from the input blocks their filter
    reads; the window's other blocks are zero, as the native gather pads.
    """
    if not dec.complete:
        raise InvalidArgumentError(
            f"{dec.source}: subsampling chroma to the 4:2:0 grid needs every coefficient; "
            "decode_jpeg(select=...) read this progressive file only in part"
        )
    t_v, t_h = (
        subsample_axis(n, b, f)
        for n, b, f in zip(dec.samples(component), dec.grids[component], halve)
    )
    window = np.zeros(out.shape)
    (top, left), (rows, cols) = origin, out.shape[1:]
    r0, r1 = max(top, 0), min(top + rows, bounds[0], t_v.shape[0] // 8)
    c0, c1 = max(left, 0), min(left + cols, bounds[1], t_h.shape[0] // 8)
    if r1 > r0 and c1 > c0:
        t_v, t_h = t_v[8 * r0 : 8 * r1], t_h[8 * c0 : 8 * c1]
        (i0, i1), (j0, j1) = _blocks_read(t_v), _blocks_read(t_h)
        q = np.empty((64, i1 - i0, j1 - j0), np.int16)
        dec.gather(component, q, np.arange(64), top=i0, left=j0)
        c = q * dec.quant[component].astype(np.float64)[:, None, None]
        window[:, r0 - top : r1 - top, c0 - left : c1 - left] = apply_dct_matrices(
            c, t_v[:, 8 * i0 : 8 * i1], t_h[:, 8 * j0 : 8 * j1], freqs
        )
    if hflip:
        window = hflip_dct(window, frequencies=freqs)
    np.copyto(out, np.clip(np.rint(window), -32768, 32767), casting="unsafe")


def _blocks_read(t: np.ndarray) -> tuple[int, int]:
    """The input blocks ``[first, stop)`` that rows of a coefficient matrix read."""
    used = np.flatnonzero(np.any(t != 0, axis=0))
    return int(used[0]) // 8, int(used[-1]) // 8 + 1
