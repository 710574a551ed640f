"""PASL inference helpers in plain torch: prompt splitting, input sizing, masks at image size, union."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from .pasl import PASL
from .text_features import TextEncoder, check_prompts, get_encoder


def split_prompt(text: str) -> list[str]:
    """'hair; lips\\neyes' -> ['hair', 'lips', 'eyes'] (sub-prompts split on newlines and ';')."""
    parts = [p.strip() for p in re.split(r"[;\n\r]+", text or "")]
    return check_prompts([p for p in parts if p])


def encoder_for(model: PASL, clip_l: Callable[[], TextEncoder] | None = None) -> TextEncoder:
    """The text encoder these PASL weights were trained with (the one rule for the node and the scripts):
    'minilm' -> MiniLM; 'clip-l' -> clip_l() when given (the ComfyUI CLIP's route), else open_clip's."""
    if model.config.encoder == "clip-l" and clip_l is not None:
        return clip_l()
    return get_encoder(model.config.encoder)


def input_size(h: int, w: int, resolution: int, multiple: int = 8) -> tuple[int, int]:
    """Model input (H,W): the longer side becomes `resolution`, both rounded to `multiple` (>= multiple)."""
    s = resolution / max(h, w)
    return (
        max(multiple, round(h * s / multiple) * multiple),
        max(multiple, round(w * s / multiple) * multiple),
    )


def to_model_input(image: torch.Tensor, resolution: int) -> torch.Tensor:
    """IMAGE [B,H,W,C] 0..1 (C>=3; extra channels ignored) -> [B,3,h,w] at the model's input size."""
    if image.ndim != 4 or image.shape[-1] < 3:
        raise ValueError(
            f"expected an RGB IMAGE [B,H,W,C] with C >= 3, got {tuple(image.shape)}: connect a "
            "LoadImage or VAEDecode IMAGE (convert a MASK with MaskToImage first)"
        )
    x = image[..., :3].permute(0, 3, 1, 2).float()
    size = input_size(x.shape[-2], x.shape[-1], resolution)
    return F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def views(refine: bool, downsample: int = 8) -> list[tuple[int, int, bool]]:
    """Test-time views (dy, dx, mirrored): one plain view, or 4 shifts by half an output cell x 2 mirrors.

    PASL predicts one logit per 8x8 input cell; the shifted views sample the cells' in-between
    positions, so their average is a mask on a 1/4 grid, and mirroring averages out left/right bias.
    """
    if not refine:
        return [(0, 0, False)]
    h = downsample // 2
    return [(dy, dx, m) for m in (False, True) for dy, dx in ((0, 0), (0, h), (h, 0), (h, h))]


def shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """[B,C,H,W] content moved down by dy and right by dx, edges replicated."""
    if not dy and not dx:
        return x
    return F.pad(x, (dx, 0, dy, 0), mode="replicate")[..., : x.shape[-2], : x.shape[-1]]


def unshift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Inverse of `shift` for [B,C,H,W] (content moved up by dy, left by dx, edges replicated)."""
    if not dy and not dx:
        return x
    return F.pad(x[..., dy:, dx:], (0, dx, 0, dy), mode="replicate")


@torch.no_grad()
def view_features(model: PASL, x: torch.Tensor, refine: bool) -> list[torch.Tensor]:
    """Model input [B,3,h,w] -> image features [B,512,h/8,w/8] of every view of `views`."""
    out = []
    for dy, dx, mirrored in views(refine, model.config.downsample):
        v = shift(x.flip(-1) if mirrored else x, dy, dx)
        out.append(model.image_features(v))
    return out


@torch.no_grad()
def view_logits(
    model: PASL,
    feats: list[torch.Tensor],
    txt: torch.Tensor,
    input_hw: tuple[int, int],
    size: tuple[int, int],
) -> torch.Tensor:
    """Features of `view_features`, projected text [P,C] -> logits [B,P,*size] averaged over the views.

    One view: its 1/8 logits upsampled bilinearly straight to `size`. Several: each upsampled to the
    model input size, moved back (unshift, unmirror) and averaged, then resized to `size`.
    """
    refine = len(feats) > 1
    if not refine:
        return F.interpolate(
            model.logits_from(feats[0], txt), size=size, mode="bilinear", align_corners=False
        )
    acc = None
    for f, (dy, dx, mirrored) in zip(feats, views(True, model.config.downsample), strict=True):
        up = F.interpolate(model.logits_from(f, txt), size=input_hw, mode="bilinear", align_corners=False)
        up = unshift(up, dy, dx)
        up = up.flip(-1) if mirrored else up
        acc = up if acc is None else acc + up
    acc = acc / len(feats)
    if tuple(size) == tuple(input_hw):
        return acc
    return F.interpolate(acc, size=size, mode="bilinear", align_corners=False)


@torch.no_grad()
def predict_masks(model: PASL, image: torch.Tensor, text: torch.Tensor, refine: bool = True) -> torch.Tensor:
    """IMAGE [B,H,W,C] 0..1, raw text features [P,D] -> soft masks [B,P,H,W] in 0..1 at image size.

    Logits at 1/8 of the model input, upsampled bilinearly to the image size, then sigmoid; with
    `refine`, averaged over the 8 views of `views` first (8x the image-encoder compute).
    """
    if not torch.isfinite(image).all():
        raise ValueError("the image contains NaN or infinite values: fix the node that produced it")
    device = next(model.parameters()).device
    x = to_model_input(image, model.config.resolution).to(device)
    txt = model.text_features(text.to(device))
    logits = view_logits(
        model, view_features(model, x, refine), txt, tuple(x.shape[-2:]), tuple(image.shape[1:3])
    )
    return logits.sigmoid().float().cpu()


def union(masks: torch.Tensor) -> torch.Tensor:
    """Soft union over sub-prompts: [B,P,H,W] -> [B,H,W] (pixelwise max)."""
    return masks.amax(dim=1)


def locate(
    model: PASL, encoder: TextEncoder, image: torch.Tensor, prompt: str | Sequence[str], refine: bool = True
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Prompt text (or its sub-prompts, already split) -> (union MASK [B,H,W], per-sub-prompt masks
    [B*P,H,W] image-major, sub-prompts)."""
    if encoder.name != model.config.encoder:
        raise ValueError(
            f"these PASL weights need text encoder '{model.config.encoder}', got "
            f"'{encoder.name}': pick matching weights"
        )
    parts = split_prompt(prompt) if isinstance(prompt, str) else check_prompts(prompt)
    masks = predict_masks(model, image, encoder.encode(parts), refine)
    return union(masks), masks.flatten(0, 1), parts
