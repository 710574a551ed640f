"""PASL mask time per image: single pass vs the node's default `refine` (8 views), and their ratio; and
the whole-photo path (face search, crop, PASL, paste back) on a photo with one face.

    python scripts/benchmark_pasl.py [--size 512] [--reps 5] [--threads 1] [--weights FILE] [--photo 1024]

Times `sculptor.pasl_infer.locate` (resize, CNN, text projector, upsample, union) on a random RGB image
of size x size with weights and text encoder already loaded, for one and for three sub-prompts, and prints
median seconds and the refine / single-pass ratio. `--photo N` (0: skip) then times
`sculptor.photo_masks.photo_masks` with refine on, one sub-prompt, on an N x N photo holding one held-out
face (its face box 10% of the area; scripts/photo_composites.py, needs the PASL data set), split into
the face search and the whole call.
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


def median_seconds(fn, reps: int, clock=time.perf_counter) -> float:
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    ap.add_argument("--size", type=int, default=512, help="square test image side in pixels")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--photo", type=int, default=1024, help="side of the one-face photo (0: skip that part)")
    ap.add_argument("--locator", type=Path, default=SHIPPED_WEIGHTS.with_name("face_locator.safetensors"))
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
    if args.photo:
        out.update(photo_time(model, encoder, args))
    return out


def photo_time(model, encoder, args: argparse.Namespace) -> dict[str, float]:
    """Median seconds of the face search and of the whole photo_masks call (refine, 'lips')."""
    from scripts.evaluate_pasl import DEFAULT_DATA, load_dataset
    from scripts.photo_composites import eval_photos
    from sculptor.face_locator import load_locator
    from sculptor.photo_masks import EYES_PROMPT, find_faces, photo_masks

    if not DEFAULT_DATA.is_file():
        print(f"whole photo: skipped, {DEFAULT_DATA} is not built")
        return {}
    data = load_dataset(DEFAULT_DATA)
    i = int(data["holdout"].argmax())
    photo, _, _ = eval_photos(data["images"][i : i + 1], data["masks"][i : i + 1], 0.10, args.photo)
    locator = load_locator(args.locator)
    text = encoder.encode(["lips"])
    image = photo.permute(0, 2, 3, 1)
    found = len(find_faces(locator, photo[0]))
    search = median_seconds(lambda: find_faces(locator, photo[0]), args.reps)
    eyes = encoder.encode([EYES_PROMPT])
    whole = median_seconds(
        lambda: photo_masks(model, locator, image, text, refine=True, eyes=eyes), args.reps
    )
    cpu = median_seconds(
        lambda: photo_masks(model, locator, image, text, refine=True, eyes=eyes), args.reps, time.process_time
    )
    print(
        f"whole photo {args.photo}x{args.photo}, one face (found {found}), refine on: face search "
        f"{search:.3f} s, in all {whole:.3f} s wall clock, {cpu:.3f} s of CPU time (the wall clock "
        "includes waiting for the CPU when other processes share it)"
    )
    return {"photo_search": search, "photo_refine": whole, "photo_refine_cpu": cpu}


if __name__ == "__main__":
    main()
