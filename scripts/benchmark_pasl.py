"""PASL mask time per image: single pass vs the node's default `refine` (8 views), and their ratio.

    python scripts/benchmark_pasl.py [--size 512] [--reps 5] [--threads 1] [--weights FILE]

Times `sculptor.pasl_infer.locate` (resize, CNN, text projector, upsample, union) on a random RGB image
of size x size with weights and text encoder already loaded, for one and for three sub-prompts, and prints
median seconds and the refine / single-pass ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

if __package__:  # python -m scripts.NAME
    from scripts.repo_paths import SHIPPED_WEIGHTS
else:  # python scripts/NAME.py
    from repo_paths import SHIPPED_WEIGHTS
from sculptor.pasl import load_pasl
from sculptor.pasl_infer import encoder_for, locate

DEFAULT_WEIGHTS = SHIPPED_WEIGHTS
PROMPTS = ("lips", "lips; hair; eyebrows")


def median_seconds(fn, reps: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    ap.add_argument("--size", type=int, default=512, help="square test image side in pixels")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_pasl(args.weights)
    encoder = encoder_for(model)
    image = torch.rand(1, args.size, args.size, 3, generator=torch.Generator().manual_seed(0))
    print(f"PASL mask time, {args.size}x{args.size} image, {args.threads} thread(s), median of {args.reps}")
    out = {}
    for prompt in PROMPTS:
        n = len(prompt.split(";"))
        t = {}
        for refine in (False, True):

            def run(p: str = prompt, r: bool = refine) -> None:
                locate(model, encoder, image, p, refine=r)

            t[refine] = median_seconds(run, args.reps)
        out[f"single_{n}"], out[f"refine_{n}"] = t[False], t[True]
        print(
            f"{n} sub-prompt(s): single pass {t[False]:.3f} s, refine {t[True]:.3f} s, "
            f"ratio {t[True] / t[False]:.1f}x"
        )
    return out


if __name__ == "__main__":
    main()
