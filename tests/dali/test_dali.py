"""freqpipe.dali: DALI's CPU-only mode (device_id=None) against freqpipe's reference.

DALI (``nvidia-dali-cuda120``) installs and runs without a GPU; every test here needs it and
skips with a reason otherwise, except the import-lightness checks.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

import freqpipe as fp
from freqpipe.errors import InvalidArgumentError, MissingExtraError
from freqpipe.transforms import Selection, center_crop_box, image_to_dct192, resize_shape
from freqpipe.transforms.windows import center_start
from tests.tolerances import assert_close


def test_import_does_not_import_dali() -> None:
    code = "import sys, freqpipe, freqpipe.dali; print('nvidia.dali' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_dali_raises_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import freqpipe.dali as fd

    monkeypatch.setitem(sys.modules, "nvidia.dali", None)  # makes the import fail
    assert fd.available() is False
    with pytest.raises(MissingExtraError, match=r"freqpipe\[dali\]"):
        fd.pipeline(fp.samples_path(), batch_size=2, device_id=None)


dali = pytest.importorskip("nvidia.dali", reason="DALI not installed (pip install freqpipe[dali])")
import freqpipe.dali as fd  # noqa: E402
from freqpipe.data import FreqLoader, JpegFolder  # noqa: E402

S = 64


@pytest.fixture(scope="module")
def folder() -> JpegFolder:
    return JpegFolder(fp.samples_path())


def _collect(it: fd.Iterator) -> tuple[list[np.ndarray], list[list[int]]]:
    xs, ys = [], []
    for x, y in it:
        assert y.dtype == torch.int64 and y.ndim == 1 and x.shape[0] == y.shape[0]
        xs.append(x.numpy())
        ys.append(y.tolist())
    return xs, ys


def _reference_crop(path: str, size: int) -> np.ndarray:
    """FreqLoader's evaluation crop with Pillow: resize_shape + bilinear + center_crop_box."""
    from PIL import Image

    im = Image.open(path).convert("RGB")
    rh, rw = resize_shape(im.height, im.width, size)
    arr = np.asarray(im.resize((rw, rh), Image.BILINEAR))
    top, left = center_crop_box(rh, rw, size)
    return arr[top : top + size, left : left + size]


def test_eval_dct_matches_reference_transform(folder: JpegFolder) -> None:
    # Same crop box as FreqLoader's eval (resize_shape, center_crop_box, ties to even);
    # the only difference is the resampler: DALI's linear antialiased resize and Pillow's
    # bilinear round differently, by at most one 8-bit level per pixel (measured: max 1.0,
    # mean 0.07-0.11 on the samples). One level per pixel bounds each orthonormal 8x8 DCT
    # coefficient by 8.
    n = len(folder)
    pipe = fd.pipeline(
        folder, batch_size=n, size=S, device_id=None, train=False, normalize=None, select="all"
    )
    x, y = next(iter(fd.Iterator(pipe)))
    assert tuple(x.shape) == (n, 192, S // 8, S // 8) and y.tolist() == folder.targets
    ref = np.stack([image_to_dct192(_reference_crop(p, S)) for p, _ in folder.samples])
    got = x.numpy()
    assert np.abs(got - ref).max() <= 8.0
    pix = fp.block_idct(got.reshape(n, 3, 64, S // 8, S // 8))
    pix_ref = fp.block_idct(ref.reshape(n, 3, 64, S // 8, S // 8))
    err = np.abs(pix - pix_ref)
    assert err.max() <= 1.0 + 1e-3 and err.mean() <= 0.25


def _dali_eval_window(heights: np.ndarray, widths: np.ndarray, size: int) -> np.ndarray:
    """Run the pipeline's evaluation-geometry nodes on CPU: rows (resize_y, resize_x, top, left)."""
    from nvidia.dali import fn, types

    from freqpipe.dali._pipeline import _eval_window

    n = len(heights)
    pipe = dali.pipeline.Pipeline(batch_size=n, num_threads=1, device_id=None)
    with pipe:
        h = fn.external_source(source=lambda: list(heights), batch=True, dtype=types.INT32)
        w = fn.external_source(source=lambda: list(widths), batch=True, dtype=types.INT32)
        pipe.set_outputs(*_eval_window(fn, types, h, w, size))
    pipe.build()
    rh, rw, anchor = (np.stack([np.asarray(t) for t in out]) for out in pipe.run())
    return np.column_stack([rh, rw, anchor.reshape(n, 2)])


@pytest.mark.parametrize("size", [224, 448])
def test_eval_window_is_resize_shape_and_center_start(size: int) -> None:
    # DALI cannot call resize_shape / center_start per sample, so _eval_window restates them in
    # DALI's integer nodes; run those nodes on every pair of these sides (images smaller than
    # the crop, around it, around the resize target, large) and on random ones.
    sides = [
        1,
        2,
        3,
        7,
        8,
        100,
        223,
        224,
        225,
        255,
        256,
        257,
        300,
        333,
        375,
        447,
        448,
        449,
        500,
        511,
        512,
        513,
        585,
        640,
        1000,
        4000,
    ]
    rng = np.random.default_rng(size)
    pairs = [(a, b) for a in sides for b in sides] + [
        tuple(p) for p in rng.integers(1, 6000, size=(400, 2)).tolist()
    ]
    heights, widths = np.array(pairs, np.int32).T
    got = _dali_eval_window(heights, widths, size)
    want = []
    for a, b in pairs:
        rh, rw = resize_shape(a, b, size)
        want.append((rh, rw, center_start(rh, size), center_start(rw, size)))
    np.testing.assert_array_equal(got, np.array(want))
    # the pairs exercise torchvision's tie rule both ways (odd surplus 1 mod 4 rounds down to an
    # even start, 3 mod 4 up) and even surpluses
    surplus = np.array([max(rh, rw) - size for rh, rw, _, _ in want])
    assert {0, 1, 2, 3} <= set((surplus % 4).tolist())


def test_iterator_output_is_reference_of_dali_pixels(folder: JpegFolder) -> None:
    # freqpipe's stage on DALI's own crops: exact (float32 tolerance), selection + stats.
    kw = dict(batch_size=4, size=S, device_id=None, train=False, select="dct24")
    pipe = fd.pipeline(folder, **kw)
    pipe.build()
    pixels = np.stack([np.asarray(t) for t in pipe.run()[0]])
    x, _ = next(iter(fd.Iterator(fd.pipeline(folder, **kw))))
    sel = Selection.preset("dct24")
    stats = fp.load_default_stats("all")
    ref = np.stack([sel.select(image_to_dct192(p)) for p in pixels])
    mean, std = stats.mean[sel.indices], stats.std[sel.indices]
    ref = (ref - mean[:, None, None]) / std[:, None, None]
    assert_close(x.numpy(), ref.astype(np.float32))


def test_kernel_in_pipeline_equals_after_iterator(folder: JpegFolder) -> None:
    kw = dict(batch_size=3, size=S, device_id=None, train=False)
    a, ya = _collect(fd.Iterator(fd.pipeline(folder, kernel="iterator", **kw)))
    b, yb = _collect(fd.Iterator(fd.pipeline(folder, kernel="pipeline", **kw)))
    assert ya == yb
    for u, v in zip(a, b):
        assert_close(v, u)


def test_labels_equal_jpegfolder(folder: JpegFolder) -> None:
    it = fd.Iterator(
        fd.pipeline(fp.samples_path(), batch_size=3, size=S, device_id=None, train=False)
    )
    _, ys = _collect(it)
    assert [v for b in ys for v in b] == folder.targets


@pytest.mark.parametrize("source", ["pixels", "coefficients"])
@pytest.mark.parametrize(("train", "shards"), [(False, 3), (True, 2), (True, 1)])
def test_shards_disjoint_and_complete(
    folder: JpegFolder, source: str, train: bool, shards: int
) -> None:
    files = [p for p, _ in folder.samples]
    ids = list(range(len(files)))  # label = file index, so labels identify files
    for _epoch in range(2):
        seen: list[int] = []
        its = [
            fd.Iterator(
                fd.pipeline(
                    files,
                    labels=ids,
                    batch_size=2,
                    size=S,
                    device_id=None,
                    train=train,
                    num_shards=shards,
                    shard_id=k,
                    seed=3,
                    source=source,
                )
            )
            for k in range(shards)
        ]
        for it in its:
            _, ys = _collect(it)
            assert len(ys) == len(it)
            seen += [v for b in ys for v in b]
        assert sorted(seen) == ids


@pytest.mark.parametrize(
    ("policy", "sizes"), [("partial", [3, 3, 2]), ("drop", [3, 3]), ("fill", [3, 3, 3])]
)
def test_len_and_last_batch(folder: JpegFolder, policy: str, sizes: list[int]) -> None:
    it = fd.Iterator(
        fd.pipeline(folder, batch_size=3, size=S, device_id=None, train=False),
        last_batch_policy=policy,
    )
    assert len(it) == len(sizes)
    for _ in range(2):  # resets itself every epoch
        assert [len(y) for _, y in it] == sizes


def test_default_policy_is_partial_like_dataloader(folder: JpegFolder) -> None:
    it = fd.Iterator(fd.pipeline(folder, batch_size=3, size=S, device_id=None, train=True))
    assert it.last_batch_policy == "partial" and len(it) == 3
    assert sorted([v for b in _collect(it)[1] for v in b]) == sorted(folder.targets)


def test_coefficient_pipeline_equals_freqloader(folder: JpegFolder) -> None:
    pipe = fd.pipeline(
        folder, batch_size=3, size=S, device_id=None, train=False, source="coefficients"
    )
    xs, ys = _collect(fd.Iterator(pipe))
    loader = FreqLoader(folder, batch_size=3, size=S, device="cpu", train=False)
    for (x, y), u, v in zip(loader, xs, ys):
        assert y.tolist() == v
        assert_close(u, x.numpy())


def test_coefficient_source_pickles_and_is_deterministic(folder: JpegFolder) -> None:
    import pickle

    src = fd.coefficient_source(folder, batch_size=4, size=S, train=True, seed=5)
    again = pickle.loads(pickle.dumps(src))
    for a, b in zip(src(1), again(1)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(StopIteration):
        src(len(src))


@pytest.mark.parametrize(("output", "shape"), [("dwt", (12, S // 2, S // 2)), ("rgb", (3, S, S))])
def test_other_outputs(folder: JpegFolder, output: str, shape: tuple[int, ...]) -> None:
    it = fd.Iterator(
        fd.pipeline(
            folder, batch_size=4, size=S, device_id=None, output=output, dtype=torch.float16
        )
    )
    x, y = next(iter(it))
    assert tuple(x.shape) == (4, *shape) and x.dtype == torch.float16 and len(y) == 4


@pytest.mark.parametrize(
    "kwargs",
    [
        {"output": "jpeg"},
        {"size": 60},
        {"kernel": "gpu"},
        {"device_id": -1},
        {"source": "coefficients", "output": "rgb"},
        {"num_shards": 2, "shard_id": 2},
    ],
)
def test_invalid_arguments(kwargs: dict) -> None:
    args = {"batch_size": 2, "device_id": None, **kwargs}
    with pytest.raises(InvalidArgumentError):
        fd.pipeline(fp.samples_path(), **args)


def test_iterator_rejects_foreign_pipeline_without_spec() -> None:
    pipe = dali.pipeline.Pipeline(batch_size=1, num_threads=1, device_id=None)
    with pytest.raises(InvalidArgumentError, match="freqpipe_spec"):
        fd.Iterator(pipe)


def _cuda_dali() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: the mixed decoder and GPU kernels need one")
    pytest.importorskip("cupy", reason="CuPy (freqpipe[gpu]) needed for the GPU kernels")


@pytest.mark.gpu
@pytest.mark.parametrize("kernel", ["iterator", "pipeline"])
def test_gpu_pipeline_matches_cpu(folder: JpegFolder, kernel: str) -> None:
    _cuda_dali()
    kw = dict(batch_size=4, size=S, train=False, normalize=None)
    xg, yg = next(iter(fd.Iterator(fd.pipeline(folder, device_id=0, kernel=kernel, **kw))))
    xc, yc = next(iter(fd.Iterator(fd.pipeline(folder, device_id=None, **kw))))
    assert xg.is_cuda and yg.is_cuda and yg.tolist() == yc.tolist()
    # nvJPEG and libjpeg-turbo may differ by an 8-bit level or two per pixel; bound as above
    assert (xg.cpu() - xc).abs().max().item() <= 16.0


@pytest.mark.gpu
def test_gpu_coefficient_pipeline(folder: JpegFolder) -> None:
    _cuda_dali()
    pipe = fd.pipeline(
        folder, batch_size=3, size=S, device_id=0, train=False, source="coefficients"
    )
    x, y = next(iter(fd.Iterator(pipe)))
    xc, _ = next(iter(FreqLoader(folder, batch_size=3, size=S, device="cpu", train=False)))
    assert x.is_cuda
    assert_close(x.cpu(), xc)
