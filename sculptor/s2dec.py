"""S2D-EC, structure-to-detail editing control (paper sec. 3.4): which fusion happens at which step.

Editing step j goes from sigmas[j] to sigmas[j + 1] (see sculptor.solver). Structure stage: steps
j < T, after each the latent is fused with the source (eq. 13). Detail stage: steps j >= T, whose model
calls fuse V_img in the last m single blocks (eq. 15-16). The `fusion` option selects strategies for
comparison: "s2d-ec" (both, the paper), "latent" (structure stage only), "value" (value fusion at every
step), "none" (plain editing from the inverted noise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from torch import Tensor

from .fusion import fuse_latents
from .inversion import Inversion, SourcePath
from .solver import CallKey

FUSIONS = ("s2d-ec", "latent", "value", "none")
Fusion = Literal["s2d-ec", "latent", "value", "none"]


@dataclass(frozen=True)
class FusionPlan:
    """latent_steps: steps j < latent_steps get eq. 13 after them; value_from: calls of steps j >= value_from
    get eq. 15-16 (None: never)."""

    latent_steps: int
    value_from: int | None

    def fuses_values(self, key: CallKey) -> bool:
        return self.value_from is not None and key.index >= self.value_from


def fusion_plan(fusion: Fusion, structure_steps: int, steps: int) -> FusionPlan:
    """The fusion schedule for `steps` editing steps with T = structure_steps."""
    if fusion == "s2d-ec":
        return FusionPlan(structure_steps, structure_steps if structure_steps < steps else None)
    if fusion == "latent":
        return FusionPlan(structure_steps, None)
    if fusion == "value":
        return FusionPlan(0, 0)
    return FusionPlan(0, None)


def structure_fusion(
    inversion: Inversion, latent_mask: Tensor, plan: FusionPlan, source_path: SourcePath
) -> Callable[[int, Tensor], Tensor]:
    """after_step(j, x) for sculptor.solver.denoise: eq. 13 with the source latent at sigmas[j + 1].

    latent_mask: [B or 1, 1, h, w] at latent resolution, 1 = edit.
    """

    def after_step(j: int, x: Tensor) -> Tensor:
        if j >= plan.latent_steps:
            return x
        source = inversion.source_latent(j + 1, source_path).to(device=x.device, dtype=x.dtype)
        return fuse_latents(x, source, latent_mask.to(device=x.device, dtype=x.dtype))

    return after_step
