from __future__ import annotations

import numpy as np
import pytest
import scipy.fft

from freqpipe.transforms import (
    DTypeError,
    ShapeError,
    center_crop_box,
    image_to_dct192,
    resize_shape,
)
from tests.tolerances import assert_close


def test_resize_shape_is_resize_512_for_448():
    assert resize_shape(375, 500) == (512, 682)
    assert resize_shape(500, 375) == (682, 512)
    assert resize_shape(512, 512) == (512, 512)
    assert resize_shape(100, 200, size=224) == (256, 512)
    with pytest.raises(ShapeError):
        resize_shape(0, 10)


def test_center_crop_box_rounds_like_torchvision():
    # torchvision CenterCrop: int(round((H - size) / 2.0))
    assert center_crop_box(512, 682, 448) == (32, 117)
    assert center_crop_box(449, 450, 448) == (0, 1)
    with pytest.raises(ShapeError):
        center_crop_box(400, 500, 448)


def test_image_to_dct192_equals_scipy_route(sample_photos):
    rgb = sample_photos[0]
    size = 64
    out = image_to_dct192(rgb, size)
    assert out.shape == (192, 8, 8) and out.dtype == np.float32
    top, left = center_crop_box(rgb.shape[0], rgb.shape[1], size)
    crop = rgb[top : top + size, left : left + size].astype(np.float64)
    r, g, b = crop[..., 0], crop[..., 1], crop[..., 2]
    planes = [  # conventions §2
        0.299 * r + 0.587 * g + 0.114 * b,
        -0.168736 * r - 0.331264 * g + 0.5 * b + 128,
        0.5 * r - 0.418688 * g - 0.081312 * b + 128,
    ]
    for p, plane in enumerate(planes):
        blocks = (plane - 128).reshape(8, 8, 8, 8).transpose(0, 2, 1, 3)
        coef = scipy.fft.dctn(blocks, axes=(-2, -1), norm="ortho").reshape(8, 8, 64)
        assert_close(out[64 * p : 64 * p + 64], np.moveaxis(coef, -1, 0), np.float32)


def test_image_to_dct192_errors():
    with pytest.raises(ShapeError):
        image_to_dct192(np.zeros((8, 8)))
    with pytest.raises(DTypeError):
        image_to_dct192(np.zeros((8, 8, 3), np.int32))
    with pytest.raises(ShapeError):
        image_to_dct192(np.zeros((8, 8, 3), np.uint8), size=16)
