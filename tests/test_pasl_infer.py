"""PASL inference helpers and text features (pure sculptor/, no ComfyUI)."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F

from scripts import pasl_regions as regions
from scripts.pasl_regions import REGIONS, TRAIN_PROMPTS, UNSEEN_PROMPTS
from sculptor import pasl_infer
from sculptor.pasl import PASL, PASLConfig
from sculptor.text_features import CallableEncoder, MiniLMEncoder, get_encoder


def test_regions_and_prompt_lists() -> None:
    assert len(REGIONS) == 18 and len(set(REGIONS)) == 18
    seen = [p for r in REGIONS for p in TRAIN_PROMPTS[r]]
    unseen = [p for r in REGIONS for p in UNSEEN_PROMPTS[r]]
    assert all(len(TRAIN_PROMPTS[r]) >= 10 and len(UNSEEN_PROMPTS[r]) >= 5 for r in REGIONS)
    assert not set(seen) & set(unseen), "evaluation paraphrases must never be trained on"
    assert all(len(set(TRAIN_PROMPTS[r])) == len(TRAIN_PROMPTS[r]) for r in REGIONS)


def test_later_rounds_bring_in_no_held_out_words() -> None:
    """Words of later rounds' additions that occur in held-out paraphrases were all used before."""

    def words(prompts: dict[str, tuple[str, ...]]) -> set[str]:
        return {w for ps in prompts.values() for p in ps for w in re.findall(r"[a-z]+", p.lower())}

    leaked = (words(regions._MORE_PROMPTS) & words(UNSEEN_PROMPTS)) - words(regions._FIRST_PROMPTS)
    assert not leaked, f"second-round training phrasings use unseen-only words: {sorted(leaked)}"
    assert words(regions._FIRST_PROMPTS) < words(TRAIN_PROMPTS)

    def flat(prompts: dict[str, tuple[str, ...]]) -> set[str]:
        return {p for r in REGIONS for p in prompts[r]}

    assert len(flat(regions.CHECK_PROMPTS)) == 3 * len(REGIONS)
    assert not flat(regions.CHECK_PROMPTS) & (flat(TRAIN_PROMPTS) | flat(UNSEEN_PROMPTS))
    earlier = words(regions._FIRST_PROMPTS) | words(regions._MORE_PROMPTS)
    held_out = words(UNSEEN_PROMPTS) | words(regions.CHECK_PROMPTS)
    leaked = (words(regions._THIRD_PROMPTS) & held_out) - earlier
    assert not leaked, f"third-round training phrasings use held-out-only words: {sorted(leaked)}"


def test_split_prompt() -> None:
    assert pasl_infer.split_prompt("hair; lips\n the eyes \n\n;") == ["hair", "lips", "the eyes"]
    for empty in ("", "   ", " ;\n ; "):
        with pytest.raises(ValueError, match="prompt is empty"):
            pasl_infer.split_prompt(empty)


@pytest.mark.parametrize(
    "hw,res,out",
    [
        ((218, 178), 256, (256, 208)),
        ((512, 512), 256, (256, 256)),
        ((768, 1360), 512, (288, 512)),
        ((10, 2000), 256, (8, 256)),
    ],
)
def test_input_size_keeps_aspect_in_multiples_of_8(hw, res, out) -> None:
    assert pasl_infer.input_size(*hw, res) == out


def test_predict_masks_at_image_size_and_union() -> None:
    torch.manual_seed(0)
    model = PASL(PASLConfig(resolution=64)).eval()
    enc = CallableEncoder("minilm", lambda ps: torch.randn(len(ps), 384))
    image = torch.rand(2, 50, 70, 3)
    mask, per, parts = pasl_infer.locate(model, enc, image, "hair;eyes\nlips")
    assert parts == ["hair", "eyes", "lips"]
    assert mask.shape == (2, 50, 70) and per.shape == (6, 50, 70)
    assert 0 <= float(per.min()) and float(per.max()) <= 1
    assert torch.equal(mask[1], per[3:6].amax(0))
    bad = image.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        pasl_infer.locate(model, enc, bad, "hair")
    clip_enc = CallableEncoder("clip-l", lambda ps: torch.randn(len(ps), 768))
    with pytest.raises(ValueError, match="need text encoder 'minilm'"):
        pasl_infer.locate(model, clip_enc, image, "hair")


def test_refine_views_and_shift_inverse() -> None:
    assert pasl_infer.views(False) == [(0, 0, False)]
    refined = pasl_infer.views(True)
    assert len(set(refined)) == 8 and {(dy, dx) for dy, dx, _ in refined} == {(0, 0), (0, 4), (4, 0), (4, 4)}
    x = torch.rand(2, 3, 24, 32)
    for dy, dx, _ in refined:
        moved = pasl_infer.shift(x, dy, dx)
        assert torch.equal(moved[..., dy:, dx:], x[..., : 24 - dy, : 32 - dx])
        back = pasl_infer.unshift(moved, dy, dx)
        assert torch.equal(back[..., : 24 - dy, : 32 - dx], x[..., : 24 - dy, : 32 - dx])


def test_refine_off_is_the_single_pass_and_on_is_mirror_equivariant() -> None:
    """refine=False is exactly sigmoid(upsampled logits); refine=True maps each view back to the image, so
    mirroring the image mirrors the mask (a random single pass is not mirror-equivariant)."""
    torch.manual_seed(1)
    model = PASL(PASLConfig(resolution=64)).eval()
    for p in model.parameters():
        p.data.mul_(3)
    text, image = torch.randn(2, 384), torch.rand(1, 48, 40, 3)
    plain = pasl_infer.predict_masks(model, image, text, refine=False)
    with torch.no_grad():
        x = pasl_infer.to_model_input(image, 64)
        ref = F.interpolate(model(x, text), size=(48, 40), mode="bilinear", align_corners=False).sigmoid()
    assert torch.equal(plain, ref)
    mirrored = image.flip(2)
    on = pasl_infer.predict_masks(model, image, text)
    assert torch.allclose(pasl_infer.predict_masks(model, mirrored, text), on.flip(-1), atol=1e-5)
    assert (pasl_infer.predict_masks(model, mirrored, text, refine=False) - plain.flip(-1)).abs().max() > 1e-2
    assert on.shape == plain.shape and (on - plain).abs().max() > 1e-3


def test_callable_encoder_checks_shape() -> None:
    with pytest.raises(ValueError, match="expected \\[2,768\\]"):
        CallableEncoder("clip-l", lambda ps: torch.zeros(len(ps), 512)).encode(["a", "b"])
    with pytest.raises(ValueError, match="unknown text encoder"):
        CallableEncoder("t5", lambda ps: torch.zeros(1, 1))
    with pytest.raises(ValueError, match="unknown text encoder"):
        get_encoder("t5")


def test_minilm_is_offline_unit_norm_and_semantic() -> None:
    enc = MiniLMEncoder()
    f = enc.encode(["the hair", "hair", "a pointed nose"])
    assert f.shape == (3, 384)
    assert torch.allclose(f.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert float(f[0] @ f[1]) > float(f[0] @ f[2]) + 0.2
    with pytest.raises(ValueError, match="prompt is empty"):
        enc.encode(["hair", "  "])
