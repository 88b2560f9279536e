"""What one store record holds, and how one input image becomes one.

Three record kinds (``RecordSpec.kind``):

* ``"quantized"`` — coefficient route: the native reader (no pixel decode), a centred window
  of ``size/8 x size/8`` Y blocks (``gather_coefficients``, chroma repeated to the Y grid), kept as
  the file's quantised integers plus one quant value per channel. Exact: nothing is lost.
* ``"float16"`` — pixel route (DCTNet): decode, resize the short side, centre crop, full
  resolution block DCT of Y, Cb, Cr (``image_to_dct192``), selected, stored as float16
  (11-bit mantissa: relative error <= 2**-11, i.e. <= 0.5 on a DC of 1024); or the coefficient
  route dequantised (coefficient x quant) to float16.
* ``"jpeg"`` — the original file bytes, for random crops at load time; with ``order``, the
  bytes frequency-ordered (:func:`~freqpipe.jpeg.reorder_jpeg`), so the reader stops after
  the scans of the selection it loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from freqpipe.errors import InvalidArgumentError, UnsupportedJpegError
from freqpipe.jpeg import decode_jpeg, gather_coefficients
from freqpipe.jpeg.fallback import coefficient_window, open_rgb
from freqpipe.jpeg.pixels import load_center_crop
from freqpipe.jpeg.reorder import order_ends
from freqpipe.transforms import Selection, image_to_dct192
from freqpipe.transforms.windows import center_window

__all__ = ["ROUTES", "RecordSpec", "coefficient_record", "pixel_record"]

ROUTES = ("coefficient", "pixel", "jpeg")
DTYPES = ("auto", "int16", "float16")


@dataclass(frozen=True)
class RecordSpec:
    """The settings that fix a record's layout.

    Args:
        route: ``"coefficient"``, ``"pixel"`` or ``"jpeg"``.
        selection: the channels kept.
        size: crop side in pixels (a multiple of 8).
        resize_short: pixel route: short side before the crop (default DCTNet's
            ``round(size * 512 / 448)``).
        dtype: ``"auto"`` (int8 per shard where every value fits, else int16; float16 for the
            pixel route), ``"int16"`` or ``"float16"`` (dequantised).
        order: jpeg route only: store each file rewritten by
            :func:`~freqpipe.jpeg.reorder_jpeg` with this order (selections, smallest
            first), so a loader reads only the prefix its selection needs.

    Raises:
        InvalidArgumentError: an unknown route or dtype, a size not a positive multiple of 8,
            or ``resize_short`` outside the pixel route or smaller than ``size``.

    Example:
        >>> s = RecordSpec("coefficient", Selection.preset("dct24"), 64)
        >>> s.kind, s.shape
        ('quantized', (24, 8, 8))
    """

    route: str
    selection: Selection
    size: int
    resize_short: int | None = None
    dtype: str = "auto"
    order: tuple[Selection, ...] | None = None

    def __post_init__(self) -> None:
        if self.order is not None:
            if self.route != "jpeg":
                raise InvalidArgumentError("order (--order) needs route='jpeg'")
            order_ends(self.order)  # validate: 1..64 selections
        if self.route not in ROUTES:
            raise InvalidArgumentError(
                f"route must be one of {', '.join(ROUTES)}, got {self.route!r}", value=self.route
            )
        if self.dtype not in DTYPES:
            raise InvalidArgumentError(
                f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}", value=self.dtype
            )
        if not isinstance(self.size, int) or self.size < 8 or self.size % 8:
            raise InvalidArgumentError(
                f"size must be a positive multiple of 8, got {self.size!r}", value=self.size
            )
        if self.resize_short is not None:
            if self.route != "pixel":
                raise InvalidArgumentError("resize_short (--resize-short) needs route='pixel'")
            if self.resize_short < self.size:
                raise InvalidArgumentError(
                    f"resize_short {self.resize_short} is smaller than the crop {self.size}"
                )
        if self.route == "pixel" and self.dtype == "int16":
            raise InvalidArgumentError(
                "the pixel route has no quantisation: use dtype 'float16' (or 'auto')"
            )

    @property
    def kind(self) -> str:
        """``"quantized"``, ``"float16"`` or ``"jpeg"``."""
        if self.route == "jpeg":
            return "jpeg"
        if self.route == "pixel" or self.dtype == "float16":
            return "float16"
        return "quantized"

    @property
    def chroma(self) -> str | None:
        """How chroma reaches the Y grid: ``"upsample"`` (block repetition), ``"full"``."""
        return {"coefficient": "upsample", "pixel": "full"}.get(self.route)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, size/8, size/8) of a record's coefficients."""
        g = self.size // 8
        return (len(self.selection), g, g)

    @property
    def work_dtype(self) -> np.dtype:
        """The dtype records are computed in (int16 or float16)."""
        return np.dtype(np.int16 if self.kind == "quantized" else np.float16)

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict (part of the plan and the manifest)."""
        return {
            "route": self.route,
            "selection": Selection.from_json(self.selection.to_json()).to_json(),
            "size": self.size,
            "resize_short": self.resize_short,
            "dtype": self.dtype,
            "kind": self.kind,
            "chroma": self.chroma,
            # Only when set, so the plans of stores without an order stay as they were.
            **({"order": [o.to_json() for o in self.order]} if self.order is not None else {}),
        }


def coefficient_record(
    src: Any, selection: Selection, size: int, out: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Read one JPEG's selected quantised coefficients at a centred block-aligned crop.

    The window is ``size/8`` Y blocks square, centred on the coded Y block grid by
    :func:`freqpipe.transforms.windows.center_window` (torchvision's CenterCrop rule on the
    blocks, as the loader's evaluation windows), the padding of an image with fewer blocks
    being zero coefficients (mid grey). Grayscale files get zero chroma channels.

    Args:
        src: a path or the file's bytes.
        selection: the channels kept.
        size: crop side in pixels (a multiple of 8).
        out: optional (C, size/8, size/8) int16 array to fill.

    Returns:
        ``(coeffs, quant)``: int16 (C, size/8, size/8) and uint16 (C,) — the quant value of
        each channel (``quant[component][k]``; 1 for the zero chroma of a grayscale file).

    Raises:
        FreqpipeError: the file cannot be read, by the reader nor by Pillow (files without
            YCbCr or grayscale coefficients that Pillow reads, CMYK JPEGs or PNGs named
            ``.jpg``, go through the loader's Pillow fallback, with quant values 1).

    Example:
        >>> from freqpipe._samples import sample_files
        >>> c, q = coefficient_record(sample_files()[0], Selection.preset("dct6"), 64)
        >>> c.shape, c.dtype.name, q.shape
        ((6, 8, 8), 'int16', (6,))
    """
    g = size // 8
    try:
        dec = decode_jpeg(src)
    except UnsupportedJpegError as exc:  # NotAJpegError included: maybe a PNG named .jpg
        return _pillow_record(src, selection, g, out, exc)
    if dec.colorspace not in ("ycbcr", "gray"):
        return _pillow_record(src, selection, g, out, None)
    top, left = center_window(dec.grids[0], g)
    return gather_coefficients(
        dec,
        selection,
        top=top,
        left=left,
        height=g,
        width=g,
        out=out,
    )


def _pillow_record(
    src: Any, selection: Selection, g: int, out: np.ndarray | None, why: Exception | None
) -> tuple[np.ndarray, np.ndarray]:
    """What the loader's per-file fallback puts in its slot: Pillow's RGB, block DCT, quant 1.

    For files ImageFolder reads that have no YCbCr coefficients (CMYK/YCCK JPEGs, PNGs named
    ``.jpg``), so the store holds exactly what ``FreqLoader(folder, train=False)`` yields.
    A file Pillow cannot read either raises the reader's error.
    """
    try:
        rgb, _ = open_rgb(src)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        if why is not None:
            raise why from exc
        raise
    grid = (-(-rgb.shape[0] // 8), -(-rgb.shape[1] // 8))
    top, left = center_window(grid, g)
    x, _ = coefficient_window(
        rgb, selection, top=top, left=left, blocks=g, hflip=False, separate=False
    )
    coeffs = np.empty((len(selection), g, g), np.int16) if out is None else out
    np.copyto(coeffs, np.clip(np.rint(x), -32768, 32767), casting="unsafe")
    return coeffs, np.ones(len(selection), np.uint16)


def pixel_record(
    src: str | Path, selection: Selection, size: int, resize_short: int | None = None
) -> np.ndarray:
    """Decode one image and compute its DCTNet channels (the pixel route), as float16.

    The evaluation crop of the loader's pixel source
    (:func:`freqpipe.jpeg.pixels.load_center_crop`: libjpeg-turbo, scaled decode, Pillow's
    bilinear resize of the short side to ``resize_short``, default ``round(size * 512 / 448)``,
    centre crop ``size``; EXIF orientation not applied), then
    :func:`~freqpipe.transforms.image_to_dct192`.

    Args:
        src: image file.
        selection: the channels kept.
        size: crop side (multiple of 8).
        resize_short: short side before the crop.

    Returns:
        float16 (C, size/8, size/8).

    Raises:
        OSError: Pillow cannot read the file.

    Example:
        >>> from freqpipe._samples import sample_files
        >>> pixel_record(sample_files()[0], Selection.preset("dct6"), 32).shape
        (6, 4, 4)
    """
    rgb = load_center_crop(src, size, short=resize_short)
    return np.asarray(selection.select(image_to_dct192(rgb)), dtype=np.float16)
