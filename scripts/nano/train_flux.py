"""Train Nano's Flux (ComfyUI's `comfy.ldm.flux.model.Flux`, config sculptor.nano.NANO_FLUX) on the
latents of scripts/nano/encode_latents.py. Rectified flow, CPU, one thread, resumable.

    python -m scripts.nano.train_flux [--minutes 90] [--resume] [--batch 16]

Objective: x_t = (1 - s) x0 + s e, target v = e - x0 (ComfyUI's CONST/Flux convention, x0 = x_t - s v).
s = ComfyUI's Flux schedule shift (mu 1.15) of u, u ~ sigmoid(N(0,1)) (70%) or U(0,1) (30%), so training
covers the sigmas the default schedule visits. Text: MiniLM tokens + pooled (sculptor.nano), captions
from scripts/nano/captions.py with a random template and phrase order; caption dropout --drop (empty
prompt = the unconditional input). Guidance input, two phases:
  A (step < --distill-from): g ~ U(1, 5) with a g-independent target, so the model learns to ignore g;
  B (step >= --distill-from): half the rows keep g = 1 and the plain target; the other half get
     g ~ U(1.5, 5) and the target v_u + g (v_c - v_u) computed at g = 1 without gradient by a frozen
     teacher: a copy of the model as it was when phase B began (or when this run, resumed inside phase B,
     began). Distilled classifier-free guidance, as FLUX.1-dev's guidance input means a CFG scale.
     (Session 4 used the live model as its own teacher: held-out loss at g = 1 rose from 0.287 to 0.635
     within 500 steps, a feedback loop; the frozen teacher breaks it.)
Held-out (PASL's split, never trained on): flow-matching loss at fixed sigmas and noise, with the true
caption and with the empty one (their gap is how much the text helps).
"""

from __future__ import annotations

import argparse
import json
import math
import signal
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
from scripts.nano.build_dataset import parse_edits  # noqa: E402
from scripts.nano.captions import caption, random_caption  # noqa: E402
from scripts.nano.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from scripts.nano.comfy_env import ROOT  # noqa: E402
from scripts.nano.edits import phrase  # noqa: E402
from scripts.nano.encode_latents import DEFAULT_LATENTS  # noqa: E402
from scripts.nano.flux_model import build_flux, flux_time_shift, make_trainable, set_training_flag  # noqa: E402
from scripts.nano.plot import plot_history  # noqa: E402
from sculptor.nano import NANO_FLUX, nano_text_features  # noqa: E402

CKPT = ROOT / "nano_weights" / "checkpoints" / "nano_flux.ckpt.safetensors"
EXPORT = ROOT / "nano_weights" / "nano_flux.safetensors"
EVAL_SIGMAS = (0.3, 0.6, 0.9)


class TextCache:
    """caption -> (tokens [L,384], pooled [384]), encoded with MiniLM on first use."""

    def __init__(self) -> None:
        self.table: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def __call__(self, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        new = sorted({c for c in captions if c not in self.table})
        if new:
            tokens, pooled = nano_text_features(new)
            self.table.update({c: (t, p) for c, t, p in zip(new, tokens, pooled, strict=True)})
        return torch.stack([self.table[c][0] for c in captions]), torch.stack(
            [self.table[c][1] for c in captions]
        )


def load_latents(path: Path, held_out: bool) -> tuple[torch.Tensor, list[list[str]]]:
    """(latents [M,16,16,16] float32, caption phrases per row) of the train or held-out faces."""
    with np.load(path, allow_pickle=False) as f:
        keep = f["holdout"] == held_out
        phrases = [phrase(parse_edits(str(e))) for e in f["edits"][keep]]
        return torch.from_numpy(f["latents"][keep]).float(), phrases


def lips_weights(path: Path, held_out: bool, weight: float) -> torch.Tensor:
    """Per-latent-cell loss weights [M,1,16,16] of the rows of load_latents: 1 + `weight` on the cells the
    face's lips touch (the region masks of the images npz beside the latents, max-pooled to the latent
    grid). Lipstick lives on ~1% of the pixels, so an unweighted loss barely sees it."""
    with np.load(path, allow_pickle=False) as f:
        face = f["face"][f["holdout"] == held_out]
    with np.load(path.with_name("nano_faces.npz"), allow_pickle=False) as f:
        k = list(f["regions"]).index("lips")
        lips = np.unpackbits(f["masks"][:, k], axis=-1)[..., : f["images"].shape[2]]
    cells = F.max_pool2d(torch.from_numpy(lips).float()[:, None], 8)
    return 1 + weight * cells[torch.from_numpy(face).long()]


def sample_sigmas(n: int, g: torch.Generator) -> torch.Tensor:
    u = torch.where(
        torch.rand(n, generator=g) < 0.7,
        torch.sigmoid(torch.randn(n, generator=g)),
        torch.rand(n, generator=g),
    )
    return flux_time_shift(u.clamp(1e-4, 1 - 1e-4))


def velocity(
    model, x: torch.Tensor, sigma: torch.Tensor, text: tuple, guidance: torch.Tensor
) -> torch.Tensor:
    return model(x, sigma, text[0], y=text[1], guidance=guidance)


def distilled_target(model, xt, sigma, text, empty, guidance) -> torch.Tensor:
    """v_u + g (v_c - v_u) from the current model at guidance 1, no gradient. [B,16,h,w]"""
    with torch.no_grad():
        ones = torch.ones_like(guidance)
        v = velocity(
            model,
            torch.cat([xt, xt]),
            torch.cat([sigma, sigma]),
            (torch.cat([text[0], empty[0]]), torch.cat([text[1], empty[1]])),
            torch.cat([ones, ones]),
        )
        v_c, v_u = v.chunk(2)
        return v_u + guidance.view(-1, 1, 1, 1) * (v_c - v_u)


def frozen_copy(model: torch.nn.Module) -> torch.nn.Module:
    """The distillation teacher: the model's current weights in a fresh instance, eval mode, no grad."""
    teacher = build_flux(NANO_FLUX)
    teacher.load_state_dict(model.state_dict())
    return teacher.eval().requires_grad_(False)


def train_step(
    model, batch: tuple, texts: TextCache, args, step: int, g: torch.Generator, teacher=None
) -> torch.Tensor:
    """One rectified-flow loss on a batch (x0 [B,16,h,w], phrases, optional loss weights [B,1,h,w]) ->
    scalar loss; phase B's distilled rows take their targets from `teacher` (required from
    --distill-from on)."""
    x0, phrases, *weight = batch
    b = len(x0)
    rng = np.random.default_rng(int(torch.randint(2**31, (1,), generator=g)))
    caps = ["" if rng.random() < args.drop else random_caption(p, rng) for p in phrases]
    text, empty = texts(caps), texts([""] * b)
    sigma = sample_sigmas(b, g)
    noise = torch.randn(x0.shape, generator=g)
    xt = (1 - sigma.view(-1, 1, 1, 1)) * x0 + sigma.view(-1, 1, 1, 1) * noise
    target = noise - x0
    guidance = 1 + 4 * torch.rand(b, generator=g)
    if step >= args.distill_from:
        half = b // 2
        guidance[:half] = 1.0
        guidance[half:] = 1.5 + 3.5 * torch.rand(b - half, generator=g)
        sl = slice(half, b)
        target[sl] = distilled_target(
            teacher, xt[sl], sigma[sl], (text[0][sl], text[1][sl]), (empty[0][sl], empty[1][sl]), guidance[sl]
        )
    err = (velocity(model, xt, sigma, text, guidance) - target).pow(2)
    if not weight:
        return err.mean()
    return (weight[0] * err).mean() / weight[0].mean()


@torch.no_grad()
def held_out_loss(
    model, latents: torch.Tensor, phrases: list[list[str]], texts: TextCache
) -> tuple[float, float]:
    """Mean flow loss over EVAL_SIGMAS with fixed noise: (true caption, empty caption)."""
    g = torch.Generator().manual_seed(1234)
    noise = torch.randn(latents.shape, generator=g)
    cond = texts([caption(p) for p in phrases])
    empty = texts([""] * len(latents))
    ones = torch.ones(len(latents))
    out = []
    for text in (cond, empty):
        total = 0.0
        for s in EVAL_SIGMAS:
            xt = (1 - s) * latents + s * noise
            total += float(
                F.mse_loss(velocity(model, xt, torch.full_like(ones, s), text, ones), noise - latents)
            )
        out.append(total / len(EVAL_SIGMAS))
    return out[0], out[1]


def evaluate_into(state: dict, model, held: tuple, texts: TextCache) -> None:
    """Held-out losses appended to state["history"] and printed."""
    cond, empty = held_out_loss(model, held[0], held[1], texts)
    hist = state["history"]
    hist["eval_step"].append(state["step"])
    hist["held_out"].append(cond)
    hist["held_out_empty"].append(empty)
    tqdm.write(
        f"step {state['step']}: held-out loss {cond:.4f} (empty caption {empty:.4f}), "
        f"{state['seconds'] / state['step']:.2f} s/step"
    )


def lr_at(step: int, args: argparse.Namespace) -> float:
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = min(1.0, (step - args.warmup) / max(1, args.total_steps - args.warmup))
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def train(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    model = build_flux(NANO_FLUX, seed=args.seed).train()
    hooks = make_trainable(model)
    set_training_flag(True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    state = {
        "step": 0,
        "seconds": 0.0,
        "config": NANO_FLUX,
        "history": {"step": [], "loss": [], "eval_step": [], "held_out": [], "held_out_empty": []},
    }
    if args.resume and args.ckpt.is_file():
        state = load_checkpoint(args.ckpt, model, opt)
        print(f"resumed {args.ckpt} at step {state['step']}")
    latents, phrases = load_latents(args.data, held_out=False)
    held, held_phrases = load_latents(args.data, held_out=True)
    weights = lips_weights(args.data, False, args.lips_weight) if args.lips_weight else None
    pick = np.linspace(0, len(held) - 1, min(args.eval_rows, len(held))).astype(int)
    held, held_phrases = held[pick], [held_phrases[i] for i in pick]
    texts, g = TextCache(), torch.Generator().manual_seed(args.seed * 1_000_003 + state["step"])
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    hist, t_start, t_ckpt, run, teacher = state["history"], time.time(), time.time(), [], None
    bar = tqdm(total=args.total_steps, initial=state["step"], desc="nano flux", dynamic_ncols=True)
    while state["step"] < args.total_steps and time.time() - t_start < args.minutes * 60 and not stop["now"]:
        for group in opt.param_groups:
            group["lr"] = lr_at(state["step"], args)
        t0 = time.time()
        idx = torch.randint(len(latents), (args.batch,), generator=g)
        if state["step"] >= args.distill_from and teacher is None:
            teacher = frozen_copy(model)
        batch = (latents[idx], [phrases[i] for i in idx]) + (() if weights is None else (weights[idx],))
        loss = train_step(model, batch, texts, args, state["step"], g, teacher)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state["step"] += 1
        state["seconds"] += time.time() - t0
        run.append(float(loss.detach()))
        bar.update(1)
        bar.set_postfix(loss=f"{run[-1]:.4f}")
        if state["step"] % args.log_every == 0:
            hist["step"].append(state["step"])
            hist["loss"].append(float(np.mean(run)))
            run = []
        if state["step"] % args.eval_every == 0:
            evaluate_into(state, model, (held, held_phrases), texts)
        if time.time() - t_ckpt > args.ckpt_minutes * 60:
            save_all(args, model, opt, state)
            t_ckpt = time.time()
    save_all(args, model, opt, state)
    bar.close()
    for h in hooks:
        h.remove()
    set_training_flag(False)


def save_all(args: argparse.Namespace, model: torch.nn.Module, opt, state: dict) -> None:
    save_checkpoint(args.ckpt, model, opt, state, torch.float16, first_moment=False)
    plot_history(
        state["history"],
        args.ckpt.parent / "nano_flux_training.png",
        "Nano Flux (rectified flow)",
        "held_out",
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_LATENTS)
    ap.add_argument("--ckpt", type=Path, default=CKPT)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--export", action="store_true", help="write the shipped weights (--out) and exit")
    ap.add_argument("--out", type=Path, default=EXPORT)
    ap.add_argument("--minutes", type=float, default=90.0, help="wall-clock budget of this run")
    ap.add_argument("--total-steps", type=int, default=6000, help="length of the LR schedule")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--drop", type=float, default=0.1, help="caption dropout probability")
    ap.add_argument("--distill-from", type=int, default=2000, help="first step of guidance self-distillation")
    ap.add_argument(
        "--lips-weight", type=float, default=0.0, help="extra loss weight on the lips' latent cells: 1 + this"
    )
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--eval-rows", type=int, default=48)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args(argv)


def export(args: argparse.Namespace) -> None:
    """Checkpoint -> the shipped file: diffusion-model state dict in float16, config in the metadata."""
    model = build_flux(NANO_FLUX)
    state = load_checkpoint(args.ckpt, model, None)
    sd = {k: v.half().contiguous() for k, v in model.state_dict().items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(
        sd,
        str(args.out),
        metadata={"config": json.dumps(state.get("config", NANO_FLUX)), "step": str(state["step"])},
    )
    print(f"step {state['step']} -> {args.out}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    export(args) if args.export else train(args)


if __name__ == "__main__":
    main()
