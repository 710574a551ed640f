"""Edit-region masks in plain torch: combine, grow, feather, and resize to the latent and token grids.

Shapes: MASK [B,H,W] or [H,W] (ComfyUI's convention, 1 = edit, 0 = keep), values in 0..1.

Rules shared by every function here:
- Batches broadcast like this: a batch of 1 is used for every item of the other batch; otherwise the two
  batch sizes must be equal.
- Values are clamped to 0..1; NaN or inf raise ValueError.
- LoadImage returns a 64x64 all-zero mask when its image has no alpha channel (nothing painted in the mask
  editor). `is_load_image_placeholder` recognises it, and `combine` treats it as "no painted mask".
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MODES = ("union", "intersection", "a minus b", "b only")
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


def combine_values(a: torch.Tensor, b: torch.Tensor, mode: str) -> torch.Tensor:
    """Soft set operations on same-shape masks in 0..1 (fuzzy max/min; exact for 0/1 masks).

    union max(a,b); intersection min(a,b); a minus b min(a, 1-b); b only b.
    """
    if mode == "union":
        return torch.maximum(a, b)
    if mode == "intersection":
        return torch.minimum(a, b)
    if mode == "a minus b":
        return torch.minimum(a, 1.0 - b)
    if mode == "b only":
        return b.clone()
    raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")


def _missing_error(mode: str, a_missing: bool, b_missing: bool, b_placeholder: bool) -> str | None:
    """The fix to show when the requested mode has nothing to work on, else None."""
    paint = (
        "paint the region in LoadImage's mask editor (right-click the image > Open in MaskEditor) "
        "and save it, or connect another mask"
    )
    if a_missing and b_missing:
        return f"no edit region: neither mask_a nor mask_b holds a mask; {paint}"
    if mode == "b only" and b_missing:
        what = (
            "LoadImage's empty placeholder (its image has no painted mask)"
            if b_placeholder
            else "not connected"
        )
        return f"mode 'b only' needs mask_b, but mask_b is {what}: {paint}, or choose mode 'union'"
    if mode == "intersection" and (a_missing or b_missing):
        side = "mask_a" if a_missing else "mask_b"
        return (
            f"mode 'intersection' would give an empty region because {side} is empty (LoadImage's "
            f"placeholder) or not connected: {paint}, or choose mode 'union'"
        )
    if mode == "a minus b" and a_missing:
        return f"mode 'a minus b' needs mask_a, but it is LoadImage's empty placeholder: {paint}"
    return None


def combine(
    mask_a: torch.Tensor,
    mask_b: torch.Tensor | None = None,
    mode: str = "union",
    grow: int = 0,
    feather: int = 0,
) -> tuple[torch.Tensor, list[str]]:
    """Edit region from two masks: combine, then grow (or shrink), then feather.

    mask_a, mask_b: MASK [B,H,W] or [H,W], any sizes and batches (see the module's broadcast rule).
    Returns (MASK [B,H_ref,W_ref], warnings). The reference size is mask_a's; mask_b is resized to it
    (bilinear). A missing operand (mask_b not given, or LoadImage's 64x64 all-zero placeholder) means
    "no painted mask": union and 'a minus b' then use the other mask alone (with a warning for the
    placeholder; if mask_a is the placeholder, mask_b's size becomes the reference), while modes whose
    result would be empty regardless raise ValueError saying how to fix the graph.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    a = as_batch(mask_a, "mask_a")
    b = as_batch(mask_b, "mask_b") if mask_b is not None else None
    warnings: list[str] = []
    a_missing = is_load_image_placeholder(a)
    b_placeholder = b is not None and is_load_image_placeholder(b)
    b_missing = b is None or b_placeholder
    error = _missing_error(mode, a_missing, b_missing, b_placeholder)
    if error:
        raise ValueError(error)
    for name, flag in (("mask_a", a_missing), ("mask_b", b_placeholder)):
        if flag:
            warnings.append(
                f"{name} is LoadImage's 64x64 empty placeholder (the image has no painted mask); "
                "it is ignored. Paint in the mask editor to use it."
            )
    if a_missing:
        assert b is not None
        a, b = b, None  # only mask_b holds a region; it also sets the reference size
        mode = "union"
    elif b_missing:
        b = None
    if b is None:
        out = a.clone()
    else:
        a, b = broadcast_batch(a, resize(b, a.shape[-2], a.shape[-1]))
        out = combine_values(a, b, mode)
    out = feather_mask(grow_mask(out, grow), feather)
    if not bool(out.any()):
        warnings.append("the combined mask is empty (all zeros): nothing will be edited")
    return out.contiguous(), warnings


def _max3(x: torch.Tensor, square: bool) -> torch.Tensor:
    """One grey dilation of [N,1,H,W] by a 3x3 square or plus-shaped footprint, replicate borders."""
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
    if square:
        return F.max_pool2d(padded, kernel_size=3, stride=1)
    rows = F.max_pool2d(padded[:, :, 1:-1, :], kernel_size=(1, 3), stride=1)
    cols = F.max_pool2d(padded[:, :, :, 1:-1], kernel_size=(3, 1), stride=1)
    return torch.maximum(rows, cols)


def grow_mask(mask: torch.Tensor, pixels: int) -> torch.Tensor:
    """MASK [B,H,W] -> [B,H,W] grown by `pixels` (grey dilation), or shrunk if negative (grey erosion).

    The footprint is an octagon close to a disk of radius |pixels|: steps alternate a 3x3 square (odd steps)
    and a 3x3 plus (even steps). Borders replicate, so a region touching the image edge stays there when
    shrunk; shrink(m, r) == 1 - grow(1 - m, r) exactly.
    """
    if pixels == 0:
        return mask
    x = mask.unsqueeze(1)
    sign = 1.0 if pixels > 0 else -1.0
    x = x * sign
    steps = min(abs(pixels), mask.shape[-2] + mask.shape[-1])  # beyond H+W steps nothing changes
    for step in range(steps):
        x = _max3(x, square=step % 2 == 0)
    return (x * sign).squeeze(1)


def gaussian_kernel(pixels: int) -> torch.Tensor:
    """1-D kernel [2*pixels+1], sigma = pixels/3, summing to 1 (truncated at 3 sigma)."""
    sigma = pixels / 3.0
    t = torch.arange(-pixels, pixels + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def feather_mask(mask: torch.Tensor, pixels: int) -> torch.Tensor:
    """MASK [B,H,W] -> [B,H,W] with edges softened by a separable Gaussian (sigma = pixels/3).

    Pixels farther than `pixels` from any edge keep their value; a hard edge becomes a ramp 2*pixels wide
    centred on it (0.5 stays on the edge). Borders replicate, so regions at the image edge do not fade.
    """
    if pixels < 0:
        raise ValueError(f"feather must be >= 0 pixels, got {pixels}: use grow < 0 to shrink the region")
    if pixels == 0:
        return mask
    k = gaussian_kernel(pixels).to(mask.device)
    x = mask.unsqueeze(1)
    x = F.conv2d(F.pad(x, (pixels, pixels, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    x = F.conv2d(F.pad(x, (0, 0, pixels, pixels), mode="replicate"), k.view(1, 1, -1, 1))
    return x.squeeze(1).clamp(0.0, 1.0)


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
