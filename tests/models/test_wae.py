from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn import functional as F

import freqpipe.models as fm
from freqpipe._samples import sample_files
from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms import dwt2, stack_subbands


def load_photos(short_side: int = 160) -> list[torch.Tensor]:
    out = []
    for p in sample_files():
        with Image.open(p) as im:
            im = im.convert("RGB")
            im = im.resize(
                (im.width * short_side // im.height, short_side), Image.Resampling.BILINEAR
            )
            out.append(torch.from_numpy(np.array(im)).permute(2, 0, 1).float() / 255 - 0.5)
    return out


def crops(photos, n: int, size: int, gen: torch.Generator) -> torch.Tensor:
    batch = []
    for _ in range(n):
        im = photos[int(torch.randint(len(photos), (1,), generator=gen))]
        t = int(torch.randint(im.shape[1] - size + 1, (1,), generator=gen))
        left = int(torch.randint(im.shape[2] - size + 1, (1,), generator=gen))
        batch.append(im[:, t : t + size, left : left + size])
    return torch.stack(batch)


def r2(features: torch.Tensor, target: torch.Tensor) -> float:
    """Fraction of target's variance explained by an affine map of features' channels."""
    a = features.permute(0, 2, 3, 1).reshape(-1, features.shape[1])
    a = torch.cat([a, torch.ones(a.shape[0], 1)], 1)
    b = target.permute(0, 2, 3, 1).reshape(-1, target.shape[1])
    res = b - a @ torch.linalg.lstsq(a, b).solution
    return float(1 - res.pow(2).sum() / (b - b.mean(0)).pow(2).sum())


@pytest.mark.slow
def test_wae_learns_a_wavelet_like_split(capsys):
    # 300 Adam steps on random 48 x 48 crops of the bundled photos (centred to [-0.5, 0.5]).
    photos = load_photos()
    gen = torch.Generator().manual_seed(0)
    val = crops(photos, 16, 48, gen)

    def batches():
        while True:
            yield crops(photos, 8, 48, gen), torch.zeros(8, dtype=torch.long)

    wae = fm.WAE()

    def measure():
        with torch.no_grad():
            low, high, rec = wae.eval()(val)
        wae.train()
        e_l, e_h = float(low.pow(2).mean()), float(high.pow(2).mean())
        ref = F.avg_pool2d(val, 2)
        return {
            "psnr": fm.psnr(val, rec),
            "e_h": e_h,
            "share_h": e_h / (e_l + e_h),
            "r2_l": r2(low, ref),
            "r2_h": r2(high, ref),
        }

    before = measure()
    log = fm.train_wae(wae, batches(), steps=300, lr=3e-3)
    after = measure()
    with capsys.disabled():
        print("\nWAE before:", {k: round(v, 4) for k, v in before.items()})
        print("WAE after 300 steps:", {k: round(v, 4) for k, v in after.items()})
    assert all(np.isfinite(log.loss)) and log.loss[-1] < log.loss[0]
    # Reconstruction: measured 20.5 dB (seed 0, 2 threads); runs on other thread counts
    # differ by about a dB, hence the margin.
    assert after["psnr"] > 18.0
    # The energy of I_H falls (measured 0.050 -> 0.0005) and its share of the total too
    # (0.31 -> 0.07), while I_L carries the content: an affine map of I_L explains most of
    # the half-size image (R^2 0.69, against 0.25 for I_H).
    assert after["e_h"] < 0.1 * before["e_h"]
    assert after["share_h"] < 0.75 * before["share_h"]
    assert after["r2_l"] > 0.55 and after["r2_l"] > after["r2_h"] + 0.15


def test_wae_classifier_outputs_and_loss():
    m = fm.WAEClassifier("resnet50", num_classes=3)
    x = torch.randn(2, 3, 64, 64)
    out = m.forward_all(x)
    assert out.low.shape == out.high.shape == (2, 3, 32, 32) and out.recon.shape == x.shape
    torch.testing.assert_close(out.logits, (out.s_low + out.s_fused) / 2)
    assert m.forward_all(x, reconstruct=False).recon is None
    loss = m.classification_loss(out, torch.tensor([0, 2]))
    loss.backward()
    assert torch.isfinite(loss)
    # The low branch keeps torchvision's keys, so RGB weights load into it.
    assert set(m.classifier.low.state_dict()) == set(fm.resnet50(num_classes=3).state_dict())


def test_wae_vgg16_branch_widths():
    with torch.device("meta"):
        m = fm.wae_vgg16()
    assert m.classifier.high[28].out_channels == 128  # 512 / 4
    assert m.classifier.fused_head[2][0].in_features == (512 + 128) * 49
    with pytest.raises(InvalidArgumentError, match="backbone"):
        fm.WAEClassifier("alexnet")


@pytest.mark.slow
def test_three_stage_training_helper():
    gen = torch.Generator().manual_seed(0)
    photos = load_photos(96)
    data = [(crops(photos, 4, 64, gen), torch.tensor([0, 1, 0, 1])) for _ in range(2)]
    m = fm.WAEClassifier("resnet50", num_classes=2)
    wae_before = {k: v.clone() for k, v in m.wae.state_dict().items()}
    seen = []
    log = fm.train_wae_classifier(m, data, steps=(3, 0, 0), callback=lambda *a: seen.append(a[0]))
    assert log.stage == [1, 1, 1] and seen == [1, 1, 1]
    after_stage1 = {k: v.clone() for k, v in m.wae.state_dict().items()}
    assert any(not torch.equal(wae_before[k], after_stage1[k]) for k in wae_before)
    log = fm.train_wae_classifier(m, data, steps=(0, 2, 0))
    # Stage 2 freezes the WAE: its weights and BN-free state are unchanged.
    assert all(torch.equal(after_stage1[k], v) for k, v in m.wae.state_dict().items())
    log = fm.train_wae_classifier(m, data, steps=(0, 0, 2))
    assert log.stage == [3, 3] and all(np.isfinite(log.loss))
    assert any(not torch.equal(after_stage1[k], v) for k, v in m.wae.state_dict().items())
    with pytest.raises(InvalidArgumentError):
        fm.train_wae_classifier(m, data, steps=(1, 1))


def test_wavelet_cnn_takes_bior44_subbands():
    img = np.random.default_rng(0).random((2, 3, 64, 64), dtype=np.float32)
    coeffs = dwt2(img, "bior4.4")
    x = torch.from_numpy(np.ascontiguousarray(stack_subbands(coeffs))).flatten(1, 2)
    assert x.shape == (2, 12, 32, 32)
    low, high = fm.split_subbands(x)
    torch.testing.assert_close(low, torch.from_numpy(coeffs[0]))
    torch.testing.assert_close(high[:, 0], torch.from_numpy(coeffs[1][0][:, 0]))  # cH of R
    m = fm.WaveletCNN("resnet50", num_classes=4).eval()
    with torch.no_grad():
        assert m(x).shape == (2, 4)
    with pytest.raises(InvalidArgumentError):
        m(torch.zeros(1, 3, 8, 8))
