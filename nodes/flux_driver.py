"""Runs sculptor's solve loops inside ComfyUI's sampling machinery (CFGGuider + a Sampler subclass).

The guider does what ComfyUI users expect of any sampler: model loading/offloading, condition
preparation, process_latent_in/out, wrappers of other packs. Our Sampler only turns `model_wrap` into an
exact velocity function v(x, sigma, key) and hands it to a plain-torch loop from sculptor.solver.
"""

from __future__ import annotations

from collections.abc import Callable

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


def _positive_only(args: dict) -> Tensor:
    return args["cond_denoised"]


def paired_options(model_options: dict) -> dict:
    """model_options for one call that also runs the guider's negative conditioning in the same batch
    (the cfg-1 shortcut off) yet returns exactly the positive prediction (a last post-cfg function)."""
    post = [*model_options.get("sampler_post_cfg_function", []), _positive_only]
    return {**model_options, "disable_cfg1_optimization": True, "sampler_post_cfg_function": post}


class LoopSampler(comfy.samplers.Sampler):
    """A ComfyUI Sampler whose sampling is a sculptor loop; `hook.begin(key)` runs before every model
    call. Calls for which paired(key) is true also run the negative conditioning (paired_options)."""

    def __init__(self, loop: Loop, hook: ValueHook | None, on_call: Callable[[CallKey], None] | None = None,
                 paired: Callable[[CallKey], bool] | None = None):
        self.loop, self.hook, self.on_call, self.paired = loop, hook, on_call, paired

    def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
               disable_pbar=False):
        total = len(sigmas) - 1

        def velocity(x: Tensor, sigma: float, key: CallKey) -> Tensor:
            comfy.model_management.throw_exception_if_processing_interrupted()
            if self.hook is not None:
                self.hook.begin(key)
            if self.on_call is not None:
                self.on_call(key)
            args = extra_args
            if self.paired is not None and self.paired(key):
                args = {**extra_args, "model_options": paired_options(extra_args["model_options"])}
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


def velocity_clone(model):
    """A clone of MODEL whose model_wrap returns the raw velocity (object patch; the input is untouched)."""
    clone = model.clone()
    clone.add_object_patch("model_sampling", velocity_sampling(model.get_model_object("model_sampling")))
    return clone


def run_loop(clone, conditioning: list, latent: Tensor, sigmas: Tensor, sampler: LoopSampler,
             preview: bool = True, negative: list | None = None) -> Tensor:
    """Run `sampler` through a CFGGuider at cfg 1 (Flux-dev is guidance-distilled: one model call per
    evaluation). latent is a user-space LATENT tensor; returns the user-space result. `negative` is only
    evaluated in the sampler's paired calls (store mode "recompute": the source prompt)."""
    guider = comfy.samplers.CFGGuider(clone)
    guider.set_conds(conditioning, conditioning if negative is None else negative)
    guider.set_cfg(1.0)
    steps = len(sigmas) - 1
    callback = latent_preview.prepare_callback(clone, steps) if preview else None
    return guider.sample(torch.zeros_like(latent), latent, sampler, sigmas, callback=callback,
                         disable_pbar=True, seed=0)
