"""Freeze the public surface of freqpipe.transforms (STYLE.md: a removed name fails CI)."""

from __future__ import annotations

import freqpipe.transforms as tf

PUBLIC = {
    "MODES",
    "NATURAL_TO_ZIGZAG",
    "PLANE_NAMES",
    "PRESETS",
    "WAVELETS",
    "ZIGZAG_TO_NATURAL",
    "InvalidArgumentError",
    "ChannelStats",
    "DTypeError",
    "Selection",
    "SelectionError",
    "ShapeError",
    "align_chroma",
    "array_namespace",
    "block_dct",
    "block_idct",
    "center_crop_box",
    "channels_first",
    "channels_last",
    "crop_blocks",
    "dct_matrix",
    "dwt2",
    "flip_signs",
    "gather_blocks",
    "gpu_impl",
    "hflip_dct",
    "idwt2",
    "image_to_dct192",
    "load_default_stats",
    "natural_to_zigzag",
    "normalize",
    "random_resized_crop_params",
    "register_gpu",
    "resize_shape",
    "rgb_to_ycbcr",
    "dct_resize_matrix",
    "resize_dct",
    "resize_matrix",
    "upsample_matrix",
    "split_planes",
    "stack_planes",
    "stack_subbands",
    "subsampling_factors",
    "unstack_subbands",
    "vflip_dct",
    "wavedec2",
    "waverec2",
    "ycbcr_to_rgb",
    "zigzag_to_natural",
    "center_start",
    "center_window",
    "choose_window",
    "random_window",
}


def test_all_is_frozen_and_resolvable():
    assert set(tf.__all__) == PUBLIC
    for name in tf.__all__:
        assert getattr(tf, name) is not None


def test_every_public_callable_has_an_example():
    for name in tf.__all__:
        obj = getattr(tf, name)
        if callable(obj) and not isinstance(obj, type):
            assert obj.__doc__ and "Example:" in obj.__doc__, name


def test_errors_are_freqpipe_errors():
    from freqpipe.errors import FreqpipeError

    for err in (tf.ShapeError, tf.SelectionError, tf.InvalidArgumentError, tf.DTypeError):
        assert issubclass(err, FreqpipeError)
    assert issubclass(tf.ShapeError, ValueError) and issubclass(tf.DTypeError, TypeError)
