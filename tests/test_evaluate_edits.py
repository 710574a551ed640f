"""scripts/evaluate_edits.py runs end to end on tiny data with random Nano-format weights (smoke test; the
real evaluation runs on the shipped weights, see nano_weights/README.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from test_nano_flux import randomised

from scripts import evaluate_edits
from scripts.nano.train_ae import build_taesd

REGIONS = ("lips", "hair", "eyeglasses", "cheeks")


def tiny_faces(path: Path) -> Path:
    """Two faces (one held out), each with its original row; rectangle regions."""
    rng = np.random.default_rng(0)
    masks = np.zeros((2, len(REGIONS), 128, 128), bool)
    for i, (y, x, h, w) in enumerate([(84, 44, 14, 40), (0, 16, 40, 96), (44, 24, 20, 80), (64, 16, 16, 24)]):
        masks[:, i, y : y + h, x : x + w] = True
    np.savez(
        path,
        images=rng.integers(60, 200, (2, 128, 128, 3)).astype(np.uint8),
        face=np.arange(2),
        edits=np.array(["", ""]),
        names=np.array(["000001", "000950"]),
        holdout=np.array([False, True]),
        masks=np.packbits(masks, axis=-1),
        regions=np.array(REGIONS),
    )
    return path


def weights(folder: Path) -> tuple[Path, Path]:
    flux, vae = folder / "flux.safetensors", folder / "taesd.safetensors"
    save_file({k: v.half() for k, v in randomised(seed=5).state_dict().items()}, str(flux))
    sd = {k: v.half() for k, v in build_taesd().state_dict().items() if k.startswith("taesd_")}
    save_file(sd | {"vae_scale": torch.tensor(0.3611), "vae_shift": torch.tensor(0.1159)}, str(vae))
    return flux, vae


@pytest.mark.skipif(not os.environ.get("FLUX_SCULPTOR_DATA_PYTHON"), reason="needs the dataset venv (dlib)")
def test_evaluation_writes_tables_grid_and_plot(comfyui, tmp_path: Path) -> None:
    flux, vae = weights(tmp_path)
    data = tiny_faces(tmp_path / "faces.npz")
    out = tmp_path / "report"
    args = ["--faces", "1", "--steps", "4", "--T", "1", "--data", str(data), "--out", str(out)]
    assert evaluate_edits.main([*args, "--flux", str(flux), "--vae", str(vae)]) == 0
    summary = json.loads((out / "nano_edits.json").read_text())
    assert summary["faces"] == ["000950"]  # only the held-out face
    assert set(summary["ablation"]) == set(evaluate_edits.EDITS)
    for by in summary["ablation"].values():
        assert set(by) == set(evaluate_edits.FUSIONS)
        assert all(by[f]["effect"]["n"] == 1 and np.isfinite(by[f]["identity"]["mean"]) for f in by)
    assert set(summary["t_sweep"]["red lipstick"]) == {"1", "3"}  # T clipped to --steps
    assert any("reconstruction PSNR" in t["target"] for t in summary["targets"])
    table = (out / "nano_edits.md").read_text()
    assert "| red lipstick | s2d-ec |" in table and "| target | measured | met |" in table
    from PIL import Image

    with Image.open(out / "nano_edit_grid.png") as grid:
        assert grid.size == (5 * 132 - 4, 3 * (128 + 16 + 4))
    assert (out / "nano_t_sweep.png").stat().st_size > 1000


def test_training_faces_for_model_selection_never_include_held_out_ones(tmp_path: Path) -> None:
    data = tiny_faces(tmp_path / "faces.npz")
    assert [f["name"] for f in evaluate_edits.held_out_faces(data, 5)] == ["000950"]
    assert [f["name"] for f in evaluate_edits.held_out_faces(data, 5, held_out=False)] == ["000001"]
