"""Input checks of the editing nodes: each raises ValueError saying how to fix the graph."""

from __future__ import annotations

import weakref

import comfy.model_base
import torch
from torch import Tensor


def check_flux(model, conditioning: list) -> torch.nn.Module:
    """Raise ValueError unless MODEL is a plain FLUX.1 text-to-image model and CONDITIONING is plain Flux
    text conditioning for it; returns its diffusion model."""
    base = getattr(model, "model", None)
    diffusion = getattr(base, "diffusion_model", None)
    if not isinstance(base, comfy.model_base.Flux):
        raise ValueError(
            f"Flux-Sculptor needs a FLUX.1 model (e.g. flux1-dev from UNETLoader); got "
            f"{type(base).__name__}. Connect the MODEL output of a FLUX.1 loader."
        )
    if not hasattr(diffusion, "single_blocks"):
        raise ValueError(
            f"This FLUX model's transformer ({type(diffusion).__name__}) is not ComfyUI's "
            "own Flux implementation (a quantised or compiled replacement?); Flux-Sculptor "
            "hooks ComfyUI's Flux blocks: load the model with UNETLoader or a loader that keeps "
            "them (e.g. GGUF)."
        )
    other = [name for name in ("Chroma", "Flux2") if isinstance(base, getattr(comfy.model_base, name, ()))]
    if other:
        raise ValueError(
            f"{type(base).__name__} is a Flux-derived model ({other[0]}) that Flux-Sculptor "
            "does not support; load FLUX.1-dev or FLUX.1-schnell with UNETLoader."
        )
    channels = getattr(base.model_config, "unet_config", {}).get("in_channels", 16)
    if channels != 16:
        raise ValueError(
            f"This Flux variant takes {channels} input channels (FLUX.1 Fill/inpaint, Depth or "
            "Canny); Flux-Sculptor supports FLUX.1-dev/schnell text-to-image models only."
        )
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
            raise ValueError(
                "The conditioning carries reference latents (FLUX.1 Kontext) or an inpainting "
                "image; Flux-Sculptor edits with plain text conditioning: use CLIPTextEncode."
            )
        if text_dim is not None and cond.shape[-1] != text_dim:
            raise ValueError(
                f"The conditioning has {cond.shape[-1]}-dim text features but this Flux model "
                f"takes {text_dim}; encode the prompt with the Flux CLIP (DualCLIPLoader, type "
                "flux: clip_l + t5xxl) and CLIPTextEncode."
            )
        pooled = options.get("pooled_output")
        if pooled_dim is not None and (pooled is None or pooled.shape[-1] < pooled_dim):
            raise ValueError(
                "The conditioning has no clip_l pooled output of the size this Flux model "
                "needs; encode the prompt with the Flux CLIP (DualCLIPLoader, type flux) and "
                "CLIPTextEncode."
            )
        if not torch.isfinite(cond).all() or (pooled is not None and not torch.isfinite(pooled).all()):
            raise ValueError(
                "The conditioning contains NaN or inf values; re-encode the prompt with "
                "CLIPTextEncode (check nodes that scale or combine conditionings)."
            )


def check_source_latent(latent: dict) -> Tensor:
    """The inversion's LATENT {"samples": [B,16,h,w]} -> its samples, refusing what it cannot invert."""
    samples = latent["samples"]
    if samples.ndim != 4 or samples.shape[1] != 16:
        raise ValueError(
            f"latent must be a Flux LATENT [B,16,h,w]; got shape {list(samples.shape)}. "
            "Encode the portrait with VAEEncode and the FLUX ae VAE."
        )
    if not torch.isfinite(samples).all():
        raise ValueError("latent contains NaN or inf values; re-encode the image with VAEEncode.")
    if not samples.any():
        raise ValueError("latent is all zeros (an empty latent?). Connect VAEEncode of your portrait.")
    if latent.get("noise_mask") is not None:
        raise ValueError(
            "The LATENT carries a noise_mask (VAEEncodeForInpaint or SetLatentNoiseMask), "
            "which the inversion cannot honour; encode the portrait with plain VAEEncode and "
            "connect the edit region to the S2D-EC sampler's `mask` input."
        )
    return samples


def check_inversion_settings(diffusion: torch.nn.Module, steps: int, value_blocks: int) -> None:
    n_single = len(diffusion.single_blocks)
    if not 1 <= value_blocks <= n_single:
        raise ValueError(
            f"value_blocks must be between 1 and {n_single} (this model's single blocks); got {value_blocks}."
        )
    if steps < 2:
        raise ValueError(f"steps must be >= 2 for an inversion; got {steps}.")


def check_structure_steps(structure_steps: int, steps: int) -> None:
    if not 0 <= structure_steps <= steps:
        raise ValueError(
            f"structure_steps must be between 0 and the inversion's {steps} steps; got {structure_steps}."
        )


def check_result(samples: Tensor, what: str) -> Tensor:
    """Refuse a non-finite solve result [B,16,h,w] instead of handing a broken latent downstream."""
    if not torch.isfinite(samples).all():
        raise ValueError(
            f"The {what} produced NaN or inf values: the MODEL overflowed at its precision "
            "(e.g. fp16 or fp8 weights) or another patch on it misbehaved. Load FLUX with "
            "UNETLoader weight_dtype 'default' (bf16) and remove other patches to compare."
        )
    return samples


def model_identity(model) -> tuple:
    """An opaque token of MODEL (its weights object and patch set), kept by the inversion."""
    return (weakref.ref(model.model), model.patches_uuid)


def check_same_model(identity: tuple, model) -> None:
    ref, patches = identity
    if ref() is not model.model or patches != model.patches_uuid:
        raise ValueError(
            "This inversion was made with a different MODEL (or the same model with other "
            "patches/LoRAs). Feed the S2D-EC sampler the same MODEL as the inversion."
        )
