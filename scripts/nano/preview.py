"""Quick look at a Nano Flux checkpoint: held-out faces re-noised to --sigma and denoised (Euler, ComfyUI's
Flux schedule) under several captions, decoded with the exported VAE, saved as one grid PNG.

    python -m scripts.nano.preview [--ckpt ...nano_flux.ckpt.safetensors] [--faces 4] [--sigma 0.7]

Rows: held-out faces (never trained on); columns: the VAE reconstruction, then one column per caption.
Same noise for every caption, so differences between columns come from the text alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parents[2]))
from scripts.nano.checkpoint import load_checkpoint  # noqa: E402
from scripts.nano.encode_latents import DEFAULT_LATENTS, load_vae  # noqa: E402
from scripts.nano.flux_model import build_flux, flux_time_shift  # noqa: E402
from scripts.nano.train_ae import EXPORT  # noqa: E402
from scripts.nano.train_flux import CKPT  # noqa: E402
from sculptor.nano import NANO_FLUX, nano_text_features  # noqa: E402

CAPTIONS = (
    "a photo of a person",
    "a photo of a person with red lipstick",
    "a photo of a person with blond hair",
    "a photo of a person with black hair",
    "a photo of a person with sunglasses",
)


@torch.no_grad()
def denoise(model, x0: torch.Tensor, caption: str, sigma: float, steps: int, guidance: float, seed: int):
    """Re-noise model-space latents [B,16,h,w] to `sigma` and Euler-integrate to 0 under `caption`."""
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    u = torch.linspace(1, 0, 1001)[1:-1]
    full = torch.cat([torch.ones(1), flux_time_shift(u), torch.zeros(1)])
    sigmas = torch.cat([full[full <= sigma][:: max(1, 1000 // steps)], torch.zeros(1)]).unique().flip(0)
    x = (1 - sigmas[0]) * x0 + sigmas[0] * noise
    tokens, pooled = nano_text_features([caption] * len(x0))
    g = torch.full((len(x0),), guidance)
    for s, s_next in zip(sigmas[:-1], sigmas[1:], strict=True):
        v = model(x, torch.full((len(x0),), float(s)), tokens, y=pooled, guidance=g)
        x = x + (s_next - s) * v
    return x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ckpt", type=Path, default=CKPT)
    ap.add_argument("--vae", type=Path, default=EXPORT)
    ap.add_argument("--data", type=Path, default=DEFAULT_LATENTS)
    ap.add_argument("--out", type=Path, default=CKPT.parent / "nano_flux_preview.png")
    ap.add_argument("--faces", type=int, default=4)
    ap.add_argument("--sigma", type=float, default=0.7)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--guidance", type=float, default=1.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    import comfy.latent_formats

    vae, fmt = load_vae(args.vae), comfy.latent_formats.Flux()
    model = build_flux(NANO_FLUX).eval()
    step = load_checkpoint(args.ckpt, model, None)["step"]
    with np.load(args.data, allow_pickle=False) as f:
        rows = np.nonzero(f["holdout"] & (f["edits"] == ""))[0][: args.faces]
        x0 = torch.from_numpy(f["latents"][rows]).float()
    columns = [x0] + [denoise(model, x0, c, args.sigma, args.steps, args.guidance, seed=0) for c in CAPTIONS]
    images = [vae.decode(fmt.process_out(c)).clamp(0, 1) for c in columns]  # each [B,128,128,3]
    grid = torch.cat([torch.cat(list(im), dim=0) for im in images], dim=1)  # rows: faces, columns: captions
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((grid.numpy() * 255).round().astype(np.uint8)).save(args.out)
    print(f"step {step}: columns = reconstruction, {', '.join(CAPTIONS)} -> {args.out}")


if __name__ == "__main__":
    main()
