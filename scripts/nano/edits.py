"""Synthetic local edits for Nano's training data: exact captions, known regions.

Each edit recolours or draws inside one PASL region mask of a 128x128 face, keeping the pixels' shading,
so a face and its edited copy differ only by one caption phrase and only inside that region. Images are
float32 [H,W,3] in 0..1, masks float32 [H,W] in 0..1 (soft). Plain numpy + scipy; no torch, no ComfyUI.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

LIPSTICK = {
    "red": (0.78, 0.06, 0.12),
    "pink": (0.96, 0.45, 0.66),
    "purple": (0.46, 0.12, 0.46),
    "orange": (0.96, 0.46, 0.12),
    "black": (0.07, 0.05, 0.06),
}
HAIR = {
    "blond": (0.95, 0.80, 0.48),
    "black": (0.07, 0.06, 0.06),
    "red": (0.72, 0.22, 0.08),
    "white": (0.93, 0.93, 0.95),
    "blue": (0.18, 0.34, 0.86),
}
GLASSES = ("sunglasses", "eyeglasses")
# kind -> (region the edit paints, phrase for each option)
KINDS: dict[str, tuple[str, dict[str, str]]] = {
    "lipstick": ("lips", {c: f"{c} lipstick" for c in LIPSTICK}),
    "hair": ("hair", {c: f"{c} hair" for c in HAIR}),
    "glasses": ("eyeglasses", {g: g for g in GLASSES}),
    "cheeks": ("cheeks", {"rosy": "rosy cheeks"}),
}


def luminance(img: np.ndarray) -> np.ndarray:
    """[H,W,3] -> [H,W] Rec. 601 luma."""
    return img @ np.array([0.299, 0.587, 0.114], np.float32)


def soften(mask: np.ndarray, sigma: float) -> np.ndarray:
    """Binary/soft mask [H,W] blurred by a Gaussian of `sigma` px, in 0..1."""
    return np.clip(ndimage.gaussian_filter(mask.astype(np.float32), sigma), 0.0, 1.0)


def recolour(
    img: np.ndarray, mask: np.ndarray, colour: tuple[float, float, float], alpha: float, gamma: float
) -> np.ndarray:
    """Paint `colour` into `mask`, modulated by the region's own shading (luma / region median) ** gamma."""
    lum = luminance(img)
    inside = mask > 0.5
    ref = float(np.median(lum[inside])) if inside.any() else float(lum.mean())
    shade = np.clip(lum / max(ref, 1e-3), 0.3, 2.0) ** gamma
    painted = np.clip(np.asarray(colour, np.float32) * shade[..., None], 0.0, 1.0)
    a = (alpha * mask)[..., None]
    return img * (1 - a) + painted * a


def lipstick(img: np.ndarray, lips: np.ndarray, colour: str, rng: np.random.Generator) -> np.ndarray:
    return recolour(img, soften(lips, 0.6), LIPSTICK[colour], rng.uniform(0.7, 0.85), 0.8)


def hair(img: np.ndarray, hair_mask: np.ndarray, colour: str, rng: np.random.Generator) -> np.ndarray:
    """The PASL hair mask stops at the mouth-corner row: fade the last 16 rows so no straight seam shows."""
    rows = np.nonzero(hair_mask.any(axis=1))[0]
    bottom = rows.max() if len(rows) else 0
    fade = np.clip((bottom - np.arange(hair_mask.shape[0], dtype=np.float32)) / 16, 0, 1)[:, None]
    return recolour(img, soften(hair_mask, 1.0) * fade, HAIR[colour], rng.uniform(0.8, 0.92), 0.9)


def cheeks(img: np.ndarray, cheek_mask: np.ndarray, option: str, rng: np.random.Generator) -> np.ndarray:
    tint = np.array([0.92, 0.42, 0.46], np.float32)
    a = (rng.uniform(0.3, 0.42) * soften(cheek_mask, 3.0))[..., None]
    return img * (1 - a) + img * tint * 1.05 * a


def glasses(img: np.ndarray, lens: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Sunglasses: dark lenses with a vertical sheen; eyeglasses: a dark frame along the lens outline."""
    lens = lens > 0.5
    ring = ndimage.binary_dilation(lens, iterations=1) & ~ndimage.binary_erosion(lens, iterations=1)
    frame_colour = np.array([0.05, 0.04, 0.04], np.float32) * rng.uniform(0.8, 1.6)
    out = img.copy()
    if kind == "sunglasses":
        h = img.shape[0]
        sheen = (0.04 + 0.10 * (1 - np.arange(h, dtype=np.float32) / h))[:, None, None]
        dark = np.clip(frame_colour + sheen + 0.08 * img, 0, 1)
        a = (0.94 * soften(lens, 0.5))[..., None]
        out = out * (1 - a) + dark * a
    a = (0.95 * soften(ring, 0.4))[..., None]
    return out * (1 - a) + frame_colour * a


APPLY = {"lipstick": lipstick, "hair": hair, "glasses": glasses, "cheeks": cheeks}


def apply_edits(
    img: np.ndarray, masks: dict[str, np.ndarray], edits: list[tuple[str, str]], rng: np.random.Generator
) -> np.ndarray:
    """img [H,W,3] 0..1, masks region -> [H,W] bool, edits [(kind, option)] -> edited [H,W,3] 0..1."""
    out = img
    for kind, option in edits:
        if kind not in KINDS or option not in KINDS[kind][1]:
            raise ValueError(
                f"unknown edit {kind}={option}; known: { ({k: list(v[1]) for k, v in KINDS.items()}) }"
            )
        out = APPLY[kind](out, masks[KINDS[kind][0]], option, rng)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def phrase(edits: list[tuple[str, str]]) -> list[str]:
    """Caption phrases of edits, e.g. [("lipstick", "red")] -> ["red lipstick"]."""
    return [KINDS[k][1][o] for k, o in edits]
