"""The whole-photo evaluation set: held-out faces composited into larger photos at 5 face scales.

Used by `python scripts/evaluate_pasl.py --photos` (see there). For each scale (face-shape box area over
the photo area: 2%, 5%, 10%, 25%, 60%) every held-out face is placed alone in a size x size photo
(scripts/photo_composites.py `eval_photos`, deterministic), and two ways of masking are scored:
`whole image` (today's node: the photo resized to PASL's input) and `faces` (sculptor/photo_masks.py: find,
crop, mask, paste back). The 'face crop' row runs both on the original CelebA crops.

Per prompt set: IoU at threshold 0.5 per region (intersection sum / union sum over photos and phrasings),
mean over regions; and the hit rate: the share of (photo, phrasing) whose thresholded mask matches the
prompted region best among the 18 regions (highest IoU; an empty mask is a miss). Raw mask mass would
always pick the largest region (face shape holds every other); IoU rewards the region the mask fits.
"""

from __future__ import annotations

import time

import numpy as np
import torch

if __package__:  # python -m scripts.NAME
    from scripts.repo_paths import ROOT  # noqa: F401
else:  # python scripts/NAME.py
    from repo_paths import ROOT  # noqa: F401
from scripts.pasl_regions import REGIONS, TRAIN_PROMPTS, UNSEEN_PROMPTS
from scripts.photo_composites import EVAL_SCALES, eval_photos
from sculptor.face_locator import FaceLocator
from sculptor.pasl import PASL
from sculptor.pasl_infer import predict_masks
from sculptor.photo_masks import EYES_PROMPT, photo_masks
from sculptor.text_features import TextEncoder

METHODS = ("whole image", "faces")


def photo_prompt_sets(train_per_region: int = 3) -> dict[str, dict[str, tuple[str, ...]]]:
    """'train': the first N training phrasings of each region; 'unseen': all unseen paraphrases."""
    return {"train": {r: TRAIN_PROMPTS[r][:train_per_region] for r in REGIONS}, "unseen": UNSEEN_PROMPTS}


def region_scores(pred: torch.Tensor, gt: torch.Tensor, region_of: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Soft masks pred [P,H,W], ground truth gt [18,H,W] bool, region_of [P] -> (intersection [P],
    union [P] with the prompted region, hit [P] bool: the prompted region has the highest IoU)."""
    p = (pred > 0.5).flatten(1).float()
    g = gt.flatten(1).float()
    inter = p @ g.T
    union = p.sum(1, keepdim=True) + g.sum(1)[None] - inter
    iou = inter / union.clamp_min(1)
    idx = torch.arange(len(region_of))
    hit = (iou.argmax(1) == region_of) & (iou[idx, region_of] > 0)
    return inter[idx, region_of], union[idx, region_of], hit


def masks_for(
    method: str,
    model: PASL,
    locator: FaceLocator,
    photo: torch.Tensor,
    text: torch.Tensor,
    refine: bool,
    eyes: torch.Tensor | None = None,
) -> torch.Tensor:
    """One photo [3,H,W] -> soft masks [P,H,W] by `method` (`eyes`: raw eyes-prompt features [1,D])."""
    image = photo.permute(1, 2, 0)[None]
    if method == "whole image":
        return predict_masks(model, image, text, refine)[0]
    return photo_masks(model, locator, image, text, refine, eyes=eyes)[0][0]


def score_set(
    model: PASL,
    locator: FaceLocator,
    photos: torch.Tensor,
    gts: torch.Tensor,
    text: torch.Tensor,
    region_of: torch.Tensor,
    group_of: torch.Tensor,
    n_groups: int,
    refine: bool,
    methods: tuple[str, ...] = METHODS,
) -> dict[str, np.ndarray]:
    """{method: [n_groups, 18 IoU + hit rate]} over photos [N,3,H,W] with masks gts [N,18,H,W]."""
    out = {}
    for method in methods:
        inter = torch.zeros(n_groups, len(REGIONS), dtype=torch.float64)
        union = torch.zeros_like(inter)
        hits = torch.zeros(n_groups, dtype=torch.float64)
        count = torch.zeros(n_groups, dtype=torch.float64)
        for photo, gt in zip(photos, gts, strict=True):
            pred = masks_for(method, model, locator, photo, text[:-1], refine, text[-1:])
            i, u, h = region_scores(pred, gt, region_of)
            inter.index_put_((group_of, region_of), i.double(), accumulate=True)
            union.index_put_((group_of, region_of), u.double(), accumulate=True)
            hits.index_add_(0, group_of, h.double())
            count.index_add_(0, group_of, torch.ones_like(h, dtype=torch.float64))
        iou = (inter / union.clamp_min(1)).numpy()
        out[method] = np.concatenate([iou, (hits / count.clamp_min(1)).numpy()[:, None]], 1)
    return out


def evaluate_photos(
    model: PASL,
    locator: FaceLocator,
    data: dict[str, np.ndarray],
    encoder: TextEncoder,
    limit: int = 50,
    size: int = 512,
    refine: bool = True,
    train_per_region: int = 3,
    scales: tuple[float, ...] = EVAL_SCALES,
    methods: tuple[str, ...] = METHODS,
) -> dict[str, dict[str, dict[str, float]]]:
    """{row ('face crop', '2%', ...): {method: {'<set> iou', '<set> hit'}}} on the first `limit` held-out
    faces (0: all), every region's IoU per set under '<set> regions'."""
    from scripts.evaluate_pasl import prompt_table

    sel = np.flatnonzero(data["holdout"])
    sel = sel[:limit] if limit else sel
    sets = photo_prompt_sets(train_per_region)
    tables = [prompt_table(encoder, p) for p in sets.values()]
    text = torch.cat([t for t, _ in tables] + [encoder.encode([EYES_PROMPT])])  # last row: eye alignment
    region_of = torch.cat([r for _, r in tables])
    group_of = torch.cat([torch.full_like(r, k) for k, (_, r) in enumerate(tables)])
    crops = torch.from_numpy(data["images"][sel]).permute(0, 3, 1, 2).float() / 255
    rows: list[tuple[str, torch.Tensor, torch.Tensor]] = [
        ("face crop", crops, torch.from_numpy(data["masks"][sel]))
    ]
    report: dict[str, dict[str, dict[str, float]]] = {}
    for scale in (None, *scales):
        t0 = time.perf_counter()
        if scale is None:
            name, photos, gts = rows[0]
        else:
            name = f"{scale * 100:g}%"
            photos, gts, _ = eval_photos(data["images"][sel], data["masks"][sel], scale, size)
        res = score_set(model, locator, photos, gts, text, region_of, group_of, len(sets), refine, methods)
        report[name] = {
            m: {f"{s} iou": float(v[k, :-1].mean()) for k, s in enumerate(sets)}
            | {f"{s} hit": float(v[k, -1]) for k, s in enumerate(sets)}
            | {
                f"{s} regions": dict(zip(REGIONS, v[k, :-1].round(4).tolist(), strict=True))
                for k, s in enumerate(sets)
            }
            for m, v in res.items()
        }
        print(f"  {name}: {len(photos)} photos, {time.perf_counter() - t0:.0f}s", flush=True)
    return report


def markdown(report: dict[str, dict[str, dict[str, float]]]) -> str:
    methods = [m for m in METHODS if m in next(iter(report.values()))]
    head = "| face size | " + " | ".join(
        f"{m}: IoU train / unseen | {m}: hit train / unseen" for m in methods
    )
    rows = [head + " |", "| --- |" + " --- | --- |" * len(methods)]
    for name, res in report.items():
        cells = [
            f"{r['train iou']:.3f} / {r['unseen iou']:.3f} | {r['train hit']:.2f} / {r['unseen hit']:.2f}"
            for r in (res[m] for m in methods)
        ]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
