"""Prints the S2D-EC record on a tiny random Flux (issue 4's note): round trip, source-prompt edits per fusion
and source path, outside/inside latent change per fusion, time of one edit.

    python -m scripts.tiny_edit_report        # or: python scripts/tiny_edit_report.py (repo root, test venv)

A random tiny model has no semantics: the inside/outside numbers are a record, not a locality claim.
"""

from __future__ import annotations

import time

import torch

if __package__:  # python -m scripts.NAME
    import scripts.repo_paths  # noqa: F401
else:  # python scripts/NAME.py
    import repo_paths  # noqa: F401
from scripts.benchmark_harness import load_pack, rel  # imports the real ComfyUI first


def main() -> None:
    torch.set_num_threads(1)
    runs = load_pack()["editing_runs"]
    from tiny_flux_pack.tiny_flux import build_tiny_flux, tiny_conditioning, tiny_latent

    model = build_tiny_flux(seed=0, weight_scale=0.25)
    source, target, latent = tiny_conditioning(0), tiny_conditioning(1), tiny_latent(0)
    x = latent["samples"]
    for steps in (15, 30):
        inv = runs.run_inversion(
            model, latent, source, steps=steps, guidance=1.0, value_blocks=2, store="cpu", preview=False
        )
        back = runs.run_edit(
            model, inv, source, structure_steps=3, guidance=1.0, fusion="none", preview=False
        )
        print(f"N={steps}: round trip relative error {rel(back, x):.2e}")
    mask = torch.zeros(1, 128, 128)
    mask[:, :, :64] = 1.0  # left half of the image: latent columns 0..7 of 16
    for path in ("inversion", "interpolate"):
        for fusion in ("s2d-ec", "latent", "value", "none"):
            out = runs.run_edit(
                model,
                inv,
                source,
                mask=mask,
                structure_steps=3,
                guidance=1.0,
                fusion=fusion,
                source_path=path,
                preview=False,
            )
            print(f"source prompt, source_path={path}, fusion={fusion}: relative error {rel(out, x):.2e}")
    for fusion in ("s2d-ec", "latent", "value", "none"):
        start = time.perf_counter()
        out = runs.run_edit(
            model, inv, target, mask=mask, structure_steps=3, guidance=2.0, fusion=fusion, preview=False
        )
        seconds = time.perf_counter() - start
        change = (out - x).abs()
        print(
            f"target prompt, fusion={fusion}: mean |change| inside {float(change[..., :8].mean()):.4f}, "
            f"outside {float(change[..., 8:].mean()):.4f}; edit (N=30) {seconds:.2f} s"
        )


if __name__ == "__main__":
    main()
