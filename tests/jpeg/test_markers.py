"""parse_jpeg (pure Python, for inspect) agrees with libjpeg's view through the native reader."""

from __future__ import annotations

import warnings

import pytest

from freqpipe.errors import CorruptJpegError, CorruptJpegWarning, FreqpipeError, NotAJpegError
from freqpipe.jpeg import parse_jpeg, read_coefficients
from tests.conftest import CONFORMANCE, conformance_manifest
from tests.jpeg.fixtures import encoded_fixtures

FILES = [(n, d) for n, d in encoded_fixtures()] + [
    (row["file"], (CONFORMANCE / row["file"]).read_bytes()) for row in conformance_manifest()
]


@pytest.mark.parametrize("name,data", FILES, ids=[n for n, _ in FILES])
def test_structure_matches_libjpeg(name: str, data: bytes) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CorruptJpegWarning)
            c = read_coefficients(data, strict=False, max_pixels=None)
    except FreqpipeError:
        pytest.skip("not readable by the native reader")
    s = parse_jpeg(data)
    assert (s.frame["width"], s.frame["height"]) == (c.width, c.height)
    comps = s.frame["components"]
    assert [(x["h"], x["v"]) for x in comps] == list(c.sampling)
    for i, comp in enumerate(comps):
        assert s.quant_tables[comp["quant_table"]] == c.quant[i].tolist()
    assert s.restart_interval == c.restart_interval
    assert len(s.scans) == c.scans
    assert (s.frame["kind"].startswith("progressive")) == c.progressive


def test_errors() -> None:
    with pytest.raises(NotAJpegError):
        parse_jpeg(b"GIF89a")
    _, data = encoded_fixtures()[0]
    sof = data.index(b"\xff\xc0")
    with pytest.raises(CorruptJpegError, match="runs past the end"):
        parse_jpeg(data[: sof + 6])
