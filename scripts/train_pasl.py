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
from scripts import ddp
from scripts.evaluate_pasl import (
    DEFAULT_DATA,
    evaluate,
    images_to_input,
    load_dataset,
    mean_iou,
    prompt_table,
)
from scripts.pasl_regions import REGIONS, TRAIN_PROMPTS
from scripts.photo_composites import background_bank, head_alpha, like_pipeline_crops
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


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_optimisation_args(ap)
    add_budget_and_sampling_args(ap)
    add_file_args(ap)
    return ap.parse_args()


def add_optimisation_args(ap: argparse.ArgumentParser) -> None:
    """Data, text encoder, input size and the AdamW schedule."""
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--encoder", default="minilm", choices=sorted(ENCODER_DIMS))
    ap.add_argument("--resolution", type=int, default=256, help="longer input side (multiple of 8)")
    ap.add_argument("--epochs", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8, help="images per step and process")
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


def add_budget_and_sampling_args(ap: argparse.ArgumentParser) -> None:
    """When training stops, what the per-epoch evaluation sees and how prompts and images are sampled."""
    ap.add_argument(
        "--time-budget",
        type=float,
        default=0.0,
        help="seconds (wall clock, all runs of a resumed training): the cosine then runs over "
        "whichever of steps or time is further along, and training stops when it ends",
    )
    ap.add_argument(
        "--eval-limit",
        type=int,
        default=50,
        help="held-out images for the per-epoch IoU (0: no per-epoch evaluation)",
    )
    ap.add_argument(
        "--text-noise",
        type=float,
        default=0.4,
        help="norm of the Gaussian noise added to the unit text vector each step (0: off)",
    )
    ap.add_argument("--no-templates", action="store_true", help="train on the bare phrasings only")
    ap.add_argument(
        "--phrasings",
        type=int,
        default=0,
        help="only the first N phrasings of each region (0: all; for smoke tests)",
    )
    ap.add_argument(
        "--composite-share",
        type=float,
        default=0.0,
        help="share of each batch shown as whole-photo crops: background swapped, face seen at "
        "1-4x lower resolution (scripts/photo_composites.py like_pipeline_crops)",
    )
    ap.add_argument("--max-steps", type=int, default=0, help="stop after N steps in all (0: no limit)")
    ap.add_argument("--seed", type=int, default=0)


def add_file_args(ap: argparse.ArgumentParser) -> None:
    """Checkpoints, output weights, resuming and the benchmark mode."""
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


def training_prompts(args: argparse.Namespace) -> dict[str, tuple[str, ...]]:
    base = {r: TRAIN_PROMPTS[r][: args.phrasings or None] for r in REGIONS}
    return (
        base
        if args.no_templates
        else {r: tuple(t.format(p) for p in base[r] for t in TEMPLATES) for r in REGIONS}
    )


def start_state(args: argparse.Namespace, model: PASL, opt: torch.optim.AdamW) -> dict:
    """A fresh state (from --init-from if given) or the --resume checkpoint of --workdir."""
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
    return state


def train_step(
    net: torch.nn.Module,
    opt: torch.optim.AdamW,
    x: torch.Tensor,
    y: torch.Tensor,
    txt: torch.Tensor,
    bf16: bool,
) -> np.ndarray:
    """One AdamW step on images x [B,3,H,W], targets y [B,18,H,W], text [B,18,D] -> (loss, bce, dice)."""
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
        logits = net(x, txt)
    logits = F.interpolate(logits.float(), size=y.shape[-2:], mode="bilinear", align_corners=False)
    loss, bce, dice = pasl_loss(logits, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return np.array([loss.item(), bce.item(), dice.item()])


def write_weights(args: argparse.Namespace, model: PASL, state: dict, steps_per_epoch: int) -> None:
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
    if args.composite_share:
        extra["composite_share"] = str(args.composite_share)
    if state.get("init_from"):
        extra["init_from"] = state["init_from"]
    save_pasl(model.cpu(), args.out, extra=extra)
    if args.out.parent.resolve() != args.workdir.resolve() and (args.workdir / "pasl_training.png").is_file():
        shutil.copy(args.workdir / "pasl_training.png", args.out.with_name("pasl_training.png"))
    (args.out.with_name("pasl_training_history.json")).write_text(json.dumps(state["history"], indent=1))
    print(
        f"wrote {args.out} after {state['epoch']} epochs, {state['train_seconds']:.0f}s of training",
        flush=True,
    )


class Batches:
    """Each process's training batches: images and region targets of `prepare`, one random phrasing per
    region (encoded once, then noised), whole-photo composites for --composite-share of each batch."""

    def __init__(self, args: argparse.Namespace, data: dict[str, np.ndarray], encoder: object, d: ddp.Dist):
        self.args, self.d = args, d
        self.text, region_of = prompt_table(encoder, training_prompts(args))
        self.counts = torch.bincount(region_of, minlength=len(REGIONS))
        self.offsets = torch.cumsum(self.counts, 0) - self.counts
        self.xs, self.ys = prepare(data, args.resolution)
        self.bank = None
        if args.composite_share:
            few = np.flatnonzero(~data["holdout"])[:100]
            self.bank = background_bank(data["images"][few], head_alpha(torch.from_numpy(data["masks"][few])))

    def get(
        self, perm: torch.Tensor, k: int, g: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Step k's batch of this process from the epoch's permutation: (x [B,3,H,W], y [B,18,H,W] 0..1,
        text [B,18,D]), on the process's device."""
        args, d = self.args, self.d
        sl = perm[(k * d.world + d.rank) * args.batch : (k * d.world + d.rank + 1) * args.batch]
        x, y = self.xs[sl].float() / 255, self.ys[sl].float() / 255
        if self.bank is not None:
            x = like_pipeline_crops(x, y, self.bank, g, args.composite_share)
        x, y = augment(x, y, g)
        pick = self.offsets + (torch.rand(len(sl), len(REGIONS), generator=g) * self.counts).long()
        txt = noisy_text(self.text[pick], args.text_noise, g)
        return x.to(d.device), y.to(d.device), txt.to(d.device)


class Budget:
    """When training stops (--time-budget seconds of wall clock over all runs, or --max-steps), and how
    far along the time budget is (the cosine follows whichever of steps or time is further)."""

    def __init__(self, args: argparse.Namespace, state: dict, d: ddp.Dist):
        self.args, self.state, self.d = args, state, d
        self.run_start, self.wall_before = time.time(), state["wall_seconds"]

    def wall_seconds(self) -> float:
        """Wall clock of this run and the runs it resumes."""
        return self.wall_before + time.time() - self.run_start

    def spent(self) -> bool:
        """True on every process once any of them ran out of time or steps."""
        args = self.args
        spent = args.time_budget and self.wall_seconds() >= args.time_budget
        return ddp.agree(bool(spent) or (args.max_steps > 0 and self.state["step"] >= args.max_steps), self.d)

    def time_progress(self) -> float:
        return self.wall_seconds() / self.args.time_budget if self.args.time_budget else 0.0


def build_training(
    args: argparse.Namespace, d: ddp.Dist
) -> tuple[PASL, torch.optim.AdamW, dict, torch.nn.Module]:
    """(model seeded with --seed, AdamW, the start state, the model on the process's device wrapped for
    DDP); the state and weights come from --init-from or the --resume checkpoint when given."""
    torch.manual_seed(args.seed)
    model = PASL(
        PASLConfig(encoder=args.encoder, text_dim=ENCODER_DIMS[args.encoder], resolution=args.resolution)
    )
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.wd)
    state = start_state(args, model, opt)
    return model, opt, state, ddp.wrap(model.to(d.device), d)


def epoch_order(seed: int, epoch: int, n: int, rank: int) -> tuple[torch.Tensor, torch.Generator]:
    """(the epoch's permutation of the n images, the same on every process; this process's generator
    for augmentation and sampling)."""
    g = torch.Generator().manual_seed(seed * 100003 + epoch)
    perm = torch.randperm(n, generator=g)
    g.manual_seed(seed * 100003 + epoch * 7919 + rank)
    return perm, g


def main() -> None:
    """Single process, or one of torchrun's processes (scripts/ddp.py): each takes its share of every
    epoch's permutation, DDP averages the gradients, process 0 evaluates and writes checkpoints."""
    args = parse_args()
    if args.benchmark:
        return benchmark(args.threads)
    torch.set_num_threads(args.threads)
    d = ddp.setup()
    args.workdir.mkdir(parents=True, exist_ok=True)
    data = load_dataset(args.data)
    encoder = get_encoder(args.encoder)
    batches = Batches(args, data, encoder, d)
    n = len(batches.xs)
    steps_per_epoch = n // (args.batch * d.world)
    total = steps_per_epoch * args.epochs
    model, opt, state, net = build_training(args, d)
    if d.main:
        print(
            f"{n} training images at {tuple(batches.xs.shape[-2:])}, {steps_per_epoch} steps/epoch x "
            f"{d.world} process(es), {args.epochs} epochs, threads {args.threads}, bf16 {args.bf16}",
            flush=True,
        )
    budget = Budget(args, state, d)
    for epoch in range(state["epoch"], args.epochs):
        if budget.spent():
            break
        model.train()
        perm, g = epoch_order(args.seed, epoch, n, d.rank)
        sums, done, t0 = np.zeros(3), 0, time.time()
        bar = tqdm(
            range(steps_per_epoch),
            desc=f"epoch {epoch + 1}/{args.epochs}",
            mininterval=20,
            file=sys.stdout,
            disable=not d.main,
        )
        for k in bar:
            if budget.spent():
                break
            x, y, txt = batches.get(perm, k, g)
            for group in opt.param_groups:
                group["lr"] = lr_at(state["step"], total, args.lr, args.warmup, budget.time_progress())
            sums += train_step(net, opt, x, y, txt, args.bf16)
            state["step"] += 1
            done += 1
            bar.set_postfix(
                loss=f"{sums[0] / done:.4f}", lr=f"{opt.param_groups[0]['lr']:.2e}", refresh=False
            )
        bar.close()
        state["train_seconds"] += time.time() - t0
        mean = ddp.mean_over_ranks((sums / max(done, 1)).tolist(), d)
        state["epoch"] = epoch + 1
        state["wall_seconds"] = budget.wall_seconds()
        if d.main:
            end_epoch(args, model, opt, data, encoder, state, mean, done, t0)
        ddp.barrier(d)
    if d.main:
        write_weights(args, model, state, steps_per_epoch)
    ddp.cleanup(d)


def end_epoch(
    args: argparse.Namespace,
    model: PASL,
    opt: torch.optim.AdamW,
    data: dict[str, np.ndarray],
    encoder: object,
    state: dict,
    mean: list[float],
    done: int,
    t0: float,
) -> None:
    """Process 0 after each epoch: held-out IoU (single pass, --eval-limit images), history, checkpoint."""
    model.eval()
    res = {"train": float("nan"), "unseen": float("nan")}
    if args.eval_limit:
        res = mean_iou(evaluate(model, data, encoder, limit=args.eval_limit, refine=False))
    state["history"].append(
        {
            "epoch": state["epoch"],
            "steps": done,
            "loss": mean[0],
            "bce": mean[1],
            "dice": mean[2],
            "iou_train": res["train"],
            "iou_unseen": res["unseen"],
            "epoch_seconds": time.time() - t0,
        }
    )
    save_checkpoint(model, opt, state, args.workdir)
    plot(state["history"], args.workdir / "pasl_training.png")
    print(
        f"epoch {state['epoch']}: loss {mean[0]:.4f} (bce {mean[1]:.4f}, dice {mean[2]:.4f}), held-out "
        f"IoU train prompts {res['train']:.3f}, unseen {res['unseen']:.3f}, {time.time() - t0:.0f}s",
        flush=True,
    )


if __name__ == "__main__":
    main()
