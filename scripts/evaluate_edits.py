"""The paper's edit evaluation on Flux-Sculptor Nano, on held-out faces (issue 12).

    OMP_NUM_THREADS=1 python -m scripts.evaluate_edits [--faces 12] [--out docs]

For each held-out face (PASL's split, never seen by Nano's trainers; unedited originals, evenly spaced):
VAEEncode, invert once with the source prompt (the Inversion node: 30 RF-Solver steps, guidance 1, the
last 2 blocks' values), then through the S2D-EC Sampler node:
  - reconstruction: target = source prompt, fusion none, guidance 1 (PSNR against the autoencoder's own
    reconstruction of the face, i.e. what inversion + sampling can at best give back);
  - 3 local edits (red lipstick / blond hair / sunglasses) x fusion none, latent, value, s2d-ec at T = 3;
  - the paper's Fig. 8 sweep: s2d-ec at T = 1, 3, 5, 7, 9.
The edit mask is the face's true region (the data set's PASL region mask: lips / hair / eyeglasses) grown
by --grow px, so the numbers measure the editor, not the locator (scripts/evaluate_pasl.py measures PASL).
Per case (scripts/nano/edit_metrics.py): PSNR and SSIM outside the region grown by --margin px, against
the autoencoder's reconstruction of the source (and PSNR against the source itself); the effect inside the
region (0 = colour unchanged, 1 = the region's mean Lab colour reached that of the same face with the
synthetic edit painted by scripts/nano/edits.py, both seen through the autoencoder); identity = distance
of dlib face embeddings to the face seen through the autoencoder, and to the source photo
(scripts/nano/identity.py in the dataset venv; dlib's convention: < 0.6 = same person).
Writes <out>/nano_edits.md and .json (means over faces, targets checked), nano_edit_grid.png
(source | none | latent | value | s2d-ec) and nano_t_sweep.png. No network, nothing unpickled.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from scripts.nano.build_dataset import DEFAULT_OUT as DEFAULT_DATA
from scripts.nano.card_numbers import SOURCE
from scripts.nano.edit_metrics import effect, outside, psnr, ssim
from scripts.nano.edit_report import summarise, write_grid, write_markdown, write_t_plot
from scripts.nano.edits import apply_edits
from scripts.repo_paths import HOME, ROOT, fail

EDITS = {  # name -> (region, (kind, option))
    "red lipstick": ("lips", ("lipstick", "red")),
    "blond hair": ("hair", ("hair", "blond")),
    "sunglasses": ("eyeglasses", ("glasses", "sunglasses")),
}
FUSIONS = ("none", "latent", "value", "s2d-ec")
T_SWEEP = (1, 3, 5, 7, 9)  # clipped to --steps


def held_out_faces(data: Path, count: int, held_out: bool = True) -> list[dict]:
    """Evenly spaced held-out (or, for model selection, training) unedited faces: image float
    [128,128,3] 0..1 and region masks bool."""
    if not data.is_file():
        fail(
            f"{data} is missing: build it with `python -m scripts.nano.build_dataset` "
            "(see nano_weights/README.md)"
        )
    with np.load(data, allow_pickle=False) as f:
        rows = np.nonzero((f["edits"] == "") & (f["holdout"][f["face"]] == held_out))[0]
        rows = rows[np.linspace(0, len(rows) - 1, min(count, len(rows))).astype(int)]
        regions = [str(r) for r in f["regions"]]
        faces = []
        for row in rows:
            face = int(f["face"][row])
            masks = np.unpackbits(f["masks"][face], axis=-1)[..., :128].astype(bool)
            faces.append(
                {
                    "name": str(f["names"][face]),
                    "image": f["images"][row].astype(np.float32) / 255,
                    "masks": dict(zip(regions, masks, strict=True)),
                }
            )
    return faces


def grown(region: np.ndarray, px: int) -> np.ndarray:
    from scipy import ndimage

    return ndimage.binary_dilation(region, iterations=px) if px > 0 else region


def sweep(args: argparse.Namespace) -> tuple[int, ...]:
    return tuple(t for t in T_SWEEP if t <= args.steps)


def face_cases(editor, face: dict, args: argparse.Namespace) -> tuple[dict, list[dict]]:
    """One face: the reconstruction and every (edit, fusion, T) case -> (reference images, case rows)."""
    recon = editor.decode(editor.encode(face["image"]))
    inv = editor.invert(editor.encode(face["image"]), SOURCE)
    back = editor.edit(inv, SOURCE, None, "none", 0, 1.0)
    refs = {"source": face["image"], "recon": recon}
    rows = [{"face": face["name"], "case": "reconstruction", "image": back, "recon_psnr": psnr(back, recon)}]
    rows[0]["recon_psnr_source"] = psnr(back, face["image"])
    for name, (region_name, kind) in EDITS.items():
        region = face["masks"][region_name]
        if region.sum() < 20:
            continue  # no such region on this face (e.g. no visible hair): nothing to measure
        goal = apply_edits(face["image"], face["masks"], [kind], np.random.default_rng(0))
        goal = editor.decode(editor.encode(goal))
        keep = outside(region, args.margin)
        mask = grown(region, args.grow).astype(np.float32)
        runs = [(fusion, args.T) for fusion in FUSIONS] + [("s2d-ec", t) for t in sweep(args) if t != args.T]
        for fusion, t in runs:
            out = editor.edit(inv, f"{SOURCE} with {name}", mask, fusion, t, args.guidance)
            rows.append(
                {
                    "face": face["name"],
                    "case": "edit",
                    "edit": name,
                    "fusion": fusion,
                    "T": t,
                    "image": out,
                    "outside_psnr": psnr(out, recon, keep),
                    "outside_ssim": ssim(out, recon, keep),
                    "outside_psnr_source": psnr(out, face["image"], keep),
                    "effect": effect(out, recon, goal, region),
                }
            )
    return refs, rows


def add_identity(rows: list[dict], refs: dict[str, dict], python: str) -> None:
    """rows[i]["identity"] = dlib embedding distance to the face seen through the autoencoder (what the
    editor can at best keep), ["identity_source"] = to the source photo (dataset venv subprocess)."""
    names = list(refs)
    images = [refs[n][k] for n in names for k in ("source", "recon")] + [r["image"] for r in rows]
    source = [2 * i for i in range(len(names)) for _ in range(2)] + [2 * names.index(r["face"]) for r in rows]
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(src, images=(np.clip(np.stack(images), 0, 1) * 255).round().astype(np.uint8), source=source)
        script = ROOT / "scripts" / "nano" / "identity.py"
        done = subprocess.run([python, str(script), str(src), str(dst)], capture_output=True, text=True)
        if done.returncode:
            fail(f"identity embeddings failed ({python}):\n{done.stderr[-2000:]}")
        with np.load(dst) as f:
            emb, detected = f["embedding"], f["detected"]
    for i, row in enumerate(rows):
        j, k = 2 * len(names) + i, source[2 * len(names) + i]
        row["identity"] = float(np.linalg.norm(emb[j] - emb[k + 1]))
        row["identity_source"] = float(np.linalg.norm(emb[j] - emb[k]))
        row["face_detected"] = bool(detected[k])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--faces", type=int, default=12, help="held-out faces, evenly spaced over the 100")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument(
        "--split",
        choices=("held-out", "train"),
        default="held-out",
        help="train: training faces, to choose between checkpoints without touching the held-out faces",
    )
    ap.add_argument("--flux", type=Path, default=ROOT / "nano_weights" / "nano_flux.safetensors")
    ap.add_argument("--vae", type=Path, default=ROOT / "nano_weights" / "nano_taesd.safetensors")
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--steps", type=int, default=30, help="inversion / sampling steps (the demo's 30)")
    ap.add_argument("--T", type=int, default=3, help="structure steps of the fusion ablation")
    ap.add_argument("--value-blocks", type=int, default=2, help="last m blocks whose values are fused")
    ap.add_argument("--guidance", type=float, default=2.0, help="edit guidance (inversion uses 1)")
    ap.add_argument("--grow", type=int, default=4, help="px the edit mask extends past the true region")
    ap.add_argument("--margin", type=int, default=8, help="px around the region left out of 'outside'")
    ap.add_argument("--identity-python", default=os.environ.get("FLUX_SCULPTOR_DATA_PYTHON"))
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from scripts.nano.edit_runner import NanoEditor

    editor = NanoEditor(args.flux, args.vae, steps=args.steps, value_blocks=args.value_blocks)
    faces = held_out_faces(args.data, args.faces, args.split == "held-out")
    start, rows, refs = time.time(), [], {}
    for face in tqdm(faces, desc="faces"):
        with torch.no_grad():  # as ComfyUI runs nodes
            refs[face["name"]], face_rows = face_cases(editor, face, args)
        rows.extend(face_rows)
    python = args.identity_python or str(HOME / "venv-data" / "bin" / "python")
    add_identity(rows, refs, python)
    summary = summarise(rows, EDITS, FUSIONS, sweep(args), args.T)
    summary["settings"] = {k: str(v) for k, v in vars(args).items()} | {"seconds": round(time.time() - start)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nano_edits.json").write_text(json.dumps(summary, indent=1) + "\n")
    write_markdown(summary, args.out / "nano_edits.md")
    write_grid(rows, refs, EDITS, FUSIONS, args.T, args.out / "nano_edit_grid.png")
    write_t_plot(summary, args.out / "nano_t_sweep.png")
    print((args.out / "nano_edits.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
