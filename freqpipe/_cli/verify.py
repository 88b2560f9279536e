"""``freqpipe verify DST``: check a store's checksums, counts, labels and manifest."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``verify`` sub-command to an argparse sub-parser set.

    Args:
        subparsers: the object returned by ``ArgumentParser.add_subparsers()``.

    Example:
        >>> p = argparse.ArgumentParser(); register(p.add_subparsers())
        >>> p.parse_args(["verify", "dst"]).rank is None
        True
    """
    p = subparsers.add_parser(
        "verify",
        help="check a converted store (checksums, record counts, labels, manifest)",
        description="Recompute every shard's blake2b checksum and check sizes, record counts, "
        "label range and manifest consistency. Exit status 1 with one line per problem.",
    )
    p.add_argument("dst", type=Path, metavar="DST")
    p.add_argument("--rank", type=int, default=None, help="check only this rank's shards")
    p.add_argument("--world-size", type=int, default=None, help="with --rank")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``freqpipe verify`` with parsed arguments.

    Returns:
        0 when the store is sound, 1 when a problem was found.

    Example:
        >>> run(argparse.Namespace(dst=Path("/nonexistent"), rank=None, world_size=None))
        1
    """
    from freqpipe.store import verify

    progress = not getattr(args, "no_progress", False)
    report = verify(args.dst, rank=args.rank, world_size=args.world_size, progress=progress)
    for problem in report.problems:
        print(f"freqpipe verify: {args.dst}: {problem}", file=sys.stderr)
    if not report.ok:
        print(f"{len(report.problems)} problem(s) found", file=sys.stderr)
        return 1
    print(
        f"ok: {report.shards} shard(s), {report.records} records, "
        f"{report.bytes / 1e6:.1f} MB checked"
    )
    return 0
