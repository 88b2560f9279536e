"""The public API surface: a removed or renamed name must fail here, on purpose."""

from __future__ import annotations

import subprocess
import sys

import freqpipe as fp

# DESIGN.md's public names as of this version; extend when adding, never silently shrink.
EXPECTED = {
    "BadFileWarning",
    "BatchTimeoutError",
    "ChannelStats",
    "CorruptJpegError",
    "CorruptJpegWarning",
    "DTypeError",
    "DeviceUnavailableError",
    "FileMissingError",
    "FixedCropStoreError",
    "FixedCropWarning",
    "DiskFullError",
    "ElasticSampler",
    "FreqLoader",
    "FreqStore",
    "FreqpipeError",
    "ImageTooLargeError",
    "IncompleteStoreError",
    "InvalidArgumentError",
    "JpegCoefficients",
    "JpegFileList",
    "JpegFolder",
    "LoaderStateError",
    "MissingExtraError",
    "NotAJpegError",
    "Selection",
    "SelectionError",
    "ShapeError",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreSchemaError",
    "UnsupportedJpegError",
    "__version__",
    "align_chroma",
    "block_dct",
    "block_idct",
    "convert",
    "crop_blocks",
    "dwt2",
    "gather_blocks",
    "hflip_dct",
    "idwt2",
    "load_default_stats",
    "natural_to_zigzag",
    "normalize",
    "read_coefficients",
    "read_coefficients_batch",
    "reorder_jpeg",
    "rgb_to_ycbcr",
    "sample_files",
    "samples_path",
    "stack_planes",
    "stack_subbands",
    "unstack_subbands",
    "verify",
    "vflip_dct",
    "wavedec2",
    "waverec2",
    "ycbcr_to_rgb",
    "zigzag_to_natural",
}


def test_public_names() -> None:
    assert set(fp.__all__) == EXPECTED
    for name in fp.__all__:
        assert hasattr(fp, name), name


def test_errors_share_one_base() -> None:
    for name in fp.__all__:
        obj = getattr(fp, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            base = UserWarning if issubclass(obj, Warning) else fp.FreqpipeError
            assert issubclass(obj, base), name


def test_import_is_light() -> None:
    # DESIGN: `import freqpipe` must not import cupy, DALI, torch-heavy modules or the kernels.
    code = (
        "import sys, freqpipe; "
        "bad = [m for m in ('cupy', 'nvidia.dali', 'freqpipe.cuda', 'matplotlib', 'scipy') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_models_load_lazily() -> None:
    code = (
        "import sys, freqpipe; "
        "a = [m for m in ('freqpipe.models', 'freqpipe.data', 'freqpipe.store', 'torch') "
        "if m in sys.modules]; freqpipe.models; print(a == [])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    assert "dct_resnet50" in fp.models.list_models()
    assert fp.FreqLoader.__name__ == "FreqLoader" and fp.convert.__module__.startswith("freqpipe")
