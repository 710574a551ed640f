"""PASL on whole photos (pure sculptor/, no ComfyUI): face selection, masks only on the chosen faces,
refusals, and the shipped face locator on composites of held-out faces (when the data set is built)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from scripts.evaluate_pasl import DEFAULT_DATA, load_dataset
from scripts.photo_composites import compose, head_alpha
from scripts.repo_paths import ROOT
from sculptor.face_frames import FaceFrame
from sculptor.face_locator import load_locator
from sculptor.pasl import PASL, PASLConfig
from sculptor.photo_masks import check_photo, masks_on_faces, photo_masks, select_faces, suppress

LOCATOR = ROOT / "pasl_weights" / "face_locator.safetensors"
LEFT, RIGHT = FaceFrame(60.0, 80.0, 50.0), FaceFrame(200.0, 90.0, 90.0, math.radians(10))


def test_faces_are_counted_from_the_left_and_selected() -> None:
    frames = [RIGHT, LEFT]
    assert select_faces(frames, "all", 0) == [LEFT, RIGHT]
    assert select_faces(frames, "largest", 0) == [RIGHT]
    assert select_faces(frames, "index", 0) == [LEFT] and select_faces(frames, "index", 1) == [RIGHT]
    with pytest.raises(ValueError, match="face_index 2 .* 2 face\\(s\\) were found: use 0..1"):
        select_faces(frames, "index", 2)
    assert select_faces([], "index", 3) == [], "no face: an empty selection (the node warns), not an error"
    with pytest.raises(ValueError, match="faces must be one of"):
        select_faces(frames, "biggest", 0)


def test_suppression_drops_side_peaks_of_a_big_face_and_keeps_neighbours() -> None:
    big = FaceFrame(370.0, 200.0, 190.0, math.radians(10), score=0.92)
    side_peak = FaceFrame(457.0, 158.0, 83.0, 0.0, score=0.46)  # on the big face's hair: weak, small, inside
    near_centre = FaceFrame(380.0, 210.0, 170.0, 0.0, score=0.5)  # a second peak at the same centre
    assert suppress([side_peak, near_centre, big]) == [big]
    neighbour = FaceFrame(160.0, 200.0, 170.0, 0.0, score=0.4)  # outside the big frame: another person
    strong_small = FaceFrame(457.0, 158.0, 83.0, 0.0, score=0.8)  # a confident face inside: kept
    alike = FaceFrame(457.0, 158.0, 160.0, 0.0, score=0.3)  # a face of similar size beside: kept
    assert suppress([neighbour, big]) == [big, neighbour]
    assert suppress([strong_small, big]) == [big, strong_small]
    assert suppress([alike, big]) == [big, alike]


def test_the_zoom_look_is_mirror_symmetric() -> None:
    """realign averages the zoom window and its mirror image: a mirrored photo gives the mirrored frame."""
    from sculptor.face_locator import FaceLocator, LocatorConfig
    from sculptor.photo_masks import realign

    torch.manual_seed(3)
    locator = FaceLocator(LocatorConfig(resolution=64, channels=(4, 8, 8, 8, 8), head_dim=8)).eval()
    with torch.no_grad():
        locator.head.bias[0] = 4.0  # every cell a peak: the nearest-centre find is always defined
    photo = torch.rand(3, 120, 160)
    frame = FaceFrame(70.0, 60.0, 40.0, math.radians(6))
    a = realign(locator, photo, frame)
    b = realign(locator, photo.flip(-1), FaceFrame(160 - frame.cx, frame.cy, frame.width, -frame.angle))
    assert abs((160 - b.cx) - a.cx) < 1e-3 and abs(b.cy - a.cy) < 1e-3
    assert abs(b.width - a.width) < 1e-3 and abs(b.angle + a.angle) < 1e-5
    assert (a.cx, a.cy, a.width) != (frame.cx, frame.cy, frame.width), "the zoom look moved the frame"


def test_masks_land_on_the_selected_faces_only() -> None:
    torch.manual_seed(0)
    model = PASL(PASLConfig(resolution=64)).eval()
    photo = torch.rand(3, 180, 280)
    txt = model.text_features(torch.randn(2, 384))
    both = masks_on_faces(model, photo, [LEFT, RIGHT], txt, refine=False)
    assert both.shape == (2, 180, 280)
    yy, xx = torch.meshgrid(torch.arange(180) + 0.5, torch.arange(280) + 0.5, indexing="ij")
    near_left = (xx - LEFT.cx).abs() < 45
    near_right = (xx - RIGHT.cx).abs() < 75
    assert float(both[:, near_left].sum()) > 0 and float(both[:, near_right].sum()) > 0
    assert float(both[:, ~(near_left | near_right)].abs().sum()) == 0, "nothing outside the frames"
    right = masks_on_faces(model, photo, [RIGHT], txt, refine=False)
    assert float(right[:, near_left].sum()) == 0
    assert torch.allclose(right[:, near_right], both[:, near_right], atol=1e-5)
    assert float(masks_on_faces(model, photo, [], txt).abs().sum()) == 0


def test_photos_too_small_or_too_large_are_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="1x1 pixels.*at least 16x16.*'whole image'"):
        check_photo(torch.rand(1, 1, 1, 3))
    with pytest.raises(ValueError, match="10000x10000 \\(100 MP\\).*downscale it first"):
        check_photo(torch.empty(1, 10000, 10000, 3))  # never touched: refused before any pixel is read
    with pytest.raises(ValueError, match="C >= 3"):
        check_photo(torch.rand(1, 32, 32, 1))
    check_photo(torch.rand(1, 16, 4000, 3))


@pytest.fixture(scope="module")
def held_out() -> dict[str, np.ndarray]:
    if not DEFAULT_DATA.is_file():
        pytest.skip("the PASL data set is not built (scripts/build_pasl_dataset.py)")
    if not LOCATOR.is_file():
        pytest.skip("no shipped face locator")
    data = load_dataset(DEFAULT_DATA)
    sel = np.flatnonzero(data["holdout"])[:12]
    return {"images": data["images"][sel], "masks": data["masks"][sel]}


def two_face_photo(held_out, i: int = 0) -> tuple[torch.Tensor, list[FaceFrame]]:
    """A 384x512 photo with two held-out faces (a small one left, a big one right) on a gradient."""
    x = torch.from_numpy(held_out["images"][i : i + 2]).permute(0, 3, 1, 2).float() / 255
    m = torch.from_numpy(held_out["masks"][i : i + 2])
    layers = torch.cat([x, head_alpha(m), m.float()], 1)
    frames = [
        FaceFrame(130.0, 170.0, 110.0, math.radians(-6)),
        FaceFrame(370.0, 200.0, 200.0, math.radians(8)),
    ]
    bg = torch.linspace(0.2, 0.8, 512).expand(3, 384, 512).clone()
    photo, _ = compose(layers, frames, bg)
    return photo, frames


def test_the_shipped_locator_finds_both_faces_where_they_are(held_out) -> None:
    locator = load_locator(LOCATOR)
    from sculptor.photo_masks import find_faces

    for i in (0, 2, 4):
        photo, truth = two_face_photo(held_out, i)
        found = sorted(find_faces(locator, photo), key=lambda f: f.cx)
        assert len(found) == 2, found
        for f, t in zip(found, truth, strict=True):
            assert math.hypot(f.cx - t.cx, f.cy - t.cy) < 0.15 * t.width
            assert abs(math.log(f.width / t.width)) < 0.3 and abs(f.angle - t.angle) < math.radians(12)


def test_photo_masks_select_faces_and_leave_an_empty_photo_empty(held_out) -> None:
    from sculptor.pasl import load_pasl

    locator = load_locator(LOCATOR)
    model = load_pasl(ROOT / "pasl_weights" / "pasl_minilm_celeba.safetensors")
    photo, truth = two_face_photo(held_out)
    from sculptor.text_features import get_encoder

    text = get_encoder("minilm").encode(["face shape"])
    image = photo.permute(1, 2, 0)[None]
    masks, used, found = photo_masks(model, locator, image, text, refine=False, faces="index", index=1)
    assert found == [2] and len(used[0]) == 1 and abs(used[0][0].cx - truth[1].cx) < 30
    assert float(masks[0, 0, :, :150].max()) < 0.01, "the left face is not selected"
    assert float(masks[0, 0, :, 300:].max()) > 0.5, "the right face is"
    empty = torch.linspace(0, 1, 300).expand(3, 200, 300).clone()
    masks, used, found = photo_masks(model, locator, empty.permute(1, 2, 0)[None], text)
    assert found == [0] and used == [[]] and float(masks.abs().sum()) == 0


def test_eye_alignment_pulls_a_disturbed_frame_back_to_the_face(held_out) -> None:
    from scripts.photo_composites import eval_photos
    from sculptor.pasl import load_pasl
    from sculptor.photo_masks import EYES_PROMPT, align_by_eyes
    from sculptor.text_features import get_encoder

    model = load_pasl(ROOT / "pasl_weights" / "pasl_minilm_celeba.safetensors")
    eyes = model.text_features(get_encoder("minilm").encode([EYES_PROMPT]))
    photos, _, truth = eval_photos(held_out["images"][:4], held_out["masks"][:4], 0.10, 384, seed=3)
    for photo, t in zip(photos, truth, strict=True):
        bad = FaceFrame(
            t.cx + 0.12 * t.width, t.cy - 0.08 * t.width, t.width * 1.2, t.angle + math.radians(9)
        )
        fixed = align_by_eyes(model, photo, bad, eyes)
        assert math.hypot(fixed.cx - t.cx, fixed.cy - t.cy) < 0.5 * math.hypot(bad.cx - t.cx, bad.cy - t.cy)
        assert abs(fixed.angle - t.angle) < 0.5 * abs(bad.angle - t.angle)
        assert abs(math.log(fixed.width / t.width)) < abs(math.log(bad.width / t.width))
