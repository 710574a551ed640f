"""PASL model: shapes, full convolutionality, the paper's loss, safetensors round trip and its errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from scripts.train_pasl import dice_loss, lr_at, pasl_loss  # the pack root is on sys.path (conftest)
from sculptor.pasl import PASL, PASLConfig, load_pasl, read_metadata, save_pasl


@pytest.fixture(scope="module")
def model() -> PASL:
    torch.manual_seed(0)
    return PASL(PASLConfig()).eval()


def test_architecture_is_the_papers_table_4_and_5(model: PASL) -> None:
    convs = [m for m in model.image_encoder if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (3, 64),
        (64, 128),
        (128, 256),
        (256, 512),
        (512, 512),
        (512, 512),
    ]
    assert [c.stride[0] for c in convs] == [1, 2, 2, 2, 1, 1]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    lin = [m for m in model.text_projector if isinstance(m, torch.nn.Linear)]
    assert [(x.in_features, x.out_features) for x in lin] == [(384, 1024), (1024, 512)]


@pytest.mark.parametrize("h,w", [(256, 256), (256, 208), (64, 40), (512, 512)])
def test_fully_convolutional_output_is_one_eighth(model: PASL, h: int, w: int) -> None:
    with torch.no_grad():
        out = model(torch.rand(2, 3, h, w), torch.randn(5, 384))
    assert out.shape == (2, 5, h // 8, w // 8)


def test_rejects_sizes_not_multiple_of_8_and_wrong_text_dim(model: PASL) -> None:
    with pytest.raises(ValueError, match="divisible by 8"):
        model(torch.rand(1, 3, 100, 64), torch.randn(1, 384))
    with pytest.raises(ValueError, match="384-d text features"):
        model(torch.rand(1, 3, 64, 64), torch.randn(1, 768))


def test_mask_is_sigmoid_of_channel_sum(model: PASL) -> None:
    """mask = sigmoid(sum_c f_img * f_txt / sqrt(512)) at every location, per prompt and batch row."""
    x, t = torch.rand(2, 3, 32, 24), torch.randn(3, 384)
    with torch.no_grad():
        f = model.image_features(x)
        g = model.text_features(t)
        ref = (f[:, None] * g[None, :, :, None, None]).sum(2) / math.sqrt(512)
        assert torch.allclose(model(x, t), ref, atol=1e-4)
        per_row = model.logits_from(f, g[None].expand(2, -1, -1))
        assert torch.allclose(per_row, ref, atol=1e-4)


def test_text_scale_does_not_matter(model: PASL) -> None:
    x, t = torch.rand(1, 3, 16, 16), torch.randn(2, 384)
    with torch.no_grad():
        assert torch.allclose(model(x, t), model(x, 27.0 * t), atol=1e-4)


def test_loss_values_on_known_cases() -> None:
    target = torch.zeros(1, 1, 4, 4)
    target[..., :2, :] = 1
    perfect = (target * 2 - 1) * 50
    total, bce, dice = pasl_loss(perfect, target)
    assert bce.item() < 1e-6 and dice.item() < 1e-6 and total.item() < 1e-6
    zero = torch.zeros(1, 1, 4, 4)
    _, bce, dice = pasl_loss(zero, target)
    assert bce.item() == pytest.approx(math.log(2), abs=1e-6)
    # p = 0.5 everywhere: dice = 1 - (2*4 + 1) / (8 + 8 + 1)
    assert dice.item() == pytest.approx(1 - 9 / 17, abs=1e-6)
    # exactly inverted: no overlap, 8 predicted + 8 true pixels
    assert dice_loss(-perfect, target).item() == pytest.approx(1 - 1 / 17, abs=1e-4)


def test_schedule_warms_up_then_decays_to_zero() -> None:
    assert lr_at(0, 1000, 1e-4, 100) == pytest.approx(1e-6)
    assert lr_at(99, 1000, 1e-4, 100) == pytest.approx(1e-4)
    assert lr_at(550, 1000, 1e-4, 100) == pytest.approx(5e-5)
    assert lr_at(1000, 1000, 1e-4, 100) == pytest.approx(0.0, abs=1e-12)


def test_save_load_round_trip_keeps_outputs_and_metadata(model: PASL, tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    save_pasl(model, path, dtype=torch.float32, extra={"epochs": "3"})
    meta = read_metadata(path)
    assert meta["encoder"] == "minilm" and meta["text_dim"] == "384" and meta["resolution"] == "256"
    assert meta["epochs"] == "3"
    loaded = load_pasl(path)
    assert loaded.config == model.config
    x, t = torch.rand(1, 3, 32, 32), torch.randn(2, 384)
    with torch.no_grad():
        assert torch.equal(loaded(x, t), model(x, t))
    save_pasl(model, tmp_path / "h.safetensors")
    half = load_pasl(tmp_path / "h.safetensors")
    assert next(half.parameters()).dtype == torch.float32
    with torch.no_grad():
        assert torch.allclose(half(x, t), model(x, t), atol=2e-2)


def test_clip_config_round_trip(tmp_path: Path) -> None:
    m = PASL(PASLConfig(encoder="clip-l", text_dim=768, resolution=512))
    save_pasl(m, tmp_path / "c.safetensors")
    assert load_pasl(tmp_path / "c.safetensors").config.text_dim == 768


def test_load_errors_say_what_to_do(model: PASL, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not found.*pasl_weights"):
        load_pasl(tmp_path / "missing.safetensors")
    good = tmp_path / "good.safetensors"
    save_pasl(model, good)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(ValueError, match="truncated"):
        load_pasl(truncated)
    text = tmp_path / "notes.safetensors"
    text.write_text("this is not a weights file")
    with pytest.raises(ValueError, match="not a readable safetensors"):
        load_pasl(text)
    other = tmp_path / "other.safetensors"
    save_file({"x": torch.zeros(2)}, str(other))
    with pytest.raises(ValueError, match="not PASL weights"):
        load_pasl(other)
    with pytest.raises(ValueError, match="trained with text encoder 'minilm', not 'clip-l'"):
        load_pasl(good, encoder="clip-l")


def test_text_noise_has_the_requested_norm_and_templates_keep_regions() -> None:
    from scripts.pasl_regions import REGIONS, TRAIN_PROMPTS
    from scripts.train_pasl import TEMPLATES, noisy_text, template_prompts

    g = torch.Generator().manual_seed(0)
    text = torch.nn.functional.normalize(torch.randn(4000, 384), dim=-1)
    noise = noisy_text(3.0 * text, 0.4, g) - text
    assert float(noise.norm(dim=-1).mean()) == pytest.approx(0.4, rel=0.05)
    assert torch.allclose(noisy_text(text, 0.0, g), text, atol=1e-6)
    expanded = template_prompts()
    for r in REGIONS:
        assert len(expanded[r]) == len(TEMPLATES) * len(TRAIN_PROMPTS[r])
        assert set(TRAIN_PROMPTS[r]) <= set(expanded[r])
