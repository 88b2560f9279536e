"""Where a JPEG's scans lie, and the shortest prefix that holds a set of coefficients.

A progressive JPEG sends its coefficients in scans, each a zigzag band ``Ss..Se`` of one or
more components at a bit depth (successive approximation: ``Ah`` the bits already sent, ``Al``
the bits still to come). A reader that wants only some (component, frequency) pairs can stop
after the last scan that touches any of them, so long as each has by then been sent to its
last bit (``Al == 0``). :func:`scan_table` finds the scans (a native marker walk, no Huffman
decoding); :func:`prefix_end` computes that stopping point; :func:`freqpipe.read_coefficients`
runs the same walk and rule in one native call. ``freqpipe inspect`` prints them. Where the
stopping point is already known (a store records it per record at conversion), a
:class:`ScanPrefix` hands it to the reader, which then skips the walk. The decoder reads a
prefix in place, followed by an :data:`EOI` (libjpeg then reads it as a complete file: the
scans in it are decoded, the coefficients of later scans stay zero, with no warning).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from freqpipe.errors import InvalidArgumentError
from freqpipe.jpeg._ext import native
from freqpipe.transforms import NATURAL_TO_ZIGZAG, Selection

__all__ = [
    "EOI",
    "Scan",
    "ScanPrefix",
    "ScanTable",
    "complete_after",
    "natural_masks",
    "prefix_end",
    "scan_table",
    "selection_masks",
    "selection_wanted",
    "wanted_masks",
]

#: The End Of Image marker appended to a prefix so libjpeg finishes cleanly, with no warning.
EOI = b"\xff\xd9"


class Scan(NamedTuple):
    """One scan (SOS segment and its entropy-coded data).

    A named tuple: a table of a dozen scans is built for every prefix read, so it must be
    cheap to make.

    Attributes:
        offset: byte offset of the SOS marker.
        end: byte offset just past its entropy-coded data (where the next marker starts).
        components: component indices (frame order) the scan codes.
        ss: first zigzag rank of the spectral band (0 = DC).
        se: last zigzag rank of the band.
        ah: successive-approximation bits sent before (0 on a first pass).
        al: bits still to be sent after this scan (0: the band is exact afterwards).
    """

    offset: int
    end: int
    components: tuple[int, ...]
    ss: int
    se: int
    ah: int
    al: int


@dataclass(frozen=True)
class ScanTable:
    """The scans of one file, in file order.

    Attributes:
        ncomp: number of components in the frame.
        progressive: whether the frame is progressive (SOF2 / SOF10).
        scans: the scans found.
        eoi: byte offset of the EOI marker, or None when the walk did not reach one.
        complete: False when the walk stopped early (truncated segment, or over 1024 scans):
            scans after that point are unknown.
    """

    ncomp: int
    progressive: bool
    scans: tuple[Scan, ...]
    eoi: int | None
    complete: bool


def scan_table(data: Any) -> ScanTable | None:
    """Walk a JPEG's markers (native, GIL released) and list its scans.

    Args:
        data: the file's bytes (any buffer).

    Returns:
        The table, or None when the structure is not one the walk can vouch for (no SOI,
        no frame or several, a scan naming an unknown component): then only libjpeg, reading
        the whole file, can say what is wrong.

    Example:
        >>> from freqpipe.jpeg.reader import sample_path
        >>> t = scan_table(sample_path().read_bytes())
        >>> t.progressive, len(t.scans), t.scans[0].components
        (False, 1, (0, 1, 2))
    """
    raw = native().scan_table(data)
    if raw is None:
        return None
    return ScanTable(
        ncomp=raw["ncomp"],
        progressive=raw["progressive"],
        scans=tuple(Scan(*s) for s in raw["scans"]),
        eoi=None if raw["eoi"] < 0 else raw["eoi"],
        complete=raw["complete"],
    )


def prefix_end(table: ScanTable, wanted: Mapping[int, Any]) -> tuple[int, int] | None:
    """The shortest scan prefix after which every wanted coefficient is exact.

    The prefix ends after the last scan that touches any wanted (component, frequency), and
    is valid only if each of them was sent to its last bit (a scan with ``Al == 0``) within
    it. Stopping after the last touching scan, rather than at the first ``Al == 0``, keeps the
    result equal to a full read even for files that send a band again.

    Args:
        table: the file's scans (:func:`scan_table`).
        wanted: component index -> natural-order frequencies (0..63) wanted from it.

    Returns:
        ``(end, nscans)``: the byte offset the prefix ends at and the number of scans in it;
        or None when the whole file must be read: not progressive, the walk incomplete,
        nothing wanted, a wanted coefficient never exact, or the prefix is the whole file.

    Example:
        >>> t = ScanTable(3, True, (Scan(2, 10, (0, 1, 2), 0, 0, 0, 0),
        ...     Scan(10, 20, (0,), 1, 5, 0, 0), Scan(20, 30, (0,), 6, 63, 0, 0)), 30, True)
        >>> prefix_end(t, {0: [0, 1, 8]})
        (20, 2)
    """
    if not table.progressive or not table.complete or table.eoi is None:
        return None
    last = complete_after(table, wanted)
    if last is None or last == len(table.scans) - 1:
        return None
    end = table.scans[last].end
    return None if end >= table.eoi else (end, last + 1)


def complete_after(table: ScanTable, wanted: Mapping[int, Any]) -> int | None:
    """Index of the scan after which every wanted coefficient is exact, or None if never.

    That is the last scan touching any of them, provided each was sent to its last bit
    (``Al == 0``) by then; the rule :func:`prefix_end` cuts at.

    Args:
        table: the file's scans.
        wanted: component index -> natural-order frequencies (0..63).

    Returns:
        A scan index into ``table.scans``, or None (nothing wanted, or some wanted
        coefficient never exact in the scans found).

    Example:
        >>> t = ScanTable(1, True, (Scan(2, 10, (0,), 0, 0, 0, 1),
        ...     Scan(10, 20, (0,), 1, 5, 0, 0), Scan(20, 30, (0,), 0, 0, 1, 0)), 30, True)
        >>> complete_after(t, {0: [1, 8]}), complete_after(t, {0: [0]})
        (1, 2)
    """
    return native().complete_after(table.scans, table.ncomp, wanted_masks(wanted, table.ncomp))


def wanted_masks(wanted: Mapping[int, Any], ncomp: int) -> list[int]:
    """The wanted frequencies of each of ``ncomp`` components as a mask of zigzag ranks.

    The form the native prefix rule takes: bit r of ``masks[c]`` is zigzag rank r of
    component c; components not in ``wanted`` (or outside the frame) get 0.

    Example:
        >>> [hex(m) for m in wanted_masks({0: [0, 1, 8]}, 2)]
        ['0x7', '0x0']
    """
    return natural_masks(
        {c: np.asarray(f, dtype=np.uint8).tobytes() for c, f in wanted.items()}, ncomp
    )


def natural_masks(natural: Mapping[int, bytes], ncomp: int) -> list[int]:
    """:func:`wanted_masks` of frequencies already as bytes (one natural index per byte)."""
    return [_mask_of(natural[c]) if c in natural else 0 for c in range(ncomp)]


def selection_masks(select: Selection, ncomp: int) -> list[int]:
    """:func:`wanted_masks` of :func:`selection_wanted`: what a reader of ``select`` needs."""
    return wanted_masks(selection_wanted(select, ncomp), ncomp)


@lru_cache(maxsize=256)
def _mask_of(natural: bytes) -> int:
    # Cached: a loader asks for the same few selections for every image.
    return sum(1 << int(NATURAL_TO_ZIGZAG[k]) for k in natural)


def selection_wanted(select: Selection | str, ncomp: int) -> dict[int, np.ndarray]:
    """The (component, frequencies) a channel selection reads from a file of ``ncomp``.

    Planes Y, Cb, Cr are components 0, 1, 2; a fourth component (CMYK's K) is wanted whole.

    Example:
        >>> {c: f.tolist() for c, f in selection_wanted("dct6", 1).items()}
        {0: [0, 1, 8, 9]}
    """
    planes = Selection.from_spec(select).per_plane
    return {c: planes[c] if c < 3 else np.arange(64) for c in range(ncomp)}


@dataclass(frozen=True)
class ScanPrefix:
    """A JPEG handed to the reader with the end of the prefix it will need, known beforehand.

    A frequency-ordered store records, per record and per selection of its order, where the
    prefix holding that selection exactly ends (:func:`prefix_end` at conversion, checked
    again by ``freqpipe verify``). Given one of these, :func:`~freqpipe.read_coefficients`
    and :func:`~freqpipe.jpeg.decode_jpeg` asked for some coefficients decode
    ``data[:end]`` + EOI with no marker walk; asked for everything they read all of ``data``.
    Whoever builds one vouches that every coefficient the reader will be asked for is exact
    within ``data[:end]``: the reader cannot check it without the walk it skips.

    Args:
        data: the whole file, any buffer (a memory-mapped store record: nothing is copied
            until the prefix is cut).
        end: the byte offset the prefix ends at (a scan boundary), or ``len(data)``: all.

    Raises:
        InvalidArgumentError: ``end`` outside ``1..len(data)``.

    Example:
        >>> from freqpipe.jpeg.reader import read_coefficients, sample_path
        >>> from freqpipe.jpeg.reorder import prefix_lengths, reorder_jpeg
        >>> data = reorder_jpeg(sample_path(), ["dct6", "all"])
        >>> end = prefix_lengths(data, ["dct6"])[0]
        >>> c = read_coefficients(ScanPrefix(data, end), freqs=[0, 1, 8, 9], components=0)
        >>> c.bytes_read == end < c.total_bytes == len(data)
        True
    """

    data: Any
    end: int

    def __post_init__(self) -> None:
        size = memoryview(self.data).nbytes
        integer = isinstance(self.end, (int, np.integer)) and not isinstance(self.end, bool)
        if not integer or not 0 < self.end <= size:
            raise InvalidArgumentError(
                f"a scan prefix must end within the file's 1..{size} bytes, got {self.end!r}",
                value=self.end,
            )
