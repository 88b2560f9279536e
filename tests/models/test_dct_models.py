from __future__ import annotations

import pytest
import torch

import freqpipe.models as fm
from freqpipe.errors import InvalidArgumentError


def tiny_rgb() -> fm.ResNet:
    return fm.ResNet((1, 1, 1, 1), num_classes=4, width=8)


def test_dct_resnet50_has_no_stem_and_takes_c_channels():
    m = fm.dct_resnet50(in_channels=24, num_classes=3).eval()
    assert isinstance(m.conv1, torch.nn.Identity) and isinstance(m.maxpool, torch.nn.Identity)
    assert m.layer1[0].conv1.weight.shape == (64, 24, 1, 1)
    assert m.layer1[0].downsample[0].weight.shape == (256, 24, 1, 1)
    with torch.no_grad():
        assert m.forward_features(torch.zeros(1, 24, 56, 56)).shape == (1, 2048, 7, 7)


@pytest.mark.parametrize("c", [6, 8, 12])
def test_weight_slicing_from_rgb_state_dict(c):
    rgb = tiny_rgb()
    dct = fm.ResNet((1, 1, 1, 1), num_classes=4, width=8, in_channels=c, stem=False)
    assert fm.load_rgb_resnet50(dct, rgb.state_dict()) == []
    k = min(c, 8)
    for key in ("layer1.0.conv1.weight", "layer1.0.downsample.0.weight"):
        w, src = dct.state_dict()[key], rgb.state_dict()[key]
        torch.testing.assert_close(w[:, :k], src[:, :k])
        assert (w[:, k:] == 0).all()  # C > 64 (here > 8): extra channels start at zero
    torch.testing.assert_close(dct.layer3[0].conv2.weight, rgb.layer3[0].conv2.weight)
    torch.testing.assert_close(dct.fc.weight, rgb.fc.weight)


def test_init_from_full_resnet50_and_path(tmp_path):
    rgb = fm.resnet50(num_classes=10)
    path = tmp_path / "r50.pt"
    torch.save(rgb.state_dict(), path)
    m = fm.dct_resnet50(in_channels=24, num_classes=1000, init_from=path)
    torch.testing.assert_close(m.layer1[0].conv1.weight, rgb.layer1[0].conv1.weight[:, :24])
    assert m.fc.weight.shape == (1000, 2048)  # fc not copied: class counts differ
    # With 64 channels the sliced model equals the RGB model minus its stem.
    m64 = fm.dct_resnet50(in_channels=64, num_classes=10, init_from=rgb.state_dict()).eval()
    rgb.eval()
    x = torch.randn(1, 64, 16, 16)
    with torch.no_grad():
        ref = rgb.fc(
            torch.flatten(rgb.avgpool(rgb.layer4(rgb.layer3(rgb.layer2(rgb.layer1(x))))), 1)
        )
        torch.testing.assert_close(m64(x), ref)


def test_init_from_rejects_non_resnet():
    with pytest.raises(InvalidArgumentError, match="not a ResNet-50"):
        fm.dct_resnet50(in_channels=24, init_from={"foo": torch.zeros(1)})


def test_mobilenet_v2_dct_shapes():
    m = fm.mobilenet_v2_dct(in_channels=24, num_classes=7).eval()
    assert isinstance(m.features[0], torch.nn.Identity)
    assert m.features[1].conv[0][0].weight.shape == (24, 1, 3, 3)
    with torch.no_grad():
        assert m.features(torch.zeros(1, 24, 112, 112)).shape == (1, 1280, 7, 7)
        assert m(torch.zeros(1, 24, 112, 112)).shape == (1, 7)
    # Keys after the stem are torchvision's.
    rgb_keys = set(fm.mobilenet_v2().state_dict())
    dct_keys = {k for k in m.state_dict() if not k.startswith("features.1.")}
    assert dct_keys <= rgb_keys


def test_late_concat_shapes_and_mismatch():
    m = fm.dct_resnet50_late_concat(y_channels=64, cbcr_channels=128, num_classes=4).eval()
    with torch.no_grad():
        assert m(torch.zeros(1, 64, 28, 28), torch.zeros(1, 128, 14, 14)).shape == (1, 4)
        with pytest.raises(InvalidArgumentError, match="half"):
            m(torch.zeros(1, 64, 28, 28), torch.zeros(1, 128, 28, 28))
    sel = fm.LateConcatResNet(y_channels=16, cbcr_channels=8, num_classes=2)
    assert sel.layer4[0].conv1.in_channels == 1024 + 8
