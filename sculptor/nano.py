"""Flux-Sculptor Nano: the small face Flux's architecture and its text conditioning.

`NANO_FLUX` holds the `comfy.ldm.flux.model.FluxParams` fields of Nano's diffusion model (hidden 256,
2 heads of 128, 2 double + 4 single blocks, patch 2: a 128x128 portrait is 16x16x16 latents, 64 image
tokens). Text: all-MiniLM-L6-v2 token states and sentence embedding.

Nano's Flux reads `context` = MiniLM's last hidden states [P,L,384] (L = NANO_TEXT_TOKENS, padding
positions zero) and `y` (pooled) = the L2-normalised mean over the real tokens [P,384], i.e. the
sentence-transformers embedding. The trainer and the ComfyUI CLIP wrapper both call `nano_text_features`,
so training and inference see identical tensors. An empty prompt is valid ([CLS] [SEP] only): it is
the unconditional input used for caption dropout and classifier-free guidance.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .text_features import _minilm

NANO_TEXT_TOKENS = 24
NANO_TEXT_DIM = 384
NANO_FLUX: dict = {
    "in_channels": 16,
    "out_channels": 16,
    "vec_in_dim": NANO_TEXT_DIM,
    "context_in_dim": NANO_TEXT_DIM,
    "hidden_size": 256,
    "mlp_ratio": 4.0,
    "num_heads": 2,
    "depth": 2,
    "depth_single_blocks": 4,
    "axes_dim": [16, 56, 56],
    "theta": 10000,
    "patch_size": 2,
    "qkv_bias": True,
    "guidance_embed": True,
}


@torch.no_grad()
def nano_text_features(
    prompts: Sequence[str], length: int = NANO_TEXT_TOKENS
) -> tuple[torch.Tensor, torch.Tensor]:
    """prompts -> (tokens [P,length,384] float32, pooled [P,384] float32); longer prompts are truncated."""
    if isinstance(prompts, str) or not len(prompts):
        raise ValueError("nano_text_features needs a list of prompts, e.g. ['a photo of a person']")
    tokenizer, model = _minilm()
    batch = tokenizer(
        [p.strip() for p in prompts],
        padding="max_length",
        truncation=True,
        max_length=length,
        return_tensors="pt",
    )
    hidden = model(**batch).last_hidden_state.float()
    m = batch["attention_mask"].unsqueeze(-1).float()
    pooled = F.normalize((hidden * m).sum(1) / m.sum(1).clamp_min(1e-9), dim=-1)
    return hidden * m, pooled
