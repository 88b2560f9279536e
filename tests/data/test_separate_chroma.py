"""Issue 17 item 6: ``chroma="separate"`` for 4:4:4, 4:2:2 and 4:4:0 files, in the DCT domain.

What a file's separate chroma is (conventions §9): 4:2:0 chroma as coded; any other chroma
that halving brings to the 4:2:0 grid is Pillow's bilinear 2x reduction of the decoded
(float, unclamped) chroma plane along each axis that is not subsampled yet, odd sizes padded
by edge replication first, then the block DCT, rounded to integers with quant values of 1.
The reference below computes that from an independent reader (jpeglib's coefficients), SciPy's
DCT and Pillow's resize of a float image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.fft
import torch
from PIL import Image

from freqpipe.data import FreqLoader, JpegFileList, JpegFolder
from freqpipe.errors import InvalidArgumentError, UnsupportedJpegError
from freqpipe.jpeg import decode_jpeg
from freqpipe.jpeg.fallback import coefficient_window
from freqpipe.jpeg.gather import gather_planes
from freqpipe.store import FreqStore, convert
from freqpipe.transforms import Selection
from freqpipe.transforms.downscale import subsample_dct
from freqpipe.transforms.windows import choose_window

jpeglib = pytest.importorskip("jpeglib")

SIZE = 64
SEL = Selection.preset("dct24")


def _jpeglib(path: Path) -> tuple[list[np.ndarray], list[tuple[int, int]], tuple[int, int]]:
    """Dequantised planes (Hb, Wb, 8, 8), (h, v) per component, (height, width)."""
    im = jpeglib.read_dct(str(path))
    planes = [im.Y] + ([im.Cb, im.Cr] if im.Cb is not None else [])
    tables = [im.qt[t] for t in im.quant_tbl_no[: len(planes)]]
    sampling = [(int(h), int(v)) for v, h in np.asarray(im.samp_factor)[: len(planes)]]
    return (
        [p * q.astype(np.float64) for p, q in zip(planes, tables)],
        sampling,
        (im.height, im.width),
    )


def _samples(c: np.ndarray) -> np.ndarray:
    """SciPy's inverse 8x8 DCT of (Hb, Wb, 8, 8) [v, u] blocks, level shift undone."""
    hb, wb = c.shape[:2]
    x = scipy.fft.idctn(c, axes=(2, 3), norm="ortho") + 128
    return x.transpose(0, 2, 1, 3).reshape(8 * hb, 8 * wb)


def _blocks(x: np.ndarray) -> np.ndarray:
    """SciPy's 8x8 DCT of samples (8 Hb, 8 Wb): (64, Hb, Wb), natural order."""
    hb, wb = x.shape[0] // 8, x.shape[1] // 8
    b = x.reshape(hb, 8, wb, 8).transpose(0, 2, 1, 3) - 128
    return scipy.fft.dctn(b, axes=(2, 3), norm="ortho").reshape(hb, wb, 64).transpose(2, 0, 1)


def _pillow_420(plane: np.ndarray, samples: tuple[int, int], halve: tuple[int, int]) -> np.ndarray:
    """The definition: Pillow's 2x bilinear reduction of the halved axes, block DCT."""
    keep = [n if f == 2 else plane.shape[a] for a, (n, f) in enumerate(zip(samples, halve))]
    even = [n + n % 2 if f == 2 else n for n, f in zip(keep, halve)]
    x = np.pad(plane[: keep[0], : keep[1]], [(0, e - n) for e, n in zip(even, keep)], "edge")
    out = [e // f for e, f in zip(even, halve)]
    im = Image.fromarray(x.astype(np.float32), "F")
    y = np.asarray(im.resize((out[1], out[0]), Image.Resampling.BILINEAR), np.float64)
    blocks = [-(-n // 8) for n in out]
    return _blocks(np.pad(y, [(0, 8 * b - n) for b, n in zip(blocks, out)], "edge"))


def _window(full: np.ndarray, top: int, left: int, n: int) -> np.ndarray:
    """Blocks ``[top, top + n) x [left, left + n)`` of (F, Hb, Wb), zero outside."""
    out = np.zeros((full.shape[0], n, n))
    r0, r1 = max(top, 0), min(top + n, full.shape[1])
    c0, c1 = max(left, 0), min(left + n, full.shape[2])
    out[:, r0 - top : r1 - top, c0 - left : c1 - left] = full[:, r0:r1, c0:c1]
    return out


def _reference(path: Path, n: int, hflip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(luma window as coded, chroma window on the 4:2:0 grid), float, centred, evaluation."""
    planes, sampling, (h, w) = _jpeglib(path)
    (yh, yv), grid = sampling[0], planes[0].shape[:2]
    top, left, _ = choose_window(grid, n, train=False, rng=None, align=2)
    ks = SEL.per_plane
    luma = _window(planes[0].reshape(*grid, 64).transpose(2, 0, 1)[ks[0]], top, left, n)
    chroma = []
    for p in (1, 2):
        ch, cv = sampling[p]
        halve = (2 * cv // yv, 2 * ch // yh)  # 2: not subsampled against luma yet
        samples = (-(-h * cv // yv), -(-w * ch // yh))
        full = _pillow_420(_samples(planes[p]), samples, halve)[ks[p]]
        chroma.append(_window(full, top // 2, left // 2, n // 2))
    c = np.concatenate(chroma)
    if hflip:
        luma, c = np.flip(luma, -1), np.flip(c, -1)
        luma = luma * np.where(SEL.per_plane[0] % 2, -1, 1)[:, None, None]
        signs = np.concatenate([np.where(k % 2, -1, 1) for k in ks[1:]])
        c = c * signs[:, None, None]
    return luma, c


def _encode(img: Image.Image, path: Path, subsampling: int, **kw: object) -> Path:
    img.save(path, "JPEG", quality=90, subsampling=subsampling, **kw)
    return path


@pytest.fixture(scope="module")
def made(files: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Pillow-made files of one photo, odd-sized: 4:4:4, 4:2:2, 4:2:0, progressive 4:4:4."""
    root = tmp_path_factory.mktemp("sampling")
    with Image.open(files[0]) as im:
        img = im.convert("RGB").crop((13, 7, 13 + 141, 7 + 83))  # 141 x 83: odd both ways
    (root / "a").mkdir()
    return {
        "444": _encode(img, root / "a" / "444.jpg", 0),
        "422": _encode(img, root / "a" / "422.jpg", 1),
        "420": _encode(img, root / "a" / "420.jpg", 2),
        "444p": _encode(img, root / "a" / "444p.jpg", 0, progressive=True),
    }


def test_subsample_of_real_coefficients_equals_pillow_before_rounding(
    made: dict[str, Path],
) -> None:
    for name in ("444", "422"):
        planes, sampling, (h, w) = _jpeglib(made[name])
        halve = (2, 2) if name == "444" else (2, 1)
        samples = (h, w) if name == "444" else (h, -(-w // 2))
        for p in (1, 2):
            c = planes[p].reshape(*planes[p].shape[:2], 64).transpose(2, 0, 1)
            ref = _pillow_420(_samples(planes[p]), samples, halve)
            # float64 maths against Pillow's float32 resize: 3e-5 of 255 here
            np.testing.assert_allclose(subsample_dct(c, samples, halve), ref, atol=1e-4)


@pytest.mark.parametrize("name", ["444", "422", "444p"])
def test_loader_reads_444_and_422_in_the_dct_domain(made: dict[str, Path], name: str) -> None:
    ds = JpegFileList([made[name], made["420"]], [0, 1])
    loader = FreqLoader(ds, batch_size=2, size=SIZE, device="cpu", chroma="separate", raw=True)
    q, quant, cq, cquant, _ = next(iter(loader))
    assert loader.fallbacks == {}  # before: "chroma sampling ... is not 4:2:0"
    luma, chroma = _reference(made[name], SIZE // 8)
    np.testing.assert_array_equal(q[0].numpy() * quant[0, :, None, None].numpy(), luma)
    assert (cquant[0] == 1).all()
    # rounding to integers is the only error: at most 0.5 (the 4:2:0 file: exact, as coded)
    np.testing.assert_allclose(cq[0].numpy(), chroma, atol=0.5 + 1e-4)
    _, chroma420 = _reference(made["420"], SIZE // 8)
    got420 = cq[1].numpy() * cquant[1, :, None, None].numpy()
    np.testing.assert_allclose(got420, chroma420, atol=1e-4)  # the reference went via float32
    assert float(np.abs(chroma).max()) > 10  # a real picture, not a blank slot


def test_flipped_window_is_the_flip_of_the_reference(made: dict[str, Path]) -> None:
    dec = decode_jpeg(made["444"])
    top, left, _ = choose_window(dec.grids[0], SIZE // 8, train=False, rng=None, align=2)
    y, cy = SEL.per_plane[0].size, SEL.per_plane[1].size + SEL.per_plane[2].size
    n = SIZE // 8
    out, quant = np.empty((y, n, n), np.int16), np.empty(y, np.uint16)
    cout, cquant = np.empty((cy, n // 2, n // 2), np.int16), np.empty(cy, np.uint16)
    gather_planes(
        dec, SEL, out, quant, top=top, left=left, hflip=True, chroma_out=cout, chroma_quant=cquant
    )
    _, chroma = _reference(made["444"], n, hflip=True)
    np.testing.assert_allclose(cout, chroma, atol=0.5 + 1e-4)


def test_normalised_output_is_the_dequantised_raw_output(made: dict[str, Path]) -> None:
    ds = JpegFileList([made["444"], made["422"]], [0, 1])
    kw = {"batch_size": 2, "size": SIZE, "device": "cpu", "chroma": "separate"}
    _, _, cq, cquant, _ = next(iter(FreqLoader(ds, raw=True, **kw)))
    (_, chroma), _ = next(iter(FreqLoader(ds, normalize=None, **kw)))
    assert chroma.dtype == torch.float32
    np.testing.assert_array_equal(
        chroma.numpy(), cq.numpy() * cquant.numpy()[..., None, None].astype(np.float32)
    )


def test_a_jpeg_byte_store_gives_the_folders_batches(made: dict[str, Path], tmp_path: Path) -> None:
    folder = made["444"].parent.parent
    convert(folder, tmp_path / "s", route="jpeg", progress=False)
    kw = {"batch_size": 4, "size": SIZE, "device": "cpu", "chroma": "separate", "raw": True}
    direct = next(iter(FreqLoader(JpegFolder(folder), **kw)))
    stored = next(iter(FreqLoader(FreqStore(tmp_path / "s"), **kw)))
    for a, b in zip(direct, stored):
        assert torch.equal(a, b)


def test_the_pillow_fallback_means_the_same(made: dict[str, Path]) -> None:
    # A file without usable coefficients (CMYK, PNG, 4:1:1) goes through Pillow's RGB and the
    # same subsampling: for a 4:4:4 file both routes agree up to libjpeg's integer IDCT, its
    # uint8 rounding and the colour round trip. Measured: at most 2.97, RMS 0.71 (chroma, dct24).
    with Image.open(made["444"]) as im:
        rgb = np.asarray(im.convert("RGB"))
    dec = decode_jpeg(made["444"])
    n = SIZE // 8
    top, left, _ = choose_window(dec.grids[0], n, train=False, rng=None, align=2)
    _, chroma = coefficient_window(
        rgb, SEL, top=top, left=left, blocks=n, hflip=False, separate=True
    )
    _, ref = _reference(made["444"], n)
    assert float(np.abs(chroma - ref).max()) < 4
    assert float(np.sqrt(np.mean((chroma - ref) ** 2))) < 1


def test_cmyk_falls_back_with_the_same_chroma_rule(made: dict[str, Path], tmp_path: Path) -> None:
    with Image.open(made["444"]) as im:
        rgb = im.convert("RGB")
    rgb.convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    loader = FreqLoader(
        JpegFileList([tmp_path / "cmyk.jpg"], [0]),
        batch_size=1,
        size=SIZE,
        device="cpu",
        chroma="separate",
        raw=True,
    )
    _, _, cq, _, _ = next(iter(loader))
    assert loader.fallbacks == {"CMYK JPEG (no YCbCr coefficients)": 1}
    with Image.open(tmp_path / "cmyk.jpg") as im:
        x = np.asarray(im.convert("RGB"), np.float64)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]  # conventions §2
    h, w = x.shape[:2]
    hb, wb = -(-h // 8), -(-w // 8)
    top, left, _ = choose_window((hb, wb), SIZE // 8, train=False, rng=None, align=2)
    want = []
    for p, plane in (
        (1, -0.168736 * r - 0.331264 * g + 0.5 * b + 128),
        (2, 0.5 * r - 0.418688 * g - 0.081312 * b + 128),
    ):
        full = _pillow_420(plane, (h, w), (2, 2))[SEL.per_plane[p]]
        want.append(_window(full, top // 2, left // 2, SIZE // 16))
    np.testing.assert_allclose(cq[0].numpy(), np.concatenate(want), atol=0.5 + 1e-3)


def test_partial_reads_are_refused(made: dict[str, Path]) -> None:
    dec = decode_jpeg(made["444p"], select=SEL)
    assert not dec.complete and decode_jpeg(made["444"], select=SEL).complete
    n = SIZE // 8
    with pytest.raises(InvalidArgumentError, match="444p.jpg.*every coefficient"):
        gather_planes(
            dec,
            SEL,
            np.empty((16, n, n), np.int16),
            np.empty(16, np.uint16),
            top=0,
            left=0,
            hflip=False,
            chroma_out=np.empty((8, n // 2, n // 2), np.int16),
            chroma_quant=np.empty(8, np.uint16),
        )


def test_440_conformance_files_are_read(conformance_dir: Path) -> None:
    names = ["go-image/video-001.q50.440.jpeg", "dali_extra/single__mixed__0__440.jpg"]
    paths = [conformance_dir / n for n in names]
    assert decode_jpeg(paths[0]).halving(1) == (1, 2)
    ds = JpegFileList(paths, [0, 1])
    loader = FreqLoader(ds, batch_size=2, size=SIZE, device="cpu", chroma="separate", raw=True)
    _, _, cq, cquant, _ = next(iter(loader))
    assert loader.fallbacks == {} and (cquant == 1).all()
    for i, path in enumerate(paths):
        _, chroma = _reference(path, SIZE // 8)
        np.testing.assert_allclose(cq[i].numpy(), chroma, atol=0.5 + 1e-4)


@pytest.mark.parametrize(
    ("name", "sampling"),
    [
        ("go-image/video-001.q50.411.jpeg", "((4, 1), (1, 1), (1, 1))"),
        ("go-image/video-001.q50.410.jpeg", "((4, 2), (1, 1), (1, 1))"),
    ],
)
def test_other_samplings_are_a_typed_error_then_the_fallback(
    conformance_dir: Path, name: str, sampling: str
) -> None:
    path = conformance_dir / name
    dec = decode_jpeg(path)
    n = SIZE // 8
    with pytest.raises(UnsupportedJpegError) as info:
        gather_planes(
            dec,
            SEL,
            np.empty((16, n, n), np.int16),
            np.empty(16, np.uint16),
            top=0,
            left=0,
            hflip=False,
            chroma_out=np.empty((8, n // 2, n // 2), np.int16),
            chroma_quant=np.empty(8, np.uint16),
        )
    assert info.value.source == str(path) and sampling in str(info.value)
    assert "4:2:0 grid" in str(info.value)
    # the loader reads it as ImageFolder does (per-file fallback), saying why
    loader = FreqLoader(
        JpegFileList([path], [0]), batch_size=1, size=SIZE, device="cpu", chroma="separate"
    )
    next(iter(loader))
    ((reason, count),) = loader.fallbacks.items()
    assert count == 1 and sampling in reason


def test_every_shared_photo_is_read_from_its_coefficients(photos: list[Path]) -> None:
    # Before: 312 of these 400 photos (306 4:4:4, 5 4:2:2, 1 4:4:0) went through the Pillow
    # fallback with chroma="separate"; now none does.
    ds = JpegFileList(photos, list(range(len(photos))))
    loader = FreqLoader(ds, batch_size=50, size=224, device="cpu", chroma="separate", raw=True)
    checked = 0
    for _, _, cq, _, y in loader:
        for i in (0, 1):  # spot checks against the reference
            path = photos[int(y[i])]
            if decode_jpeg(path).sampling[0] != (2, 2) and len(decode_jpeg(path).sampling) == 3:
                _, chroma = _reference(path, 224 // 8)
                np.testing.assert_allclose(cq[i].numpy(), chroma, atol=0.5 + 1e-4)
                checked += 1
    assert loader.fallbacks == {} and checked >= 4


def test_the_bytes_of_a_444_file_are_read_as_its_path(made: dict[str, Path]) -> None:
    kw = {"batch_size": 1, "size": SIZE, "device": "cpu", "chroma": "separate", "raw": True}
    by_path = next(iter(FreqLoader(JpegFileList([made["444"]], [0]), **kw)))
    as_bytes = FreqLoader(JpegFileList([made["444"].read_bytes()], [0]), **kw)
    for a, b in zip(by_path, next(iter(as_bytes))):
        assert torch.equal(a, b)
    assert as_bytes.fallbacks == {}
