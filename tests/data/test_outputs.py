"""The output stage's computation against independent references, and across array libraries."""

from __future__ import annotations

import numpy as np
import pytest
import pywt
import torch

from freqpipe.data import OutputPlan, compute_outputs
from freqpipe.data._outputs import _CUDA_OPS, COMPUTES
from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms import Selection, image_to_dct192
from tests.tolerances import assert_close

RNG = np.random.default_rng(5)


def _pixels(n: int = 2, size: int = 16) -> np.ndarray:
    return RNG.integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _stats(channels: int) -> tuple[np.ndarray, np.ndarray]:
    return RNG.normal(size=channels).astype(np.float32), RNG.uniform(0.5, 2, channels).astype(
        np.float32
    )


def test_dequantize_and_normalise_per_channel() -> None:
    q = RNG.integers(-300, 300, (2, 3, 4, 4)).astype(np.int16)
    quant = RNG.integers(1, 40, (2, 3)).astype(np.uint16)
    mean, std = _stats(3)
    (x,) = compute_outputs(
        {"coefficients": q, "quant": quant}, OutputPlan("coefficients", "dct", stats=(mean, std))
    )
    expected = (q * quant[:, :, None, None].astype(np.float64) - mean[:, None, None]) / std[
        :, None, None
    ]
    assert x.dtype == np.float32
    assert_close(x, expected, precision=np.float32)


def test_separate_chroma_splits_the_statistics() -> None:
    sel = Selection.preset("dct24")
    n_y = int(sel.per_plane[0].size)
    mean, std = _stats(len(sel))
    fields = {
        "coefficients": RNG.integers(-50, 50, (1, n_y, 4, 4)).astype(np.int16),
        "quant": np.full((1, n_y), 2, np.uint16),
        "chroma_coefficients": RNG.integers(-50, 50, (1, len(sel) - n_y, 2, 2)).astype(np.int16),
        "chroma_quant": np.full((1, len(sel) - n_y), 3, np.uint16),
    }
    plan = OutputPlan("coefficients", "dct", selection=sel, chroma="separate", stats=(mean, std))
    assert plan.fields == ("coefficients", "quant", "chroma_coefficients", "chroma_quant")
    luma, chroma = compute_outputs(fields, plan)
    c = fields["chroma_coefficients"] * 3.0
    assert_close(chroma, (c - mean[n_y:, None, None]) / std[n_y:, None, None], precision=np.float32)
    y = fields["coefficients"] * 2.0
    assert_close(luma, (y - mean[:n_y, None, None]) / std[:n_y, None, None], precision=np.float32)


def test_raw_output_widens_int8_and_owns_its_memory() -> None:
    q8 = RNG.integers(-128, 128, (2, 3, 2, 2)).astype(np.int8)
    quant = np.full((2, 3), 7, np.uint16)
    q_out, quant_out = compute_outputs(
        {"coefficients": q8, "quant": quant}, OutputPlan("coefficients", "dct", raw=True)
    )
    assert q_out.dtype == np.int16
    np.testing.assert_array_equal(q_out, q8)
    quant[:] = 0  # the slot is refilled: the batch must not change with it
    assert int(quant_out[0, 0]) == 7


def test_pixels_to_dct_is_the_reference_transform_selected() -> None:
    sel = Selection.preset("dct24")
    px = _pixels()
    (x,) = compute_outputs({"pixels": px}, OutputPlan("pixels", "dct", selection=sel))
    for i in range(len(px)):
        np.testing.assert_array_equal(x[i], sel.select(image_to_dct192(px[i])))


def test_pixels_to_dwt_is_pywavelets_colour_major() -> None:
    px = _pixels()
    (x,) = compute_outputs({"pixels": px}, OutputPlan("pixels", "dwt", wavelet="haar"))
    rgb = px.transpose(0, 3, 1, 2).astype(np.float64) / 255
    ca, (ch, cv, cd) = pywt.dwt2(rgb, "haar", mode="periodization")
    expected = np.stack([ca, ch, cv, cd], axis=2).reshape(2, 12, 8, 8)
    assert_close(x, expected, precision=np.float32)


def test_float16_store_values_are_normalised_only() -> None:
    dct = RNG.normal(0, 100, (2, 4, 3, 3)).astype(np.float16)
    mean, std = _stats(4)
    (x,) = compute_outputs(
        {"dct": dct}, OutputPlan("dct", "dct", stats=(mean, std), dtype="float16")
    )
    assert x.dtype == np.float16
    expected = (dct.astype(np.float64) - mean[:, None, None]) / std[:, None, None]
    assert_close(x, expected, precision=np.float16)


@pytest.mark.parametrize(
    ("produces", "output", "fields"),
    [
        ("pixels", "rgb", lambda: {"pixels": _pixels()}),
        ("pixels", "dwt", lambda: {"pixels": _pixels()}),
        ("dct", "dct", lambda: {"dct": RNG.normal(size=(2, 3, 2, 2)).astype(np.float16)}),
    ],
)
def test_torch_operations_give_the_numpy_result(produces: str, output: str, fields) -> None:
    """One computation, two array libraries: the torch operations (run here on CPU tensors,
    where no CUDA kernel is involved) lay out and normalise exactly as the NumPy ones."""
    arrays = fields()
    channels = {"rgb": 3, "dwt": 12, "dct": 3}[output]
    plan = OutputPlan(produces, output, stats=_stats(channels))
    (ref,) = compute_outputs(arrays, plan)
    (got,) = COMPUTES[plan.key](
        {k: torch.from_numpy(v) for k, v in arrays.items()}, plan, _CUDA_OPS
    )
    assert_close(got.numpy(), ref, precision=np.float32)


@pytest.mark.parametrize(
    ("produces", "output", "raw"), [("pixels", "dct", True), ("dct", "rgb", False)]
)
def test_plans_without_a_computation_are_refused(produces: str, output: str, raw: bool) -> None:
    with pytest.raises(InvalidArgumentError, match="no output"):
        OutputPlan(produces, output, raw=raw)
