"""The face search (sculptor/photo_masks.py find_faces) on the face locator's validation faces.

    python -m scripts.validate_face_search --locator pasl_weights/face_locator.safetensors

Validation faces are CelebA 000850-000899: never trained on by the locator or PASL, and not the held-out
faces (>= 000900) that evaluate_pasl reports. Design choices of the search (suppression, the mirrored zoom
look) are measured here, so the held-out numbers stay untouched by them. Three sets, all seeded:
- training-style: 100 composites as the locator trains on (0-4 faces, heavy overlaps, 2-90% of the area);
- side by side: 50 photos 512x384 with two faces next to each other (widths 60-220 px, frames apart);
- single: each validation face alone at 2, 5, 10, 25, 60% of a 512x512 photo (evaluate_pasl's geometry).
Prints recall (a face counts as found within 0.25 of its width), false faces per photo, centre error
(fraction of the width) and |log width| error, median and 90th percentile.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from scripts.evaluate_pasl import DEFAULT_DATA, load_dataset
from scripts.photo_composites import background, background_bank, compose, eval_photos, head_alpha
from scripts.train_face_locator import SHAPES, face_layers, sample_photo, split_photos
from sculptor.face_frames import FaceFrame
from sculptor.face_locator import load_locator
from sculptor.photo_masks import find_faces

Photo = tuple[torch.Tensor, list[FaceFrame]]


def match(pred: list[FaceFrame], truth: list[FaceFrame]) -> tuple[int, int, list[float], list[float]]:
    """Greedy matching -> (found, false, centre errors, |log width| errors)."""
    used, errs, werrs = set(), [], []
    for t in truth:
        cands = [
            (math.hypot(p.cx - t.cx, p.cy - t.cy) / t.width, i) for i, p in enumerate(pred) if i not in used
        ]
        d, i = min(cands, default=(9.0, -1))
        if d < 0.25:
            used.add(i)
            errs.append(d)
            werrs.append(abs(math.log(pred[i].width / t.width)))
    return len(used), len(pred) - len(used), errs, werrs


def side_by_side(data: dict, val: np.ndarray, n: int, g: torch.Generator) -> list[Photo]:
    """n photos 384x512 with two faces next to each other, the right one 1-2.2x the left one's width."""
    x = torch.from_numpy(data["images"][val]).permute(0, 3, 1, 2).float() / 255
    a = head_alpha(torch.from_numpy(data["masks"][val]))
    bank = background_bank(data["images"][val], a)
    out = []
    for _ in range(n):
        r = torch.rand(6, generator=g).tolist()
        w1 = 60 + 100 * r[0]
        w2 = min(220.0, w1 * (1 + 1.2 * r[1]))
        f1 = FaceFrame(20 + w1 / 2 + 30 * r[2], 130 + 100 * r[3], w1, math.radians(20 * r[4] - 10))
        cx2 = min(f1.cx + (w1 + w2) / 2 + 10 + 30 * r[5], 512 - w2 / 3)
        f2 = FaceFrame(cx2, 150 + 80 * r[2], w2, math.radians(10 - 20 * r[0]))
        i, j = torch.randint(len(x), (2,), generator=g).tolist()
        layers = torch.stack([torch.cat([x[i], a[i]]), torch.cat([x[j], a[j]])])
        photo, _ = compose(layers, [f1, f2], background(384, 512, bank, g))
        out.append((photo, [f1, f2]))
    return out


def validation_sets(data: dict) -> dict[str, list[Photo]]:
    _, val = split_photos(data, 0)
    faces = face_layers(data, val)
    bank = background_bank(data["images"][val], head_alpha(torch.from_numpy(data["masks"][val])))
    g = torch.Generator().manual_seed(777)
    train_style = [sample_photo(faces, bank, g, (s[0] * 80, s[1] * 80)) for s in SHAPES * 20]
    single = []
    for scale in (0.02, 0.05, 0.10, 0.25, 0.60):
        photos, _, truth = eval_photos(data["images"][val], data["masks"][val], scale, 512, seed=5)
        single += [(p, [t]) for p, t in zip(photos, truth, strict=True)]
    sets = {"training-style": train_style, "side by side": side_by_side(data, val, 50, g), "single": single}
    return sets


def report(name: str, locator, photos: list[Photo]) -> str:
    found = total = false = 0
    errs, werrs = [], []
    for photo, truth in photos:
        f, fp, e, w = match(find_faces(locator, photo), truth)
        found, total, false = found + f, total + len(truth), false + fp
        errs, werrs = errs + e, werrs + w
    e, w = np.array(errs or [9.0]), np.array(werrs or [9.0])
    return (
        f"{name:15s} recall {found / total:.3f}  false/photo {false / len(photos):.3f}  "
        f"centre {np.median(e):.3f} (p90 {np.percentile(e, 90):.3f})  "
        f"|log width| {np.median(w):.3f} (p90 {np.percentile(w, 90):.3f}, > 0.3: {np.mean(w > 0.3):.3f})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--locator", nargs="+", default=["pasl_weights/face_locator.safetensors"])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sets = validation_sets(load_dataset(args.data))
    for path in args.locator:
        print(path)
        locator = load_locator(path)
        for name, photos in sets.items():
            print("  " + report(name, locator, photos), flush=True)


if __name__ == "__main__":
    main()
