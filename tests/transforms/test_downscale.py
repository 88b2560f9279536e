"""DCT-domain scaling to a maximum side (``freqpipe.transforms.downscale``) against Pillow."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms import block_dct
from freqpipe.transforms.downscale import downscale_dct, downscale_matrix, max_side_size


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
