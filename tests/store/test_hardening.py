"""convert --resume and concurrent runs (issue 20, findings 6 and 7)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from freqpipe.errors import StoreBusyError
from freqpipe.store import FreqStore, convert, verify
from tests.store.conftest import run_convert

ARGS = ("--select", "dct6", "--size", "32", "--shard-size", "4", "--workers", "1")


def test_resume_redoes_a_finished_shard_whose_bytes_changed(small_folder: Path, tmp_path: Path):
    dst = tmp_path / "s"
    convert(small_folder, dst, select="dct6", size=32, shard_size=4, progress=False)
    # Interrupted before the merge, then a finished shard is damaged (same size, other bytes).
    (dst / "manifest.json").unlink()
    (dst / "_rank-0000.done.json").unlink()
    shard = dst / "shard-r0000-000001.fps"
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF
    shard.write_bytes(bytes(data))
    summary = convert(
        small_folder, dst, select="dct6", size=32, shard_size=4, resume=True, progress=False
    )
    assert summary.shards == 1 and summary.resumed_shards >= 1
    assert verify(dst).ok


def test_a_second_convert_into_a_busy_destination_is_refused(big_folder: Path, tmp_path: Path):
    dst = tmp_path / "busy"
    first = run_convert(
        str(big_folder), str(dst), *ARGS, env={"FREQPIPE_CONVERT_SHARD_DELAY": "0.5"}
    )
    try:
        deadline = time.monotonic() + 30
        while not list(dst.glob("shard-*.json")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert first.poll() is None, "the first run must still be running"
        for resume in (True, False):
            with pytest.raises(StoreBusyError, match=r"another freqpipe convert \(pid \d+\)"):
                convert(
                    big_folder,
                    dst,
                    select="dct6",
                    size=32,
                    shard_size=4,
                    resume=resume,
                    progress=False,
                )
        # Another rank of a multi-rank run is not blocked by rank 0's lock.
        other = tmp_path / "other"
        convert(
            big_folder,
            other,
            select="dct6",
            size=32,
            shard_size=4,
            rank=1,
            world_size=2,
            progress=False,
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    # The dead process's lock is gone with it: resuming now works and finishes the store.
    convert(big_folder, dst, select="dct6", size=32, shard_size=4, resume=True, progress=False)
    assert verify(dst).ok and len(FreqStore(dst)) == 60
