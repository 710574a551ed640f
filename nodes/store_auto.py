"""Store mode "auto" on a ComfyUI MODEL: measures the values' bytes and the free memory, then lets
sculptor.memory_plan.choose_store decide, and logs the choice with the numbers."""

from __future__ import annotations

import logging

import comfy.model_management
import psutil
import torch

from ..sculptor.masks import token_count
from ..sculptor.memory_plan import choose_store
from ..sculptor.value_store import StoreMode, value_bytes

log = logging.getLogger("flux_sculptor")
GIB = 2**30


def compute_dtype(model) -> torch.dtype:
    """The dtype attention runs in (and so V's): the manual-cast dtype if any, else the weights' dtype."""
    base = model.model
    return getattr(base, "manual_cast_dtype", None) or base.get_dtype()


def planned_bytes(
    model, diffusion, samples: torch.Tensor, calls: int, blocks: int, store_dtype: torch.dtype | None
) -> int:
    """Bytes of the values V_img [B,heads,N_img,head_dim] of `blocks` blocks in `calls` model calls that an
    inversion of samples [B,16,h,w] records (sculptor.memory_plan.recorded_calls counts the calls)."""
    heads = diffusion.num_heads
    return value_bytes(
        calls,
        blocks,
        samples.shape[0],
        heads,
        token_count(*samples.shape[-2:]),
        diffusion.hidden_size // heads,
        store_dtype or compute_dtype(model),
    )


def free_memory(model) -> tuple[int | None, int]:
    """(free accelerator bytes once `model` is fully loaded, or None on a CPU-only run; available host
    bytes)."""
    host = int(psutil.virtual_memory().available)
    device = model.load_device
    if torch.device(device).type == "cpu":
        return None, host
    to_load = max(model.model_size() - model.loaded_size(), 0)
    return max(int(comfy.model_management.get_free_memory(device)) - to_load, 0), host


def auto_store(model, nbytes: int) -> StoreMode:
    """store = auto: the mode for `nbytes` of values on this machine now; logged."""
    free_device, free_host = free_memory(model)
    mode = choose_store(nbytes, free_device, free_host)
    device = "cpu-only" if free_device is None else f"{free_device / GIB:.2f} GiB"
    log.info(
        "Flux-Sculptor store=auto: values %.3f GiB (%d bytes), free device %s, free host %.2f GiB: store=%s",
        nbytes / GIB,
        nbytes,
        device,
        free_host / GIB,
        mode,
    )
    return mode
