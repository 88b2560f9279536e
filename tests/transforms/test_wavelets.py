from __future__ import annotations

import numpy as np
import pytest
import pywt
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from freqpipe.transforms import (
    MODES,
    WAVELETS,
    DTypeError,
    InvalidArgumentError,
    ShapeError,
    dwt2,
    idwt2,
    stack_subbands,
    unstack_subbands,
    wavedec2,
    waverec2,
)
from tests.tolerances import assert_close

# conventions §6: offset at which pywt's longer mode="reflect" output matches whole-sample symmetric
# lifting. Haar has no extension to crop.
REFLECT_OFFSET = {"haar": 0, "bior2.2": 1, "bior4.4": 2}


def assert_coeffs_close(ours, ref, dtype):
    ca, details = ours
    assert_close(ca, ref[0], dtype)
    for a, b in zip(details, ref[1], strict=True):
        assert_close(a, b, dtype)


def crop_reflect(ref, ours, wavelet):
    off = REFLECT_OFFSET[wavelet]
    ca, details = ours

    def crop(r, o):
        return r[..., off : off + o.shape[-2], off : off + o.shape[-1]]

    return crop(ref[0], ca), tuple(crop(r, o) for r, o in zip(ref[1], details, strict=True))


@pytest.mark.parametrize("wavelet", WAVELETS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(16, 24), (2, 3, 32, 32), (17, 23), (9, 8)])
def test_periodization_matches_pywt(wavelet, dtype, shape):
    x = np.random.default_rng(0).uniform(0, 255, shape).astype(dtype)
    ours = dwt2(x, wavelet, "periodization")
    assert ours[0].dtype == dtype
    ref = pywt.dwt2(x.astype(np.float64), wavelet, mode="periodization")
    assert_coeffs_close(ours, ref, dtype)
    # the inverse matches pywt's too (it returns the even size for odd input, as pywt)
    assert_close(
        idwt2(ours, wavelet, "periodization"),
        pywt.idwt2(ref, wavelet, mode="periodization"),
        dtype,
    )


@pytest.mark.filterwarnings("ignore:Level value of")
@pytest.mark.parametrize("wavelet", WAVELETS)
@pytest.mark.parametrize("shape", [(64, 96), (2, 56, 56), (50, 38)])
def test_periodization_every_level_through_wavedec2(wavelet, shape):
    x = np.random.default_rng(1).uniform(0, 255, shape)
    level = 3
    ours = wavedec2(x, wavelet, "periodization", level)
    ref = pywt.wavedec2(x, wavelet, mode="periodization", level=level)
    assert len(ours) == len(ref) == level + 1
    assert_close(ours[0], ref[0])
    for a, b in zip(ours[1:], ref[1:], strict=True):
        for p, q in zip(a, b, strict=True):
            assert_close(p, q)
    assert dwt2(x, wavelet, level=level)[0].shape == ours[0].shape
    rec = waverec2(ours, wavelet, "periodization")
    assert_close(rec, pywt.waverec2(ref, wavelet, mode="periodization"))
    if shape[-1] % 8 == 0 and shape[-2] % 8 == 0:
        assert_close(rec, x)


@pytest.mark.parametrize("wavelet", WAVELETS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(32, 48), (3, 40, 40), (29, 34)])
def test_reflect_level_by_level_matches_pywt_after_crop(wavelet, dtype, shape):
    a = np.random.default_rng(2).uniform(0, 255, shape).astype(dtype)
    for _ in range(3):
        if wavelet == "haar":  # odd haar reflect has its own test
            a = a[..., : a.shape[-2] // 2 * 2, : a.shape[-1] // 2 * 2]
        ours = dwt2(a, wavelet, "reflect")
        ref = pywt.dwt2(a.astype(np.float64), wavelet, mode="reflect")
        assert_coeffs_close(ours, crop_reflect(ref, ours, wavelet), dtype)
        assert_close(idwt2(ours, wavelet, "reflect"), a, dtype)
        a = ours[0]
        if min(a.shape[-2:]) < 4:
            break


def test_reflect_odd_sizes_shapes_and_inverse():
    x = np.random.default_rng(3).uniform(0, 255, (17, 22))
    ca, (ch, cv, cd) = dwt2(x, "bior4.4", "reflect")
    assert ca.shape == (9, 11) and ch.shape == (8, 11) and cv.shape == (9, 11)
    x = x[:, :21]
    ca, (ch, cv, cd) = dwt2(x, "bior2.2", "reflect")
    assert (ca.shape, ch.shape, cv.shape, cd.shape) == ((9, 11), (8, 11), (9, 10), (8, 10))
    assert_close(idwt2((ca, (ch, cv, cd)), "bior2.2", "reflect"), x)
    with pytest.raises(ShapeError):
        stack_subbands((ca, (ch, cv, cd)))
    coeffs = wavedec2(x, "bior4.4", "reflect", level=3)
    assert_close(waverec2(coeffs, "bior4.4", "reflect"), x)


def test_haar_reflect_odd_matches_pywt_reflect():
    x = np.random.default_rng(4).uniform(0, 255, (9, 13))
    ours = dwt2(x, "haar", "reflect")
    assert_coeffs_close(ours, pywt.dwt2(x, "haar", mode="reflect"), np.float64)
    assert idwt2(ours, "haar", "reflect").shape == (10, 14)
    assert_close(idwt2(ours, "haar", "reflect")[:9, :13], x)


@pytest.mark.parametrize("wavelet", WAVELETS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_perfect_reconstruction(wavelet, mode, dtype):
    x = np.random.default_rng(5).uniform(0, 255, (2, 64, 48)).astype(dtype)
    for level in (1, 2, 4):
        coeffs = dwt2(x, wavelet, mode, level=level)
        back = idwt2(coeffs, wavelet, mode)
        assert back.dtype == dtype
        assert_close(back, x, dtype)


def test_photos_against_pywt(photos):
    for rgb in photos[:4]:
        y = rgb[:256, :256, 1].astype(np.float64)
        for wavelet in WAVELETS:
            assert_coeffs_close(
                dwt2(y, wavelet), pywt.dwt2(y, wavelet, mode="periodization"), np.float64
            )
            ours = dwt2(y, wavelet, "reflect")
            ref = pywt.dwt2(y, wavelet, mode="reflect")
            assert_coeffs_close(ours, crop_reflect(ref, ours, wavelet), np.float64)


def test_batched_equals_per_sample_and_input_untouched():
    x = np.random.default_rng(6).normal(size=(3, 2, 16, 16))
    copy = x.copy()
    ca, (ch, _, _) = dwt2(x, "bior4.4", "reflect")
    for i in range(3):
        for j in range(2):
            one = dwt2(x[i, j], "bior4.4", "reflect")
            np.testing.assert_allclose(one[0], ca[i, j], rtol=0, atol=1e-12)
            np.testing.assert_allclose(one[1][0], ch[i, j], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(x, copy)


def test_stack_unstack():
    x = np.random.default_rng(7).normal(size=(2, 3, 16, 16)).astype(np.float32)
    coeffs = dwt2(x, "haar")
    s = stack_subbands(coeffs)
    assert s.shape == (2, 3, 4, 8, 8) and s.dtype == np.float32
    ca, (ch, cv, cd) = unstack_subbands(s)
    for a, b in zip((ca, ch, cv, cd), (coeffs[0], *coeffs[1]), strict=True):
        np.testing.assert_array_equal(a, b)
    assert_close(idwt2(unstack_subbands(s), "haar"), x)
    with pytest.raises(ShapeError):
        unstack_subbands(np.zeros((3, 2, 2)))


def test_dtypes_and_torch():
    assert dwt2(np.ones((8, 8), np.uint8), "haar")[0].dtype == np.float64
    assert dwt2(np.ones((8, 8), np.float16), "haar")[0].dtype == np.float32
    t = torch.rand(2, 16, 16)
    ca, (ch, cv, cd) = dwt2(t, "bior2.2")
    assert isinstance(ca, torch.Tensor) and ca.dtype == torch.float32
    assert_close(ca, dwt2(t.numpy(), "bior2.2")[0])
    back = idwt2((ca, (ch, cv, cd)), "bior2.2")
    assert isinstance(back, torch.Tensor)
    assert_close(back, t)


def test_errors():
    x = np.zeros((8, 8))
    with pytest.raises(InvalidArgumentError, match="haar, bior2.2, bior4.4"):
        dwt2(x, "db2")
    with pytest.raises(InvalidArgumentError, match="periodization, reflect"):
        dwt2(x, "haar", "symmetric")
    with pytest.raises(InvalidArgumentError):
        dwt2(x, "haar", level=0)
    with pytest.raises(ShapeError):
        dwt2(np.zeros((1, 8)))
    with pytest.raises(ShapeError):
        dwt2(np.zeros(8))
    with pytest.raises(ShapeError):
        dwt2(x, "haar", level=4)  # 8 -> 4 -> 2 -> 1 -> cannot split again
    with pytest.raises(DTypeError):
        dwt2(x.astype(np.complex128))
    ca, (ch, cv, cd) = dwt2(x)
    with pytest.raises(ShapeError):
        idwt2((ca, (ch[:2], cv, cd)))
    with pytest.raises(ShapeError):
        idwt2((ca, (None, cv, cd)))


def test_default_level_is_pywt_max_level():
    x = np.zeros((64, 80))
    for wavelet in WAVELETS:
        n = pywt.dwt_max_level(64, pywt.Wavelet(wavelet).dec_len)
        assert len(wavedec2(x, wavelet)) == max(1, n) + 1


@settings(max_examples=30, deadline=None)
@given(
    lead=st.lists(st.integers(1, 2), max_size=2),
    h=st.integers(2, 33),
    w=st.integers(2, 33),
    wavelet=st.sampled_from(WAVELETS),
    mode=st.sampled_from(MODES),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_property_round_trip(lead, h, w, wavelet, mode, dtype):
    x = np.random.default_rng(h * 37 + w).uniform(-1, 1, (*lead, h, w)).astype(dtype)
    coeffs = dwt2(x, wavelet, mode)
    assert coeffs[0].dtype == dtype
    assert coeffs[0].shape == (*lead, -(-h // 2), -(-w // 2))
    back = idwt2(coeffs, wavelet, mode)
    assert back.dtype == dtype
    assert_close(back[..., :h, :w], x, dtype)
