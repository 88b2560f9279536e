"""Metadata carried in APPn segments: EXIF orientation (APP1) and the ICC profile (APP2).

Both parsers are tolerant: a damaged segment yields the default, never an exception, because
the coefficients (what freqpipe is for) do not depend on them.
"""

from __future__ import annotations

import struct

__all__ = ["exif_orientation", "icc_profile"]

_ORIENTATION_TAG = 0x0112
_SHORT = 3


def exif_orientation(app1: bytes) -> int:
    r"""Return the EXIF orientation (1..8) stored in an APP1 payload, or 1.

    Args:
        app1: the APP1 segment payload (after the length field), starting with ``b"Exif\0\0"``.

    Returns:
        The orientation tag of IFD0 when present and valid, else 1 (the EXIF default). A
        damaged EXIF block never raises: orientation is advisory, the pixels are not at stake.

    Example:
        >>> tiff = b"II*\x00" + (8).to_bytes(4, "little") + (1).to_bytes(2, "little")
        >>> entry = (0x0112).to_bytes(2, "little") + (3).to_bytes(2, "little")
        >>> entry += (1).to_bytes(4, "little") + (6).to_bytes(4, "little")
        >>> exif_orientation(b"Exif\x00\x00" + tiff + entry)
        6
    """
    if not app1.startswith(b"Exif\x00\x00") or len(app1) < 14:
        return 1
    tiff = memoryview(app1)[6:]
    order = bytes(tiff[:2])
    if order == b"II":
        endian = "<"
    elif order == b"MM":
        endian = ">"
    else:
        return 1
    try:
        (magic, ifd_offset) = struct.unpack_from(endian + "HI", tiff, 2)
        if magic != 42:
            return 1
        (count,) = struct.unpack_from(endian + "H", tiff, ifd_offset)
        for i in range(count):
            tag, kind, n = struct.unpack_from(endian + "HHI", tiff, ifd_offset + 2 + 12 * i)
            if tag == _ORIENTATION_TAG and kind == _SHORT and n >= 1:
                (value,) = struct.unpack_from(endian + "H", tiff, ifd_offset + 2 + 12 * i + 8)
                return value if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1


_ICC_SIGNATURE = b"ICC_PROFILE\x00"


def icc_profile(app2_segments: list[bytes]) -> bytes | None:
    r"""Reassemble an ICC profile split over APP2 segments (ICC.1 Annex B.4).

    Args:
        app2_segments: APP2 payloads in file order.

    Returns:
        The profile bytes, or None when no complete, consistent set of chunks is present.

    Example:
        >>> chunk = lambda i, n, data: b"ICC_PROFILE\x00" + bytes([i, n]) + data
        >>> icc_profile([chunk(2, 2, b"lo"), chunk(1, 2, b"hel")])
        b'hello'
    """
    chunks: dict[int, bytes] = {}
    total = 0
    for seg in app2_segments:
        if not seg.startswith(_ICC_SIGNATURE) or len(seg) < 14:
            continue
        index, count = seg[12], seg[13]
        if index == 0 or count == 0 or (total and count != total):
            return None
        total = count
        # Some writers repeat the profile (e.g. before and after SOF); the first copy wins.
        chunks.setdefault(index, seg[14:])
    if not chunks or sorted(chunks) != list(range(1, total + 1)):
        return None
    return b"".join(chunks[i] for i in range(1, total + 1))
