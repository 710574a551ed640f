"""Edit-region masks in plain torch: MASK checks, resizing, and the sampler's latent and token grids.

Shapes: MASK [B,H,W] or [H,W] (ComfyUI's convention, 1 = edit, 0 = keep), values in 0..1.

Rules shared by every function here:
- Batches broadcast like this: a batch of 1 is used for every item of the other batch; otherwise the two
  batch sizes must be equal.
- Values are clamped to 0..1; NaN or inf raise ValueError.
- LoadImage returns a 64x64 all-zero mask when its image has no alpha channel (nothing painted in the mask
  editor). `is_load_image_placeholder` recognises it; Mask Combine (sculptor/mask_combine.py) treats it as
  "no painted mask", the S2D-EC sampler refuses it (`edit_masks`).
"""

from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F

log = logging.getLogger("flux_sculptor")
PLACEHOLDER_SIZE = 64


def as_batch(mask: torch.Tensor, name: str = "mask") -> torch.Tensor:
    """MASK [H,W] or [B,H,W] -> float32 [B,H,W] clamped to 0..1; rejects other ranks and NaN/inf."""
    if not isinstance(mask, torch.Tensor):
        raise ValueError(f"{name} must be a MASK tensor [B,H,W] or [H,W], got {type(mask).__name__}")
    if mask.ndim == 2:
        mask = mask.unsqueeze(0)
    if mask.ndim != 3 or mask.shape[-1] == 0 or mask.shape[-2] == 0 or mask.shape[0] == 0:
        raise ValueError(
            f"{name} must be a MASK [B,H,W] or [H,W] with B,H,W >= 1, got shape "
            f"{tuple(mask.shape)}: convert images with ImageToMask first"
        )
    mask = mask.float()
    if not torch.isfinite(mask).all():
        raise ValueError(
            f"{name} contains NaN or inf values: check the node that produced it (e.g. a "
            "division by zero upstream) or clean it with ThresholdMask"
        )
    return mask.clamp(0.0, 1.0)


def is_load_image_placeholder(mask: torch.Tensor) -> bool:
    """True for LoadImage's stand-in when the image has no alpha: [1,64,64] or [64,64], all zeros."""
    shape = tuple(mask.shape)
    return shape in (
        (PLACEHOLDER_SIZE, PLACEHOLDER_SIZE),
        (1, PLACEHOLDER_SIZE, PLACEHOLDER_SIZE),
    ) and not bool(mask.any())


def broadcast_batch(
    a: torch.Tensor, b: torch.Tensor, names: tuple[str, str] = ("mask_a", "mask_b")
) -> tuple[torch.Tensor, torch.Tensor]:
    """[Ba,H,W], [Bb,H',W'] -> both with batch max(Ba,Bb): a batch of 1 repeats; other sizes must match."""
    ba, bb = a.shape[0], b.shape[0]
    if ba != bb and 1 not in (ba, bb):
        raise ValueError(
            f"{names[0]} has batch {ba} and {names[1]} has batch {bb}: give both the same batch "
            "size, or a batch of 1 to use for every image (e.g. pick one with "
            "ImageFromBatch / SplitImageFromBatch before converting to a mask)"
        )
    n = max(ba, bb)
    return a.expand(n, *a.shape[1:]), b.expand(n, *b.shape[1:])


def resize(mask: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """MASK [B,H,W] -> [B,height,width], bilinear with antialiasing (area-like when shrinking)."""
    if tuple(mask.shape[-2:]) == (height, width):
        return mask
    out = F.interpolate(
        mask.unsqueeze(1), size=(height, width), mode="bilinear", align_corners=False, antialias=True
    )
    return out.squeeze(1).clamp(0.0, 1.0)


def area_weights(src: int, dst: int, device: torch.device | None = None) -> torch.Tensor:
    """[dst, src] matrix: row i averages source cells over [i*src/dst, (i+1)*src/dst] by overlap length."""
    edges = torch.arange(dst + 1, dtype=torch.float64) * (src / dst)
    lo, hi = edges[:-1, None], edges[1:, None]
    pix = torch.arange(src, dtype=torch.float64)[None, :]
    overlap = (torch.minimum(hi, pix + 1) - torch.maximum(lo, pix)).clamp(min=0)
    return (overlap / (src / dst)).to(torch.float32).to(device)


def to_latent_grid(mask: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """MASK [B,H,W] or [H,W] -> [B,1,h,w]: exact area average of the mask over each latent cell.

    The mask is read as piecewise constant on its pixels and stretched over the whole image; latent cell
    (i,j) covers [i*H/h,(i+1)*H/h] x [j*W/w,(j+1)*W/w] in mask pixels and gets that rectangle's mean, so
    any size maps (shrinking averages, enlarging interpolates at cell borders only). Values stay soft.
    """
    if h < 1 or w < 1:
        raise ValueError(f"latent grid size must be >= 1x1, got {h}x{w}")
    m = as_batch(mask)
    ry = area_weights(m.shape[-2], h, m.device)
    rx = area_weights(m.shape[-1], w, m.device)
    return (ry @ m @ rx.T).clamp(0.0, 1.0).unsqueeze(1)


def to_token_grid(mask: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """MASK [B,H,W] or [H,W] -> [B, ceil(h/2)*ceil(w/2)]: one weight per Flux image token.

    Flux patchifies a latent [B,16,h,w] into 2x2 patches, row-major over (ceil(h/2), ceil(w/2)), after
    `pad_to_patch_size` pads odd sizes at the bottom/right. A token's weight is the mean of the
    latent-grid mask (`to_latent_grid(mask, h, w)`) over its 2x2 patch, with the latent grid padded by
    replicate: equivalently, a patch that hangs over the edge is averaged over its real latent cells only.
    """
    grid = to_latent_grid(mask, h, w)
    grid = F.pad(grid, (0, w % 2, 0, h % 2), mode="replicate")
    tokens = F.avg_pool2d(grid, kernel_size=2, stride=2)
    return tokens.flatten(1)


def token_count(h: int, w: int) -> int:
    """Number of Flux image tokens for a latent h x w: ceil(h/2) * ceil(w/2)."""
    return math.ceil(h / 2) * math.ceil(w / 2)


def edit_masks(mask: torch.Tensor | None, latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The S2D-EC sampler's MASK [B|1,H,W] (None = whole image) for latent [B,16,h,w] -> (latent mask
    [B|1,1,h,w] for eq. 13, token mask [B|1,N_img] for eq. 15-16)."""
    b, _, h, w = latent.shape
    if mask is None:
        return torch.ones(1, 1, h, w), torch.ones(1, token_count(h, w))
    mask = as_batch(mask)
    if is_load_image_placeholder(mask):
        raise ValueError(
            "mask is LoadImage's 64x64 empty placeholder (the image has no painted mask). Paint "
            "the region in the mask editor, or disconnect `mask` to edit the whole image."
        )
    if mask.shape[0] not in (1, b):
        raise ValueError(
            f"mask batch {mask.shape[0]} does not match the latent batch {b}; give one mask "
            "for all images or one per image."
        )
    mask = crop_like_vae_encode(mask, h, w)
    if not mask.any():
        log.warning(
            "Flux-Sculptor: the mask is empty, so nothing is edited (the result is the reconstruction)."
        )
    stretch = (mask.shape[-2] / mask.shape[-1]) / (h / w)
    if abs(math.log(stretch)) > math.log(1.05) and mask.amin() != mask.amax():
        log.warning(
            "Flux-Sculptor: the mask (%dx%d) has another aspect ratio than the inverted image "
            "(latent %dx%d) and is stretched to fit; make the mask from the same image as the "
            "inversion.",
            mask.shape[-2],
            mask.shape[-1],
            h,
            w,
        )
    # area averages of a full region can round to 1 - 1e-7: snap them, so a full mask equals no mask
    return _snap_full(to_latent_grid(mask, h, w)), _snap_full(to_token_grid(mask, h, w))


def crop_like_vae_encode(mask: torch.Tensor, h: int, w: int, ratio: int = 8) -> torch.Tensor:
    """MASK [B,H,W] at the size of the image VAEEncode saw -> [B,8h,8w]: VAEEncode centre-crops each side
    to a multiple of 8 (comfy.sd.VAE.vae_encode_crop_pixels), so the mask is cropped the same way and stays
    aligned with the latent. Masks of any other size are left to be stretched."""
    size_h, size_w = mask.shape[-2:]
    if size_h // ratio != h or size_w // ratio != w or not (size_h % ratio or size_w % ratio):
        return mask
    top, left = (size_h % ratio) // 2, (size_w % ratio) // 2
    return mask[:, top : top + h * ratio, left : left + w * ratio]


def _snap_full(weights: torch.Tensor) -> torch.Tensor:
    return torch.where(weights > 1.0 - 1e-6, torch.ones_like(weights), weights)
