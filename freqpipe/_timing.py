"""The benchmark harness shared by ``freqpipe bench`` and ``benchmarks/``.

One home for what every speed comparison needs: named candidates run in interleaved rounds after
warm-up (:func:`interleave`, :func:`timed`), medians with their spread (:class:`Spread`), ratios
against a baseline measured in the same rounds (:func:`ratios`), CUDA-event timing
(:func:`cuda_seconds`), the machine and versions a figure was measured with
(:func:`run_info`), and the results file, written atomically (:func:`write_json`).

Rounds interleave the candidates so that a machine whose speed drifts (a shared VM, a GPU that
warms up) slows every candidate alike; only figures from one run compare.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

__all__ = [
    "Spread",
    "Timing",
    "cpu_seconds",
    "cuda_seconds",
    "hardware",
    "interleave",
    "ratios",
    "round_order",
    "run_info",
    "timed",
    "versions",
    "write_json",
]

T = TypeVar("T")
Clock = Callable[[], float]


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its reaped children (worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass(frozen=True)
class Spread:
    """Median of repeated measurements with their spread: extremes and quartiles.

    Example:
        >>> Spread.of([3.0, 1.0, 2.0, 10.0]).to_dict()
        {'median': 2.5, 'min': 1.0, 'max': 10.0, 'q1': 1.75, 'q3': 4.75, 'runs': 4}
    """

    median: float
    min: float
    max: float
    q1: float
    q3: float
    runs: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """The spread of ``values`` (at least one); quartiles interpolate as NumPy's default."""
        if not values:
            raise ValueError("no measurements to summarise")
        ordered = sorted(float(v) for v in values)

        def quantile(q: float) -> float:
            pos = q * (len(ordered) - 1)
            lo = int(pos)
            hi = min(lo + 1, len(ordered) - 1)
            return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)

        return cls(
            statistics.median(ordered),
            ordered[0],
            ordered[-1],
            quantile(0.25),
            quantile(0.75),
            len(ordered),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Timing(Generic[T]):
    """One timed call: wall seconds, CPU seconds and what the call returned."""

    wall_s: float
    cpu_s: float
    value: T


def timed(
    fn: Callable[[], T], *, clock: Clock = time.perf_counter, cpu_clock: Clock = time.process_time
) -> Callable[[], Timing[T]]:
    """``fn`` as a candidate that reports its own wall and CPU time.

    Args:
        fn: the work to time; whatever it returns travels in :attr:`Timing.value`.
        clock: wall clock in seconds.
        cpu_clock: CPU clock in seconds; :func:`cpu_seconds` to count worker processes too
            (``fn`` must then let its workers exit before it returns, so they are reaped).
    """

    def call() -> Timing[T]:
        c0, t0 = cpu_clock(), clock()
        value = fn()
        wall, cpu = clock() - t0, cpu_clock() - c0
        return Timing(wall, cpu, value)

    return call


def round_order(names: Sequence[str], round_index: int, *, rotate: bool = True) -> list[str]:
    """The order the candidates run in a round: rotated one place per round with ``rotate``.

    Rotation keeps any candidate from always following the same one (a cache it evicts, a
    thread pool it leaves warm).

    Example:
        >>> [round_order("abc", r) for r in range(3)]
        [['a', 'b', 'c'], ['b', 'c', 'a'], ['c', 'a', 'b']]
    """
    names = list(names)
    if not rotate or not names:
        return names
    k = round_index % len(names)
    return names[k:] + names[:k]


def interleave(
    candidates: Mapping[str, Callable[[], T]],
    rounds: int,
    *,
    warmup: int = 1,
    rotate: bool = True,
) -> dict[str, list[T]]:
    """Call every candidate once per round, after ``warmup`` untimed rounds.

    Args:
        candidates: name -> a call returning one measurement (a :func:`timed` call, a rate, a
            :func:`cuda_seconds` figure, ...).
        rounds: measured rounds; each candidate gets one measurement per round.
        warmup: rounds run first and dropped (imports, page cache, kernel caches, workers).
        rotate: rotate the order each round (:func:`round_order`); False keeps it fixed.

    Returns:
        name -> its measurements, in round order (index ``r`` of every list is round ``r``).
    """
    names = list(candidates)
    for r in range(warmup):
        for name in round_order(names, r, rotate=rotate):
            candidates[name]()
    samples: dict[str, list[T]] = {name: [] for name in names}
    for r in range(rounds):
        for name in round_order(names, r, rotate=rotate):
            samples[name].append(candidates[name]())
    return samples


def ratios(samples: Mapping[str, Sequence[float]], baseline: str) -> dict[str, float]:
    """Per candidate, the median over rounds of its value over the baseline's in that round.

    Pairing by round cancels drift that a ratio of medians would keep.

    Example:
        >>> ratios({"ours": [2.0, 4.0, 9.0], "base": [1.0, 2.0, 3.0]}, "base")
        {'ours': 2.0, 'base': 1.0}
    """
    base = samples[baseline]
    return {
        name: statistics.median(a / b for a, b in zip(values, base))
        for name, values in samples.items()
    }


def cuda_seconds(fn: Callable[[], Any], calls: int = 1, *, hold_cycles: int = 0) -> float:
    """Seconds per call of ``fn`` on torch's current CUDA stream, between two CUDA events.

    Args:
        fn: queues GPU work on the current stream.
        calls: calls back to back between the events; the result is their mean.
        hold_cycles: the GPU first sleeps this many cycles, long enough for the host to queue
            every call, so that work shorter than its launch cost is timed as the work.
    """
    import torch

    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    if hold_cycles:
        torch.cuda._sleep(hold_cycles)
    start.record()
    for _ in range(calls):
        fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1e3 / calls


# --- what a figure was measured with ------------------------------------------------------------

#: result key -> the distribution whose version it reports (a prefix ends in "-")
_DISTRIBUTIONS = {
    "numpy": "numpy",
    "torch": "torch",
    "torchvision": "torchvision",
    "pillow": "Pillow",
    "pyturbojpeg": "PyTurboJPEG",
    "scipy": "scipy",
    "pywavelets": "PyWavelets",
    "cupy": "cupy-",
    "dali": "nvidia-dali-",
    "nvimgcodec": "nvidia-nvimgcodec-",
}


def _distribution_version(name: str) -> str | None:
    if not name.endswith("-"):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None
    for dist in importlib.metadata.distributions():  # cupy-cuda12x, nvidia-dali-cuda120, ...
        if (dist.metadata["Name"] or "").lower().startswith(name):
            return dist.version
    return None


def versions() -> dict[str, Any]:
    """freqpipe, Python, the libjpeg-turbo freqpipe links, and the installed libraries' versions.

    Libraries that are not installed are left out.
    """
    import freqpipe

    out: dict[str, Any] = {
        "freqpipe": freqpipe.__version__,
        "python": platform.python_version(),
    }
    for key, dist in _DISTRIBUTIONS.items():
        if (v := _distribution_version(dist)) is not None:
            out[key] = v
    try:
        from freqpipe.jpeg import _native

        # libjpeg-turbo's number: 2001004 is 2.1.4
        out["libjpeg_turbo"] = getattr(_native, "LIBJPEG_TURBO_VERSION", None)
    except ImportError:  # the native extension is not built
        pass
    return out


def hardware(device: str | None = None) -> dict[str, Any]:
    """The machine: platform, processor, CPU count, load average and, on CUDA, the GPU."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    if device is not None:
        info["device"] = device
        if device.startswith("cuda"):
            import torch

            info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def run_info(device: str | None = None, *, command: str | None = None) -> dict[str, Any]:
    """What every results file records beside its figures.

    Args:
        device: the device the run measured ("cpu", "cuda"); None leaves it out.
        command: the command line to record; default this process's.

    Returns:
        ``date`` (ISO 8601, local time with offset), ``command``, ``git_commit`` (None outside
        a git checkout), ``hardware`` (:func:`hardware`) and ``versions`` (:func:`versions`).
    """
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command if command is not None else " ".join([sys.executable, *sys.argv]),
        "git_commit": _git_commit(),
        "hardware": hardware(device),
        "versions": versions(),
    }


def write_json(path: Path, record: Mapping[str, Any]) -> Path:
    """Write ``record`` to ``path`` as JSON, atomically: a reader sees the old file or the new.

    Parent directories are created. A run stopped halfway (a time limit) leaves the last
    complete file rather than a truncated one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(record, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
