"""Prefix reading: a progressive file is read only up to the last scan the request needs."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import freqpipe as fp
from freqpipe.errors import CorruptJpegError, CorruptJpegWarning, FreqpipeError
from freqpipe.jpeg import decode_jpeg, parse_jpeg, prefix_lengths, read_coefficients, scan_table
from freqpipe.jpeg._ext import native
from freqpipe.jpeg.fallback import open_rgb
from freqpipe.jpeg.scans import Scan, ScanPrefix, ScanTable, complete_after
from freqpipe.transforms import Selection
from tests.jpeg.fixtures import encoded_fixtures, jpeglib_planes

jpeglib = pytest.importorskip("jpeglib")

FIXTURES = encoded_fixtures()
SELECTIONS = [
    *(Selection.preset(n) for n in ("dct6", "dct24", "dct32", "dct48", "dct64", "all")),
    Selection(y=[0, 9, 18, 27], cb=[0], cr=[0, 1, 8]),  # sparse, chroma planes differ
    Selection.zigzag(y=10, cb=0, cr=3),  # no Cb beyond nothing: Cb plane empty
]
IDS = [s.name or f"custom{i}" for i, s in enumerate(SELECTIONS)]
ORDER = ("dct6", "dct24", "dct64", "all")


def _request(sel: Selection, ncomp: int) -> tuple[list[int], list[np.ndarray]]:
    comps = [c for c in range(ncomp) if sel.per_plane[c].size]
    return comps, [sel.per_plane[c] for c in comps]


def _assert_exact_prefix(data: bytes, sel: Selection, ref: list[np.ndarray]) -> int:
    comps, freqs = _request(sel, len(ref))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the prefix read must not warn
        c = read_coefficients(data, components=comps, freqs=freqs)
    for plane, comp, f in zip(c.planes, comps, freqs):
        np.testing.assert_array_equal(plane, ref[comp][..., f])
    assert c.total_bytes == len(data)
    return c.bytes_read


REORDERED = [
    (n, d)
    for n, d in FIXTURES
    if n in ("pillow-420", "pillow-444-progressive", "turbo-422", "turbo-411", "pillow-gray")
    or n.startswith("pillow-restart")
    or n.endswith("x9-420")
]


@pytest.mark.parametrize("sel", SELECTIONS, ids=IDS)
@pytest.mark.parametrize("name,data", REORDERED, ids=[n for n, _ in REORDERED])
def test_prefix_of_reordered_file_is_exact(
    name: str, data: bytes, sel: Selection, tmp_path: Path
) -> None:
    ref = jpeglib_planes(data, tmp_path)
    out = fp.reorder_jpeg(data, ORDER)
    got = _assert_exact_prefix(out, sel, ref)
    # The bytes read are the prefix of the smallest selection of the order that holds sel.
    lengths = prefix_lengths(out, ORDER)
    holds = [
        i
        for i, o in enumerate(ORDER)
        if all(
            np.isin(sel.per_plane[c], Selection.preset(o).per_plane[c]).all()
            for c in range(len(ref))
        )
    ]
    assert got <= lengths[holds[0]]
    if sel.name in ORDER:
        assert got == lengths[ORDER.index(sel.name)]
    if sel.name in ("dct6", "dct24"):
        assert got < len(out)


def test_photos_prefix_is_exact_and_short(photos: list[Path], tmp_path: Path) -> None:
    ratios = []
    for path in photos[::20]:
        data = path.read_bytes()
        ref = jpeglib_planes(data, tmp_path)
        out = fp.reorder_jpeg(data)
        ratios.append(_assert_exact_prefix(out, Selection.preset("dct24"), ref) / len(data))
        _assert_exact_prefix(out, Selection.preset("dct6"), ref)
    # The hand measurement on ImageNet: 0.557 of the original bytes for dct24.
    assert float(np.median(ratios)) < 0.7


def test_libjpeg_default_progression_reads_everything(tmp_path: Path) -> None:
    # Pillow's progressive=True is libjpeg's jpeg_simple_progression: the luma refinement
    # (Al = 0) comes last, so any request with Y needs the whole file, and says so.
    for name in ("pillow-420-progressive", "pillow-444-progressive", "pillow-gray-progressive"):
        _, data = next(f for f in FIXTURES if f[0] == name)
        ref = jpeglib_planes(data, tmp_path)
        for sel in SELECTIONS[:3]:
            assert _assert_exact_prefix(data, sel, ref) == len(data)
    # Chroma alone can stop before the last (luma) refinement scan.
    _, data = next(f for f in FIXTURES if f[0] == "pillow-420-progressive")
    ref = jpeglib_planes(data, tmp_path)
    c = read_coefficients(data, components=1, freqs=[0, 1])
    np.testing.assert_array_equal(c.planes[0], ref[1][..., [0, 1]])
    assert c.bytes_read < len(data) and c.scans < len(scan_table(data).scans)  # type: ignore[union-attr]


def test_baseline_files_are_read_whole() -> None:
    for name, data in FIXTURES:
        if "progressive" in name:
            continue
        c = read_coefficients(data, components=0, freqs=[0])
        assert c.bytes_read == c.total_bytes == len(data)


def test_scans_read_is_a_count_of_the_first_scans() -> None:
    _, data = next(f for f in FIXTURES if f[0] == "pillow-420")
    out = fp.reorder_jpeg(data, ORDER)
    table = scan_table(out)
    assert table is not None
    c = read_coefficients(out, freqs=Selection.preset("dct6").per_plane)
    assert c.scans == 2  # the DC scan and Y 1..4 (dct6's chroma is DC only)
    assert c.bytes_read == table.scans[1].end
    assert read_coefficients(out).scans == len(table.scans)
    assert read_coefficients(out).bytes_read == len(out)


def test_scan_table_agrees_with_the_python_marker_parser() -> None:
    for _, data in FIXTURES:
        for blob in (data, fp.reorder_jpeg(data)):
            table = scan_table(blob)
            parsed = parse_jpeg(blob)
            assert table is not None
            ids = [c["id"] for c in parsed.frame["components"]]
            assert [
                (s.offset, [ids[c] for c in s.components], s.ss, s.se, s.ah, s.al)
                for s in table.scans
            ] == [
                (p["offset"], p["components"], p["Ss"], p["Se"], p["Ah"], p["Al"])
                for p in parsed.scans
            ]
            assert table.eoi == len(blob) - 2
            # Each scan's data ends where the next marker (DHT or SOS or EOI) begins.
            for s in table.scans:
                assert blob[s.end] == 0xFF and blob[s.end + 1] not in (0x00, *range(0xD0, 0xD8))


def test_truncated_reordered_file_recovers_as_today() -> None:
    _, data = next(f for f in FIXTURES if f[0] == "pillow-420")
    out = fp.reorder_jpeg(data, ORDER)
    full = read_coefficients(out)
    dct24 = Selection.preset("dct24").per_plane
    # Cut inside the last scans (past the dct24 prefix): the walk finds no EOI, so the reader
    # hands libjpeg all there is, exactly as without prefix reading.
    cut = out[: (prefix_lengths(out, ORDER)[2] + len(out)) // 2]
    with pytest.raises(CorruptJpegError, match="strict=False"):
        read_coefficients(cut, freqs=dct24)
    with pytest.warns(CorruptJpegWarning):
        part = read_coefficients(cut, freqs=dct24, strict=False)
    assert part.bytes_read == len(cut)
    for i in range(3):
        np.testing.assert_array_equal(part.planes[i], full.planes[i][..., dct24[i]])


@pytest.mark.parametrize("strict", [True, False])
def test_fuzzed_reordered_files_never_crash_or_overread(strict: bool) -> None:
    rng = np.random.default_rng(16)
    sources = [fp.reorder_jpeg(d, ORDER) for n, d in FIXTURES[::3]]
    outcomes = {"ok": 0, "error": 0, "prefix": 0}
    for data in sources:
        for trial in range(40):
            buf = bytearray(data)
            if trial % 3 == 0:
                buf = buf[: int(rng.integers(0, len(buf)))]
            else:
                for _ in range(int(rng.integers(1, 8))):
                    buf[int(rng.integers(0, len(buf)))] = int(rng.integers(0, 256))
            sel = SELECTIONS[trial % len(SELECTIONS)]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CorruptJpegWarning)
                try:
                    # One list shared by all components, so grayscale files take it too.
                    c = read_coefficients(
                        bytes(buf), freqs=sel.per_plane[0], strict=strict, max_pixels=4_000_000
                    )
                except FreqpipeError:
                    outcomes["error"] += 1
                    continue
            assert 0 < c.bytes_read <= c.total_bytes == len(buf)
            outcomes["prefix"] += c.bytes_read < len(buf)
            outcomes["ok"] += 1
    assert outcomes["ok"] and outcomes["error"] and outcomes["prefix"]


def test_decode_jpeg_select_reads_the_prefix_and_gathers_exactly() -> None:
    _, data = next(f for f in FIXTURES if f[0] == "pillow-420")
    out = fp.reorder_jpeg(data, ORDER)
    sel = Selection.preset("dct24")
    a, b = decode_jpeg(data), decode_jpeg(out, select=sel)
    for comp in range(3):
        f = sel.per_plane[comp]
        rows, cols = a.grids[comp]
        x = np.empty((f.size, rows, cols), np.int16)
        y = np.empty_like(x)
        a.gather(comp, x, f, top=0, left=0)
        b.gather(comp, y, f, top=0, left=0)
        np.testing.assert_array_equal(x, y)


def test_pillow_decodes_a_prefix_to_a_low_pass_image() -> None:
    # Not exactness (that is above), but the prefix is an ordinary JPEG another decoder opens.
    _, data = next(f for f in FIXTURES if f[0] == "pillow-420")
    out = fp.reorder_jpeg(data, ORDER)
    prefix = out[: prefix_lengths(out, ORDER)[1]] + b"\xff\xd9"
    with Image.open(io.BytesIO(prefix)) as im:
        assert im.size == Image.open(io.BytesIO(data)).size
        im.load()


def test_scan_prefix_is_read_without_a_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    data = fp.reorder_jpeg(fp.sample_files()[0], ORDER)
    end = prefix_lengths(data, ["dct24"])[0]
    sel = Selection.preset("dct24")
    walked = read_coefficients(data, freqs=sel.per_plane)
    full = read_coefficients(data)

    def no_walk(*args: object) -> None:
        raise AssertionError("walked the markers of a known prefix")

    monkeypatch.setattr(native(), "prefix_cut", no_walk)
    monkeypatch.setattr(native(), "scan_table", no_walk)
    # a read-only buffer over the whole file, as a memory-mapped store record is
    src = ScanPrefix(np.frombuffer(data, np.uint8), end)
    got = read_coefficients(src, freqs=sel.per_plane)
    assert (got.bytes_read, got.total_bytes) == (walked.bytes_read, len(data)) == (end, len(data))
    for a, b in zip(got.planes, walked.planes):
        np.testing.assert_array_equal(a, b)
    # nothing selected: everything wanted, so the whole file, whatever the prefix says
    every = read_coefficients(src)
    assert every.bytes_read == len(data)
    for a, b in zip(every.planes, full.planes):
        np.testing.assert_array_equal(a, b)
    dec = decode_jpeg(src, select=sel)
    assert (dec.bytes_read, dec.total_bytes) == (end, len(data))
    # Pillow's fallback decodes pixels: it gets the whole file, not the prefix
    rgb, _ = open_rgb(src)
    np.testing.assert_array_equal(rgb, np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))


@pytest.mark.parametrize("end", [0, -1, 10**9, 2.5, True])
def test_scan_prefix_must_end_inside_the_file(end: object) -> None:
    with pytest.raises(fp.InvalidArgumentError, match="scan prefix must end"):
        ScanPrefix(b"\xff\xd8\xff\xd9", end)  # type: ignore[arg-type]


def _exact_after_by_coefficient(table: ScanTable, wanted: dict[int, list[int]]) -> int | None:
    """The prefix rule from its definition, one (component, zigzag rank) at a time."""
    from freqpipe.transforms import NATURAL_TO_ZIGZAG

    # components outside the frame cannot be in a scan: they ask for nothing
    pairs = {
        (c, int(NATURAL_TO_ZIGZAG[k])) for c, ks in wanted.items() if c < table.ncomp for k in ks
    }
    if not pairs:
        return None
    last, exact_at = -1, {}
    for i, s in enumerate(table.scans):
        for c in s.components:
            for r in range(s.ss, min(s.se, 63) + 1):
                if (c, r) in pairs:
                    last = i
                    if s.al == 0:
                        exact_at[(c, r)] = i
    return last if last >= 0 and all(p in exact_at for p in pairs) else None


def test_native_prefix_rule_matches_its_definition_on_random_scan_tables() -> None:
    # refinements, bands sent twice, empty and inverted bands, components absent from a scan
    rng = np.random.default_rng(11)
    for _ in range(3000):
        ncomp = int(rng.integers(1, 5))
        scans = []
        for j in range(int(rng.integers(0, 9))):
            ss = int(rng.integers(0, 64))
            se = int(rng.integers(0, 66)) if rng.random() < 0.2 else int(rng.integers(ss, 64))
            comps = tuple(sorted(rng.choice(ncomp, int(rng.integers(1, ncomp + 1)), False)))
            al = int(rng.integers(0, 3)) if rng.random() < 0.4 else 0
            scans.append(Scan(10 * j, 10 * j + 10, tuple(int(c) for c in comps), ss, se, 0, al))
        table = ScanTable(ncomp, True, tuple(scans), 10 * len(scans), True)
        wanted = {
            int(c): sorted(rng.choice(64, int(rng.integers(0, 6)), False).tolist())
            for c in rng.choice(ncomp + 1, int(rng.integers(1, ncomp + 2)), False)
        }
        assert complete_after(table, wanted) == _exact_after_by_coefficient(table, wanted)


@pytest.mark.parametrize("strict", [True, False])
def test_a_prefix_read_in_place_equals_the_prefix_copied_with_an_eoi(strict: bool) -> None:
    # The decoder reads data[:end] then an EOI without copying; cut anywhere (inside a scan,
    # inside a segment, at a boundary), it must say and return what the copy gives libjpeg.
    data = fp.reorder_jpeg(dict(FIXTURES)["pillow-420"], ORDER)
    rng = np.random.default_rng(2)
    sel = Selection.preset("dct24").per_plane
    for end in sorted({*rng.integers(2, len(data), 40).tolist(), *prefix_lengths(data, ORDER)}):
        outcomes = []
        # the copy as the reader used to make it: data[:end] + EOI, read whole
        copied = data[:end] + b"\xff\xd9"
        for src in (ScanPrefix(data, end), ScanPrefix(copied, len(copied))):
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                try:
                    c = read_coefficients(src, freqs=sel, strict=strict)
                    outcomes.append(([p.copy() for p in c.planes], [str(w.message) for w in seen]))
                except FreqpipeError as exc:
                    # the reason, not the offset: past the end of its data libjpeg's memory
                    # source reports a position inside the fake EOI it inserts
                    outcomes.append((type(exc).__name__, exc.reason))
        (a, wa), (b, wb) = outcomes
        assert wa == wb
        if isinstance(a, str):
            assert (a, wa) == (b, wb)
        else:
            for p, q in zip(a, b):
                np.testing.assert_array_equal(p, q)
