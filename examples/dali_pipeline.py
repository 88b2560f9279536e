"""Feed a model DCT channels from a DALI pipeline (GPU when present, DALI's CPU mode otherwise).

    python examples/dali_pipeline.py [FOLDER] [--size 448] [--coefficients]

FOLDER is an ImageFolder-style tree (default: freqpipe's sample photos). Needs
``pip install freqpipe[dali]``.
"""

from __future__ import annotations

import argparse
import time

import freqpipe as fp
import freqpipe.dali as fd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", nargs="?", default=str(fp.samples_path()))
    ap.add_argument("--size", type=int, default=448)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--coefficients", action="store_true", help="decode-free coefficient source")
    args = ap.parse_args()
    if not fd.available():
        raise SystemExit("DALI is not installed: pip install freqpipe[dali]")
    pipe = fd.pipeline(
        args.folder,
        batch_size=args.batch_size,
        size=args.size,
        select="dct24",
        train=True,
        source="coefficients" if args.coefficients else "pixels",
    )
    loader = fd.Iterator(pipe)
    print(loader)
    for epoch in range(2):
        start = time.perf_counter()
        shapes = []
        for x, y in loader:  # a model step would go here: loss(model(x), y)
            shapes.append((tuple(x.shape), len(y)))
        took = time.perf_counter() - start
        print(f"epoch {epoch}: {len(shapes)} batches {shapes} on {x.device}, {took:.2f} s")


if __name__ == "__main__":
    main()
