"""Nano's data set builder: shapes, held-out split, and edits that stay inside their region."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from scripts.nano.build_dataset import build, parse_edits
from scripts.nano.captions import caption, join, vocabulary
from scripts.nano.edits import KINDS, apply_edits, phrase
from scripts.pasl_regions import REGIONS

W, H = 178, 218


def fake_pasl(n: int = 3) -> dict[str, np.ndarray]:
    """A PASL-format dict: textured faces and rectangular region masks (packbits along W)."""
    rng = np.random.default_rng(0)
    images = (rng.random((n, H, W, 3)) * 120 + 60).astype(np.uint8)
    masks = np.zeros((n, len(REGIONS), H, W), bool)
    boxes = {
        "lips": (150, 160, 70, 110),
        "hair": (20, 70, 30, 150),
        "eyeglasses": (90, 110, 40, 140),
        "cheeks": (115, 140, 40, 140),
    }
    for region, (y0, y1, x0, x1) in boxes.items():
        masks[:, REGIONS.index(region), y0:y1, x0:x1] = True
    return {
        "images": images,
        "masks": np.packbits(masks, axis=-1),
        "names": np.array([f"{i:06d}" for i in range(n)]),
        "holdout": np.arange(n) >= n - 1,
        "regions": np.array(REGIONS),
        "width": np.int32(W),
    }


@pytest.fixture(scope="module")
def built() -> dict[str, np.ndarray]:
    return build(fake_pasl(), variants=6, top=20)


def test_layout_and_held_out_split(built) -> None:
    assert built["images"].shape == (3 * 7, 128, 128, 3) and built["images"].dtype == np.uint8
    assert built["masks"].shape == (3, len(REGIONS), 128, 16)
    assert list(built["holdout"]) == [False, False, True]
    assert [int((built["face"] == i).sum()) for i in range(3)] == [7, 7, 7]
    first = np.r_[0, np.nonzero(np.diff(built["face"]))[0] + 1]
    assert all(built["edits"][i] == "" for i in first), "each face's first row is the unedited original"
    kinds = {k for e in built["edits"] for k, _ in parse_edits(str(e))}
    assert kinds == set(KINDS), "every edit kind occurs"


def test_each_edit_changes_only_its_region(built) -> None:
    masks = np.unpackbits(built["masks"], axis=-1).astype(bool)
    for row, text in enumerate(built["edits"]):
        edits = parse_edits(str(text))
        if not edits:
            continue
        face = built["face"][row]
        src = built["images"][np.nonzero(built["face"] == face)[0][0]].astype(int)
        allowed = np.zeros((128, 128), bool)
        for kind, _ in edits:
            region = masks[face, REGIONS.index(KINDS[kind][0])]
            allowed |= ndimage.binary_dilation(region, iterations=10)  # soft edges and blur reach
        diff = np.abs(built["images"][row].astype(int) - src).max(-1)
        assert diff[~allowed].max() <= 1, (text, diff[~allowed].max())
        assert diff[allowed].mean() > 3, f"edit {text} changed nothing visible"


def test_unknown_edit_says_what_exists() -> None:
    img = np.zeros((8, 8, 3), np.float32)
    with pytest.raises(ValueError, match="known"):
        apply_edits(img, {"lips": np.ones((8, 8), bool)}, [("lipstick", "gold")], np.random.default_rng(0))


def test_captions() -> None:
    assert join(["a", "b", "c"]) == "a, b and c"
    assert caption([]) == "a photo of a person"
    assert caption(phrase([("lipstick", "red"), ("glasses", "sunglasses")])) == (
        "a photo of a person with red lipstick and sunglasses"
    )
    assert "lipstick" in vocabulary([caption(["red lipstick"])])
