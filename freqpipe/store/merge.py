"""The merge: once every rank has finished, ``rejects.tsv`` and then ``manifest.json``, last.

Only the small JSON files are read (plans, done marks, shard sidecars), so the merge can run on
any node that has them, even without the shard data. The record kind writes its part of the
manifest (:meth:`~freqpipe.store.kinds.RecordKind.manifest_entry`).
"""

from __future__ import annotations

import math
import os
import time
import warnings
from pathlib import Path
from typing import Any

from freqpipe import __version__
from freqpipe.store.format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST,
    REJECTS,
    IncompleteStoreError,
    StoreError,
    load_json,
    shard_name,
)
from freqpipe.store.kinds import KINDS, record_shape
from freqpipe.store.plan import done_path, plan_path
from freqpipe.store.writer import atomic_write_bytes, atomic_write_json

__all__ = ["merge", "wait_and_merge"]


def wait_and_merge(dst: Path, world_size: int, timeout: float) -> dict[str, Any] | None:
    """Merge once every rank is done, or warn after ``timeout`` seconds and return None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(done_path(dst, r).exists() for r in range(world_size)):
            return merge(dst)
        time.sleep(min(1.0, timeout / 10))
    warnings.warn(
        f"{dst}: not every rank finished within {timeout:g} s; run `freqpipe convert --merge "
        f"{dst}` once they have",
        stacklevel=3,
    )
    return None


def merge(dst: str | os.PathLike[str]) -> dict[str, Any]:
    """Write ``rejects.tsv`` and ``manifest.json`` once every rank has finished.

    Only the small JSON files are read (plans, done marks, shard sidecars), so the merge can
    run on any node that has them, even without the shard data.

    Args:
        dst: the store directory.

    Returns:
        The manifest written.

    Raises:
        IncompleteStoreError: a rank has not finished (its plan or done mark is missing).
        StoreError: the ranks were run with different settings.

    Example:
        >>> import tempfile
        >>> from freqpipe._samples import samples_path
        >>> from freqpipe.store import convert
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = convert(samples_path(), d, select="dct6", size=16, progress=False)
        >>> merge(d)["num_records"]
        8
    """
    dst = Path(dst)
    plans = sorted(dst.glob("_rank-*.plan.json"))
    if not plans:
        raise IncompleteStoreError(
            "no conversion plan found: this is not a freqpipe store being converted",
            source=str(dst),
        )
    first = load_json(plans[0])
    world = int(first["world_size"])
    same = (
        "route",
        "kind",
        "selection",
        "size",
        "resize_short",
        "max_side",
        "dtype",
        "inputs_sha256",
        "classes",
    )
    shards: list[dict[str, Any]] = []
    rejects: list[list[Any]] = []
    commands = []
    for r in range(world):
        plan_file, done_file = plan_path(dst, r), done_path(dst, r)
        if not plan_file.exists() or not done_file.exists():
            raise IncompleteStoreError(
                f"rank {r} of {world} has not finished ({done_file.name} missing); run or "
                f"resume it (freqpipe convert ... --rank {r} --world-size {world} --resume) "
                f"before merging",
                source=str(dst),
            )
        plan = load_json(plan_file)
        bad = [k for k in same if plan.get(k) != first.get(k)]
        if bad or plan.get("world_size") != world:
            raise StoreError(
                f"rank {r} was converted with different settings ({', '.join(bad)})",
                source=str(dst),
            )
        commands.append(plan.get("command"))
        n_shards = math.ceil((plan["inputs"][1] - plan["inputs"][0]) / plan["shard_records"])
        for k in range(n_shards):
            side = load_json(dst / f"{shard_name(r, k)}.json")
            side_rejects = side.pop("rejects")
            rejects.extend(side_rejects)
            side["rejects"] = len(side_rejects)
            shards.append(side)
    cls = KINDS[first["kind"]]
    kind = cls(
        record_shape(first), cls.manifest_dtype([s["dtype"] for s in shards if s["records"]])
    )
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        **kind.manifest_entry(),
        "route": first["route"],
        "selection": first["selection"],
        "size": first["size"],
        "resize_short": first["resize_short"],
        "chroma": first["chroma"],
        **({"order": first["order"]} if "order" in first else {}),
        **({"max_side": first["max_side"]} if "max_side" in first else {}),
        "classes": first["classes"],
        "num_records": sum(s["records"] for s in shards),
        "num_rejects": len(rejects),
        "inputs_total": first["inputs_total"],
        "inputs_sha256": first["inputs_sha256"],
        "world_size": world,
        "shards": shards,
        "command": commands[0] if world == 1 else commands,
        "freqpipe_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    lines = ["index\tpath\terror"] + [f"{i}\t{p}\t{e}" for i, p, e in sorted(rejects)]
    atomic_write_bytes(dst / REJECTS, ("\n".join(lines) + "\n").encode())
    atomic_write_json(dst / MANIFEST, manifest)
    return manifest
