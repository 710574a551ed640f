"""RF-Solver inversion node on tiny Flux in the real ComfyUI (issue 3)."""

import copy

import pytest
import torch
from helpers import pack_module, progress_hook, rel

SCALE = 0.25  # tiny Flux weights ~ N(0, (0.25 / sqrt(fan_in))^2): a smooth velocity field


@pytest.fixture(scope="module")
def runs(pack):
    return pack_module(pack, "nodes.editing_runs")


@pytest.fixture(scope="module")
def setup(tiny_flux, tiny_cond, tiny_latent):
    return tiny_flux(seed=0, weight_scale=SCALE), tiny_cond(0), tiny_latent(0)


def test_round_trip_error_is_small_and_second_order(runs, setup):
    model, cond, latent = setup
    errors = {}
    for n in (15, 30):
        inv = invert(runs, model, latent, cond, n, value_blocks=2)
        back = runs.run_edit(model, inv, cond, structure_steps=0, guidance=1.0, fusion="none", preview=False)
        errors[n] = rel(back, latent["samples"])
    assert errors[30] <= 1e-3, errors
    assert errors[15] / errors[30] >= 3.0, errors  # second order: about 4x per halving of the step


def invert(runs, model, latent, cond, steps, value_blocks):
    return runs.run_inversion(
        model, latent, cond, steps=steps, guidance=1.0, value_blocks=value_blocks, store="cpu", preview=False
    )


def test_store_holds_exactly_the_requested_blocks_calls_and_image_tokens(pack, runs, setup):
    model, cond, latent = setup
    n, m = 4, 3
    inv = invert(runs, model, latent, cond, n, m)
    single = len(model.model.diffusion_model.single_blocks)
    assert inv.value_blocks == frozenset(range(single - m, single))
    calls = {key for key, _ in inv.store.keys()}
    # every call the editor makes: ("at", j) and ("mid", j) for j < n, where ("at", 0) at sigma 1 is the
    # inversion's extra recording call; the inversion's first call at sigma 0 has no editing partner
    expected = {(kind, j) for j in range(n) for kind in ("at", "mid")}
    assert {(k.kind, k.index) for k in calls} == expected
    assert len(inv.store.keys()) == len(expected) * m
    b, _, h, w = latent["samples"].shape
    heads, hidden = 4, 64
    tokens = (h // 2) * (w // 2)
    for key in inv.store.keys():
        v = inv.store.stored(*key)
        assert v.shape == (b, heads, tokens, hidden // heads)  # image tokens only, never the 8 text tokens
        assert v.dtype == torch.float32 and v.device.type == "cpu"
    value_bytes = pack_module(pack, "sculptor.value_store").value_bytes
    assert inv.store.nbytes == value_bytes(len(expected), m, b, heads, tokens, hidden // heads, torch.float32)


def single_block_values(block, x, vec, tokens):
    """V_img of a ComfyUI Flux SingleStreamBlock computed by hand from its input x [B,L,D]."""
    from comfy.ldm.flux.layers import apply_mod

    mod, _ = block.modulation(vec)
    qkv, _ = torch.split(
        block.linear1(apply_mod(block.pre_norm(x), 1 + mod.scale, mod.shift)),
        [3 * block.hidden_size, block.mlp_hidden_dim_first],
        dim=-1,
    )
    v = qkv.view(qkv.shape[0], qkv.shape[1], 3, block.num_heads, -1).permute(2, 0, 3, 1, 4)[2]
    return v[:, :, -tokens:]


def test_recorded_values_are_the_image_rows_of_v_and_other_patches_still_run(runs, setup):
    model, cond, latent = setup
    model = model.clone()
    dm = model.model.diffusion_model
    last = len(dm.single_blocks) - 1
    seen = []

    def other_pack_patch(args, extra):  # a block patch another pack installed first: must still be called
        seen.append((args["img"].clone(), args["vec"].clone()))
        return extra["original_block"](args)

    model.set_model_patch_replace(other_pack_patch, "dit", "single_block", last)
    inv = invert(runs, model, latent, cond, 3, 1)
    keys = [k for k in inv.store.keys() if k[1] == last]
    assert len(seen) == 2 * 3 + 1 and len(keys) == 2 * 3  # one call (sigma 0) is seen but not recorded
    tokens = inv.store.stored(*keys[0]).shape[2]
    for (x, vec), key in zip(seen[1:], keys, strict=True):
        expected = single_block_values(dm.single_blocks[last], x, vec, tokens)
        assert torch.allclose(inv.store.stored(*key), expected, atol=1e-6)


def test_same_call_twice_is_bitwise_identical_and_model_is_untouched(runs, setup):
    model, cond, latent = setup
    options_before = copy.deepcopy(model.model_options)
    patches_before = dict(model.object_patches)
    a = invert(runs, model, latent, cond, 4, 2)
    b = invert(runs, model, latent, cond, 4, 2)
    assert all(torch.equal(x, y) for x, y in zip(a.latents, b.latents, strict=True))
    assert torch.equal(a.noise_samples, b.noise_samples)
    assert all(torch.equal(a.store.stored(*k), b.store.stored(*k)) for k in a.store.keys())
    assert model.model_options == options_before
    assert model.object_patches == patches_before


def test_velocity_is_exact_at_sigma_zero(pack, setup):
    """The velocity patch returns the raw output: it matches x0 arithmetic where that works (sigma > 0)
    and stays finite and continuous at sigma 0, where (x - x0) / sigma cannot recover it."""
    driver = pack_module(pack, "nodes.comfy_sampling")
    model, cond, latent = setup
    x = latent["samples"]
    got = {}

    def loop(velocity, x_in, progress):
        for sigma in (0.0, 1e-4, 0.5):
            got[sigma] = velocity(x_in, sigma, None)
        return x_in

    clone = driver.velocity_clone(model)
    driver.run_loop(clone, cond, x, torch.tensor([1.0, 0.5, 0.0]), driver.LoopSampler(loop, None), False)
    x_in = model.model.process_latent_in(x)
    captured = {}

    def x0_loop(velocity, xi, progress):
        captured["x0"] = velocity(xi, 0.5, None)
        return xi

    driver.run_loop(model, cond, x, torch.tensor([1.0, 0.5, 0.0]), driver.LoopSampler(x0_loop, None), False)
    v_from_x0 = (x_in - captured["x0"]) / 0.5
    assert torch.allclose(got[0.5], v_from_x0, atol=1e-5)
    assert torch.isfinite(got[0.0]).all()
    assert rel(got[0.0], got[1e-4]) < 1e-3


def test_progress_cancel_leaves_nothing_patched(runs, setup):
    import comfy.model_management
    import comfy.utils

    model, cond, latent = setup
    options_before = copy.deepcopy(model.model_options)
    updates = []

    def hook(value, total, preview, node_id=None):
        updates.append((value, total))
        if value == 2:
            comfy.model_management.interrupt_current_processing(True)

    try:
        with progress_hook(hook), pytest.raises(comfy.model_management.InterruptProcessingException):
            runs.run_inversion(model, latent, cond, steps=6, guidance=1.0, value_blocks=2, store="cpu")
    finally:
        comfy.model_management.interrupt_current_processing(False)
    assert updates[:2] == [(1, 6), (2, 6)]
    assert model.model_options == options_before
    inv = invert(runs, model, latent, cond, 3, 2)  # still usable
    assert len(inv.latents) == 4
