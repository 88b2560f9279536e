"""Every registered model: forward and backward on a small input, finite outputs and grads."""

from __future__ import annotations

import pytest
import torch

import freqpipe.models as fm

# name -> (kwargs, input shapes): the smallest inputs each architecture accepts.
CASES = {
    "resnet50": ({}, [(2, 3, 64, 64)]),
    "vgg16": ({}, [(2, 3, 32, 32)]),
    "mobilenet_v2": ({}, [(2, 3, 32, 32)]),
    "dct_resnet50": ({"in_channels": 24}, [(2, 24, 8, 8)]),
    "dct_resnet50_late_concat": (
        {"y_channels": 64, "cbcr_channels": 128},
        [(2, 64, 8, 8), (2, 128, 4, 4)],
    ),
    "mobilenet_v2_dct": ({"in_channels": 24}, [(2, 24, 16, 16)]),
    "oct_resnet50": ({"alpha": 0.5}, [(2, 3, 64, 64)]),
    "wae_autoencoder": ({}, [(2, 3, 16, 16)]),
    "wae_vgg16": ({}, [(2, 3, 64, 64)]),
    "wae_resnet50": ({}, [(2, 3, 64, 64)]),
    "wavelet_cnn_vgg16": ({}, [(2, 12, 32, 32)]),
    "wavelet_cnn_resnet50": ({}, [(2, 12, 32, 32)]),
}


def test_every_registered_model_has_a_case():
    assert set(CASES) == set(fm.list_models())


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_backward(name):
    kwargs, shapes = CASES[name]
    if name != "wae_autoencoder":
        kwargs = {**kwargs, "num_classes": 5}
    model = fm.create(name, **kwargs).train()
    inputs = [torch.randn(s) for s in shapes]
    out = model(*inputs)
    if name == "wae_autoencoder":
        low, high, recon = out
        assert low.shape == high.shape == (2, 3, 8, 8) and recon.shape == shapes[0]
        loss = model.transform_loss(inputs[0], high, recon)
    else:
        assert out.shape == (2, 5)
        loss = torch.nn.functional.cross_entropy(out, torch.tensor([0, 1]))
    assert torch.isfinite(loss)
    loss.backward()
    for pname, p in model.named_parameters():
        if pname.startswith("wae.decoder"):
            continue  # a WAE classifier's forward does not decode (inference needs no I')
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
