"""The kernels on a GPU against the NumPy reference (CuPy arrays and CUDA torch tensors)."""

from __future__ import annotations

import numpy as np
import pytest

import freqpipe.transforms as T
from freqpipe.transforms import Selection
from tests.cuda.conftest import photo_batch
from tests.cuda.kernel_contract import check_kernel_contract, to_host
from tests.tolerances import assert_close

pytestmark = pytest.mark.gpu
RNG = np.random.default_rng(2024)


def _ref_dct(x_nhwc: np.ndarray, sel: Selection) -> np.ndarray:
    return np.stack([T.image_to_dct192(im)[sel.indices] for im in x_nhwc])


@pytest.mark.parametrize("n, h, w", [(1, 8, 8), (3, 24, 40), (5, 72, 56)])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("layout", ["nhwc", "nchw"])
def test_fused_dct_cupy(cupy, n, h, w, dtype, layout):
    from freqpipe.cuda import fused_dct

    x = RNG.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    arg = x if layout == "nhwc" else np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    sel = Selection.preset("dct24")
    (out,) = check_kernel_contract(
        lambda a: fused_dct(a, sel, layout=layout, dtype=dtype),
        [cupy.asarray(arg)],
        out_dtypes=[dtype],
    )
    assert_close(out, _ref_dct(x, sel).astype(dtype), dtype)


@pytest.mark.parametrize("preset", ["dct6", "dct64", "all"])
def test_fused_dct_torch_photos_normalised_separate(torch_cuda, preset):
    from freqpipe.cuda import fused_dct

    x = photo_batch(4, 448)
    sel = Selection.preset(preset)
    mean, std = RNG.normal(size=len(sel)), RNG.uniform(1, 40, len(sel))
    xt = torch_cuda.from_numpy(x).cuda()
    (out,) = check_kernel_contract(
        lambda a: fused_dct(a, sel, mean=mean, std=std), [xt], out_dtypes=["float32"]
    )
    ref = (_ref_dct(x, sel) - mean[:, None, None]) / std[:, None, None]
    assert_close(out, ref, np.float32)
    y, c = check_kernel_contract(lambda a: fused_dct(a, sel, chroma="separate"), [xt[:2]])
    assert_close(y, _ref_dct(x[:2], sel)[:, : len(sel.per_plane[0])], np.float32)
    assert c.shape == (2, len(sel) - len(sel.per_plane[0]), 28, 28)


def test_fused_dct_runs_on_torch_side_stream(torch_cuda):
    from freqpipe.cuda import fused_dct

    x = torch_cuda.from_numpy(photo_batch(2, 64)).cuda()
    side = torch_cuda.cuda.Stream()
    with torch_cuda.cuda.stream(side):
        out = fused_dct(x, "dct24")
    side.synchronize()
    assert_close(to_host(out), _ref_dct(to_host(x), Selection.preset("dct24")), np.float32)


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_fused_idct(cupy, dtype):
    from freqpipe.cuda import fused_idct

    sel = Selection.preset("dct48")
    x = photo_batch(3, 40)
    coeffs = _ref_dct(x, sel).astype(np.float32)
    (out,) = check_kernel_contract(
        lambda a: fused_idct(a, sel, dtype=dtype), [cupy.asarray(coeffs)], out_dtypes=[dtype]
    )
    full = np.zeros((3, 192, 5, 5), np.float32)
    full[:, sel.indices] = coeffs
    ref = T.ycbcr_to_rgb(T.block_idct(full.reshape(3, 3, 64, 5, 5)))
    if dtype == "uint8":
        assert np.abs(out.astype(int) - np.clip(np.rint(ref), 0, 255)).max() <= 1
    else:
        assert_close(out, ref, np.float32)


@pytest.mark.parametrize("qdtype", ["int16", "int8"])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("n", [1, 4, 7])
def test_dequantize_torch(torch_cuda, qdtype, dtype, n):
    from freqpipe.cuda import dequantize

    q = RNG.integers(-100, 100, (n, 16, 56, 56)).astype(qdtype)
    c = RNG.integers(-100, 100, (n, 8, 28, 28)).astype(qdtype)
    quant = RNG.integers(1, 50, (n, 24)).astype(np.uint16).astype(np.int32)
    mean, std = RNG.normal(size=24), RNG.uniform(5, 30, 24)
    args = [torch_cuda.from_numpy(a).cuda() for a in (q, c, quant)]
    (out,) = check_kernel_contract(
        lambda a, b, qt: dequantize(a, qt, chroma=b, mean=mean, std=std, dtype=dtype),
        args,
        out_dtypes=[dtype],
    )
    rep = np.arange(56) // 2  # each 4:2:0 chroma block covers 2x2 luma blocks
    aligned = np.concatenate([q, c[:, :, rep][:, :, :, rep]], axis=1).astype(np.float64)
    ref = (aligned * quant[:, :, None, None] - mean[:, None, None]) / std[:, None, None]
    assert_close(out, ref.astype(dtype), dtype)


@pytest.mark.parametrize("wavelet", ["haar", "bior2.2", "bior4.4"])
@pytest.mark.parametrize("mode", ["periodization", "reflect"])
@pytest.mark.parametrize("shape", [(2, 3, 448, 448), (3, 1, 37, 45), (1, 2, 64, 96)])
def test_dwt_dispatch_cupy(cupy, wavelet, mode, shape):
    x = (RNG.standard_normal(shape) * 40).astype(np.float32)
    outs = check_kernel_contract(
        lambda a: T.dwt2(a, wavelet, mode), [cupy.asarray(x)], out_dtypes=["float32"] * 4
    )
    ca, (ch, cv, cd) = T.dwt2(x, wavelet, mode)
    for got, ref in zip(outs, (ca, ch, cv, cd), strict=True):
        assert_close(got, ref, np.float32)
    dev = tuple(cupy.asarray(b) for b in (ca, ch, cv, cd))
    xi = T.idwt2((dev[0], dev[1:]), wavelet, mode)
    assert_close(to_host(xi), T.idwt2((ca, (ch, cv, cd)), wavelet, mode), np.float32)


@pytest.mark.parametrize("wavelet", ["haar", "bior4.4"])
def test_dwt_torch_multilevel_and_float16(torch_cuda, wavelet):
    from freqpipe.cuda import dwt2

    x = np.ascontiguousarray(np.moveaxis(photo_batch(2, 448), -1, 1), dtype=np.float32)
    xt = torch_cuda.from_numpy(x).cuda()
    got = T.dwt2(xt, wavelet, "periodization", level=3)
    ref = T.wavedec2(x, wavelet, "periodization", 3)
    assert_close(to_host(got[0]), ref[0], np.float32)
    for g, r in zip(got[1:], ref[1:], strict=True):
        for a, b in zip(g, r, strict=True):
            assert_close(to_host(a), b, np.float32)
    rec = T.idwt2(got, wavelet, "periodization")
    assert_close(to_host(rec), x, np.float32)
    half = dwt2(xt.half(), wavelet, "reflect", dtype="float16")
    ca, _ = T.dwt2(x.astype(np.float16), wavelet, "reflect")
    assert half[0].dtype == torch_cuda.float16
    assert_close(to_host(half[0]), ca.astype(np.float16), np.float16)


@pytest.mark.parametrize("dtype", ["uint8", "float32", "float64"])
def test_block_dct_dispatch(cupy, dtype):
    x = RNG.uniform(0, 255, (2, 3, 21, 35)).astype(dtype)
    (c,) = check_kernel_contract(lambda a: T.block_dct(a), [cupy.asarray(x)])
    tol = np.float64 if dtype == "float64" else np.float32
    assert_close(c, T.block_dct(x), tol)
    xi = T.block_idct(cupy.asarray(c), size=(21, 35))
    assert_close(to_host(xi), T.block_idct(c, size=(21, 35)), tol)


def test_empty_batch_and_missing_device_errors(cupy):
    from freqpipe.cuda import fused_dct
    from freqpipe.errors import FreqpipeError

    out = fused_dct(cupy.zeros((0, 16, 16, 3), cupy.uint8), "dct24")
    assert out.shape == (0, 24, 2, 2)
    with pytest.raises(FreqpipeError):
        fused_dct(np.zeros((1, 16, 16, 3), np.uint8), "dct24")
