"""Child process of test_peer_torchdata: N batches, a checkpoint, or a resume from one.

``python -m tests.data._peer_child LOADER SAMPLER STEPS DIR save|resume``, LOADER one of
``torchdata`` (StatefulDataLoader over a dataset of indices) and ``freqpipe``; writes the
index sequence it saw to ``DIR/LOADER-MODE.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DistributedSampler, RandomSampler

from freqpipe._samples import sample_files
from freqpipe.data import FreqLoader, JpegFileList

N = 16
BATCH = 3


def make(kind: str, sampler_kind: str) -> Any:
    files = (sample_files() * 2)[:N]
    ds = JpegFileList(files, list(range(N)))
    if sampler_kind == "random":
        sampler: Any = RandomSampler(ds, generator=torch.Generator().manual_seed(11))
    else:
        sampler = DistributedSampler(ds, num_replicas=2, rank=1, seed=11)
        sampler.set_epoch(1)
    if kind == "torchdata":
        from torchdata.stateful_dataloader import StatefulDataLoader

        return StatefulDataLoader(list(range(N)), batch_size=BATCH, sampler=sampler)
    return FreqLoader(ds, batch_size=BATCH, sampler=sampler, size=32, device="cpu")


def main(kind: str, sampler_kind: str, steps: int, out: Path, mode: str) -> None:
    loader = make(kind, sampler_kind)
    seen: list[int] = []
    if mode == "save":
        it = iter(loader)
        for _ in range(steps):
            batch = next(it)
            seen += (batch if kind == "torchdata" else batch[-1]).tolist()
        torch.save(loader.state_dict(), out / f"{kind}.pt")
    else:
        loader.load_state_dict(torch.load(out / f"{kind}.pt"))
        for batch in loader:
            seen += (batch if kind == "torchdata" else batch[-1]).tolist()
    (out / f"{kind}-{mode}.json").write_text(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]), sys.argv[5])
