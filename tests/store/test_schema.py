"""The manifest and shard-header schema (issue 20, findings 3 and 4): every field that decides
how bytes are read is checked, on open and by verify, with typed errors naming file and field."""

from __future__ import annotations

import argparse
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from freqpipe._cli import verify as verify_cli
from freqpipe.errors import StoreCorruptError, StoreSchemaError
from freqpipe.store import FreqStore, convert, verify
from freqpipe.store.format import MAGIC, PAGE, check_header, read_header
from freqpipe.store.schema import check_manifest


@pytest.fixture()
def store(small_folder: Path, tmp_path: Path) -> Path:
    # int16 on purpose: some values do not fit int8, so a manifest saying int8 would wrap.
    dst = tmp_path / "s"
    convert(small_folder, dst, select="dct24", size=32, shard_size=5, dtype="int16", progress=False)
    return dst


def _edit_manifest(store: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = store / "manifest.json"
    m = json.loads(path.read_text())
    change(m)
    path.write_text(json.dumps(m))


def _edit_header(shard: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = shard.read_bytes()
    (n,) = struct.unpack("<Q", data[8:16])
    obj = json.loads(data[16 : 16 + n])
    change(obj)
    body = json.dumps(obj).encode()
    head = (MAGIC + struct.pack("<Q", len(body)) + body).ljust(PAGE, b"\0")
    shard.write_bytes(head + data[PAGE:])


def _cli_verify(store: Path) -> int:
    p = argparse.ArgumentParser()
    verify_cli.register(p.add_subparsers())
    return int(verify_cli.run(p.parse_args(["verify", str(store)])))


def test_the_writers_output_satisfies_the_schema(store: Path) -> None:
    m = json.loads((store / "manifest.json").read_text())
    assert check_manifest(m, "manifest.json") is m
    for entry in m["shards"]:
        shard = store / entry["name"]
        data = shard.read_bytes()
        (n,) = struct.unpack("<Q", data[8:16])
        kind, records, _, size = check_header(json.loads(data[16 : 16 + n]), str(shard))
        assert (kind, records, size) == ("quantized", entry["records"], len(data))
    assert verify(store).ok


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(m: dict[str, Any]) -> None:
        m[key] = value

    return change


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_set("dtype", "int8"), "dtype"),  # the silent wrap
        (_set("size", 40), "layout.coeffs"),
        (_set("dtype", "bogus"), "dtype"),
        (_set("size", "abc"), "size"),
        (_set("kind", "float16"), "dtype"),
        (lambda m: m.pop("shards"), "shards"),
        (lambda m: m["shards"][1].pop("inputs"), "shards[1].inputs"),
        (lambda m: m["shards"][0].pop("name"), "shards[0].name"),
        (lambda m: m["shards"][2].update(records="x"), "shards[2].records"),
        (lambda m: m["shards"][0].update(name="../../etc/passwd"), "shards[0].name"),
        (lambda m: m["shards"][0].update(inputs=[5, 1]), "shards[0].inputs"),
        (_set("selection", "{}"), "selection"),
    ],
)
def test_manifest_edits_are_refused_by_verify_and_on_open(
    store: Path, change: Callable[[dict[str, Any]], None], field: str
) -> None:
    _edit_manifest(store, change)
    with pytest.raises(StoreSchemaError) as info:
        FreqStore(store)
    assert info.value.field == field
    assert info.value.source == str(store / "manifest.json")
    assert repr(field) in str(info.value)
    report = verify(store)
    assert not report.ok and any(repr(field) in p for p in report.problems)
    assert _cli_verify(store) == 1  # a message, not a traceback


def test_a_shard_edit_that_keeps_sizes_is_caught_against_its_header(store: Path) -> None:
    # The shard entry's dtype and the manifest's agree on int8, the header says int16.
    def change(m: dict[str, Any]) -> None:
        m["dtype"] = "int8"
        m["layout"]["coeffs"]["dtype"] = "int8"
        for e in m["shards"]:
            e["dtype"] = "int8"

    _edit_manifest(store, change)
    with pytest.raises(StoreSchemaError, match="'dtype' is 'int16' in the header"):
        FreqStore(store)
    assert any("'dtype' is 'int16' in the header" in p for p in verify(store).problems)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda h: h["sections"]["coeffs"].update(shape=[5, 24, 4, 400]), "sections.coeffs"),
        (lambda h: h["sections"]["coeffs"].update(shape=[5, 24, 4]), "sections.coeffs.shape"),
        (lambda h: h["sections"]["labels"].update(offset=1), "sections.labels.offset"),
        (lambda h: h["sections"]["labels"].update(dtype="float64"), "sections.labels.dtype"),
        (lambda h: h["sections"]["coeffs"].update(dtype=7), "sections.coeffs.dtype"),
        (lambda h: h["sections"].pop("index"), "sections"),
        (lambda h: h.update(records="5"), "records"),
        (lambda h: h.pop("kind"), "kind"),
    ],
)
def test_header_edits_are_typed_errors(
    store: Path, change: Callable[[dict[str, Any]], None], field: str
) -> None:
    shard = store / "shard-r0000-000000.fps"
    _edit_header(shard, change)
    with pytest.raises(StoreSchemaError) as info:
        read_header(shard)
    assert info.value.field == field and info.value.source == str(shard)
    with pytest.raises(StoreCorruptError):
        FreqStore(store)
    assert not verify(store).ok


def test_a_header_shape_that_disagrees_with_the_manifest(store: Path) -> None:
    # A valid JSON edit of the coefficient shape that still fits inside the file.
    shard = store / "shard-r0000-000000.fps"
    _edit_header(shard, lambda h: h["sections"]["coeffs"].update(shape=[5, 24, 2, 2]))
    with pytest.raises(StoreSchemaError, match="does not match the manifest"):
        FreqStore(store)


def test_records_read_are_the_records_written(store: Path) -> None:
    ds = FreqStore(store)
    batch = ds.read_batch(np.arange(len(ds)))
    assert batch.coeffs.dtype == np.int16 and np.abs(batch.coeffs).max() > 127
