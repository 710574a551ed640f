"""Recording V during the inversion, in one place (paper sec. 3.2 and 3.4).

What the editor will read, and so what the inversion records:
- where: V_img, the image-token rows of V, in the last m single-stream blocks (`ValueHook` in "record");
- which calls: every inversion model call, keyed by its CallKey, except ("at", N) at sigma 0, which the
  editor never makes;
- one extra call: ("at", 0) at sigma 1 on the inverted noise, the editor's first call, which the
  inversion itself never makes.
Store mode "recompute" records nothing and keeps the source inputs instead (nodes/recompute.py); both
objects offer the same four steps to `run_inversion`.
"""

from __future__ import annotations

from typing import Protocol

from torch import Tensor

from ..sculptor.solver import CallKey, Velocity
from ..sculptor.value_store import ValueStore
from .flux_hooks import ValueHook


class InversionRecorder(Protocol):
    hook: ValueHook | None

    def install(self, patcher) -> None: ...

    def velocity(self, velocity: Velocity) -> Velocity: ...

    def after_inversion(self, velocity: Velocity, noise: Tensor, sigma_1: float) -> None: ...

    def finish(self) -> list[Tensor]:
        """Close the recording; returns the midpoint latents kept (empty unless "recompute")."""
        ...


class ValueRecording:
    """Records V_img of `blocks` (the last m single blocks) into `store` for an inversion of `steps` steps."""

    def __init__(self, blocks: frozenset[int], image_tokens: int, store: ValueStore, steps: int):
        unused = CallKey("at", steps)  # the editor never calls the model at sigma 0: nothing to record there
        self.hook: ValueHook | None = ValueHook(
            blocks, image_tokens, lambda key: "off" if key == unused else "record", store=store
        )
        self.store = store

    def install(self, patcher) -> None:
        self.hook.install(patcher)

    def velocity(self, velocity: Velocity) -> Velocity:
        return velocity

    def after_inversion(self, velocity: Velocity, noise: Tensor, sigma_1: float) -> None:
        velocity(noise, sigma_1, CallKey("at", 0))  # V at sigma 1, for the editor's first call

    def finish(self) -> list[Tensor]:
        self.hook.store = None
        self.store.finish()
        return []
