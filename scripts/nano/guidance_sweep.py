"""What Nano's guidance input does: distillation fidelity and a guidance sweep of the edits (issue 12).

    OMP_NUM_THREADS=1 python -m scripts.nano.guidance_sweep [--faces 8] [--out docs]

1. Fidelity, on held-out latents (fixed noise, sigmas 0.3 / 0.6 / 0.9, true captions): the model at
   guidance g against classifier-free guidance built from the same model at g = 1,
   v_u + g (v_c - v_u). Reported as the error relative to |g (v_c - v_u)|: 0 means the guidance input
   is exactly a CFG scale (what phase B of scripts/nano/train_flux.py distils); ~1 means it is ignored.
2. Edits: held-out faces (scripts/evaluate_edits.py's selection, masks and metrics), each edit with
   fusion none and s2d-ec (T = 3) at guidance 1, 2, 3, 4, 5: outside PSNR and the effect inside.
Writes <out>/nano_guidance.json and .md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from scripts.evaluate_edits import EDITS, grown, held_out_faces
from scripts.nano.build_dataset import DEFAULT_OUT as DEFAULT_DATA
from scripts.nano.card_numbers import SOURCE
from scripts.nano.edit_metrics import effect, outside, psnr
from scripts.nano.edits import apply_edits
from scripts.repo_paths import ROOT

GUIDANCE = (1.0, 2.0, 3.0, 4.0, 5.0)
FUSIONS = ("none", "s2d-ec")


@torch.no_grad()
def fidelity(model: torch.nn.Module, latents_path: Path, rows: int = 48) -> dict[str, float]:
    """Nano's Flux (the diffusion model the Nano Loader builds) -> per g: mean
    |v(g) - (v_u + g (v_c - v_u))|^2 / |g (v_c - v_u)|^2 over held-out latents."""
    from scripts.nano.captions import caption
    from scripts.nano.train_flux import TextCache, load_latents, velocity

    lat, phrases = load_latents(latents_path, held_out=True)
    pick = np.linspace(0, len(lat) - 1, min(rows, len(lat))).astype(int)
    lat, texts = lat[pick], TextCache()
    cond, empty = texts([caption(phrases[i]) for i in pick]), texts([""] * len(pick))
    noise = torch.randn(lat.shape, generator=torch.Generator().manual_seed(1234))
    ones, out = torch.ones(len(lat)), {}
    for g in GUIDANCE[1:]:
        err = base = 0.0
        for s in (0.3, 0.6, 0.9):
            xt, sig = (1 - s) * lat + s * noise, torch.full_like(ones, s)
            v_c, v_u = velocity(model, xt, sig, cond, ones), velocity(model, xt, sig, empty, ones)
            student = velocity(model, xt, sig, cond, ones * g)
            err += float((student - (v_u + g * (v_c - v_u))).pow(2).mean())
            base += float((g * (v_c - v_u)).pow(2).mean())
        out[str(g)] = round(err / base, 4)
    return out


def edit_rows(editor, faces: list[dict], args: argparse.Namespace) -> list[dict]:
    rows = []
    for face in faces:
        recon = editor.decode(editor.encode(face["image"]))
        inv = editor.invert(editor.encode(face["image"]), SOURCE)
        for name, (region_name, kind) in EDITS.items():
            region = face["masks"][region_name]
            if region.sum() < 20:
                continue
            goal = editor.decode(
                editor.encode(apply_edits(face["image"], face["masks"], [kind], np.random.default_rng(0)))
            )
            mask, keep = grown(region, 4).astype(np.float32), outside(region, 8)
            for fusion in FUSIONS:
                for g in GUIDANCE:
                    out = editor.edit(inv, f"{SOURCE} with {name}", mask, fusion, 3, g)
                    rows.append(
                        {
                            "edit": name,
                            "fusion": fusion,
                            "guidance": g,
                            "outside_psnr": psnr(out, recon, keep),
                            "effect": effect(out, recon, goal, region),
                        }
                    )
    return rows


def table(rows: list[dict]) -> dict:
    out = {}
    for name in EDITS:
        for fusion in FUSIONS:
            for g in GUIDANCE:
                pick = [r for r in rows if (r["edit"], r["fusion"], r["guidance"]) == (name, fusion, g)]
                if pick:
                    out[f"{name} | {fusion} | {g:g}"] = {
                        k: round(float(np.mean([r[k] for r in pick])), 3) for k in ("outside_psnr", "effect")
                    } | {"n": len(pick)}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--faces", type=int, default=8)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--flux", type=Path, default=ROOT / "nano_weights" / "nano_flux.safetensors")
    ap.add_argument("--vae", type=Path, default=ROOT / "nano_weights" / "nano_taesd.safetensors")
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--steps", type=int, default=30, help="inversion / sampling steps (the demo's 30)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from scripts.nano.edit_runner import NanoEditor

    editor = NanoEditor(args.flux, args.vae, steps=args.steps)
    model = editor.model.model.diffusion_model
    result = {"fidelity": fidelity(model, args.data.with_name("nano_latents.npz"))}
    print("CFG fidelity (relative error, 0 = exact CFG):", result["fidelity"], flush=True)
    with torch.no_grad():
        result["edits"] = table(edit_rows(editor, held_out_faces(args.data, args.faces), args))
    result["settings"] = {k: str(v) for k, v in vars(args).items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nano_guidance.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = ["| edit | fusion | guidance | outside PSNR (dB) | effect |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {k} | {v['outside_psnr']:.2f} | {v['effect']:.3f} |" for k, v in result["edits"].items()]
    fid = ", ".join(f"g = {g}: {e:.3f}" for g, e in result["fidelity"].items())
    md = (
        f"# Nano guidance\n\nCFG fidelity (relative error, 0 = exact CFG): {fid}\n\n"
        + "\n".join(lines)
        + "\n"
    )
    (args.out / "nano_guidance.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
