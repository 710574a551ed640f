"""PASL inference helpers and text features (pure sculptor/, no ComfyUI)."""

from __future__ import annotations

import pytest
import torch

from sculptor import pasl_infer
from sculptor.pasl import PASL, PASLConfig
from sculptor.regions import REGIONS, TRAIN_PROMPTS, UNSEEN_PROMPTS
from sculptor.text_features import CallableEncoder, MiniLMEncoder, get_encoder


def test_regions_and_prompt_lists() -> None:
    assert len(REGIONS) == 18 and len(set(REGIONS)) == 18
    seen = [p for r in REGIONS for p in TRAIN_PROMPTS[r]]
    unseen = [p for r in REGIONS for p in UNSEEN_PROMPTS[r]]
    assert all(len(TRAIN_PROMPTS[r]) >= 10 and len(UNSEEN_PROMPTS[r]) >= 5 for r in REGIONS)
    assert not set(seen) & set(unseen), "evaluation paraphrases must never be trained on"


def test_split_prompt() -> None:
    assert pasl_infer.split_prompt("hair; lips\n the eyes \n\n;") == ["hair", "lips", "the eyes"]
    for empty in ("", "   ", " ;\n ; "):
        with pytest.raises(ValueError, match="prompt is empty"):
            pasl_infer.split_prompt(empty)


@pytest.mark.parametrize("hw,res,out", [((218, 178), 256, (256, 208)), ((512, 512), 256, (256, 256)),
                                        ((768, 1360), 512, (288, 512)), ((10, 2000), 256, (8, 256))])
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
    with pytest.raises(ValueError, match="non-empty prompt"):
        enc.encode(["hair", "  "])
