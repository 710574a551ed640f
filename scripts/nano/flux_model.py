"""Nano's diffusion model for training: ComfyUI's own `comfy.ldm.flux.model.Flux`, built and initialised.

Training-only workaround: ComfyUI's Flux blocks add residuals in place (`img += ...`) right after a
parameter-free LayerNorm that saved that same tensor for backward, so autograd fails. `make_trainable`
adds a forward pre-hook to every LayerNorm that hands it a copy (same maths, same state dict). The hooks
live on the training instance only; the pack's loader never installs them.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from scripts.nano.comfy_env import import_comfy


def flux_params(config: dict) -> dict:
    """`config` restricted to the FluxParams fields this ComfyUI knows (newer builds add txt_ids_dims)."""
    import comfy.ldm.flux.model

    known = {f.name for f in dataclasses.fields(comfy.ldm.flux.model.FluxParams)}
    out = {k: v for k, v in config.items() if k in known}
    if "txt_ids_dims" in known:
        out.setdefault("txt_ids_dims", [])
    return out


def build_flux(config: dict, seed: int = 0) -> torch.nn.Module:
    """comfy.ldm.flux.model.Flux (float32, CPU, disable_weight_init ops), initialised for a stable start:
    Linear weights N(0, 1/fan_in) scaled by 0.5, zero biases, RMSNorm scales 1, and zero modulation,
    guidance and final layers (each block starts as the identity; the output starts at zero)."""
    import_comfy()
    import comfy.ldm.flux.model
    import comfy.ops

    model = comfy.ldm.flux.model.Flux(
        dtype=torch.float32, device="cpu", operations=comfy.ops.disable_weight_init, **flux_params(config)
    )
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            zero = any(k in name for k in ("modulation", "adaLN", "final_layer", "guidance_in.out_layer"))
            if name.endswith(".scale"):
                p.fill_(1.0)
            elif p.ndim >= 2 and not zero:
                p.copy_(torch.randn(p.shape, generator=gen) * (0.5 / math.sqrt(p.shape[1])))
            else:
                p.zero_()
    return model


def _copy_input(module: torch.nn.Module, args: tuple) -> tuple:
    return (args[0].clone(),) + tuple(args[1:])


def make_trainable(model: torch.nn.Module) -> list:
    """Pre-hooks so every LayerNorm works on a copy of its input (see module doc). Returns the handles."""
    return [
        m.register_forward_pre_hook(_copy_input) for m in model.modules() if isinstance(m, torch.nn.LayerNorm)
    ]


def set_training_flag(on: bool) -> None:
    """ComfyUI >= 0.33 checks comfy.model_management.in_training during backprop; older builds lack it."""
    import comfy.model_management

    if hasattr(comfy.model_management, "in_training"):
        comfy.model_management.in_training = on


def flux_time_shift(u: torch.Tensor, mu: float = 1.15) -> torch.Tensor:
    """ComfyUI's ModelSamplingFlux sigma(t) = e^mu / (e^mu + 1/t - 1) (default shift 1.15), t in (0,1]."""
    return math.exp(mu) / (math.exp(mu) + (1 / u - 1))
