"""Edit strength on the S2D-EC sampler (issue 15, item 1): 0 = the reconstruction, 1 = today's edit."""

import pytest
import torch
from helpers import half_mask, pack_module

STEPS = 8


@pytest.fixture(scope="module")
def runs(pack):
    return pack_module(pack, "nodes.editing_runs")


@pytest.fixture(scope="module")
def case(runs, tiny_flux, tiny_cond, tiny_latent):
    model = tiny_flux(seed=0, weight_scale=0.25)
    inv = runs.run_inversion(
        model,
        tiny_latent(0),
        tiny_cond(0),
        steps=STEPS,
        guidance=1.0,
        value_blocks=2,
        store="cpu",
        preview=False,
    )
    return model, inv, tiny_cond(1)


def edit(runs, case, mask, **kw):
    model, inv, target = case
    return runs.run_edit(model, inv, target, mask=mask, structure_steps=2, guidance=2.0, preview=False, **kw)


def test_strength_zero_is_the_reconstruction_exactly(runs, case):
    reconstruction = edit(runs, case, torch.zeros(1, 32, 32))
    for mask in (half_mask(), None):
        assert torch.equal(edit(runs, case, mask, strength=0.0), reconstruction)
    assert not torch.equal(edit(runs, case, half_mask()), reconstruction)


def test_strength_one_is_the_edit_bit_for_bit(runs, case, s2d_node):
    model, inv, target = case
    node = s2d_node.execute(
        model=model,
        inversion=inv,
        conditioning=target,
        structure_steps=2,
        guidance=2.0,
        fusion="s2d-ec",
        source_path="inversion",
        mask=half_mask(),
    )
    default = node.result[0]["samples"]  # the node without `strength` (old prompts and workflows)
    assert torch.equal(edit(runs, case, half_mask(), strength=1.0), default)
    assert torch.equal(edit(runs, case, half_mask()), default)


def test_change_inside_the_mask_grows_with_strength(runs, case):
    mask = half_mask()
    reconstruction = edit(runs, case, mask, strength=0.0)
    inside = slice(0, reconstruction.shape[-1] // 2)
    change = []
    for strength in (0.0, 0.25, 0.5, 0.75, 1.0):
        out = edit(runs, case, mask, strength=strength)
        change.append(float((out - reconstruction)[..., inside].abs().mean()))
    assert change[0] == 0.0
    assert all(a < b for a, b in zip(change, change[1:], strict=False)), change


def test_strength_out_of_range_is_refused(runs, case):
    with pytest.raises(ValueError, match="strength must be between 0 and 1"):
        edit(runs, case, half_mask(), strength=1.5)
