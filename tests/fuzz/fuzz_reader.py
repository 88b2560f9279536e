"""Fuzz target: ``read_coefficients`` on arbitrary bytes, strict on and off, random
``components`` and ``freqs`` (the first bytes of the input choose them)."""

from __future__ import annotations

import atheris

with atheris.instrument_imports(include=["freqpipe"]):
    from freqpipe.errors import FreqpipeError
    from freqpipe.jpeg import read_coefficients

from tests.fuzz._common import main, seed_jpegs

# A cap that a fuzzed header can reach (16 Mpx) so a bomb is refused instead of allocated.
MAX_PIXELS = 1 << 24


def test_one_input(data: bytes) -> None:
    if len(data) < 3:
        return
    mode, comp_byte, freq_byte, body = data[0], data[1], data[2], data[3:]
    strict = bool(mode & 1)
    components = None if comp_byte & 0x80 else [comp_byte & 3]
    freqs = (
        None
        if freq_byte & 0x80
        else sorted({(freq_byte * 7 + i * 13) % 64 for i in range(freq_byte % 9)})
    )
    try:
        c = read_coefficients(
            body, strict=strict, components=components, freqs=freqs, max_pixels=MAX_PIXELS
        )
    except FreqpipeError:
        return
    for plane in c.planes:  # touch every value: a bad view or copy shows up here
        int(plane.sum())
    c.dequantized()


def seeds():
    for data in seed_jpegs():
        yield b"\x00\x80\x80" + data
        yield b"\x01\x00\x05" + data


if __name__ == "__main__":
    main(test_one_input, seeds)
