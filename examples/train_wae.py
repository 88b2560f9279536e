"""Train a WAE classifier in the paper's three stages (conventions §4) on an ImageFolder tree.

    PYTHONPATH=. .venv/bin/python examples/train_wae.py [DATA] [--backbone resnet50]
        [--size 64] [--steps 100 50 50] [--batch-size 8]

DATA defaults to the bundled sample photographs. Images are resized (short side 1.15 x size),
randomly cropped to ``size`` and flipped, scaled to [0, 1] and centred. Stage 1 trains the WAE
alone on ``L_t``, stage 2 the classifier on the frozen WAE, stage 3 both with
``L_c + 0.001 L_t``. Prints losses, the reconstruction PSNR and the energy of I_H vs I_L.
Sizes and steps are small so that it runs on a CPU in a minute; use 224 and real epochs on a GPU.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import freqpipe as fp
import freqpipe.models as fm


def load_folder(root: Path, short: int) -> tuple[list[torch.Tensor], list[int], list[str]]:
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    images, labels = [], []
    for label, name in enumerate(classes):
        for path in sorted((root / name).iterdir()):
            if path.suffix.lower() not in {".jpg", ".jpeg"}:
                continue
            with Image.open(path) as im:
                rgb = im.convert("RGB")
            scale = short / min(rgb.size)
            rgb = rgb.resize((round(rgb.width * scale), round(rgb.height * scale)))
            images.append(torch.from_numpy(np.array(rgb)).permute(2, 0, 1))
            labels.append(label)
    return images, labels, classes


def batches(
    images, labels, size: int, batch: int, seed: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    while True:
        idx = torch.randint(len(images), (batch,), generator=gen).tolist()
        xs = []
        for i in idx:
            im = images[i]
            top = int(torch.randint(im.shape[1] - size + 1, (1,), generator=gen))
            left = int(torch.randint(im.shape[2] - size + 1, (1,), generator=gen))
            crop = im[:, top : top + size, left : left + size].float() / 255 - 0.5
            if torch.rand(1, generator=gen) < 0.5:
                crop = crop.flip(-1)
            xs.append(crop)
        yield torch.stack(xs), torch.tensor([labels[i] for i in idx])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, nargs="?", default=fp.samples_path())
    parser.add_argument("--backbone", choices=("vgg16", "resnet50"), default="resnet50")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, nargs=3, default=(100, 50, 50))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    images, labels, classes = load_folder(args.data, round(args.size * 1.15))
    print(f"{len(images)} images, {len(classes)} classes, crops {args.size}")
    data = batches(images, labels, args.size, args.batch_size, args.seed)
    model = fm.WAEClassifier(args.backbone, num_classes=len(classes))

    def report(stage: int, step: int, loss: float) -> None:
        if step % 25 == 0:
            print(f"stage {stage} step {step:4d} loss {loss:.4f}")

    fm.train_wae_classifier(model, data, tuple(args.steps), callback=report)
    x, y = next(data)
    model.eval()
    with torch.no_grad():
        out = model.forward_all(x)
    e_l, e_h = float(out.low.pow(2).mean()), float(out.high.pow(2).mean())
    acc = float((out.logits.argmax(1) == y).float().mean())
    print(
        f"PSNR {fm.psnr(x, out.recon):.2f} dB, energy I_L {e_l:.4f} I_H {e_h:.5f}, "
        f"batch accuracy {acc:.2f}"
    )


if __name__ == "__main__":
    main()
