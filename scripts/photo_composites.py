"""Whole-photo composites of the CelebA faces: training data for the face locator and PASL's crop path,
and the deterministic whole-photo evaluation set.

A face is cut out with its head mask (`head_alpha`: hair + face shape + beard + a neck/shoulder
trapezoid, feathered; build_pasl_dataset.py keeps no person mask), placed as a `FaceFrame` (scale,
position, small rotation) on a background (a gradient, smooth noise, stripes, or a background patch of
another CelebA image, upscaled), and its 18 region masks are moved by the same transform.
The face size is given as the area of its face-shape box over the photo area (`face_area`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

if __package__:  # python -m scripts.NAME
    from scripts.repo_paths import ROOT  # noqa: F401
else:  # python scripts/NAME.py
    from repo_paths import ROOT  # noqa: F401
from scripts.pasl_regions import REGIONS
from sculptor.face_frames import CROP_H, CROP_W, FaceFrame, paste_masks

HEAD_REGIONS = ("hair", "face shape", "beard")
EVAL_SCALES = (0.02, 0.05, 0.10, 0.25, 0.60)


def head_alpha(masks: torch.Tensor) -> torch.Tensor:
    """Region masks [N,18,H,W] (bool or 0..1) -> soft head-and-shoulders cut-out [N,1,H,W] 0..1, faded
    out over the bottom 12% so the crop's lower edge leaves no straight line."""
    m = masks.float()
    head = torch.stack([m[:, REGIONS.index(r)] for r in HEAD_REGIONS], 1).amax(1, keepdim=True)
    n, _, h, w = head.shape
    face = m[:, REGIONS.index("face shape")]
    neck = torch.zeros_like(head)
    for i in range(n):
        ys, xs = torch.nonzero(face[i] > 0.5, as_tuple=True)
        if len(ys) == 0:
            continue
        top, x0, x1 = int(ys.float().mean()), int(xs.min()), int(xs.max())
        rows = torch.arange(h).float().view(-1, 1)
        grow = (rows - top).clamp_min(0) / max(1, h - top) * w * 0.6
        cols = torch.arange(w).float().view(1, -1)
        inside = (cols >= x0 + 0.15 * (x1 - x0) - grow) & (cols <= x1 - 0.15 * (x1 - x0) + grow)
        neck[i, 0] = (inside & (rows >= top)).float()
    alpha = F.max_pool2d(torch.maximum(head, neck), 5, stride=1, padding=2)
    alpha = F.avg_pool2d(alpha, 7, stride=1, padding=3, count_include_pad=False)
    fade = ((h - 1 - torch.arange(h).float()) / (0.12 * h)).clamp(0, 1).view(1, 1, h, 1)
    return alpha * fade


def background_bank(images: np.ndarray, alpha: torch.Tensor, size: int = 40) -> torch.Tensor:
    """Background patches [K,3,size,size] 0..1: the top corners of portraits where the cut-out is empty."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    w = x.shape[-1]
    out = [
        x[i, :, :size, c : c + size]
        for i in range(len(x))
        for c in (0, w - size)
        if float(alpha[i, 0, :size, c : c + size].mean()) < 0.02
    ]
    return torch.stack(out) if out else torch.rand(1, 3, size, size)


def background(h: int, w: int, bank: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """A random background [3,h,w] 0..1: gradient, smooth noise, stripes, or an upscaled bank patch."""
    kind = int(torch.randint(4, (1,), generator=g))
    c0, c1 = torch.rand(3, 1, 1, generator=g), torch.rand(3, 1, 1, generator=g)
    if kind == 0:
        ang = float(torch.rand(1, generator=g)) * 2 * math.pi
        yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
        t = (math.cos(ang) * xx + math.sin(ang) * yy).clamp(0, 1)
        bg = c0 + (c1 - c0) * t
    elif kind == 1:
        bg = sum(
            F.interpolate(
                torch.rand(1, 3, k, k, generator=g), size=(h, w), mode="bicubic", align_corners=False
            )[0]
            / (i + 1)
            for i, k in enumerate((3, 7, 17, 41))
        )
        bg = (bg - bg.min()) / (bg.max() - bg.min() + 1e-6)
    elif kind == 2:
        period = 4 + float(torch.rand(1, generator=g)) * 40
        ang = float(torch.rand(1, generator=g)) * math.pi
        yy, xx = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
        t = 0.5 + 0.5 * torch.sin((math.cos(ang) * xx + math.sin(ang) * yy) * 2 * math.pi / period)
        bg = c0 + (c1 - c0) * t
    else:
        patch = bank[int(torch.randint(len(bank), (1,), generator=g))]
        bg = F.interpolate(patch[None], size=(h, w), mode="bicubic", align_corners=False)[0]
    return bg.clamp(0, 1)


def face_box_fraction(masks: torch.Tensor) -> torch.Tensor:
    """Region masks [N,18,H,W] -> area of each face-shape bounding box over the crop area [N]."""
    face = masks[:, REGIONS.index("face shape")] > 0.5
    rows, cols = face.any(2), face.any(1)
    idx_h = torch.arange(face.shape[1])
    idx_w = torch.arange(face.shape[2])
    span_h = torch.where(rows, idx_h, -1).amax(1) - torch.where(rows, idx_h, 10**6).amin(1) + 1
    span_w = torch.where(cols, idx_w, -1).amax(1) - torch.where(cols, idx_w, 10**6).amin(1) + 1
    return (span_h * span_w).float().clamp_min(1) / (face.shape[1] * face.shape[2])


def frame_for(
    area: float, box_fraction: float, h: int, w: int, g: torch.Generator, max_angle: float
) -> FaceFrame:
    """A frame whose face box covers `area` of the photo [h,w], at a random position (face box inside
    the photo when it fits) and angle uniform in +-max_angle degrees."""
    frame_area = area * h * w / box_fraction
    fw = math.sqrt(frame_area * CROP_W / CROP_H)
    fh = fw * CROP_H / CROP_W
    r = torch.rand(3, generator=g).tolist()
    box_w, box_h = fw * math.sqrt(box_fraction), fh * math.sqrt(box_fraction)
    cx = box_w / 2 + r[0] * max(0.0, w - box_w) if box_w < w else w / 2 + (r[0] - 0.5) * (box_w - w)
    cy = box_h / 2 + r[1] * max(0.0, h - box_h) if box_h < h else h / 2 + (r[1] - 0.5) * (box_h - h)
    return FaceFrame(cx, cy, fw, (2 * r[2] - 1) * max_angle * math.pi / 180)


def place(layers: torch.Tensor, frame: FaceFrame, h: int, w: int) -> torch.Tensor:
    """Crop layers [C,218,178] (image, alpha, masks) -> photo layers [C,h,w] by `frame`, antialiased
    first when the face is shrunk."""
    if frame.width < CROP_W * 0.9:
        size = (max(4, round(frame.height)), max(4, round(frame.width)))
        layers = F.interpolate(layers[None], size=size, mode="bilinear", antialias=True, align_corners=False)[
            0
        ]
    return paste_masks(layers, frame, h, w)


def compose(
    faces: torch.Tensor, frames: list[FaceFrame], bg: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Faces [F,C,218,178] (RGB, alpha, then any masks) placed by `frames` over bg [3,h,w] in order ->
    (photo [3,h,w], each face's visible masks [F,C-4,h,w] (hidden where a later face covers them))."""
    h, w = bg.shape[-2:]
    photo, masks = bg.clone(), []
    for face, fr in zip(faces, frames, strict=True):
        lay = place(face, fr, h, w)
        a = lay[3:4]
        photo = photo * (1 - a) + lay[:3] * a
        masks = [m * (1 - a) for m in masks] + [lay[4:]]
    return photo.clamp(0, 1), torch.stack(masks) if masks else bg.new_zeros(0, faces.shape[1] - 4, h, w)


def eval_photos(
    images: np.ndarray, masks: np.ndarray, scale: float, size: int = 512, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, list[FaceFrame]]:
    """The whole-photo evaluation set for one `scale`: each face (uint8 [N,H,W,3], masks bool [N,18,H,W])
    alone in a size x size photo, its face box covering `scale` of the area, rotation within +-10 deg,
    background seeded by (seed, face index, scale). Returns photos [N,3,s,s], masks [N,18,s,s] bool,
    the true frames. Deterministic."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    m = torch.from_numpy(masks).float()
    alpha = head_alpha(m)
    bank = background_bank(images, alpha)
    frac = face_box_fraction(m)
    photos, out_masks, frames = [], [], []
    for i in range(len(x)):
        g = torch.Generator().manual_seed(seed * 1_000_003 + i * 101 + int(round(scale * 1000)))
        fr = frame_for(scale, float(frac[i]), size, size, g, max_angle=10.0)
        bg = background(size, size, bank, g)
        photo, mk = compose(torch.cat([x[i], alpha[i], m[i]])[None], [fr], bg)
        photos.append(photo)
        out_masks.append(mk[0] > 0.5)
        frames.append(fr)
    return torch.stack(photos), torch.stack(out_masks), frames


def like_pipeline_crops(
    x: torch.Tensor, y: torch.Tensor, bank: torch.Tensor, g: torch.Generator, share: float
) -> torch.Tensor:
    """PASL's composite data path: training inputs x [B,3,H,W] 0..1 with soft targets y [B,18,H,W] ->
    x where a `share` of the images look like the crops the face search cuts from whole photos: the
    background outside the head cut-out replaced (gradient, noise, stripes, patch) and the face seen at
    a lower resolution (down by 1-4x and back up, as a small face in a photo). Targets are unchanged."""
    x = x.clone()
    pick = torch.nonzero(torch.rand(len(x), generator=g) < share).flatten().tolist()
    if not pick:
        return x
    h, w = x.shape[-2:]
    alpha = head_alpha(y[pick])
    for k, i in enumerate(pick):
        x[i] = x[i] * alpha[k] + background(h, w, bank, g) * (1 - alpha[k])
        factor = 1 + 3 * float(torch.rand(1, generator=g))
        if factor > 1.2:
            small = F.interpolate(
                x[i : i + 1], scale_factor=1 / factor, mode="bilinear", antialias=True, align_corners=False
            )
            x[i] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)[0]
    return x.clamp(0, 1)
