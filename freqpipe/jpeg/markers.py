"""The marker structure of a JPEG file, parsed in pure Python for ``freqpipe inspect``.

The native reader is what decodes; this module only walks the segments (frame header, quant
and Huffman tables, restart interval, scans, APPn metadata) to describe a file to a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from freqpipe.errors import CorruptJpegError, NotAJpegError
from freqpipe.jpeg.metadata import exif_orientation, icc_profile
from freqpipe.transforms.layout import ZIGZAG_TO_NATURAL

__all__ = ["JpegStructure", "parse_jpeg"]


_SOF_NAMES = {
    0xC0: "baseline",
    0xC1: "extended sequential",
    0xC2: "progressive",
    0xC3: "lossless",
    0xC5: "differential sequential",
    0xC6: "differential progressive",
    0xC7: "differential lossless",
    0xC9: "extended sequential, arithmetic",
    0xCA: "progressive, arithmetic",
    0xCB: "lossless, arithmetic",
    0xCD: "differential sequential, arithmetic",
    0xCE: "differential progressive, arithmetic",
    0xCF: "differential lossless, arithmetic",
    0xF7: "JPEG-LS",
}
_STANDALONE = {0x01, *range(0xD0, 0xD9)}
#: A run of 0xFF: fill bytes before a marker (T.81 B.1.1.2), skipped in one regex match.
_FILL = re.compile(rb"\xff+")


def _last_fill(data: bytes, pos: int) -> int:
    """Offset of the last 0xFF of the run starting at ``pos``: the marker's own prefix."""
    match = _FILL.match(data, pos)
    return match.end() - 1 if match else pos


@dataclass
class JpegStructure:
    """What the markers of a JPEG file say (no entropy decoding).

    Attributes:
        frame: SOF kind ("baseline", "progressive", ...), marker, precision, width, height and
            components (id, h, v, quant table slot).
        quant_tables: slot -> 64 values in natural order (DQT stores them in zigzag order).
        huffman_tables: (class "DC"/"AC", slot) pairs defined.
        restart_interval: MCUs between restart markers (0: none).
        scans: one dict per SOS: component ids, spectral selection Ss..Se, Ah, Al, offset.
        segments: (marker name, offset, length, identifier) for every APPn/COM segment.
        orientation: EXIF orientation, 1 when absent.
        icc_profile_bytes: size of the embedded ICC profile, 0 when absent.
        ends_with_eoi: whether an EOI marker was found.
        stray_bytes: (offset, count) of bytes between segments that belong to no marker.
    """

    frame: dict[str, Any] = field(default_factory=dict)
    quant_tables: dict[int, list[int]] = field(default_factory=dict)
    huffman_tables: list[tuple[str, int]] = field(default_factory=list)
    restart_interval: int = 0
    scans: list[dict[str, Any]] = field(default_factory=list)
    segments: list[tuple[str, int, int, str]] = field(default_factory=list)
    orientation: int = 1
    icc_profile_bytes: int = 0
    ends_with_eoi: bool = False
    stray_bytes: list[tuple[int, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of every field."""
        return {
            "frame": self.frame,
            "quant_tables": {str(k): v for k, v in self.quant_tables.items()},
            "huffman_tables": [list(t) for t in self.huffman_tables],
            "restart_interval": self.restart_interval,
            "scans": self.scans,
            "segments": [list(s) for s in self.segments],
            "orientation": self.orientation,
            "icc_profile_bytes": self.icc_profile_bytes,
            "ends_with_eoi": self.ends_with_eoi,
            "stray_bytes": [list(s) for s in self.stray_bytes],
        }


def _marker_name(code: int) -> str:
    if 0xE0 <= code <= 0xEF:
        return f"APP{code - 0xE0}"
    names = {0xDB: "DQT", 0xC4: "DHT", 0xDD: "DRI", 0xDA: "SOS", 0xFE: "COM", 0xCC: "DAC"}
    return names.get(code, f"SOF{code - 0xC0}" if code in _SOF_NAMES else f"0x{code:02X}")


def _skip_entropy_data(data: bytes, pos: int) -> int:
    """Return the offset of the next marker after entropy-coded data starting at pos."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            return len(data)
        nxt = data[pos + 1]
        if nxt == 0xFF:
            pos = _last_fill(data, pos)
            continue
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
            pos += 2
            continue
        return pos


def parse_jpeg(data: bytes, *, source: str = "<bytes>") -> JpegStructure:
    """Walk a JPEG's markers and describe its structure.

    Args:
        data: the whole file.
        source: name used in error messages.

    Returns:
        A :class:`JpegStructure`.

    Raises:
        NotAJpegError: no SOI marker.
        CorruptJpegError: a segment runs past the end of the data.

    Example:
        >>> from freqpipe._samples import sample_files
        >>> s = parse_jpeg(sample_files()[0].read_bytes())
        >>> s.frame["kind"], len(s.scans), s.frame["precision"]
        ('baseline', 1, 8)
    """
    if data[:2] != b"\xff\xd8":
        raise NotAJpegError("not a JPEG file (no SOI marker)", source=source, offset=0)
    out = JpegStructure()
    app1: bytes = b""
    app2: list[bytes] = []
    pos = 2
    n = len(data)
    while pos < n:
        if data[pos] != 0xFF:
            # Like libjpeg, skip stray bytes to the next marker, and say so.
            nxt = data.find(b"\xff", pos)
            nxt = n if nxt < 0 else nxt
            out.stray_bytes.append((pos, nxt - pos))
            pos = nxt
            continue
        if pos + 1 >= n:
            break
        code = data[pos + 1]
        if code == 0xFF:
            pos = _last_fill(data, pos)
            if pos + 1 >= n:
                break
            continue
        if code == 0xD9:
            out.ends_with_eoi = True
            break
        if code in _STANDALONE:
            pos += 2
            continue
        if pos + 4 > n:
            break
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > n:
            raise CorruptJpegError(
                f"{_marker_name(code)} segment of length {length} runs past the end",
                source=source,
                offset=pos,
            )
        body = data[pos + 4 : end]
        name = _marker_name(code)
        if code in _SOF_NAMES:
            out.frame = _parse_sof(code, body)
        elif code == 0xDB:
            _parse_dqt(body, out.quant_tables)
        elif code == 0xC4:
            _parse_dht(body, out.huffman_tables)
        elif code == 0xDD and len(body) >= 2:
            out.restart_interval = int.from_bytes(body[:2], "big")
        elif code == 0xDA:
            out.scans.append(_parse_sos(body, pos))
            pos = _skip_entropy_data(data, end)
            continue
        elif 0xE0 <= code <= 0xEF or code == 0xFE:
            ident = body.split(b"\x00", 1)[0][:20].decode("latin-1") if code != 0xFE else ""
            out.segments.append((name, pos, length, ident))
            if code == 0xE1 and not app1 and body.startswith(b"Exif"):
                app1 = body
            elif code == 0xE2:
                app2.append(body)
        pos = end
    out.orientation = exif_orientation(app1) if app1 else 1
    profile = icc_profile(app2)
    out.icc_profile_bytes = len(profile) if profile else 0
    return out


def _parse_sof(code: int, body: bytes) -> dict[str, Any]:
    body = body.ljust(6, b"\x00")
    precision = body[0]
    height = int.from_bytes(body[1:3], "big")
    width = int.from_bytes(body[3:5], "big")
    comps = []
    for i in range(body[5]):
        entry = body[6 + 3 * i : 9 + 3 * i]
        if len(entry) < 3:
            break
        cid, hv, tq = entry
        comps.append({"id": cid, "h": hv >> 4, "v": hv & 15, "quant_table": tq})
    return {
        "kind": _SOF_NAMES[code],
        "marker": f"SOF{code - 0xC0}" if code != 0xF7 else "SOF55",
        "precision": precision,
        "width": width,
        "height": height,
        "components": comps,
    }


def _parse_dqt(body: bytes, tables: dict[int, list[int]]) -> None:
    pos = 0
    while pos < len(body):
        precision, slot = body[pos] >> 4, body[pos] & 15
        size = 128 if precision else 64
        raw = body[pos + 1 : pos + 1 + size]
        if precision:
            values = [int.from_bytes(raw[2 * i : 2 * i + 2], "big") for i in range(len(raw) // 2)]
        else:
            values = list(raw)
        natural = [0] * 64
        for rank, v in enumerate(values[:64]):
            natural[int(ZIGZAG_TO_NATURAL[rank])] = v
        tables[slot] = natural
        pos += 1 + size


def _parse_dht(body: bytes, tables: list[tuple[str, int]]) -> None:
    pos = 0
    while pos + 17 <= len(body):
        cls, slot = body[pos] >> 4, body[pos] & 15
        tables.append(("AC" if cls else "DC", slot))
        pos += 17 + sum(body[pos + 1 : pos + 17])


def _parse_sos(body: bytes, offset: int) -> dict[str, Any]:
    ncomp = body[0] if body else 0
    ids = [body[1 + 2 * i] for i in range(ncomp) if 2 + 2 * i <= len(body)]
    ss, se, a = (tuple(body[1 + 2 * ncomp : 4 + 2 * ncomp]) + (0, 63, 0))[:3]
    return {"components": ids, "Ss": ss, "Se": se, "Ah": a >> 4, "Al": a & 15, "offset": offset}
