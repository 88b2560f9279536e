"""``freqpipe inspect FILE...``: what a JPEG holds, from its markers and its coefficients.

A store directory (``freqpipe convert``'s output) is described by
:mod:`freqpipe._cli.inspect_store` instead: its records and, for a frequency-ordered JPEG
store, the mean bytes of each stored prefix against the whole record.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from freqpipe._cli.inspect_store import describe_store, is_store_dir, print_store
from freqpipe.errors import CorruptJpegError, FreqpipeError, file_reason
from freqpipe.jpeg.markers import parse_jpeg
from freqpipe.jpeg.reader import read_coefficients
from freqpipe.jpeg.scans import complete_after, scan_table, selection_wanted
from freqpipe.transforms import PRESETS

__all__ = ["describe", "register", "run"]

_SUBSAMPLING = {
    (1, 1): "4:4:4",
    (2, 1): "4:2:2",
    (2, 2): "4:2:0",
    (1, 2): "4:4:0",
    (4, 1): "4:1:1",
    (4, 2): "4:1:0",
}
_PLANE_NAMES = {
    "ycbcr": ("Y", "Cb", "Cr"),
    "ycck": ("Y", "Cb", "Cr", "K"),
    "rgb": ("R", "G", "B"),
    "cmyk": ("C", "M", "Y", "K"),
    "gray": ("Y",),
}


def register(subparsers: Any) -> None:
    """Add the ``inspect`` sub-command to the ``freqpipe`` parser."""
    p = subparsers.add_parser(
        "inspect",
        help="print a JPEG's header, scans, tables and coefficient statistics (or a store's)",
        description="Describe JPEG files: frame, sampling, scans, restart interval, quant "
        "tables, colour space, EXIF orientation, ICC profile, and per-component coefficient "
        "statistics (fraction of nonzero coefficients and mean energy per frequency). A store "
        "directory (freqpipe convert) is described by its records and, for a frequency-"
        "ordered JPEG store, the mean bytes of each stored prefix against the whole record.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE|STORE")
    p.add_argument("--json", action="store_true", help="print one JSON document for all files")
    p.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="fail on damaged data (default); --no-strict shows what libjpeg recovers",
    )
    p.set_defaults(func=run)


def subsampling_name(sampling: list[tuple[int, int]]) -> str:
    """Name the chroma subsampling of (h, v) factors, e.g. ``[(2, 2), (1, 1), (1, 1)]``.

    Example:
        >>> subsampling_name([(2, 2), (1, 1), (1, 1)])
        '4:2:0'
        >>> subsampling_name([(1, 1)])
        'grayscale'
    """
    if len(sampling) == 1:
        return "grayscale"
    (h0, v0), rest = sampling[0], sampling[1:]
    if all(s == (1, 1) for s in rest) and (h0, v0) in _SUBSAMPLING:
        return _SUBSAMPLING[(h0, v0)]
    return ",".join(f"{h}x{v}" for h, v in sampling)


_NO_STRICT_HINT = "pass --no-strict to see what libjpeg recovers"


def describe(path: Path, *, strict: bool = True) -> dict[str, Any]:
    """Return everything ``inspect`` reports about one file, as a JSON-ready dict.

    A file whose coefficients cannot be read but whose header parses (a truncated scan) is
    still described from its markers, with ``"error"`` giving the reader's reason and offset.

    Raises:
        FreqpipeError: the file cannot be read or its header cannot be parsed (the native
            reader's reason, the same as every other surface gives).
    """
    name = str(path)
    if path.is_dir():
        raise FreqpipeError(
            "is a directory but not a store (no manifest.json); inspect takes files (e.g. "
            "DIR/*.jpg) or stores",
            source=name,
        )
    error: CorruptJpegError | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            coeffs = read_coefficients(path, strict=strict)  # FileMissingError when missing
        except CorruptJpegError as exc:
            error = exc
    data = path.read_bytes()
    try:
        structure = parse_jpeg(data, source=name)
    except FreqpipeError:
        if error is not None:
            raise error from None
        raise
    if error is not None:
        if not structure.frame:
            raise error
        return _header_only(path, data, structure, error)
    names = _PLANE_NAMES.get(coeffs.colorspace, tuple(f"C{i}" for i in range(9)))
    components = []
    for i, (plane, deq) in enumerate(zip(coeffs.planes, coeffs.dequantized())):
        flat = plane.reshape(-1, 64)
        nonzero = (flat != 0).mean(axis=0) if flat.size else np.zeros(64)
        energy = (deq.reshape(-1, 64).astype(np.float64) ** 2).mean(axis=0) if flat.size else 0
        components.append(
            {
                "name": names[i] if i < len(names) else f"C{i}",
                "sampling": list(coeffs.sampling[i]),
                "blocks": list(plane.shape[:2]),
                "quant": coeffs.quant[i].reshape(8, 8).tolist(),
                "nonzero_fraction": np.round(nonzero, 4).reshape(8, 8).tolist(),
                "energy": np.round(np.asarray(energy), 2).reshape(8, 8).tolist(),
            }
        )
    scans = _scans_with_prefixes(data, structure.scans)
    return {
        "file": str(path),
        "bytes": len(data),
        "width": coeffs.width,
        "height": coeffs.height,
        "frame": structure.frame.get("kind"),
        "marker": structure.frame.get("marker"),
        "precision": structure.frame.get("precision"),
        "colorspace": coeffs.colorspace,
        "subsampling": subsampling_name(list(coeffs.sampling)),
        "progressive": coeffs.progressive,
        "arithmetic": coeffs.arithmetic,
        "restart_interval": coeffs.restart_interval,
        "scans": scans,
        "orientation": coeffs.orientation,
        "icc_profile_bytes": structure.icc_profile_bytes,
        "segments": [f"{name} {ident}".strip() for name, _, _, ident in structure.segments],
        "stray_bytes": structure.stray_bytes,
        "warnings": [str(w.message) for w in caught],
        "components": components,
    }


def _scans_with_prefixes(data: bytes, parsed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add to each scan its data's end and the presets its prefix completes.

    ``end`` is the byte offset where the scan's entropy-coded data stops; ``completes`` lists
    the presets (dct6 ... all) whose coefficients are all exact once a reader has the file
    up to ``end``: what :func:`~freqpipe.read_coefficients` with that selection reads.
    """
    table = scan_table(data)
    if table is None or len(table.scans) != len(parsed):
        return parsed
    done: dict[int, list[str]] = {}
    for name in PRESETS:
        last = complete_after(table, selection_wanted(name, table.ncomp))
        if last is not None:
            done.setdefault(last, []).append(name)
    return [
        {**p, "end": s.end, "completes": done.get(i, [])}
        for i, (p, s) in enumerate(zip(parsed, table.scans))
    ]


def _header_only(
    path: Path, data: bytes, structure: Any, error: CorruptJpegError
) -> dict[str, Any]:
    """What the markers say about a file whose coefficients could not be read."""
    frame = structure.frame
    sampling = [(c["h"], c["v"]) for c in frame.get("components", [])]
    return {
        "file": str(path),
        "bytes": len(data),
        "width": frame.get("width"),
        "height": frame.get("height"),
        "frame": frame.get("kind"),
        "marker": frame.get("marker"),
        "precision": frame.get("precision"),
        "colorspace": None,
        "subsampling": subsampling_name(sampling) if sampling else None,
        "progressive": "progressive" in str(frame.get("kind")),
        "arithmetic": "arithmetic" in str(frame.get("kind")),
        "restart_interval": structure.restart_interval,
        "scans": structure.scans,
        "orientation": structure.orientation,
        "icc_profile_bytes": structure.icc_profile_bytes,
        "segments": [f"{n} {ident}".strip() for n, _, _, ident in structure.segments],
        "stray_bytes": structure.stray_bytes,
        "warnings": [],
        "components": [],
        "error": _error_record(path, error),
    }


def _error_record(path: Path, exc: FreqpipeError) -> dict[str, Any]:
    record = {"file": str(path), "error": file_reason(exc), "type": type(exc).__name__}
    if getattr(exc, "recoverable", False):
        record["hint"] = _NO_STRICT_HINT
    return record


def _grid(rows: list[list[float]], fmt: str) -> list[str]:
    return ["      " + " ".join(format(v, fmt) for v in row) for row in rows]


def _print_text(info: dict[str, Any]) -> None:
    out = [f"{info['file']}  ({info['bytes']:,} bytes)"]
    out.append(
        f"  frame        {info['frame']} ({info['marker']}), {info['precision']}-bit, "
        f"{info['width']}x{info['height']}, colorspace {info['colorspace']}, "
        f"{info['subsampling']}"
    )
    comps = "; ".join(
        f"{c['name']} {c['sampling'][0]}x{c['sampling'][1]} ({c['blocks'][0]}x{c['blocks'][1]} "
        "blocks)"
        for c in info["components"]
    )
    out.append(f"  components   {comps}")
    restart = info["restart_interval"]
    out.append(f"  restart      {f'every {restart} MCUs' if restart else 'none'}")
    out.append(f"  orientation  {info['orientation']} (EXIF)")
    icc = info["icc_profile_bytes"]
    out.append(f"  ICC profile  {f'{icc:,} bytes' if icc else 'absent'}")
    out.append(f"  segments     {', '.join(info['segments']) or 'none'}")
    out.append(f"  scans        {len(info['scans'])}")
    for i, s in enumerate(info["scans"], 1):
        line = (
            f"    {i:3d}: components {s['components']} Ss={s['Ss']} Se={s['Se']} "
            f"Ah={s['Ah']} Al={s['Al']}"
        )
        if "end" in s:
            line += f"  bytes {s['offset']}..{s['end']} ({s['end'] / info['bytes']:.1%} read)"
            if s["completes"]:
                line += f"  completes {', '.join(s['completes'])}"
        out.append(line)
    for w in info["warnings"]:
        out.append(f"  warning      {w}")
    for c in info["components"]:
        out.append(f"  component {c['name']}: quant table (natural order, row = vertical v)")
        out.extend(_grid(c["quant"], "4d"))
        out.append(f"  component {c['name']}: fraction of nonzero coefficients per frequency")
        out.extend(_grid(c["nonzero_fraction"], "5.3f"))
        out.append(f"  component {c['name']}: mean energy per frequency (dequantised, squared)")
        out.extend(_grid(c["energy"], "9.1f"))
    print("\n".join(out))


def _print_error(record: dict[str, Any]) -> None:
    hint = f"; {record['hint']}" if "hint" in record else ""
    print(f"{record['file']}: {record['type']}: {record['error']}{hint}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Describe each file; return 1 if any could not be read."""
    failures = 0
    results = []
    for path in args.files:
        store = is_store_dir(path)
        try:
            if store:
                info = describe_store(path)
            else:
                info = describe(path, strict=getattr(args, "strict", True))
        except FreqpipeError as exc:
            failures += 1
            record = _error_record(path, exc)
            if args.json:
                results.append(record)
            else:
                _print_error(record)
            continue
        if args.json:
            results.append(info)
        elif store:
            print_store(info)
        else:
            _print_text(info)
            if "error" in info:
                _print_error(info["error"])
        failures += "error" in info
    if args.json:
        json.dump(results, sys.stdout, indent=1)
        print()
    return 1 if failures else 0
