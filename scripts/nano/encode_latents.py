"""Encode Nano's data set into Flux model-space latents through the REAL ComfyUI VAE path.

    python -m scripts.nano.encode_latents [--vae nano_weights/nano_taesd.safetensors] [--variants 4]

Loads the exported TAESD file with `comfy.sd.VAE` (what VAELoader does), encodes each image as
VAEEncode would (IMAGE [B,H,W,3] 0..1), and applies Flux's `process_latent_in`
((x - 0.1159) * 0.3611), so the stored latents are exactly what Nano's diffusion model sees at run time.
Keeps each face's original and its first `variants` edited copies (encoding costs ~0.2 s per image on
one core). Output npz: `latents` float16 [M,16,16,16], `face`, `edits`, `holdout` (per row), `names`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from tqdm import tqdm

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parents[2]))
from scripts.nano.build_dataset import DEFAULT_OUT as DEFAULT_DATA  # noqa: E402
from scripts.nano.comfy_env import import_comfy  # noqa: E402
from scripts.nano.train_ae import EXPORT  # noqa: E402

DEFAULT_LATENTS = DEFAULT_DATA.with_name("nano_latents.npz")


def load_vae(path: Path):
    """comfy.sd.VAE from a TAESD-format file (as ComfyUI's VAELoader builds it)."""
    import_comfy()
    import comfy.sd

    return comfy.sd.VAE(sd=load_file(str(path)))


def select_rows(face: np.ndarray, variants: int) -> np.ndarray:
    """Row indices: per face the original (first row) and its first `variants` edited copies."""
    first = np.r_[0, np.nonzero(np.diff(face))[0] + 1]
    rank = np.arange(len(face)) - np.repeat(first, np.diff(np.r_[first, len(face)]))
    return np.nonzero(rank <= variants)[0]


@torch.inference_mode()
def encode(vae, images: np.ndarray, batch: int = 16) -> torch.Tensor:
    """uint8 [M,H,W,3] -> Flux model-space latents [M,16,H/8,W/8] float32."""
    import comfy.latent_formats

    fmt = comfy.latent_formats.Flux()
    out = []
    for i in tqdm(range(0, len(images), batch), desc="encode", dynamic_ncols=True):
        pixels = torch.from_numpy(images[i : i + batch]).float() / 255
        out.append(fmt.process_in(vae.encode(pixels).float()))
    return torch.cat(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--vae", type=Path, default=EXPORT)
    ap.add_argument("--out", type=Path, default=DEFAULT_LATENTS)
    ap.add_argument("--variants", type=int, default=4, help="edited copies per face to encode")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    vae = load_vae(args.vae)
    with np.load(args.data, allow_pickle=False) as f:
        rows = select_rows(f["face"], args.variants)
        face, edits, names = f["face"][rows], f["edits"][rows], f["names"]
        holdout = f["holdout"][face]
        latents = encode(vae, f["images"][rows])
    np.savez(args.out, latents=latents.half().numpy(), face=face, edits=edits, holdout=holdout, names=names)
    print(
        f"{len(rows)} latents {tuple(latents.shape[1:])}, mean {float(latents.mean()):.3f} "
        f"std {float(latents.std()):.3f}, {time.time() - t0:.0f}s -> {args.out}"
    )


if __name__ == "__main__":
    main()
