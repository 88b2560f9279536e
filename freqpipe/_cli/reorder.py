"""``freqpipe reorder SRC DST``: rewrite a JPEG tree losslessly, frequency-ordered."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms import Selection

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``reorder`` sub-command to an argparse sub-parser set.

    Args:
        subparsers: the object returned by ``ArgumentParser.add_subparsers()``.

    Example:
        >>> p = argparse.ArgumentParser(); register(p.add_subparsers())
        >>> a = p.parse_args(["reorder", "src", "dst", "--order", "dct24,all"])
        >>> a.order, a.workers, a.strip, a.resume
        ('dct24,all', None, False, False)
    """
    p = subparsers.add_parser(
        "reorder",
        help="rewrite a JPEG tree losslessly so the scans of small selections come first",
        description="Rewrite every JPEG under SRC to the same path under DST as a progressive "
        "JPEG whose scans follow --order: the DC scan, then per selection and component the "
        "zigzag band that completes it. Lossless (same coefficients, same pixels); "
        "read_coefficients and FreqLoader then read only the prefix a selection needs. "
        "Unreadable files are listed in DST/rejects.tsv.",
    )
    p.add_argument("src", metavar="SRC", help="folder tree of JPEGs")
    p.add_argument("dst", metavar="DST", help="output folder (same tree)")
    p.add_argument(
        "--order",
        default="dct6,dct24,dct64,all",
        help="comma-separated presets or selection JSON files (from freqpipe select), smallest "
        "first (default dct6,dct24,dct64,all)",
    )
    p.add_argument("--workers", type=int, default=None, help="threads (default min(8, cpus))")
    p.add_argument("--strip", action="store_true", help="drop APPn/COM markers (EXIF, ICC)")
    p.add_argument(
        "--restart-rows",
        type=int,
        default=1,
        metavar="N",
        help="a restart marker every N MCU rows, so a crop's reader skips the other rows "
        "(default 1; 0 keeps the file's own)",
    )
    p.add_argument("--resume", action="store_true", help="keep files already in DST")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``freqpipe reorder`` with parsed arguments.

    Args:
        args: namespace from the parser built by :func:`register`.

    Returns:
        0 when every file was reordered, 1 when some were rejected (listed in
        ``DST/rejects.tsv``). Errors propagate as :class:`~freqpipe.errors.FreqpipeError`.
    """
    from freqpipe.store import reorder_folder

    order = parse_order(args.order)
    summary = reorder_folder(
        args.src,
        args.dst,
        order=order,
        strip=args.strip,
        restart_rows=args.restart_rows,
        workers=args.workers,
        resume=args.resume,
        progress=not args.no_progress,
    )
    print(summary.line())
    if summary.rejected:
        print(f"rejected inputs are listed in {Path(args.dst) / 'rejects.tsv'}", file=sys.stderr)
        return 1
    return 0


def parse_order(text: str) -> list[Selection | str]:
    """Split ``--order``: preset names, or paths to selection JSON files (``freqpipe select``).

    Example:
        >>> parse_order("dct6, dct24")
        ['dct6', 'dct24']
    """
    out: list[Selection | str] = []
    for item in (s.strip() for s in text.split(",")):
        if not item.endswith(".json"):
            out += [item] if item else []
            continue
        try:
            out.append(Selection.from_json(Path(item).read_text()))
        except OSError as exc:
            raise InvalidArgumentError(f"--order: cannot read {item}: {exc.strerror}") from exc
    return out
