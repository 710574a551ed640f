"""Seconds per training step of Nano's two models on this CPU (random data; one torch thread).

    OMP_NUM_THREADS=1 python -m scripts.nano.benchmark [--steps 3] [--bf16]

Prints the median over --steps (after one warm-up step) for the TAESD autoencoder on 64 px crops and on
full 128 px images, and for the Flux (NANO_FLUX, 24 text tokens) at the trainers' batch sizes. --bf16 adds
the same under bf16 autocast (on CPUs without bf16 matrix units it is many times slower than fp32).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parents[2]))
from scripts.nano.flux_model import build_flux, make_trainable  # noqa: E402
from scripts.nano.train_ae import ae_loss, build_taesd  # noqa: E402
from sculptor.nano import NANO_FLUX, NANO_TEXT_TOKENS  # noqa: E402


def time_steps(step: Callable[[], torch.Tensor], params, steps: int, bf16: bool) -> float:
    opt = torch.optim.AdamW(params, lr=1e-4)
    times = []
    for _ in range(steps + 1):
        t0 = time.perf_counter()
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            loss = step()
        opt.zero_grad(set_to_none=True)
        loss.float().backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--bf16", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    ae, flux = build_taesd(), build_flux(NANO_FLUX)
    make_trainable(flux)
    b = 16
    x = torch.randn(b, 16, 16, 16)
    text = torch.randn(b, NANO_TEXT_TOKENS, 384)
    cases = {
        "autoencoder, 8 crops of 64 px": (lambda: ae_loss(ae, torch.rand(8, 3, 64, 64), 1e-3)[0], ae),
        "autoencoder, 2 images of 128 px": (lambda: ae_loss(ae, torch.rand(2, 3, 128, 128), 1e-3)[0], ae),
        f"flux, batch {b}": (
            lambda: (
                flux(x, torch.rand(b), text, y=torch.randn(b, 384), guidance=torch.ones(b))
                .float()
                .square()
                .mean()
            ),
            flux,
        ),
    }
    for name, (step, model) in cases.items():
        for bf16 in (False, True) if args.bf16 else (False,):
            sec = time_steps(step, model.parameters(), args.steps, bf16)
            print(f"{name}{', bf16 autocast' if bf16 else ''}: {sec:.2f} s/step", flush=True)


if __name__ == "__main__":
    main()
