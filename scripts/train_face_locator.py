"""Train the face locator (sculptor/face_locator.py) on composites of the training-split CelebA faces.

    nice -n 15 python scripts/train_face_locator.py --time-budget 3600 --resume      # 1 CPU thread
    torchrun --nproc_per_node 2 scripts/train_face_locator.py --steps 4 --batch 2 ...  # DDP (gloo / nccl)

Each step draws fresh photos (scripts/photo_composites.py): 0-4 faces, face box 0.8%-90% of the area,
rotation +-25 deg, on gradients, noise, stripes or background patches. Loss: CenterNet's focal loss on the
centre heatmap + L1 on offset, log width and (sin, cos) of the angle at each face's centre cell. Faces
000850-000899 are the locator's validation faces (never trained on), the PASL held-out faces (>= 000900)
are not touched. Checkpoints every --save-every seconds (resumable); the end writes --out.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch

if __package__:  # python -m scripts.NAME
    from scripts.repo_paths import PASL_DATA, ROOT
else:  # python scripts/NAME.py
    from repo_paths import PASL_DATA, ROOT
from scripts import ddp
from scripts.evaluate_pasl import load_dataset
from scripts.photo_composites import background, background_bank, compose, frame_for, head_alpha
from scripts.train_pasl import load_checkpoint, lr_at, save_checkpoint
from sculptor.face_frames import FaceFrame
from sculptor.face_locator import FaceLocator, LocatorConfig, find_frames, load_locator, save_locator

DEFAULT_OUT = ROOT / "pasl_weights" / "face_locator.safetensors"
SHAPES = ((6, 6), (5, 6), (6, 5), (4, 6), (6, 4))
"""Photo shapes (h, w) in units of resolution / 6 (multiples of 32 at the default 192)."""
VAL_FROM = "000850"


def face_layers(data: dict[str, np.ndarray], sel: np.ndarray) -> torch.Tensor:
    """uint8 [N,4,218,178]: RGB + head cut-out of the selected faces."""
    x = torch.from_numpy(data["images"][sel]).permute(0, 3, 1, 2)
    a = head_alpha(torch.from_numpy(data["masks"][sel]))
    return torch.cat([x, (a * 255).round().to(torch.uint8)], 1)


def sample_photo(
    faces: torch.Tensor, bank: torch.Tensor, g: torch.Generator, shape: tuple[int, int]
) -> tuple[torch.Tensor, list[FaceFrame]]:
    """One training photo [3,h,w] and the frames of its visible faces (centre not covered)."""
    h, w = shape
    n = int(torch.multinomial(torch.tensor([0.1, 0.55, 0.2, 0.1, 0.05]), 1, generator=g))
    frames, layers = [], []
    for _ in range(n):
        lo, hi = math.log(0.008), math.log(0.9 / n)
        area = math.exp(lo + (hi - lo) * float(torch.rand(1, generator=g)))
        fr = frame_for(area, 0.45, h, w, g, max_angle=25.0)
        face = faces[int(torch.randint(len(faces), (1,), generator=g))].float() / 255
        if float(torch.rand(1, generator=g)) < 0.5:
            face = face.flip(-1)
        frames.append(fr)
        layers.append(torch.cat([face, face[3:4]]))
    photo, vis = compose(
        torch.stack(layers) if layers else torch.zeros(0, 5, 218, 178), frames, background(h, w, bank, g)
    )
    keep = []
    for fr, v in zip(frames, vis, strict=True):
        i, j = int(min(max(fr.cy, 0), h - 1)), int(min(max(fr.cx, 0), w - 1))
        if 0 <= fr.cx < w and 0 <= fr.cy < h and float(v[0, i, j]) > 0.5:
            keep.append(fr)
    r = torch.rand(3, generator=g).tolist()
    photo = (photo - 0.5) * (0.7 + 0.6 * r[0]) + 0.5 + (r[1] - 0.5) * 0.2
    photo = photo + torch.randn(photo.shape, generator=g) * 0.03 * r[2]
    return photo.clamp(0, 1), keep


def targets(frames: list[FaceFrame], shape: tuple[int, int], resolution: int) -> torch.Tensor:
    """Training maps [7,h/8,w/8]: Gaussian centre heatmap (1 at the centre cell), offset x/y, log width,
    sin, cos, and a 0/1 weight of the cells that carry regression targets."""
    gh, gw = shape[0] // 8, shape[1] // 8
    t = torch.zeros(7, gh, gw)
    ii, jj = torch.meshgrid(torch.arange(gh).float(), torch.arange(gw).float(), indexing="ij")
    for fr in frames:
        u, v = fr.cx / 8 - 0.5, fr.cy / 8 - 0.5
        sigma = max(0.7, fr.width / 8 * 0.08)
        t[0] = torch.maximum(t[0], torch.exp(-((jj - u) ** 2 + (ii - v) ** 2) / (2 * sigma**2)))
        j, i = (
            min(max(int(math.floor(fr.cx / 8)), 0), gw - 1),
            min(max(int(math.floor(fr.cy / 8)), 0), gh - 1),
        )
        t[:, i, j] = torch.tensor(
            [1.0, u - j, v - i, math.log(fr.width / resolution), math.sin(fr.angle), math.cos(fr.angle), 1.0]
        )
    return t


def locator_loss(maps: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CenterNet focal loss (alpha 2, beta 4) + L1 regression at centre cells: maps [B,6,h,w], t [B,7,h,w]."""
    p = maps[:, 0].float().sigmoid().clamp(1e-4, 1 - 1e-4)
    pos = (t[:, 0] == 1).float()
    n = pos.sum().clamp_min(1)
    focal = -(pos * (1 - p) ** 2 * p.log() + (1 - pos) * (1 - t[:, 0]) ** 4 * p**2 * (1 - p).log()).sum() / n
    w = t[:, 6:7]
    reg = ((maps[:, 1:6].float() - t[:, 1:6]).abs() * w).sum() / n
    return focal + reg, focal, reg


def batch(
    faces: torch.Tensor, bank: torch.Tensor, g: torch.Generator, size: int, resolution: int
) -> tuple[torch.Tensor, torch.Tensor]:
    shape = SHAPES[int(torch.randint(len(SHAPES), (1,), generator=g))]
    shape = (shape[0] * resolution // 6, shape[1] * resolution // 6)
    xs, ts = [], []
    for _ in range(size):
        photo, frames = sample_photo(faces, bank, g, shape)
        xs.append(photo)
        ts.append(targets(frames, shape, resolution))
    return torch.stack(xs), torch.stack(ts)


@torch.no_grad()
def validate(model: FaceLocator, faces: torch.Tensor, bank: torch.Tensor, n: int = 60) -> dict[str, float]:
    """Recall / false faces per photo / median centre and width errors (relative to the frame width) on
    n fixed photos of the validation faces."""
    model.eval()
    g = torch.Generator().manual_seed(12345)
    found = total = false = 0
    errs, werrs = [], []
    for k in range(n):
        sh = SHAPES[k % len(SHAPES)]
        photo, frames = sample_photo(
            faces, bank, g, (sh[0] * model.config.resolution // 6, sh[1] * model.config.resolution // 6)
        )
        pred = find_frames(model, photo[None])[0]
        used = set()
        for fr in frames:
            best = min(
                (
                    (math.hypot(p.cx - fr.cx, p.cy - fr.cy) / fr.width, i)
                    for i, p in enumerate(pred)
                    if i not in used
                ),
                default=(9.0, -1),
            )
            total += 1
            if best[0] < 0.2:
                found += 1
                used.add(best[1])
                errs.append(best[0])
                werrs.append(abs(math.log(pred[best[1]].width / fr.width)))
        false += len(pred) - len(used)
    model.train()
    return {
        "recall": found / max(total, 1),
        "false_per_photo": false / n,
        "centre_err": float(np.median(errs)) if errs else 9.0,
        "width_err": float(np.median(werrs)) if werrs else 9.0,
    }


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=PASL_DATA)
    ap.add_argument("--resolution", type=int, default=192, help="longer photo side (multiple of 192)")
    ap.add_argument("--batch", type=int, default=12, help="photos per step and process")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--steps", type=int, default=20000, help="cosine length (steps, all processes together)")
    ap.add_argument("--time-budget", type=float, default=0.0, help="seconds of wall clock over all runs")
    ap.add_argument("--save-every", type=float, default=180.0, help="seconds between checkpoints")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="only the first N training faces (smoke tests)")
    ap.add_argument("--val-photos", type=int, default=60, help="validation photos per checkpoint")
    ap.add_argument("--workdir", type=Path, default=PASL_DATA.parents[1] / "face_locator_train")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="start from these locator weights (fresh AdamW and schedule); a --resume checkpoint wins",
    )
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args()


def split_photos(data: dict[str, np.ndarray], limit: int) -> tuple[np.ndarray, np.ndarray]:
    """(training, validation) image indices: non-held-out faces before / from VAL_FROM; --limit keeps the
    first N training faces and a quarter as many (at least 2) validation faces."""
    train = np.flatnonzero(~data["holdout"] & (data["names"] < VAL_FROM))
    val = np.flatnonzero(~data["holdout"] & (data["names"] >= VAL_FROM))
    if limit:
        train, val = train[:limit], val[: max(2, limit // 4)]
    if not len(val):
        val = train[-1:]
    return train, val


def start_model(args: argparse.Namespace, d: ddp.Dist) -> tuple[FaceLocator, torch.optim.AdamW, dict]:
    """(model seeded with --seed on the process's device, AdamW, the start state); weights from
    --init-from, or weights, AdamW and state from the --resume checkpoint when given."""
    torch.manual_seed(args.seed)
    model = FaceLocator(LocatorConfig(resolution=args.resolution)).to(d.device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    state = {"step": 0, "wall_seconds": 0.0, "history": []}
    if args.init_from is not None:
        model.load_state_dict(load_locator(args.init_from).state_dict())
        state["init_from"] = args.init_from.name
    if args.resume and (args.workdir / "last.json").is_file():
        state = load_checkpoint(model, opt, args.workdir)
        if d.main:
            print(f"resumed at step {state['step']}", flush=True)
    return model, opt, state


def write_locator(args: argparse.Namespace, model: FaceLocator, state: dict) -> None:
    """The trained weights to --out, with the steps, data and wall clock in their metadata."""
    model.eval()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_locator(
        model,
        args.out,
        extra={
            "steps": str(state["step"]),
            "data": "CelebA 000001-000849",
            "wall_seconds": f"{state['wall_seconds']:.0f}",
        },
    )
    print(f"wrote {args.out} after {state['step']} steps", flush=True)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    d = ddp.setup()
    data = load_dataset(args.data)
    train, val = split_photos(data, args.limit)
    faces, val_faces = face_layers(data, train), face_layers(data, val)
    bank = background_bank(data["images"][train], faces[:, 3:].float() / 255)
    model, opt, state = start_model(args, d)
    net = ddp.wrap(model, d)
    args.workdir.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(args.seed * 7919 + state["step"] * 31 + d.rank)
    start, wall_before, last_save = time.time(), state["wall_seconds"], time.time()
    sums, count = np.zeros(3), 0

    def progress() -> float:
        return (wall_before + time.time() - start) / args.time_budget if args.time_budget else 0.0

    while state["step"] < args.steps and not ddp.agree(progress() >= 1, d):
        x, t = batch(faces, bank, g, args.batch, args.resolution)
        for group in opt.param_groups:
            group["lr"] = lr_at(state["step"], args.steps, args.lr, 200, progress())
        loss, focal, reg = locator_loss(net(x.to(d.device)), t.to(d.device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        state["step"] += 1
        sums, count = sums + [loss.item(), focal.item(), reg.item()], count + 1
        final = state["step"] >= args.steps or progress() >= 1
        if ddp.agree(time.time() - last_save >= args.save_every or final, d):
            mean = ddp.mean_over_ranks((sums / max(1, count)).tolist(), d)
            state["wall_seconds"] = wall_before + time.time() - start
            if d.main:
                res = validate(model, val_faces, bank, args.val_photos)
                state["history"].append(
                    {"step": state["step"], "loss": mean[0], "focal": mean[1], "reg": mean[2], **res}
                )
                save_checkpoint(model, opt, state, args.workdir)
                print(f"step {state['step']}: {state['history'][-1]}", flush=True)
            ddp.barrier(d)
            last_save, sums, count = time.time(), np.zeros(3), 0
    if d.main:
        write_locator(args, model, state)
    ddp.cleanup(d)


if __name__ == "__main__":
    main()
