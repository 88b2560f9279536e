"""Train DCT-ResNet-50 on a folder of JPEGs with FreqLoader (CPU or GPU), or the baseline.

    PYTHONPATH=. .venv/bin/python examples/train_dct_resnet.py [DATA] [--size 448]
        [--select dct24] [--epochs 1] [--batch-size 16] [--workers 2] [--steps N] [--baseline]

DATA defaults to the bundled sample photographs (ImageFolder layout). FreqLoader feeds the
selected DCT channels of a random block-aligned crop straight from the JPEG bitstream
(``size / 8`` blocks square: 56 x 56 at 448, DCTNet's input grid) into ``dct_resnet50``.
``--baseline`` runs the same loop with ``torch.utils.data.DataLoader`` + Pillow decode +
RandomResizedCrop + flip + ToTensor + Normalize into an RGB ResNet-50 (``freqpipe.models``'
torchvision-compatible backbone), for comparison of images/s. Both print the loss and the
images/s per epoch.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

import freqpipe.models as fm
from freqpipe._samples import samples_path
from freqpipe.data import FreqLoader, JpegFolder
from freqpipe.transforms import Selection


def make_loader(args: argparse.Namespace, device: torch.device) -> tuple[object, nn.Module]:
    classes = len(JpegFolder(args.data).classes)
    if args.baseline:
        from freqpipe.bench import PillowBaseline

        ds = PillowBaseline(JpegFolder(args.data).samples, args.size, normalize=True)
        loader = DataLoader(
            ds,
            batch_size=args.batch_size,
            shuffle=True,
            num_workers=args.workers,
            pin_memory=device.type == "cuda",
        )
        return loader, fm.resnet50(num_classes=classes)
    loader = FreqLoader(
        args.data,
        batch_size=args.batch_size,
        shuffle=True,
        num_workers=args.workers,
        select=args.select,
        size=args.size,
        device=device,
        pin_memory=device.type == "cuda",
        generator=torch.Generator().manual_seed(0),
    )
    channels = len(Selection.from_spec(args.select))
    return loader, fm.dct_resnet50(in_channels=channels, num_classes=classes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=samples_path())
    parser.add_argument("--size", type=int, default=448)
    parser.add_argument("--select", default="dct24")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--steps", type=int, default=0, help="stop each epoch after N steps")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--baseline", action="store_true")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    loader, model = make_loader(args, device)
    model = model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        model.train()
        seen, total, t0 = 0, 0.0, time.perf_counter()
        for step, (x, y) in enumerate(loader):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = loss_fn(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seen += len(y)
            total += loss.item() * len(y)
            if args.steps and step + 1 >= args.steps:
                break
        wall = time.perf_counter() - t0
        name = "baseline" if args.baseline else f"FreqLoader {args.select}"
        print(
            f"epoch {epoch} [{name}] loss {total / max(seen, 1):.4f} "
            f"{seen / wall:.1f} images/s (input {tuple(x.shape)})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
