"""Offline PASL demo: image + prompt -> soft mask PNG and overlay PNG, with the shipped weights.

    python scripts/pasl_mask.py portrait.jpg "hair; lips" [--out-dir out] [--weights FILE]
    python -m scripts.pasl_mask portrait.jpg "the eyes"

Sub-prompts (one per line or separated by ';') each give a mask; the saved mask is their union
(pixelwise max). Writes <stem>_mask.png (grey 0..255) and <stem>_overlay.png (mask tinted red).
Whole photos: faces are found first and masked at portrait framing (`--faces all|largest|index`,
sculptor/photo_masks.py); `--faces "whole image"` resizes the whole image instead (face-filling crops).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

if __package__:  # python -m scripts.NAME
    from scripts.repo_paths import SHIPPED_WEIGHTS, fail
else:  # python scripts/NAME.py
    from repo_paths import SHIPPED_WEIGHTS, fail
from sculptor.face_locator import load_locator
from sculptor.pasl import PASL, load_pasl
from sculptor.pasl_infer import encoder_for, locate, split_prompt, union
from sculptor.photo_masks import EYES_PROMPT, FACES, photo_masks
from sculptor.text_features import TextEncoder

DEFAULT_WEIGHTS = SHIPPED_WEIGHTS
LOCATOR = SHIPPED_WEIGHTS.with_name("face_locator.safetensors")


def overlay(image: np.ndarray, mask: np.ndarray, color: tuple[int, int, int] = (255, 40, 40)) -> np.ndarray:
    """uint8 image [H,W,3], soft mask [H,W] 0..1 -> uint8 [H,W,3] tinted where the mask is high."""
    a = 0.6 * mask[..., None]
    return (image * (1 - a) + np.array(color) * a).round().clip(0, 255).astype(np.uint8)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("image", type=Path)
    ap.add_argument("prompt", help="what to locate; several sub-prompts separated by ';' or newlines")
    ap.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    ap.add_argument("--out-dir", type=Path, default=Path("."))
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument(
        "--refine",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="8-view refined mask, as the node's default (--no-refine: one pass)",
    )
    ap.add_argument(
        "--faces",
        default="all",
        choices=[*FACES, "whole image"],
        help="which faces to mask (index: --face-index, 0 = leftmost); 'whole image': no face search",
    )
    ap.add_argument("--face-index", type=int, default=0)
    return ap.parse_args(argv)


def prompt_masks(
    model: PASL, encoder: TextEncoder, image: torch.Tensor, args: argparse.Namespace
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """(the union mask [1,H,W], the first image's mask per sub-prompt [P,H,W], the sub-prompts) for
    image [1,H,W,3] 0..1: on the whole image, or per face found (--faces), warning when none is."""
    if args.faces == "whole image":
        return locate(model, encoder, image, args.prompt, refine=args.refine)
    parts = split_prompt(args.prompt)
    masks, _, found = photo_masks(
        model,
        load_locator(LOCATOR),
        image,
        encoder.encode(parts),
        args.refine,
        args.faces,
        args.face_index,
        eyes=encoder.encode([EYES_PROMPT]),
    )
    mask, per = union(masks), masks[0]
    if not found[0]:
        print(
            "warning: no face found, the mask is empty (for a face-filling crop try --faces 'whole image')",
            file=sys.stderr,
        )
    return mask, per, parts


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.image.is_file():
        fail(f"image not found: {args.image}")
    try:
        t0 = time.perf_counter()
        model = load_pasl(args.weights)
        encoder = encoder_for(model)
        encoder.encode(["warm-up"])
        rgb = np.array(Image.open(args.image).convert("RGB"))
        t1 = time.perf_counter()
        image = torch.from_numpy(rgb)[None].float() / 255
        mask, per, parts = prompt_masks(model, encoder, image, args)
        t2 = time.perf_counter()
    except ValueError as e:
        fail(str(e))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    m = mask[0].numpy()
    mask_path = args.out_dir / f"{args.image.stem}_mask.png"
    over_path = args.out_dir / f"{args.image.stem}_overlay.png"
    Image.fromarray((m * 255).round().astype(np.uint8)).save(mask_path)
    Image.fromarray(overlay(rgb, m)).save(over_path)
    cover = ", ".join(f"'{p}' {float((per[i] > 0.5).float().mean()):.1%}" for i, p in enumerate(parts))
    print(
        f"{mask_path} and {over_path} ({rgb.shape[1]}x{rgb.shape[0]}; loading {t1 - t0:.1f}s, "
        f"masks {t2 - t1:.2f}s; area > 0.5: {cover})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
