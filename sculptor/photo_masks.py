"""PASL on whole photos: find the faces, crop each to PASL's training framing, mask, paste back.

1. The face locator (sculptor/face_locator.py) finds face frames on the photo at its input size.
2. `realign` zooms on each frame (a square window 1.6x the frame height, turned by the first angle
   estimate) and runs the locator again, where the face is large: a finer centre, width and angle.
   Optionally (`eyes`), `align_by_eyes` then moves the frame so PASL's eye masks sit where CelebA has them.
3. Each selected face is cropped to CelebA's framing at PASL's input size (eyes level, face scale),
   PASL runs on the crops (`refine`: 8 views), and the crop masks are pasted back with the inverse
   transform; several faces combine by pixelwise max. A photo with no face gets empty masks.
"""

from __future__ import annotations

import math

import torch

from .face_frames import CROP_H, CROP_W, FaceFrame, crop_faces, paste_masks
from .face_locator import FaceLocator, decode, locator_input
from .pasl import PASL
from .pasl_infer import input_size, view_features, view_logits

FACES = ("all", "largest", "index")
EYES_AT = ((70.37, 112.67), (108.15, 112.80))
"""Mean centroids (x, y) of the left and right eye masks in CelebA's 178x218 framing (training split)."""
EYES_PROMPT = "eyes"
"""The prompt whose PASL mask aligns each face; callers pass its raw text features as `eyes`."""
EYE_STEPS = 2
"""Eye alignments per face. Measured on 12 locator-validation faces (000850+, never held-out ones) with
frames disturbed by +-15% shift, +-25% scale, +-11 deg: centre error 10.8% -> 1.4% -> 1.3% of the width,
|log scale| 0.111 -> 0.070 -> 0.058, angle 0.077 -> 0.023 rad; on true frames it adds 0.05 scale noise."""
MAX_PIXELS = 50_000_000
MIN_SIDE = 16
ZOOM = 1.6


def check_photo(image: torch.Tensor) -> None:
    """Refuse images a face search cannot use: IMAGE [B,H,W,C] with C >= 3, finite, sides within limits."""
    if image.ndim != 4 or image.shape[-1] < 3:
        raise ValueError(
            f"expected an RGB IMAGE [B,H,W,C] with C >= 3, got {tuple(image.shape)}: connect a "
            "LoadImage or VAEDecode IMAGE (convert a MASK with MaskToImage first)"
        )
    h, w = image.shape[1:3]
    if min(h, w) < MIN_SIDE:
        raise ValueError(
            f"the image is {w}x{h} pixels: finding faces needs at least {MIN_SIDE}x{MIN_SIDE}; "
            "use a larger image, or set faces to 'whole image' for a plain PASL pass"
        )
    if h * w > MAX_PIXELS:
        raise ValueError(
            f"the image is {w}x{h} ({h * w / 1e6:.0f} MP), above the {MAX_PIXELS / 1e6:.0f} MP "
            "this node handles: downscale it first (ImageScaleToTotalPixels or ImageScale)"
        )


def select_faces(frames: list[FaceFrame], faces: str, index: int) -> list[FaceFrame]:
    """Frames ordered left to right; 'all', the 'largest' one, or the one at `index` (0 = leftmost)."""
    order = sorted(frames, key=lambda f: (f.cx, f.cy))
    if faces not in FACES:
        raise ValueError(f"faces must be one of {FACES}, got {faces!r}")
    if faces == "all" or not order:
        return order
    if faces == "largest":
        return [max(order, key=lambda f: f.width)]
    if not 0 <= index < len(order):
        raise ValueError(
            f"face_index {index} asks for face {index + 1} counted from the left, but "
            f"{len(order)} face(s) were found: use 0..{len(order) - 1}, or faces='all'"
        )
    return [order[index]]


@torch.no_grad()
def realign(locator: FaceLocator, photo: torch.Tensor, frame: FaceFrame) -> FaceFrame:
    """Second look at one face: photo [3,H,W], first frame -> the frame found nearest the centre of a
    square zoom window around it, averaged with the same look at the mirrored window (centre, angle,
    log width); the first frame if neither look finds one. Mirroring halves the zoom's rare large width
    errors (validation faces: |log width| > 0.3 in 0.8% -> 0% of faces)."""
    side = ZOOM * frame.height
    res = locator.config.resolution
    window = FaceFrame(frame.cx, frame.cy, side, frame.angle, aspect=1.0)
    x, _, _ = locator_input(crop_faces(photo, [window], (res, res)), res)
    maps = locator(torch.cat([x, x.flip(-1)]).to(next(locator.parameters()).device)).cpu()
    looks = []
    for k, found in enumerate(decode(maps, res, 1.0, 1.0, threshold=0.1)):
        if found:
            f = min(found, key=lambda f: math.hypot(f.cx - res / 2, f.cy - res / 2))
            looks.append(f if k == 0 else FaceFrame(res - f.cx, f.cy, f.width, -f.angle))
    if not looks:
        return frame
    n, k = len(looks), side / res
    dx, dy = (sum(f.cx for f in looks) / n - res / 2) * k, (sum(f.cy for f in looks) / n - res / 2) * k
    c, s = math.cos(frame.angle), math.sin(frame.angle)
    return FaceFrame(
        frame.cx + c * dx - s * dy,
        frame.cy + s * dx + c * dy,
        math.exp(sum(math.log(f.width) for f in looks) / n) * k,
        frame.angle + sum(f.angle for f in looks) / n,
        frame.score,
    )


def _eye_centres(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Eye probability map [h,w] -> (left, right) centroids (x, y) in pixels, split at the mass's mean x;
    None when either side holds too little mass to trust."""
    h, w = p.shape
    p = p * (p > 0.3)
    yy, xx = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    if float(p.sum()) < 1e-3 * h * w:
        return None
    mid = float((p * xx).sum() / p.sum())
    out = []
    for side in (xx < mid, xx >= mid):
        q = p * side
        if float(q.sum()) < 2e-4 * h * w:
            return None
        out.append(torch.stack([(q * xx).sum(), (q * yy).sum()]) / q.sum())
    return out[0], out[1]


@torch.no_grad()
def align_by_eyes(model: PASL, photo: torch.Tensor, frame: FaceFrame, eyes: torch.Tensor) -> FaceFrame:
    """Third look: PASL's 'eyes' mask (projected text `eyes` [1,C], one pass) on the frame's crop; the
    frame is moved, turned and scaled so the eye centroids land where CelebA has them (EYES_AT). Kept as
    it is when the eyes are not found or the correction is implausible (scale beyond 0.55-1.8, > 30 deg)."""
    hw = input_size(CROP_H, CROP_W, model.config.resolution)
    crop = crop_faces(photo, [frame], hw).to(next(model.parameters()).device)
    prob = view_logits(model, view_features(model, crop, False), eyes, hw, hw).sigmoid()[0, 0].float().cpu()
    found = _eye_centres(prob)
    if found is None:
        return frame
    unit = torch.tensor([CROP_W / hw[1], CROP_H / hw[0]])
    left, right = found[0] * unit, found[1] * unit
    canon_l, canon_r = torch.tensor(EYES_AT[0]), torch.tensor(EYES_AT[1])
    seen, canon = right - left, canon_r - canon_l
    k = float(seen.norm() / canon.norm())
    turn = math.atan2(float(seen[1]), float(seen[0])) - math.atan2(float(canon[1]), float(canon[0]))
    if not 0.55 < k < 1.8 or abs(turn) > math.radians(30):
        return frame
    c, s = math.cos(turn), math.sin(turn)
    rot = torch.tensor([[c, -s], [s, c]])
    centre = torch.tensor([CROP_W / 2, CROP_H / 2])
    new_c = (left + right) / 2 + k * rot @ (centre - (canon_l + canon_r) / 2) - centre
    d = new_c * frame.width / CROP_W
    ca, sa = math.cos(frame.angle), math.sin(frame.angle)
    return FaceFrame(
        frame.cx + ca * float(d[0]) - sa * float(d[1]),
        frame.cy + sa * float(d[0]) + ca * float(d[1]),
        frame.width * k,
        frame.angle + turn,
        frame.score,
    )


def same_face(f: FaceFrame, better: FaceFrame, overlap: float = 0.4) -> bool:
    """Is `f` a second peak of the `better` (higher-scoring) frame's face? Yes when its centre is within
    `overlap` x the larger width of the better centre, or when it is a clearly weaker (score < 0.6x) and
    smaller (width < 0.75x) peak whose centre lies inside the better frame: the locator's side peaks on a
    big face's hair or cheek. Faces of two people side by side keep their frames apart or are alike in
    size (scripts/validate_face_search.py: no recall lost on such photos)."""
    dx, dy = f.cx - better.cx, f.cy - better.cy
    if math.hypot(dx, dy) <= overlap * max(f.width, better.width):
        return True
    c, s = math.cos(better.angle), math.sin(better.angle)
    inside = abs(c * dx + s * dy) < better.width / 2 and abs(c * dy - s * dx) < better.height / 2
    return inside and f.score < 0.6 * better.score and f.width < 0.75 * better.width


def suppress(frames: list[FaceFrame]) -> list[FaceFrame]:
    """Best-first non-maximum suppression: frames that are `same_face` as a better kept frame are dropped
    (second peaks on a big face, or two peaks that realign brought onto one face)."""
    kept: list[FaceFrame] = []
    for f in sorted(frames, key=lambda f: -f.score):
        if not any(same_face(f, k) for k in kept):
            kept.append(f)
    return kept


@torch.no_grad()
def find_faces(
    locator: FaceLocator, photo: torch.Tensor, threshold: float = 0.3, align: bool = True
) -> list[FaceFrame]:
    """Photo [3,H,W] 0..1 -> its face frames in photo pixels (realigned with `align`), one per face."""
    device = next(locator.parameters()).device
    x, sx, sy = locator_input(photo[None], locator.config.resolution)
    frames = suppress(decode(locator(x.to(device)).cpu(), locator.config.resolution, sx, sy, threshold)[0])
    return suppress([realign(locator, photo, f) for f in frames]) if align else frames


@torch.no_grad()
def masks_on_faces(
    model: PASL, photo: torch.Tensor, frames: list[FaceFrame], txt: torch.Tensor, refine: bool = True
) -> torch.Tensor:
    """Photo [3,H,W], frames, projected text [P,C] -> soft masks [P,H,W] (max over the faces; 0 elsewhere)."""
    h, w = photo.shape[-2:]
    out = torch.zeros(txt.shape[0], h, w)
    if not frames:
        return out
    hw = input_size(CROP_H, CROP_W, model.config.resolution)
    device = next(model.parameters()).device
    crops = crop_faces(photo, frames, hw).to(device)
    probs = view_logits(model, view_features(model, crops, refine), txt, hw, hw).sigmoid().float().cpu()
    for p, fr in zip(probs, frames, strict=True):
        out = torch.maximum(out, paste_masks(p, fr, h, w))
    return out


@torch.no_grad()
def photo_masks(
    model: PASL,
    locator: FaceLocator,
    image: torch.Tensor,
    text: torch.Tensor,
    refine: bool = True,
    faces: str = "all",
    index: int = 0,
    align: bool = True,
    eyes: torch.Tensor | None = None,
) -> tuple[torch.Tensor, list[list[FaceFrame]], list[int]]:
    """IMAGE [B,H,W,C] 0..1, raw text features [P,D] -> (soft masks [B,P,H,W], per image the frames used,
    per image the number of faces found before the selection).

    Images in which no face is found get all-zero masks and an empty frame list (the caller warns).
    `eyes`: raw text features [1,D] of an eyes prompt, to align each selected face by its eyes
    (EYE_STEPS times).
    """
    check_photo(image)
    if not torch.isfinite(image).all():
        raise ValueError("the image contains NaN or infinite values: fix the node that produced it")
    device = next(model.parameters()).device
    txt = model.text_features(text.to(device))
    masks, used, found = [], [], []
    for b in range(image.shape[0]):
        photo = image[b, ..., :3].permute(2, 0, 1).float()
        frames = find_faces(locator, photo, align=align)
        sel = select_faces(frames, faces, index)
        if eyes is not None:
            eye_txt = model.text_features(eyes.to(device))
            for _ in range(EYE_STEPS):
                sel = [align_by_eyes(model, photo, f, eye_txt) for f in sel]
        masks.append(masks_on_faces(model, photo, sel, txt, refine))
        used.append(sel)
        found.append(len(frames))
    return torch.stack(masks), used, found
