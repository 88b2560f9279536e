"""Crash safety: SIGKILL + resume, unfinished stores, full disk, settings mismatch."""

from __future__ import annotations

import errno
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from freqpipe.store import (
    DiskFullError,
    FreqStore,
    IncompleteStoreError,
    StoreError,
    convert,
    verify,
)
from freqpipe.store import writer as writer_mod
from tests.store.conftest import run_convert

ARGS = ("--select", "dct24", "--size", "48", "--shard-size", "4", "--workers", "2")


def _same_store(a: Path, b: Path) -> None:
    sa, sb = FreqStore(a), FreqStore(b)
    assert len(sa) == len(sb) > 0
    np.testing.assert_array_equal(sa.labels, sb.labels)
    np.testing.assert_array_equal(sa.indices, sb.indices)
    ba, bb = sa.read_batch(np.arange(len(sa))), sb.read_batch(np.arange(len(sb)))
    np.testing.assert_array_equal(ba.coeffs, bb.coeffs)
    np.testing.assert_array_equal(ba.quant, bb.quant)
    # shard files are byte-identical too (same plan, deterministic content)
    for ea, eb in zip(sa.manifest["shards"], sb.manifest["shards"], strict=True):
        assert ea["name"] == eb["name"] and ea["blake2b"] == eb["blake2b"]


def test_sigkill_then_resume_equals_uninterrupted(big_folder: Path, tmp_path: Path) -> None:
    ref = tmp_path / "ref"
    assert run_convert(str(big_folder), str(ref), *ARGS).wait(60) == 0
    dst = tmp_path / "killed"
    proc = run_convert(
        str(big_folder), str(dst), *ARGS, env={"FREQPIPE_CONVERT_SHARD_DELAY": "0.3"}
    )
    deadline = time.monotonic() + 30
    while len(list(dst.glob("shard-*.json"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    complete = sorted(dst.glob("shard-*.json"))
    assert 3 <= len(complete) < 15, "the kill must land mid-way"
    with pytest.raises(IncompleteStoreError, match="--resume"):
        FreqStore(dst)
    assert not verify(dst).ok
    stamps = {
        p.name: p.stat().st_mtime_ns
        for p in dst.glob("shard-*.fps")
        if p.with_suffix(".json").exists()
    }
    res = run_convert(str(big_folder), str(dst), *ARGS, "--resume")
    out, err = res.communicate(timeout=60)
    assert res.returncode == 0, err
    assert f"resumed {len(complete)} shard(s)" in out
    for name, stamp in stamps.items():  # complete shards were not redone
        assert (dst / name).stat().st_mtime_ns == stamp
    assert verify(dst).ok
    assert not list(dst.glob("*.tmp"))
    _same_store(ref, dst)


def test_partial_shard_is_redone(small_folder: Path, tmp_path: Path) -> None:
    dst = tmp_path / "s"
    convert(small_folder, dst, select="dct6", size=16, shard_size=4, progress=False)
    ref = FreqStore(dst).read_batch(np.arange(18)).coeffs.copy()
    # simulate a crash: manifest not yet written, shard 2 renamed but its sidecar lost, tmp junk
    (dst / "manifest.json").unlink()
    (dst / "shard-r0000-000002.json").unlink()
    (dst / "shard-r0000-000003.fps.tmp").write_bytes(b"junk")
    with pytest.raises(IncompleteStoreError):
        FreqStore(dst)
    s = convert(
        small_folder, dst, select="dct6", size=16, shard_size=4, resume=True, progress=False
    )
    assert s.resumed_shards == 4 and s.shards == 1 and s.converted == 4
    np.testing.assert_array_equal(FreqStore(dst).read_batch(np.arange(18)).coeffs, ref)
    assert verify(dst).ok and not list(dst.glob("*.tmp"))


def test_resume_refuses_other_settings_and_nonempty_dst(small_folder: Path, tmp_path: Path) -> None:
    dst = tmp_path / "s"
    convert(small_folder, dst, select="dct6", size=16, progress=False)
    with pytest.raises(StoreError, match="not empty"):
        convert(small_folder, dst, select="dct6", size=16, progress=False)
    with pytest.raises(StoreError, match="size"):
        convert(small_folder, dst, select="dct6", size=24, resume=True, progress=False)
    again = convert(small_folder, dst, select="dct6", size=16, resume=True, progress=False)
    assert again.manifest is not None and again.converted == 0  # already complete


def test_full_disk_gives_clear_error_and_leaves_nothing_corrupt(
    small_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dst = tmp_path / "s"
    real = writer_mod._write
    calls = {"n": 0}

    def full(f, data):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 12:  # a few shards succeed, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real(f, data)

    monkeypatch.setattr(writer_mod, "_write", full)
    with pytest.raises(DiskFullError, match="no space left"):
        convert(small_folder, dst, select="dct6", size=16, shard_size=4, progress=False)
    assert not list(dst.glob("*.tmp"))
    assert not (dst / "manifest.json").exists()
    monkeypatch.setattr(writer_mod, "_write", real)
    convert(small_folder, dst, select="dct6", size=16, shard_size=4, resume=True, progress=False)
    assert verify(dst).ok and len(FreqStore(dst)) == 18
