"""The README's picture of Nano: the bundled demo portrait and three edits, as the nano_demo_edit workflow
makes them (PASL mask of the region, S2D-EC at T = 3, guidance 2, 30 steps), before the paste-back.

    OMP_NUM_THREADS=1 python -m scripts.nano.demo_strip [--out docs/nano_demo_edits.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from scripts.nano.card_numbers import DEMO, SOURCE
from scripts.repo_paths import ROOT

EDITS = (("red lipstick", "lips"), ("blond hair", "hair"), ("sunglasses", "eyes"))


def strip(editor, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    inv = editor.invert(editor.encode(image), SOURCE)
    tiles = [("source", image)]
    for text, region in EDITS:
        mask = editor.pasl(image, region)
        tiles.append((text, editor.edit(inv, f"{SOURCE} with {text}", mask, "s2d-ec", 3, 2.0)))
    return tiles


def save(tiles: list[tuple[str, np.ndarray]], path: Path, scale: int = 2) -> None:
    size, header, gap = 128 * scale, 18, 6
    canvas = Image.new("RGB", (len(tiles) * (size + gap) - gap, size + header), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (label, tile) in enumerate(tiles):
        img = Image.fromarray((np.clip(tile, 0, 1) * 255).round().astype(np.uint8)).resize((size, size), 0)
        canvas.paste(img, (i * (size + gap), header))
        draw.text((i * (size + gap) + 2, 3), label, fill="black")
    canvas.save(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "nano_demo_edits.png")
    args = ap.parse_args(argv)
    import torch

    from scripts.nano.edit_runner import NanoEditor

    torch.set_num_threads(1)
    weights = ROOT / "nano_weights"
    editor = NanoEditor(weights / "nano_flux.safetensors", weights / "nano_taesd.safetensors")
    with Image.open(DEMO) as img:
        image = np.asarray(img.convert("RGB"), np.float32) / 255
    with torch.no_grad():
        save(strip(editor, image), args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
