"""The output stage's computation: named batch fields in, the batch's output arrays out.

Pure: no slots, streams or events (those are :mod:`freqpipe.data._transfer`'s). What a source
produces and the output asked for pick one function of :data:`COMPUTES`; each is written once,
over the few array operations of :class:`_Ops`, which have one implementation per array library:
NumPy (the reference, on a CPU device and inside DALI's CPU pipeline) and torch CUDA tensors
(``freqpipe.cuda`` kernels), chosen by the dispatch of :mod:`freqpipe.transforms` (a GPU array
gets the GPU implementation). FreqLoader and DALI both call :func:`compute_outputs`.

Field names (a source's slot arrays, by the same names):

- ``coefficients`` (N, C, h, w) int16 or int8 and ``quant`` (N, C) uint16: quantised JPEG
  coefficients and the quant value of each channel; with ``chroma="separate"`` the chroma
  channels come apart as ``chroma_coefficients`` and ``chroma_quant`` on their own grid; with
  the int8 transfer (``OutputPlan.packed``) each quantised field arrives as its per-plane
  meta, packed stream and escapes (:mod:`freqpipe.data._packing`) and is put back together
  first;
- ``dct`` (N, C, h, w) float16: DCT values already dequantised (a float16 store record);
- ``pixels`` (N, H, W, 3) uint8 RGB crops;
- a transform's coefficient covers (``transform=``): the fields of
  :data:`freqpipe.data._transformed.COVER_FIELDS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from freqpipe.data._packing import QUANTISED, dc_flags, sent_names
from freqpipe.data._stats import Stats, as_channel_stats
from freqpipe.errors import InvalidArgumentError
from freqpipe.jpeg.blocks import ESCAPE, plane_layout, unpack_planes
from freqpipe.transforms import Selection, dwt2, image_to_dct192, normalize
from freqpipe.transforms._dispatch import is_gpu_array

__all__ = ["COMPUTES", "PRODUCES", "OutputPlan", "compute_outputs", "unpack_planes_torch"]

#: What a source can put in a batch slot.
PRODUCES = ("coefficients", "dct", "pixels", "cover")


@dataclass(frozen=True)
class OutputPlan:
    """What the output stage computes from a batch: fixed for a loader's lifetime.

    Args:
        produces: what the source fills: ``"coefficients"``, ``"dct"`` or ``"pixels"``.
        output: ``"dct"``, ``"dwt"`` or ``"rgb"``.
        selection: the DCT channels (pixels -> dct).
        chroma: ``"upsample"`` or ``"separate"`` (coefficients: luma and chroma apart).
        stats: per-output-channel ``(mean, std)``, or None (no normalisation).
        dtype: ``"float32"`` or ``"float16"``.
        raw: return the quantised coefficients and quant values as they are.
        wavelet: the wavelet of the dwt output.
        transform: covers -> dct: the per-image transforms (``freqpipe.transforms.dct``).
        size: covers -> dct: the transform's output ``(height, width)``.
        packed: coefficients: ``(field, h, w)`` of each quantised field that crosses
            bit-packed per plane (``transfer_dtype="int8"``,
            :attr:`~freqpipe.data._packing.TransferPacking.planes`), put back together before
            computing; empty: the fields cross as they are.
        narrow: covers -> dct: fields that cross as int8 with their int16 escapes
            (``<field>_int8``, ``<field>_escapes``: :func:`~freqpipe.jpeg.blocks.narrow_int16`,
            ``transfer_dtype="int8"`` with ``transform=``), widened before computing.

    Example:
        >>> OutputPlan("coefficients", "dct").fields
        ('coefficients', 'quant')
    """

    produces: str
    output: str
    selection: Selection | None = None
    chroma: str = "upsample"
    stats: Stats | None = None
    dtype: str = "float32"
    raw: bool = False
    wavelet: str = "haar"
    transform: Any = None
    size: tuple[int, int] | None = None
    packed: tuple[tuple[str, int, int], ...] = ()
    narrow: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.key not in COMPUTES:
            raise InvalidArgumentError(
                f"no output {self.output!r} from {self.produces!r} batches"
                + (" (raw)" if self.raw else "")
            )

    @property
    def key(self) -> tuple[str, str]:
        """The :data:`COMPUTES` entry: ``(produces, output)``, output ``"raw"`` when raw."""
        return self.produces, "raw" if self.raw else self.output

    @property
    def separate(self) -> bool:
        """Luma and chroma coefficients come as two fields (and leave as two tensors)."""
        return self.produces == "coefficients" and self.chroma == "separate"

    @property
    def fields(self) -> tuple[str, ...]:
        """The batch fields the computation reads, in the order raw output returns them."""
        if self.produces == "coefficients":
            chroma = ("chroma_coefficients", "chroma_quant") if self.separate else ()
            return ("coefficients", "quant", *chroma)
        if self.produces == "cover":
            from freqpipe.data._transformed import COVER_FIELDS

            return COVER_FIELDS
        return (self.produces,)

    @property
    def sent_fields(self) -> tuple[str, ...]:
        """The batch fields that cross to the device: :attr:`fields`, packed ones split.

        Example:
            >>> OutputPlan("coefficients", "dct", packed=(("coefficients", 4, 4),)).sent_fields
            ('coefficients_meta', 'coefficients_stream', 'coefficients_escapes', 'quant')
        """
        if self.narrow:
            return tuple(
                part
                for k in self.fields
                for part in ((f"{k}_int8", f"{k}_escapes") if k in self.narrow else (k,))
            )
        if not self.packed:
            return self.fields
        return tuple(
            part for k in self.fields for part in (sent_names(k) if k in QUANTISED else (k,))
        )

    def dc_flags(self) -> dict[str, Any]:
        """The DC channels of each quantised field (what the packing sent as differences)."""
        if self.selection is None:  # pragma: no cover - the loader always sets it
            raise InvalidArgumentError("the int8 transfer needs the selection")
        return dc_flags(self.selection, separate=self.separate)

    def luma_channels(self) -> int:
        """Channels of the luma field with ``separate`` chroma (where the stats split)."""
        if self.selection is None:  # pragma: no cover - the loader always sets it
            raise InvalidArgumentError("separate chroma needs the selection")
        return int(self.selection.per_plane[0].size)

    def mean_std(self, part: slice = slice(None)) -> tuple[Any, Any]:
        """``(mean, std)`` of the output channels ``part``, or ``(None, None)``."""
        if self.stats is None:
            return None, None
        return self.stats[0][part], self.stats[1][part]


class _Ops(ABC):
    """The array operations the computations need; one subclass per array library."""

    @abstractmethod
    def dequantize(self, q: Any, quant: Any, mean: Any, std: Any, dtype: str) -> Any:
        """``(q * quant - mean) / std`` per channel, in ``dtype``."""

    @abstractmethod
    def pixels_to_dct(self, pixels: Any, sel: Selection, mean: Any, std: Any, dtype: str) -> Any:
        """Colour conversion + 8x8 block DCT of Y, Cb, Cr + selection (+ normalisation)."""

    @abstractmethod
    def unit_rgb(self, pixels: Any) -> Any:
        """(N, H, W, 3) uint8 -> (N, 3, H, W) float32 in [0, 1]."""

    @abstractmethod
    def stack(self, arrays: Sequence[Any], axis: int) -> Any:
        """Stack along a new axis."""

    @abstractmethod
    def normalize(self, x: Any, mean: Any, std: Any, dtype: str) -> Any:
        """``(x - mean) / std`` per channel (axis 1), in ``dtype``."""

    @abstractmethod
    def integers(self, x: Any) -> Any:
        """Quantised values as int16 (int8 transfers widened), owned by the result."""

    @abstractmethod
    def owned(self, x: Any) -> Any:
        """``x`` in memory of its own (host fields are views of a slot that is refilled)."""

    @abstractmethod
    def unpack(self, meta: Any, stream: Any, escapes: Any, dc: Any, shape: tuple[int, int]) -> Any:
        """The int16 field that per-plane meta, packed stream and escapes came from (exactly)."""

    @abstractmethod
    def widen(self, narrow: Any, escapes: Any) -> Any:
        """The int16 values :func:`~freqpipe.jpeg.blocks.narrow_int16` narrowed (exactly)."""


class _NumpyOps(_Ops):
    """The NumPy reference (``freqpipe.transforms``)."""

    def dequantize(self, q: Any, quant: Any, mean: Any, std: Any, dtype: str) -> Any:
        x = q.astype(np.float32) * quant[:, :, None, None].astype(np.float32)
        return self.normalize(x, mean, std, dtype)

    def pixels_to_dct(self, pixels: Any, sel: Selection, mean: Any, std: Any, dtype: str) -> Any:
        n, h, w = pixels.shape[:3]
        x = np.empty((n, len(sel), h // 8, w // 8), np.float32)
        for i in range(n):
            x[i] = sel.select(image_to_dct192(pixels[i]))
        return self.normalize(x, mean, std, dtype)

    def unit_rgb(self, pixels: Any) -> Any:
        return pixels.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255)

    def stack(self, arrays: Sequence[Any], axis: int) -> Any:
        return np.stack(arrays, axis=axis)

    def normalize(self, x: Any, mean: Any, std: Any, dtype: str) -> Any:
        x = x.astype(np.float32, copy=False)
        if mean is not None:
            x = normalize(x, as_channel_stats(mean, std))
        return x.astype(dtype, copy=False)

    def integers(self, x: Any) -> Any:
        return x.astype(np.int16)  # a copy, also when already int16

    def owned(self, x: Any) -> Any:
        return np.array(x)

    def unpack(self, meta: Any, stream: Any, escapes: Any, dc: Any, shape: tuple[int, int]) -> Any:
        return unpack_planes(meta, stream, escapes, dc, shape)

    def widen(self, narrow: Any, escapes: Any) -> Any:
        wide = np.asarray(narrow).astype(np.int16)
        wide[wide == ESCAPE] = escapes  # boolean assignment: in the order of the marks
        return wide


class _TorchCudaOps(_Ops):
    """CUDA torch tensors: ``freqpipe.cuda`` kernels on the current stream."""

    def dequantize(self, q: Any, quant: Any, mean: Any, std: Any, dtype: str) -> Any:
        import freqpipe.cuda as fpc

        return fpc.dequantize(q, quant, dtype=dtype, mean=mean, std=std)

    def pixels_to_dct(self, pixels: Any, sel: Selection, mean: Any, std: Any, dtype: str) -> Any:
        import freqpipe.cuda as fpc

        return fpc.fused_dct(pixels, sel, layout="nhwc", dtype=dtype, mean=mean, std=std)

    def unit_rgb(self, pixels: Any) -> Any:
        return pixels.permute(0, 3, 1, 2).float().div_(255.0)

    def stack(self, arrays: Sequence[Any], axis: int) -> Any:
        import torch

        return torch.stack(list(arrays), dim=axis)

    def normalize(self, x: Any, mean: Any, std: Any, dtype: str) -> Any:
        import torch

        x = x.float()
        if mean is not None:
            m = torch.as_tensor(mean, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
            s = torch.as_tensor(std, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
            x = (x - m) / s
        return x.to(getattr(torch, dtype))

    def integers(self, x: Any) -> Any:
        import torch

        return x.to(torch.int16)

    def owned(self, x: Any) -> Any:
        return x  # already the device copy

    def unpack(self, meta: Any, stream: Any, escapes: Any, dc: Any, shape: tuple[int, int]) -> Any:
        return unpack_planes_torch(meta, stream, escapes, dc, shape)

    def widen(self, narrow: Any, escapes: Any) -> Any:
        import torch

        wide = narrow.to(torch.int16)
        # no host synchronisation: masked_scatter_ fills the marks in order, as NumPy does
        wide.masked_scatter_(narrow == ESCAPE, escapes)
        return wide


def _read_bits(data: Any, at: Any, bits: Any) -> Any:
    """The ``bits`` (<= 16) bits at int64 bit offsets ``at`` of a uint8 stream, int32.

    Returns:
        ``(code, value)``: unsigned, and as two's complement.
    """
    import torch

    stream = data.to(torch.int32)
    if stream.numel() < 3:  # only an empty batch's streams are shorter than their padding
        stream = torch.zeros(3, dtype=torch.int32, device=data.device)
    byte = (at // 8).clamp_(max=stream.numel() - 3)
    word = stream[byte] | (stream[byte + 1] << 8) | (stream[byte + 2] << 16)
    full = torch.ones_like(bits) << bits
    code = (word >> (at % 8).to(torch.int32)) & (full - 1)
    return code, torch.where((code >= full >> 1) & (bits > 0), code - full, code)


def unpack_planes_torch(
    meta: Any, stream: Any, escapes: Any, dc: Any, shape: tuple[int, int]
) -> Any:
    """:func:`~freqpipe.jpeg.blocks.unpack_planes` for torch tensors, batched, on their device.

    Every plane is decoded at once into (planes, h w) slots: a value's bits are read from the
    three bytes at its bit offset (a plane's offset is a cumulative sum of the planes' sizes);
    each mark's escape is read at the offset its rank among the marks gives; the DC planes'
    differences are summed back in int64 (cumulative sums along each coded row and down the
    first column) and wrap to int16 as they were taken; a ``gather`` repeats paired lines back
    onto the grid. No host synchronisation and no loop over images: it runs unchanged on CPU
    and CUDA tensors.

    Args:
        meta: uint8 (N, C, 2), each plane's widths and repetition.
        stream: uint8 (S,), the coded values and their padding.
        escapes: uint8 (E,), the escaped values and their padding.
        dc: (C,) bool (NumPy), the DC channels.
        shape: ``(h, w)`` of a plane.

    Returns:
        int16 (N, C, h, w) on the parts' device.

    Example:
        >>> import torch
        >>> from freqpipe.jpeg.blocks import pack_planes, packed_capacity
        >>> q = np.arange(-8, 10, dtype=np.int16).reshape(1, 2, 3, 3) * 40
        >>> room = packed_capacity(1, 2, 3, 3)
        >>> meta = np.empty((1, 2, 2), np.uint8)
        >>> stream, esc = np.empty(room, np.uint8), np.empty(room, np.uint8)
        >>> a, b = pack_planes(q, [True, False], meta, stream, esc)
        >>> parts = [torch.from_numpy(x) for x in (meta, stream[:a], esc[:b])]
        >>> bool((unpack_planes_torch(*parts, [True, False], (3, 3)).numpy() == q).all())
        True
    """
    import torch

    h, w = shape
    n, c = meta.shape[:2]
    dev = meta.device
    # bit offsets and indices in int64 (a large batch passes 2^31 bits), values in int32
    lay = plane_layout(meta.reshape(n * c, 2).to(torch.int64), h, w)
    bits, cols = lay["bits"][:, None], lay["cols"][:, None]
    size = lay["rows"] * lay["cols"]
    slot = torch.arange(h * w, device=dev, dtype=torch.int64)[None, :]
    start = torch.cumsum(size * lay["bits"], 0) - size * lay["bits"]
    narrow = bits.to(torch.int32)
    code, values = _read_bits(stream, start[:, None] + slot * bits, narrow)
    marks = (slot < size[:, None]) & (bits > 0) & (code == (torch.ones_like(narrow) << narrow) >> 1)
    wide = lay["escape_bits"][:, None]
    rank = torch.cumsum(marks, 1) - 1
    per_plane = rank[:, -1:] + 1
    escape_start = torch.cumsum(per_plane * wide, 0) - per_plane * wide
    at = escape_start + rank.clamp(min=0) * wide
    _, escaped = _read_bits(escapes, at, wide.to(torch.int32))
    values = torch.where(marks, escaped, values)
    flags = np.asarray(dc, bool)
    if flags.any():  # differences -> values, coded row by coded row
        dc_planes = torch.as_tensor(np.flatnonzero(np.tile(flags, n)), device=dev)
        d = values[dc_planes].to(torch.int64)
        width = cols[dc_planes]
        first = (slot // width) * width  # each slot's row start
        along = torch.cumsum(d, 1)
        down = torch.cumsum(torch.where(slot == first, d, 0), 1)
        values[dc_planes] = (down + along - along.gather(1, first)).to(torch.int32)  # wraps
    rows_code, cols_code = lay["row_code"][:, None, None], lay["col_code"][:, None, None]
    r = torch.arange(h, device=dev, dtype=torch.int64)[None, :, None]
    x = torch.arange(w, device=dev, dtype=torch.int64)[None, None, :]
    coded_row = torch.where(rows_code > 0, (r + rows_code - 1) // 2, r)
    coded_col = torch.where(cols_code > 0, (x + cols_code - 1) // 2, x)
    index = (coded_row * cols[:, :, None] + coded_col).reshape(n * c, h * w)
    return values.gather(1, index).to(torch.int16).reshape(n, c, h, w)


_NUMPY_OPS = _NumpyOps()
_CUDA_OPS = _TorchCudaOps()

Compute = Callable[[Mapping[str, Any], OutputPlan, _Ops], tuple[Any, ...]]


def _dequantized(fields: Mapping[str, Any], plan: OutputPlan, ops: _Ops) -> tuple[Any, ...]:
    if not plan.separate:
        x = ops.dequantize(fields["coefficients"], fields["quant"], *plan.mean_std(), plan.dtype)
        return (x,)
    k = plan.luma_channels()
    luma = ops.dequantize(
        fields["coefficients"], fields["quant"], *plan.mean_std(slice(0, k)), plan.dtype
    )
    chroma = ops.dequantize(
        fields["chroma_coefficients"],
        fields["chroma_quant"],
        *plan.mean_std(slice(k, None)),
        plan.dtype,
    )
    return luma, chroma


def _raw(fields: Mapping[str, Any], plan: OutputPlan, ops: _Ops) -> tuple[Any, ...]:
    return tuple(
        ops.integers(fields[k]) if k in QUANTISED else ops.owned(fields[k]) for k in plan.fields
    )


def _dct_values(fields: Mapping[str, Any], plan: OutputPlan, ops: _Ops) -> tuple[Any, ...]:
    return (ops.normalize(fields["dct"], *plan.mean_std(), plan.dtype),)


def _pixels_dct(fields: Mapping[str, Any], plan: OutputPlan, ops: _Ops) -> tuple[Any, ...]:
    if plan.selection is None:  # pragma: no cover - the loader always sets it for dct
        raise InvalidArgumentError("dct output needs a selection")
    return (ops.pixels_to_dct(fields["pixels"], plan.selection, *plan.mean_std(), plan.dtype),)


def _pixels_rgb(fields: Mapping[str, Any], plan: OutputPlan, ops: _Ops) -> tuple[Any, ...]:
    return (ops.normalize(ops.unit_rgb(fields["pixels"]), *plan.mean_std(), plan.dtype),)


def _pixels_dwt(fields: Mapping[str, Any], plan: OutputPlan, ops: _Ops) -> tuple[Any, ...]:
    x = ops.unit_rgb(fields["pixels"])
    ca, (ch, cv, cd) = dwt2(x, plan.wavelet, "periodization")  # dispatches on the array type
    # colour-major channels: (N, 3, 4, h, w) -> (N, 12, h, w), A, H, V, D per colour
    bands = ops.stack([ca, ch, cv, cd], axis=2)
    bands = bands.reshape(x.shape[0], 4 * x.shape[1], *ca.shape[-2:])
    return (ops.normalize(bands, *plan.mean_std(), plan.dtype),)


def _transformed(fields: Mapping[str, Any], plan: OutputPlan, ops: _Ops) -> tuple[Any, ...]:
    import torch

    from freqpipe.data._transformed import render_covers

    if plan.selection is None or plan.size is None:  # pragma: no cover - the loader sets them
        raise InvalidArgumentError("transform= needs a selection and an output size")
    host = isinstance(ops, _NumpyOps)
    tensors = {
        k: torch.from_numpy(np.ascontiguousarray(v)) if host else v for k, v in fields.items()
    }
    mean, std = plan.mean_std()
    x = render_covers(tensors, plan.transform, plan.selection, plan.size, mean=mean, std=std)
    x = x.to(getattr(torch, plan.dtype))
    return (x.numpy() if host else x,)


#: ``(produces, output)`` -> the computation of the output stage.
COMPUTES: dict[tuple[str, str], Compute] = {
    ("coefficients", "dct"): _dequantized,
    ("coefficients", "raw"): _raw,
    ("dct", "dct"): _dct_values,
    ("pixels", "dct"): _pixels_dct,
    ("pixels", "rgb"): _pixels_rgb,
    ("pixels", "dwt"): _pixels_dwt,
    ("cover", "dct"): _transformed,
}


def compute_outputs(fields: Mapping[str, Any], plan: OutputPlan) -> tuple[Any, ...]:
    """The output arrays of one batch (one, or two with separate chroma, or the raw fields).

    Args:
        fields: the batch's fields by name (:attr:`OutputPlan.sent_fields`): NumPy arrays
            (the reference) or CUDA torch tensors (kernels on the current stream).
        plan: what to compute.

    Returns:
        A tuple of arrays of the input's library and device.

    Example:
        >>> q = np.ones((2, 3, 4, 4), np.int16)
        >>> quant = np.full((2, 3), 8, np.uint16)
        >>> (x,) = compute_outputs({"coefficients": q, "quant": quant},
        ...                        OutputPlan("coefficients", "dct"))
        >>> x.shape, float(x[0, 0, 0, 0]), x.dtype.name
        ((2, 3, 4, 4), 8.0, 'float32')
    """
    first = fields[plan.sent_fields[0]]
    ops = _CUDA_OPS if is_gpu_array(first) else _NUMPY_OPS
    if plan.narrow:
        whole = dict(fields)
        for name in plan.narrow:
            whole[name] = ops.widen(whole.pop(f"{name}_int8"), whole.pop(f"{name}_escapes"))
        fields = whole
    if plan.packed:
        whole = dict(fields)
        flags = plan.dc_flags()
        for name, h, w in plan.packed:
            meta_name, stream_name, esc_name = sent_names(name)
            whole[name] = ops.unpack(
                whole.pop(meta_name),
                whole.pop(stream_name),
                whole.pop(esc_name),
                flags[name],
                (h, w),
            )
        fields = whole
    return COMPUTES[plan.key](fields, plan, ops)
