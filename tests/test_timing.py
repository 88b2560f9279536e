"""The benchmark harness: rounds, medians and spread on a fake clock, metadata, the JSON file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from freqpipe._timing import (
    Spread,
    Timing,
    interleave,
    ratios,
    round_order,
    run_info,
    timed,
    write_json,
)


class FakeClock:
    """A clock that advances only when a candidate says how long it took."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def spend(self, seconds: float) -> None:
        self.now += seconds


def test_spread_of_known_values() -> None:
    s = Spread.of([5.0, 1.0, 4.0, 2.0, 3.0])
    assert (s.median, s.min, s.max, s.q1, s.q3, s.runs) == (3.0, 1.0, 5.0, 2.0, 4.0, 5)
    one = Spread.of([7.0])
    assert (one.median, one.min, one.max, one.q1, one.q3, one.runs) == (7.0, 7.0, 7.0, 7.0, 7.0, 1)
    assert set(s.to_dict()) == {"median", "min", "max", "q1", "q3", "runs"}
    with pytest.raises(ValueError):
        Spread.of([])


def test_medians_and_spread_on_a_fake_clock() -> None:
    wall, cpu = FakeClock(), FakeClock()
    # per round, how long each candidate takes (wall) and how much CPU it uses
    costs = {"fast": iter([9.0, 1.0, 2.0, 3.0]), "slow": iter([9.0, 4.0, 8.0, 6.0])}

    def candidate(name: str) -> Callable[[], Timing[str]]:
        def work() -> str:
            seconds = next(costs[name])
            wall.spend(seconds)
            cpu.spend(seconds / 2)
            return name

        return timed(work, clock=wall, cpu_clock=cpu)

    samples = interleave({n: candidate(n) for n in costs}, 3, warmup=1)
    # the warm-up round (9 s each) is dropped
    assert [t.wall_s for t in samples["fast"]] == [1.0, 2.0, 3.0]
    assert [t.wall_s for t in samples["slow"]] == [4.0, 8.0, 6.0]
    assert [t.cpu_s for t in samples["slow"]] == [2.0, 4.0, 3.0]
    assert all(isinstance(t, Timing) and t.value == "slow" for t in samples["slow"])
    slow = Spread.of([t.wall_s for t in samples["slow"]])
    assert (slow.median, slow.min, slow.max) == (6.0, 4.0, 8.0)
    seconds = {n: [t.wall_s for t in ts] for n, ts in samples.items()}
    # paired by round: 4/1, 8/2, 6/3 -> median 4, not the ratio of the medians (6/2)
    assert ratios(seconds, "fast") == {"fast": 1.0, "slow": 4.0}


def test_ratios_pair_measurements_by_round() -> None:
    got = ratios({"a": [2.0, 30.0, 4.0], "base": [1.0, 10.0, 1.0]}, "base")
    assert got == {"a": 3.0, "base": 1.0}  # median of 2, 3, 4; the ratio of medians would be 4


def test_rounds_alternate_candidates() -> None:
    calls: list[str] = []
    cands = {n: (lambda n=n: calls.append(n)) for n in "abc"}
    interleave(cands, 3, warmup=1)
    # one warm-up round, then three rounds, each starting one candidate later
    assert calls == ["a", "b", "c", "a", "b", "c", "b", "c", "a", "c", "a", "b"]
    calls.clear()
    interleave(cands, 2, warmup=0, rotate=False)
    assert calls == ["a", "b", "c", "a", "b", "c"]
    assert round_order(["x", "y"], 5) == ["y", "x"]


def test_run_info_has_the_metadata_keys() -> None:
    info = run_info("cpu", command="freqpipe bench")
    assert set(info) == {"date", "command", "git_commit", "hardware", "versions"}
    assert info["command"] == "freqpipe bench"
    assert {"platform", "machine", "processor", "cpus", "device"} <= set(info["hardware"])
    assert info["hardware"]["device"] == "cpu" and "gpu" not in info["hardware"]
    assert {"freqpipe", "python", "numpy", "torch", "pillow"} <= set(info["versions"])
    assert info["git_commit"] is None or len(info["git_commit"]) == 40
    json.dumps(info)  # JSON-ready


def test_write_json_round_trip(tmp_path: Path) -> None:
    record = {"benchmark": "x", "results": [{"name": "a", "median": 1.5}], **run_info()}
    path = write_json(tmp_path / "deep" / "out.json", record)
    assert path == tmp_path / "deep" / "out.json"
    assert json.loads(path.read_text()) == json.loads(json.dumps(record))
    write_json(path, {"second": True})  # replaces the file whole, leaves no temporary behind
    assert json.loads(path.read_text()) == {"second": True}
    assert [p.name for p in path.parent.iterdir()] == ["out.json"]
