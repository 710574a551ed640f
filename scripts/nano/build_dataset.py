"""Build Nano's data set: 128x128 faces, region masks, and paired synthetic edits with exact captions.

    python -m scripts.nano.build_dataset [--pasl FILE.npz] [--out FILE.npz] [--variants 8] [--limit N]

Input: the PASL data set of scripts/build_pasl_dataset.py (CelebA aligned 178x218 faces + 18 FaceMesh
region masks; run it first in the data venv). Each face is cropped to its top-offset square (rows
crop_top .. crop_top+178), resized to 128x128, and kept with `variants` edited copies: one single edit of
each kind (lipstick colour, hair colour, glasses, rosy cheeks) and the rest random pairs of kinds. The
held-out split is PASL's (`holdout`: stems >= 000900); held-out faces get variants too (for evaluation
only; trainers must skip them). Output, one uncompressed .npz (allow_pickle=False):
`images` uint8 [M,128,128,3], `face` int32 [M] (row of the face arrays), `edits` str [M]
("kind=option;..." or ""), `names` str [N], `holdout` bool [N], `masks` uint8 [N,18,128,16] (packbits
along W), `regions` str [18]. Images stay out of git (CelebA: non-commercial research only).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parents[2]))
from scripts.nano.edits import KINDS, apply_edits  # noqa: E402
from scripts.repo_paths import HOME, PASL_DATA  # noqa: E402

DEFAULT_PASL = PASL_DATA
DEFAULT_OUT = HOME / "nano_data" / "nano_faces.npz"
SIZE = 128
MIN_PIXELS = {"lips": 20, "hair": 200, "eyeglasses": 80, "cheeks": 60}


def crop_resize(img: np.ndarray, top: int, size: int = SIZE, resample=Image.BICUBIC) -> np.ndarray:
    """[H,W(,C)] -> square rows top..top+W, resized to [size,size(,C)]."""
    h, w = img.shape[:2]
    if top < 0 or top + w > h:
        raise ValueError(f"crop_top={top} does not fit a {w}x{h} image: use 0..{h - w}")
    return np.asarray(Image.fromarray(img[top : top + w]).resize((size, size), resample))


def face_masks(packed: np.ndarray, width: int, top: int) -> np.ndarray:
    """PASL packed masks [18,H,ceil(W/8)] -> bool [18,128,128] (area-resized, threshold 0.5)."""
    full = np.unpackbits(packed, axis=-1)[..., :width].astype(np.uint8) * 255
    return np.stack([crop_resize(m, top, resample=Image.BILINEAR) >= 128 for m in full])


def variant_edits(rng: np.random.Generator, usable: list[str], count: int) -> list[list[tuple[str, str]]]:
    """`count` edit lists: one single edit per usable kind first, then random pairs of distinct kinds."""

    def pick(kind: str) -> tuple[str, str]:
        options = list(KINDS[kind][1])
        return kind, options[int(rng.integers(len(options)))]

    out = [[pick(k)] for k in usable][:count]
    while len(out) < count and len(usable) >= 2:
        a, b = rng.choice(len(usable), 2, replace=False)
        out.append([pick(usable[a]), pick(usable[b])])
    return out


def build(pasl: dict, variants: int, top: int, limit: int = 0, seed: int = 0) -> dict[str, np.ndarray]:
    regions = [str(r) for r in pasl["regions"]]
    n = len(pasl["names"]) if not limit else min(limit, len(pasl["names"]))
    width = int(pasl["width"]) if "width" in pasl else pasl["images"].shape[2]
    images, face_idx, edit_str, packed = [], [], [], []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        img = crop_resize(pasl["images"][i], top).astype(np.float32) / 255
        masks = face_masks(pasl["masks"][i], width, top)
        named = {r: masks[regions.index(r)] for r in regions}
        usable = [k for k, (r, _) in KINDS.items() if named[r].sum() >= MIN_PIXELS[r]]
        packed.append(np.packbits(masks, axis=-1))
        for edits in [[]] + variant_edits(rng, usable, variants):
            out = apply_edits(img, named, edits, rng) if edits else img
            images.append(np.round(out * 255).astype(np.uint8))
            face_idx.append(i)
            edit_str.append(";".join(f"{k}={o}" for k, o in edits))
    return {
        "images": np.stack(images),
        "face": np.array(face_idx, np.int32),
        "edits": np.array(edit_str),
        "names": np.asarray(pasl["names"][:n]),
        "holdout": np.asarray(pasl["holdout"][:n]),
        "masks": np.stack(packed),
        "regions": np.array(regions),
    }


def parse_edits(text: str) -> list[tuple[str, str]]:
    """ "lipstick=red;hair=blond" -> [("lipstick", "red"), ("hair", "blond")]; "" -> []."""
    return [tuple(e.split("=", 1)) for e in text.split(";") if e]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pasl", type=Path, default=DEFAULT_PASL, help="scripts/build_pasl_dataset.py output")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--variants", type=int, default=8, help="edited copies per face (besides the original)")
    ap.add_argument("--crop-top", type=int, default=20, help="first row of the square crop (CelebA: 20)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N faces (debugging)")
    args = ap.parse_args()
    if not args.pasl.is_file():
        raise SystemExit(f"{args.pasl} is missing: build it with scripts/build_pasl_dataset.py (data venv)")
    t0 = time.time()
    with np.load(args.pasl, allow_pickle=False) as f:
        data = build({k: f[k] for k in f.files}, args.variants, args.crop_top, args.limit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **data)
    held = data["holdout"][data["face"]]
    print(
        f"{len(data['names'])} faces ({int(data['holdout'].sum())} held out), {len(data['images'])} images "
        f"({int((~held).sum())} train, {int(held.sum())} held out), {time.time() - t0:.1f}s -> {args.out}"
    )


if __name__ == "__main__":
    main()
