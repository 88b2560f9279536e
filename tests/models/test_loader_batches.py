"""Issue 14 item 11: each frequency-domain model takes the batch its docstring's loader yields."""

from __future__ import annotations

import ast
import inspect
import re
from typing import Any

import pytest
import torch

import freqpipe.models as fm
from freqpipe._samples import samples_path
from freqpipe.data import FreqLoader

_LOADER = re.compile(r"Loader: ``FreqLoader\(root, (?P<kw>[^`]*)\)``")

#: The registered models that take frequency-domain input (the rest take RGB).
FREQUENCY_MODELS = [
    "dct_resnet50",
    "dct_resnet50_late_concat",
    "mobilenet_v2_dct",
    "wavelet_cnn_resnet50",
    "wavelet_cnn_vgg16",
]


def _loader_kwargs(name: str) -> dict[str, Any]:
    doc = inspect.getdoc(fm._registry._REGISTRY[name]) or ""
    match = _LOADER.search(doc)
    assert match, f"{name}'s docstring names no FreqLoader configuration"
    call = ast.parse(f"f({match['kw']})", mode="eval").body
    assert isinstance(call, ast.Call)
    return {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}


def test_the_list_is_every_model_with_a_loader() -> None:
    named = [n for n in fm.list_models() if "Loader:" in (fm._registry._REGISTRY[n].__doc__ or "")]
    assert named == sorted(FREQUENCY_MODELS)


@pytest.mark.parametrize("name", FREQUENCY_MODELS)
def test_model_takes_the_loader_batch_as_it_comes(name: str) -> None:
    loader = FreqLoader(samples_path(), batch_size=1, device="cpu", **_loader_kwargs(name))
    x, y = next(iter(loader))
    model = fm.create(name, num_classes=6).eval()  # every other argument at its default
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (1, 6) and bool(torch.isfinite(logits).all())
