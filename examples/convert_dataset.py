"""Convert a JPEG folder into a packed store once, verify it, and read shuffled batches.

    python examples/convert_dataset.py [SRC] [DST]

SRC defaults to the bundled sample photos (ImageFolder layout). The same from the shell:
``freqpipe convert SRC DST --select dct24 --size 224`` then ``freqpipe verify DST``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import freqpipe
from freqpipe.store import FreqStore, convert, verify


def main() -> None:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else freqpipe.samples_path()
    dst = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp()) / "store"
    summary = convert(src, dst, select="dct24", size=224, workers=2)
    print(summary.line())
    report = verify(dst)
    print("verify:", "ok" if report.ok else report.problems)
    store = FreqStore(dst)
    print(store)
    batch = store.empty_batch(4)  # allocate once, refill every step
    for step, idx in enumerate(np.array_split(np.random.default_rng(0).permutation(len(store)), 2)):
        b = store.read_batch(idx, out=batch)
        print(f"step {step}: coeffs {b.coeffs.shape} {b.coeffs.dtype}, labels {b.labels.tolist()}")


if __name__ == "__main__":
    main()
