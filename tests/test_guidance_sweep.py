"""scripts/nano/guidance_sweep.py: the CFG-fidelity measure is exact on a guidance-blind model, and the
sweep runs end to end on tiny data with random Nano-format weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from test_evaluate_edits import tiny_faces, weights
from test_nano_flux import randomised, tiny_latents

from scripts.nano import guidance_sweep


def test_fidelity_of_a_model_that_ignores_guidance_is_exactly_known(comfyui, tmp_path: Path) -> None:
    """v(g) = v(1) for every g when the guidance embedding outputs 0, so the error against
    v_u + g (v_c - v_u) is (g - 1)(v_c - v_u) and the relative error is ((g - 1) / g)^2."""
    model = randomised(seed=2)
    with torch.no_grad():
        model.guidance_in.out_layer.weight.zero_()
        model.guidance_in.out_layer.bias.zero_()
    got = guidance_sweep.fidelity(model, tiny_latents(tmp_path / "nano_latents.npz"), rows=4)
    for g, err in got.items():
        assert abs(err - ((float(g) - 1) / float(g)) ** 2) < 2e-3, (g, err)
    other = guidance_sweep.fidelity(randomised(seed=2), tmp_path / "nano_latents.npz", rows=4)
    assert any(abs(other[g] - got[g]) > 1e-2 for g in got), "a guidance-aware model measures differently"


def test_sweep_writes_every_edit_fusion_and_guidance(comfyui, tmp_path: Path) -> None:
    flux, vae = weights(tmp_path)
    data = tiny_faces(tmp_path / "nano_faces.npz")
    tiny_latents(tmp_path / "nano_latents.npz")
    out = tmp_path / "report"
    guidance_sweep.main(
        [
            "--faces",
            "1",
            "--steps",
            "3",
            "--data",
            str(data),
            "--flux",
            str(flux),
            "--vae",
            str(vae),
            "--out",
            str(out),
        ]
    )
    result = json.loads((out / "nano_guidance.json").read_text())
    assert len(result["edits"]) == 3 * len(guidance_sweep.FUSIONS) * len(guidance_sweep.GUIDANCE)
    assert all(np.isfinite(v["effect"]) and v["n"] == 1 for v in result["edits"].values())
    assert set(result["fidelity"]) == {"2.0", "3.0", "4.0", "5.0"}
    assert "| red lipstick | s2d-ec | 5 |" in (out / "nano_guidance.md").read_text()
