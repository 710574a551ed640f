"""Train PASL on the region masks of scripts/build_pasl_dataset.py (CPU, resumable).

    python scripts/train_pasl.py [--epochs 32] [--resolution 256] [--threads 1] [--resume]
    python scripts/train_pasl.py --benchmark        # seconds per training image at 256 and 512

Loss: BCE + Dice (paper eq. 7-9) on the logits upsampled to the input size. AdamW (wd 2e-2; the paper's
lr is 1e-4, our default 5e-4 converges faster on this CPU budget), linear warm-up then cosine decay.
One image forward pass supervises all 18 regions (one random training phrasing per region and image,
wrapped in a random neutral template; text features are encoded once and cached, plus Gaussian noise).
Each epoch writes a checkpoint (model + AdamW tensors as safetensors, the rest as JSON), a PNG of
loss and held-out IoU, and at the end the fp16 weights with the model card facts in their metadata.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tqdm import tqdm

if __package__:  # python -m scripts.NAME
    from scripts.repo_paths import PASL_DATA, SHIPPED_WEIGHTS, fail
else:  # python scripts/NAME.py
    from repo_paths import PASL_DATA, SHIPPED_WEIGHTS, fail
from scripts.evaluate_pasl import (
    DEFAULT_DATA,
    evaluate,
    images_to_input,
    load_dataset,
    mean_iou,
    prompt_table,
)
from scripts.pasl_regions import REGIONS, TRAIN_PROMPTS
from sculptor.pasl import PASL, PASLConfig, load_pasl, read_metadata, save_pasl
from sculptor.text_features import ENCODER_DIMS, get_encoder

CACHE = PASL_DATA.parents[1] / "pasl_train"
# Text augmentation: every training phrasing is also encoded inside these neutral wrappers, so the
# projector sees many nearby text vectors per region instead of 11 isolated points.
TEMPLATES = ("{}", "{} in the portrait", "a photo of {}", "edit: {}", "{}, please", "portrait, {}")


def template_prompts() -> dict[str, tuple[str, ...]]:
    return {r: tuple(t.format(p) for p in TRAIN_PROMPTS[r] for t in TEMPLATES) for r in REGIONS}


def noisy_text(text: torch.Tensor, sigma: float, g: torch.Generator) -> torch.Tensor:
    """Unit text vectors [...,D] plus Gaussian noise of expected norm `sigma` (about atan(sigma) of angle)."""
    text = F.normalize(text, dim=-1)
    return text + sigma * torch.randn(text.shape, generator=g) / math.sqrt(text.shape[-1])


def dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Soft Dice (paper eq. 8) per mask, averaged: logits, target [B,R,H,W] -> scalar."""
    p = logits.sigmoid()
    num = 2 * (p * target).sum((-2, -1)) + eps
    den = p.sum((-2, -1)) + target.sum((-2, -1)) + eps
    return (1 - num / den).mean()


def pasl_loss(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Paper eq. 9: L = L_BCE (eq. 7) + L_Dice (eq. 8). Returns (total, bce, dice)."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    dice = dice_loss(logits, target)
    return bce + dice, bce, dice


def lr_at(step: int, total: int, base: float, warmup: int, progress: float = 0.0) -> float:
    """Linear warm-up, then cosine decay over max(step progress, `progress`) (e.g. of a time budget)."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = max((step - warmup) / max(1, total - warmup), progress)
    return 0.5 * base * (1 + math.cos(math.pi * min(1.0, t)))


def augment(x: torch.Tensor, y: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Same random flip + affine (scale 0.9-1.1, shift 6%, rotation 8 deg) on images x [B,3,H,W] and
    targets y [B,R,H,W]; colour jitter on x. All 18 regions are left/right symmetric, so flips are safe."""
    b = x.shape[0]
    r = lambda lo, hi: lo + (hi - lo) * torch.rand(b, generator=g)  # noqa: E731
    s, ang = r(0.9, 1.1), r(-8, 8) * math.pi / 180
    flip = torch.where(torch.rand(b, generator=g) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = flip * torch.cos(ang) / s, -torch.sin(ang) / s
    theta[:, 1, 0], theta[:, 1, 1] = flip * torch.sin(ang) / s, torch.cos(ang) / s
    theta[:, 0, 2], theta[:, 1, 2] = r(-0.12, 0.12), r(-0.12, 0.12)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    y = F.grid_sample(y, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    mean = x.mean((1, 2, 3), keepdim=True)
    x = (x - mean) * r(0.8, 1.2).view(b, 1, 1, 1) + mean * r(0.8, 1.2).view(b, 1, 1, 1)
    grey = x.mean(1, keepdim=True)
    x = grey + (x - grey) * r(0.7, 1.3).view(b, 1, 1, 1)
    return x.clamp(0, 1), y


def prepare(data: dict[str, np.ndarray], resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Training images uint8 [N,3,h,w] and soft targets uint8 [N,18,h,w] (x255) at the input size."""
    idx = np.flatnonzero(~data["holdout"])
    xs, ys = [], []
    for i in range(0, len(idx), 64):
        sl = idx[i : i + 64]
        x = images_to_input(data["images"][sl], resolution)
        y = F.interpolate(
            torch.from_numpy(data["masks"][sl]).float(),
            size=x.shape[-2:],
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )
        xs.append((x * 255).round().to(torch.uint8))
        ys.append((y * 255).round().to(torch.uint8))
    return torch.cat(xs), torch.cat(ys)


def save_checkpoint(model: PASL, opt: torch.optim.AdamW, state: dict, folder: Path) -> None:
    tensors = {f"model.{k}": v.contiguous() for k, v in model.state_dict().items()}
    for i, st in opt.state_dict()["state"].items():
        for k, v in st.items():
            tensors[f"opt.{i}.{k}"] = torch.as_tensor(v).contiguous()
    state = {**state, "param_groups": opt.state_dict()["param_groups"]}
    save_file(tensors, str(folder / "last.tmp.safetensors"))
    (folder / "last.tmp.json").write_text(json.dumps(state, indent=1))
    (folder / "last.tmp.safetensors").replace(folder / "last.safetensors")
    (folder / "last.tmp.json").replace(folder / "last.json")


def load_checkpoint(model: PASL, opt: torch.optim.AdamW, folder: Path) -> dict:
    tensors = load_file(str(folder / "last.safetensors"))
    state = json.loads((folder / "last.json").read_text())
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    opt_state: dict[int, dict[str, torch.Tensor]] = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, i, name = k.split(".", 2)
            opt_state.setdefault(int(i), {})[name] = v
    opt.load_state_dict({"state": opt_state, "param_groups": state.pop("param_groups")})
    return state


def plot(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.plot(ep, [h["loss"] for h in history], label="BCE + Dice")
    a.plot(ep, [h["bce"] for h in history], label="BCE")
    a.plot(ep, [h["dice"] for h in history], label="Dice")
    a.set_xlabel("epoch"), a.set_title("training loss"), a.legend()
    b.plot(ep, [h["iou_train"] for h in history], label="training prompts")
    b.plot(ep, [h["iou_unseen"] for h in history], label="unseen paraphrases")
    b.set_xlabel("epoch"), b.set_title("held-out mean IoU @0.5"), b.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def benchmark(threads: int) -> None:
    """Seconds per training image (forward + backward + AdamW step), fp32 and bf16 autocast."""
    torch.set_num_threads(threads)
    model = PASL(PASLConfig())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    for res in (256, 512):
        h, w = res, res * 208 // 256
        for bf16 in (False, True):
            x, t = torch.rand(4, 3, h, w), torch.randn(4, len(REGIONS), 384)
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    lo = model(x, t)
                loss = F.interpolate(lo.float(), size=(h, w), mode="bilinear").sigmoid().mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                times.append((time.perf_counter() - t0) / 4)
            print(f"input {h}x{w}, threads {threads}, bf16 {bf16}: {min(times[1:]):.3f} s/image", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--encoder", default="minilm", choices=sorted(ENCODER_DIMS))
    ap.add_argument("--resolution", type=int, default=256, help="longer input side (multiple of 8)")
    ap.add_argument("--epochs", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--wd", type=float, default=2e-2)
    ap.add_argument("--warmup", type=int, default=100, help="linear warm-up steps before the cosine")
    ap.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="bfloat16 autocast for the CNN (about 2x faster on AVX512-BF16 CPUs)",
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--time-budget",
        type=float,
        default=0.0,
        help="seconds (wall clock, all runs of a resumed training): the cosine then runs over "
        "whichever of steps or time is further along, and training stops when it ends",
    )
    ap.add_argument("--eval-limit", type=int, default=50, help="held-out images for the per-epoch IoU")
    ap.add_argument(
        "--text-noise",
        type=float,
        default=0.4,
        help="norm of the Gaussian noise added to the unit text vector each step (0: off)",
    )
    ap.add_argument("--no-templates", action="store_true", help="train on the bare phrasings only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=CACHE)
    ap.add_argument("--out", type=Path, default=SHIPPED_WEIGHTS)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="start a new training round from these PASL weights (fresh AdamW and schedule); "
        "with --resume, a checkpoint already in --workdir wins, so give each round its own",
    )
    ap.add_argument("--benchmark", action="store_true")
    args = ap.parse_args()
    if args.benchmark:
        return benchmark(args.threads)
    torch.set_num_threads(args.threads)
    args.workdir.mkdir(parents=True, exist_ok=True)
    data = load_dataset(args.data)
    encoder = get_encoder(args.encoder)
    text, region_of = prompt_table(encoder, TRAIN_PROMPTS if args.no_templates else template_prompts())
    counts = torch.bincount(region_of, minlength=len(REGIONS))
    offsets = torch.cumsum(counts, 0) - counts
    xs, ys = prepare(data, args.resolution)
    n = len(xs)
    steps_per_epoch = n // args.batch
    total = steps_per_epoch * args.epochs
    torch.manual_seed(args.seed)
    model = PASL(
        PASLConfig(encoder=args.encoder, text_dim=ENCODER_DIMS[args.encoder], resolution=args.resolution)
    )
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.wd)
    state = {"epoch": 0, "step": 0, "train_seconds": 0.0, "wall_seconds": 0.0, "history": []}
    if args.init_from is not None:
        init = load_pasl(args.init_from, encoder=args.encoder)
        if init.config != model.config:
            fail(f"{args.init_from} has config {init.config}, this run wants {model.config}")
        model.load_state_dict(init.state_dict())
        meta = read_metadata(args.init_from)
        before = f", itself from {meta['init_from']}" if "init_from" in meta else ""
        state["init_from"] = f"{args.init_from.name} (epochs {meta.get('epochs', '?')}{before})"
    if args.resume and (args.workdir / "last.json").is_file():
        state = load_checkpoint(model, opt, args.workdir)
        print(f"resumed at epoch {state['epoch']}, step {state['step']}", flush=True)
    print(
        f"{n} training images at {tuple(xs.shape[-2:])}, {steps_per_epoch} steps/epoch, "
        f"{args.epochs} epochs, threads {args.threads}, bf16 {args.bf16}",
        flush=True,
    )
    run_start, wall_before = time.time(), state["wall_seconds"]

    def time_progress() -> float:
        return (wall_before + time.time() - run_start) / args.time_budget if args.time_budget else 0.0

    for epoch in range(state["epoch"], args.epochs):
        if time_progress() >= 1:
            break
        model.train()
        g = torch.Generator().manual_seed(args.seed * 100003 + epoch)
        perm = torch.randperm(n, generator=g)
        sums = np.zeros(3)
        t0 = time.time()
        bar = tqdm(
            range(steps_per_epoch), desc=f"epoch {epoch + 1}/{args.epochs}", mininterval=20, file=sys.stdout
        )
        done = 0
        for k in bar:
            if time_progress() >= 1:
                break
            sl = perm[k * args.batch : (k + 1) * args.batch]
            x, y = augment(xs[sl].float() / 255, ys[sl].float() / 255, g)
            pick = offsets + (torch.rand(len(sl), len(REGIONS), generator=g) * counts).long()
            for group in opt.param_groups:
                group["lr"] = lr_at(state["step"], total, args.lr, args.warmup, time_progress())
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                logits = model(x, noisy_text(text[pick], args.text_noise, g))
            logits = F.interpolate(logits.float(), size=y.shape[-2:], mode="bilinear", align_corners=False)
            loss, bce, dice = pasl_loss(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            state["step"] += 1
            done += 1
            sums += [loss.item(), bce.item(), dice.item()]
            lr = opt.param_groups[0]["lr"]
            bar.set_postfix(loss=f"{sums[0] / done:.4f}", lr=f"{lr:.2e}", refresh=False)
        bar.close()
        state["train_seconds"] += time.time() - t0
        model.eval()
        res = mean_iou(evaluate(model, data, encoder, limit=args.eval_limit, refine=False))
        mean = sums / max(done, 1)
        state["history"].append(
            {
                "epoch": epoch + 1,
                "steps": done,
                "loss": mean[0],
                "bce": mean[1],
                "dice": mean[2],
                "iou_train": res["train"],
                "iou_unseen": res["unseen"],
                "epoch_seconds": time.time() - t0,
            }
        )
        state["epoch"] = epoch + 1
        state["wall_seconds"] = wall_before + time.time() - run_start
        save_checkpoint(model, opt, state, args.workdir)
        plot(state["history"], args.workdir / "pasl_training.png")
        print(
            f"epoch {epoch + 1}: loss {mean[0]:.4f} (bce {mean[1]:.4f}, dice {mean[2]:.4f}), held-out "
            f"IoU train prompts {res['train']:.3f}, unseen {res['unseen']:.3f}, "
            f"{time.time() - t0:.0f}s",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = state["history"][-1]["steps"] if state["history"] else 0
    epochs = str(state["epoch"])
    if partial < steps_per_epoch:
        epochs = f"{state['epoch'] - 1} + {partial}/{steps_per_epoch} steps"
    extra = {
        "epochs": epochs,
        "steps": str(state["step"]),
        "train_seconds": f"{state['train_seconds']:.0f}",
        "data": "CelebA 000001-000899",
    }
    if state.get("init_from"):
        extra["init_from"] = state["init_from"]
    save_pasl(model, args.out, extra=extra)
    if args.out.parent.resolve() != args.workdir.resolve():
        shutil.copy(args.workdir / "pasl_training.png", args.out.with_name("pasl_training.png"))
    (args.out.with_name("pasl_training_history.json")).write_text(json.dumps(state["history"], indent=1))
    print(
        f"wrote {args.out} after {state['epoch']} epochs, {state['train_seconds']:.0f}s of training",
        flush=True,
    )


if __name__ == "__main__":
    main()
