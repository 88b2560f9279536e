"""Data-parallel training with FreqLoader under torchrun (gloo on CPU, NCCL on GPUs).

    PYTHONPATH=. .venv/bin/python -m torch.distributed.run --nproc_per_node 2 \\
        examples/ddp_train.py [DATA] [--size 128] [--epochs 2] [--batch-size 4]

Each rank reads its own part of the dataset through a ``DistributedSampler`` (padded by
repeating the head so every rank has as many batches) and calls ``set_epoch`` every epoch, as
with DataLoader; gradients are averaged by ``DistributedDataParallel``. DATA defaults to the
bundled sample photographs.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

import freqpipe.models as fm
from freqpipe._samples import samples_path
from freqpipe.data import FreqLoader, JpegFolder
from freqpipe.transforms import Selection


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=samples_path())
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--select", default="dct24")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    ds = JpegFolder(args.data)
    sampler = DistributedSampler(ds, shuffle=True, seed=0)
    loader = FreqLoader(
        ds,
        batch_size=args.batch_size,
        sampler=sampler,
        train=True,
        num_workers=args.workers,
        select=args.select,
        size=args.size,
        device=device,
        pin_memory=cuda,
    )
    torch.manual_seed(0)
    channels = len(Selection.from_spec(args.select))
    model = fm.dct_resnet50(in_channels=channels, num_classes=len(ds.classes)).to(device)
    model = DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        loader.set_epoch(epoch)  # reshuffles the rank's part, as DataLoader's sampler.set_epoch
        seen, t0 = 0, time.perf_counter()
        for x, y in loader:
            loss = loss_fn(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(y)
        print(
            f"rank {rank}/{world} epoch {epoch}: {seen} images, loss {loss.item():.4f}, "
            f"{seen / (time.perf_counter() - t0):.1f} images/s"
        )
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
