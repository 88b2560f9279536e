"""reorder_jpeg: lossless (jpeglib on both files, Pillow pixels), scan script, markers, errors."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import freqpipe as fp
from freqpipe.errors import (
    CorruptJpegError,
    FreqpipeError,
    ImageTooLargeError,
    NotAJpegError,
    SelectionError,
)
from freqpipe.jpeg import DEFAULT_ORDER, prefix_lengths, read_coefficients, scan_table
from freqpipe.transforms import NATURAL_TO_ZIGZAG, Selection
from tests.conftest import CONFORMANCE, conformance_manifest, photo_files
from tests.jpeg.fixtures import encoded_fixtures

jpeglib = pytest.importorskip("jpeglib")

FIXTURES = encoded_fixtures()


def _jpeglib_planes(data: bytes, tmp_path: Path, name: str) -> list[np.ndarray] | None:
    """All component planes via jpeglib (an independent libjpeg binding), or None."""
    path = tmp_path / name
    path.write_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = jpeglib.read_dct(str(path))
            planes = [im.Y] + ([im.Cb, im.Cr] if im.Cb is not None else [])
            if getattr(im, "K", None) is not None:
                planes.append(im.K)
            qt = [im.qt[t] for t in im.quant_tbl_no[: len(planes)]]
    except Exception:  # jpeglib has no arithmetic decoder; the caller falls back to ours
        return None
    return [np.asarray(p).reshape(p.shape[0], p.shape[1], 64) for p in planes] + [
        np.asarray(q).reshape(64) for q in qt
    ]


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im)


def assert_lossless(original: bytes, reordered: bytes, tmp_path: Path) -> None:
    """Every coefficient and quant table equal (jpeglib on both files), same pixels (Pillow)."""
    after = _jpeglib_planes(reordered, tmp_path, "after.jpg")
    assert after is not None, "jpeglib must read every reordered file (Huffman progressive)"
    before = _jpeglib_planes(original, tmp_path, "before.jpg")
    if before is None:  # arithmetic-coded original: our reader, itself checked against jpeglib
        c = read_coefficients(original)
        before = [np.asarray(p) for p in c.planes] + list(c.quant)
    assert len(before) == len(after)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    if _progression_complete(original):
        np.testing.assert_array_equal(_pixels(original), _pixels(reordered))


def _progression_complete(data: bytes) -> bool:
    """Whether every coefficient of the file is sent to its last bit (Al = 0).

    When not (a progressive file cut short), libjpeg smooths the missing low bits of the
    original while decoding; the reordered file states the same coefficients as exact, so
    only the coefficients, not the pixels, can be compared.
    """
    table = scan_table(data)
    if table is None:  # stray bytes between segments: the walk cannot vouch; Pillow can
        return True
    exact = np.zeros((table.ncomp, 64), dtype=bool)
    for s in table.scans:
        if s.al == 0:
            exact[list(s.components), s.ss : s.se + 1] = True
    return bool(exact.all())


@pytest.mark.parametrize("name,data", FIXTURES, ids=[n for n, _ in FIXTURES])
def test_fixtures_reorder_losslessly(name: str, data: bytes, tmp_path: Path) -> None:
    out = fp.reorder_jpeg(data)
    assert_lossless(data, out, tmp_path)
    table = scan_table(out)
    assert table is not None and table.progressive and table.complete


def _readable_conformance() -> list[object]:
    return [pytest.param(r["file"], id=r["file"]) for r in conformance_manifest()]


@pytest.mark.parametrize("rel", _readable_conformance())
def test_conformance_files_reorder_losslessly_or_raise_the_readers_error(
    rel: str, tmp_path: Path
) -> None:
    data = (CONFORMANCE / rel).read_bytes()
    try:
        # Stray bytes between segments only warn: the coefficients are intact, so they reorder.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fp.CorruptJpegWarning)
            read_coefficients(data, max_pixels=None)
    except FreqpipeError as exc:
        with pytest.raises(type(exc)):
            fp.reorder_jpeg(data, max_pixels=None)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fp.CorruptJpegWarning)
        out = fp.reorder_jpeg(data, max_pixels=None)
    assert_lossless(data, out, tmp_path)


def test_photos_reorder_losslessly(photos: list[Path], tmp_path: Path) -> None:
    for path in photos:
        data = path.read_bytes()
        assert_lossless(data, fp.reorder_jpeg(data), tmp_path)


def _expected_script(ncomp: int, order: list[Selection]) -> list[tuple[tuple[int, ...], int, int]]:
    """The issue's scan script, written out independently of the native builder."""
    script: list[tuple[tuple[int, ...], int, int]] = [(tuple(range(ncomp)), 0, 0)]
    done = [0] * ncomp
    for sel in [*order, Selection.preset("all")]:
        for c in range(ncomp):
            plane = sel.per_plane[min(c, 2)]
            end = int(NATURAL_TO_ZIGZAG[plane].max()) if plane.size else 0
            if end > done[c]:
                script.append(((c,), done[c] + 1, end))
                done[c] = end
    return script


@pytest.mark.parametrize(
    "order",
    [
        DEFAULT_ORDER,
        ("dct24",),
        (Selection(y=[0, 9, 18], cb=[0, 1], cr=[]), "dct48"),
        (Selection.zigzag(y=10, cb=3, cr=6),),
    ],
    ids=["default", "dct24", "custom-sparse", "custom-zigzag"],
)
def test_scan_script_follows_the_order(order: tuple[Selection | str, ...], tmp_path: Path) -> None:
    _, data = next(f for f in FIXTURES if f[0] == "pillow-420")
    out = fp.reorder_jpeg(data, order)
    table = scan_table(out)
    assert table is not None
    got = [(s.components, s.ss, s.se) for s in table.scans]
    assert got == _expected_script(3, [Selection.from_spec(s) for s in order])
    assert all(s.ah == 0 and s.al == 0 for s in table.scans)
    assert_lossless(data, out, tmp_path)


def test_grayscale_script_has_one_component() -> None:
    _, data = next(f for f in FIXTURES if f[0] == "pillow-gray")
    table = scan_table(fp.reorder_jpeg(data))
    assert table is not None
    got = [(s.components, s.ss, s.se) for s in table.scans]
    assert got == _expected_script(1, [Selection.preset(n) for n in DEFAULT_ORDER])
    assert got[:3] == [((0,), 0, 0), ((0,), 1, 4), ((0,), 5, 24)]  # dct6: Y 9 is rank 4


def test_prefix_lengths_grow_with_the_order() -> None:
    _, data = next(f for f in FIXTURES if f[0] == "pillow-420")
    out = fp.reorder_jpeg(data)
    lengths = prefix_lengths(out, DEFAULT_ORDER)
    assert lengths[0] < lengths[1] < lengths[2] < lengths[3] == len(out)


def _with_markers(data: bytes) -> bytes:
    """Insert a COM and an APP5 segment after SOI (markers our fixtures do not have)."""
    com = b"\xff\xfe" + (2 + 11).to_bytes(2, "big") + b"hello world"
    app5 = b"\xff\xe5" + (2 + 4).to_bytes(2, "big") + b"\x01\x02\x03\x04"
    return data[:2] + com + app5 + data[2:]


def _metadata_segments(data: bytes) -> list[tuple[str, str]]:
    """(marker, identifier) of every APPn/COM segment but the JFIF/Adobe ones libjpeg writes."""
    return [
        (name, ident)
        for name, _, _, ident in fp.jpeg.parse_jpeg(data).segments
        if (name, ident) not in (("APP0", "JFIF"), ("APP14", "Adobe"))
    ]


def _has_exif_and_icc(path: Path) -> bool:
    try:
        c = read_coefficients(path)
    except FreqpipeError:
        return False
    return c.icc_profile is not None and c.orientation != 1


@pytest.mark.filterwarnings("ignore::freqpipe.errors.CorruptJpegWarning")
def test_markers_are_kept_unless_stripped(conformance_dir: Path) -> None:
    path = next(p for p in sorted(conformance_dir.rglob("*.jp*g")) if _has_exif_and_icc(p))
    data = _with_markers(path.read_bytes())
    kept, stripped = fp.reorder_jpeg(data), fp.reorder_jpeg(data, strip=True)
    assert _metadata_segments(kept) == _metadata_segments(data)
    assert ("COM", "hello world") in _metadata_segments(kept) or b"hello world" in kept
    assert b"\xff\xe5\x00\x06\x01\x02\x03\x04" in kept
    assert _metadata_segments(stripped) == []
    ref, mine = read_coefficients(data), read_coefficients(kept)
    assert mine.icc_profile == ref.icc_profile and mine.orientation == ref.orientation != 1
    assert read_coefficients(stripped).icc_profile is None


def test_errors_are_typed_and_name_the_file(tmp_path: Path) -> None:
    _, data = FIXTURES[9]
    with pytest.raises(CorruptJpegError, match="cannot be reordered") as info:
        fp.reorder_jpeg(data[: len(data) * 2 // 3])
    assert info.value.source == "<bytes>"
    path = tmp_path / "junk.jpg"
    path.write_bytes(b"not a jpeg")
    with pytest.raises(NotAJpegError, match="junk.jpg"):
        fp.reorder_jpeg(path)
    with pytest.raises(ImageTooLargeError, match="max_pixels=100"):
        fp.reorder_jpeg(data, max_pixels=100)
    with pytest.raises(SelectionError):
        fp.reorder_jpeg(data, ["dct7"])
    with pytest.raises(fp.InvalidArgumentError):
        fp.reorder_jpeg(data, [])


def test_photo_file_count_matches_the_shared_folder() -> None:
    # Guard against the photo test quietly covering nothing.
    if photo_files():
        assert len(photo_files()) >= 100


def test_fuzzed_inputs_reorder_or_raise_typed_errors() -> None:
    # Truncations and byte flips: every outcome is a lossless rewrite or a typed error.
    rng = np.random.default_rng(1616)
    outcomes = {"ok": 0, "error": 0}
    for _, data in FIXTURES[::4]:
        for trial in range(30):
            buf = bytearray(data)
            if trial % 3 == 0:
                buf = buf[: int(rng.integers(0, len(buf)))]
            else:
                for _ in range(int(rng.integers(1, 8))):
                    buf[int(rng.integers(0, len(buf)))] = int(rng.integers(0, 256))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", fp.CorruptJpegWarning)
                try:
                    out = fp.reorder_jpeg(bytes(buf), max_pixels=4_000_000)
                except FreqpipeError:
                    outcomes["error"] += 1
                    continue
                ref = read_coefficients(bytes(buf), max_pixels=4_000_000)
            got = read_coefficients(out)
            assert all(np.array_equal(a, b) for a, b in zip(ref.planes, got.planes))
            outcomes["ok"] += 1
    assert outcomes["ok"] and outcomes["error"]
