"""Runs sculptor's solve loops inside ComfyUI's sampling machinery (CFGGuider + a Sampler subclass).

What differs from nodes/editing_runs.py: nothing here knows about inversion or editing; this module only
turns a ComfyUI MODEL into an exact velocity function and drives a plain-torch loop with it.

The guider does what ComfyUI users expect of any sampler: model loading/offloading, condition
preparation, process_latent_in/out, wrappers of other packs. Our Sampler only turns `model_wrap` into an
exact velocity function v(x, sigma, key) and hands it to a plain-torch loop from sculptor.solver.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

import comfy.model_management
import comfy.samplers
import latent_preview
import node_helpers
import torch
from torch import Tensor

from ..sculptor.solver import CallKey, Velocity
from .flux_hooks import ValueHook

Loop = Callable[[Velocity, Tensor, Callable[[int, Tensor], None]], Tensor]
"""loop(velocity, x_start (model space), progress(step_done, x)) -> final latent (model space)."""
CallOptions = Callable[[CallKey, dict], dict]
"""call_options(key, model_options) -> the model_options of model call `key`."""


class LoopSampler(comfy.samplers.Sampler):
    """A ComfyUI Sampler whose sampling is a sculptor loop; `hook.begin(key)` runs before every model
    call, whose model_options call_options(key, options) may change (store mode "recompute")."""

    def __init__(self, loop: Loop, hook: ValueHook | None = None, call_options: CallOptions | None = None):
        self.loop, self.hook, self.call_options = loop, hook, call_options

    def sample(
        self,
        model_wrap,
        sigmas,
        extra_args,
        callback,
        noise,
        latent_image=None,
        denoise_mask=None,
        disable_pbar=False,
    ):
        total = len(sigmas) - 1

        def velocity(x: Tensor, sigma: float, key: CallKey) -> Tensor:
            comfy.model_management.throw_exception_if_processing_interrupted()
            if self.hook is not None:
                self.hook.begin(key)
            args = extra_args
            if self.call_options is not None:
                args = {**extra_args, "model_options": self.call_options(key, extra_args["model_options"])}
            sigma_batch = torch.full((x.shape[0],), sigma, device=x.device, dtype=sigmas.dtype)
            return model_wrap(x, sigma_batch, **args)

        def progress(step_done: int, x: Tensor) -> None:
            comfy.model_management.throw_exception_if_processing_interrupted()
            if callback is not None:
                callback(step_done - 1, x, x, total)

        return self.loop(velocity, latent_image, progress)


def flux_sigmas(model, steps: int) -> Tensor:
    """ComfyUI's `simple` schedule on the MODEL's own model_sampling (ModelSamplingFlux upstream counts)."""
    return comfy.samplers.calculate_sigmas(model.get_model_object("model_sampling"), "simple", steps).cpu()


def with_guidance(conditioning: list, guidance: float) -> list:
    """CONDITIONING with the Flux guidance value replaced (as the FluxGuidance node does)."""
    return node_helpers.conditioning_set_values(conditioning, {"guidance": guidance})


@functools.cache
def _velocity_class(base: type) -> type:
    def calculate_denoised(self, sigma, model_output, model_input):
        return model_output

    return type(f"Velocity{base.__name__}", (base,), {"calculate_denoised": calculate_denoised})


def velocity_sampling(base: torch.nn.Module) -> torch.nn.Module:
    """A copy of the model's model_sampling whose calculate_denoised returns the raw model output, so the
    sampler receives the exact velocity v at every sigma, sigma = 0 included (x0 arithmetic loses it there).
    Same pattern as ComfyUI's ModelSamplingFlux node: a subclass instance set with add_object_patch."""
    out = _velocity_class(type(base)).__new__(_velocity_class(type(base)))
    out.__dict__.update(copy.copy(base.__dict__))
    for name in ("_parameters", "_buffers", "_modules"):
        out.__dict__[name] = copy.copy(base.__dict__[name])
    return out


def velocity_clone(model):
    """A clone of MODEL whose model_wrap returns the raw velocity (object patch; the input is untouched)."""
    clone = model.clone()
    clone.add_object_patch("model_sampling", velocity_sampling(model.get_model_object("model_sampling")))
    return clone


def run_loop(
    clone,
    conditioning: list,
    latent: Tensor,
    sigmas: Tensor,
    sampler: LoopSampler,
    preview: bool = True,
    negative: list | None = None,
) -> Tensor:
    """Run `sampler` through a CFGGuider at cfg 1 (Flux-dev is guidance-distilled: one model call per
    evaluation). latent is a user-space LATENT tensor; returns the user-space result. `negative` is only
    evaluated in calls whose call_options pair it (store mode "recompute": the source prompt)."""
    guider = comfy.samplers.CFGGuider(clone)
    guider.set_conds(conditioning, conditioning if negative is None else negative)
    guider.set_cfg(1.0)
    steps = len(sigmas) - 1
    callback = latent_preview.prepare_callback(clone, steps) if preview else None
    return guider.sample(
        torch.zeros_like(latent), latent, sampler, sigmas, callback=callback, disable_pbar=True, seed=0
    )
