"""Quantised coefficients: the file's own integers, one quant value per channel, nothing lost.

The coefficient route (``RecordSpec("coefficient", ..., dtype="auto" | "int16")``): the native
reader (no pixel decode) reads a centred window of ``size/8 x size/8`` Y blocks
(:func:`~freqpipe.jpeg.gather_coefficients`, chroma repeated to the Y grid). A shard stores
them as int8 where every value of the shard fits (``dtype="auto"``), else int16; the device
stage dequantises (coefficient x quant, conventions §1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from PIL import Image

from freqpipe.errors import UnsupportedJpegError
from freqpipe.jpeg import decode_jpeg, gather_coefficients
from freqpipe.jpeg.fallback import coefficient_window, open_rgb
from freqpipe.store.kinds.base import BatchFields, RecordKind
from freqpipe.transforms import Selection
from freqpipe.transforms.windows import center_window

if TYPE_CHECKING:
    from freqpipe.store.records import RecordSpec

__all__ = ["QuantizedKind", "coefficient_record", "fallback_rgb", "round_to_int16"]


class QuantizedKind(RecordKind):
    """int16 / int8 quantised coefficients plus a uint16 quant value per channel."""

    name = "quantized"
    produces = "coefficients"
    sections = ("coeffs", "quant")
    shard_dtypes = ("int8", "int16")
    manifest_dtypes = ("int8", "int16")
    field_sections: ClassVar[dict[str, str]] = {"coefficients": "coeffs", "quant": "quant"}

    @classmethod
    def holds(cls, spec: RecordSpec) -> bool:
        """The coefficient route's fixed crops, not dequantised."""
        return spec.route == "coefficient" and spec.layout == "crop" and spec.dtype != "float16"

    @classmethod
    def encode_dtype(cls, spec: RecordSpec) -> str:
        """int16: the file's coefficients (packed to int8 per shard where they fit)."""
        return "int16"

    def allocate(self, n: int) -> dict[str, Any]:
        """Coefficients and quant values of ``n`` records (quant 1 where nothing is read)."""
        return {
            "coeffs": np.zeros((n, *self.shape), self.dtype),
            "quant": np.ones((n, self.shape[0]), np.uint16),
        }

    def encode(self, spec: RecordSpec, path: str, buffers: dict[str, Any], j: int) -> None:
        """Gather the window straight into the shard's buffer, with its quant values."""
        _, buffers["quant"][j] = coefficient_record(
            path, spec.selection, spec.size, out=buffers["coeffs"][j]
        )

    def pack(self, spec: RecordSpec, buffers: dict[str, Any], ok: np.ndarray) -> dict[str, Any]:
        """int8 when ``dtype="auto"`` and every kept value fits, else int16; the quant values."""
        coeffs = np.ascontiguousarray(buffers["coeffs"][ok])
        fits = coeffs.size == 0 or (int(coeffs.min()) >= -128 and int(coeffs.max()) <= 127)
        if spec.dtype == "auto" and fits:
            coeffs = coeffs.astype(np.int8)
        return {"coeffs": coeffs, "quant": np.ascontiguousarray(buffers["quant"][ok])}

    def bytes_per_record(self, spec: RecordSpec, sample: list[str]) -> int:
        """The int16 record (the int8 packing is only known per shard)."""
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize

    @classmethod
    def manifest_dtype(cls, shard_dtypes: list[Any]) -> str:
        """int8 when every non-empty shard is int8, else int16 (the widest)."""
        return "int8" if set(shard_dtypes) == {"int8"} else "int16"

    def layout(self) -> dict[str, Any]:
        """``coeffs`` in the store dtype and ``quant`` uint16 (C,)."""
        return {
            "coeffs": {"dtype": self.dtype, "shape": list(self.shape)},
            "quant": {"dtype": "uint16", "shape": [self.shape[0]]},
        }

    def batch_fields(self) -> BatchFields:
        """``coefficients`` in the store dtype and ``quant`` (C,) uint16."""
        return {"coefficients": (self.shape, self.dtype), "quant": ((self.shape[0],), "uint16")}

    def item(self, maps: dict[str, np.ndarray], j: int) -> dict[str, np.ndarray]:
        """``{"coeffs", "quant"}``, the coefficients widened to the store dtype."""
        return {
            "coeffs": np.array(maps["coeffs"][j], dtype=self.dtype),
            "quant": np.array(maps["quant"][j]),
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
    """
    rgb = fallback_rgb(src, why)
    grid = (-(-rgb.shape[0] // 8), -(-rgb.shape[1] // 8))
    top, left = center_window(grid, g)
    x, _ = coefficient_window(
        rgb, selection, top=top, left=left, blocks=g, hflip=False, separate=False
    )
    coeffs = np.empty((len(selection), g, g), np.int16) if out is None else out
    return round_to_int16(x, coeffs), np.ones(len(selection), np.uint16)


def fallback_rgb(src: Any, why: Exception | None) -> np.ndarray:
    """Pillow's RGB of a file without YCbCr coefficients (the loader's per-file fallback).

    Args:
        src: a path or the file's bytes.
        why: the reader's error, if it raised one (re-raised when Pillow fails too: a file that
            is not an image at all gets the reader's reason).

    Returns:
        uint8 (H, W, 3).

    Raises:
        FreqpipeError, OSError, ValueError: neither the reader nor Pillow reads the file.
    """
    try:
        rgb, _ = open_rgb(src)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        if why is not None:
            raise why from exc
        raise
    return rgb


def round_to_int16(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``x`` rounded to the nearest integer (half to even), saturated to int16.

    Example:
        >>> round_to_int16(np.array([0.5, 1.5, -40000.0])).tolist()
        [0, 2, -32768]
    """
    out = np.empty(x.shape, np.int16) if out is None else out
    np.copyto(out, np.clip(np.rint(x), -32768, 32767), casting="unsafe")
    return out
