"""Face frames: where a CelebA-style face crop sits in a photo, and the crop / paste-back between them.

A `FaceFrame` is the CelebA aligned framing (178x218, eyes level, face scale) placed in a photo: centre
(cx, cy) and width in photo pixels (continuous coordinates: pixel i covers [i, i+1]), and the face's
rotation `angle` in radians (the crop's x axis points along (cos, sin) in the photo, y down). The crop
is sampled with `crop_faces` at PASL's input size; `paste_masks` maps crop masks back onto the photo with
the inverse transform, zero outside the frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

CROP_W, CROP_H = 178, 218
"""The CelebA aligned crop: the framing PASL was trained on (height / width = 218 / 178)."""


@dataclass(frozen=True)
class FaceFrame:
    """A face's CelebA framing in photo pixels: centre, width, angle (rad); height = width * aspect
    (218/178 for a face frame; other aspects serve as windows around a face)."""

    cx: float
    cy: float
    width: float
    angle: float = 0.0
    score: float = 1.0
    aspect: float = CROP_H / CROP_W

    @property
    def height(self) -> float:
        return self.width * self.aspect

    def corners(self) -> torch.Tensor:
        """The frame's 4 corners [4,2] (x, y) in photo pixels."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        half = torch.tensor([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=torch.float64)
        half = half * torch.tensor([self.width / 2, self.height / 2], dtype=torch.float64)
        rot = torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
        return half @ rot.T + torch.tensor([self.cx, self.cy], dtype=torch.float64)

    def bounds(self, h: int, w: int, margin: float = 1.0) -> tuple[int, int, int, int]:
        """Axis-aligned pixel window (x0, y0, x1, y1) holding the frame scaled by `margin`, clipped to the
        photo [h,w]; x1 <= x0 when the frame lies outside the photo."""
        pts = (self.corners() - torch.tensor([self.cx, self.cy])) * margin + torch.tensor([self.cx, self.cy])
        x0, y0 = (int(math.floor(v)) for v in pts.min(0).values.tolist())
        x1, y1 = (int(math.ceil(v)) for v in pts.max(0).values.tolist())
        return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


def _crop_grid(
    frame: FaceFrame,
    origin: tuple[float, float],
    scale: tuple[float, float],
    src_hw: tuple[int, int],
    out_hw: tuple[int, int],
) -> torch.Tensor:
    """grid_sample grid [1,*out_hw,2] sampling `frame` from a source that shows the photo's pixels from
    `origin` (x, y) downscaled by `scale` (sx, sy) (source pixel = (photo pixel - origin) / scale)."""
    oh, ow = out_hw
    v = (torch.arange(oh, dtype=torch.float64) + 0.5) / oh * 2 - 1
    u = (torch.arange(ow, dtype=torch.float64) + 0.5) / ow * 2 - 1
    vv, uu = torch.meshgrid(v, u, indexing="ij")
    c, s = math.cos(frame.angle), math.sin(frame.angle)
    dx, dy = uu * frame.width / 2, vv * frame.height / 2
    px = (frame.cx + c * dx - s * dy - origin[0]) / scale[0]
    py = (frame.cy + s * dx + c * dy - origin[1]) / scale[1]
    grid = torch.stack([px / src_hw[1] * 2 - 1, py / src_hw[0] * 2 - 1], -1)
    return grid.unsqueeze(0).float()


def crop_faces(image: torch.Tensor, frames: list[FaceFrame], out_hw: tuple[int, int]) -> torch.Tensor:
    """Photo [3,H,W] 0..1 -> the frames' crops [F,3,*out_hw] (edges replicated outside the photo).

    Only each frame's window is read; a window larger than the crop is first downscaled with an
    antialiasing filter, so small crops of big faces do not alias and huge photos are never resampled whole.
    """
    out = []
    h, w = image.shape[-2:]
    for fr in frames:
        x0, y0, x1, y1 = fr.bounds(h, w, margin=1.05)
        if x1 <= x0 or y1 <= y0:
            x0, y0, x1, y1 = 0, 0, w, h
        window = image[None, :, y0:y1, x0:x1].float()
        factor, scale = fr.width / out_hw[1] / 1.5, (1.0, 1.0)
        if factor > 1.0:
            size = (max(1, round((y1 - y0) / factor)), max(1, round((x1 - x0) / factor)))
            scale = ((x1 - x0) / size[1], (y1 - y0) / size[0])
            window = F.interpolate(window, size=size, mode="bilinear", antialias=True, align_corners=False)
        grid = _crop_grid(fr, (x0, y0), scale, tuple(window.shape[-2:]), out_hw)
        out.append(F.grid_sample(window, grid, mode="bilinear", padding_mode="border", align_corners=False))
    return torch.cat(out) if out else image.new_zeros(0, image.shape[0], *out_hw)


def paste_masks(masks: torch.Tensor, frame: FaceFrame, h: int, w: int) -> torch.Tensor:
    """Crop masks [P,hc,wc] of `frame` -> photo masks [P,h,w], zero outside the frame (inverse of the crop).

    Only the frame's window is computed; the rest stays zero.
    """
    out = masks.new_zeros(masks.shape[0], h, w)
    x0, y0, x1, y1 = frame.bounds(h, w, margin=1.0)
    if x1 <= x0 or y1 <= y0:
        return out
    ys = torch.arange(y0, y1, dtype=torch.float64) + 0.5 - frame.cy
    xs = torch.arange(x0, x1, dtype=torch.float64) + 0.5 - frame.cx
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    c, s = math.cos(frame.angle), math.sin(frame.angle)
    u = (c * xx + s * yy) / (frame.width / 2)
    v = (-s * xx + c * yy) / (frame.height / 2)
    grid = torch.stack([u, v], -1).unsqueeze(0).to(masks.dtype)
    out[:, y0:y1, x0:x1] = F.grid_sample(
        masks[None], grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )[0]
    return out


def face_box(
    frames: list[FaceFrame], h: int, w: int, margin: float = 1.25, multiple: int = 16
) -> tuple[int, int, int, int]:
    """(x, y, width, height) in pixels of a square box holding all `frames` scaled by `margin`, its side
    rounded up to `multiple` (Flux-friendly) and shifted inside the photo [h,w] (clipped if larger).

    No frames: the whole photo. Feed it to ImageCrop / CropMask, and x, y to ImageCompositeMasked.
    """
    if not frames:
        return 0, 0, w, h
    pts = torch.cat(
        [(f.corners() - torch.tensor([f.cx, f.cy])) * margin + torch.tensor([f.cx, f.cy]) for f in frames]
    )
    lo, hi = pts.min(0).values, pts.max(0).values
    side = float((hi - lo).max())
    side = int(math.ceil(side / multiple) * multiple)
    cx, cy = float(lo[0] + hi[0]) / 2, float(lo[1] + hi[1]) / 2
    bw, bh = min(side, w), min(side, h)
    x = int(round(min(max(cx - bw / 2, 0), w - bw)))
    y = int(round(min(max(cy - bh / 2, 0), h - bh)))
    return x, y, bw, bh
