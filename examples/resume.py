"""A training loop that survives preemption: checkpoint the loader with the model, resume.

    PYTHONPATH=. .venv/bin/python examples/resume.py CHECKPOINT [--epochs 2] [--every 4]

Every ``--every`` steps the model, the optimiser, the loop's counters and
``loader.state_dict()`` go into one file (written to a temporary name, then renamed, so a kill
during the write leaves the previous checkpoint whole). Started again after a kill (SIGKILL,
a preempted node), the script loads that file and ``loader.load_state_dict`` makes the loader
yield exactly the batches the uninterrupted run would have yielded after the checkpoint: the
steps since it are done again, no sample of the epoch is skipped or seen twice. At the end it
prints the samples each epoch trained on (``--out`` writes them as JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from torch import nn

from freqpipe._samples import sample_files
from freqpipe.data import FreqLoader, JpegFileList


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--every", type=int, default=4, help="steps between checkpoints")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=4, help="passes over the samples")
    parser.add_argument("--step-seconds", type=float, default=0.0, help="a slower step")
    parser.add_argument("--out", type=Path, help="write the samples of each epoch (JSON)")
    args = parser.parse_args(argv)

    files = sample_files() * args.repeat
    dataset = JpegFileList(files, list(range(len(files))))  # labels name the samples
    loader = FreqLoader(
        dataset,
        batch_size=args.batch_size,
        shuffle=True,
        num_workers=args.workers,
        size=args.size,
        select="dct6",
        device="cpu",
        generator=torch.Generator().manual_seed(0),
    )
    model = nn.Sequential(nn.Flatten(), nn.LazyLinear(len(files)))
    model(torch.zeros(1, 6, args.size // 8, args.size // 8))  # materialise the lazy layer
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    state = {"epoch": 0, "step": 0, "seen": [[] for _ in range(args.epochs)]}
    if args.checkpoint.is_file():
        saved = torch.load(args.checkpoint)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        loader.load_state_dict(saved["loader"])
        state = saved["loop"]
        print(f"resumed at epoch {state['epoch']} step {state['step']}", flush=True)

    def checkpoint() -> None:
        tmp = args.checkpoint.with_name(args.checkpoint.name + ".tmp")
        everything = {"model": model.state_dict(), "optimizer": opt.state_dict()}
        torch.save({**everything, "loader": loader.state_dict(), "loop": state}, tmp)
        os.replace(tmp, args.checkpoint)  # atomic: a kill leaves the old or the new file
        print(f"checkpoint epoch {state['epoch']} step {state['step']}", flush=True)

    for epoch in range(state["epoch"], args.epochs):
        state["epoch"] = epoch
        loader.set_epoch(epoch)
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            state["seen"][epoch] += y.tolist()
            state["step"] += 1
            print(f"step {state['step']}", flush=True)
            time.sleep(args.step_seconds)
            if state["step"] % args.every == 0:
                checkpoint()
        state["epoch"] = epoch + 1
        checkpoint()  # the epoch is done: a restart begins the next one
    if args.out is not None:
        args.out.write_text(json.dumps(state["seen"]))
    print("epochs done: " + ", ".join(f"{len(s)} samples" for s in state["seen"]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
