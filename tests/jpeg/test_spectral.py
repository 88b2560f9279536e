"""The native decoder of spectral-selection scans (``_spectral.c``) against libjpeg.

It is an optimisation with no opinion of its own: on every file it accepts, coefficients,
quant tables, scan count and warnings must equal libjpeg's; on anything else (refinement
scans, damage, odd structure) it must hand over to libjpeg, so the outcome is libjpeg's
whatever the input. ``Decoder(..., spectral=False)`` is the reference: libjpeg alone.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import freqpipe as fp
from freqpipe.jpeg import DEFAULT_ORDER, scan_table
from freqpipe.jpeg._ext import native
from tests.jpeg.fixtures import encoded_fixtures

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
FIXTURES = encoded_fixtures()
ORDERS = [DEFAULT_ORDER, ("all",), ("dct24", "all")]


def _decode(data: bytes, spectral: bool, *, strict: bool = True, request=None):
    """Everything a decode reports: the error, or results, planes and which decoder ran.

    ``request``: None borrows libjpeg-layout arrays (all 64 frequencies of every component,
    read back with copy_out); else ``[(component, freqs), ...]`` decodes straight into planes.
    """
    nat = native()
    try:
        dec = nat.Decoder(data, strict, 1000, 0, 64, spectral)
        comps = dec.header["components"]
        if request is None:
            request_ = [(c, list(range(64))) for c in range(len(comps))]
            outs = [None] * len(comps)
        else:
            request_ = request
            outs = [
                np.full(
                    (comps[c]["height_in_blocks"], comps[c]["width_in_blocks"], len(f)), 7, np.int16
                )
                for c, f in request_
            ]
        result = dec.decode(outs, [c for c, _ in request_], [bytes(f) for _, f in request_])
        if request is None:
            outs = []
            for c, _ in request_:
                plane = np.empty(
                    (comps[c]["height_in_blocks"], comps[c]["width_in_blocks"], 64), np.int16
                )
                dec.copy_out(c, plane)
                outs.append(plane)
        return ("ok", result, outs, dec.entropy_decoder)
    except nat.DecodeError as exc:
        return ("error", exc.args)


def _assert_same(data: bytes, *, strict: bool = True, request=None) -> str | None:
    """Assert both decoders agree on ``data``; return which one the fast path used."""
    ours, libjpeg = (_decode(data, s, strict=strict, request=request) for s in (True, False))
    assert ours[0] == libjpeg[0], (ours[:2], libjpeg[:2])
    if ours[0] == "error":
        assert ours[1] == libjpeg[1]
        return None
    assert ours[1] == libjpeg[1]  # warnings, quant tables, scans, warning count
    for a, b in zip(ours[2], libjpeg[2]):
        np.testing.assert_array_equal(a, b)
    assert libjpeg[3] == "libjpeg"
    return ours[3]


@pytest.mark.parametrize("order", ORDERS, ids=["default", "all", "dct24-all"])
@pytest.mark.parametrize("name,data", FIXTURES, ids=[n for n, _ in FIXTURES])
def test_equals_libjpeg_on_every_fixture(name: str, data: bytes, order: tuple[str, ...]) -> None:
    reordered = fp.reorder_jpeg(data, order=order)
    assert _assert_same(reordered) == "freqpipe"  # and it did run: the test can fail


@pytest.mark.parametrize("name,data", FIXTURES, ids=[n for n, _ in FIXTURES])
def test_straight_into_planes_equals_libjpeg(name: str, data: bytes) -> None:
    reordered = fp.reorder_jpeg(data)
    ncomp = scan_table(reordered).ncomp
    rng = random.Random(name)
    for _ in range(3):
        comps = sorted(rng.sample(range(ncomp), rng.randint(1, ncomp)))
        request = [(c, rng.sample(range(64), rng.randint(1, 64))) for c in comps]
        assert _assert_same(reordered, request=request) == "freqpipe"


def test_a_frequency_asked_twice_takes_the_array_path() -> None:
    reordered = fp.reorder_jpeg(FIXTURES[0][1])
    assert _assert_same(reordered, request=[(0, [0, 1, 1, 0])]) == "freqpipe"


def test_restart_markers_are_kept_and_decoded() -> None:
    for name, data in FIXTURES:
        if not name.startswith("pillow-restart"):
            continue
        reordered = fp.reorder_jpeg(data)
        assert fp.read_coefficients(reordered).restart_interval > 0
        assert _assert_same(reordered) == "freqpipe"


def test_refinement_scans_are_libjpegs() -> None:
    """libjpeg's own progressive script refines coefficients bit by bit (Ah > 0)."""
    buf = io.BytesIO()
    Image.effect_mandelbrot((96, 80), (-2, -1.5, 1, 1.5), 60).convert("RGB").save(
        buf, format="JPEG", progressive=True, quality=85
    )
    assert any(s.ah > 0 for s in scan_table(buf.getvalue()).scans)
    assert _assert_same(buf.getvalue()) == "libjpeg"


def test_fill_bytes_before_markers_are_accepted() -> None:
    reordered = fp.reorder_jpeg(FIXTURES[0][1])
    scans = scan_table(reordered).scans
    at = scans[2].offset  # a run of 0xFF before a marker is a fill, legal anywhere
    filled = reordered[:at] + b"\xff\xff\xff" + reordered[at:]
    assert _assert_same(filled) == "freqpipe"


def _damaged(data: bytes, rng: random.Random) -> bytes:
    kind = rng.randrange(4)
    if kind == 0:  # truncated
        return data[: rng.randrange(2, len(data))]
    out = bytearray(data)
    if kind == 1:  # a flipped byte
        out[rng.randrange(2, len(out))] ^= 1 << rng.randrange(8)
    elif kind == 2:  # a stray marker in entropy-coded data
        at = rng.randrange(2, len(out) - 2)
        out[at : at + 2] = bytes([0xFF, rng.choice([0xD0, 0xD3, 0xD9, 0xC4, 0xDA, 0x01])])
    else:  # a run of garbage
        at = rng.randrange(2, len(out))
        out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
    return bytes(out)


@pytest.mark.parametrize(
    "name", ["pillow-420", "turbo-422", "pillow-restart-blocks-5", "pillow-gray", "turbo-411"]
)
def test_damaged_files_get_libjpegs_outcome(name: str) -> None:
    """Truncations, bit flips, stray markers, garbage: either decoder, the same outcome."""
    data = fp.reorder_jpeg(dict(FIXTURES)[name])
    rng = random.Random(name)
    decoders = set()
    for _ in range(60):
        damaged = _damaged(data, rng)
        for strict in (True, False):
            decoders.add(_assert_same(damaged, strict=strict))
    assert "libjpeg" in decoders  # damage was found and handed over...
    assert None in decoders  # ...some of it an error...


def _shared_files(folder: str, limit: int | None = None) -> list[Path]:
    root = SHARED / folder
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg"})
    return files[:limit]


@pytest.mark.slow
def test_equals_libjpeg_on_the_photos() -> None:
    ran = 0
    for path in _shared_files("photos", 120):
        ran += _assert_same(fp.reorder_jpeg(path.read_bytes())) == "freqpipe"
    assert ran == 120


@pytest.mark.slow
def test_equals_libjpeg_on_the_conformance_files() -> None:
    """Every file, as it is (libjpeg's business unless it is spectral-only) and reordered."""
    fast = 0
    for path in _shared_files("jpeg-conformance"):
        data = path.read_bytes()
        for strict in (True, False):
            _assert_same(data, strict=strict)
        try:
            reordered = fp.reorder_jpeg(data)
        except fp.FreqpipeError:
            continue
        fast += _assert_same(reordered) == "freqpipe"
    assert fast > 20


def _overfull_tables(data: bytes) -> list[bytes]:
    """``data`` with one DHT table at a time made overfull: all its codes 1 bit long.

    Only two 1-bit codes exist, so any more overflow the code space: libjpeg refuses the table
    (JERR_BAD_HUFF_TABLE) when a scan uses it, and a decoder building lookups from it must not
    write past them.
    """
    out = []
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:  # skip the scan's data to the next marker
            end = pos + 2 + length
            while end + 1 < len(data) and not (
                data[end] == 0xFF and data[end + 1] not in (0, *range(0xD0, 0xD8))
            ):
                end += 1
            pos = end
            continue
        if marker == 0xC4:
            seg = bytearray(data[pos + 4 : pos + 2 + length])
            at = 0
            while at + 17 <= len(seg):
                count = sum(seg[at + 1 : at + 17])
                mutated = bytearray(seg)
                mutated[at + 1 : at + 17] = bytes([min(count, 255)] + [0] * 15)
                if count > 2:
                    out.append(data[: pos + 4] + bytes(mutated) + data[pos + 2 + length :])
                at += 17 + count
        if marker == 0xD9:
            break
        pos += 2 + length
    return out


@pytest.mark.parametrize("name", ["pillow-420", "turbo-422", "pillow-gray"])
def test_overfull_huffman_tables_are_libjpegs_error(name: str) -> None:
    data = fp.reorder_jpeg(dict(FIXTURES)[name])
    damaged = _overfull_tables(data)
    assert len(damaged) >= 3
    for bad in damaged:
        for strict in (True, False):
            assert _assert_same(bad, strict=strict) is None  # an error, libjpeg's
