"""read_coefficients against an independent libjpeg reader (jpeglib.read_dct) and SciPy."""

from __future__ import annotations

import io
import os
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import freqpipe as fp
from freqpipe.errors import (
    CorruptJpegError,
    CorruptJpegWarning,
    FreqpipeError,
    ImageTooLargeError,
    InvalidArgumentError,
    NotAJpegError,
    UnsupportedJpegError,
)
from freqpipe.jpeg import read_coefficients, read_coefficients_batch
from tests.conftest import CONFORMANCE, conformance_manifest, photo_files
from tests.jpeg.fixtures import encoded_fixtures

jpeglib = pytest.importorskip("jpeglib")

FIXTURES = encoded_fixtures()
MANIFEST = conformance_manifest()


def jpeglib_reference(path: Path) -> tuple[list[np.ndarray], np.ndarray, list[tuple[int, int]]]:
    """Planes as (Hb, Wb, 64), quant table per component, (h, v) per component."""
    im = jpeglib.read_dct(str(path))
    planes = [im.Y]
    if im.Cb is not None:
        planes += [im.Cb, im.Cr]
    if getattr(im, "K", None) is not None:
        planes.append(im.K)
    planes = [p.reshape(p.shape[0], p.shape[1], 64) for p in planes]
    quant = np.stack([im.qt[t].reshape(64) for t in im.quant_tbl_no[: len(planes)]])
    # jpeglib reports sampling as (v, h).
    sampling = [(int(h), int(v)) for v, h in np.asarray(im.samp_factor)[: len(planes)]]
    return planes, quant, sampling


def assert_matches_jpeglib(c: fp.jpeg.JpegCoefficients, path: Path) -> None:
    planes, quant, sampling = jpeglib_reference(path)
    assert len(c.planes) == len(planes)
    for mine, ref in zip(c.planes, planes):
        assert mine.dtype == np.int16
        assert mine.shape == ref.shape
        np.testing.assert_array_equal(mine, ref)
    np.testing.assert_array_equal(c.quant, quant)
    assert list(c.sampling) == sampling


@pytest.mark.parametrize("name,data", FIXTURES, ids=[n for n, _ in FIXTURES])
def test_own_fixtures_match_jpeglib(name: str, data: bytes, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.jpg"
    path.write_bytes(data)
    c = read_coefficients(data)
    assert_matches_jpeglib(c, path)
    with Image.open(io.BytesIO(data)) as im:
        assert (c.width, c.height) == im.size
        assert c.progressive == bool(im.info.get("progressive", False))


def _manifest_params() -> list[object]:
    return [pytest.param(row, id=row["file"]) for row in MANIFEST]


def _expected_failure(row: dict[str, str]) -> type[FreqpipeError] | None:
    header = row["header_summary"].split()
    if header[0] == "lossless" or header[1] in ("12bit", "16bit"):
        return UnsupportedJpegError
    return None


@pytest.mark.filterwarnings("ignore::freqpipe.errors.CorruptJpegWarning")
@pytest.mark.parametrize("row", _manifest_params())
def test_conformance_file_reads_or_raises_typed_error(row: dict[str, str]) -> None:
    path = CONFORMANCE / row["file"]
    expected = _expected_failure(row)
    try:
        c = read_coefficients(path)
    except (CorruptJpegError, UnsupportedJpegError, ImageTooLargeError) as exc:
        assert str(path) in str(exc)
        if expected is not None:
            assert isinstance(exc, expected)
        else:
            # Only damaged files may fail a strict read; they must then say "corrupt/truncated".
            assert isinstance(exc, (CorruptJpegError, ImageTooLargeError)), exc
        return
    assert expected is None, f"{row['file']} should have raised {expected.__name__}"
    assert all(p.dtype == np.int16 and p.shape[-1] == 64 for p in c.planes)
    width, height = row["header_summary"].split()[2].split("x")
    assert (c.width, c.height) == (int(width), int(height))


@pytest.mark.parametrize("row", _manifest_params())
def test_conformance_file_matches_jpeglib(row: dict[str, str]) -> None:
    path = CONFORMANCE / row["file"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorruptJpegWarning)
        try:
            c = read_coefficients(path, strict=False)
        except FreqpipeError:
            pytest.skip("not readable by freqpipe (typed error checked elsewhere)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            jpeglib_reference(path)
    except Exception as exc:  # jpeglib is the reference; where it cannot read, nothing to compare
        if c.arithmetic:
            pytest.skip(f"jpeglib is built without arithmetic decoding ({exc})")
        pytest.skip(f"jpeglib cannot read this file ({type(exc).__name__})")
    assert_matches_jpeglib(c, path)


def test_arithmetic_coding_equals_huffman_twin(conformance_dir: Path) -> None:
    # libjpeg-turbo's testimgari.jpg and testimgint.jpg encode the same quantised coefficients,
    # one with arithmetic and one with Huffman coding; jpeglib (no arithmetic decoder) can check
    # the Huffman twin, which makes it the reference for the arithmetic one.
    ari = read_coefficients(conformance_dir / "libjpeg-turbo/testimgari.jpg")
    huff_path = conformance_dir / "libjpeg-turbo/testimgint.jpg"
    assert ari.arithmetic
    assert_matches_jpeglib(ari, huff_path)


def test_photos_match_jpeglib(photos: list[Path]) -> None:
    for path in photos:
        assert_matches_jpeglib(read_coefficients(path), path)


def test_dequantized_equals_scipy_dct_of_decoded_pixels() -> None:
    # conventions §1: a quality-100 4:4:4 JPEG's dequantised coefficients match a float DCT of its
    # level-shifted YCbCr pixels within about 1.5 (pixel rounding + coefficient rounding).
    from scipy.fft import dctn

    from tests.jpeg.fixtures import _photo

    rgb = _photo(128, 96, seed=3)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=100, subsampling=0)
    c = read_coefficients(buf.getvalue())
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        im.draft("YCbCr", im.size)  # libjpeg's own output, no RGB round trip
        ycc = np.asarray(im).astype(np.float64)
    assert ycc.shape == (96, 128, 3)
    for plane, deq in enumerate(c.dequantized()):
        blocks = ycc[..., plane].reshape(12, 8, 16, 8).transpose(0, 2, 1, 3) - 128.0
        ref = dctn(blocks, axes=(2, 3), norm="ortho").reshape(12, 16, 64)
        assert deq.dtype == np.float32
        err = np.abs(deq - ref)
        assert err.max() <= 1.5, f"plane {plane}: max error {err.max():.3f}"


def test_freqs_and_components_gather_the_same_values() -> None:
    name, data = FIXTURES[7]  # 4:2:2, three differently shaped planes
    full = read_coefficients(data)
    freqs = [0, 1, 8, 9, 63, 2]
    shared = read_coefficients(data, freqs=freqs)
    for a, b in zip(shared.planes, full.planes):
        np.testing.assert_array_equal(a, b[..., freqs])
    per = read_coefficients(data, components=[2, 0], freqs=[[5], [0, 1, 8, 9]])
    assert per.components == (2, 0)
    np.testing.assert_array_equal(per.planes[0], full.planes[2][..., [5]])
    np.testing.assert_array_equal(per.planes[1], full.planes[0][..., [0, 1, 8, 9]])
    np.testing.assert_array_equal(per.quant, full.quant[[2, 0]])
    assert per.sampling == (full.sampling[2], full.sampling[0])
    deq = per.dequantized()[1]
    np.testing.assert_array_equal(deq, full.dequantized()[0][..., [0, 1, 8, 9]])
    empty = read_coefficients(data, freqs=[[0], [], []])
    assert empty.planes[1].shape == full.planes[1].shape[:2] + (0,)
    np.testing.assert_array_equal(empty.quant, full.quant)


def test_default_planes_borrow_libjpeg_memory_and_outlive_the_decoder() -> None:
    import gc

    # 17 px wide at 4:1:1: Y has 3 block columns, stored padded to one 4-block MCU: strided.
    _, data = next(f for f in FIXTURES if f[0] == "turbo-17x15-411")
    out = [np.empty(p.shape, np.int16) for p in read_coefficients(data).planes]
    copied = read_coefficients(data, out=out)
    borrowed = read_coefficients(data)
    y = borrowed.planes[0]
    assert not y.flags.owndata and not y.flags.c_contiguous
    assert y.strides == (4 * 64 * 2, 64 * 2, 2)
    del borrowed
    gc.collect()
    for _ in range(20):  # churn the allocator: freed memory would now be reused
        read_coefficients(data)
    np.testing.assert_array_equal(y, copied.planes[0])
    y[0, 0, 0] = 7  # a borrowed plane is an ordinary writable array
    assert y[0, 0, 0] == 7


def test_out_buffers_are_filled_in_place() -> None:
    _, data = FIXTURES[0]
    full = read_coefficients(data)
    out = [np.full(p.shape[:2] + (3,), -1, np.int16) for p in full.planes]
    c = read_coefficients(data, freqs=[0, 1, 8], out=out)
    for buf, plane, ref in zip(out, c.planes, full.planes):
        assert np.shares_memory(buf, plane)
        np.testing.assert_array_equal(buf, ref[..., [0, 1, 8]])
    torch = pytest.importorskip("torch")
    pinned_like = [torch.zeros(tuple(p.shape), dtype=torch.int16) for p in full.planes]
    read_coefficients(data, out=pinned_like)
    np.testing.assert_array_equal(pinned_like[0].numpy(), full.planes[0])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"out": [np.zeros((1, 1, 64), np.int16)]},
        {"out": [np.zeros((10, 12, 64), np.int32)] * 3},
        {"out": [np.zeros((12, 10, 64), np.int16).transpose(1, 0, 2)] * 3},
        {"components": [3]},
        {"components": ["Y"]},
        {"freqs": [64]},
        {"freqs": [-1]},
        {"freqs": [[0], [1]]},
    ],
)
def test_bad_arguments_raise_invalid_argument(kwargs: dict[str, object]) -> None:
    _, data = FIXTURES[0]
    with pytest.raises(InvalidArgumentError):
        read_coefficients(data, **kwargs)


def test_every_source_kind(tmp_path: Path) -> None:
    _, data = FIXTURES[0]
    path = tmp_path / "x.jpg"
    path.write_bytes(data)
    ref = read_coefficients(data)
    with open(path, "rb") as f:
        from_file = read_coefficients(f)
    for c in (
        read_coefficients(path),
        read_coefficients(str(path)),
        read_coefficients(bytearray(data)),
        read_coefficients(memoryview(data)),
        from_file,
    ):
        np.testing.assert_array_equal(c.planes[0], ref.planes[0])
    assert read_coefficients(path).source == str(path)
    assert from_file.source == str(path)
    with pytest.raises(FileNotFoundError, match="no such file"):  # also a FreqpipeError
        read_coefficients(tmp_path / "missing.jpg")
    with pytest.raises(InvalidArgumentError):
        read_coefficients(12345)  # type: ignore[arg-type]


def test_not_a_jpeg_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(NotAJpegError, match="image.png"):
        read_coefficients(path)
    with pytest.raises(NotAJpegError):
        read_coefficients(b"")
    assert issubclass(NotAJpegError, UnsupportedJpegError)


def test_truncated_file_strict_and_recovered() -> None:
    _, data = FIXTURES[9]  # 4:2:0 baseline
    full = read_coefficients(data)
    cut = data[: len(data) * 2 // 3]
    with pytest.raises(CorruptJpegError, match="strict=False") as info:
        read_coefficients(cut)
    assert info.value.source == "<bytes>"
    assert info.value.offset is not None and 0 < info.value.offset <= len(cut)
    with pytest.warns(CorruptJpegWarning, match="Premature end"):
        part = read_coefficients(cut, strict=False)
    assert part.warnings
    y, ref = part.planes[0], full.planes[0]
    assert y.shape == ref.shape
    # What was decoded before the cut is exact; what was lost is zero-filled.
    np.testing.assert_array_equal(y[:3], ref[:3])
    assert not y[-1].any()


def test_stray_bytes_between_segments_warn_only(conformance_dir: Path) -> None:
    path = conformance_dir / "pillow/junk_jpeg_header.jpg"
    with pytest.warns(CorruptJpegWarning, match="extraneous bytes"):
        c = read_coefficients(path)
    assert c.planes[0].size


def test_max_pixels_is_enforced_before_decoding() -> None:
    _, data = FIXTURES[0]
    with pytest.raises(ImageTooLargeError, match="max_pixels=100"):
        read_coefficients(data, max_pixels=100)
    assert read_coefficients(data, max_pixels=None).planes
    # A tiny file that declares 60000 x 60000 pixels must be refused at once, not allocated.
    header = bytearray(data[: data.index(b"\xff\xc0") + 10])
    sof = header.index(b"\xff\xc0")
    header[sof + 5 : sof + 9] = (60000).to_bytes(2, "big") * 2
    with pytest.raises(ImageTooLargeError, match="3600000000 pixels"):
        read_coefficients(bytes(header))


def test_declared_huge_dimensions_file(conformance_dir: Path) -> None:
    path = conformance_dir / "jpeg-js/black-6000x6000.jpg"
    with pytest.raises(ImageTooLargeError, match="36000000 pixels exceeds max_pixels=1000000"):
        read_coefficients(path, max_pixels=1_000_000)
    c = read_coefficients(path, components=0, freqs=[0])
    assert c.planes[0].shape == (750, 750, 1)


def _sources_for_fuzzing() -> list[bytes]:
    datas = [data for _, data in FIXTURES[::4]]
    for rel in (
        "libjpeg-turbo/testprog.jpg",
        "libjpeg-turbo/testimgari.jpg",
        "go-image/video-001.restart2.jpeg",
    ):
        if (CONFORMANCE / rel).is_file():
            datas.append((CONFORMANCE / rel).read_bytes())
    return datas


@pytest.mark.parametrize("strict", [True, False])
def test_fuzzed_inputs_never_crash(strict: bool) -> None:
    # Truncations and byte flips of real files: every outcome is a result or a typed error.
    # (A crash would take the whole pytest process down with it.)
    rng = np.random.default_rng(1234)
    outcomes = {"ok": 0, "error": 0}
    for data in _sources_for_fuzzing():
        for trial in range(40):
            buf = bytearray(data)
            if trial % 3 == 0:
                buf = buf[: int(rng.integers(0, len(buf)))]
            else:
                for _ in range(int(rng.integers(1, 8))):
                    pos = int(rng.integers(0, len(buf)))
                    buf[pos] = int(rng.integers(0, 256))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CorruptJpegWarning)
                try:
                    c = read_coefficients(bytes(buf), strict=strict, max_pixels=4_000_000)
                except FreqpipeError:
                    outcomes["error"] += 1
                    continue
            assert all(p.dtype == np.int16 for p in c.planes)
            outcomes["ok"] += 1
    assert outcomes["ok"] and outcomes["error"]


def test_progressive_scan_bomb_is_refused() -> None:
    # Repeat a progressive file's last scan thousands of times: a decode-time bomb.
    _, data = next(f for f in FIXTURES if f[0] == "pillow-gray-progressive")
    last_sos = data.rindex(b"\xff\xda")
    scan = data[last_sos:-2]
    bomb = data[:-2] + scan * 1500 + b"\xff\xd9"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorruptJpegWarning)
        with pytest.raises(CorruptJpegError, match="scans"):
            read_coefficients(bomb, strict=False)


def test_exif_orientation_and_icc_match_pillow(conformance_dir: Path) -> None:
    checked = 0
    for row in MANIFEST:
        if "EXIF orientation" not in row["exercises"] and "ICC" not in row["exercises"]:
            continue
        path = CONFORMANCE / row["file"]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CorruptJpegWarning)
                c = read_coefficients(path, strict=False)
            im = Image.open(path)
        except (FreqpipeError, OSError):
            continue
        with im:
            expected = im.getexif().get(0x0112, 1)
            assert c.orientation == (expected if expected in range(1, 9) else 1), path
            assert c.icc_profile == im.info.get("icc_profile"), path
        checked += 1
    assert checked >= 10


def _stored_colorspace(header_summary: str) -> str:
    # The rule of ITU T.872 as libjpeg applies it, from the manifest's independent header
    # summary: the Adobe APP14 transform flag decides for 3 and 4 components.
    fields = header_summary.split()
    ncomp = int(next(f for f in fields if f.startswith("nc="))[3:])
    adobe = next((f for f in fields if f.startswith("Adobe(t=")), None)
    transform = int(adobe[8:-1]) if adobe else None
    if ncomp == 1:
        return "gray"
    if ncomp == 3:
        return "rgb" if transform == 0 else "ycbcr"
    return "cmyk" if transform in (None, 0) else "ycck"


def test_colorspace_as_stored(conformance_dir: Path) -> None:
    seen = set()
    for row in MANIFEST:
        ex = row["exercises"]
        if not any(k in ex for k in ("CMYK", "YCCK", "RGB (Adobe", "grayscale")):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CorruptJpegWarning)
                c = read_coefficients(CONFORMANCE / row["file"])
        except FreqpipeError:
            continue
        assert c.colorspace == _stored_colorspace(row["header_summary"]), row["file"]
        seen.add(c.colorspace)
    assert {"gray", "cmyk", "ycck", "rgb"} <= seen


def test_eight_threads_give_identical_results() -> None:
    datas = [data for _, data in FIXTURES] + [p.read_bytes() for p in photo_files()[:16]]
    expected = [read_coefficients(d) for d in datas]
    failures: list[str] = []

    def worker() -> None:
        for _ in range(3):
            for d, ref in zip(datas, expected):
                got = read_coefficients(d)
                if not all(np.array_equal(a, b) for a, b in zip(got.planes, ref.planes)):
                    failures.append("mismatch")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_batch_equals_serial(tmp_path: Path) -> None:
    paths = []
    for name, data in FIXTURES[:12]:
        p = tmp_path / f"{name}.jpg"
        p.write_bytes(data)
        paths.append(p)
    serial = [read_coefficients(p, freqs=[0, 1]) for p in paths]
    for threads in (1, 4):
        batch = read_coefficients_batch(paths, threads=threads, freqs=[0, 1])
        assert [c.source for c in batch] == [str(p) for p in paths]
        for a, b in zip(batch, serial):
            for x, y in zip(a.planes, b.planes):
                np.testing.assert_array_equal(x, y)
    bad = [*paths[:2], tmp_path / "missing.jpg"]
    with pytest.raises(FreqpipeError, match="missing.jpg"):
        read_coefficients_batch(bad, threads=2)
    with pytest.raises(InvalidArgumentError):
        read_coefficients_batch(paths, threads=0)


def test_repr_and_read_only_result() -> None:
    c = read_coefficients(FIXTURES[0][1])
    assert "JpegCoefficients(" in repr(c) and "ycbcr" in repr(c)
    with pytest.raises(AttributeError):
        c.width = 3  # type: ignore[misc]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_decoder_object_is_single_use() -> None:
    from freqpipe.jpeg import _native

    dec = _native.Decoder(FIXTURES[0][1])
    shape = (
        dec.header["components"][0]["height_in_blocks"],
        dec.header["components"][0]["width_in_blocks"],
        1,
    )
    out = np.empty(shape, np.int16)
    dec.decode([out], [0], [bytes([0])])
    with pytest.raises(RuntimeError, match="decodes once"):
        dec.decode([out], [0], [bytes([0])])
