"""Nano's Flux trainer on tiny data: the LayerNorm copy workaround, guidance targets, text features."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from scripts.nano.checkpoint import read_state
from scripts.nano.flux_model import build_flux, make_trainable
from scripts.nano.train_flux import TextCache, distilled_target, frozen_copy, velocity
from scripts.nano.train_flux import main as flux_main
from sculptor.nano import NANO_FLUX, NANO_TEXT_TOKENS, nano_text_features


def tiny_latents(path: Path, n: int = 12) -> Path:
    rng = np.random.default_rng(0)
    edits = np.array(["", "lipstick=red", "hair=blond;glasses=sunglasses", "cheeks=rosy"] * (n // 4))
    np.savez(
        path,
        latents=rng.standard_normal((n, 16, 16, 16)).astype(np.float16),
        face=np.arange(n) // 4,
        edits=edits,
        holdout=np.arange(n) >= n - 4,
        names=np.array([f"{i:06d}" for i in range(n // 4)]),
    )
    return path


def randomised(seed: int = 0) -> torch.nn.Module:
    """Nano's Flux with every weight random (the training init zeroes the output, hiding differences)."""
    model = build_flux(NANO_FLUX, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.05 + (1.0 if name.endswith(".scale") else 0.0))
    return model


def inputs(b: int = 2):
    gen = torch.Generator().manual_seed(1)
    return (
        torch.randn(b, 16, 16, 16, generator=gen),
        torch.full((b,), 0.5),
        (torch.randn(b, NANO_TEXT_TOKENS, 384, generator=gen), torch.randn(b, 384, generator=gen)),
    )


def test_layernorm_copy_is_needed_and_changes_nothing(comfyui) -> None:
    if importlib.util.find_spec("comfy_kitchen") is not None:
        pytest.skip("Nano trains on the pinned ComfyUI: comfy-kitchen's RoPE kernel (0.33) has no backward")
    model = randomised()
    x, sigma, text = inputs()
    plain = velocity(model, x, sigma, text, torch.ones(2))
    with pytest.raises(RuntimeError):  # the message differs by ComfyUI and torch version
        plain.square().mean().backward()
    hooks = make_trainable(model)
    hooked = velocity(model, x, sigma, text, torch.ones(2))
    assert torch.equal(hooked, plain)
    hooked.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    for h in hooks:
        h.remove()


def test_distilled_target_is_cfg_of_the_model(comfyui) -> None:
    """g = 1 gives the conditional velocity; the target is affine in g through v_u and v_c."""
    model = randomised()
    x, sigma, text = inputs()
    empty = (torch.zeros_like(text[0]), torch.zeros_like(text[1]))
    one = distilled_target(model, x, sigma, text, empty, torch.ones(2))
    assert torch.allclose(one, velocity(model, x, sigma, text, torch.ones(2)), atol=1e-5)
    v_u = distilled_target(model, x, sigma, text, empty, torch.zeros(2))
    three = distilled_target(model, x, sigma, text, empty, torch.full((2,), 3.0))
    assert torch.allclose(three, v_u + 3 * (one - v_u), atol=1e-4)


def test_distillation_teacher_is_a_frozen_copy(comfyui) -> None:
    """Phase B's targets come from a snapshot: training the model does not move the teacher."""
    model = randomised()
    x, sigma, text = inputs()
    teacher = frozen_copy(model)
    ones = torch.ones(2)
    assert torch.equal(velocity(teacher, x, sigma, text, ones), velocity(model, x, sigma, text, ones))
    assert not any(p.requires_grad for p in teacher.parameters())
    before = velocity(teacher, x, sigma, text, ones)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    assert torch.equal(velocity(teacher, x, sigma, text, ones), before)
    assert not torch.allclose(velocity(model, x, sigma, text, ones), before)


def test_text_features_pad_with_zeros_and_pool_to_unit_norm() -> None:
    tokens, pooled = nano_text_features(["a photo of a person with red lipstick", ""])
    assert tokens.shape == (2, NANO_TEXT_TOKENS, 384) and pooled.shape == (2, 384)
    assert torch.allclose(pooled.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert tokens[1, 2:].abs().max() == 0 and tokens[1, :2].abs().max() > 0  # "" is [CLS] [SEP]
    cache = TextCache()
    assert torch.equal(cache(["", "x"])[0][0], tokens[1])
    with pytest.raises(ValueError, match="list of prompts"):
        nano_text_features("a face")


def test_trainer_runs_both_guidance_phases_and_resumes(comfyui, tmp_path: Path) -> None:
    data, ckpt = tiny_latents(tmp_path / "lat.npz"), tmp_path / "flux.safetensors"
    common = [
        "--data",
        str(data),
        "--ckpt",
        str(ckpt),
        "--batch",
        "2",
        "--eval-every",
        "2",
        "--eval-rows",
        "2",
        "--log-every",
        "1",
        "--warmup",
        "1",
        "--distill-from",
        "1",
    ]
    flux_main(common + ["--total-steps", "2"])
    flux_main(common + ["--total-steps", "3", "--resume"])
    state = read_state(ckpt)
    assert state["step"] == 3 and state["history"]["step"] == [1, 2, 3]
    assert all(np.isfinite(state["history"]["loss"])) and len(state["history"]["held_out"]) == 1
    flux_main(["--ckpt", str(ckpt), "--export", "--out", str(tmp_path / "nano_flux.safetensors")])
    assert (tmp_path / "nano_flux.safetensors").stat().st_size > 1_000_000


def test_lips_weights_mark_the_latent_cells_the_lips_touch(comfyui, tmp_path: Path) -> None:
    """lips_weights reads the faces npz beside the latents: 1 + w on the 8x8 blocks holding lips pixels,
    1 elsewhere, row by row as load_latents; the trainer runs with it."""
    from test_nano_dataset import fake_pasl

    from scripts.nano.build_dataset import build
    from scripts.nano.train_flux import lips_weights

    np.savez(tmp_path / "nano_faces.npz", **build(fake_pasl(3), variants=1, top=20))
    data = tiny_latents(tmp_path / "nano_latents.npz")
    w = lips_weights(data, False, 4.0)
    assert w.shape == (8, 1, 16, 16)
    with np.load(tmp_path / "nano_faces.npz") as f:
        k = list(f["regions"]).index("lips")
        lips = np.unpackbits(f["masks"][0, k], axis=-1)[:, :128].reshape(16, 8, 16, 8).any((1, 3))
    assert torch.equal(w[0, 0], torch.from_numpy(np.where(lips, 5.0, 1.0)).float())
    assert lips.sum() > 0 and (~lips).sum() > 0
    flux_main(
        [
            "--data",
            str(data),
            "--ckpt",
            str(tmp_path / "c.safetensors"),
            "--batch",
            "2",
            "--eval-every",
            "100",
            "--warmup",
            "1",
            "--total-steps",
            "2",
            "--lips-weight",
            "4",
        ]
    )
    assert read_state(tmp_path / "c.safetensors")["step"] == 2
