"""Band transfer mode against exact: error on the kept channels and bytes per image.

FreqLoader(transform=...) sends each crop's coefficient cover to the device with all 64
frequencies (``transfer_frequencies="all"``: the output is exactly the whole image's) or only
the input frequencies the kept channels need at the crop's scale (``"band"``; see
:mod:`freqpipe.transforms.band`). This runs both over the same photos with the same draws (one
generator seed per run, so both loaders draw the same crops) and compares the dequantised,
un-normalised dct24 outputs, per image:

- ``channel``: the worst kept channel's RMS error relative to that channel's RMS in that image
  (channels that are zero in the exact output, e.g. a grayscale photo's chroma, are left out:
  band mode gives zero there too). This is the figure the default is decided on: every
  channel weighs alike once normalised, so each must be within 1 %;
- ``channel_vs_dataset``: the worst kept channel's RMS error relative to that channel's RMS
  over all photos of the run (the scale a normalised model input sees);
- ``pooled``: the RMS error over all kept channels relative to their RMS (dominated by the DC).

Worst case and median over the photos, for RandomResizedCrop(448) and (224) (torchvision's
default scale and ratio; several seeds) and Resize + CenterCrop (evaluation), and the H2D
bytes per image of each mode (``bench_transform.cover_bytes``) against the pixel source's uint8
batch. The loader's default transfer mode is band only if band's worst ``channel`` error is
below 1 %.

Run ``python benchmarks/bench_band.py [--data DIR] [--limit N] [--seeds N]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.bench_transform import cover_bytes
from freqpipe._timing import run_info, write_json
from freqpipe.data import FreqLoader, JpegFileList, JpegFolder
from freqpipe.transforms.band import BAND_TOLERANCE
from freqpipe.transforms.dct import CenterCrop, Compose, RandomResizedCrop, Resize

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "photos"
#: The default is band only if its worst kept-channel error is below this (issue 17, item 5).
THRESHOLD = 0.01


def _configs(seeds: int) -> list[tuple[str, Any, int, list[int]]]:
    """``(name, transform, output size, generator seeds)`` of each setting measured."""
    train = list(range(seeds))
    return [
        ("RandomResizedCrop(448)", Compose([RandomResizedCrop(448)]), 448, train),
        ("RandomResizedCrop(224)", Compose([RandomResizedCrop(224)]), 224, train),
        ("Resize(512)+CenterCrop(448)", Compose([Resize(512), CenterCrop(448)]), 448, [0]),
        ("Resize(256)+CenterCrop(224)", Compose([Resize(256), CenterCrop(224)]), 224, [0]),
    ]


def _errors(exact: torch.Tensor, band: torch.Tensor) -> dict[str, np.ndarray]:
    """Per image: the three relative errors, and the per-channel mean squares for the data set."""
    diff = (band - exact).double()
    ex = exact.double()
    ms_diff, ms_exact = diff.pow(2).mean((2, 3)), ex.pow(2).mean((2, 3))  # (N, C)
    live = ms_exact > 0
    rel = torch.where(live, ms_diff / torch.where(live, ms_exact, 1.0), 0.0).sqrt()
    pooled = (ms_diff.sum(1) / ms_exact.sum(1).clamp(min=1e-300)).sqrt()
    return {
        "channel": rel.max(1).values.numpy(),
        "pooled": pooled.numpy(),
        "ms_diff": ms_diff.numpy(),
        "ms_exact": ms_exact.numpy(),
    }


def _summary(values: np.ndarray) -> dict[str, float]:
    return {
        "median": float(np.median(values)),
        "p99": float(np.quantile(values, 0.99)),
        "worst": float(values.max()),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--limit", type=int, default=0, help="images (default all)")
    p.add_argument("--seeds", type=int, default=3, help="training draws per photo (default 3)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks/results/bench_band.json")
    args = p.parse_args(argv)
    folder = JpegFolder(args.data)
    picked = folder.samples
    if args.limit:
        picked = picked[:: max(len(picked) // args.limit, 1)][: args.limit]
    files = JpegFileList([f for f, _ in picked], [y for _, y in picked])
    common: dict[str, Any] = {
        "batch_size": args.batch,
        "device": "cpu",
        "select": "dct24",
        "normalize": None,
        "num_workers": args.workers,
    }
    results: dict[str, Any] = {}
    worst_channel = 0.0
    print(f"{len(files)} photos, dct24; errors of band vs exact (relative RMS), bytes per image")
    header = f"{'setting':<30}{'channel med/worst':>20}{'vs data set':>13}{'pooled worst':>14}"
    print(header + f"{'exact B/img':>13}{'band B/img':>12}{'band/pixels':>12}")
    for name, transform, size, seeds in _configs(args.seeds):
        per: dict[str, list[np.ndarray]] = {
            k: [] for k in ("channel", "pooled", "ms_diff", "ms_exact")
        }
        nbytes: dict[str, list[float]] = {"all": [], "band": []}
        for seed in seeds:
            outs = {}
            for mode in ("all", "band"):
                loader = FreqLoader(
                    files,
                    transform=transform,
                    transfer_frequencies=mode,
                    generator=torch.Generator().manual_seed(seed),
                    **common,
                )
                outs[mode] = torch.cat([x for x, _ in loader])
                nbytes[mode].append(cover_bytes(loader, files, args.batch, seed)[1])
            for k, v in _errors(outs["all"], outs["band"]).items():
                per[k].append(v)
        ms_diff, ms_exact = np.concatenate(per["ms_diff"]), np.concatenate(per["ms_exact"])
        dataset_rms = np.sqrt(ms_exact.mean(axis=0))  # each channel's RMS over the run
        vs_dataset = (np.sqrt(ms_diff) / dataset_rms[None]).max(axis=1)
        channel, pooled = np.concatenate(per["channel"]), np.concatenate(per["pooled"])
        pixels = size * size * 3 + 8
        exact_b, band_b = float(np.mean(nbytes["all"])), float(np.mean(nbytes["band"]))
        results[name] = {
            "size": size,
            "seeds": seeds,
            "samples": int(channel.size),
            "channel": _summary(channel),
            "channel_vs_dataset": _summary(vs_dataset),
            "pooled": _summary(pooled),
            "h2d_bytes_per_image": {"all": exact_b, "band": band_b, "pixels_uint8": pixels},
            "band_vs_pixels": band_b / pixels,
            "band_vs_all": band_b / exact_b,
        }
        worst_channel = max(worst_channel, float(channel.max()))
        print(
            f"{name:<30}{np.median(channel):>9.2%} / {channel.max():>7.2%}"
            f"{vs_dataset.max():>13.2%}{pooled.max():>14.3%}"
            f"{exact_b:>13,.0f}{band_b:>12,.0f}{band_b / pixels:>11.2f}x"
        )
    default = "band" if worst_channel < THRESHOLD else "all"
    why = (
        f"band mode's worst kept-channel error over every setting is {worst_channel:.2%} of the "
        f"channel's RMS, {'below' if default == 'band' else 'not below'} the {THRESHOLD:.0%} "
        "threshold"
    )
    print(f"default transfer_frequencies: {default!r} ({why})")
    write_json(
        args.out,
        {
            **run_info(command=" ".join(sys.argv)),
            "photos": len(files),
            "select": "dct24",
            "band_tolerance": BAND_TOLERANCE,
            "threshold": THRESHOLD,
            "settings": results,
            "worst_channel_error": worst_channel,
            "default_transfer_frequencies": default,
            "why": why,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
