"""Read the quantised DCT coefficients of a JPEG without decoding its pixels."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Union

import numpy as np

from freqpipe.errors import (
    CorruptJpegError,
    CorruptJpegWarning,
    FileMissingError,
    FreqpipeError,
    ImageTooLargeError,
    InvalidArgumentError,
    NotAJpegError,
    UnsupportedJpegError,
)
from freqpipe.jpeg._ext import native as _native
from freqpipe.jpeg.metadata import exif_orientation, icc_profile
from freqpipe.jpeg.scans import ScanPrefix, natural_masks

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "JpegCoefficients",
    "JpegSource",
    "read_coefficients",
    "read_coefficients_batch",
]

#: Pillow's ``Image.MAX_IMAGE_PIXELS``: the same decompression-bomb guard users already know.
DEFAULT_MAX_PIXELS = 89_478_485

#: The reader's hint on damage libjpeg recovers from (other surfaces name their own option).
STRICT_HINT = "pass strict=False to accept what libjpeg recovers (missing blocks are zero)"

#: A progressive JPEG rarely has more than ~12 scans; thousands means a decoding-time bomb.
_MAX_SCANS = 1000

#: Scan work allowed, in passes over all the image's blocks. libjpeg's progressive script walks
#: them about 6 times; one scan per coefficient (the most a frequency-ordered file needs) about
#: 64 times for luma but fewer averaged over the components. Beyond that, a file costs more than
#: a small multiple of a normal decode of its size: a decoding-time bomb.
_MAX_PASSES = 64

JpegSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes], ScanPrefix]

_APP1, _APP2 = 0xE1, 0xE2


def _load(src: JpegSource) -> tuple[bytes | bytearray | memoryview, str]:
    if isinstance(src, (bytes, bytearray)):
        return src, "<bytes>"
    if isinstance(src, ScanPrefix):
        return memoryview(src.data).cast("B"), "<bytes>"
    if isinstance(src, memoryview):
        return src.cast("B") if src.format != "B" else src, "<bytes>"
    if isinstance(src, (str, os.PathLike)):
        path = os.fspath(src)
        try:
            with open(path, "rb") as f:
                return f.read(), path
        except FileNotFoundError as exc:
            raise FileMissingError("no such file", source=path) from exc
        except IsADirectoryError as exc:
            raise FreqpipeError("is a directory, not a file", source=path) from exc
        except OSError as exc:
            raise FreqpipeError(f"cannot read file: {exc.strerror}", source=path) from exc
    read = getattr(src, "read", None)
    if callable(read):
        data = read()
        if not isinstance(data, (bytes, bytearray)):
            raise InvalidArgumentError("file object must be opened in binary mode")
        return data, str(getattr(src, "name", "<file>"))
    raise InvalidArgumentError(
        f"src must be a path, bytes, memoryview or binary file object, got {type(src).__name__}"
    )


def _translate(exc: Exception, name: str) -> FreqpipeError:
    kind, message, offset = exc.args
    if kind == "not_jpeg":
        return NotAJpegError(f"not a JPEG file ({message})", source=name, offset=offset)
    if kind == "too_large":
        return ImageTooLargeError(
            f"{message}; raise max_pixels if the file is trusted", source=name, offset=offset
        )
    if kind == "unsupported":
        return UnsupportedJpegError(message, source=name, offset=offset)
    if kind == "damaged":  # libjpeg would have recovered: only the strict read refused
        return CorruptJpegError(
            message, source=name, offset=offset, recoverable=True, hint=STRICT_HINT
        )
    if kind == "no_memory":
        return ImageTooLargeError(message, source=name, offset=offset)
    # "refused" (a bound on hostile files) and "corrupt" (libjpeg failed too): strict=False
    # would not help, so no hint
    return CorruptJpegError(message, source=name, offset=offset)


@dataclass(frozen=True, eq=False)
class JpegCoefficients:
    """The quantised DCT coefficients of one JPEG, with the facts needed to use them.

    Attributes:
        planes: one int16 array per returned component, shape (Hb, Wb, F): the component's
            block grid (``ceil(component size / 8)`` in each direction, the blocks the file
            codes) by F frequencies in natural order k = 8v + u (F = 64 unless ``freqs``
            selected fewer). Quantised: multiply by ``quant`` to get DCT values. With all 64
            frequencies and no ``out=``, a plane is a (possibly strided) view of libjpeg's own
            coefficient buffer, kept alive by the array: nothing is copied.
        quant: uint16 (n, 64), natural order: the quantisation table of each returned component.
        sampling: (h, v) sampling factors of each returned component.
        components: indices (into the file's components) of the returned planes.
        freqs: the natural-order frequency indices held by each plane, int64 arrays.
        width, height: the image size in pixels (the planes cover it padded to whole blocks).
        progressive: whether the file is progressive.
        arithmetic: whether the file uses arithmetic entropy coding.
        colorspace: "gray", "ycbcr", "rgb", "cmyk", "ycck" or "unknown", as stored.
        orientation: EXIF orientation 1..8 (1 when absent); the planes are as stored, unrotated.
        restart_interval: the restart interval in MCUs (0 when none).
        scans: the number of scans read: the file's first ``scans`` scans.
        icc_profile: the embedded ICC profile, or None.
        warnings: what libjpeg reported while recovering a damaged file (``strict=False``).
        source: the file name, or ``"<bytes>"``.
        bytes_read: bytes of the file handed to libjpeg. Asked for some ``components`` or
            ``freqs`` of a progressive file, the reader stops after the last scan they need
            (with every refinement, so they are exact): then ``bytes_read < total_bytes``
            and the coefficients not asked for are unspecified (zero today).
        total_bytes: the file's size; ``bytes_read == total_bytes`` when all of it was read.
    """

    planes: tuple[np.ndarray, ...]
    quant: np.ndarray
    sampling: tuple[tuple[int, int], ...]
    components: tuple[int, ...]
    freqs: tuple[np.ndarray, ...]
    width: int
    height: int
    progressive: bool
    arithmetic: bool
    colorspace: str
    orientation: int
    restart_interval: int
    scans: int
    icc_profile: bytes | None
    warnings: tuple[str, ...]
    source: str
    bytes_read: int = 0
    total_bytes: int = 0

    def dequantized(self) -> tuple[np.ndarray, ...]:
        """Return the planes multiplied by their quantisation tables.

        Returns:
            float32 arrays shaped like ``planes``, on the orthonormal DCT scale of
            ``scipy.fft.dctn(block - 128, norm="ortho")`` (the encoder's rounding aside).

        Example:
            >>> c = read_coefficients(sample_path())
            >>> y = c.dequantized()[0]
            >>> y.dtype, y.shape[-1]
            (dtype('float32'), 64)
        """
        return tuple(
            plane.astype(np.float32) * self.quant[i][self.freqs[i]].astype(np.float32)
            for i, plane in enumerate(self.planes)
        )

    def __repr__(self) -> str:
        shapes = ", ".join(str(p.shape) for p in self.planes)
        return (
            f"JpegCoefficients(source={self.source!r}, {self.width}x{self.height}, "
            f"colorspace={self.colorspace!r}, sampling={self.sampling}, planes=[{shapes}])"
        )


def sample_path() -> Path:
    """Return one bundled sample JPEG (used by the examples in this module)."""
    from freqpipe._samples import sample_files

    return sample_files()[0]


def _component_list(components: int | Iterable[int] | None, ncomp: int) -> list[int]:
    if components is None:
        return list(range(ncomp))
    chosen = [components] if isinstance(components, (int, np.integer)) else list(components)
    for c in chosen:
        if not isinstance(c, (int, np.integer)) or not 0 <= c < ncomp:
            raise InvalidArgumentError(
                f"component index {c!r} out of range for a JPEG with {ncomp} components"
            )
    return [int(c) for c in chosen]


def _is_list_like(f: Any) -> bool:
    # ndarray, list and tuple first: isinstance against the Sequence ABC is slow
    return isinstance(f, (np.ndarray, list, tuple)) or (
        isinstance(f, Sequence) and not isinstance(f, (str, bytes))
    )


def _freq_lists(freqs: Any, count: int) -> list[np.ndarray]:
    if freqs is None:
        return [_ALL_FREQS] * count
    if isinstance(freqs, (str, bytes)) or not isinstance(freqs, Iterable):
        raise InvalidArgumentError(
            f"freqs must be a list of frequency indices (or one per component), got {freqs!r}",
            value=freqs,
        )
    items = freqs if isinstance(freqs, (list, tuple)) else list(freqs)
    per_component = bool(items) and all(_is_list_like(f) for f in items)
    lists = items if per_component else [items] * count
    if len(lists) != count:
        raise InvalidArgumentError(
            f"freqs gives {len(lists)} per-component lists for {count} components"
        )
    out = []
    for f in lists:
        values: list[Any]
        if isinstance(f, np.ndarray) and f.dtype.kind in "iu" and f.ndim <= 1:
            # the loader's case, once per image: integers already, no per-element checks
            arr = f.astype(np.int64, copy=False).reshape(-1)
            values = arr.tolist()
        else:
            values = list(f) if _is_list_like(f) else [f]
            bad = [v for v in values if isinstance(v, bool) or not isinstance(v, (int, np.integer))]
            if bad:
                raise InvalidArgumentError(
                    f"freqs must hold integer frequency indices 0..63, got {bad[0]!r}",
                    value=freqs,
                )
            arr = np.asarray(values, dtype=np.int64).reshape(-1)
        # Python's min and max: faster than NumPy's reductions on a few dozen values
        if values and (min(values) < 0 or max(values) > 63):
            raise InvalidArgumentError(f"frequency indices must be in 0..63, got {arr.tolist()}")
        out.append(arr)
    return out


_ALL_FREQS = np.arange(64, dtype=np.int64)


def _borrowed_plane(decoder: Any, component: int, shape: tuple[int, int, int]) -> np.ndarray:
    # The native reader keeps each component in one allocation, so the view always exists:
    # a plane is never copied, whatever its size.
    view = decoder.view(component)
    if view is None:  # pragma: no cover - C guarantees it
        raise FreqpipeError("internal error: coefficient plane cannot be borrowed")
    plane = np.asarray(view)
    if plane.shape != shape or plane.dtype != np.int16:  # pragma: no cover - C guarantees it
        raise FreqpipeError(f"internal error: borrowed plane {plane.shape} != {shape}")
    return plane


def _outputs(
    out: Sequence[Any] | None, shapes: list[tuple[int, int, int]], skip: list[bool]
) -> list[np.ndarray | None]:
    if out is None:
        try:
            return [None if s else np.empty(shape, np.int16) for shape, s in zip(shapes, skip)]
        except MemoryError as exc:
            raise ImageTooLargeError(f"out of memory allocating planes of {shapes}") from exc
    if len(out) != len(shapes):
        raise InvalidArgumentError(f"out has {len(out)} buffers for {len(shapes)} planes")
    arrays: list[np.ndarray | None] = []
    for i, (buf, shape) in enumerate(zip(out, shapes)):
        arr = np.asarray(buf)
        if arr.dtype != np.int16 or arr.shape != shape:
            raise InvalidArgumentError(
                f"out[{i}] must be int16 of shape {shape}, got {arr.dtype} {arr.shape}"
            )
        if not arr.flags.c_contiguous or not arr.flags.writeable:
            raise InvalidArgumentError(f"out[{i}] must be a writable C-contiguous array")
        arrays.append(arr)
    return arrays


@dataclass(frozen=True)
class ReadExtent:
    """How much of a file :func:`open_decoder` handed to libjpeg.

    Attributes:
        bytes_read: bytes of the file given to the decoder (a scan prefix, or all of it).
        total_bytes: the file's size in bytes.
    """

    bytes_read: int
    total_bytes: int


#: ``masks_for(ncomp)`` -> per component of a file of ``ncomp``, the zigzag ranks the caller
#: will use as a 64-bit mask (:func:`freqpipe.jpeg.scans.wanted_masks`).
MasksFor = Callable[[int], Sequence[int]]


def _scan_prefix(data: Any, masks_for: MasksFor | None, end: int | None) -> ReadExtent:
    """Where to cut a progressive file: after the last scan the wanted coefficients need.

    The decoder then reads ``data[:bytes_read]`` followed by an EOI marker, in place (as
    :func:`~freqpipe.jpeg.scans.with_eoi` would give it, without the copy). ``end``, when the
    caller already knows that cut (a :class:`ScanPrefix`), replaces the marker walk.
    """
    total = len(data)
    if masks_for is None:
        return ReadExtent(total, total)
    if end is None:  # the marker walk and prefix_end's rule, in one native call
        cut = _native().prefix_cut(data, masks_for)
        end = total if cut is None else cut[0]
    return ReadExtent(min(end, total), total)


def open_decoder(
    src: JpegSource, *, strict: bool, max_pixels: int | None, masks_for: MasksFor | None = None
) -> tuple[Any, str, ReadExtent]:
    """Load ``src`` and parse its header natively; return ``(decoder, name, extent)``.

    The one entry into the native reader: :func:`read_coefficients` and
    :func:`freqpipe.jpeg.decode_jpeg` both start here, then call :func:`run_decode`.

    Args:
        src: as :func:`read_coefficients`.
        strict: as :func:`read_coefficients`.
        max_pixels: as :func:`read_coefficients`.
        masks_for: given the file's component count, the coefficients the caller will use
            (:data:`MasksFor`); a progressive file is then cut after the last scan they need
            (the rule of :func:`freqpipe.jpeg.scans.prefix_end`) and the other coefficients
            are left unspecified (zero). None reads the whole file. A :class:`ScanPrefix`
            ``src`` gives that cut itself: no marker walk.

    Raises:
        FreqpipeError: the typed errors of :func:`read_coefficients`.
    """
    data, name = _load(src)
    integer = isinstance(max_pixels, (int, np.integer)) and not isinstance(max_pixels, bool)
    if max_pixels is not None and (not integer or max_pixels < 1):
        raise InvalidArgumentError(
            f"max_pixels must be a positive integer or None, got {max_pixels!r}", value=max_pixels
        )
    native = _native()
    known = src.end if isinstance(src, ScanPrefix) else None
    extent = _scan_prefix(data, masks_for, known)
    cut = extent.bytes_read if extent.bytes_read < extent.total_bytes else -1
    try:
        decoder = native.Decoder(
            data, strict, _MAX_SCANS, int(max_pixels or 0), _MAX_PASSES, end=cut
        )
        return decoder, name, extent
    except native.DecodeError as exc:
        raise _translate(exc, name) from None


def run_decode(
    decoder: Any,
    name: str,
    outs: list[Any],
    components: list[int],
    freqs: list[bytes],
    pixel_rows: tuple[int, int] | None = None,
) -> tuple[list[str], list[bytes], int]:
    """Entropy-decode with the GIL released; return ``(warnings, quant tables, scans)``.

    What libjpeg recovered from damaged data (``strict=False``) is reported as a
    :class:`CorruptJpegWarning` naming the file. ``pixel_rows`` ``(y0, y1)``: only those
    image rows will be used; restart intervals of a file freqpipe's spectral decoder reads
    that hold none of their blocks are skipped unread (see :func:`freqpipe.jpeg.decode_jpeg`).
    """
    try:
        warn_list, quant_bytes, scans, _ = decoder.decode(outs, components, freqs, pixel_rows)
    except _native().DecodeError as exc:
        raise _translate(exc, name) from None
    if warn_list:
        warnings.warn(
            f"{name}: libjpeg reported damaged data: {'; '.join(warn_list)}",
            CorruptJpegWarning,
            stacklevel=3,
        )
    return warn_list, quant_bytes, scans


def read_coefficients(
    src: JpegSource,
    *,
    components: int | Iterable[int] | None = None,
    freqs: Any = None,
    strict: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    out: Sequence[Any] | None = None,
) -> JpegCoefficients:
    """Read a JPEG's quantised DCT coefficients (entropy decoding only).

    No inverse DCT, colour conversion or upsampling is done. The decode and the copy into the
    output arrays run in native code with the GIL released, so threads scale.

    Args:
        src: a path, the file's bytes (``bytes``, ``bytearray``, ``memoryview``), a binary
            file object, or a :class:`~freqpipe.jpeg.scans.ScanPrefix` (the file with the end
            of the prefix that holds the ``components`` and ``freqs`` asked for: read without
            a marker walk).
        components: which components to return (indices in file order, e.g. 0 for Y);
            default all.
        freqs: natural-order frequency indices to keep, either one list shared by every
            returned component or one list per returned component; default all 64. The
            gather happens in native code: the basis of channel selection.
        strict: when True (default) any corruption or truncation raises
            :class:`CorruptJpegError`. When False, libjpeg's recovery is accepted: a
            :class:`CorruptJpegWarning` is issued and the coefficients decoded so far are
            returned (missing blocks are zero). Stray bytes between segments, which libjpeg
            skips after the preceding scan has decoded completely, only warn in both modes.
        max_pixels: refuse images with more pixels than this before allocating anything
            (default Pillow's 89,478,485); None disables the check. Whatever its value, a
            file is refused (:class:`CorruptJpegError`) when its frame needs more coefficient
            memory than a file of its size can code: every block of a Huffman-coded image
            costs at least one bit, so an N-byte file gets 2 x 8N blocks x 128 bytes
            (arithmetic coding: 128 KiB per byte), and at least 64 MiB.
        out: optional preallocated int16 arrays, one per returned plane, C-contiguous and of
            exactly the plane's shape (e.g. views into a pinned batch buffer).

    Returns:
        A :class:`JpegCoefficients`; ``planes[i]`` is int16 (Hb, Wb, F).

    Raises:
        NotAJpegError: the data do not start with a JPEG SOI marker.
        UnsupportedJpegError: 12/16-bit, lossless, hierarchical or JPEG-LS, > 4 components.
        CorruptJpegError: truncated or corrupt data (``strict=True``), unrecoverable damage, a
            frame larger than the file can code, or redundant scans (a band sent twice).
        ImageTooLargeError: more than ``max_pixels`` pixels, or no memory for the planes.
        InvalidArgumentError: a bad ``components``, ``freqs`` or ``out``.

    Example:
        >>> c = read_coefficients(sample_path())
        >>> c.colorspace, c.sampling, c.planes[0].dtype
        ('ycbcr', ((2, 2), (1, 1), (1, 1)), dtype('int16'))
        >>> dc = read_coefficients(sample_path(), components=0, freqs=[0, 1, 8])
        >>> dc.planes[0].shape[-1]
        3
    """
    # per component count of the file: (components, frequency arrays, their bytes), checked
    # once, when the walk or the header has told the count
    checked: dict[int, tuple[list[int], list[np.ndarray], list[bytes]]] = {}

    def lists_for(ncomp: int) -> tuple[list[int], list[np.ndarray], list[bytes]]:
        if ncomp not in checked:
            chosen = _component_list(components, ncomp)
            arrays = _freq_lists(freqs, len(chosen))
            checked[ncomp] = (chosen, arrays, [f.astype(np.uint8).tobytes() for f in arrays])
        return checked[ncomp]

    def masks_for(ncomp: int) -> list[int]:
        chosen, _, natural = lists_for(ncomp)
        return natural_masks(dict(zip(chosen, natural)), ncomp)

    everything = components is None and freqs is None
    decoder, name, extent = open_decoder(
        src, strict=strict, max_pixels=max_pixels, masks_for=None if everything else masks_for
    )
    header = decoder.header
    width, height = header["width"], header["height"]
    comp_info = header["components"]
    chosen, freq_lists, freq_bytes = lists_for(len(comp_info))
    shapes = [
        (comp_info[c]["height_in_blocks"], comp_info[c]["width_in_blocks"], len(f))
        for c, f in zip(chosen, freq_lists)
    ]
    # With no out= and all 64 frequencies, the planes borrow libjpeg's own coefficient arrays
    # (strided views that keep the decoder alive) instead of copying them.
    borrow = [out is None and f.size == 64 and bool((f == _ALL_FREQS).all()) for f in freq_lists]
    targets = _outputs(out, shapes, skip=borrow)
    warn_list, quant_bytes, scans = run_decode(decoder, name, targets, chosen, freq_bytes)
    planes = [
        _borrowed_plane(decoder, c, shape) if target is None else target
        for c, shape, target in zip(chosen, shapes, targets)
    ]
    quant = np.frombuffer(b"".join(quant_bytes), dtype=np.uint16).reshape(len(chosen), 64)
    markers = header["markers"]
    app1 = next((payload for code, payload in markers if code == _APP1), b"")
    return JpegCoefficients(
        planes=tuple(planes),
        quant=quant,
        sampling=tuple((comp_info[c]["h"], comp_info[c]["v"]) for c in chosen),
        components=tuple(chosen),
        freqs=tuple(freq_lists),
        width=width,
        height=height,
        progressive=header["progressive"],
        arithmetic=header["arithmetic"],
        colorspace=header["colorspace"],
        orientation=exif_orientation(app1),
        restart_interval=header["restart_interval"],
        scans=scans,
        icc_profile=icc_profile([payload for code, payload in markers if code == _APP2]),
        warnings=tuple(warn_list),
        source=name,
        bytes_read=extent.bytes_read,
        total_bytes=extent.total_bytes,
    )


def read_coefficients_batch(
    srcs: Sequence[JpegSource],
    *,
    threads: int | None = None,
    **kwargs: Any,
) -> list[JpegCoefficients]:
    """Read many JPEGs in parallel threads (the native decode releases the GIL).

    Args:
        srcs: paths, bytes or file objects.
        threads: worker threads; default ``os.cpu_count()``. 1 reads serially.
        **kwargs: passed to :func:`read_coefficients` (``components``, ``freqs``, ``strict``,
            ``max_pixels``).

    Returns:
        One :class:`JpegCoefficients` per source, in order. The first failure is raised.

    Example:
        >>> from freqpipe._samples import sample_files
        >>> batch = read_coefficients_batch(sample_files()[:3], threads=2, freqs=[0])
        >>> [c.planes[0].shape[-1] for c in batch]
        [1, 1, 1]
    """
    if "out" in kwargs:
        raise InvalidArgumentError("read_coefficients_batch does not take out=")
    workers = threads if threads is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise InvalidArgumentError(f"threads must be >= 1, got {threads}")
    if workers == 1 or len(srcs) <= 1:
        return [read_coefficients(s, **kwargs) for s in srcs]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="freqpipe-read") as pool:
        return list(pool.map(lambda s: read_coefficients(s, **kwargs), srcs))
