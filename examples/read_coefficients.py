"""Read the DCT coefficients of a folder of JPEGs in parallel and summarise their spectra.

    python examples/read_coefficients.py [DIR] [--threads N] [--freqs 0,1,8,9]

With no DIR it reads freqpipe's bundled sample photos. Prints, per file, the image size, the
chroma subsampling and the share of luma energy held by the selected frequencies: a quick way
to see how much of an image a small channel selection keeps.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import freqpipe as fp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=fp.samples_path())
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--freqs", default="0,1,2,3,8,9,10,11,16,17,18,19,24,25,26,27")
    args = parser.parse_args()

    files = sorted(p for p in args.root.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg"})
    keep = [int(k) for k in args.freqs.split(",")]
    start = time.perf_counter()
    coeffs = fp.read_coefficients_batch(files, threads=args.threads, components=0)
    elapsed = time.perf_counter() - start
    for path, c in zip(files, coeffs):
        energy = (c.dequantized()[0].astype(np.float64) ** 2).reshape(-1, 64).sum(axis=0)
        share = energy[keep].sum() / energy.sum()
        print(
            f"{path.name:<40} {c.width:>5}x{c.height:<5} luma energy in {len(keep)} freqs: "
            f"{share:6.2%}"
        )
    print(f"{len(files)} files in {elapsed * 1e3:.1f} ms ({len(files) / elapsed:.0f} images/s)")


if __name__ == "__main__":
    main()
