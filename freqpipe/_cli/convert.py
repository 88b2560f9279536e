"""``freqpipe convert SRC DST``: convert a JPEG dataset into a packed store (and ``--merge``)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from freqpipe._cli.reorder import parse_order

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``convert`` sub-command to an argparse sub-parser set.

    Args:
        subparsers: the object returned by ``ArgumentParser.add_subparsers()``.

    Example:
        >>> p = argparse.ArgumentParser(); register(p.add_subparsers())
        >>> a = p.parse_args(["convert", "src", "dst", "--workers", "2"])
        >>> a.select, a.size, a.workers, a.route
        ('dct24', 448, 2, 'coefficient')
    """
    p = subparsers.add_parser(
        "convert",
        help="convert a JPEG dataset into a packed frequency store",
        description="Convert an ImageFolder directory (or a '<file> <label>' list) into a store "
        "of frequency records that FreqStore / FreqLoader read by memmap with no decoding: "
        "fixed centre crops (--layout crop, for evaluation) or whole images that the loader "
        "crops and flips at random every epoch (--layout whole, for training). Resumable "
        "(--resume), splittable over ranks (--rank/--world-size or torchrun's "
        "RANK/WORLD_SIZE), finished by --merge.",
    )
    p.add_argument("paths", nargs="+", metavar="SRC DST", help="SRC DST (or DST with --merge)")
    p.add_argument(
        "--select", default="dct24", help="channel preset or Selection JSON (default dct24)"
    )
    p.add_argument("--size", type=int, default=448, help="crop size in pixels (default 448)")
    p.add_argument(
        "--route",
        choices=("coefficient", "pixel", "jpeg"),
        default="coefficient",
        help="coefficient: native reader, no decode (default); pixel: DCTNet decode + resize "
        "+ DCT; jpeg: keep the original bytes",
    )
    p.add_argument(
        "--order",
        default=None,
        help="jpeg route: store the files frequency-ordered (freqpipe reorder) with these "
        "comma-separated presets or selection JSON files, e.g. dct24,all",
    )
    p.add_argument(
        "--layout",
        choices=("crop", "whole"),
        default=None,
        help="crop: one fixed centre crop of --size per image, for evaluation (default); "
        "whole: the whole image, cropped and flipped at random at load time, for training "
        "(coefficient route; the default with --max-side)",
    )
    p.add_argument(
        "--max-side",
        type=int,
        default=None,
        help="--layout whole: scale images whose longer side exceeds this down to it first "
        "(in the DCT domain), e.g. 256",
    )
    p.add_argument("--resize-short", type=int, default=None, help="pixel route: short side")
    p.add_argument("--dtype", choices=("auto", "int16", "float16"), default="auto")
    p.add_argument("--workers", type=int, default=None, help="threads (default min(8, cpus))")
    p.add_argument("--shard-size", default="256MB", help="records per shard or bytes (256MB)")
    p.add_argument("--resume", action="store_true", help="finish an interrupted conversion")
    p.add_argument("--rank", type=int, default=None, help="this rank (default env RANK or 0)")
    p.add_argument("--world-size", type=int, default=None, help="ranks (env WORLD_SIZE or 1)")
    p.add_argument("--merge", action="store_true", help="only write the manifest of DST")
    p.add_argument(
        "--merge-timeout",
        type=float,
        default=3600.0,
        help="rank 0 waits this long for the other ranks, then merges (0: leave to --merge)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``freqpipe convert`` with parsed arguments.

    Args:
        args: namespace from the parser built by :func:`register`.

    Returns:
        0 on success (including a rank that finished and left the merge to another), 2 on a
        usage error. Store errors propagate as :class:`~freqpipe.errors.FreqpipeError`.

    Example:
        >>> p = argparse.ArgumentParser(); register(p.add_subparsers())
        >>> run(p.parse_args(["convert", "only-one-path"]))
        2
    """
    from freqpipe.store import convert, merge

    if args.merge:
        if len(args.paths) != 1:
            print("freqpipe convert: --merge takes exactly one path (DST)", file=sys.stderr)
            return 2
        manifest = merge(Path(args.paths[0]))
        print(
            f"merged {len(manifest['shards'])} shard(s): {manifest['num_records']} records, "
            f"{manifest['num_rejects']} rejects -> {args.paths[0]}"
        )
        return 0
    if len(args.paths) != 2:
        print("freqpipe convert: expected SRC DST", file=sys.stderr)
        return 2
    src, dst = args.paths
    summary = convert(
        src,
        dst,
        select=args.select,
        size=args.size,
        route=args.route,
        resize_short=args.resize_short,
        dtype=args.dtype,
        workers=args.workers,
        shard_size=args.shard_size,
        resume=args.resume,
        rank=args.rank,
        world_size=args.world_size,
        merge_timeout=args.merge_timeout,
        progress=not args.no_progress,
        order=None if args.order is None else parse_order(args.order),
        layout=args.layout,
        max_side=args.max_side,
        command=shlex.join(["freqpipe", *getattr(args, "argv", sys.argv[1:])]),
    )
    print(summary.line())
    if summary.rejected:
        print(f"rejected inputs are listed in {Path(dst) / 'rejects.tsv'}", file=sys.stderr)
    return 0
