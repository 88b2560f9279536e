"""Regression tests for the reader's hardening (issue 20): what a hostile file can cost."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from PIL import Image

import freqpipe as fp
from freqpipe.errors import CorruptJpegError, ImageTooLargeError, InvalidArgumentError
from freqpipe.jpeg.markers import parse_jpeg
from tests.conftest import REPO


def _gray(size: int, *, progressive: bool = False) -> bytes:
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8), "L")
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90, progressive=progressive)
    return buf.getvalue()


def _with_size(data: bytes, width: int, height: int) -> bytes:
    sof = data.find(b"\xff\xc0")
    if sof < 0:
        sof = data.find(b"\xff\xc2")
    return data[: sof + 5] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + data[sof + 9 :]


def _run_limited(code: str, limit_bytes: int) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child whose address space is capped (nothing big is ever mapped)."""
    prologue = textwrap.dedent(
        f"""
        import resource, sys
        sys.path.insert(0, {str(REPO)!r})
        import numpy, freqpipe
        resource.setrlimit(resource.RLIMIT_AS, ({limit_bytes}, {limit_bytes}))
        """
    )
    return subprocess.run(
        [sys.executable, "-c", prologue + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_huge_frame_in_a_tiny_file_is_refused_before_allocating():
    # The 675-byte bomb: a 65500x65500 frame over a tiny scan, max_pixels=None.
    data = _with_size(_gray(16), 65500, 65500)
    assert len(data) < 2000
    code = f"""
        import time
        t0 = time.perf_counter()
        try:
            freqpipe.read_coefficients({data!r}, max_pixels=None, strict=False)
        except freqpipe.CorruptJpegError as exc:
            print(type(exc).__name__, time.perf_counter() - t0, exc)
    """
    # 3 GiB of address space: far less than the 12.9 GB libjpeg would allocate and zero-fill.
    proc = _run_limited(code, 3 << 30)
    assert proc.returncode == 0, proc.stderr
    name, seconds, message = proc.stdout.split(" ", 2)
    assert name == "CorruptJpegError"
    assert "can hold" in message and "65500x65500" in message and "<bytes>" in message
    assert float(seconds) < 2.0


def test_allocation_failure_is_a_typed_error(tmp_path):
    # A frame whose 62 MB of coefficients fits the budget of any file (64 MiB) but not the
    # child's address space: calloc fails, and the reader says so in a typed error.
    data = _with_size(_gray(16), 5600, 5600)
    code = f"""
        import resource
        now = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (now + (16 << 20), now + (16 << 20)))
        try:
            freqpipe.read_coefficients({data!r}, strict=False)
        except freqpipe.ImageTooLargeError as exc:
            print("typed", exc)
    """
    proc = _run_limited(code, 4 << 30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("typed") and "out of memory" in proc.stdout


def test_budget_leaves_real_files_alone():
    big = _gray(1024)  # random pixels: about 1 MB of Huffman data for 16k blocks
    c = fp.read_coefficients(big)
    assert c.planes[0].shape == (128, 128, 64)
    # Borrowed, never copied: one allocation per component.
    assert not c.planes[0].flags.owndata


def _scans(data: bytes) -> list[tuple[int, int, dict]]:
    """(start, end, header) of each scan: from its SOS to the next marker."""
    s = parse_jpeg(data)
    out = []
    for scan in s.scans:
        start = scan["offset"]
        pos = start + 2 + int.from_bytes(data[start + 2 : start + 4], "big")
        while True:
            pos = data.find(b"\xff", pos)
            if data[pos + 1] == 0 or 0xD0 <= data[pos + 1] <= 0xD7:
                pos += 2
                continue
            break
        out.append((start, pos, scan))
    return out


def _unit(data: bytes, scans: list, i: int, *, zero_point_transform: bool) -> bytes:
    """Scan ``i`` with the tables defined just before it (from the previous scan's end)."""
    begin = scans[i - 1][1] if i else scans[0][0]
    sos, end, _ = scans[i]
    if not zero_point_transform:
        return data[begin:end]
    last = sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big") - 1  # the Ah/Al byte
    return data[begin:last] + b"\x00" + data[last + 1 : end]


def _dc_and_ac(size: int) -> tuple[bytes, bytes, bytes]:
    """(headers, DC scan, AC scan) of a progressive grayscale file, both scans with Ah=Al=0.

    ``headers + dc + ac + EOI`` is a valid file libjpeg reads without a warning, and a repeat of
    ``ac`` is the issue's bomb: libjpeg cannot tell it from a first transmission.
    """
    data = _gray(size, progressive=True)
    scans = _scans(data)
    dc = next(i for i, t in enumerate(scans) if t[2]["Ss"] == 0 and t[2]["Ah"] == 0)
    ac = next(i for i, t in enumerate(scans) if t[2]["Ss"] > 0 and t[2]["Ah"] == 0)
    return (
        data[: scans[0][0]],
        _unit(data, scans, dc, zero_point_transform=True),
        _unit(data, scans, ac, zero_point_transform=True),
    )


@pytest.mark.parametrize("strict", [True, False])
def test_a_scan_sent_twice_at_the_same_precision_is_refused(strict):
    head, dc, ac = _dc_and_ac(64)
    fp.read_coefficients(head + dc + ac + b"\xff\xd9")  # the scans once: fine
    with pytest.raises(CorruptJpegError, match="again at a precision already decoded"):
        fp.read_coefficients(head + dc + ac + ac + b"\xff\xd9", strict=strict)
    with pytest.raises(CorruptJpegError, match="coefficient 0 of component 0 again"):
        fp.read_coefficients(head + dc + dc + ac + b"\xff\xd9", strict=strict)


@pytest.mark.parametrize("which", ["dc", "ac-first", "ac-refine"])
def test_a_repeated_scan_is_refused_with_strict_off(which):
    # With successive approximation libjpeg warns about a repeat (strict=True fails on that)
    # but, with strict=False, decodes it again: the reader refuses it instead.
    data = _gray(64, progressive=True)
    pick = {
        "dc": lambda s: s["Ss"] == 0 and s["Ah"] == 0,
        "ac-first": lambda s: s["Ss"] > 0 and s["Ah"] == 0,
        "ac-refine": lambda s: s["Ss"] > 0 and s["Ah"] > 0,
    }[which]
    scans = _scans(data)
    i = next(i for i, t in enumerate(scans) if pick(t[2]))
    end = scans[i][1]
    bomb = data[:end] + _unit(data, scans, i, zero_point_transform=False) * 3 + data[end:]
    fp.read_coefficients(data)
    with pytest.raises(CorruptJpegError):
        fp.read_coefficients(bomb, strict=True)
    with pytest.raises(CorruptJpegError, match="again at a precision already decoded"):
        fp.read_coefficients(bomb, strict=False)


def test_repeated_scan_bomb_fails_fast():
    # The shape: one AC scan (Ss=1.., Ah=Al=0) repeated 999 times.
    head, dc, ac = _dc_and_ac(512)
    bomb = head + dc + ac * 999 + b"\xff\xd9"
    t0 = time.perf_counter()
    with pytest.raises(CorruptJpegError, match="refusing redundant scans"):
        fp.read_coefficients(bomb, strict=True)
    assert time.perf_counter() - t0 < 1.0


def test_scan_work_is_capped_in_passes_over_the_image():
    from freqpipe.jpeg import _native

    data = _gray(64, progressive=True)
    passes = len(_scans(data))  # each of libjpeg's gray scans walks every block once
    dec = _native.Decoder(data, True, 1000, 0, passes)
    dec.decode([None], [0], [bytes(range(64))])
    dec = _native.Decoder(data, True, 1000, 0, passes - 1)
    with pytest.raises(_native.DecodeError, match="more than .* times over"):
        dec.decode([None], [0], [bytes(range(64))])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_pixels": 1.5}, "max_pixels"),
        ({"max_pixels": "10"}, "max_pixels"),
        ({"freqs": 5}, "freqs"),
        ({"freqs": ["a"]}, "freqs"),
        ({"freqs": [1.7]}, "freqs"),
        ({"freqs": [[0, 1.0]]}, "freqs"),
    ],
)
def test_bad_arguments_are_typed(kwargs, name):
    with pytest.raises(InvalidArgumentError, match=name):
        fp.read_coefficients(_gray(16), **kwargs)


def test_integer_like_arguments_still_work():
    c = fp.read_coefficients(_gray(16), freqs=np.array([0, 1]), max_pixels=np.int64(10_000))
    assert c.planes[0].shape[-1] == 2


def test_image_too_large_is_still_raised():
    with pytest.raises(ImageTooLargeError):
        fp.read_coefficients(_with_size(_gray(16), 5000, 5000), max_pixels=1000)


@pytest.mark.parametrize("where", ["between segments", "in entropy-coded data"])
def test_inspect_skips_fill_bytes_in_bulk(where):
    # The FFD8 + 200 MB of 0xFF took 27-37 s (one Python iteration per byte); 20 MB
    # here took about 3 s before the fix.
    data = _gray(16)
    prefix = b"\xff\xd8" if where == "between segments" else data[: _scans(data)[0][1]]
    blob = prefix + b"\xff" * (20 << 20) + b"\xff\xd9"
    t0 = time.perf_counter()
    s = parse_jpeg(blob)
    assert time.perf_counter() - t0 < 1.0
    assert s.ends_with_eoi
    assert not parse_jpeg(b"\xff\xd8" + b"\xff" * 1000).ends_with_eoi
