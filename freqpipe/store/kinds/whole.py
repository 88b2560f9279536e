"""Whole-image records: the selected quantised coefficients of every block, for training.

The coefficient route with ``layout="whole"``: each record is the whole luma block grid of an
image, ``(C, h, w)``, gathered exactly as a fixed crop is
(:func:`~freqpipe.jpeg.gather_coefficients` with the window the whole grid: chroma repeated
onto the luma grid), with one quant value per channel. With ``max_side`` an image whose
longer side exceeds it is first scaled down in the DCT domain
(:func:`~freqpipe.transforms.downscale.downscale_dct`, Pillow's bilinear filter, antialiased)
and re-quantised with the file's own tables, rounding to nearest, so a record stays int16 /
int8 plus quant values.

A shard holds the records back to back (``coeffs``, flat), their element offsets
(``offsets``, n + 1), their grids (``grids``, (n, 2)) and quant values (``quant``, (n, C)). A
batch reads one ``size/8``-square window of each record (``FreqStore.read_batch(windows=)``):
the loader's random crop and flip when training, the centred window when evaluating.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from PIL import Image

from freqpipe.errors import UnsupportedJpegError
from freqpipe.jpeg import decode_jpeg, gather_coefficients
from freqpipe.jpeg.blocks import gather_windows
from freqpipe.jpeg.fallback import coefficient_window
from freqpipe.jpeg.gather import DecodedJpeg
from freqpipe.store.kinds.base import BatchFields, RecordKind
from freqpipe.store.kinds.quantized import fallback_rgb, round_to_int16
from freqpipe.transforms import Selection
from freqpipe.transforms.downscale import downscale_dct, max_side_size

if TYPE_CHECKING:
    from freqpipe.store.records import RecordSpec

__all__ = ["WholeKind", "whole_record"]


class WholeKind(RecordKind):
    """Whole-image int16 / int8 quantised coefficients of any grid, a quant value per channel."""

    name = "whole"
    produces = "coefficients"
    sections = ("coeffs", "offsets", "grids", "quant")
    shard_dtypes = ("int8", "int16")
    manifest_dtypes = ("int8", "int16")
    field_sections: ClassVar[dict[str, str]] = {"coefficients": "coeffs", "quant": "quant"}
    windowed = True

    @classmethod
    def holds(cls, spec: RecordSpec) -> bool:
        """The coefficient route's whole images."""
        return spec.route == "coefficient" and spec.layout == "whole"

    @classmethod
    def encode_dtype(cls, spec: RecordSpec) -> str:
        """int16 (packed to int8 per shard where every value fits)."""
        return "int16"

    def allocate(self, n: int) -> dict[str, Any]:
        """One record array per input, and the quant values."""
        return {"records": [None] * n, "quant": np.ones((n, self.shape[0]), np.uint16)}

    def encode(self, spec: RecordSpec, path: str, buffers: dict[str, Any], j: int) -> None:
        """The whole (possibly scaled-down) image's selected coefficients."""
        buffers["records"][j], buffers["quant"][j] = whole_record(
            path, spec.selection, spec.max_side
        )

    def pack(self, spec: RecordSpec, buffers: dict[str, Any], ok: np.ndarray) -> dict[str, Any]:
        """The kept records back to back, with offsets, grids and quant values.

        int8 when ``dtype="auto"`` and every value lies in -127..127: a flip negates odd
        frequencies, and -(-128) would not fit.
        """
        records = [r for r, keep in zip(buffers["records"], ok) if keep]
        flat = np.concatenate([r.ravel() for r in records]) if records else np.empty(0, np.int16)
        if spec.dtype == "auto" and (flat.size == 0 or int(np.abs(flat).max()) <= 127):
            flat = flat.astype(np.int8)
        sizes = [r.size for r in records]
        return {
            "coeffs": flat,
            "offsets": np.concatenate([[0], np.cumsum(sizes)]).astype(np.uint64),
            "grids": np.array([r.shape[1:] for r in records], np.int32).reshape(-1, 2),
            "quant": np.ascontiguousarray(buffers["quant"][ok]),
        }

    def bytes_per_record(self, spec: RecordSpec, sample: list[str]) -> int:
        """int16 whole (scaled) grids of the ``sample`` images, on average."""
        sizes = []
        for path in sample:
            try:
                with Image.open(path) as im:
                    h, w = max_side_size(im.height, im.width, spec.max_side)
            except (OSError, ValueError):
                continue
            sizes.append(-(-h // 8) * -(-w // 8))
        blocks = float(np.mean(sizes)) if sizes else float(self.shape[1] * self.shape[2])
        return max(1, int(blocks * self.shape[0] * np.dtype(self.dtype).itemsize))

    @classmethod
    def manifest_dtype(cls, shard_dtypes: list[Any]) -> str:
        """int8 when every non-empty shard is int8, else int16 (the widest)."""
        return "int8" if set(shard_dtypes) == {"int8"} else "int16"

    def layout(self) -> dict[str, Any]:
        """``coeffs`` (C, any, any) in the store dtype, its ``grid`` and ``quant`` (C,)."""
        return {
            "coeffs": {"dtype": self.dtype, "shape": [self.shape[0], None, None]},
            "grid": {"dtype": "int32", "shape": [2]},
            "quant": {"dtype": "uint16", "shape": [self.shape[0]]},
        }

    # ---- the shard schema -------------------------------------------------------------------
    @classmethod
    def section_rule(cls, name: str) -> tuple[tuple[str, ...], int, int | None]:
        """``coeffs`` flat of any length; ``grids`` (n, 2) int32; the rest as every kind's."""
        if name == "coeffs":
            return cls.shard_dtypes, 1, None
        if name == "grids":
            return ("int32",), 2, 0
        return super().section_rule(name)

    def shard_problem(self, sections: dict[str, dict[str, Any]]) -> tuple[str, str] | None:
        """One quant value per channel, two numbers per grid."""
        if list(sections["quant"]["shape"][1:]) != [self.shape[0]]:
            return "sections.quant.shape", f"must have {self.shape[0]} values per record"
        if list(sections["grids"]["shape"][1:]) != [2]:
            return "sections.grids.shape", "must be (records, 2)"
        return None

    def map_problems(self, maps: dict[str, np.ndarray], records: int, dtype: str) -> list[str]:
        """Positive grids, and offsets that cut ``coeffs`` into records of C x h x w values."""
        off = np.asarray(maps["offsets"], np.int64)
        grids = np.asarray(maps["grids"], np.int64)
        coeffs = maps["coeffs"]
        if coeffs.dtype.name != dtype:
            return [f"coeffs section is {coeffs.dtype.name}, the manifest's entry says {dtype}"]
        if grids.shape != (records, 2) or (records and int(grids.min()) < 1):
            return [f"grids section {grids.shape} is not {records} positive (h, w) block grids"]
        sizes = self.shape[0] * grids[:, 0] * grids[:, 1]
        want = np.concatenate([[0], np.cumsum(sizes)])
        if off.shape != want.shape or not np.array_equal(off, want) or want[-1] != coeffs.size:
            return [
                "offsets section does not cut the coeffs section into the records' "
                f"{self.shape[0]} x h x w values (corrupt offsets or grids)"
            ]
        return []

    # ---- reading ----------------------------------------------------------------------------
    def batch_fields(self) -> BatchFields:
        """``coefficients`` (C, size/8, size/8) in the store dtype, ``quant`` (C,) uint16."""
        return {"coefficients": (self.shape, self.dtype), "quant": ((self.shape[0],), "uint16")}

    def grids(self, maps: dict[str, np.ndarray]) -> np.ndarray | None:
        """The shard's ``grids`` section."""
        return maps["grids"]

    def _record(self, maps: dict[str, np.ndarray], j: int) -> np.ndarray:
        h, w = (int(v) for v in maps["grids"][j])
        a, b = int(maps["offsets"][j]), int(maps["offsets"][j + 1])
        return maps["coeffs"][a:b].reshape(self.shape[0], h, w)

    def gather(
        self,
        maps: dict[str, np.ndarray],
        local: np.ndarray,
        arrays: dict[str, np.ndarray],
        rows: np.ndarray,
        windows: np.ndarray | None,
        negate: np.ndarray | None = None,
    ) -> None:
        """Cut each record's window into its row, mirrored where asked, zero off the image.

        Zero is the DCT of mid-grey. One native pass per shard
        (:func:`~freqpipe.jpeg.blocks.gather_windows`, GIL released), so worker threads
        gather side by side.
        """
        if windows is None or negate is None:  # pragma: no cover - the reader passes both
            raise ValueError("whole-image records are read through windows")
        gather_windows(
            maps["coeffs"],
            maps["offsets"],
            maps["grids"],
            local,
            windows,
            negate,
            arrays["coefficients"],
            rows,
        )
        arrays["quant"][rows] = maps["quant"][local]

    def item(self, maps: dict[str, np.ndarray], j: int) -> dict[str, np.ndarray]:
        """``{"coeffs": (C, h, w), "quant": (C,)}``, the coefficients widened to the store dtype."""
        return {
            "coeffs": np.array(self._record(maps, j), dtype=self.dtype),
            "quant": np.array(maps["quant"][j]),
        }


def whole_record(
    src: Any, selection: Selection, max_side: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Read one JPEG's selected quantised coefficients over its whole luma block grid.

    Without scaling, exactly the fixed-crop record's gather with the window the whole grid
    (:func:`~freqpipe.jpeg.gather_coefficients`): chroma repeated onto the luma grid, grayscale
    files with zero chroma and quant 1. With ``max_side``, a larger image is scaled down per
    component in the DCT domain and re-quantised with the file's tables (round to nearest):
    within half a quantisation step of :func:`~freqpipe.transforms.downscale.downscale_dct`.
    Files without YCbCr coefficients go through the loader's Pillow fallback (unit quant,
    scaled by Pillow's bilinear filter).

    Args:
        src: a path or the file's bytes.
        selection: the channels kept.
        max_side: scale the longer side down to this (None: keep the file's size).

    Returns:
        ``(coeffs, quant)``: int16 (C, h, w), h x w the (scaled) luma block grid, and uint16
        (C,), each channel's quant value.

    Raises:
        FreqpipeError: neither the reader nor Pillow reads the file.

    Example:
        >>> from freqpipe._samples import sample_files
        >>> c, q = whole_record(sample_files()[0], Selection.preset("dct6"))
        >>> c.shape, whole_record(sample_files()[0], Selection.preset("dct6"), 256)[0].shape
        ((6, 51, 80), (6, 21, 32))
    """
    try:
        dec = decode_jpeg(src)
    except UnsupportedJpegError as exc:  # NotAJpegError included: maybe a PNG named .jpg
        return _pillow_whole(src, selection, max_side, exc)
    if dec.colorspace not in ("ycbcr", "gray"):
        return _pillow_whole(src, selection, max_side, None)
    size = max_side_size(dec.height, dec.width, max_side)
    if size != (dec.height, dec.width):
        return _downscaled(dec, selection, size)
    hb, wb = dec.grids[0]
    return gather_coefficients(dec, selection, top=0, left=0, height=hb, width=wb)


def _downscaled(
    dec: DecodedJpeg, selection: Selection, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Each component scaled to ``size`` at its own resolution, re-quantised, on the luma grid."""
    hb, wb = -(-size[0] // 8), -(-size[1] // 8)
    coeffs = np.zeros((len(selection), hb, wb), np.int16)
    quant = np.ones(len(selection), np.uint16)
    start = 0
    for plane, ks in enumerate(selection.per_plane):
        channels = slice(start, start + ks.size)
        start += ks.size
        if ks.size == 0 or plane >= len(dec.grids):  # grayscale: chroma stays zero, quant 1
            continue
        rv, rh = dec.repeat(plane)
        planes = np.empty((64, *dec.grids[plane]), np.int16)
        dec.gather(plane, planes, np.arange(64), top=0, left=0)
        q = dec.quant[plane].astype(np.float64)
        values = downscale_dct(
            planes * q[:, None, None],
            (dec.height / rv, dec.width / rh),
            (-(-size[0] // rv), -(-size[1] // rh)),
            ks,
        )
        requantised = round_to_int16(values / q[ks, None, None])
        # chroma blocks repeated onto the luma grid, as the file's own planes are gathered
        coeffs[channels] = np.repeat(np.repeat(requantised, rv, axis=1), rh, axis=2)[:, :hb, :wb]
        quant[channels] = dec.quant[plane][ks]
    return coeffs, quant


def _pillow_whole(
    src: Any, selection: Selection, max_side: int | None, why: Exception | None
) -> tuple[np.ndarray, np.ndarray]:
    """The loader's per-file fallback over the whole (Pillow-scaled) image, unit quant values."""
    rgb = fallback_rgb(src, why)
    h, w = max_side_size(rgb.shape[0], rgb.shape[1], max_side)
    if (h, w) != rgb.shape[:2]:
        rgb = np.asarray(Image.fromarray(rgb).resize((w, h), Image.Resampling.BILINEAR))
    hb, wb = -(-h // 8), -(-w // 8)
    x, _ = coefficient_window(
        rgb, selection, top=0, left=0, blocks=max(hb, wb), hflip=False, separate=False
    )
    return round_to_int16(x[:, :hb, :wb]), np.ones(len(selection), np.uint16)
