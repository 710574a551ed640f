"""S2D-EC sampler on tiny Flux in the real ComfyUI (issue 4): identities of the fusion rules."""

import pytest
import torch
from helpers import half_mask, pack_module, rel

STEPS = 30  # the paper's N; reconstruction is <= 1e-3 only with enough steps


@pytest.fixture(scope="module")
def runs(pack):
    return pack_module(pack, "nodes.editing_runs")


@pytest.fixture(scope="module")
def case(runs, tiny_flux, tiny_cond, tiny_latent):
    model = tiny_flux(seed=0, weight_scale=0.25)
    source, target, latent = tiny_cond(0), tiny_cond(1), tiny_latent(0)
    inv = runs.run_inversion(
        model, latent, source, steps=STEPS, guidance=1.0, value_blocks=2, store="cpu", preview=False
    )
    return model, source, target, latent, inv


def edit(runs, case, mask, fusion="s2d-ec", T=3, path="inversion", target=True, **kw):
    model, source, tgt, _, inv = case
    return runs.run_edit(
        model,
        inv,
        tgt if target else source,
        mask=mask,
        structure_steps=T,
        guidance=1.0,
        fusion=fusion,
        source_path=path,
        preview=False,
        **kw,
    )


def test_source_prompt_with_inversion_path_reconstructs(runs, case):
    latent = case[3]["samples"]
    for fusion in ("s2d-ec", "latent", "value", "none"):
        out = edit(runs, case, half_mask(), fusion, target=False)
        assert rel(out, latent) <= 1e-3, fusion


def test_zero_mask_keeps_every_structure_latent_on_the_source_path(runs, case):
    inv = case[4]
    seen = {}
    edit(runs, case, torch.zeros(1, 96, 96), "latent", T=STEPS, on_step=lambda j, x: seen.update({j: x}))
    assert sorted(seen) == list(range(STEPS))
    for j, x in seen.items():
        assert torch.equal(x, inv.latents[j + 1]), j


def test_interpolate_path_uses_eq_10(runs, case):
    inv = case[4]
    seen = {}
    edit(
        runs,
        case,
        torch.zeros(1, 8, 8),
        "latent",
        T=2,
        path="interpolate",
        on_step=lambda j, x: seen.update({j: x}),
    )
    for j in (0, 1):
        t = inv.sigmas[j + 1]
        assert torch.equal(seen[j], (1.0 - t) * inv.clean + t * inv.noise)


def test_full_mask_s2dec_equals_no_fusion_exactly(runs, case):
    ones = torch.ones(1, 32, 32)
    assert torch.equal(edit(runs, case, ones, "s2d-ec"), edit(runs, case, None, "none"))
    assert torch.equal(edit(runs, case, ones, "value"), edit(runs, case, None, "none"))


def test_latent_fusion_over_all_steps_returns_the_clean_source_outside_the_mask(runs, case):
    model, inv = case[0], case[4]
    mask = half_mask()
    out = edit(runs, case, mask, "latent", T=STEPS)
    clean = model.model.process_latent_out(inv.clean)
    outside = slice(inv.clean.shape[-1] // 2, None)
    assert torch.equal(out[..., outside], clean[..., outside])
    assert torch.allclose(clean, case[3]["samples"], atol=1e-5)  # the latent format round trip
    assert not torch.allclose(out[..., : inv.clean.shape[-1] // 2], clean[..., : inv.clean.shape[-1] // 2])


def test_value_fusion_only_in_detail_calls_last_blocks_image_tokens_with_mask_weights(pack, runs, case):
    model, inv = case[0], case[4]
    T = 3
    mask = half_mask()
    events = []
    edit(runs, case, mask, "s2d-ec", T=T, observers=[lambda *e: events.append(e)])
    token_mask = pack_module(pack, "sculptor.masks").to_token_grid(mask, *inv.clean.shape[-2:])
    single = len(model.model.diffusion_model.single_blocks)
    fused_keys = set()
    for action, key, block, v_in, v_out in events:
        assert action == "fuse"
        assert key.index >= T and block in (single - 2, single - 1)
        fused_keys.add((key.kind, key.index, block))
        n = token_mask.shape[1]
        assert torch.equal(v_out[:, :, :-n], v_in[:, :, :-n])  # text tokens untouched
        w = token_mask[:, None, :, None]
        expected = w * v_in[:, :, -n:] + (1 - w) * inv.store.get(key, block, v_in)
        assert torch.equal(v_out[:, :, -n:], expected)
    detail_calls = {(kind, j) for j in range(T, STEPS) for kind in ("at", "mid")}
    assert fused_keys == {(k, j, b) for k, j in detail_calls for b in (single - 2, single - 1)}
    assert len(events) == len(fused_keys)  # once per call and block


def test_any_mask_size_and_odd_latent_sizes(runs, tiny_flux, tiny_cond, tiny_latent):
    model = tiny_flux(seed=2, depth=1, depth_single=2)
    latent = tiny_latent(3, height=15, width=17)
    inv = runs.run_inversion(
        model, latent, tiny_cond(0), steps=4, guidance=1.0, value_blocks=1, store="cpu", preview=False
    )
    for mask in (torch.rand(1, 37, 53), torch.rand(120, 136), None):
        out = runs.run_edit(
            model, inv, tiny_cond(1), mask=mask, structure_steps=2, guidance=2.0, preview=False
        )
        assert out.shape == latent["samples"].shape and torch.isfinite(out).all()


def test_two_samplers_on_one_inversion_are_independent(runs, case):
    a1 = edit(runs, case, half_mask(), "s2d-ec")
    b = edit(runs, case, 1 - half_mask(), "s2d-ec")
    a2 = edit(runs, case, half_mask(), "s2d-ec")
    assert torch.equal(a1, a2) and not torch.equal(a1, b)


def test_locality_record_on_the_tiny_model(runs, case, capsys):
    """Random tiny models have no semantics: this records (prints) the outside/inside mean change."""
    latent = case[3]["samples"]
    mask = half_mask()
    w = latent.shape[-1] // 2
    for fusion in ("s2d-ec", "latent", "value", "none"):
        change = (edit(runs, case, mask, fusion) - latent).abs()
        inside, outside = float(change[..., :w].mean()), float(change[..., w:].mean())
        print(f"locality fusion={fusion}: inside {inside:.4f} outside {outside:.4f}")
        assert inside > 0
