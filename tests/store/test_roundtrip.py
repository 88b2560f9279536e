"""Every record equals reading and selecting its original file directly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from turbojpeg import TJPF_RGB, TurboJPEG

import freqpipe as fp
from freqpipe.jpeg.datasets import JpegFolder
from freqpipe.store import FreqStore, convert
from freqpipe.transforms import image_to_dct192, resize_shape
from tests.tolerances import assert_close


def _reference_coefficients(path: str, sel: fp.Selection, g: int) -> tuple[np.ndarray, np.ndarray]:
    """Reader + gather_blocks, window centred on the block grid, zero padding, zero gray chroma."""
    c = fp.read_coefficients(path)
    hb, wb = c.planes[0].shape[:2]
    out = np.zeros((len(sel), g, g), np.int16)
    quant = np.ones(len(sel), np.uint16)
    nh, nw = min(hb, g), min(wb, g)
    ny = len(sel.per_plane[0])
    planes_sel = sel if len(c.planes) == 3 else fp.Selection(y=sel.per_plane[0])
    # torchvision's CenterCrop on the block grid: crop at int(round((hb - g) / 2.0)) (half to
    # even) when it fits, else pad (g - hb) // 2 before (the smaller half).
    top0, left0 = (int(round((e - n) / 2.0)) for e, n in ((hb, nh), (wb, nw)))  # noqa: RUF046
    got = fp.gather_blocks(
        c.planes, selection=planes_sel, top=top0, left=left0, height=nh, width=nw
    )
    top, left = (g - nh) // 2, (g - nw) // 2
    out[: len(planes_sel), top : top + nh, left : left + nw] = got
    quant[:ny] = c.quant[0][sel.per_plane[0]]
    if len(c.planes) == 3:
        quant[ny:] = np.concatenate([c.quant[1][sel.per_plane[1]], c.quant[2][sel.per_plane[2]]])
    return out, quant


@pytest.mark.parametrize("dtype", ["auto", "int16", "float16"])
def test_coefficient_route_round_trip(small_folder: Path, tmp_path: Path, dtype: str) -> None:
    size = 80  # larger than some fixture images: exercises the padding
    convert(
        small_folder,
        tmp_path / "s",
        select="dct24",
        size=size,
        dtype=dtype,
        shard_size=5,
        workers=2,
        progress=False,
    )
    store = FreqStore(tmp_path / "s")
    folder = JpegFolder(small_folder)
    assert len(store) == len(folder) and store.classes == folder.classes
    np.testing.assert_array_equal(store.labels, folder.targets)
    sel = fp.Selection.preset("dct24")
    batch = store.read_batch(np.arange(len(store)))
    for i, (path, label) in enumerate(folder.samples):
        ref, q = _reference_coefficients(path, sel, size // 8)
        rec, lab = store[i]
        assert lab == label
        if dtype == "float16":
            assert store.record_kind == "float16" and batch.quant is None
            expected = (ref.astype(np.float32) * q[:, None, None]).astype(np.float16)
            np.testing.assert_array_equal(rec["coeffs"], expected)
        else:
            np.testing.assert_array_equal(rec["coeffs"], ref)
            np.testing.assert_array_equal(rec["quant"], q)
            np.testing.assert_array_equal(batch.coeffs[i], ref)
            np.testing.assert_array_equal(batch.quant[i], q)
    if dtype == "int16":
        assert {s["dtype"] for s in store.manifest["shards"]} == {"int16"}


def test_auto_dtype_uses_int8_where_it_fits(small_folder: Path, tmp_path: Path) -> None:
    convert(small_folder, tmp_path / "s", select="dct24", size=32, shard_size=1, progress=False)
    store = FreqStore(tmp_path / "s")
    dtypes = [s["dtype"] for s in store.manifest["shards"]]
    assert "int8" in dtypes  # coarse-quantised images fit int8
    for i, s in enumerate(store.manifest["shards"]):
        rec = store._maps[i]["coeffs"]
        fits = int(np.abs(store.read_batch([i]).coeffs).max()) <= 127 and (
            store.read_batch([i]).coeffs.min() >= -128
        )
        assert (s["dtype"] == "int8") == fits and rec.dtype.name == s["dtype"]
    expected = "int8" if set(dtypes) == {"int8"} else "int16"
    assert store.manifest["dtype"] == expected == store.read_batch([0]).coeffs.dtype.name


def test_pixel_route_round_trip(small_folder: Path, tmp_path: Path) -> None:
    size = 32
    convert(small_folder, tmp_path / "p", route="pixel", select="dct24", size=size, progress=False)
    store = FreqStore(tmp_path / "p")
    assert store.record_kind == "float16" and store.chroma == "full"
    sel = fp.Selection.preset("dct24")
    turbo = TurboJPEG()
    for i, (path, _) in enumerate(JpegFolder(small_folder).samples):
        # the loader's evaluation decode: libjpeg-turbo at the strongest of 1/8, 1/4, 1/2 that
        # keeps at least the resize target, then Pillow's bilinear resize and the centre crop
        data = Path(path).read_bytes()
        width, height, _, _ = turbo.decode_header(data)
        h, w = resize_shape(height, width, size)
        scale = next(
            (
                (n, d)
                for n, d in ((1, 8), (1, 4), (1, 2))
                if height * n >= d * h and width * n >= d * w
            ),
            None,
        )
        rgb = Image.fromarray(turbo.decode(data, pixel_format=TJPF_RGB, scaling_factor=scale))
        rgb = rgb.resize((w, h), Image.Resampling.BILINEAR)
        ref = sel.select(image_to_dct192(np.asarray(rgb), size))
        assert_close(store[i][0]["coeffs"], ref, precision=np.float16)


def test_pixel_route_resize_short(small_folder: Path, tmp_path: Path) -> None:
    convert(
        small_folder,
        tmp_path / "p",
        route="pixel",
        select="dct6",
        size=32,
        resize_short=48,
        progress=False,
    )
    store = FreqStore(tmp_path / "p")
    path = JpegFolder(small_folder).samples[0][0]
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    short, long = sorted(rgb.size[::-1])
    h, w = (48, int(48 * long / short)) if rgb.height <= rgb.width else (int(48 * long / short), 48)
    rgb = rgb.resize((w, h), Image.Resampling.BILINEAR)
    ref = fp.Selection.preset("dct6").select(image_to_dct192(np.asarray(rgb), 32))
    assert_close(store[0][0]["coeffs"], ref, precision=np.float16)


def test_jpeg_bytes_round_trip(small_folder: Path, tmp_path: Path) -> None:
    convert(small_folder, tmp_path / "j", route="jpeg", size=32, shard_size=4, progress=False)
    store = FreqStore(tmp_path / "j")
    for i, (path, label) in enumerate(JpegFolder(small_folder).samples):
        assert store.get_bytes(i) == Path(path).read_bytes()
        assert store[i][1] == label
    with pytest.raises(fp.InvalidArgumentError, match="get_bytes"):
        store.read_batch([0])


def test_file_list_source(small_folder: Path, tmp_path: Path) -> None:
    files = JpegFolder(small_folder).samples[:5]
    lst = tmp_path / "list.txt"
    lst.write_text("".join(f"{p} {4 - i}\n" for i, (p, _) in enumerate(files)))
    convert(lst, tmp_path / "s", select="dct6", size=16, progress=False)
    store = FreqStore(tmp_path / "s")
    assert store.labels.tolist() == [4, 3, 2, 1, 0] and store.classes == ["0", "1", "2", "3", "4"]
