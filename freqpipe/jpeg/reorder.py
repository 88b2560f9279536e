"""Lossless frequency-ordered JPEG: the scans a channel selection needs come first.

:func:`reorder_jpeg` rewrites a JPEG's quantised coefficients, untouched, as a progressive
file whose scan script follows a list of channel selections: one DC scan, then for each
selection in turn and per component the zigzag band that completes it, then the rest.
Spectral selection only (no successive approximation), so the prefix that ends after a
selection's last scan holds that selection's coefficients exactly, and
:func:`~freqpipe.read_coefficients` (or the loader) asked for them stops there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from freqpipe.errors import CorruptJpegError, InvalidArgumentError
from freqpipe.jpeg._ext import native
from freqpipe.jpeg.reader import _MAX_SCANS, DEFAULT_MAX_PIXELS, JpegSource, _load, _translate
from freqpipe.jpeg.scans import ScanTable, prefix_end, scan_table, selection_wanted
from freqpipe.transforms import NATURAL_TO_ZIGZAG, Selection

__all__ = ["DEFAULT_ORDER", "order_ends", "prefix_lengths", "reorder_jpeg"]

#: The default order: DCTNet's smallest useful selections first, then everything.
DEFAULT_ORDER: tuple[str, ...] = ("dct6", "dct24", "dct64", "all")

_MAX_SELECTIONS = 64  # the native script's capacity (REORDER_MAX_SEL)


def _selections(order: Sequence[Selection | str]) -> list[Selection]:
    if isinstance(order, (str, Selection)):
        order = [order]
    chosen = [Selection.from_spec(s) for s in order]
    if not chosen or len(chosen) > _MAX_SELECTIONS:
        raise InvalidArgumentError(
            f"order must name 1..{_MAX_SELECTIONS} selections, got {len(chosen)}"
        )
    return chosen


def order_ends(order: Sequence[Selection | str]) -> np.ndarray:
    """Last zigzag rank each selection of ``order`` needs, per component slot.

    Args:
        order: selections (or preset names), smallest first.

    Returns:
        uint8 (len(order), 4): Y, Cb, Cr and a fourth component (CMYK's K, which gets the
        largest of the three). 0 means nothing past DC.

    Raises:
        SelectionError: an unknown preset name.
        InvalidArgumentError: no selection, or more than 64.

    Example:
        >>> order_ends(["dct6", "dct24"]).tolist()
        [[4, 0, 0, 4], [24, 4, 4, 24]]
    """
    rows = []
    for sel in _selections(order):
        ends = [int(NATURAL_TO_ZIGZAG[p].max()) if p.size else 0 for p in sel.per_plane]
        rows.append([*ends, max(ends)])
    return np.asarray(rows, dtype=np.uint8)


def reorder_jpeg(
    src: JpegSource,
    order: Sequence[Selection | str] = DEFAULT_ORDER,
    *,
    strip: bool = False,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    restart_rows: int = 1,
) -> bytes:
    """Rewrite a JPEG losslessly so the scans each selection needs come first.

    Native (libjpeg-turbo, GIL released): ``jpeg_read_coefficients``, then
    ``jpeg_write_coefficients`` with a spectral-selection scan script built from ``order``
    and optimised Huffman tables. Every coefficient, quantisation table and sampling factor
    is kept, so every decoder gives the same pixels; arithmetic coding is not kept (the
    output is Huffman-coded progressive). A progressive original cut short
    before its last refinement scans keeps exactly the coefficients it holds, but decoders
    smooth such an original's missing bits, so its pixels can differ from the rewrite's.

    Args:
        src: a path, the file's bytes or a binary file object (any JPEG the reader accepts).
        order: selections (:class:`~freqpipe.transforms.Selection` or preset names), each
            completed by the scans after the previous one's; components beyond the last
            selection's needs are completed at the end.
        strip: drop APPn and COM markers (EXIF, ICC, XMP, comments); default keep them.
        max_pixels: refuse larger images before decoding; None disables the check.
        restart_rows: a restart marker every this many MCU rows of each scan (default 1,
            about 1 % more bytes): a reader that wants only some rows, a crop's, skips the
            others' data unread (:func:`~freqpipe.jpeg.decode_jpeg`'s ``block_rows``), and
            damage stays local. 0 keeps the original's restart markers (usually none).

    Returns:
        The reordered JPEG's bytes.

    Raises:
        NotAJpegError, UnsupportedJpegError, ImageTooLargeError: as
            :func:`~freqpipe.read_coefficients`.
        CorruptJpegError: any damage at all (a lossless rewrite must not hide it).
        SelectionError: an unknown preset in ``order``.

    Example:
        >>> from freqpipe.jpeg.reader import sample_path, read_coefficients
        >>> out = reorder_jpeg(sample_path(), ["dct24"])
        >>> a, b = read_coefficients(sample_path()), read_coefficients(out)
        >>> b.progressive, all((p == q).all() for p, q in zip(a.planes, b.planes))
        (True, True)
    """
    data, name = _load(src)
    if max_pixels is not None and max_pixels < 1:
        raise InvalidArgumentError(f"max_pixels must be positive or None, got {max_pixels}")
    check_restart_rows(restart_rows)
    ends = order_ends(order)
    module = native()
    try:
        out: bytes = module.reorder(
            data, ends.tobytes(), bool(strip), max_pixels or 0, _MAX_SCANS, restart_rows
        )
        return out
    except module.DecodeError as exc:
        kind, message, offset = exc.args
        # "damaged" is what a non-strict read would recover; a lossless rewrite cannot
        if kind in ("corrupt", "damaged"):
            raise CorruptJpegError(
                f"{message}; a damaged file cannot be reordered losslessly",
                source=name,
                offset=offset,
            ) from None
        raise _translate(exc, name) from None


def check_restart_rows(restart_rows: Any) -> None:
    """Refuse a ``restart_rows`` that is not an integer in 0..65535 (InvalidArgumentError)."""
    integer = isinstance(restart_rows, (int, np.integer)) and not isinstance(restart_rows, bool)
    if not integer or not 0 <= restart_rows <= 65535:
        raise InvalidArgumentError(
            f"restart_rows must be an integer in 0..65535, got {restart_rows!r}",
            value=restart_rows,
        )


def prefix_lengths(data: Any, order: Sequence[Selection | str]) -> list[int]:
    """Bytes a reader needs of a reordered file for each selection of ``order``.

    Args:
        data: a file written by :func:`reorder_jpeg` (any progressive JPEG works), as any
            buffer (bytes, a memory-mapped store record).
        order: the selections to measure.

    Returns:
        One length per selection: the prefix (ending on a scan boundary) that holds it
        exactly, or the whole file's length when it needs every scan.

    Example:
        >>> from freqpipe.jpeg.reader import sample_path
        >>> out = reorder_jpeg(sample_path())
        >>> a, b, c, d = prefix_lengths(out, DEFAULT_ORDER)
        >>> a < b < c < d == len(out)
        True
    """
    table = scan_table(data)
    return [_prefix_length(table, sel, len(data)) for sel in _selections(order)]


def _prefix_length(table: ScanTable | None, sel: Selection, total: int) -> int:
    if table is None:
        return total
    cut = prefix_end(table, selection_wanted(sel, table.ncomp))
    return total if cut is None else cut[0]
