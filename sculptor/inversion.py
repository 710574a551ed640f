"""The result of an RF-Solver inversion: what the S2D-EC editor needs, in the model's latent space."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from torch import Tensor

from .fusion import interpolated_source
from .solver import CallKey
from .value_store import ValueStore

SOURCE_PATHS = ("inversion", "interpolate")
SourcePath = Literal["inversion", "interpolate"]


@dataclass(eq=False)
class Inversion:
    """sigmas: descending schedule, length N + 1 (sigmas[0] = 1, sigmas[N] = 0).
    latents: latents[j] [B,16,h,w] is the latent the inversion visited at sigmas[j] (model space:
    after process_latent_in); latents[N] is the clean source, latents[0] the inverted noise.
    store: recorded V_img of `value_blocks` per model call (see sculptor.solver.CallKey).
    model_identity: opaque token of the MODEL it was made with; source_conditioning: the CONDITIONING
    used (with the inversion guidance), kept for store mode "recompute" and for empty masks.
    source_samples, noise_samples: the inverted LATENT samples [B,16,h,w] and the inverted noise, in the
    user's latent space (before process_latent_in / after process_latent_out).
    midpoints: store mode "recompute" only: midpoints[j] [B,16,h,w] is the input of the inversion's call
    ("mid", j), so with `latents` every call's source input is known exactly (see source_input)."""

    sigmas: list[float]
    latents: list[Tensor]
    store: ValueStore
    value_blocks: frozenset[int]
    solver: str
    guidance: float
    model_identity: Any
    source_conditioning: Any = None
    source_samples: Tensor | None = None
    noise_samples: Tensor | None = None
    midpoints: list[Tensor] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(self.sigmas) - 1

    @property
    def clean(self) -> Tensor:
        return self.latents[-1]

    @property
    def noise(self) -> Tensor:
        return self.latents[0]

    def source_latent(self, j: int, path: SourcePath) -> Tensor:
        """The source latent at sigmas[j]: the visited one, or eq. 10's straight-line interpolation."""
        if path == "inversion":
            return self.latents[j]
        return interpolated_source(self.clean, self.noise, self.sigmas[j])

    def source_input(self, key: CallKey) -> Tensor:
        """The latent the inversion fed the model in call `key`: latents[j] for ("at", j) (the call at
        sigmas[j]; ("at", 0) is the sigma-1 call on the inverted noise), midpoints[j] for ("mid", j)."""
        if key.kind == "at":
            return self.latents[key.index]
        if not self.midpoints:
            raise ValueError("This inversion kept no midpoint latents; make it with store = recompute.")
        return self.midpoints[key.index]
