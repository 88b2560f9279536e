"""JPEG files the suite encodes itself, so the reader's tests stand without ../shared.

Each fixture is (name, bytes). They cover what the reader claims to support: qualities,
every subsampling libjpeg-turbo 2.1 can encode, progressive, restart intervals, grayscale,
odd sizes, Adobe RGB and CMYK.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from freqpipe._samples import sample_files


def _photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A crop of a bundled photo (real image statistics) of the requested size."""
    files = sample_files()
    with Image.open(files[seed % len(files)]) as im:
        rgb = np.asarray(im.convert("RGB"))
    top, left = (seed * 37) % (rgb.shape[0] - height), (seed * 53) % (rgb.shape[1] - width)
    return np.ascontiguousarray(rgb[top : top + height, left : left + width])


def _pillow(rgb: np.ndarray, mode: str = "RGB", **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).convert(mode).save(buf, format="JPEG", **kw)
    return buf.getvalue()


def _turbo(rgb: np.ndarray, subsample: str, quality: int = 85) -> bytes:
    import turbojpeg

    tj = turbojpeg.TurboJPEG()
    samp = getattr(turbojpeg, f"TJSAMP_{subsample}")
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    if subsample == "GRAY":
        return bytes(tj.encode(bgr, quality=quality, jpeg_subsample=samp))
    return bytes(tj.encode(bgr, quality=quality, jpeg_subsample=samp))


@cache
def encoded_fixtures() -> tuple[tuple[str, bytes], ...]:
    """Return (name, JPEG bytes) pairs, built once per session."""
    out: list[tuple[str, bytes]] = []
    base = _photo(96, 80, seed=1)
    for quality in (10, 50, 75, 95, 100):
        out.append((f"pillow-q{quality}-420", _pillow(base, quality=quality)))
    for sub, name in ((0, "444"), (1, "422"), (2, "420")):
        out.append((f"pillow-{name}", _pillow(base, quality=80, subsampling=sub)))
        out.append(
            (
                f"pillow-{name}-progressive",
                _pillow(base, quality=80, subsampling=sub, progressive=True),
            )
        )
    for sub in ("444", "422", "420", "440", "411", "GRAY"):
        out.append((f"turbo-{sub.lower()}", _turbo(base, sub)))
    out.append(("pillow-restart-blocks-5", _pillow(base, quality=80, restart_marker_blocks=5)))
    out.append(("pillow-restart-rows-1", _pillow(base, quality=80, restart_marker_rows=1)))
    out.append(("pillow-gray", _pillow(base, mode="L", quality=80)))
    out.append(("pillow-gray-progressive", _pillow(base, mode="L", quality=80, progressive=True)))
    out.append(("pillow-cmyk", _pillow(base, mode="CMYK", quality=80)))
    for w, h in ((1, 1), (7, 9), (17, 15), (33, 31), (65, 3)):
        crop = _photo(w, h, seed=w + h)
        out.append((f"pillow-{w}x{h}-420", _pillow(crop, quality=85)))
        out.append((f"turbo-{w}x{h}-411", _turbo(crop, "411")))
    return tuple(out)


def jpeglib_planes(data: bytes, tmp_path: Path) -> list[np.ndarray]:
    """A file's planes (Hb, Wb, 64) from jpeglib, an independent libjpeg binding.

    The caller skips when jpeglib is missing (``pytest.importorskip("jpeglib")``).
    """
    import jpeglib

    path = tmp_path / "ref.jpg"
    path.write_bytes(data)
    im = jpeglib.read_dct(str(path))
    planes = [im.Y] + ([im.Cb, im.Cr] if im.Cb is not None else [])
    return [np.asarray(p).reshape(p.shape[0], p.shape[1], 64) for p in planes]
