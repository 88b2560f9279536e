"""Fuzz target: the pure-Python marker parser behind ``freqpipe inspect``."""

from __future__ import annotations

import atheris

with atheris.instrument_imports(include=["freqpipe"]):
    from freqpipe.errors import FreqpipeError
    from freqpipe.jpeg.markers import parse_jpeg

from tests.fuzz._common import main, seed_jpegs


def test_one_input(data: bytes) -> None:
    try:
        structure = parse_jpeg(data)
    except FreqpipeError:
        return
    structure.to_dict()


if __name__ == "__main__":
    main(test_one_input, seed_jpegs)
