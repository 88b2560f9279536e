"""``freqpipe bench``: every pipeline on the same images, one run; a table, JSON and a plot."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from freqpipe._samples import samples_path
from freqpipe._timing import run_info, write_json
from freqpipe.errors import InvalidArgumentError, MissingExtraError
from freqpipe.transforms import Selection

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``bench`` sub-command to the ``freqpipe`` parser."""
    p = subparsers.add_parser(
        "bench",
        help="measure images/s, CPU time and bytes per image of every pipeline on your data",
        description="Run torch DataLoader + Pillow (float32 and uint8), DALI (when installed), "
        "FreqLoader's coefficient source (dct24, dct64, all), its pixel source with the fused "
        "DCT, FreqStores of whole images (converted first, untimed: at FFCV's maximum side of 256 "
        "and at full size) and the peers (FFCV over .beton files "
        "written first, untimed; SPDL; DALI's own crop: freqpipe[peers]) side by side on the "
        "same images. Rows that cannot run say why. Writes results.json and bench.png to --out.",
    )
    p.add_argument("--data", type=Path, help="an ImageFolder directory (default: the samples)")
    p.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when available")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=2, help="workers per pipeline (default 2)")
    p.add_argument("--seconds", type=float, default=5.0, help="timed seconds per pipeline")
    p.add_argument("--size", type=int, default=224, help="crop size in pixels (default 224)")
    p.add_argument(
        "--select",
        default="dct24",
        help="channels of the selection-following rows: a preset or a Selection JSON file "
        "(what `freqpipe select` writes); default dct24",
    )
    p.add_argument(
        "--no-peers",
        dest="peers",
        action="store_false",
        help="leave out the FFCV, SPDL and plain DALI rows (and writing the .beton files)",
    )
    p.add_argument("--out", type=Path, default=Path("freqpipe-bench"), help="output directory")
    p.set_defaults(func=run)


def _table(results: list[dict[str, Any]]) -> None:
    header = ("pipeline", "images/s", "CPU ms/img", "H2D B/img", "disk B/img", "peak RSS MB")
    rows = []
    for r in results:
        if r["skipped"]:
            rows.append((r["name"], f"cannot run: {r['skipped']}", "", "", "", ""))
            continue
        rows.append(
            (
                r["name"],
                f"{r['images_per_s']:.1f}",
                f"{1e3 * r['cpu_s_per_image']:.2f}",
                f"{r['h2d_bytes_per_image']:,.0f}",
                f"{r['disk_bytes_per_image']:,.0f}",
                f"{r['peak_rss_bytes'] / 2**20:.0f}",
            )
        )
    try:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table
    except ImportError:
        for row in (header, *rows):
            print(" | ".join(row))
        return
    table = Table(title="freqpipe bench")
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*map(escape, row))  # a reason's "freqpipe[peers]" is not markup
    Console(width=max(120, shutil.get_terminal_size().columns)).print(table)


def plot(results: list[dict[str, Any]], path: Path) -> None:
    """Images/s against host-to-device bytes per image, one point per pipeline that ran."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingExtraError("the plot needs matplotlib: pip install freqpipe[bench]") from exc
    ran = [r for r in results if not r["skipped"]]
    markers = "osD^vP*Xh<>"
    fig, ax = plt.subplots(figsize=(12, 5.5), constrained_layout=True)  # room for the legend
    for i, r in enumerate(ran):
        # Several pipelines send the same bytes (a uint8 crop): markers and a legend keep them
        # apart where labels beside the points would overlap.
        ax.scatter(
            r["h2d_bytes_per_image"],
            r["images_per_s"],
            s=60,
            marker=markers[i % 11],
            label=f"{r['name']}: {r['images_per_s']:.0f}/s",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("host-to-device bytes per image")
    ax.set_ylabel("images per second")
    ax.set_title("freqpipe bench: throughput against PCIe traffic (up and left is better)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; return 0 (1 when no pipeline could run)."""
    import torch
    from tqdm import tqdm

    from freqpipe.bench import (
        BETON_MAX_RESOLUTION,
        convert_for_bench,
        measure,
        pipelines,
        write_betons,
    )
    from freqpipe.store import reorder_folder

    root = args.data or samples_path()
    if not root.is_dir():
        raise InvalidArgumentError(f"--data must be an ImageFolder directory, got {root}")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise InvalidArgumentError("--device cuda: no CUDA device here; use --device cpu")
    for name in ("batch_size", "workers", "size"):
        if getattr(args, name) < (0 if name == "workers" else 1):
            raise InvalidArgumentError(f"--{name.replace('_', '-')} is out of range")
    select = getattr(args, "select", "dct24")
    Selection.from_spec(select)  # a bad preset or file fails here, before anything runs
    args.out.mkdir(parents=True, exist_ok=True)
    print(
        f"freqpipe bench: {root} on {device}, size {args.size}, batch {args.batch_size}, "
        f"{args.workers} workers, {args.seconds:g} s per pipeline",
        file=sys.stderr,
    )
    tmp: tempfile.TemporaryDirectory[str] | None = None
    stores: dict[str, Path | None] = {}
    store_error: Exception | None = None
    temporaries: list[tempfile.TemporaryDirectory[str]] = []
    # like for like with FFCV's .beton files (max side 256), and the photos at their own size
    for key, max_side in (("scaled", BETON_MAX_RESOLUTION), ("full", None)):
        try:
            made = convert_for_bench(
                root, args.size, max(args.workers, 1), select, max_side=max_side
            )
            temporaries.append(made)
            stores[key] = Path(made.name) / "store"
        except Exception as exc:  # the store pipelines then report why they cannot run
            stores[key], store_error = None, exc
    peers = getattr(args, "peers", True)
    tmp = tempfile.TemporaryDirectory(prefix="freqpipe-bench-")
    temporaries.append(tmp)
    try:
        # the frequency-ordered copy the reader takes prefixes of, written untimed
        reordered: Path | None = Path(tmp.name) / "reordered"
        try:
            reorder_folder(root, Path(tmp.name) / "reordered", workers=max(args.workers, 1))
        except Exception as exc:  # the row then says why it cannot run
            print(f"freqpipe bench: no frequency-ordered copy ({exc})", file=sys.stderr)
            reordered = None
        betons = None
        if peers and tmp is not None:  # FFCV's files, written untimed as the store is
            betons = write_betons(root, Path(tmp.name), workers=max(args.workers, 1))
        todo = pipelines(
            root,
            device=device,
            batch_size=args.batch_size,
            workers=args.workers,
            size=args.size,
            store_dir=stores["scaled"],
            full_store_dir=stores["full"],
            reordered_dir=reordered,
            select=select,
            betons=betons,
            peers=peers,
        )
        results = []
        for name, make, disk, h2d in tqdm(todo, desc="bench", unit="pipeline"):
            r = measure(
                name, make, seconds=args.seconds, disk_bytes_per_image=disk, h2d_bytes_per_image=h2d
            )
            if r.skipped == "no store was converted" and store_error is not None:
                r.skipped = f"conversion failed: {store_error}"
            results.append(r.to_dict())
    finally:
        for made in temporaries:
            shutil.rmtree(made.name, ignore_errors=True)
    _table(results)
    record = {
        "format": "freqpipe.bench",
        "version": 1,
        **run_info(device, command=" ".join(["freqpipe", *sys.argv[1:]])),
        "data": str(root),
        "settings": {
            "device": device,
            "batch_size": args.batch_size,
            "workers": args.workers,
            "seconds": args.seconds,
            "size": args.size,
            "peers": peers,
        },
        "results": results,
    }
    write_json(args.out / "results.json", record)
    plot(results, args.out / "bench.png")
    print(f"wrote {args.out / 'results.json'} and {args.out / 'bench.png'}", file=sys.stderr)
    return 0 if any(not r["skipped"] for r in results) else 1
