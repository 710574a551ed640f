"""Train Nano's autoencoder: ComfyUI's own TAESD module, 16 latent channels, /8 (128 px -> 16x16x16).

    python -m scripts.nano.train_ae [--minutes 60] [--resume] [--batch 16] [--crop 64]
    python -m scripts.nano.train_ae --export [--out nano_weights/nano_taesd.safetensors]
    python -m scripts.nano.train_ae --evaluate          # held-out PSNR of the latest checkpoint

Training: random square crops (the net is fully convolutional; 64 px crops cost ~1/4 of 128 px), random
horizontal flips, loss = MSE + 0.5 L1 on 0..1 pixels + a small latent L2 penalty (keeps the latents
inside the decoder's tanh clamp). AdamW, warm-up then cosine decay over --total-steps; a run stops after
--minutes and checkpoints every --ckpt-minutes (resume with --resume). Held-out faces (PASL's split) are
never trained on; the held-out PSNR is the mean over held-out unedited faces of per-image PSNR at 128 px.
Export writes one TAESD-format file (taesd_encoder.*, taesd_decoder.*, vae_scale, vae_shift) that
ComfyUI's VAELoader loads; vae_scale/vae_shift are chosen so that Flux's latent format
((x - 0.1159) * 0.3611) hands the diffusion model standardised latents (train-set mean 0, std 1).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from tqdm import tqdm

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parents[2]))
from scripts.nano.build_dataset import DEFAULT_OUT as DEFAULT_DATA  # noqa: E402
from scripts.nano.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from scripts.nano.comfy_env import ROOT, import_comfy  # noqa: E402
from scripts.nano.plot import plot_history  # noqa: E402

CKPT = ROOT / "nano_weights" / "checkpoints" / "nano_ae.ckpt.safetensors"
EXPORT = ROOT / "nano_weights" / "nano_taesd.safetensors"
FLUX_SHIFT, FLUX_SCALE = 0.1159, 0.3611  # comfy.latent_formats.Flux process_in: (x - shift) * scale


def build_taesd() -> torch.nn.Module:
    """ComfyUI's TAESD (16 channels) with PyTorch's default conv init (ComfyUI's ops skip init)."""
    import_comfy()
    import comfy.taesd.taesd

    model = comfy.taesd.taesd.TAESD(latent_channels=16)
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.Conv2d.reset_parameters(m)
        if isinstance(m, comfy.taesd.taesd.Block):  # residual branch starts at zero: Block(x) = relu(x)
            torch.nn.init.zeros_(m.conv[-1].weight)
            torch.nn.init.zeros_(m.conv[-1].bias)
    return model


def load_images(path: Path, held_out: bool, unedited_only: bool = False) -> torch.Tensor:
    """uint8 [M,3,128,128] of the train (or held-out) faces from scripts/nano/build_dataset.py's npz."""
    with np.load(path, allow_pickle=False) as f:
        keep = f["holdout"][f["face"]] == held_out
        if unedited_only:
            keep &= f["edits"] == ""
        return torch.from_numpy(f["images"][keep]).permute(0, 3, 1, 2).contiguous()


def load_region(path: Path, held_out: bool, region: str) -> torch.Tensor:
    """uint8 [M,1,128,128] (0 / 255): `region`'s mask of each row's face, the rows of load_images."""
    with np.load(path, allow_pickle=False) as f:
        keep = f["holdout"][f["face"]] == held_out
        k = list(f["regions"]).index(region)
        per_face = np.unpackbits(f["masks"][:, k], axis=-1)[..., : f["images"].shape[2]]
        return torch.from_numpy(per_face[f["face"][keep]] * np.uint8(255))[:, None].contiguous()


def random_batch(images: torch.Tensor, batch: int, crop: int, g: torch.Generator) -> torch.Tensor:
    """[B,C,crop,crop] float 0..1 from uint8 [M,C,H,W] (RGB, then any weight channel): random images,
    random crops, random horizontal flips."""
    idx = torch.randint(len(images), (batch,), generator=g)
    size = images.shape[-1]
    ys = torch.randint(size - crop + 1, (batch,), generator=g)
    xs = torch.randint(size - crop + 1, (batch,), generator=g)
    out = (
        torch.stack(
            [images[i, :, y : y + crop, x : x + crop] for i, y, x in zip(idx, ys, xs, strict=True)]
        ).float()
        / 255
    )
    flip = torch.rand(batch, generator=g) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


def ae_loss(
    model: torch.nn.Module, x: torch.Tensor, latent_weight: float, weight: torch.Tensor | None = None
) -> tuple[torch.Tensor, float]:
    """x [B,3,H,W] 0..1, optional per-pixel loss weights [B,1,H,W] -> (loss, plain MSE)."""
    z = model.taesd_encoder(x)
    y = model.taesd_decoder(z)
    w = torch.ones_like(x[:, :1]) if weight is None else weight
    err = y - x
    mse = (w * err.pow(2)).mean() / w.mean()
    loss = mse + 0.5 * (w * err.abs()).mean() / w.mean() + latent_weight * z.pow(2).mean()
    return loss, float(err.detach().pow(2).mean())


@torch.no_grad()
def held_out_psnr(model: torch.nn.Module, images: torch.Tensor, batch: int = 16) -> float:
    """Mean per-image PSNR (dB) of decode(encode(x)) against x, [M,3,128,128] uint8, full images."""
    model.eval()
    psnrs = []
    for i in range(0, len(images), batch):
        x = images[i : i + batch].float() / 255
        y = model.taesd_decoder(model.taesd_encoder(x)).clamp(0, 1)
        mse = (y - x).pow(2).flatten(1).mean(1).clamp_min(1e-10)
        psnrs.append(10 * torch.log10(1 / mse))
    model.train()
    return float(torch.cat(psnrs).mean())


@torch.no_grad()
def lipstick_kept(model: torch.nn.Module, path: Path, limit: int = 48, held_out: bool = True) -> float:
    """How much of the synthetic lipstick's colour survives decode(encode(.)) on held-out (or, to choose
    between checkpoints, training) faces: mean over
    (plain, lipstick-only) pairs of (recon shift . true shift) / |true shift|^2, the mean Lab on the lips
    (1 = all of it, 0 = none)."""
    from scripts.nano.edit_metrics import mean_lab

    with np.load(path, allow_pickle=False) as f:
        face, edits, k = f["face"], f["edits"], list(f["regions"]).index("lips")
        rows = [
            i
            for i in np.flatnonzero(f["holdout"][face] == held_out)
            if edits[i].startswith("lipstick=") and ";" not in edits[i]
        ]
        plain = {int(face[i]): i for i in np.flatnonzero(edits == "")}
        pairs = [(plain[int(face[i])], i) for i in rows[:limit]]
        images = f["images"][np.array(pairs).reshape(-1)]
        lips = np.unpackbits(f["masks"][face[[e for _, e in pairs]], k], axis=-1)[..., :128].astype(bool)
    model.eval()
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    y = torch.cat([model.taesd_decoder(model.taesd_encoder(x[i : i + 16])) for i in range(0, len(x), 16)])
    y = y.clamp(0, 1).permute(0, 2, 3, 1).numpy()
    model.train()
    kept = []
    for j, region in enumerate(lips):
        true = mean_lab(images[2 * j + 1] / 255, region) - mean_lab(images[2 * j] / 255, region)
        seen = mean_lab(y[2 * j + 1], region) - mean_lab(y[2 * j], region)
        kept.append(float(seen @ true / max(float(true @ true), 1e-9)))
    return float(np.mean(kept))


def lr_at(step: int, args: argparse.Namespace) -> float:
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = min(1.0, (step - args.warmup) / max(1, args.total_steps - args.warmup))
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def train(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    model = build_taesd().train()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    if args.freeze_encoder:  # decoder-only: the latents (and a Flux trained on them) stay valid
        model.taesd_encoder.requires_grad_(False)
    state = {
        "step": 0,
        "history": {"step": [], "loss": [], "mse": [], "eval_step": [], "psnr": []},
        "seconds": 0.0,
        "seed": args.seed,
    }
    if args.resume and args.ckpt.is_file():
        state = load_checkpoint(args.ckpt, model, opt)
        print(f"resumed {args.ckpt} at step {state['step']}")
    train_images = load_images(args.data, held_out=False)
    if args.lips_weight:  # a 4th channel: the lips mask, so crops and flips move it with the image
        train_images = torch.cat([train_images, load_region(args.data, False, "lips")], 1)
    held = load_images(args.data, held_out=True, unedited_only=True)[: args.eval_images]
    g = torch.Generator().manual_seed(args.seed * 1_000_003 + state["step"])
    hist, t_start, t_ckpt = state["history"], time.time(), time.time()
    run_losses: list[float] = []
    bar = tqdm(total=args.total_steps, initial=state["step"], desc="nano AE", dynamic_ncols=True)
    while state["step"] < args.total_steps and time.time() - t_start < args.minutes * 60:
        for group in opt.param_groups:
            group["lr"] = lr_at(state["step"], args)
        t0 = time.time()
        x = random_batch(train_images, args.batch, args.crop, g)
        weight = 1 + args.lips_weight * F.max_pool2d(x[:, 3:], 5, 1, 2) if args.lips_weight else None
        loss, mse = ae_loss(model, x[:, :3], args.latent_weight, weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        state["step"] += 1
        state["seconds"] += time.time() - t0
        run_losses.append(float(loss.detach()))
        bar.update(1)
        bar.set_postfix(loss=f"{run_losses[-1]:.4f}", psnr_crop=f"{10 * math.log10(1 / max(mse, 1e-10)):.1f}")
        if state["step"] % args.log_every == 0:
            hist["step"].append(state["step"])
            hist["loss"].append(float(np.mean(run_losses)))
            run_losses = []
        if state["step"] % args.eval_every == 0:
            hist["eval_step"].append(state["step"])
            hist["psnr"].append(held_out_psnr(model, held))
            tqdm.write(
                f"step {state['step']}: held-out PSNR {hist['psnr'][-1]:.2f} dB "
                f"({state['seconds'] / state['step']:.2f} s/step)"
            )
        if time.time() - t_ckpt > args.ckpt_minutes * 60:
            save_all(args, model, opt, state)
            t_ckpt = time.time()
    save_all(args, model, opt, state)
    bar.close()


def save_all(args: argparse.Namespace, model: torch.nn.Module, opt, state: dict) -> None:
    save_checkpoint(args.ckpt, model, opt, state, torch.float32, first_moment=True)
    plot_history(
        state["history"], args.ckpt.parent / "nano_ae_training.png", "Nano TAESD autoencoder", "psnr"
    )


@torch.no_grad()
def export(args: argparse.Namespace) -> None:
    """Checkpoint -> TAESD-format fp16 safetensors with vae_scale/vae_shift from train latent statistics."""
    model = build_taesd().eval()
    state = load_checkpoint(args.ckpt, model, None)
    images = load_images(args.data, held_out=False, unedited_only=True)[:256].float() / 255
    z = torch.cat([model.taesd_encoder(images[i : i + 32]) for i in range(0, len(images), 32)])
    mean, std = float(z.mean()), float(z.std())
    # ComfyUI: latent = z / vae_scale + vae_shift; Flux's model input = (latent - 0.1159) * 0.3611.
    sd = {k: v.half() for k, v in model.state_dict().items() if k.startswith("taesd_")}
    sd["vae_scale"] = torch.tensor(FLUX_SCALE * std)
    sd["vae_shift"] = torch.tensor(FLUX_SHIFT - mean / (FLUX_SCALE * std))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(
        sd,
        str(args.out),
        metadata={
            "format": "taesd",
            "latent_channels": "16",
            "step": str(state["step"]),
            "latent_mean": f"{mean:.6f}",
            "latent_std": f"{std:.6f}",
        },
    )
    print(f"step {state['step']}: latent mean {mean:.4f} std {std:.4f} -> {args.out}")


def evaluate(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    model = build_taesd()
    state = load_checkpoint(args.ckpt, model, None)
    held = load_images(args.data, held_out=True, unedited_only=True)
    print(f"step {state['step']}: held-out PSNR {held_out_psnr(model, held):.2f} dB over {len(held)} faces")
    kept = lipstick_kept(model, args.data), lipstick_kept(model, args.data, held_out=False)
    print(f"lipstick colour kept on the lips (1 = all): held-out {kept[0]:.3f}, training faces {kept[1]:.3f}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--ckpt", type=Path, default=CKPT)
    ap.add_argument("--out", type=Path, default=EXPORT, help="--export target")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--export", action="store_true")
    ap.add_argument("--evaluate", action="store_true")
    ap.add_argument("--minutes", type=float, default=60.0, help="wall-clock budget of this run")
    ap.add_argument("--total-steps", type=int, default=6000, help="length of the LR schedule")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--latent-weight", type=float, default=1e-3)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--eval-images", type=int, default=48)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--freeze-encoder", action="store_true", help="train the decoder only (keeps latents)")
    ap.add_argument(
        "--lips-weight",
        type=float,
        default=0.0,
        help="extra loss weight on the lips (dilated 2 px): 1 + this",
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.export:
        export(args)
    elif args.evaluate:
        evaluate(args)
    else:
        train(args)


if __name__ == "__main__":
    main()
