"""Mask Combine in plain torch: one edit region from two masks, then grow (or shrink) and feather.

Shapes and rules (batches, clamping, LoadImage's placeholder) as in sculptor/masks.py.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .masks import as_batch, broadcast_batch, is_load_image_placeholder, resize

MODES = ("union", "intersection", "a minus b", "b only")


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
