"""PASL inference helpers in plain torch: prompt splitting, input sizing, masks at image size, union."""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F

from .pasl import PASL
from .text_features import TextEncoder


def split_prompt(text: str) -> list[str]:
    """'hair; lips\\neyes' -> ['hair', 'lips', 'eyes'] (sub-prompts split on newlines and ';')."""
    parts = [p.strip() for p in re.split(r"[;\n\r]+", text or "")]
    parts = [p for p in parts if p]
    if not parts:
        raise ValueError("the PASL prompt is empty: write what to locate, e.g. 'hair' or "
                         "'eyes; lips' (one sub-prompt per line or separated by ';')")
    return parts


def input_size(h: int, w: int, resolution: int, multiple: int = 8) -> tuple[int, int]:
    """Model input (H,W): the longer side becomes `resolution`, both rounded to `multiple` (>= multiple)."""
    s = resolution / max(h, w)
    return (max(multiple, round(h * s / multiple) * multiple),
            max(multiple, round(w * s / multiple) * multiple))


def to_model_input(image: torch.Tensor, resolution: int) -> torch.Tensor:
    """IMAGE [B,H,W,C] 0..1 (C>=3; extra channels ignored) -> [B,3,h,w] at the model's input size."""
    if image.ndim != 4 or image.shape[-1] < 3:
        raise ValueError(f"expected an RGB IMAGE [B,H,W,C] with C >= 3, got {tuple(image.shape)}: connect a "
                         "LoadImage or VAEDecode IMAGE (convert a MASK with MaskToImage first)")
    x = image[..., :3].permute(0, 3, 1, 2).float()
    size = input_size(x.shape[-2], x.shape[-1], resolution)
    return F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


@torch.no_grad()
def predict_masks(model: PASL, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """IMAGE [B,H,W,C] 0..1, raw text features [P,D] -> soft masks [B,P,H,W] in 0..1 at image size.

    Logits at 1/8 of the model input are upsampled bilinearly to the image size, then sigmoid.
    """
    if not torch.isfinite(image).all():
        raise ValueError("the image contains NaN or infinite values: fix the node that produced it")
    device = next(model.parameters()).device
    x = to_model_input(image, model.config.resolution).to(device)
    logits = model(x, text.to(device))
    up = F.interpolate(logits, size=image.shape[1:3], mode="bilinear", align_corners=False)
    return up.sigmoid().float().cpu()


def union(masks: torch.Tensor) -> torch.Tensor:
    """Soft union over sub-prompts: [B,P,H,W] -> [B,H,W] (pixelwise max)."""
    return masks.amax(dim=1)


def locate(model: PASL, encoder: TextEncoder, image: torch.Tensor,
           prompt: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Prompt text -> (union MASK [B,H,W], per-sub-prompt masks [B*P,H,W] image-major, sub-prompts)."""
    if encoder.name != model.config.encoder:
        raise ValueError(f"these PASL weights need text encoder '{model.config.encoder}', got "
                         f"'{encoder.name}': pick matching weights")
    parts = split_prompt(prompt)
    masks = predict_masks(model, image, encoder.encode(parts))
    return union(masks), masks.flatten(0, 1), parts
