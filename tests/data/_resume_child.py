"""Child process of test_resume: one loader's epoch, saved along the way or resumed from a state.

``python -m tests.data._resume_child CONFIG_JSON DIR save``: runs epoch 1 to its end, writing
``state{k}.pt`` after k batches for every k of the config and the whole epoch to ``full.pt``.
``... resume``: for every k, a new loader loads ``state{k}.pt`` and finishes the epoch into
``rest{k}.pt``. Global random state differs between the two on purpose.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DistributedSampler

from freqpipe._samples import sample_files
from freqpipe.data import FreqLoader, JpegFileList

EPOCH = 1


def make(cfg: dict[str, Any], rank: int) -> FreqLoader:
    files = sample_files() * 2
    ds = JpegFileList(files, list(range(len(files))))
    kw: dict[str, Any] = {
        "batch_size": 3,
        "drop_last": cfg["drop_last"],
        "num_workers": cfg["workers"],
        "size": 32,
        "device": "cpu",
    }
    if cfg["sampler"] == "distributed":
        sampler = DistributedSampler(
            ds, num_replicas=2, rank=rank, seed=5, drop_last=cfg["drop_last"]
        )
        return FreqLoader(ds, sampler=sampler, **kw)
    generator = torch.Generator().manual_seed(3) if cfg["generator"] else None
    return FreqLoader(ds, shuffle=True, generator=generator, **kw)


def batches_after(cfg: dict[str, Any], rank: int) -> list[int]:
    n = len(make(cfg, rank))
    return sorted({0, 1, n // 2, n})


def main(cfg: dict[str, Any], out: Path, mode: str) -> None:
    ranks = (0, 1) if cfg["sampler"] == "distributed" else (0,)
    for rank in ranks:
        ks = batches_after(cfg, rank)
        if mode == "save":
            torch.manual_seed(0)
            loader = make(cfg, rank)
            loader.set_epoch(EPOCH)
            it = iter(loader)
            full = []
            for k in range(len(loader) + 1):
                if k in ks:
                    torch.save(loader.state_dict(), out / f"state{rank}_{k}.pt")
                if k < len(loader):
                    x, y = next(it)
                    full.append((y, x))
            torch.save(full, out / f"full{rank}.pt")
            continue
        torch.manual_seed(1234)
        for k in ks:
            loader = make(cfg, rank)
            loader.load_state_dict(torch.load(out / f"state{rank}_{k}.pt"))
            loader.set_epoch(EPOCH)  # what a training loop does at the top of each epoch
            torch.save([(y, x) for x, y in loader], out / f"rest{rank}_{k}.pt")
            loader.close()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])
