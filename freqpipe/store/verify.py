"""``fp.verify``: check a store against its manifest (checksums, counts, labels, layout).

Beyond the layout, each record kind checks what only reading its records shows
(:meth:`~freqpipe.store.kinds.RecordKind.content_problems`): a frequency-ordered JPEG store's
stored prefix lengths against a fresh walk of every record's scans.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from freqpipe.errors import FreqpipeError
from freqpipe.store.format import SHARD_SUFFIX, blake2b_file, read_header
from freqpipe.store.kinds import kind_for_manifest
from freqpipe.store.reader import load_manifest, shards_for_rank
from freqpipe.store.schema import check_shard_matches

__all__ = ["VerifyReport", "verify"]

_KEYS = ("kind", "selection", "size", "dtype", "layout", "classes", "num_records", "shards")


@dataclass
class VerifyReport:
    """The outcome of :func:`verify`.

    Attributes:
        path: the store.
        problems: one precise message per problem found (empty: the store is sound).
        shards: shards checked.
        records: records checked.
        bytes: bytes hashed.
    """

    path: str
    problems: list[str] = field(default_factory=list)
    shards: int = 0
    records: int = 0
    bytes: int = 0

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def _check_shard(
    path: Path, entry: dict[str, Any], manifest: dict[str, Any], problems: list[str]
) -> int:
    name = entry["name"]
    if not path.exists():
        problems.append(f"{name}: missing")
        return 0
    actual = path.stat().st_size
    if actual != entry["bytes"]:
        problems.append(
            f"{name}: {actual} bytes, manifest says {entry['bytes']} (truncated or overwritten)"
        )
        return 0
    digest = blake2b_file(path)
    if digest != entry["blake2b"]:
        problems.append(
            f"{name}: blake2b checksum mismatch (file {digest[:16]}..., manifest "
            f"{entry['blake2b'][:16]}...): the shard is corrupt"
        )
        return actual
    try:
        header = read_header(path)
        check_shard_matches(manifest, entry, header, str(path))
    except FreqpipeError as exc:
        problems.append(f"{name}: {exc.reason}")
        return actual
    n = entry["records"]
    maps = {k: header.memmap(path, k) for k in header.sections}
    kind = kind_for_manifest(manifest)
    layout = kind.map_problems(maps, n, entry["dtype"])
    problems.extend(f"{name}: {p}" for p in layout)
    if not layout:  # reading records through a broken layout would only add noise
        problems.extend(f"{name}: {p}" for p in kind.content_problems(maps))
    labels = np.asarray(maps["labels"])
    n_classes = len(manifest["classes"])
    if labels.shape != (n,):
        problems.append(f"{name}: {labels.shape[0]} labels for {n} records")
    elif n and (labels.min() < 0 or labels.max() >= n_classes):
        bad = int(labels[(labels < 0) | (labels >= n_classes)][0])
        problems.append(f"{name}: label {bad} outside 0..{n_classes - 1}")
    index = np.asarray(maps["index"])
    lo, hi = entry["inputs"]
    if n and (np.any(np.diff(index) <= 0) or index[0] < lo or index[-1] >= hi):
        problems.append(f"{name}: record input indices not increasing within [{lo}, {hi})")
    return actual


def verify(
    path: str | os.PathLike[str],
    *,
    rank: int | None = None,
    world_size: int | None = None,
    progress: bool = False,
) -> VerifyReport:
    """Check a store: manifest consistency, per-shard checksums, sizes, counts, labels.

    A jpeg-route store with an ``order`` also has every stored prefix length compared with
    :func:`~freqpipe.jpeg.prefix_lengths` of its record (a marker walk per record).

    Args:
        path: the store directory.
        rank: with ``world_size``, check only that rank's shards (a node holding part of the
            store; see :meth:`FreqStore.for_rank`).
        world_size: number of ranks.
        progress: show a tqdm progress bar over the shards (checksumming is the slow part).

    Returns:
        A :class:`VerifyReport`; ``report.ok`` is False with one message per problem.

    Example:
        >>> import tempfile
        >>> from freqpipe._samples import samples_path
        >>> from freqpipe.store import convert
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = convert(samples_path(), d, select="dct6", size=16, progress=False)
        >>> verify(d).ok, verify(d).records
        (True, 8)
    """
    p = Path(path)
    report = VerifyReport(str(p))
    try:
        manifest = load_manifest(p)
    except FreqpipeError as exc:
        report.problems.append(str(exc))
        return report
    missing = [k for k in _KEYS if k not in manifest]
    if missing:
        report.problems.append(f"manifest.json lacks {', '.join(missing)}")
        return report
    entries = manifest["shards"]
    total = sum(int(e["records"]) for e in entries)
    if total != manifest["num_records"]:
        report.problems.append(
            f"manifest: shards hold {total} records, num_records says {manifest['num_records']}"
        )
    rejects = sum(int(e.get("rejects", 0)) for e in entries)
    if total + rejects != manifest.get("inputs_total", total + rejects):
        report.problems.append(
            f"manifest: {total} records + {rejects} rejects != "
            f"{manifest['inputs_total']} inputs (missing shards?)"
        )
    spans = sorted(tuple(e["inputs"]) for e in entries)
    for (_, b), (c, _) in itertools.pairwise(spans):
        if b != c:
            report.problems.append(
                f"manifest: shard input ranges leave a gap or overlap at {b}/{c}"
            )
    names = [e["name"] for e in entries]
    if len(set(names)) != len(names):
        report.problems.append("manifest: a shard is listed twice")
    chosen = set(names)
    if rank is not None or world_size is not None:
        chosen = set(shards_for_rank(manifest, rank or 0, world_size or 1))
    else:
        for extra in sorted(set(q.name for q in p.glob(f"*{SHARD_SUFFIX}")) - set(names)):
            report.problems.append(f"{extra}: shard file not listed in the manifest")
    todo = [e for e in entries if e["name"] in chosen]
    bar = tqdm(total=len(todo), unit="shard", desc="verify", disable=not progress)
    for e in todo:
        report.bytes += _check_shard(p / e["name"], e, manifest, report.problems)
        report.shards += 1
        report.records += int(e["records"])
        bar.set_postfix(records=report.records, problems=len(report.problems), refresh=False)
        bar.update()
    bar.close()
    rejects_file = p / "rejects.tsv"
    if rejects_file.exists():
        rows = len(rejects_file.read_text().splitlines()) - 1
        if rows != manifest.get("num_rejects", rows):
            report.problems.append(
                f"rejects.tsv: {rows} rows, manifest says {manifest['num_rejects']} rejects"
            )
    return report
