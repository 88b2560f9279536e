"""float16 DCT values: the pixel route (DCTNet), or the coefficient route dequantised.

The pixel route decodes, resizes the short side, centre-crops and takes the full-resolution
block DCT of Y, Cb, Cr (:func:`~freqpipe.transforms.image_to_dct192`); the coefficient route
with ``dtype="float16"`` stores coefficient x quant. float16 keeps an 11-bit mantissa:
relative error <= 2**-11, i.e. <= 0.5 on a DC of 1024. The values are DCT values already, so a
batch has no quant field and the device stage only normalises.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from freqpipe.jpeg.pixels import load_center_crop
from freqpipe.store.kinds.base import BatchFields, RecordKind
from freqpipe.store.kinds.quantized import coefficient_record
from freqpipe.transforms import Selection, image_to_dct192

if TYPE_CHECKING:
    from freqpipe.store.records import RecordSpec

__all__ = ["Float16Kind", "pixel_record"]


class Float16Kind(RecordKind):
    """float16 DCT values, one record section."""

    name = "float16"
    produces = "dct"
    sections = ("coeffs",)
    shard_dtypes = ("float16",)
    manifest_dtypes = ("float16",)
    field_sections: ClassVar[dict[str, str]] = {"dct": "coeffs"}

    @classmethod
    def holds(cls, spec: RecordSpec) -> bool:
        """The pixel route, or the coefficient route dequantised."""
        return spec.route == "pixel" or (spec.route == "coefficient" and spec.dtype == "float16")

    @classmethod
    def encode_dtype(cls, spec: RecordSpec) -> str:
        """float16."""
        return "float16"

    def allocate(self, n: int) -> dict[str, Any]:
        """The DCT values of ``n`` records."""
        return {"coeffs": np.zeros((n, *self.shape), self.dtype)}

    def encode(self, spec: RecordSpec, path: str, buffers: dict[str, Any], j: int) -> None:
        """The pixel route's DCT, or the coefficients dequantised in float32."""
        if spec.route == "pixel":
            buffers["coeffs"][j] = pixel_record(path, spec.selection, spec.size, spec.resize_short)
        else:
            c, q = coefficient_record(path, spec.selection, spec.size)
            buffers["coeffs"][j] = c.astype(np.float32) * q[:, None, None]

    def pack(self, spec: RecordSpec, buffers: dict[str, Any], ok: np.ndarray) -> dict[str, Any]:
        """The kept records' values."""
        return {"coeffs": np.ascontiguousarray(buffers["coeffs"][ok])}

    def bytes_per_record(self, spec: RecordSpec, sample: list[str]) -> int:
        """C x size/8 x size/8 float16 values."""
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize

    def layout(self) -> dict[str, Any]:
        """``coeffs`` float16 (C, size/8, size/8)."""
        return {"coeffs": {"dtype": self.dtype, "shape": list(self.shape)}}

    def batch_fields(self) -> BatchFields:
        """``dct``: float16 (C, size/8, size/8); no quant table."""
        return {"dct": (self.shape, self.dtype)}


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
