"""Fuzz target: opening and verifying a store whose manifest or shard header is replaced.

A small valid store is built once; each input replaces either ``manifest.json`` (first byte
even) or the JSON header of its first shard (first byte odd) with the rest of the input. Then
``verify`` runs and ``FreqStore`` opens and reads every record. Both may only raise
:class:`~freqpipe.errors.FreqpipeError`, and when ``verify`` finds no problem, the records read
must be the ones written: a manifest edit that changes how bytes are read cannot pass
``verify``.
"""

from __future__ import annotations

import atexit
import shutil
import struct
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import atheris
import numpy as np

with atheris.instrument_imports(include=["freqpipe"]):
    from freqpipe.errors import FreqpipeError
    from freqpipe.store import FreqStore, convert, verify
    from freqpipe.store.format import MAGIC, MANIFEST, PAGE

from tests.fuzz._common import main


@cache
def pristine() -> tuple[Path, bytes, bytes, Path, tuple[np.ndarray, ...]]:
    """(store dir, manifest bytes, shard bytes, shard path, records) of the pristine store."""
    from freqpipe._samples import samples_path

    root = Path(tempfile.mkdtemp(prefix="freqpipe-fuzz-store-"))
    atexit.register(shutil.rmtree, root, True)
    convert(samples_path(), root, select="dct6", size=16, shard_size=4, progress=False)
    store = FreqStore(root)
    batch = store.read_batch(np.arange(len(store)))
    records = (batch.coeffs.copy(), batch.quant.copy(), batch.labels.copy())
    shard = root / store.shard_entries[0]["name"]
    return root, (root / MANIFEST).read_bytes(), shard.read_bytes(), shard, records


def _header_body(shard: bytes) -> bytes:
    (n,) = struct.unpack("<Q", shard[8:16])
    return shard[16 : 16 + n]


def _with_header(shard: bytes, body: bytes) -> bytes:
    raw = MAGIC + struct.pack("<Q", len(body)) + body
    return raw[:PAGE].ljust(PAGE, b"\0") + shard[PAGE:] if len(raw) <= PAGE else raw


def test_one_input(data: bytes) -> None:
    if not data:
        return
    root, manifest, shard, shard_path, records = pristine()
    if data[0] & 1:
        shard_path.write_bytes(_with_header(shard, data[1:]))
    else:
        (root / MANIFEST).write_bytes(data[1:])
    try:
        ok = verify(root).ok
        store = FreqStore(root)
        n = len(store)
        batch = store.read_batch(np.arange(n)) if store.record_kind != "jpeg" else None
    except FreqpipeError:
        return
    finally:
        (root / MANIFEST).write_bytes(manifest)
        shard_path.write_bytes(shard)
    if ok and batch is not None:
        coeffs, quant, labels = records
        same = (
            batch.coeffs.shape == coeffs.shape
            and np.array_equal(batch.coeffs, coeffs)
            and np.array_equal(batch.quant, quant)
            and np.array_equal(batch.labels, labels)
        )
        if not same:
            raise AssertionError("verify passed but FreqStore read different records")


def seeds() -> Iterator[bytes]:
    _, manifest, shard, _, _ = pristine()
    yield b"\x00" + manifest
    yield b"\x01" + _header_body(shard)


if __name__ == "__main__":
    main(test_one_input, seeds)
