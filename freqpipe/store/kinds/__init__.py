"""The record kinds of a store, one class each, and the registry that finds them.

* :class:`QuantizedKind` (``"quantized"``): int16 / int8 quantised coefficients of a fixed
  centre crop and quant values; the device stage dequantises (evaluation).
* :class:`WholeKind` (``"whole"``): the same for the whole image, read through a random or
  centred window per sample (training).
* :class:`Float16Kind` (``"float16"``): float16 DCT values (pixel route, or dequantised).
* :class:`JpegBytesKind` (``"jpeg"``): the files' bytes, plain or frequency-ordered.

Adding a kind: one module with a :class:`RecordKind` subclass, and its line in :data:`KINDS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from freqpipe.store.kinds.base import BatchFields, RecordKind
from freqpipe.store.kinds.float16 import Float16Kind, pixel_record
from freqpipe.store.kinds.jpeg_bytes import JpegBytesKind
from freqpipe.store.kinds.quantized import QuantizedKind, coefficient_record
from freqpipe.store.kinds.whole import WholeKind, whole_record
from freqpipe.transforms import Selection

if TYPE_CHECKING:
    from freqpipe.store.records import RecordSpec

__all__ = [
    "KINDS",
    "BatchFields",
    "Float16Kind",
    "JpegBytesKind",
    "QuantizedKind",
    "RecordKind",
    "WholeKind",
    "coefficient_record",
    "kind_class",
    "kind_for_manifest",
    "kind_for_spec",
    "pixel_record",
    "record_shape",
    "whole_record",
]

#: The manifest's ``kind`` -> its class.
KINDS: dict[str, type[RecordKind]] = {
    QuantizedKind.name: QuantizedKind,
    WholeKind.name: WholeKind,
    Float16Kind.name: Float16Kind,
    JpegBytesKind.name: JpegBytesKind,
}


def kind_class(spec: RecordSpec) -> type[RecordKind]:
    """The one kind that holds records converted with ``spec``.

    Example:
        >>> from freqpipe.store.records import RecordSpec
        >>> kind_class(RecordSpec("pixel", Selection.preset("dct6"), 32)).name
        'float16'
    """
    (cls,) = (k for k in KINDS.values() if k.holds(spec))
    return cls


def kind_for_spec(spec: RecordSpec) -> RecordKind:
    """The kind that encodes records for ``spec``, in the dtype they are encoded in."""
    cls = kind_class(spec)
    return cls(spec.shape, cls.encode_dtype(spec))


def record_shape(settings: dict[str, Any]) -> tuple[int, int, int]:
    """(C, size/8, size/8) from a plan's or manifest's ``selection`` and ``size``."""
    g = int(settings["size"]) // 8
    return (len(Selection.from_json(settings["selection"])), g, g)


def kind_for_manifest(manifest: dict[str, Any]) -> RecordKind:
    """The kind of a (schema-checked) manifest, with its record shape and store dtype.

    Example:
        >>> sel = Selection.preset("dct6").to_json()
        >>> m = {"kind": "quantized", "selection": sel, "size": 32, "dtype": "int8"}
        >>> kind_for_manifest(m)
        QuantizedKind((6, 4, 4), 'int8')
    """
    return KINDS[manifest["kind"]].from_manifest(record_shape(manifest), manifest)
