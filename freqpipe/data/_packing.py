"""The int8 transfer (``transfer_dtype="int8"``): quantised fields cross as DC + AC + escapes.

Each quantised field of a slot (``coefficients``, and ``chroma_coefficients`` with separate
chroma) is split after the fill by :func:`~freqpipe.jpeg.blocks.pack_dc_ac` (native, in the
worker): its DC channels, one per component, as int16 (``<field>_dc``), its AC channels as
int8 (``<field>_ac``), and every AC value outside -127..127 as an int16 escape
(``<field>_escapes``, variable length: a packed part of the slot). The output stage puts the
int16 field back together before it computes, so every output equals the int16 transfer's bit
for bit. A batch-wide int8 (every value fits, else all int16) almost never fits photos: DC
needs int16, and on the 400 ImageNet photos of the README's bench (dct24, whole images at max
side 256, 224 crops) some AC value of every batch of 32 exceeds 127, while about 1 % of AC
values do: 21,615 bytes per image cross instead of 37,688.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from freqpipe.data._batch import HostBatch
from freqpipe.jpeg.blocks import pack_dc_ac
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
    """The three fields a packed quantised field ``name`` crosses as: DC, AC, escapes."""
    return f"{name}_dc", f"{name}_ac", f"{name}_escapes"


class TransferPacking:
    """Declares the packed fields of a slot and fills them after each fill.

    Args:
        fields: the source's declared fields (quantised ones int16).
        flags: :func:`dc_flags` of the selection.

    Attributes:
        fields: the extra slot fields the packing writes (``<field>_dc``, ``_ac``,
            ``_escapes``).
    """

    def __init__(self, fields: dict[str, tuple[tuple[int, ...], str]], flags: dict[str, Any]):
        self.flags = {k: np.asarray(v, bool) for k, v in flags.items() if k in fields}
        self.fields: dict[str, tuple[tuple[int, ...], str]] = {}
        for name, dc in self.flags.items():
            (c, h, w), _ = fields[name]
            d = int(dc.sum())
            dc_name, ac_name, esc_name = sent_names(name)
            self.fields[dc_name] = ((d, h, w), "int16")
            self.fields[ac_name] = ((c - d, h, w), "int8")
            self.fields[esc_name] = (((c - d) * h * w,), "int16")  # room for every AC value

    def pack(self, batch: HostBatch) -> None:
        """Split the filled quantised fields of ``batch`` into their sent fields."""
        n, a = batch.count, batch.arrays
        for name, dc in self.flags.items():
            dc_name, ac_name, esc_name = sent_names(name)
            escapes = a[esc_name].reshape(-1)
            m = pack_dc_ac(a[name][:n], dc, a[dc_name], a[ac_name], escapes)
            pinned = batch.tensors.get(esc_name)
            batch.packed[esc_name] = (escapes[:m], None if pinned is None else pinned.view(-1)[:m])
