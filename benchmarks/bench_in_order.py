"""Does ``in_order=False`` help when one file is slow? FreqLoader with both, in one run.

A dataset of real photos where one file in every ``--every`` takes ``--delay`` seconds longer
to read (a cold network-storage block, say). The consumer spends ``--step`` seconds per batch
(a training step). Per epoch we record the wall time and the consumer's longest wait for a
batch; ``in_order=True`` and ``False`` alternate, round after round, and medians (with min and
max) are reported. The JSON goes to ``benchmarks/results/bench_in_order.json``.

Run ``python benchmarks/bench_in_order.py [--data DIR] [--workers N] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from pathlib import Path
from typing import Any

from freqpipe._timing import Spread, interleave, run_info, write_json
from freqpipe.data import FreqLoader, JpegFileList

REPO = Path(__file__).resolve().parents[1]


class SlowEvery(JpegFileList):
    """Every ``every``-th item is ``delay`` seconds slower to fetch."""

    def __init__(self, files: list[Path], every: int, delay: float):
        super().__init__(files, list(range(len(files))))
        self.every, self.delay = every, delay

    def __getitem__(self, index: int) -> Any:
        if index % self.every == self.every // 2:
            time.sleep(self.delay)
        return super().__getitem__(index)


def epoch(loader: FreqLoader, step: float) -> tuple[float, float]:
    """Wall seconds of one epoch and the longest wait for a batch."""
    start = last = time.perf_counter()
    longest = 0.0
    for _ in loader:
        now = time.perf_counter()
        longest = max(longest, now - last)
        time.sleep(step)  # the training step
        last = time.perf_counter()
    return last - start, longest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "photos")
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--every", type=int, default=32, help="one slow file per N")
    parser.add_argument("--delay", type=float, default=0.25, help="extra seconds of a slow file")
    parser.add_argument("--step", type=float, default=0.01, help="consumer seconds per batch")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/bench_in_order.json")
    args = parser.parse_args()
    files = sorted(p for p in args.data.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    files = files[: args.images]
    ds = SlowEvery(files, args.every, args.delay)

    def run(in_order: bool) -> tuple[float, float]:
        loader = FreqLoader(
            ds,
            batch_size=args.batch_size,
            num_workers=args.workers,
            size=224,
            device="cpu",
            in_order=in_order,
        )
        return epoch(loader, args.step)

    # the warm-up round fills the page cache and is dropped; the order stays fixed
    runs = interleave(
        {"in_order": partial(run, True), "out_of_order": partial(run, False)},
        args.rounds,
        rotate=False,
    )
    report: dict[str, Any] = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "images": len(files),
        **run_info("cpu"),
    }
    for name, rs in runs.items():
        walls, waits = Spread.of([w for w, _ in rs]), Spread.of([m for _, m in rs])
        report[name] = {
            "epoch_s": walls.to_dict(),
            "longest_wait_s": waits.to_dict(),
            "images_per_s": len(files) / walls.median,
        }
        print(
            f"{name:13s} epoch {walls.median:.3f} s "
            f"({len(files) / walls.median:.0f} images/s), longest wait "
            f"{waits.median * 1e3:.0f} ms (median of {len(rs)})"
        )
    write_json(args.out, report)


if __name__ == "__main__":
    main()
