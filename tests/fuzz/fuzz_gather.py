"""Fuzz target: ``decode_jpeg`` then ``gather_coefficients`` with a random window, flip and
channel selection, the selection's prefix and the window's block rows read only when the
first byte says so (the loader's per-image path)."""

from __future__ import annotations

import atheris

with atheris.instrument_imports(include=["freqpipe"]):
    from freqpipe.errors import FreqpipeError
    from freqpipe.jpeg import decode_jpeg, gather_coefficients
    from freqpipe.transforms import Selection

from tests.fuzz._common import main, seed_jpegs

PRESETS = ("dct6", "dct24", "dct64", "all")


def test_one_input(data: bytes) -> None:
    if len(data) < 6:
        return
    fdp = atheris.FuzzedDataProvider(data[:6])
    strict = fdp.ConsumeBool()
    preset = PRESETS[fdp.ConsumeIntInRange(0, len(PRESETS) - 1)]
    top, left = fdp.ConsumeIntInRange(-8, 24), fdp.ConsumeIntInRange(-8, 24)
    height, width = fdp.ConsumeIntInRange(1, 32), fdp.ConsumeIntInRange(1, 32)
    hflip = fdp.ConsumeBool()
    partial = data[0] & 0x80  # the loader's read: only the selection and the window's rows
    try:
        dec = decode_jpeg(
            data[6:],
            strict=strict,
            max_pixels=1 << 24,
            select=preset if partial else None,
            block_rows=(top, top + height) if partial else None,
        )
        coeffs, quant = gather_coefficients(
            dec,
            Selection.preset(preset),
            top=top,
            left=left,
            height=height,
            width=width,
            hflip=hflip,
        )
    except FreqpipeError:
        return
    if coeffs.shape[1:] != (height, width) or quant.shape[0] != coeffs.shape[0]:
        raise AssertionError(f"gather returned {coeffs.shape} for a {height}x{width} window")
    int(coeffs.sum())


def seeds():
    for data in seed_jpegs():
        yield b"\x01\x02\x00\x00\x08\x08" + data
        yield b"\x81\x02\x04\x00\x08\x08" + data


if __name__ == "__main__":
    main(test_one_input, seeds)
