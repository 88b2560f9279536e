from __future__ import annotations

import importlib.util

import pytest
import torch

import freqpipe.models as fm
from freqpipe.errors import InvalidArgumentError

# Representative keys and shapes of torchvision's resnet50 / vgg16 / mobilenet_v2 state dicts
# (torchvision.models, written out by hand from its module definitions; torchvision itself is
# not installable here).
TV_RESNET50 = {
    "conv1.weight": (64, 3, 7, 7),
    "bn1.running_var": (64,),
    "layer1.0.conv1.weight": (64, 64, 1, 1),
    "layer1.0.conv2.weight": (64, 64, 3, 3),
    "layer1.0.conv3.weight": (256, 64, 1, 1),
    "layer1.0.downsample.0.weight": (256, 64, 1, 1),
    "layer1.0.downsample.1.num_batches_tracked": (),
    "layer2.0.conv2.weight": (128, 128, 3, 3),
    "layer2.0.downsample.0.weight": (512, 256, 1, 1),
    "layer3.5.bn3.weight": (1024,),
    "layer4.2.conv3.weight": (2048, 512, 1, 1),
    "fc.weight": (1000, 2048),
    "fc.bias": (1000,),
}
TV_VGG16 = {
    "features.0.weight": (64, 3, 3, 3),
    "features.5.weight": (128, 64, 3, 3),
    "features.28.weight": (512, 512, 3, 3),
    "features.28.bias": (512,),
    "classifier.0.weight": (4096, 25088),
    "classifier.3.weight": (4096, 4096),
    "classifier.6.bias": (1000,),
}
TV_MOBILENET_V2 = {
    "features.0.0.weight": (32, 3, 3, 3),
    "features.0.1.running_mean": (32,),
    "features.1.conv.0.0.weight": (32, 1, 3, 3),
    "features.1.conv.1.weight": (16, 32, 1, 1),
    "features.1.conv.2.weight": (16,),
    "features.2.conv.0.0.weight": (96, 16, 1, 1),
    "features.2.conv.1.0.weight": (96, 1, 3, 3),
    "features.2.conv.2.weight": (24, 96, 1, 1),
    "features.2.conv.3.running_mean": (24,),
    "features.17.conv.2.weight": (320, 960, 1, 1),
    "features.18.0.weight": (1280, 320, 1, 1),
    "classifier.1.weight": (1000, 1280),
}
# (number of state-dict entries, number of parameters) of the torchvision models; parameter
# counts as in torchvision's model documentation (25,557,032 / 138,357,544 / 3,504,872).
TV_SIZES = {
    "resnet50": (320, 25_557_032),
    "vgg16": (32, 138_357_544),
    "mobilenet_v2": (None, 3_504_872),
}


@pytest.mark.parametrize(
    ("name", "keys"),
    [("resnet50", TV_RESNET50), ("vgg16", TV_VGG16), ("mobilenet_v2", TV_MOBILENET_V2)],
)
def test_state_dict_keys_match_torchvision(name, keys):
    with torch.device("meta"):
        model = fm.create(name)
    sd = model.state_dict()
    for key, shape in keys.items():
        assert key in sd, key
        assert tuple(sd[key].shape) == shape, key
    n_keys, n_params = TV_SIZES[name]
    if n_keys is not None:
        assert len(sd) == n_keys
    assert sum(p.numel() for p in model.parameters()) == n_params


def test_dct_resnet_keys_are_torchvision_minus_stem():
    with torch.device("meta"):
        rgb = fm.resnet50().state_dict()
        dct = fm.dct_resnet50(in_channels=64).state_dict()
    assert set(rgb) - set(dct) == {k for k in rgb if k.startswith(("conv1.", "bn1."))}
    assert set(dct) <= set(rgb)


@pytest.mark.skipif(
    importlib.util.find_spec("torchvision") is None,
    reason="torchvision is not installed (no CPU build for the pinned torch); key names and "
    "shapes are checked against a literal list instead",
)
@pytest.mark.parametrize("name", ["resnet50", "vgg16", "mobilenet_v2"])
def test_torchvision_weights_load_and_agree(name):
    import torchvision

    tv = getattr(torchvision.models, name)(weights=None).eval()
    ours = fm.create(name).eval()
    ours.load_state_dict(tv.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), tv(x), rtol=1e-4, atol=1e-4)


def test_width_scaled_copies():
    quarter = fm.ResNet(width=16)
    assert quarter.num_features == 512
    vq = fm.VGG(width_divisor=4)
    assert vq.features[28].out_channels == 128 and vq.classifier[0].in_features == 128 * 49


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_bad_arguments_are_typed(bad):
    with pytest.raises(InvalidArgumentError):
        fm.ResNet(num_classes=bad)
    with pytest.raises(InvalidArgumentError):
        fm.VGG(width_divisor=bad)
