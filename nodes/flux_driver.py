"""Runs sculptor's solve loops inside ComfyUI's sampling machinery (CFGGuider + a Sampler subclass).

The guider does what ComfyUI users expect of any sampler: model loading/offloading, condition
preparation, process_latent_in/out, wrappers of other packs. Our Sampler only turns `model_wrap` into an
exact velocity function v(x, sigma, key) and hands it to a plain-torch loop from sculptor.solver.
"""

from __future__ import annotations

from typing import Callable

import comfy.model_management
import comfy.samplers
import latent_preview
import node_helpers
import torch
from torch import Tensor

from ..sculptor.solver import CallKey, Velocity
from .flux_hooks import ValueHook, velocity_sampling

Loop = Callable[[Velocity, Tensor, Callable[[int, Tensor], None]], Tensor]
"""loop(velocity, x_start (model space), progress(step_done, x)) -> final latent (model space)."""


class LoopSampler(comfy.samplers.Sampler):
    """A ComfyUI Sampler whose sampling is a sculptor loop; `hook.key` is set before every model call."""

    def __init__(self, loop: Loop, hook: ValueHook | None, on_call: Callable[[CallKey], None] | None = None):
        self.loop, self.hook, self.on_call = loop, hook, on_call

    def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
               disable_pbar=False):
        total = len(sigmas) - 1

        def velocity(x: Tensor, sigma: float, key: CallKey) -> Tensor:
            comfy.model_management.throw_exception_if_processing_interrupted()
            if self.hook is not None:
                self.hook.key = key
            if self.on_call is not None:
                self.on_call(key)
            return model_wrap(x, torch.full((x.shape[0],), sigma, device=x.device, dtype=sigmas.dtype),
                              **extra_args)

        def progress(step_done: int, x: Tensor) -> None:
            comfy.model_management.throw_exception_if_processing_interrupted()
            if callback is not None:
                callback(step_done - 1, x, x, total)

        return self.loop(velocity, latent_image, progress)


def flux_sigmas(model, steps: int) -> Tensor:
    """ComfyUI's `simple` schedule on the MODEL's own model_sampling (so ModelSamplingFlux upstream counts)."""
    return comfy.samplers.calculate_sigmas(model.get_model_object("model_sampling"), "simple", steps).cpu()


def with_guidance(conditioning: list, guidance: float) -> list:
    """CONDITIONING with the Flux guidance value replaced (as the FluxGuidance node does)."""
    return node_helpers.conditioning_set_values(conditioning, {"guidance": guidance})


def velocity_clone(model):
    """A clone of MODEL whose model_wrap returns the raw velocity (object patch; the input is untouched)."""
    clone = model.clone()
    clone.add_object_patch("model_sampling", velocity_sampling(model.get_model_object("model_sampling")))
    return clone


def run_loop(clone, conditioning: list, latent: Tensor, sigmas: Tensor, sampler: LoopSampler,
             preview: bool = True) -> Tensor:
    """Run `sampler` through a CFGGuider at cfg 1 (Flux-dev is guidance-distilled: one model call per
    evaluation). latent is a user-space LATENT tensor; returns the user-space result."""
    guider = comfy.samplers.CFGGuider(clone)
    guider.set_conds(conditioning, conditioning)
    guider.set_cfg(1.0)
    steps = len(sigmas) - 1
    callback = latent_preview.prepare_callback(clone, steps) if preview else None
    return guider.sample(torch.zeros_like(latent), latent, sampler, sigmas, callback=callback,
                         disable_pbar=True, seed=0)
