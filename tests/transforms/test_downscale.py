"""DCT-domain scaling to a maximum side (``freqpipe.transforms.downscale``) against Pillow."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms import block_dct
from freqpipe.transforms.downscale import (
    downscale_dct,
    downscale_matrix,
    max_side_size,
    subsample_axis,
    subsample_dct,
)
from freqpipe.transforms.resize import block_dct_matrix


def _pillow_then_dct(
    x: np.ndarray, extent: tuple[float, float], out: tuple[int, int]
) -> np.ndarray:
    """Pillow's bilinear resize of the plane's box, edge-padded to blocks, block DCT."""
    rows, cols = int(np.ceil(extent[0])), int(np.ceil(extent[1]))
    im = Image.fromarray(x[:rows, :cols].astype(np.float32), "F")
    y = np.asarray(
        im.resize((out[1], out[0]), Image.Resampling.BILINEAR, box=(0, 0, extent[1], extent[0])),
        np.float64,
    )
    hb, wb = -(-out[0] // 8), -(-out[1] // 8)
    return block_dct(np.pad(y, ((0, 8 * hb - out[0]), (0, 8 * wb - out[1])), mode="edge"))


@pytest.mark.parametrize(
    ("extent", "out"),
    [((37, 53), (19, 26)), ((18.5, 26.5), (10, 13)), ((40, 40), (8, 8)), ((37, 53), (37, 53))],
)
def test_equals_pillow_resize_then_block_dct(
    extent: tuple[float, float], out: tuple[int, int]
) -> None:
    # A plane coded in whole blocks whose image part is ceil(extent): odd sizes, a half-covered
    # last chroma sample, an exact multiple of 8, and no scaling at all (edge padding only).
    x = np.random.default_rng(0).uniform(0, 255, (40, 56))
    got = downscale_dct(block_dct(x), extent, out)
    # Pillow computes in float32: 3e-5 of 255 on these values
    np.testing.assert_allclose(got, _pillow_then_dct(x, extent, out), atol=1e-4)


def test_selected_frequencies_are_the_full_result_rows() -> None:
    c = block_dct(np.random.default_rng(1).uniform(0, 255, (24, 32)))
    full = downscale_dct(c, (24, 32), (13, 17))
    freqs = np.array([0, 1, 9, 63])
    np.testing.assert_allclose(downscale_dct(c, (24, 32), (13, 17), freqs), full[freqs])


def test_matrix_checks() -> None:
    assert np.allclose(downscale_matrix(16, 2, 16), np.eye(16))
    with pytest.raises(InvalidArgumentError):
        downscale_matrix(40, 2, 8)  # 40 samples do not fit 2 blocks


def test_max_side_size_is_ffcvs_rule() -> None:
    # FFCV: ratio = max_resolution / max(size); new = (ratio * size).astype(int), only when < 1.
    assert max_side_size(375, 500, 256) == (192, 256)
    assert max_side_size(500, 333, 256) == (256, 170)
    assert max_side_size(256, 100, 256) == (256, 100)
    assert max_side_size(3, 5000, 256) == (1, 256)
    assert max_side_size(600, 800, None) == (600, 800)
    with pytest.raises(InvalidArgumentError):
        max_side_size(0, 5, 256)


def _pillow_halved_then_dct(x: np.ndarray, samples: tuple[int, int], factor: tuple[int, int]):
    """Pillow's 2x bilinear reduction of the halved axes (odd sizes edge-padded), block DCT.

    An axis that is kept stays the coded plane, block padding included; Pillow skips the
    pass of an axis whose size does not change.
    """
    keep = [n if f == 2 else x.shape[a] for a, (n, f) in enumerate(zip(samples, factor))]
    plane = x[: keep[0], : keep[1]]
    even = [n + n % 2 if f == 2 else n for n, f in zip(keep, factor)]
    plane = np.pad(plane, [(0, e - n) for e, n in zip(even, keep)], mode="edge")
    out = [e // f for e, f in zip(even, factor)]
    im = Image.fromarray(plane.astype(np.float32), "F")
    y = np.asarray(im.resize((out[1], out[0]), Image.Resampling.BILINEAR), np.float64)
    blocks = [-(-n // 8) for n in out]
    return block_dct(np.pad(y, [(0, 8 * b - n) for b, n in zip(blocks, out)], mode="edge"))


@pytest.mark.parametrize(
    ("samples", "factor"),
    [
        ((37, 53), (2, 2)),  # 4:4:4, odd both ways
        ((40, 56), (2, 2)),  # 4:4:4, whole blocks
        ((35, 50), (2, 2)),  # 4:4:4, ImageNet-like odd height
        ((37, 27), (2, 1)),  # 4:2:2 chroma: full height, already half width
        ((19, 53), (1, 2)),  # 4:4:0 chroma: already half height, full width
    ],
)
def test_subsample_equals_pillow_2x_bilinear(
    samples: tuple[int, int], factor: tuple[int, int]
) -> None:
    x = np.random.default_rng(2).uniform(0, 255, (40, 56))
    got = subsample_dct(block_dct(x), samples, factor)
    # Pillow computes in float32: 3e-5 of 255 on these values
    np.testing.assert_allclose(got, _pillow_halved_then_dct(x, samples, factor), atol=1e-4)


def test_subsample_axis_is_the_identity_or_a_halving() -> None:
    assert np.array_equal(subsample_axis(20, 3, 1), np.eye(24))
    # the interior rows of a halving: Pillow's triangle stretched by 2 (conventions §9)
    t = subsample_axis(32, 4, 2)
    samples = block_dct_matrix(2).T @ t @ block_dct_matrix(4)
    np.testing.assert_allclose(samples[5, 8:14], [0, 1 / 8, 3 / 8, 3 / 8, 1 / 8, 0], atol=1e-12)
    with pytest.raises(InvalidArgumentError, match="factor 4"):
        subsample_axis(20, 3, 4)
