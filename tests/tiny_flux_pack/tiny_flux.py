"""Tiny random Flux models built from ComfyUI's own classes, for tests on CPU.

Only ComfyUI's real code is used: `comfy.supported_models.Flux` builds a `comfy.model_base.Flux`
wrapping `comfy.ldm.flux.model.Flux`, and `comfy.model_patcher.ModelPatcher` wraps it, exactly as the
checkpoint loaders do. The weights are random; `weight_scale` sets their std to scale/sqrt(fan_in), so a
small scale gives a smooth velocity field (ODE solves converge at their textbook order).
"""

from __future__ import annotations

import dataclasses
import math

import torch

TEXT_DIM = 32
POOLED_DIM = 32


def tiny_flux_config(depth: int = 2, depth_single: int = 4, hidden: int = 64, heads: int = 4) -> dict:
    """A Flux unet config small enough for CPU tests (head_dim = hidden / heads = sum(axes_dim))."""
    import comfy.ldm.flux.model

    head_dim = hidden // heads
    r = round(head_dim / 6)
    axes = [head_dim - 4 * r, 2 * r, 2 * r]  # 16 -> [4, 6, 6]; every entry even, as RoPE needs
    cfg = {
        "image_model": "flux",
        "in_channels": 16,
        "out_channels": 16,
        "vec_in_dim": POOLED_DIM,
        "context_in_dim": TEXT_DIM,
        "hidden_size": hidden,
        "mlp_ratio": 4.0,
        "num_heads": heads,
        "depth": depth,
        "depth_single_blocks": depth_single,
        "axes_dim": axes,
        "theta": 10000,
        "patch_size": 2,
        "qkv_bias": True,
        "guidance_embed": True,
        "txt_ids_dims": [],
    }
    known = {f.name for f in dataclasses.fields(comfy.ldm.flux.model.FluxParams)} | {"image_model"}
    return {k: v for k, v in cfg.items() if k in known}


@torch.no_grad()
def init_weights(model: torch.nn.Module, seed: int, weight_scale: float) -> None:
    """Normal(0, weight_scale/sqrt(fan_in)) matrices, zero biases, unit norm scales; deterministic."""
    gen = torch.Generator().manual_seed(seed)
    for name, param in model.named_parameters():
        if name.endswith(".scale") or name.endswith("norm.weight"):
            param.copy_(torch.ones_like(param))
        elif param.ndim >= 2:
            fan_in = math.prod(param.shape[1:])
            std = weight_scale / math.sqrt(fan_in)
            param.copy_(torch.randn(param.shape, generator=gen, dtype=torch.float32) * std)
        else:
            param.copy_(torch.zeros_like(param))


def build_tiny_flux(
    seed: int = 0,
    depth: int = 2,
    depth_single: int = 4,
    weight_scale: float = 0.25,
    hidden: int = 64,
    heads: int = 4,
):
    """A real ComfyUI MODEL (ModelPatcher) holding a tiny random Flux, float32 on CPU."""
    import comfy.model_patcher
    import comfy.supported_models

    config = comfy.supported_models.Flux(tiny_flux_config(depth, depth_single, hidden, heads))
    config.set_inference_dtype(torch.float32, None)
    model = config.get_model({}, device=torch.device("cpu"))
    init_weights(model.diffusion_model, seed, weight_scale)
    model.diffusion_model.to(torch.float32).requires_grad_(False)
    return comfy.model_patcher.ModelPatcher(
        model, load_device=torch.device("cpu"), offload_device=torch.device("cpu")
    )


def tiny_conditioning(seed: int = 0, tokens: int = 8, guidance: float = 3.5) -> list:
    """CONDITIONING for the tiny Flux: [[cond [1,tokens,32], {"pooled_output": [1,32], "guidance": g}]]."""
    gen = torch.Generator().manual_seed(10_000 + seed)
    cond = torch.randn(1, tokens, TEXT_DIM, generator=gen)
    pooled = torch.randn(1, POOLED_DIM, generator=gen)
    return [[cond, {"pooled_output": pooled, "guidance": guidance}]]


def tiny_latent(seed: int = 0, height: int = 16, width: int = 16, batch: int = 1) -> dict:
    """LATENT {"samples": [B,16,h,w]} standing in for a VAE-encoded portrait (values like Flux latents)."""
    gen = torch.Generator().manual_seed(20_000 + seed)
    return {"samples": torch.randn(batch, 16, height, width, generator=gen) * 0.8 + 0.1}
