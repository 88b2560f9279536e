from __future__ import annotations

import argparse
import json

import pytest
import torch
from torch import nn

import freqpipe.models as fm
from freqpipe._cli import select as cli
from freqpipe._samples import samples_path
from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms import Selection


def test_gate_is_hard_with_straight_through_gradient():
    gate = fm.ChannelGate(6, tau=0.5, lam=0.1)
    x = torch.randn(4, 6, 3, 3, requires_grad=True)
    y, g = gate(x)
    assert set(g.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(y, x * g[:, :, None, None])
    (y.sum() + gate.sparsity_loss(g)).backward()
    assert gate.logits.weight.grad is not None and gate.logits.weight.grad.abs().sum() > 0
    assert float(gate.sparsity_loss(torch.ones(4, 6))) == pytest.approx(0.6)


def test_gate_eval_is_deterministic_and_validates():
    gate = fm.ChannelGate(5).eval()
    x = torch.randn(2, 5, 4, 4)
    torch.testing.assert_close(gate(x)[1], gate(x)[1])
    with pytest.raises(InvalidArgumentError):
        gate(torch.zeros(2, 4, 4, 4))
    with pytest.raises(InvalidArgumentError):
        fm.ChannelGate(5, tau=0)


def tiny_backbone(classes: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(192, 32, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, classes),
    )


def test_fewer_channels_as_lambda_grows(capsys):
    x_np, y_np, classes = cli.load_sample(samples_path(), 64)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    kept = {}
    for lam in (0.0, 0.003, 0.03, 0.3):
        torch.manual_seed(0)
        model = fm.GatedModel(fm.ChannelGate(192, lam=lam), tiny_backbone(len(classes)))
        freq = fm.fit_gate(
            model, x, y, steps=60, batch_size=8, lr=0.05, generator=torch.Generator().manual_seed(0)
        )
        kept[lam] = int((freq >= 0.5).sum())
    with capsys.disabled():
        print("\nchannels kept (of 192) vs lambda:", kept)
    counts = list(kept.values())
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]
    assert kept[0.0] >= 150 and kept[0.3] <= 20


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="freqpipe")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["select", *argv])


def test_select_command_writes_selection_and_heatmap(tmp_path, capsys):
    out = tmp_path / "sel" / "selection.json"
    args = parse(
        str(samples_path()),
        "--model",
        "dct_resnet50",
        "--steps",
        "4",
        "--lambda",
        "0.05",
        "--size",
        "32",
        "--batch-size",
        "4",
        "--out",
        str(out),
    )
    assert args.func is cli.run
    assert cli.run(args) == 0
    record = json.loads(out.read_text())
    sel = Selection.from_json(out.read_text())
    assert len(record["keep_frequency"]) == 192 and 1 <= len(sel) <= 192
    assert all(record["keep_frequency"][i] >= 0.5 for i in sel.indices)
    png = out.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "kept" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "msg"),
    [
        (["--size", "30"], "multiple of 8"),
        (["--model", "nope"], "unknown model"),
        (["--threshold", "2"], "threshold"),
    ],
)
def test_select_command_bad_arguments(tmp_path, capsys, argv, msg):
    args = parse(str(samples_path()), "--out", str(tmp_path / "s.json"), *argv)
    assert cli.run(args) == 2
    assert msg in capsys.readouterr().err
