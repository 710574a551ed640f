"""Store mode "recompute", in one place: record nothing, recompute V_source beside the edit.

Inversion side (`SourceInputs`): no hook is installed; the input latent of every midpoint call is kept,
so with the visited latents the input of every source call is known (Inversion.source_input).
Editing side (`install_source_branch`): in calls that fuse values the guider also runs the source
conditioning as the negative ("uncond") rows, in the same batch as the edit rows (`paired_options`);
`SourceBranch`, an APPLY_MODEL wrapper registered by key (as EasyCache installs its wrappers), feeds those
rows the inversion's input of the same call, so their V equals the recorded one, and the ValueHook
(recompute=True) takes V_source from them instead of from a store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import comfy.patcher_extension
import torch
from torch import Tensor

from ..sculptor.inversion import Inversion
from ..sculptor.solver import CallKey, Velocity
from .flux_hooks import ValueHook


class SourceInputs:
    """The InversionRecorder of store mode "recompute": keeps midpoints[j], the input of call ("mid", j),
    through `keep` (to the CPU unless the store lives on the device)."""

    hook: ValueHook | None = None

    def __init__(self, keep: Callable[[Tensor], Tensor]):
        self.keep = keep
        self.midpoints: dict[int, Tensor] = {}

    def install(self, patcher) -> None:
        """Nothing to install: the inversion runs with no hooks."""

    def velocity(self, velocity: Velocity) -> Velocity:
        def velocity_keeping_midpoints(x: Tensor, sigma: float, key: CallKey) -> Tensor:
            if key.kind == "mid":
                self.midpoints[key.index] = self.keep(x)  # the source input of the editor's call ("mid", j)
            return velocity(x, sigma, key)

        return velocity_keeping_midpoints

    def after_inversion(self, velocity: Velocity, noise: Tensor, sigma_1: float) -> None:
        """No extra call: the editor recomputes the sigma-1 source rows itself."""

    def finish(self) -> list[Tensor]:
        return [self.midpoints[j] for j in sorted(self.midpoints)]


def _positive_only(args: dict) -> Tensor:
    return args["cond_denoised"]


def paired_options(model_options: dict) -> dict:
    """model_options for one call that also runs the guider's negative conditioning in the same batch
    (the cfg-1 shortcut off) yet returns exactly the positive prediction (a last post-cfg function)."""
    post = [*model_options.get("sampler_post_cfg_function", []), _positive_only]
    return {**model_options, "disable_cfg1_optimization": True, "sampler_post_cfg_function": post}


@dataclass
class SourceBranch:
    """APPLY_MODEL wrapper (x [B*,16,h,w] in model space, chunks of B rows listed by
    transformer_options["cond_or_uncond"], 1 = the negative conditioning = the source prompt).
    In fused calls it puts source_input(key) [B,16,h,w], the inversion's input of the same call, into the
    source chunks, so their V equals the recorded one; other calls pass through untouched."""

    hook: ValueHook
    source_input: Callable[[CallKey], Tensor]
    paired: Callable[[CallKey], bool]
    wrapper_key: str = "flux_sculptor_source_branch"

    def install(self, patcher) -> None:
        patcher.add_wrapper_with_key(
            comfy.patcher_extension.WrappersMP.APPLY_MODEL, self.wrapper_key, self._apply_model
        )

    def call_options(self, key: CallKey, model_options: dict) -> dict:
        """The model_options of call `key`: paired with the source rows where values are fused."""
        return paired_options(model_options) if self.paired(key) else model_options

    def _apply_model(
        self,
        executor,
        x: Tensor,
        t: Tensor,
        c_concat,
        c_crossattn,
        control,
        transformer_options: dict,
        **kwargs,
    ) -> Tensor:
        chunks = [c == 1 for c in transformer_options.get("cond_or_uncond", [0])]
        if self.hook.action != "fuse" or not any(chunks):
            return executor(x, t, c_concat, c_crossattn, control, transformer_options, **kwargs)
        source = self.source_input(self.hook.key).to(device=x.device, dtype=x.dtype)
        x = torch.cat(
            [
                source if is_source else part
                for part, is_source in zip(x.split(x.shape[0] // len(chunks)), chunks, strict=True)
            ]
        )
        self.hook.source_chunks = chunks
        try:
            return executor(x, t, c_concat, c_crossattn, control, transformer_options, **kwargs)
        finally:
            self.hook.source_chunks = None


def install_source_branch(
    patcher, hook: ValueHook, inversion: Inversion, fuses_values: Callable[[CallKey], bool]
) -> SourceBranch:
    """Install the source branch of a "recompute" inversion on `patcher` (a clone carrying `hook`)."""
    branch = SourceBranch(hook, inversion.source_input, fuses_values)
    branch.install(patcher)
    return branch
