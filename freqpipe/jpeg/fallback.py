"""The per-file fallback: files without YCbCr coefficients in the asked layout, via Pillow.

torchvision's ``ImageFolder`` reads every file its Pillow loader reads
(``Image.open(f).convert("RGB")``): CMYK and YCCK JPEGs, PNGs named ``.jpg``, any chroma
sampling. The loader's fast paths cannot (the coefficient source needs YCbCr coefficients, in
a sampling that reaches 4:2:0 for ``chroma="separate"``; libjpeg-turbo's RGB decode refuses
CMYK), so such a file is
decoded here with Pillow's own loader, converted to RGB, and goes on through the transform the
pixel source uses (JFIF YCbCr, 8x8 block DCT), into the same batch slot, or, for ``freqpipe
convert``'s coefficient route, into the same record. Only a file Pillow cannot read either is a
bad file.
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np
from PIL import Image

from freqpipe.errors import NotAJpegError
from freqpipe.jpeg.scans import ScanPrefix
from freqpipe.transforms import Selection, block_dct, hflip_dct, rgb_to_ycbcr
from freqpipe.transforms.downscale import subsample_dct

__all__ = ["coefficient_window", "fallback_reason", "fallback_rgb", "open_rgb"]


def open_rgb(source: Any) -> tuple[np.ndarray, str]:
    """Decode a file as ImageFolder's default loader does: ``Image.open(f).convert("RGB")``.

    Args:
        source: a path, the file's bytes, or a :class:`~freqpipe.jpeg.scans.ScanPrefix`
            (the whole file is decoded).

    Returns:
        ``(rgb, kind)``: uint8 (H, W, 3), and what the file is (``"PNG"``, ``"CMYK JPEG"``).

    Raises:
        OSError: Pillow cannot read the file (``PIL.UnidentifiedImageError`` is an OSError).

    Example:
        >>> buf = io.BytesIO()
        >>> Image.new("CMYK", (9, 5)).save(buf, "JPEG")
        >>> rgb, kind = open_rgb(buf.getvalue())
        >>> rgb.shape, rgb.dtype.name, kind
        ((5, 9, 3), 'uint8', 'CMYK JPEG')
    """
    if isinstance(source, ScanPrefix):  # Pillow decodes pixels: it needs every scan
        source = source.data
    if isinstance(source, (bytes, bytearray, memoryview, np.ndarray)):
        f: Any = io.BytesIO(bytes(source))
    else:
        f = open(os.fspath(source), "rb")
    try:
        with Image.open(f) as img:
            kind = f"{img.mode} {img.format}" if img.format == "JPEG" else str(img.format)
            rgb = np.asarray(img.convert("RGB"))
    finally:
        f.close()
    return rgb, kind


def fallback_rgb(source: Any, why: str | BaseException) -> tuple[np.ndarray, str]:
    """Pillow's RGB of a file the coefficient reader set aside, or why it is a bad file.

    Args:
        source: a path or the file's bytes.
        why: the reader's error, or what the file lacks (a string, e.g. "CMYK JPEG").

    Returns:
        :func:`open_rgb`'s ``(rgb, kind)``.

    Raises:
        FreqpipeError: Pillow cannot read it either and the reader had refused it: the reader's
            reason (it names the file and what is wrong, e.g. not a JPEG at all).
        OSError: Pillow cannot read a file the reader had decoded.
    """
    try:
        return open_rgb(source)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        if isinstance(why, BaseException):
            raise why from exc
        raise


def fallback_reason(why: str | BaseException, kind: str) -> str:
    """What the fallback log and ``loader.fallbacks`` say about a file of ``kind``."""
    if isinstance(why, NotAJpegError):
        return f"{kind} file, not a JPEG"
    return why if isinstance(why, str) else f"{kind}: {getattr(why, 'reason', why)}"


def coefficient_window(
    rgb: np.ndarray,
    selection: Selection,
    *,
    top: int,
    left: int,
    blocks: int,
    hflip: bool,
    separate: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The selected DCT channels of a block window of an RGB image, as the coefficient source's.

    The image is padded to whole 8x8 blocks by repeating its edge (as JPEG encoders do), and
    with mid-grey outside (whose DCT is exactly zero, the coefficient source's padding); the
    window is flipped in pixels (the same as the exact DCT-domain flip of a block-aligned
    window); then JFIF YCbCr and the block DCT of the pixel source. With ``separate`` the
    chroma is the whole image's, brought to the 4:2:0 grid as a 4:4:4 file's is
    (:func:`~freqpipe.transforms.downscale.subsample_dct`), and its window cut from there.

    Args:
        rgb: uint8 (H, W, 3).
        selection: the channels.
        top: first luma block row of the window (negative: padding above).
        left: first luma block column (negative: padding on the left).
        blocks: window side in luma blocks (even with ``separate``).
        hflip: flip the window horizontally.
        separate: chroma on its own 4:2:0 grid.

    Returns:
        ``(luma_or_all, chroma)`` float32: with ``separate`` (C_y, n, n) and
        (C_cb + C_cr, n/2, n/2); otherwise (C, n, n) and None.

    Example:
        >>> grey = np.full((20, 12, 3), 128, np.uint8)
        >>> x, c = coefficient_window(grey, Selection.preset("dct6"), top=-1, left=0,
        ...                           blocks=4, hflip=False, separate=False)
        >>> x.shape, float(abs(x).max()) < 1e-3, c
        ((6, 4, 4), True, None)
    """
    h, w = rgb.shape[:2]
    hb, wb = -(-h // 8), -(-w // 8)
    full = np.pad(rgb, ((0, hb * 8 - h), (0, wb * 8 - w), (0, 0)), mode="edge")
    side = blocks * 8
    win = np.full((side, side, 3), 128, np.uint8)
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + blocks, hb), min(left + blocks, wb)
    if r1 > r0 and c1 > c0:
        win[(r0 - top) * 8 : (r1 - top) * 8, (c0 - left) * 8 : (c1 - left) * 8] = full[
            r0 * 8 : r1 * 8, c0 * 8 : c1 * 8
        ]
    if hflip:
        win = win[:, ::-1]
    ycc = rgb_to_ycbcr(win.astype(np.float32), channel_axis=-1)
    planes = np.moveaxis(ycc, -1, 0)  # (3, side, side)
    ky, kcb, kcr = selection.per_plane
    if not separate:
        coeffs = block_dct(planes)  # (3, 64, n, n)
        return np.concatenate([coeffs[0][ky], coeffs[1][kcb], coeffs[2][kcr]]), None
    luma = block_dct(planes[0])
    return luma[ky], _chroma_window(rgb, (kcb, kcr), top // 2, left // 2, blocks // 2, hflip)


def _chroma_window(
    rgb: np.ndarray,
    freqs: tuple[np.ndarray, np.ndarray],
    top: int,
    left: int,
    blocks: int,
    hflip: bool,
) -> np.ndarray:
    """Cb and Cr of a full-resolution image on the 4:2:0 grid, a window of blocks (zero outside)."""
    h, w = rgb.shape[:2]
    hb, wb = -(-h // 8), -(-w // 8)
    ycc = rgb_to_ycbcr(rgb.astype(np.float32), channel_axis=-1)
    windows = []
    for plane, ks in zip((1, 2), freqs):
        win = np.zeros((ks.size, blocks, blocks), np.float32)
        if ks.size:
            full = np.pad(ycc[..., plane], ((0, 8 * hb - h), (0, 8 * wb - w)), mode="edge")
            grid = subsample_dct(block_dct(full), (h, w), (2, 2), ks)
            r0, r1 = max(top, 0), min(top + blocks, grid.shape[1])
            c0, c1 = max(left, 0), min(left + blocks, grid.shape[2])
            if r1 > r0 and c1 > c0:
                win[:, r0 - top : r1 - top, c0 - left : c1 - left] = grid[:, r0:r1, c0:c1]
            if hflip:
                win = hflip_dct(win, frequencies=ks)
        windows.append(win)
    return np.concatenate(windows)
