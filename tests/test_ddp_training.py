"""Both trainers under torchrun with 2 CPU processes (gloo) for a few steps, on a tiny synthetic data set:
they run, write loadable weights, and resume from their checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scripts.pasl_regions import REGIONS
from sculptor.face_locator import load_locator
from sculptor.pasl import load_pasl

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """8 CelebA-sized 'portraits' (an ellipse face on noise) with ellipse region masks, 2 held out."""
    rng = np.random.default_rng(0)
    h, w = 218, 178
    yy, xx = np.mgrid[0:h, 0:w]
    images, masks = [], []
    for _ in range(8):
        img = (rng.random((h, w, 3)) * 80).astype(np.uint8)
        face = ((xx - 89) / 55) ** 2 + ((yy - 120) / 70) ** 2 < 1
        img[face] = (200, 160, 130)
        regs = np.zeros((len(REGIONS), h, w), bool)
        regs[REGIONS.index("face shape")] = face
        regs[REGIONS.index("hair")] = (((xx - 89) / 70) ** 2 + ((yy - 90) / 80) ** 2 < 1) & ~face
        regs[REGIONS.index("nose")] = ((xx - 89) / 10) ** 2 + ((yy - 120) / 18) ** 2 < 1
        images.append(img)
        masks.append(np.packbits(regs, axis=-1))
    names = np.array([f"{i:06d}" for i in (1, 2, 3, 4, 850, 851, 900, 901)])
    path = tmp_path_factory.mktemp("tiny_pasl") / "tiny.npz"
    np.savez(
        path,
        images=np.stack(images),
        masks=np.stack(masks),
        names=names,
        holdout=names >= "000900",
        regions=np.array(REGIONS),
        skipped=np.array([], dtype="<U32"),
        width=np.int32(w),
    )
    return path


def torchrun(script: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(ROOT / "scripts" / script),
        *args,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return run


def test_face_locator_trains_with_two_processes_and_resumes(tiny_data, tmp_path) -> None:
    common = [
        "--data",
        str(tiny_data),
        "--batch",
        "2",
        "--save-every",
        "0",
        "--val-photos",
        "2",
        "--workdir",
        str(tmp_path / "work"),
        "--out",
        str(tmp_path / "loc.safetensors"),
        "--resume",
    ]
    torchrun("train_face_locator.py", "--steps", "2", *common)
    state = json.loads((tmp_path / "work" / "last.json").read_text())
    assert state["step"] == 2 and [h["step"] for h in state["history"]] == [1, 2]
    load_locator(tmp_path / "loc.safetensors")
    run = torchrun("train_face_locator.py", "--steps", "3", *common)
    assert "resumed at step 2" in run.stdout
    assert json.loads((tmp_path / "work" / "last.json").read_text())["step"] == 3


def test_pasl_trainer_runs_ddp_with_the_composite_path(tiny_data, tmp_path) -> None:
    out = tmp_path / "pasl.safetensors"
    run = torchrun(
        "train_pasl.py",
        "--data",
        str(tiny_data),
        "--resolution",
        "64",
        "--batch",
        "1",
        "--epochs",
        "2",
        "--eval-limit",
        "0",
        "--phrasings",
        "1",
        "--no-templates",
        "--no-bf16",
        "--composite-share",
        "0.5",
        "--workdir",
        str(tmp_path / "work"),
        "--out",
        str(out),
    )
    assert "x 2 process(es)" in run.stdout
    state = json.loads((tmp_path / "work" / "last.json").read_text())
    assert (
        state["epoch"] == 2 and state["step"] == 6
    )  # 6 training images / (batch 1 x 2 processes) = 3 per epoch
    model = load_pasl(out)
    assert model.config.resolution == 64
