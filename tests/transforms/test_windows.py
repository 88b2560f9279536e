"""Window geometry against torchvision's CenterCrop, written from its source (conventions §7)."""

from __future__ import annotations

import numpy as np
import pytest

from freqpipe.errors import InvalidArgumentError
from freqpipe.transforms import (
    center_crop_box,
    center_start,
    center_window,
    choose_window,
    random_window,
)


def torchvision_center_crop(img: np.ndarray, crop: int) -> np.ndarray:
    """torchvision.transforms.functional.center_crop on an (H, W) array, padding with -1.

    From torchvision's source: when the image is smaller, pad first with
    ``padding_ltrb = [(cw - w) // 2, (ch - h) // 2, (cw - w + 1) // 2, (ch - h + 1) // 2]``
    (left, top, right, bottom), then crop at ``crop_top = int(round((h - ch) / 2.0))`` and
    ``crop_left = int(round((w - cw) / 2.0))``.
    """
    h, w = img.shape
    if crop > h or crop > w:
        pad = [
            (crop - w) // 2 if crop > w else 0,
            (crop - h) // 2 if crop > h else 0,
            (crop - w + 1) // 2 if crop > w else 0,
            (crop - h + 1) // 2 if crop > h else 0,
        ]
        img = np.pad(img, ((pad[1], pad[3]), (pad[0], pad[2])), constant_values=-1)
        h, w = img.shape
    top, left = int(round((h - crop) / 2.0)), int(round((w - crop) / 2.0))  # noqa: RUF046
    return img[top : top + crop, left : left + crop]


def window_of(grid: tuple[int, int], n: int) -> np.ndarray:
    """The n x n window center_window chooses, of an index grid (-1 for padding)."""
    hb, wb = grid
    idx = np.arange(hb * wb).reshape(hb, wb)
    top, left = center_window(grid, n)
    rows, cols = np.arange(top, top + n), np.arange(left, left + n)
    inside = (rows[:, None] >= 0) & (rows[:, None] < hb) & (cols >= 0) & (cols < wb)
    return np.where(inside, idx[rows.clip(0, hb - 1)][:, cols.clip(0, wb - 1)], -1)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 8, 28, 56])
def test_center_window_is_torchvision_center_crop_of_the_block_grid(n: int) -> None:
    for hb in range(1, 70, 3):
        for wb in (1, 2, 5, 47, 63, n, n + 1, n + 3):
            ref = torchvision_center_crop(np.arange(hb * wb).reshape(hb, wb), n)
            np.testing.assert_array_equal(window_of((hb, wb), n), ref, err_msg=f"{hb}x{wb}")


def test_center_start_values() -> None:
    # A 500x375 photo has a 47x63 luma block grid; at 448 pixels the window is 56 blocks:
    # torchvision pads 9 rows as 4 before / 5 after, and crops 7 surplus columns at round(3.5).
    assert center_window((47, 63), 56) == (-4, 4)
    assert center_window((47, 63), 28) == (10, 18)  # round(9.5), round(17.5): half to even
    assert [center_start(e, 2) for e in (3, 5, 7, 9)] == [0, 2, 2, 4]
    assert center_window((47, 63), 56, align=2) == (-4, 4)
    assert center_window((49, 63), 56, align=2) == (-4, 4)  # -3 rounded down to even


def test_center_crop_box_shares_the_rule() -> None:
    for h in range(448, 470):
        for w in (448, 449, 451, 682):
            assert center_crop_box(h, w, 448) == (center_start(h, 448), center_start(w, 448))


def test_random_window_covers_every_position_and_keeps_the_stream() -> None:
    rng = np.random.default_rng(0)
    seen = {random_window((5, 2), 4, rng) for _ in range(400)}
    assert seen == {(t, left) for t in range(2) for left in range(-2, 1)}
    # choose_window draws rows, columns, then the flip, from one generator.
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    top, left, flip = choose_window((47, 63), 56, train=True, rng=a)
    assert (top, left, flip) == (
        int(b.integers(-9, 1)),
        int(b.integers(0, 8)),
        bool(b.random() < 0.5),
    )


def test_bad_sizes_raise() -> None:
    with pytest.raises(InvalidArgumentError):
        center_start(0, 4)
    with pytest.raises(InvalidArgumentError):
        center_window((4, 4), 0)
