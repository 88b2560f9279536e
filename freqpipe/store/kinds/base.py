"""What every store record kind owns, from one input image to the fields of a loader batch.

A kind is one way of storing a record (:mod:`freqpipe.store.kinds` lists them). The class
says which conversion settings it holds (:meth:`RecordKind.holds`), how one input becomes
one record in a shard's buffers (:meth:`~RecordKind.encode`), the shard sections those
buffers become and their order (:attr:`~RecordKind.sections`, :meth:`~RecordKind.pack`), the
manifest entry that describes the store (:meth:`~RecordKind.manifest_entry`), and on the
reading side the fields of a batch (:meth:`~RecordKind.batch_fields`), which shard section
fills each (:attr:`~RecordKind.field_sections`) and what the device stage computes from them
(:attr:`~RecordKind.produces`). An instance carries what the reading side needs: the record
shape and the store-wide dtype of its main section. The shard schema asks the kind how each of
its sections is laid out (:meth:`~RecordKind.section_rule`, :meth:`~RecordKind.shard_problem`,
:meth:`~RecordKind.map_problems`), so a kind whose records vary in size (JPEG bytes, whole
images) declares its own rules rather than being a special case elsewhere.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from freqpipe.errors import InvalidArgumentError

if TYPE_CHECKING:
    from freqpipe.store.records import RecordSpec
    from freqpipe.transforms import Selection

__all__ = ["BatchFields", "RecordKind"]

#: A batch's fields: name -> (per-record shape, dtype name).
BatchFields = dict[str, tuple[tuple[int, ...], str]]


class RecordKind(ABC):
    """One record kind of a store (abstract).

    Args:
        shape: (C, size/8, size/8), the record's coefficient shape.
        dtype: the store-wide dtype of the main section (the manifest's ``dtype``; while
            converting, the dtype records are encoded in).

    Attributes:
        name: the manifest's and the shard headers' ``kind``.
        produces: what the device stage computes from a batch: ``"coefficients"``
            (dequantise), ``"dct"`` (DCT values already) or ``"jpeg"`` (the bytes go through
            the loader's ordinary coefficient source).
        sections: the kind's shard sections in file order (``labels`` and ``index`` follow).
        optional_sections: those of ``sections`` that shards written by an earlier version
            lack; readers then do without (every new shard has them all).
        shard_dtypes: dtypes its shards' ``coeffs`` section may have (empty: no ``coeffs``).
        manifest_dtypes: the values the manifest's ``dtype`` may take.
        field_sections: batch field -> the shard section it is gathered from.
        windowed: records are whole images; a batch reads one window of each
            (:meth:`gather`'s ``windows``), whose grid :meth:`grids` gives.
    """

    name: ClassVar[str]
    produces: ClassVar[str]
    sections: ClassVar[tuple[str, ...]]
    optional_sections: ClassVar[tuple[str, ...]] = ()
    shard_dtypes: ClassVar[tuple[str, ...]]
    manifest_dtypes: ClassVar[tuple[str, ...]]
    field_sections: ClassVar[dict[str, str]] = {}
    windowed: ClassVar[bool] = False

    def __init__(self, shape: tuple[int, int, int], dtype: str):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype).name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.shape}, {self.dtype!r})"

    @classmethod
    def from_manifest(cls, shape: tuple[int, int, int], manifest: dict[str, Any]) -> RecordKind:
        """The kind of a (schema-checked) manifest whose records are ``shape``.

        A kind whose reading side depends on more conversion settings than the shape and
        the store's dtype takes them from ``manifest`` here.
        """
        return cls(shape, manifest["dtype"])

    # ---- which settings, and the dtype they encode in -----------------------------------------
    @classmethod
    @abstractmethod
    def holds(cls, spec: RecordSpec) -> bool:
        """Whether records converted with ``spec`` are of this kind."""

    @classmethod
    @abstractmethod
    def encode_dtype(cls, spec: RecordSpec) -> str:
        """The dtype records are encoded in before a shard is packed."""

    # ---- writing a shard --------------------------------------------------------------------
    @abstractmethod
    def allocate(self, n: int) -> dict[str, Any]:
        """The buffers of a shard of ``n`` inputs, filled by :meth:`encode`."""

    @abstractmethod
    def encode(self, spec: RecordSpec, path: str, buffers: dict[str, Any], j: int) -> None:
        """Turn the input at ``path`` into record ``j`` of ``buffers`` (worker threads).

        Raises:
            FreqpipeError, OSError, ValueError: the input cannot be read (the conversion
                records it as a reject).
        """

    @abstractmethod
    def pack(self, spec: RecordSpec, buffers: dict[str, Any], ok: np.ndarray) -> dict[str, Any]:
        """The kept records (``ok``) as this kind's sections, C-contiguous, in file order."""

    @abstractmethod
    def bytes_per_record(self, spec: RecordSpec, sample: list[str]) -> int:
        """Estimated bytes of one record (sizes a shard given in bytes); ``sample``: inputs."""

    # ---- the shard schema -------------------------------------------------------------------
    @classmethod
    def section_rule(cls, name: str) -> tuple[tuple[str, ...], int, int | None]:
        """How a shard header must describe section ``name`` of this kind (or a common one).

        Returns:
            ``(dtypes, ndim, extra_rows)``: the dtypes allowed, the number of dimensions, and
            the rows beyond one per record (1 for an offset table), None for any length.

        Example:
            >>> from freqpipe.store.kinds import KINDS
            >>> KINDS["quantized"].section_rule("coeffs"), KINDS["jpeg"].section_rule("data")
            ((('int8', 'int16'), 4, 0), (('uint8',), 1, None))
        """
        return {
            "coeffs": (cls.shard_dtypes, 4, 0),
            "quant": (("uint16",), 2, 0),
            "data": (("uint8",), 1, None),
            "offsets": (("uint64",), 1, 1),
            "prefixes": (("uint64",), 2, 0),
        }.get(name, (("int64",), 1, 0))

    def shard_problem(self, sections: dict[str, dict[str, Any]]) -> tuple[str, str] | None:
        """What in a (checked) shard header disagrees with this kind's record shape.

        Returns:
            ``(field, problem)``, or None when the sections fit.
        """
        if "coeffs" in sections and list(sections["coeffs"]["shape"][1:]) != list(self.shape):
            return (
                "sections.coeffs.shape",
                f"{sections['coeffs']['shape']} does not match the manifest's {self.shape[0]} "
                f"channels of size {8 * self.shape[1]}",
            )
        if "quant" in sections and list(sections["quant"]["shape"][1:]) != [self.shape[0]]:
            return "sections.quant.shape", "must have one value per coeffs channel"
        return None

    def map_problems(self, maps: dict[str, np.ndarray], records: int, dtype: str) -> list[str]:
        """What in one shard's mapped sections disagrees with the layout (verify, open).

        Args:
            maps: the shard's sections, mapped.
            records: the records the manifest says it holds.
            dtype: the shard's coefficient dtype, as the manifest's entry says.

        Returns:
            One message per problem (empty: consistent).
        """
        problems = []
        layout = self.layout()
        if "coeffs" in layout:
            c = maps.get("coeffs")
            shape = (records, *layout["coeffs"]["shape"])
            if c is None or tuple(c.shape) != shape or c.dtype.name != dtype:
                problems.append(
                    f"coeffs section {None if c is None else (c.dtype, c.shape)}"
                    f" does not match the layout {shape} {dtype}"
                )
        if "quant" in layout and tuple(maps["quant"].shape) != (records, *layout["quant"]["shape"]):
            problems.append(f"quant section shape {maps['quant'].shape} is wrong")
        return problems

    def content_problems(self, maps: dict[str, np.ndarray]) -> list[str]:
        """What only reading every record of one shard can find (``verify``; default none).

        Args:
            maps: the shard's sections, mapped (:meth:`map_problems` found nothing wrong).

        Returns:
            One message per problem (empty: consistent).
        """
        del maps
        return []

    # ---- the manifest -----------------------------------------------------------------------
    @classmethod
    def manifest_dtype(cls, shard_dtypes: list[Any]) -> str:
        """The store-wide dtype from the non-empty shards' ``coeffs`` dtypes."""
        del shard_dtypes
        return cls.manifest_dtypes[0]

    @abstractmethod
    def layout(self) -> dict[str, Any]:
        """The manifest's ``layout`` of one record (``labels`` excluded)."""

    def manifest_entry(self) -> dict[str, Any]:
        """The manifest keys this kind decides: ``kind``, ``dtype``, ``layout``."""
        layout = {"labels": {"dtype": "int64", "shape": []}, **self.layout()}
        return {"kind": self.name, "dtype": self.dtype, "layout": layout}

    # ---- reading ----------------------------------------------------------------------------
    def batch_fields(self) -> BatchFields:
        """The fields of a batch of these records (labels excluded)."""
        raise InvalidArgumentError(
            f"read_batch is not available for a {self.name!r} store; use get_bytes(i)"
        )

    def grids(self, maps: dict[str, np.ndarray]) -> np.ndarray | None:
        """(n, 2) int luma block grid of each record of one shard; None: fixed-size records."""
        del maps
        return None

    def gather(
        self,
        maps: dict[str, np.ndarray],
        local: np.ndarray,
        arrays: dict[str, np.ndarray],
        rows: np.ndarray,
        windows: np.ndarray | None,
        negate: np.ndarray | None = None,
    ) -> None:
        """Fill rows ``rows`` of the batch ``arrays`` with records ``local`` of one shard.

        Args:
            maps: the shard's sections, mapped.
            local: record indices within the shard.
            arrays: batch field -> array (N, ...).
            rows: the batch row of each record.
            windows: ``windowed`` kinds: (len(rows), 3) int ``(top, left, hflip)``: the luma
                block of each record's window and whether to mirror it; otherwise None.
            negate: ``windowed`` kinds: (C,) bool, the channels a mirror negates (odd
                horizontal frequency, conventions §1).
        """
        del windows, negate
        contiguous = rows[-1] - rows[0] + 1 == rows.size and bool(np.all(np.diff(rows) == 1))
        for name, dst in arrays.items():
            src = maps[self.field_sections[name]]
            if contiguous and src.dtype == dst.dtype:  # straight into ``out``, no temporary
                np.take(src, local, axis=0, out=dst[rows[0] : rows[-1] + 1], mode="clip")
            else:
                dst[rows] = np.take(src, local, axis=0)

    def item(self, maps: dict[str, np.ndarray], j: int) -> dict[str, np.ndarray]:
        """Record ``j`` of one shard's mapped sections, as copies (``FreqStore[i]``)."""
        return {name: np.array(maps[name][j]) for name in self.sections}

    def record_jpeg(self, maps: dict[str, np.ndarray], j: int) -> bytes:
        """The JPEG bytes of record ``j`` of one shard (JPEG-byte kinds only).

        Raises:
            InvalidArgumentError: the kind holds no JPEG bytes.
        """
        del maps, j
        raise InvalidArgumentError(f"get_bytes needs a 'jpeg' store, this one is {self.name!r}")

    def record_source(self, maps: dict[str, np.ndarray], j: int, select: Selection) -> Any:
        """What to hand the coefficient reader for record ``j`` when it wants ``select``.

        Raises:
            InvalidArgumentError: the kind holds no JPEG bytes.
        """
        del select
        return self.record_jpeg(maps, j)

    def lengths(self, maps: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """Bytes of each record and its stored prefix lengths (JPEG-byte kinds only).

        Raises:
            InvalidArgumentError: the kind holds no JPEG bytes.
        """
        del maps
        raise InvalidArgumentError(f"prefix lengths need a 'jpeg' store, this one is {self.name!r}")
