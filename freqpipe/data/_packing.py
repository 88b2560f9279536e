"""The compact transfer (``transfer_dtype="int8"``): quantised fields cross bit-packed per plane.

Each quantised field of a slot (``coefficients``, and ``chroma_coefficients`` with separate
chroma) is packed after the fill by :func:`~freqpipe.jpeg.blocks.pack_planes` (native, in the
worker), one plane (a sample's channel) at a time: lines repeated in pairs sent once (the
chroma of a 4:2:0 or 4:2:2 file repeated onto the luma grid, at either parity of the window),
DC planes as differences from their neighbours, and the values bit-packed at the plane's own
width, the few values that do not fit escaped into a second stream at the plane's widest
width. It crosses as three fields: ``<field>_meta`` (N, C, 2) uint8, each plane's widths and
repetition; ``<field>_stream``, the coded values, and ``<field>_escapes``, the escaped ones
(bit streams of variable length: packed parts of the slot). The output
stage puts the int16 field back together before it computes
(:func:`~freqpipe.data._outputs.unpack_planes_torch`), so every output equals the int16
transfer's bit for bit.

Why per plane, not fixed widths: on the 400 ImageNet photos of the README's bench (dct24,
whole images at max side 256, 224 crops) about 1 % of AC values exceed int8, a fifth of luma
DC differences do, and three in four files are 4:4:4, whose chroma is not repeated; most
planes need 3 to 7 bits. DC int16 with AC int8 and int16 escapes sent 21,614 bytes per image;
this packing sends 13,246 (int16: 37,688): 9,251 of coded values, 3,897 of escapes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from freqpipe.data._batch import HostBatch
from freqpipe.jpeg.blocks import pack_planes, packed_capacity
from freqpipe.transforms import Selection

__all__ = ["QUANTISED", "TransferPacking", "dc_flags", "sent_names"]

#: The slot fields of quantised values.
QUANTISED = ("coefficients", "chroma_coefficients")


def dc_flags(selection: Selection, *, separate: bool) -> dict[str, np.ndarray]:
    """Which channels of each quantised field are a component's DC (frequency 0).

    Example:
        >>> {k: np.flatnonzero(v).tolist()
        ...  for k, v in dc_flags(Selection.preset("dct6"), separate=True).items()}
        {'coefficients': [0], 'chroma_coefficients': [0, 1]}
    """
    planes = [p == 0 for p in selection.per_plane]
    if separate:
        return {"coefficients": planes[0], "chroma_coefficients": np.concatenate(planes[1:])}
    return {"coefficients": np.concatenate(planes)}


def sent_names(name: str) -> tuple[str, str, str]:
    """The three fields a packed quantised field ``name`` crosses as: meta, stream, escapes."""
    return f"{name}_meta", f"{name}_stream", f"{name}_escapes"


class TransferPacking:
    """Declares the packed fields of a slot and fills them after each fill.

    Args:
        fields: the source's declared fields (quantised ones int16).
        flags: :func:`dc_flags` of the selection.

    Attributes:
        fields: the extra slot fields the packing writes (``<field>_meta``, ``_stream``,
            ``_escapes``).
        planes: ``(field, h, w)`` of each packed field: what the output stage unpacks
            (:attr:`~freqpipe.data._outputs.OutputPlan.packed`).
    """

    def __init__(self, fields: dict[str, tuple[tuple[int, ...], str]], flags: dict[str, Any]):
        self.flags = {k: np.asarray(v, bool) for k, v in flags.items() if k in fields}
        self.fields: dict[str, tuple[tuple[int, ...], str]] = {}
        planes = []
        for name in self.flags:
            (c, h, w), _ = fields[name]
            meta_name, stream_name, esc_name = sent_names(name)
            room = packed_capacity(1, c, h, w)  # per sample: the slot has N times
            self.fields[meta_name] = ((c, 2), "uint8")
            self.fields[stream_name] = ((room,), "uint8")
            self.fields[esc_name] = ((room,), "uint8")
            planes.append((name, h, w))
        self.planes = tuple(planes)

    def pack(self, batch: HostBatch) -> None:
        """Pack the filled quantised fields of ``batch`` into their sent fields."""
        n, a = batch.count, batch.arrays
        for name, dc in self.flags.items():
            meta_name, stream_name, esc_name = sent_names(name)
            stream, escapes = a[stream_name].reshape(-1), a[esc_name].reshape(-1)
            nbytes, escape_bytes = pack_planes(a[name][:n], dc, a[meta_name], stream, escapes)
            for part, array, size in (
                (stream_name, stream, nbytes),
                (esc_name, escapes, escape_bytes),
            ):
                pinned = batch.tensors.get(part)
                batch.packed[part] = (
                    array[:size],
                    None if pinned is None else pinned.view(-1)[:size],
                )
