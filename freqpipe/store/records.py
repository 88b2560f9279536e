"""The settings that fix a store record's layout: route, channels, size, dtype, order, extent.

Three routes (``RecordSpec.route``): ``"coefficient"`` (the native reader, no pixel decode),
``"pixel"`` (DCTNet: decode, resize, centre crop, block DCT) and ``"jpeg"`` (the file bytes,
plain or frequency-ordered). Two layouts (``RecordSpec.layout``): ``"crop"``, one fixed centre
crop per image (evaluation), and, for the coefficient route, ``"whole"``, the whole image
(optionally scaled down to ``max_side``) so a loader crops and flips at random (training).
Which record kind they make, and how one input image becomes one record, belong to the kinds
(:mod:`freqpipe.store.kinds`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from freqpipe.errors import InvalidArgumentError
from freqpipe.jpeg.reorder import order_ends
from freqpipe.store.kinds import kind_class
from freqpipe.transforms import Selection

__all__ = ["ROUTES", "RecordSpec"]

ROUTES = ("coefficient", "pixel", "jpeg")
DTYPES = ("auto", "int16", "float16")
LAYOUTS = ("crop", "whole")


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
        layout: ``"crop"`` (one centre crop of ``size`` per image: evaluation) or ``"whole"``
            (coefficient route: the whole image; ``size`` is then the window a loader reads,
            at random when training).
        max_side: ``layout="whole"`` only: scale images whose longer side exceeds this down to
            it, in the DCT domain (:mod:`freqpipe.transforms.downscale`), before storing.

    Raises:
        InvalidArgumentError: an unknown route, dtype or layout, a size not a positive
            multiple of 8, ``resize_short`` outside the pixel route or smaller than ``size``,
            ``layout="whole"`` outside the quantised coefficient route, or ``max_side``
            without it or below 8.

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
    layout: str = "crop"
    max_side: int | None = None

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
        self._check_layout()

    def _check_layout(self) -> None:
        if self.layout not in LAYOUTS:
            raise InvalidArgumentError(
                f"layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}",
                value=self.layout,
            )
        if self.layout == "whole" and (self.route != "coefficient" or self.dtype == "float16"):
            raise InvalidArgumentError(
                "layout='whole' (--layout whole) stores quantised coefficients: it needs "
                f"route='coefficient' and dtype 'auto' or 'int16', got route={self.route!r}, "
                f"dtype={self.dtype!r}"
            )
        if self.max_side is not None:
            if self.layout != "whole":
                raise InvalidArgumentError("max_side (--max-side) needs layout='whole'")
            if isinstance(self.max_side, bool) or not isinstance(self.max_side, int):
                raise InvalidArgumentError(f"max_side must be an int, got {self.max_side!r}")
            if self.max_side < 8:
                raise InvalidArgumentError(f"max_side must be >= 8 pixels, got {self.max_side}")

    @property
    def kind(self) -> str:
        """The record kind's name (:mod:`freqpipe.store.kinds`): ``"quantized"``, ..."""
        return kind_class(self).name

    @property
    def chroma(self) -> str | None:
        """How chroma reaches the Y grid: ``"upsample"`` (block repetition), ``"full"``."""
        return {"coefficient": "upsample", "pixel": "full"}.get(self.route)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, size/8, size/8) of a record's coefficients."""
        g = self.size // 8
        return (len(self.selection), g, g)

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
            **({"max_side": self.max_side} if self.max_side is not None else {}),
        }
