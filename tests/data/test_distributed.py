"""Two gloo processes on the CPU: DistributedSampler semantics through FreqLoader."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DistributedSampler

from freqpipe._samples import sample_files
from freqpipe.data import FreqLoader, JpegFileList

EPOCHS = 2


def _rank_main(rank: int, world: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        files = sample_files()
        ds = JpegFileList(files, list(range(len(files))))
        sampler = DistributedSampler(ds, shuffle=True, seed=0)  # rank/world from the group
        loader = FreqLoader(ds, batch_size=2, sampler=sampler, num_workers=1, size=32, device="cpu")
        seen = []
        for epoch in range(EPOCHS):
            loader.set_epoch(epoch)
            labels = torch.cat([y for _, y in loader])
            gathered = [torch.zeros_like(labels) for _ in range(world)]
            dist.all_gather(gathered, labels)
            seen.append([g.tolist() for g in gathered])
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps(seen))
    finally:
        dist.destroy_process_group()


def test_two_ranks_cover_disjointly_and_reshuffle(tmp_path: Path) -> None:
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    init = tmp_path / "init"
    mp.spawn(_rank_main, args=(2, str(init), str(tmp_path)), nprocs=2, join=True)
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    assert r0 == r1  # all_gather: both ranks saw the same split
    n = len(sample_files())
    orders = []
    for epoch in range(EPOCHS):
        part0, part1 = r0[epoch]
        assert len(part0) == len(part1) == n // 2
        assert set(part0).isdisjoint(part1) and sorted(part0 + part1) == list(range(n))
        ref = [list(DistributedSampler(range(n), num_replicas=2, rank=r, seed=0)) for r in (0, 1)]
        orders.append(part0 + part1)
        if epoch == 0:
            assert [part0, part1] == ref
    assert orders[0] != orders[1]  # set_epoch changed the order
