from __future__ import annotations

import pytest
import torch
from torch import nn

import freqpipe.models as fm
from freqpipe.errors import FreqpipeError, InvalidArgumentError
from freqpipe.models import _registry

EXPECTED = {
    "dct_resnet50",
    "dct_resnet50_late_concat",
    "mobilenet_v2",
    "mobilenet_v2_dct",
    "oct_resnet50",
    "resnet50",
    "vgg16",
    "wae_autoencoder",
    "wae_resnet50",
    "wae_vgg16",
    "wavelet_cnn_resnet50",
    "wavelet_cnn_vgg16",
}


def test_list_models_is_complete_and_sorted():
    names = fm.list_models()
    assert set(names) == EXPECTED
    assert names == sorted(names)
    assert fm.list_models("*oct*") == ["oct_resnet50"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_create_round_trip(name):
    # meta device: builds the module without allocating the weights.
    with torch.device("meta"):
        model = fm.create(name)
    assert isinstance(model, nn.Module)
    assert getattr(fm, name) is _registry._REGISTRY[name]


def test_create_forwards_kwargs():
    with torch.device("meta"):
        m = fm.create("dct_resnet50", in_channels=32, num_classes=7)
    assert m.layer1[0].conv1.in_channels == 32 and m.fc.out_features == 7


def test_unknown_model_is_typed_error():
    with pytest.raises(InvalidArgumentError, match="registered models: .*resnet50"):
        fm.create("resnet51")
    assert issubclass(InvalidArgumentError, (FreqpipeError, ValueError))


def test_duplicate_registration_rejected():
    def resnet50():  # same name as a registered entry point, different function
        return nn.Identity()

    with pytest.raises(InvalidArgumentError, match="already registered"):
        fm.register_model(resnet50)
    assert fm.create("resnet50", num_classes=2).fc.out_features == 2


def test_models_package_is_torch_only():
    import freqpipe.models as pkg

    src = "\n".join(
        p.read_text() for p in __import__("pathlib").Path(pkg.__file__).parent.glob("*.py")
    )
    for banned in ("import numpy", "freqpipe.transforms import", "freqpipe.jpeg", "cupy"):
        # WaveletCNN's docstring example may use freqpipe.transforms (documentation only).
        lines = [ln for ln in src.splitlines() if banned in ln and not ln.strip().startswith(">>>")]
        assert not lines, lines
