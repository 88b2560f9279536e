"""The pixel source with nvImageCodec equals it with PyTurboJPEG where both decode fully."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

import freqpipe as fp
from freqpipe import _nvimgcodec
from freqpipe.data import FreqLoader, JpegFileList
from freqpipe.errors import InvalidArgumentError

pytestmark = pytest.mark.skipif(
    not _nvimgcodec.available("cpu"), reason="nvImageCodec not installed (comes with DALI)"
)


def _unscaled_files() -> list:
    # At size 224 the eval resize targets a 256-pixel short side; PyTurboJPEG decodes at full
    # size when that is more than half the image, so the two decoders see identical pixels.
    files = []
    for path in fp.sample_files():
        with Image.open(path) as im:
            if min(im.size) < 512:
                files.append(path)
    return files


@pytest.mark.parametrize("output", ["rgb", "dct"])
def test_nvimgcodec_matches_turbojpeg(output: str) -> None:
    files = _unscaled_files()
    assert len(files) >= 4
    common = dict(batch_size=4, output=output, source="pixels", size=224, device="cpu")
    turbo = FreqLoader(JpegFileList(files), **common)
    nv = FreqLoader(JpegFileList(files), decoder="nvimgcodec", **common)
    for (a, ya), (b, yb) in zip(turbo, nv):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
        assert ya.tolist() == yb.tolist()


def test_bad_decoder_name() -> None:
    with pytest.raises(InvalidArgumentError, match="decoder"):
        FreqLoader(fp.samples_path(), decoder="nvjpeg", device="cpu")
