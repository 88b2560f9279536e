"""Block-DCT kernels run on the CPU through cpu_shim.h, against the NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest

from freqpipe.cuda._launch import HostBackend
from freqpipe.cuda.dct import plan_block_dct, plan_block_idct, plan_fused_dct, plan_fused_idct
from freqpipe.transforms import (
    Selection,
    block_dct,
    block_idct,
    image_to_dct192,
    rgb_to_ycbcr,
    ycbcr_to_rgb,
)
from tests.cuda.conftest import photo_batch
from tests.cuda.kernel_contract import check_kernel_contract
from tests.tolerances import assert_close

RNG = np.random.default_rng(1234)


def _runner(shim, plan, **kw):
    lib = shim("block_dct")

    def fn(*arrays):
        outs, launches = plan(HostBackend(), *arrays, **kw)
        lib.run(launches)
        return outs

    return fn


def _reference(images_nhwc: np.ndarray, sel: Selection) -> np.ndarray:
    return np.stack([image_to_dct192(im)[sel.indices] for im in images_nhwc])


@pytest.mark.parametrize("n, h, w", [(1, 8, 8), (3, 24, 40), (2, 56, 72)])
@pytest.mark.parametrize("layout", ["nhwc", "nchw"])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_fused_dct_matches_reference(shim, n, h, w, layout, dtype):
    x = RNG.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    sel = Selection.preset("dct24")
    arg = x if layout == "nhwc" else np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    fn = _runner(shim, plan_fused_dct, selection=sel, layout=layout, dtype=dtype)
    (out,) = check_kernel_contract(fn, [arg], out_dtypes=[dtype])
    assert_close(out, _reference(x, sel).astype(dtype), dtype)


@pytest.mark.parametrize("preset", ["dct6", "dct48", "all"])
def test_fused_dct_presets_photos_strided(shim, preset):
    x = photo_batch(2, 64)
    big = np.zeros((2, 65, 66, 3), np.uint8)
    big[:, 1:, 1:65] = x
    view = big[:, 1:, 1:65]  # misaligned rows -> the strided (byte-load) variant
    sel = Selection.preset(preset)
    outs, launches = plan_fused_dct(HostBackend(), view, sel)
    assert "strided" in launches[0].kernel
    shim("block_dct").run(launches)
    assert_close(outs[0], _reference(x, sel), np.float32)


def test_fused_dct_ycbcr_input_and_normalisation(shim):
    x = RNG.integers(0, 256, (2, 16, 24, 3), dtype=np.uint8)
    sel = Selection.preset("dct32")
    mean = RNG.normal(size=len(sel)) * 10
    std = RNG.uniform(1, 50, size=len(sel))
    outs, launches = plan_fused_dct(HostBackend(), x, sel, colorspace="ycbcr", mean=mean, std=std)
    shim("block_dct").run(launches)
    ref = block_dct(np.moveaxis(x, -1, 1)).reshape(2, 192, 2, 3)[:, sel.indices]
    assert_close(outs[0], (ref - mean[:, None, None]) / std[:, None, None], np.float32)


def test_fused_dct_round_ycbcr_matches_uint8_conversion(shim):
    x = RNG.integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    sel = Selection.preset("dct64")
    outs, launches = plan_fused_dct(HostBackend(), x, sel, round_ycbcr=True)
    shim("block_dct").run(launches)
    ycc = rgb_to_ycbcr(x, channel_axis=-1)  # uint8: rounded and clipped
    ref = block_dct(np.moveaxis(ycc, -1, 1)).reshape(2, 192, 2, 2)[:, sel.indices]
    assert_close(outs[0], ref, np.float32)


@pytest.mark.parametrize("n, h, w", [(2, 16, 16), (3, 48, 80)])
def test_fused_dct_separate_chroma(shim, n, h, w):
    x = RNG.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    sel = Selection.preset("dct24")
    fn = _runner(shim, plan_fused_dct, selection=sel, chroma="separate")
    y, c = check_kernel_contract(fn, [x], out_dtypes=["float32", "float32"])
    ycc = rgb_to_ycbcr(x.astype(np.float32), channel_axis=-1)
    sub = ycc[..., 1:].reshape(n, h // 2, 2, w // 2, 2, 2).mean(axis=(2, 4))
    cc = block_dct(np.moveaxis(sub, -1, 1))  # (n, 2, 64, h/16, w/16)
    cb_idx, cr_idx = sel.per_plane[1], sel.per_plane[2]
    ref_c = np.concatenate([cc[:, 0][:, cb_idx], cc[:, 1][:, cr_idx]], axis=1)
    assert_close(y, _reference(x, sel)[:, : len(sel.per_plane[0])], np.float32)
    assert_close(c, ref_c, np.float32)


@pytest.mark.parametrize("output", ["rgb", "ycbcr"])
@pytest.mark.parametrize("dtype", ["float32", "uint8"])
def test_fused_idct_matches_reference(shim, output, dtype):
    sel = Selection.preset("dct48")
    x = photo_batch(3, 40)
    coeffs = np.stack([image_to_dct192(im)[sel.indices] for im in x]).astype(np.float32)
    fn = _runner(shim, plan_fused_idct, selection=sel, output=output, dtype=dtype)
    (out,) = check_kernel_contract(fn, [coeffs], out_dtypes=[dtype])
    full = np.zeros((3, 192, 5, 5), np.float32)
    full[:, sel.indices] = coeffs
    ycc = block_idct(full.reshape(3, 3, 64, 5, 5))
    ref = ycc if output == "ycbcr" else ycbcr_to_rgb(ycc)
    if dtype == "uint8":
        diff = np.abs(out.astype(np.int16) - np.clip(np.rint(ref), 0, 255).astype(np.int16))
        assert diff.max() <= 1  # float rounding at .5 boundaries
    else:
        assert_close(out, ref, np.float32)


def test_fused_idct_roundtrip_all_channels_nhwc(shim):
    x = photo_batch(2, 32)
    sel = Selection.preset("all")
    mean, std = np.full(192, 3.0), np.full(192, 7.0)
    outs, launches = plan_fused_dct(HostBackend(), x, sel, mean=mean, std=std)
    shim("block_dct").run(launches)
    outs2, launches = plan_fused_idct(
        HostBackend(), outs[0], sel, layout="nhwc", mean=mean, std=std, size=(30, 27)
    )
    shim("block_dct").run(launches)
    assert outs2[0].shape == (2, 30, 27, 3)
    assert np.abs(outs2[0].astype(int) - x[:, :30, :27].astype(int)).max() <= 2


@pytest.mark.parametrize("dtype", ["uint8", "int16", "float16", "float32", "float64"])
@pytest.mark.parametrize("shape", [(2, 3, 16, 24), (21, 35)])
def test_plane_dct_and_idct(shim, dtype, shape):
    x = (RNG.uniform(0, 255, shape)).astype(dtype)
    fn = _runner(shim, plan_block_dct)
    arg = x if len(shape) > 2 else x[None]
    tol = np.float64 if dtype == "float64" else np.float32
    (c,) = check_kernel_contract(fn, [arg], out_dtypes=[tol])
    assert_close(c, block_dct(arg), tol)
    if dtype == "uint8":
        return
    ref_in = block_dct(arg).astype(dtype if dtype != "float16" else np.float32)
    if dtype in ("int16", "float16"):
        ref_in = np.rint(ref_in).astype(dtype)
    fn_i = _runner(shim, plan_block_idct, size=shape[-2:])
    (xi,) = check_kernel_contract(fn_i, [ref_in], out_dtypes=[tol])
    assert_close(xi, block_idct(ref_in, size=shape[-2:]), tol)
