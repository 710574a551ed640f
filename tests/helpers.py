"""Helpers shared by the tests: the pack's submodules as ComfyUI loaded them, the two editing nodes
called the way a graph calls them, and small numeric helpers."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator

import torch

PACK_NODE_IDS = {
    "FluxSculptorInversion",
    "FluxSculptorPASLMask",
    "FluxSculptorMaskCombine",
    "FluxSculptorS2DECSampler",
    "FluxSculptorSaveInversion",
    "FluxSculptorLoadInversion",
    "FluxSculptorNanoLoader",
}
"""Every node id the pack registers (node ids are a public API: listed here once, never renamed)."""


def pack_module(pack, name: str):
    """e.g. pack_module(pack, "nodes.editing_runs") -> <pack>.nodes.editing_runs, imported inside the
    loaded package."""
    return importlib.import_module(f"{pack.__name__}.{name}")


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """Relative error |a - b| / |b| (Frobenius norms)."""
    return float((a - b).norm() / b.norm())


def half_mask(h: int = 128, w: int = 128) -> torch.Tensor:
    """MASK [1,h,w]: 1 (edit) on the left half, 0 on the right half."""
    mask = torch.zeros(1, h, w)
    mask[:, :, : w // 2] = 1.0
    return mask


def invert(
    inv_node,
    model,
    latent: dict,
    cond: list,
    steps: int = 4,
    value_blocks: int = 2,
    solver: str = "rf_solver",
    store: str = "cpu",
):
    """The Inversion node's `inversion` output (guidance 1.0)."""
    return inv_node.execute(
        model=model,
        latent=latent,
        conditioning=cond,
        steps=steps,
        guidance=1.0,
        value_blocks=value_blocks,
        store=store,
        solver=solver,
    ).result[0]


def edit(
    s2d_node,
    model,
    inversion,
    cond: list,
    mask: torch.Tensor | None = None,
    T: int = 1,
    fusion: str = "s2d-ec",
    path: str = "inversion",
    guidance: float = 2.0,
) -> torch.Tensor:
    """The S2D-EC Sampler node's output LATENT samples."""
    out = s2d_node.execute(
        model=model,
        inversion=inversion,
        conditioning=cond,
        structure_steps=T,
        guidance=guidance,
        fusion=fusion,
        source_path=path,
        mask=mask,
    )
    return out.result[0]["samples"]


@contextlib.contextmanager
def progress_hook(hook: Callable) -> Iterator[None]:
    """Install `hook` as ComfyUI's global progress-bar hook for the block, as the server does. Newer
    ComfyUI (0.33) drops updates that come within 100 ms of the last one; tiny models step faster than
    that, so the block switches that throttle off to see every step. Both are restored afterwards."""
    import comfy.utils

    throttle = {
        name: getattr(comfy.utils, name)
        for name in ("PROGRESS_THROTTLE_MIN_INTERVAL", "PROGRESS_THROTTLE_MIN_PERCENT")
        if hasattr(comfy.utils, name)
    }
    old = comfy.utils.PROGRESS_BAR_HOOK
    comfy.utils.set_progress_bar_global_hook(hook)
    for name in throttle:
        setattr(comfy.utils, name, 0)
    try:
        yield
    finally:
        comfy.utils.set_progress_bar_global_hook(old)
        for name, value in throttle.items():
            setattr(comfy.utils, name, value)
