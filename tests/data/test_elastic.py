"""Issue 19: ElasticSampler keeps one global order per (seed, epoch) across world sizes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DistributedSampler

from freqpipe import ElasticSampler
from freqpipe._samples import sample_files
from freqpipe.data import FreqLoader, JpegFileList
from freqpipe.errors import LoaderStateError

N = 48  # the bundled samples cycled: 4 ranks x 2 per batch x 3 batches = 24 seen, 24 left
EPOCH = 2
STEPS = 3


@pytest.mark.parametrize("n", [7, 8, 13])
@pytest.mark.parametrize("world", [1, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_equals_distributed_sampler_at_a_fixed_world_size(
    n: int, world: int, drop_last: bool, shuffle: bool
) -> None:
    for rank in range(world):
        kw = {
            "num_replicas": world,
            "rank": rank,
            "shuffle": shuffle,
            "seed": 3,
            "drop_last": drop_last,
        }
        ours, theirs = ElasticSampler(range(n), **kw), DistributedSampler(range(n), **kw)
        ours.set_epoch(5)
        theirs.set_epoch(5)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize(("old", "new"), [(4, 3), (2, 5), (3, 3)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_the_rest_is_shared_out_to_the_new_ranks(old: int, new: int, drop_last: bool) -> None:
    n, taken = 23, 2  # each old rank took 2 samples
    before = ElasticSampler(range(n), num_replicas=old, rank=0, seed=1, drop_last=drop_last)
    before.set_epoch(4)
    state = before.state_dict()
    order = before.global_order()
    consumed = old * taken
    rest = [
        ElasticSampler(range(n), num_replicas=new, rank=r, seed=1, drop_last=drop_last)
        for r in range(new)
    ]
    for s in rest:
        s.load_state_dict(state, samples_per_rank=taken)
    got = [list(s) for s in rest]
    assert len({len(g) for g in got}) == 1  # every rank the same number of steps
    flat = [i for g in got for i in g]
    remaining = order[consumed:]
    if drop_last:
        assert len(set(flat)) == len(flat) and set(flat) <= set(remaining)
        assert len(remaining) - len(flat) < new
    else:
        assert sorted(set(flat) & set(remaining)) == sorted(remaining)
        extra = sorted(flat)
        for i in remaining:
            extra.remove(i)
        assert extra == sorted(order[: len(extra)]) and len(extra) < new  # padding: the head


def test_order_keys_must_agree() -> None:
    state = ElasticSampler(range(10), num_replicas=2, rank=0, seed=1).state_dict()
    with pytest.raises(LoaderStateError, match="sampler.seed") as info:
        ElasticSampler(range(10), num_replicas=3, rank=0, seed=2).load_state_dict(state)
    assert (info.value.saved, info.value.current) == (1, 2)


def _loader(world: int, rank: int) -> FreqLoader:
    files = (sample_files() * (N // len(sample_files()) + 1))[:N]
    ds = JpegFileList(files, list(range(N)))
    sampler = ElasticSampler(ds, num_replicas=world, rank=rank, seed=7)
    return FreqLoader(ds, batch_size=2, sampler=sampler, size=32, device="cpu")


def _rank_main(rank: int, world: int, phase: str, tmp: str) -> None:
    dist.init_process_group(
        "gloo", init_method=f"file://{tmp}/init-{phase}", rank=rank, world_size=world
    )
    try:
        loader = _loader(world, rank)
        if phase == "save":
            loader.set_epoch(EPOCH)
            it = iter(loader)
            seen = torch.cat([next(it)[1] for _ in range(STEPS)])
            torch.save(loader.state_dict(), Path(tmp, f"state{rank}.pt"))
        else:
            loader.load_state_dict(torch.load(Path(tmp, "state0.pt")))  # any rank's state
            loader.set_epoch(EPOCH)
            seen = torch.cat([y for _, y in loader])
        gathered = [torch.zeros_like(seen) for _ in range(world)]
        dist.all_gather(gathered, seen)
        if rank == 0:
            Path(tmp, f"{phase}.json").write_text(json.dumps([g.tolist() for g in gathered]))
    finally:
        dist.destroy_process_group()


def test_checkpoint_at_4_ranks_resumes_at_2_and_3(tmp_path: Path) -> None:
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    mp.spawn(_rank_main, args=(4, "save", str(tmp_path)), nprocs=4, join=True)
    head = [i for part in json.loads((tmp_path / "save.json").read_text()) for i in part]
    order = ElasticSampler(range(N), num_replicas=1, rank=0, seed=7)
    order.set_epoch(EPOCH)
    assert sorted(head) == sorted(order.global_order()[: 4 * 2 * STEPS])
    for world in (2, 3):
        phase = f"resume{world}"
        mp.spawn(_rank_main, args=(world, phase, str(tmp_path)), nprocs=world, join=True)
        parts = json.loads((tmp_path / f"{phase}.json").read_text())
        rest = [i for part in parts for i in part]
        assert len(rest) == len(set(rest))  # no duplicates
        assert sorted(rest + head) == list(range(N))  # exactly the samples left
