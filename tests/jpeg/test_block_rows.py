"""Reading only the block rows a crop needs: restart intervals of other rows are skipped unread."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import freqpipe as fp
from freqpipe.errors import CorruptJpegError, FreqpipeError, InvalidArgumentError
from freqpipe.jpeg import FrameHeader, decode_jpeg, scan_table
from freqpipe.transforms import Selection
from tests.jpeg.fixtures import encoded_fixtures, jpeglib_planes

jpeglib = pytest.importorskip("jpeglib")

CASES = [
    (n, d)
    for n, d in encoded_fixtures()
    if n
    in (
        "pillow-420",
        "pillow-422",
        "pillow-444",
        "turbo-440",
        "turbo-411",
        "pillow-gray",
        "pillow-17x15-420",
        "pillow-33x31-420",
        "pillow-65x3-420",
        "pillow-restart-blocks-5",
    )
]


def _component_rows(dec: fp.jpeg.DecodedJpeg, start: int, stop: int) -> list[range]:
    """Each component's block rows covering the image rows of luma block rows start..stop."""
    vmax = max(v for _, v in dec.sampling)
    v0 = dec.sampling[0][1]
    y0, y1 = max(start, 0) * 8 * vmax / v0, min(stop * 8 * vmax / v0, dec.height)
    out = []
    for (_, v), (rows, _) in zip(dec.sampling, dec.grids):
        s0, s1 = np.floor(y0 * v / vmax), np.ceil(y1 * v / vmax)
        out.append(range(int(s0 // 8), min(int(np.ceil(s1 / 8)), rows)))
    return out


def _gathered(dec: fp.jpeg.DecodedJpeg, component: int) -> np.ndarray:
    rows, cols = dec.grids[component]
    out = np.empty((64, rows, cols), np.int16)
    dec.gather(component, out, np.arange(64), top=0, left=0)
    return out.transpose(1, 2, 0)


@pytest.mark.parametrize("reordered", [True, False], ids=["reordered", "as-is"])
@pytest.mark.parametrize("name,data", CASES, ids=[n for n, _ in CASES])
def test_rows_read_equal_the_whole_file_inside_them(
    name: str, data: bytes, reordered: bool, tmp_path: Path
) -> None:
    # reordered: the spectral decoder skips restart intervals; as-is (baseline files, some
    # with restart markers): libjpeg stops after the last iMCU row the rows need
    out = fp.reorder_jpeg(data) if reordered else data
    ref = jpeglib_planes(data, tmp_path)
    rows = ref[0].shape[0]
    rng = np.random.default_rng(len(data))
    ranges = {(0, rows), (0, 1), (rows - 1, rows), (-3, 2), (rows // 2, rows + 5)}
    ranges |= {tuple(sorted(rng.integers(0, rows + 1, 2).tolist())) for _ in range(6)}
    for start, stop in sorted(ranges):
        dec = decode_jpeg(out, block_rows=(start, stop))
        assert dec.block_rows == (start, stop)
        assert dec._decoder.entropy_decoder == ("freqpipe" if reordered else "libjpeg")
        for c, wanted in enumerate(_component_rows(dec, start, stop)):
            got = _gathered(dec, c)
            np.testing.assert_array_equal(got[wanted.start : wanted.stop], ref[c][wanted])


def test_a_function_draws_the_rows_from_the_frame_header() -> None:
    data = fp.reorder_jpeg(dict(encoded_fixtures())["pillow-420"])
    seen = []

    def rows(frame: FrameHeader) -> tuple[int, int]:
        seen.append(frame)
        return 2, 5

    dec = decode_jpeg(data, select="dct24", block_rows=rows)
    assert seen == [dec.frame]
    assert dec.block_rows == (2, 5) and not dec.complete
    assert decode_jpeg(data, block_rows=(0, dec.grids[0][0])).complete


def _interval_data(data: bytes, component: int, row: int) -> tuple[int, int]:
    """Byte span of the entropy-coded data of one MCU row of a component's first AC scan."""
    table = scan_table(data)
    assert table is not None
    scan = next(s for s in table.scans if s.components == (component,) and s.ss > 0)
    header_len = int.from_bytes(data[scan.offset + 2 : scan.offset + 4], "big")
    begin = scan.offset + 2 + header_len
    starts = [begin]
    pos = begin
    while True:
        pos = data.index(b"\xff", pos, scan.end) if b"\xff" in data[pos : scan.end] else -1
        if pos < 0:
            break
        if 0xD0 <= data[pos + 1] <= 0xD7:
            starts.append(pos + 2)
        pos += 2
    ends = [s - 2 for s in starts[1:]] + [scan.end]
    return starts[row], ends[row]


def test_skipped_intervals_are_not_read() -> None:
    data = fp.reorder_jpeg(dict(encoded_fixtures())["pillow-444"])
    rows = decode_jpeg(data).grids[0][0]
    begin, end = _interval_data(data, 0, 3)
    # all-ones bits: no Huffman code is all ones, so libjpeg reports a bad code there
    garbage = bytes(b"\xff\x00" * ((end - begin) // 2) + b"\xfe" * ((end - begin) % 2))
    damaged = data[:begin] + garbage + data[end:]
    with pytest.raises(CorruptJpegError):
        decode_jpeg(damaged)
    with pytest.raises(CorruptJpegError):
        decode_jpeg(damaged, block_rows=(2, 5))
    dec = decode_jpeg(damaged, block_rows=(4, rows))  # row 3's data is never read
    whole = decode_jpeg(data)
    for c in range(3):
        np.testing.assert_array_equal(_gathered(dec, c)[4:], _gathered(whole, c)[4:])


def test_a_sequential_file_is_read_up_to_the_rows_only() -> None:
    data = dict(encoded_fixtures())["pillow-444"]
    whole = decode_jpeg(data)
    rows = whole.grids[0][0]
    # damage in the last quarter of the data: only a read of the last rows meets it
    cut = len(data) - (len(data) - 700) // 4
    damaged = data[:cut] + b"\xff\x00" * 40 + data[cut + 80 :]
    with pytest.raises(CorruptJpegError):
        decode_jpeg(damaged)
    with pytest.raises(CorruptJpegError):
        decode_jpeg(damaged, block_rows=(rows - 2, rows))
    dec = decode_jpeg(damaged, block_rows=(1, 3))
    assert not dec.complete
    for c in range(3):
        np.testing.assert_array_equal(_gathered(dec, c)[:3], _gathered(whole, c)[:3])
        assert not _gathered(dec, c)[rows - 1].any()  # not read: zero


def test_a_file_without_restart_markers_is_read_whole() -> None:
    data = fp.reorder_jpeg(dict(encoded_fixtures())["pillow-420"], restart_rows=0)
    assert decode_jpeg(data).grids[0][0] > 4
    full, part = decode_jpeg(data), decode_jpeg(data, block_rows=(1, 2))
    for c in range(3):
        np.testing.assert_array_equal(_gathered(part, c), _gathered(full, c))


def test_reorder_writes_a_restart_marker_per_mcu_row() -> None:
    src = dict(encoded_fixtures())["pillow-420"]
    with_rows, without = fp.reorder_jpeg(src), fp.reorder_jpeg(src, restart_rows=0)
    assert b"\xff\xdd" in with_rows and b"\xff\xdd" not in without
    assert fp.read_coefficients(with_rows).restart_interval > 0
    pixels = [np.asarray(Image.open(io.BytesIO(d)).convert("RGB")) for d in (src, with_rows)]
    np.testing.assert_array_equal(pixels[0], pixels[1])
    for bad in (-1, 70000, 1.5, True):
        with pytest.raises(InvalidArgumentError, match="restart_rows"):
            fp.reorder_jpeg(src, restart_rows=bad)  # type: ignore[arg-type]


def test_bad_block_rows_are_refused() -> None:
    data = dict(encoded_fixtures())["pillow-420"]
    with pytest.raises(InvalidArgumentError, match="block_rows"):
        decode_jpeg(data, block_rows=(1,))  # type: ignore[arg-type]


@pytest.mark.parametrize("strict", [True, False])
def test_damaged_files_with_rows_fail_as_typed_errors(strict: bool) -> None:
    data = fp.reorder_jpeg(dict(encoded_fixtures())["pillow-420"])
    rng = np.random.default_rng(5)
    sel = Selection.preset("dct24")
    for _ in range(150):
        buf = bytearray(data)
        if rng.random() < 0.5:
            buf = buf[: int(rng.integers(2, len(buf)))]
        else:
            for _ in range(int(rng.integers(1, 6))):
                buf[int(rng.integers(0, len(buf)))] = int(rng.integers(0, 256))
        start = int(rng.integers(-2, 12))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # strict=False recovers with warnings
                decode_jpeg(bytes(buf), strict=strict, select=sel, block_rows=(start, start + 3))
        except FreqpipeError:
            pass
