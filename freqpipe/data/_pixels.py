"""Pixel source: decode (PyTurboJPEG), torchvision-default crops and flips, uint8 into the slot.

Training follows torchvision's ``RandomResizedCrop(size)`` defaults (scale (0.08, 1), ratio
(3/4, 4/3), 10 attempts, then the centred fallback) and ``RandomHorizontalFlip()``; evaluation
resizes the short side to ``round(size * 8 / 7)`` (512 for 448, DCTNet) and centre-crops. When
the region to resize is at least twice the target in both directions, libjpeg-turbo's scaled
decode (1/2, 1/4, 1/8) does part of the shrinking. Resizing is Pillow's bilinear (antialiased,
as torchvision on PIL images). As torchvision's ``resized_crop``, a training crop is cut out
first and then resized, so the filter stays inside the crop (conventions §9): exactly
torchvision's crop of a full-size decode; after a scaled decode, whose box falls between
pixels, the cut is the whole pixels covering the box, so the filter may reach less than one
scaled pixel beyond it. The frequency transform runs later, on the device stage.

libjpeg-turbo recovers damaged-but-decodable data here (PyTurboJPEG issues a warning); fatal
errors are bad files for the loader's ``on_error`` policy.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from PIL import Image

from freqpipe.data._batch import BatchSpec, HostBatch
from freqpipe.data._source import ErrorPolicy, SampleSource
from freqpipe.jpeg.fallback import open_rgb
from freqpipe.jpeg.pixels import center_crop_rgb, decode_rgb, turbo_decoder
from freqpipe.transforms import random_resized_crop_params

__all__ = ["PixelSource", "decode_rgb", "random_resized_crop_params"]


def _read(source: Any) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    with open(os.fspath(source), "rb") as f:
        return f.read()


class PixelSource(SampleSource):
    """Fills slots with (size, size, 3) uint8 RGB crops.

    Args:
        dataset: map-style ``(path or bytes, label)`` dataset.
        policy: bad-file policy.
        size: output side in pixels.
        batch_size: samples per slot.
        train: RandomResizedCrop + flip; otherwise resize + centre crop.
    """

    produces = "pixels"

    def __init__(
        self,
        dataset: Any,
        policy: ErrorPolicy,
        *,
        size: int,
        batch_size: int,
        train: bool,
        decoder: str = "turbojpeg",
        decode_device: str = "cpu",
    ):
        super().__init__(dataset, policy)
        self.size = size
        self.train = train
        self.spec = BatchSpec(batch_size, {"pixels": ((size, size, 3), "uint8")})
        self._turbo = turbo_decoder()
        self._nvimgcodec: Any = None
        if decoder == "nvimgcodec":
            from freqpipe import _nvimgcodec

            _nvimgcodec.require_nvimgcodec()
            self._nvimgcodec = _nvimgcodec
        self._decode_device = decode_device

    def _decode(self, data: bytes, region: tuple[int, int], target: tuple[int, int]) -> Any:
        if self._nvimgcodec is None:
            return decode_rgb(self._turbo, data, region, target)
        # nvImageCodec decodes at full size (nvJPEG on a GPU); the crop below is the same.
        return self._nvimgcodec.decode_batch([data], device=self._decode_device, output="numpy")[0]

    def crop_rgb(self, data: bytes, rng: Any) -> np.ndarray:
        """The (size, size, 3) uint8 crop of one JPEG (the exact per-sample transform)."""
        width, height, _, _ = self._turbo.decode_header(data)
        return self._crop(
            height, width, lambda region, target: self._decode(data, region, target), rng
        )

    def _crop(self, height: int, width: int, decode: Any, rng: Any) -> np.ndarray:
        """Crop, resize and flip an image that ``decode(region, target)`` delivers as RGB."""
        s = self.size
        if self.train:
            top, left, h, w = random_resized_crop_params(height, width, rng)
            rgb = decode((h, w), (s, s))
            fy, fx = rgb.shape[0] / height, rgb.shape[1] / width
            box = (left * fx, top * fy, (left + w) * fx, (top + h) * fy)
            # torchvision crops, then resizes, so the filter never reads outside the box; a
            # scaled decode's box is fractional, so crop to the whole pixels that cover it
            x0, y0 = math.floor(box[0]), math.floor(box[1])
            x1, y1 = math.ceil(box[2]), math.ceil(box[3])
            inner = (box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0)
            cropped = Image.fromarray(rgb[y0:y1, x0:x1])
            out = np.asarray(cropped.resize((s, s), Image.Resampling.BILINEAR, box=inner))
            if rng.random() < 0.5:
                out = out[:, ::-1]
            return out
        return center_crop_rgb(height, width, s, decode)

    def _fallback_crop(self, data: bytes, rng: Any, name: str, error: OSError) -> np.ndarray:
        """Pillow's RGB decode of a file libjpeg-turbo refused (CMYK, PNG), same crop."""
        try:
            rgb, kind = open_rgb(data)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise error from exc  # Pillow cannot read it either: a bad file
        self.policy.record_fallback(name, f"{kind} (libjpeg-turbo: {error})")
        return self._crop(rgb.shape[0], rgb.shape[1], lambda region, target: rgb, rng)

    def load_one(self, batch: HostBatch, pos: int, source: Any, name: str, rng: Any) -> None:
        """Decode, crop and flip one file into ``batch`` position ``pos``.

        A file libjpeg-turbo cannot decode to RGB goes through the Pillow fallback.
        """
        data = _read(source)
        try:
            crop = self.crop_rgb(data, rng)
        except OSError as exc:  # PyTurboJPEG's; the fallback continues the same random stream
            crop = self._fallback_crop(data, rng, name, exc)
        batch.arrays["pixels"][pos] = crop
