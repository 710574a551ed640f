"""Held-out IoU of PASL weights per region, for training phrasings and for unseen paraphrases.

    python scripts/evaluate_pasl.py --weights pasl_weights/pasl_minilm_celeba.safetensors [--limit N]

IoU per region at threshold 0.5, computed at the original image size (CelebA 178x218) on the masks the
node makes (refined, 8 views, unless --no-refine): the sum of
intersections over the sum of unions across all held-out images and all of the region's phrasings.
The data file comes from scripts/build_pasl_dataset.py.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

if __package__:  # python -m scripts.NAME
    from scripts.repo_paths import PASL_DATA, SHIPPED_WEIGHTS, fail
else:  # python scripts/NAME.py
    from repo_paths import PASL_DATA, SHIPPED_WEIGHTS, fail
from scripts.pasl_regions import CHECK_PROMPTS, REGIONS, TRAIN_PROMPTS, UNSEEN_PROMPTS
from sculptor.pasl import PASL, load_pasl
from sculptor.pasl_infer import encoder_for, input_size, view_features, view_logits
from sculptor.text_features import TextEncoder

DEFAULT_DATA = PASL_DATA
DEFAULT_WEIGHTS = SHIPPED_WEIGHTS
DEFAULT_LOCATOR = SHIPPED_WEIGHTS.with_name("face_locator.safetensors")


def load_dataset(path: Path) -> dict[str, np.ndarray]:
    """images uint8 [N,H,W,3], masks bool [N,18,H,W], names str [N], holdout bool [N]."""
    if not path.is_file():
        fail(f"{path} not found: build it with scripts/build_pasl_dataset.py (data venv)")
    d = np.load(path, allow_pickle=False)
    if tuple(str(r) for r in d["regions"]) != REGIONS:
        fail(f"{path} was built for other regions: rebuild it")
    w = int(d["width"])
    masks = np.unpackbits(d["masks"], axis=-1)[..., :w].astype(bool)
    return {"images": d["images"], "masks": masks, "names": d["names"], "holdout": d["holdout"]}


def prompt_table(
    encoder: TextEncoder, prompts: dict[str, tuple[str, ...]]
) -> tuple[torch.Tensor, torch.Tensor]:
    """All phrasings encoded: features [P,D] and their region index [P]."""
    texts, idx = [], []
    for r, name in enumerate(REGIONS):
        texts += list(prompts[name])
        idx += [r] * len(prompts[name])
    return encoder.encode(texts), torch.tensor(idx)


def images_to_input(images: np.ndarray, resolution: int) -> torch.Tensor:
    """uint8 [B,H,W,3] -> float [B,3,h,w] 0..1 at the model input size."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    size = input_size(x.shape[-2], x.shape[-1], resolution)
    return F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


@torch.no_grad()
def group_iou(
    model: PASL,
    images: np.ndarray,
    masks: np.ndarray,
    text: torch.Tensor,
    region_of: torch.Tensor,
    group_of: torch.Tensor,
    n_groups: int,
    batch: int = 8,
    refine: bool = True,
) -> np.ndarray:
    """IoU per group [n_groups] at threshold 0.5, summed over images and the group's phrasings.

    text [P,D] raw features; region_of [P] the ground-truth region of each phrasing; group_of [P].
    Predictions are logits at the image size exactly as the node makes them (`refine`: the 8-view
    average of sculptor/pasl_infer.py), thresholded at 0.
    """
    inter = torch.zeros(n_groups, dtype=torch.float64)
    uni = torch.zeros(n_groups, dtype=torch.float64)
    device = next(model.parameters()).device
    txt = model.text_features(text.to(device))
    for i in range(0, len(images), batch):
        x = images_to_input(images[i : i + batch], model.config.resolution).to(device)
        feats = view_features(model, x, refine)
        gt_all = torch.from_numpy(masks[i : i + batch])
        for j in range(0, len(region_of), 64):
            lo = view_logits(
                model, feats, txt[j : j + 64], tuple(x.shape[-2:]), tuple(gt_all.shape[-2:])
            ).cpu()
            pred = lo > 0
            g = gt_all[:, region_of[j : j + 64]]
            grp = group_of[j : j + 64]
            inter.index_add_(0, grp, (pred & g).sum((0, 2, 3)).double())
            uni.index_add_(0, grp, (pred | g).sum((0, 2, 3)).double())
    return (inter / uni.clamp_min(1)).numpy()


def evaluate(
    model: PASL,
    data: dict[str, np.ndarray],
    encoder: TextEncoder,
    limit: int = 0,
    refine: bool = True,
    sets: dict[str, dict[str, tuple[str, ...]]] | None = None,
) -> dict[str, dict[str, float]]:
    """{set name: {region: IoU}} on the held-out images (first `limit` if > 0), all sets in one pass.

    `sets` maps a name to a prompt list ({region: phrasings}); default: 'train' and 'unseen'.
    """
    sets = sets or {"train": TRAIN_PROMPTS, "unseen": UNSEEN_PROMPTS}
    sel = np.flatnonzero(data["holdout"])
    if limit:
        sel = sel[:limit]
    tables = [prompt_table(encoder, prompts) for prompts in sets.values()]
    region_of = torch.cat([r for _, r in tables])
    group_of = torch.cat([r + k * len(REGIONS) for k, (_, r) in enumerate(tables)])
    iou = group_iou(
        model,
        data["images"][sel],
        data["masks"][sel],
        torch.cat([t for t, _ in tables]),
        region_of,
        group_of,
        len(sets) * len(REGIONS),
        refine=refine,
    ).reshape(len(sets), -1)
    return {
        name: {r: float(v) for r, v in zip(REGIONS, row, strict=True)}
        for name, row in zip(sets, iou, strict=True)
    }


def mean_iou(result: dict[str, dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean(list(v.values()))) for k, v in result.items()}


def text_space_agreement(encoder: TextEncoder, k: int = 3) -> tuple[int, int]:
    """How many unseen paraphrases are, in the encoder's own space, nearest to their region's training
    phrasings (mean cosine of the k closest per region). A ceiling on what any projector can do."""
    train, region_of = prompt_table(encoder, TRAIN_PROMPTS)
    unseen, truth = prompt_table(encoder, UNSEEN_PROMPTS)
    sim = F.normalize(unseen, dim=-1) @ F.normalize(train, dim=-1).T
    scores = torch.stack(
        [sim[:, region_of == r].topk(k, dim=1).values.mean(1) for r in range(len(REGIONS))], 1
    )
    return int((scores.argmax(1) == truth).sum()), len(truth)


def markdown_table(result: dict[str, dict[str, float]]) -> str:
    rows = ["| region | IoU, training prompts | IoU, unseen paraphrases |", "| --- | --- | --- |"]
    rows += [f"| {r} | {result['train'][r]:.3f} | {result['unseen'][r]:.3f} |" for r in REGIONS]
    mean = mean_iou(result)
    rows.append(f"| **mean** | **{mean['train']:.3f}** | **{mean['unseen']:.3f}** |")
    return "\n".join(rows)


def photo_report(
    model: PASL, data: dict[str, np.ndarray], encoder: TextEncoder, args: argparse.Namespace
) -> dict:
    """The whole-photo set (scripts/evaluate_photos.py), printed as a table; returns the JSON part."""
    from scripts.evaluate_photos import evaluate_photos, markdown
    from sculptor.face_locator import load_locator

    methods = tuple(m.strip() for m in args.methods.split(","))
    locator = load_locator(args.locator) if "faces" in methods else None
    print(
        f"whole-photo set: {args.photo_limit or 'all'} held-out faces, {args.photo_size}^2 photos", flush=True
    )
    res = evaluate_photos(
        model, locator, data, encoder, args.photo_limit, args.photo_size, args.refine, methods=methods
    )
    print(markdown(res) + "\n", flush=True)
    held = int(data["holdout"].sum())
    return {
        "faces": min(args.photo_limit or held, held),
        "size": args.photo_size,
        "refine": args.refine,
        "locator": args.locator.name if locator else None,
        "rows": res,
    }


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--limit", type=int, default=0, help="only the first N held-out images")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--subset",
        type=int,
        default=0,
        help="also evaluate the first N held-out images (the weights test's reference)",
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the result(s) as JSON here")
    ap.add_argument(
        "--refine",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="8-view refined masks as the node's default (--no-refine: one plain pass)",
    )
    ap.add_argument(
        "--photos",
        action="store_true",
        help="also the whole-photo set (scripts/evaluate_photos.py): held-out faces at 5 scales",
    )
    ap.add_argument(
        "--photo-limit", type=int, default=50, help="held-out faces in the whole-photo set (0: all)"
    )
    ap.add_argument("--photo-size", type=int, default=512, help="side of the square whole-photo composites")
    ap.add_argument(
        "--methods",
        default="whole image,faces",
        help="comma list of the whole-photo methods: 'whole image' (today), 'faces' (face search)",
    )
    ap.add_argument("--locator", type=Path, default=DEFAULT_LOCATOR, help="face-locator weights")
    ap.add_argument(
        "--crops",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the single-face (CelebA crop) tables; --no-crops runs only --photos",
    )
    return ap.parse_args()


def crop_report(
    model: PASL, data: dict[str, np.ndarray], encoder: TextEncoder, limit: int, refine: bool
) -> dict:
    """The single-face (CelebA crop) IoU of the first `limit` held-out images (0: all), printed as a
    table; returns the JSON part."""
    n_all = int(data["holdout"].sum())
    t0 = time.perf_counter()
    result = evaluate(
        model,
        data,
        encoder,
        limit,
        refine=refine,
        sets={"train": TRAIN_PROMPTS, "unseen": UNSEEN_PROMPTS, "check": CHECK_PROMPTS},
    )
    n = min(limit, n_all) if limit else n_all
    mean = mean_iou(result)
    print(
        f"held-out images: {n} ({time.perf_counter() - t0:.0f}s)\n{markdown_table(result)}\n"
        f"check list (scripts/pasl_regions.py CHECK_PROMPTS), mean IoU: {mean['check']:.3f}\n"
    )
    return {"images": n, "refine": refine, **result, "mean": mean}


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    model = load_pasl(args.weights)
    data = load_dataset(args.data)
    encoder = encoder_for(model)
    report = {}
    for key, limit in (("all", args.limit), ("subset", args.subset)):
        if (key == "subset" and not limit) or not args.crops:
            continue
        report[key] = crop_report(model, data, encoder, limit, args.refine)
    if args.photos:
        report["photos"] = photo_report(model, data, encoder, args)
    hits, total = text_space_agreement(encoder)
    print(f"unseen paraphrases nearest to their own region in {encoder.name} space: {hits}/{total}")
    report["text_space_agreement"] = [hits, total]
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
