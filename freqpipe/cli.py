"""The ``freqpipe`` command.

Each sub-command lives in its own module under ``freqpipe._cli`` and exposes
``register(subparsers)``; this module only assembles them, so ``freqpipe --help`` stays cheap
(no torch or CuPy import until a command that needs it runs).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from freqpipe.errors import FreqpipeError

__all__ = ["main"]

_COMMANDS = ("bench", "convert", "demo", "inspect", "reorder", "select", "stats", "verify")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every sub-command registered."""
    from freqpipe import __version__

    parser = argparse.ArgumentParser(
        prog="freqpipe",
        description="Frequency-domain image pipelines for PyTorch.",
    )
    parser.add_argument("--version", action="version", version=f"freqpipe {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        importlib.import_module(f"freqpipe._cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``freqpipe`` command line; return the process exit code.

    Args:
        argv: arguments without the program name; default ``sys.argv[1:]``.

    Returns:
        0 on success, 1 when a command reports a problem, 2 on a usage error.

    Example:
        >>> from freqpipe._samples import sample_files
        >>> main(["inspect", "--json", str(sample_files()[0])])  # doctest: +ELLIPSIS
        [..."subsampling": "4:2:0"...]
        0
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv  # what a command records of its own invocation (the store manifest)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except FreqpipeError as exc:
        # A hint names an option of the surface printing it: the reader's strict=False is
        # not an option of these commands (inspect, which has --no-strict, reports its own).
        shown = exc.retold(hint=None) if getattr(exc, "recoverable", False) else exc
        print(f"freqpipe {args.command}: error: {shown}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"freqpipe {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
