"""Inversion and S2D-EC editing runs on a ComfyUI Flux MODEL (input checks, hooks, guider)."""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import Callable

import comfy.model_base
import torch
from torch import Tensor

from ..sculptor import masks as mask_ops
from ..sculptor.inversion import Inversion, SourcePath
from ..sculptor.s2dec import Fusion, plan, structure_fusion
from ..sculptor.solver import CallKey, Solver, denoise, invert
from ..sculptor.value_store import CallReader, ValueStore
from .flux_driver import LoopSampler, flux_sigmas, run_loop, velocity_clone, with_guidance
from .flux_hooks import SourceBranch, ValueHook, last_single_blocks

log = logging.getLogger("flux_sculptor")


def check_flux(model, conditioning: list) -> torch.nn.Module:
    """Raise ValueError unless MODEL is a plain FLUX.1 text-to-image model and CONDITIONING is plain Flux
    text conditioning for it; returns its diffusion model."""
    base = getattr(model, "model", None)
    diffusion = getattr(base, "diffusion_model", None)
    if not isinstance(base, comfy.model_base.Flux):
        raise ValueError(f"Flux-Sculptor needs a FLUX.1 model (e.g. flux1-dev from UNETLoader); got "
                         f"{type(base).__name__}. Connect the MODEL output of a FLUX.1 loader.")
    if not hasattr(diffusion, "single_blocks"):
        raise ValueError(f"This FLUX model's transformer ({type(diffusion).__name__}) is not ComfyUI's "
                         "own Flux implementation (a quantised or compiled replacement?); Flux-Sculptor "
                         "hooks ComfyUI's Flux blocks: load the model with UNETLoader or a loader that keeps "
                         "them (e.g. GGUF).")
    other = [name for name in ("Chroma", "Flux2") if isinstance(base, getattr(comfy.model_base, name, ()))]
    if other:
        raise ValueError(f"{type(base).__name__} is a Flux-derived model ({other[0]}) that Flux-Sculptor "
                         "does not support; load FLUX.1-dev or FLUX.1-schnell with UNETLoader.")
    channels = getattr(base.model_config, "unet_config", {}).get("in_channels", 16)
    if channels != 16:
        raise ValueError(f"This Flux variant takes {channels} input channels (FLUX.1 Fill/inpaint, Depth or "
                         "Canny); Flux-Sculptor supports FLUX.1-dev/schnell text-to-image models only.")
    check_conditioning(diffusion, conditioning)
    return diffusion


def check_conditioning(diffusion: torch.nn.Module, conditioning: list) -> None:
    """CONDITIONING [[cond [1,N,D_txt], {"pooled_output": [1,D_vec], ...}], ...] made for this Flux."""
    if not conditioning:
        raise ValueError("The conditioning is empty; connect CLIPTextEncode with the Flux CLIP.")
    text_dim = getattr(getattr(diffusion, "txt_in", None), "in_features", None)
    vector_in = getattr(diffusion, "vector_in", None)
    pooled_dim = getattr(getattr(vector_in, "in_layer", None), "in_features", None)
    for cond, options in conditioning:
        if options.get("reference_latents") or options.get("concat_latent_image") is not None:
            raise ValueError("The conditioning carries reference latents (FLUX.1 Kontext) or an inpainting "
                             "image; Flux-Sculptor edits with plain text conditioning: use CLIPTextEncode.")
        if text_dim is not None and cond.shape[-1] != text_dim:
            raise ValueError(f"The conditioning has {cond.shape[-1]}-dim text features but this Flux model "
                             f"takes {text_dim}; encode the prompt with the Flux CLIP (DualCLIPLoader, type "
                             "flux: clip_l + t5xxl) and CLIPTextEncode.")
        pooled = options.get("pooled_output")
        if pooled_dim is not None and (pooled is None or pooled.shape[-1] < pooled_dim):
            raise ValueError("The conditioning has no clip_l pooled output of the size this Flux model "
                             "needs; encode the prompt with the Flux CLIP (DualCLIPLoader, type flux) and "
                             "CLIPTextEncode.")
        if not torch.isfinite(cond).all() or (pooled is not None and not torch.isfinite(pooled).all()):
            raise ValueError("The conditioning contains NaN or inf values; re-encode the prompt with "
                             "CLIPTextEncode (check nodes that scale or combine conditionings).")


def check_latent(samples: Tensor, name: str = "latent") -> None:
    if samples.ndim != 4 or samples.shape[1] != 16:
        raise ValueError(f"{name} must be a Flux LATENT [B,16,h,w]; got shape {list(samples.shape)}. "
                         "Encode the portrait with VAEEncode and the FLUX ae VAE.")
    if not torch.isfinite(samples).all():
        raise ValueError(f"{name} contains NaN or inf values; re-encode the image with VAEEncode.")
    if not samples.any():
        raise ValueError(f"{name} is all zeros (an empty latent?). Connect VAEEncode of your portrait.")


def check_result(samples: Tensor, what: str) -> Tensor:
    """Refuse a non-finite solve result [B,16,h,w] instead of handing a broken latent downstream."""
    if not torch.isfinite(samples).all():
        raise ValueError(f"The {what} produced NaN or inf values: the MODEL overflowed at its precision "
                         "(e.g. fp16 or fp8 weights) or another patch on it misbehaved. Load FLUX with "
                         "UNETLoader weight_dtype 'default' (bf16) and remove other patches to compare.")
    return samples


def model_identity(model) -> tuple:
    return (weakref.ref(model.model), model.patches_uuid)


def same_model(identity: tuple, model) -> bool:
    ref, patches = identity
    return ref() is model.model and patches == model.patches_uuid


def run_inversion(model, latent: dict, conditioning: list, steps: int, guidance: float, value_blocks: int,
                  store: str, solver: Solver = "rf_solver", store_dtype: torch.dtype | None = None,
                  preview: bool = True) -> Inversion:
    """RF-Solver inversion of latent["samples"] [B,16,h,w] with V recording (paper sec. 3.2)."""
    diffusion = check_flux(model, conditioning)
    samples = latent["samples"]
    check_latent(samples)
    if latent.get("noise_mask") is not None:
        raise ValueError("The LATENT carries a noise_mask (VAEEncodeForInpaint or SetLatentNoiseMask), "
                         "which the inversion cannot honour; encode the portrait with plain VAEEncode and "
                         "connect the edit region to the S2D-EC sampler's `mask` input.")
    n_single = len(diffusion.single_blocks)
    if not 1 <= value_blocks <= n_single:
        raise ValueError(f"value_blocks must be between 1 and {n_single} (this model's single blocks); "
                         f"got {value_blocks}.")
    if steps < 2:
        raise ValueError(f"steps must be >= 2 for an inversion; got {steps}.")
    cond = with_guidance(conditioning, guidance)
    sigmas = flux_sigmas(model, steps)
    s = sigmas.tolist()
    blocks = last_single_blocks(diffusion, value_blocks)
    values = ValueStore(tuple(sorted(blocks)), store, store_dtype)
    hook = ValueHook(blocks, mask_ops.token_count(*samples.shape[-2:]), store=values,
                     action="off" if store == "recompute" else "record")
    clone = velocity_clone(model)
    if store != "recompute":  # recompute records nothing: the solve runs with no hooks
        hook.install(clone)
    keep = (lambda t: t) if store == "device" else (lambda t: t.to("cpu"))
    visited: list[Tensor] = []
    midpoints: dict[int, Tensor] = {}

    def loop(velocity, x_clean, progress):
        def velocity_keeping_midpoints(x: Tensor, sigma: float, key: CallKey) -> Tensor:
            if store == "recompute" and key.kind == "mid":
                midpoints[key.index] = keep(x)  # the source input of the editor's call ("mid", j)
            return velocity(x, sigma, key)

        latents = invert(velocity_keeping_midpoints, x_clean, s, solver, on_step=progress)
        if store != "recompute":
            velocity(latents[0], s[0], CallKey("at", 0))  # V at sigma 1, for the editor's first call
        visited.extend(keep(t) for t in latents)
        return latents[0]

    recording = "off" if store == "recompute" else "record"
    unused = CallKey("at", steps)  # the editor never calls the model at sigma 0: nothing to record there

    def on_call(key: CallKey) -> None:
        hook.action = "off" if key == unused else recording

    noise = run_loop(clone, cond, samples, sigmas, LoopSampler(loop, hook, on_call), preview)
    hook.store = None
    values.finish()
    return Inversion(sigmas=s, latents=visited, store=values, value_blocks=blocks, solver=solver,
                     guidance=guidance, model_identity=model_identity(model), source_conditioning=cond,
                     extra={"source_latent": samples, "noise_latent": noise},
                     midpoints=[midpoints[j] for j in sorted(midpoints)])


def edit_masks(mask: Tensor | None, latent: Tensor) -> tuple[Tensor, Tensor]:
    """MASK [B|1,H,W] (None = whole image) -> (latent mask [B|1,1,h,w], token mask [B|1,N_img])."""
    b, _, h, w = latent.shape
    if mask is None:
        return torch.ones(1, 1, h, w), torch.ones(1, mask_ops.token_count(h, w))
    mask = mask_ops.as_batch(mask).float()
    if not torch.isfinite(mask).all():
        raise ValueError("mask contains NaN or inf values; rebuild it (e.g. with Flux-Sculptor Mask "
                         "Combine).")
    if mask_ops.is_load_image_placeholder(mask):
        raise ValueError("mask is LoadImage's 64x64 empty placeholder (the image has no painted mask). Paint "
                         "the region in the mask editor, or disconnect `mask` to edit the whole image.")
    if mask.shape[0] not in (1, b):
        raise ValueError(f"mask batch {mask.shape[0]} does not match the latent batch {b}; give one mask "
                         "for all images or one per image.")
    mask = crop_like_vae_encode(mask, h, w)
    if not mask.any():
        log.warning("Flux-Sculptor: the mask is empty, so nothing is edited (the result is the "
                    "reconstruction).")
    stretch = (mask.shape[-2] / mask.shape[-1]) / (h / w)
    if abs(math.log(stretch)) > math.log(1.05) and mask.amin() != mask.amax():
        log.warning("Flux-Sculptor: the mask (%dx%d) has another aspect ratio than the inverted image "
                    "(latent %dx%d) and is stretched to fit; make the mask from the same image as the "
                    "inversion.",
                    mask.shape[-2], mask.shape[-1], h, w)
    # area averages of a full region can round to 1 - 1e-7: snap them, so a full mask equals no mask
    return _snap_full(mask_ops.to_latent_grid(mask, h, w)), _snap_full(mask_ops.to_token_grid(mask, h, w))


def crop_like_vae_encode(mask: Tensor, h: int, w: int, ratio: int = 8) -> Tensor:
    """MASK [B,H,W] at the size of the image VAEEncode saw -> [B,8h,8w]: VAEEncode centre-crops each side
    to a multiple of 8 (comfy.sd.VAE.vae_encode_crop_pixels), so the mask is cropped the same way and stays
    aligned with the latent. Masks of any other size are left to be stretched."""
    size_h, size_w = mask.shape[-2:]
    if size_h // ratio != h or size_w // ratio != w or not (size_h % ratio or size_w % ratio):
        return mask
    top, left = (size_h % ratio) // 2, (size_w % ratio) // 2
    return mask[:, top:top + h * ratio, left:left + w * ratio]


def _snap_full(weights: Tensor) -> Tensor:
    return torch.where(weights > 1.0 - 1e-6, torch.ones_like(weights), weights)


def run_edit(model, inversion: Inversion, conditioning: list, mask: Tensor | None, structure_steps: int,
             guidance: float, fusion: Fusion, source_path: SourcePath, preview: bool = True,
             on_step: Callable[[int, Tensor], None] | None = None,
             observers: list[Callable[..., None]] | None = None) -> Tensor:
    """S2D-EC editing from the inverted noise (paper sec. 3.4); returns the user-space LATENT samples.

    Diagnostics: on_step(j, x) sees the model-space latent after step j (after eq. 13 fusion);
    observers are passed to the ValueHook (action, key, block, v_before, v_after)."""
    check_flux(model, conditioning)
    if not same_model(inversion.model_identity, model):
        raise ValueError("This inversion was made with a different MODEL (or the same model with other "
                         "patches/LoRAs). Feed the S2D-EC sampler the same MODEL as the inversion.")
    n = inversion.steps
    if fusion in ("s2d-ec", "latent") and not 0 <= structure_steps <= n:
        raise ValueError(f"structure_steps must be between 0 and the inversion's {n} steps; got "
                         f"{structure_steps}.")
    fusion_plan = plan(fusion, structure_steps, n)
    latent_mask, token_mask = edit_masks(mask, inversion.clean)
    if mask is not None and not latent_mask.any():  # nothing to edit: solve with the source prompt instead
        conditioning, guidance = inversion.source_conditioning, inversion.guidance
    hook, recompute = None, inversion.store.mode == "recompute"
    clone = velocity_clone(model)
    if fusion_plan.value_from is not None:
        hook = ValueHook(inversion.value_blocks, token_mask.shape[1], token_mask=token_mask,
                         source_values=CallReader(inversion.store).get, observers=list(observers or []),
                         recompute=recompute)
        hook.install(clone)
        if recompute:  # V_source from the source branch, batched with the edit in fused calls only
            SourceBranch(hook, inversion.source_input).install(clone)

    def on_call(key: CallKey) -> None:
        if hook is not None:
            hook.action = "fuse" if fusion_plan.fuses_values(key) else "off"

    fuse_structure = structure_fusion(inversion, latent_mask, fusion_plan, source_path)

    def loop(velocity, _x, progress):
        def after_step(j: int, x: Tensor) -> Tensor:
            x = fuse_structure(j, x)  # eq. 13 in the structure stage, identity afterwards
            if on_step is not None:
                on_step(j, x)
            progress(j + 1, x)
            return x

        x_noise = inversion.noise.to(device=_x.device, dtype=_x.dtype)
        return denoise(velocity, x_noise, inversion.sigmas, inversion.solver, after_step)

    sigmas = torch.tensor(inversion.sigmas, dtype=torch.float32)
    paired = fusion_plan.fuses_values if hook is not None and recompute else None
    return run_loop(clone, with_guidance(conditioning, guidance), inversion.extra["source_latent"], sigmas,
                    LoopSampler(loop, hook, on_call, paired), preview,
                    negative=inversion.source_conditioning if paired else None)
