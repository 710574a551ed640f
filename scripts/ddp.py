"""torch.distributed for the trainers: one process per GPU (nccl) or per CPU process (gloo) under torchrun.

    torchrun --nproc_per_node 2 scripts/train_face_locator.py ...   # 2 CPU processes (gloo)
    torchrun --nproc_per_node 8 scripts/train_pasl.py ...           # 8 GPUs (nccl)

Without torchrun (no WORLD_SIZE in the environment) everything is a plain single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Dist:
    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup() -> Dist:
    """Join the torchrun process group (nccl when CUDA is available, else gloo), or run alone."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(0, 1, torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local)
    return Dist(dist.get_rank(), dist.get_world_size(), torch.device(f"cuda:{local}" if cuda else "cpu"))


def wrap(model: nn.Module, d: Dist) -> nn.Module:
    """The model for training: DistributedDataParallel when several processes run, else itself."""
    if d.world == 1:
        return model
    ids = [d.device.index] if d.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def barrier(d: Dist) -> None:
    if d.world > 1:
        dist.barrier()


def mean_over_ranks(values: list[float], d: Dist) -> list[float]:
    """Per-rank numbers averaged over all processes (identity alone)."""
    if d.world == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return (t / d.world).tolist()


def agree(flag: bool, d: Dist) -> bool:
    """True on every rank when any rank says True (e.g. 'the time budget is spent')."""
    if d.world == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def cleanup(d: Dist) -> None:
    """Wait for every rank (the main one may still be writing weights), then tear the group down: a rank
    that destroyed its group while another still used it was seen to abort in gloo's teardown."""
    if d.world > 1:
        dist.barrier()
        dist.destroy_process_group()
