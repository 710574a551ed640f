"""Mask combine and the mask -> latent/token grids: plain torch against brute force, the node, the server."""

from __future__ import annotations

import itertools
import logging
import math
from typing import NamedTuple

import pytest
import torch

from sculptor.mask_combine import MODES, combine, feather_mask, gaussian_kernel, grow_mask
from sculptor.masks import as_batch, is_load_image_placeholder, to_latent_grid, to_token_grid, token_count

GEN = torch.Generator().manual_seed(7)


def rand(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=GEN)


def binary(*shape: int) -> torch.Tensor:
    return (rand(*shape) > 0.5).float()


def octagon(radius: int) -> set[tuple[int, int]]:
    """Offsets reached by `radius` alternating 3x3 square / plus dilations of a pixel (documented shape)."""
    square = {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
    plus = {(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)}
    shape = {(0, 0)}
    for step in range(radius):
        shape = {(a + c, b + d) for a, b in shape for c, d in (square if step % 2 == 0 else plus)}
    return shape


def brute_dilate(mask: torch.Tensor, offsets: set[tuple[int, int]]) -> torch.Tensor:
    """out[y,x] = max over offsets of mask[clamp(y+dy), clamp(x+dx)] (replicate borders), by loops."""
    b, h, w = mask.shape
    out = torch.empty_like(mask)
    for y, x in itertools.product(range(h), range(w)):
        vals = [mask[:, min(max(y + dy, 0), h - 1), min(max(x + dx, 0), w - 1)] for dy, dx in offsets]
        out[:, y, x] = torch.stack(vals).max(0).values
    return out


def brute_area(mask: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Area average by supersampling: repeat every pixel h (w) times, then average blocks of H (W)."""
    big = mask.repeat_interleave(h, dim=-2).repeat_interleave(w, dim=-1).double()
    H, W = mask.shape[-2:]
    return big.reshape(mask.shape[0], h, H, w, W).mean(dim=(2, 4)).float()


def test_as_batch_accepts_hw_and_bhw_and_rejects_bad_values():
    assert as_batch(torch.ones(5, 6)).shape == (1, 5, 6)
    assert torch.equal(as_batch(torch.tensor([[[-0.5, 1.5]]])), torch.tensor([[[0.0, 1.0]]]))
    with pytest.raises(ValueError, match="ImageToMask"):
        as_batch(torch.ones(1, 3, 4, 4))
    for bad in (float("nan"), float("inf")):
        m = torch.zeros(2, 4, 4)
        m[1, 2, 2] = bad
        with pytest.raises(ValueError, match="NaN or inf"):
            combine(m)
        with pytest.raises(ValueError, match="mask_b contains NaN"):
            combine(torch.ones(4, 4), m)


@pytest.mark.parametrize("mode", MODES)
def test_modes_are_set_operations_on_binary_masks(mode):
    a, b = binary(3, 9, 11), binary(3, 9, 11)
    out, warnings = combine(a, b, mode)
    A, B = a.bool(), b.bool()
    expected = {"union": A | B, "intersection": A & B, "a minus b": A & ~B, "b only": B}[mode]
    assert torch.equal(out, expected.float()) and warnings == []


def test_soft_modes_are_fuzzy_max_min():
    a, b = rand(2, 6, 6), rand(2, 6, 6)
    assert torch.equal(combine(a, b, "union")[0], torch.maximum(a, b))
    assert torch.equal(combine(a, b, "intersection")[0], torch.minimum(a, b))
    assert torch.allclose(combine(a, b, "a minus b")[0], torch.minimum(a, 1 - b))


def test_output_has_mask_a_size_and_b_is_resized():
    a = torch.zeros(1, 40, 30)
    b = torch.ones(1, 7, 5)
    out, _ = combine(a, b, "union")
    assert out.shape == (1, 40, 30) and torch.allclose(out, torch.ones_like(out))
    half = torch.zeros(1, 8, 8)
    half[:, :, 4:] = 1
    out, _ = combine(torch.zeros(1, 32, 32), half, "union")
    assert not out[0, :, :14].any() and bool((out[0, :, 18:] == 1).all())  # bilinear ramp between


@pytest.mark.parametrize(("ba", "bb", "expected"), [(1, 1, 1), (1, 3, 3), (3, 1, 3), (3, 3, 3)])
def test_batch_one_broadcasts_else_batches_match(ba, bb, expected):
    a, b = binary(ba, 8, 8), binary(bb, 8, 8)
    out, _ = combine(a, b, "union")
    assert out.shape == (expected, 8, 8)
    for i in range(expected):
        assert torch.equal(out[i], torch.maximum(a[min(i, ba - 1)], b[min(i, bb - 1)]))


def test_mismatched_batches_say_how_to_fix():
    with pytest.raises(ValueError, match="same batch size, or a batch of 1"):
        combine(rand(2, 8, 8), rand(3, 8, 8))


def test_load_image_placeholder_is_no_painted_mask():
    placeholder = torch.zeros(1, 64, 64)
    a = binary(2, 48, 80)
    assert is_load_image_placeholder(placeholder) and is_load_image_placeholder(torch.zeros(64, 64))
    assert not is_load_image_placeholder(torch.zeros(1, 64, 65))
    assert not is_load_image_placeholder(torch.zeros(2, 64, 64))  # a real (empty) batch, not LoadImage's
    for mode in ("union", "a minus b"):
        out, warnings = combine(a, placeholder, mode)
        assert torch.equal(out, a) and any("placeholder" in w for w in warnings)
    out, warnings = combine(placeholder, a, "union")  # painted mask missing in mask_a: b alone, at b's size
    assert torch.equal(out, a) and any("mask_a is LoadImage" in w for w in warnings)
    out, _ = combine(placeholder, a, "b only")
    assert torch.equal(out, a)


class Refusal(NamedTuple):
    """Masks and a mode that leave Mask Combine nothing to work on, and the error it must give."""

    a: torch.Tensor
    b: torch.Tensor | None
    mode: str
    match: str


PLACEHOLDER, SMALL = torch.zeros(1, 64, 64), torch.ones(1, 8, 8)
REFUSALS = [
    Refusal(PLACEHOLDER, None, "union", "no edit region"),
    Refusal(PLACEHOLDER, torch.zeros(64, 64), "union", "no edit region"),
    Refusal(SMALL, PLACEHOLDER, "intersection", "intersection.*mask_b.*choose mode 'union'"),
    Refusal(SMALL, None, "intersection", "intersection.*mask_b"),
    Refusal(SMALL, None, "b only", "needs mask_b, but mask_b is not connected"),
    Refusal(SMALL, PLACEHOLDER, "b only", "mask_b is LoadImage's empty placeholder"),
    Refusal(PLACEHOLDER, SMALL, "a minus b", "needs mask_a"),
    Refusal(SMALL, SMALL, "xor", "use one of union"),
]


@pytest.mark.parametrize("case", REFUSALS, ids=lambda c: f"{c.mode}-{c.match[:20]}")
def test_modes_with_nothing_to_work_on_raise_with_the_fix(case: Refusal):
    with pytest.raises(ValueError, match=case.match):
        combine(case.a, case.b, case.mode)


def test_empty_result_warns():
    out, warnings = combine(torch.ones(1, 8, 8), torch.ones(1, 8, 8), "a minus b")
    assert not out.any() and any("nothing will be edited" in w for w in warnings)


@pytest.mark.parametrize("radius", [1, 2, 3, 4])
def test_grow_is_dilation_by_the_documented_octagon(radius):
    m = rand(2, 9, 12) ** 3
    expected = brute_dilate(m, octagon(radius))
    assert torch.equal(grow_mask(m, radius), expected)
    dot = torch.zeros(1, 21, 21)
    dot[0, 10, 10] = 1
    grown = grow_mask(dot, radius)[0]
    assert grown[10, 10 + radius] == 1 and grown[10, 10 + radius + 1] == 0  # reach r along the axes
    assert grown.sum() == len(octagon(radius))
    inside_square = grown[10 - radius : 11 + radius, 10 - radius : 11 + radius]
    assert grown.sum() == inside_square.sum()  # nothing beyond the square of radius r
    corner = grown[10 + radius, 10 + radius]
    assert corner == (1 if radius == 1 else 0)  # rounder than a square: corners cut for r >= 2


def test_huge_grow_saturates_without_looping_forever():
    m = torch.zeros(1, 7, 9)
    m[0, 3, 4] = 0.6
    assert torch.equal(grow_mask(m, 4000), torch.full((1, 7, 9), 0.6))
    assert torch.equal(grow_mask(m, -4000), torch.zeros(1, 7, 9))
    assert torch.equal(grow_mask(m, 16), grow_mask(m, 4000))


def test_shrink_is_dual_of_grow_and_keeps_edge_regions():
    m = rand(2, 10, 13)
    for r in (1, 2, 5):
        assert torch.allclose(grow_mask(m, -r), 1 - grow_mask(1 - m, r))
    band = torch.zeros(1, 10, 10)
    band[:, :, :4] = 1  # painted up to the left border
    shrunk = grow_mask(band, -2)
    assert torch.equal(shrunk[0, :, :2], torch.ones(10, 2)) and not shrunk[0, :, 2:].any()


def test_feather_is_a_normalised_separable_gaussian_with_bounded_reach():
    f = 3
    k = gaussian_kernel(f)
    assert k.shape == (2 * f + 1,) and math.isclose(float(k.sum()), 1.0, rel_tol=1e-6)
    assert math.isclose(float(k[f + 3] / k[f]), math.exp(-0.5 * 9), rel_tol=1e-5)  # sigma = f/3
    m = binary(1, 12, 14)
    padded = torch.nn.functional.pad(m.unsqueeze(1), (f, f, f, f), mode="replicate")[:, 0]
    k2 = torch.outer(k, k)
    brute = torch.zeros_like(m)
    for y, x in itertools.product(range(12), range(14)):
        brute[0, y, x] = (padded[0, y : y + 2 * f + 1, x : x + 2 * f + 1] * k2).sum()
    assert torch.allclose(feather_mask(m, f), brute, atol=1e-6)


def test_feather_ramp_is_centred_and_far_pixels_keep_their_value():
    step = torch.zeros(1, 6, 40)
    step[:, :, 20:] = 1
    out = feather_mask(step, 5)
    row = out[0, 3]
    assert torch.equal(row[:15], torch.zeros(15)) and torch.equal(row[25:], torch.ones(15))
    assert torch.allclose(row[19] + row[20], torch.tensor(1.0))  # symmetric about the edge
    assert bool((row[1:] >= row[:-1]).all())
    assert torch.equal(feather_mask(torch.full((1, 5, 5), 0.3), 9), torch.full((1, 5, 5), 0.3))
    with pytest.raises(ValueError, match="grow < 0"):
        feather_mask(step, -1)


def test_combine_grows_then_feathers():
    a = torch.zeros(1, 30, 30)
    a[:, 10:20, 10:20] = 1
    out, _ = combine(a, None, "union", grow=3, feather=2)
    assert torch.allclose(out, feather_mask(grow_mask(a, 3), 2))
    assert out[0, 15, 15] == 1 and out[0, 0, 0] == 0


@pytest.mark.parametrize(
    ("H", "W", "h", "w"),
    [(32, 48, 4, 6), (37, 51, 5, 7), (7, 5, 16, 9), (64, 64, 64, 64), (1, 1, 3, 2), (30, 20, 7, 11)],
)
def test_latent_grid_is_exact_area_average(H, W, h, w):
    m = rand(2, H, W)
    grid = to_latent_grid(m, h, w)
    assert grid.shape == (2, 1, h, w)
    assert torch.allclose(grid[:, 0], brute_area(m, h, w), atol=1e-5)
    assert torch.allclose(grid.mean(dim=(1, 2, 3)), m.mean(dim=(1, 2)), atol=1e-5)  # area preserved
    assert torch.allclose(to_latent_grid(torch.full((H, W), 0.4), h, w), torch.full((1, 1, h, w), 0.4))


@pytest.mark.parametrize(("h", "w"), [(4, 6), (5, 7), (1, 1), (3, 8), (9, 2)])
def test_token_grid_matches_patch_average_over_real_cells(h, w):
    m = rand(3, 29, 31)
    tokens = to_token_grid(m, h, w)
    assert tokens.shape == (3, token_count(h, w)) == (3, math.ceil(h / 2) * math.ceil(w / 2))
    grid = to_latent_grid(m, h, w)[:, 0]
    expected = []
    for ty, tx in itertools.product(range(math.ceil(h / 2)), range(math.ceil(w / 2))):  # row-major
        expected.append(grid[:, 2 * ty : 2 * ty + 2, 2 * tx : 2 * tx + 2].mean(dim=(1, 2)))
    assert torch.allclose(tokens, torch.stack(expected, dim=1), atol=1e-6)


def test_token_order_matches_comfyui_flux_patchify(comfyui):
    """Same (h w) order as comfy's Flux `process_img`, on a latent padded by pad_to_patch_size (replicate)."""
    import comfy.ldm.common_dit
    from einops import rearrange

    m = rand(1, 40, 56)
    for h, w in ((6, 8), (5, 7)):
        grid = to_latent_grid(m, h, w)
        padded = comfy.ldm.common_dit.pad_to_patch_size(grid, (2, 2), padding_mode="replicate")
        patches = rearrange(padded, "b c (h ph) (w pw) -> b (h w) (c ph pw)", ph=2, pw=2)
        assert torch.allclose(to_token_grid(m, h, w), patches.mean(-1), atol=1e-6)


def _node(pack):
    import nodes

    return nodes.NODE_CLASS_MAPPINGS["FluxSculptorMaskCombine"]


def test_node_schema_documents_every_input(pack):
    import importlib

    cls = _node(pack)
    module = importlib.import_module(pack.__name__ + ".nodes.masks")
    assert module.NODES == [cls] and not hasattr(module, "NODE_CLASS_MAPPINGS")
    schema = cls.GET_SCHEMA()
    assert schema.display_name == "Flux-Sculptor Mask Combine" and schema.category == "Flux-Sculptor/Masks"
    assert "placeholder" in schema.description and "batch of 1" in schema.description
    assert [i.id for i in schema.inputs] == ["mask_a", "mask_b", "mode", "grow", "feather"]
    assert all(i.tooltip for i in schema.inputs)
    assert "size" in schema.inputs[0].tooltip and schema.inputs[1].optional
    types = cls.INPUT_TYPES()
    assert types["required"]["mode"][1]["options"] == list(MODES)
    assert types["required"]["grow"][1]["min"] < 0 and types["required"]["feather"][1]["min"] == 0


def test_node_executes_like_comfyui_calls_it(pack, caplog):
    cls = _node(pack)
    cls.VALIDATE_CLASS()
    node = cls.PREPARE_CLASS_CLONE({})
    a = torch.zeros(1, 48, 32)
    a[:, 20:30, 10:20] = 1
    with caplog.at_level(logging.WARNING):
        out = node.EXECUTE_NORMALIZED(
            mask_a=a, mask_b=torch.zeros(1, 64, 64), mode="union", grow=2, feather=0
        )
    assert torch.equal(out.result[0], grow_mask(a, 2))
    assert "placeholder" in caplog.text
    out = node.EXECUTE_NORMALIZED(mask_a=a, mode="a minus b", grow=0, feather=1)  # mask_b unconnected
    assert out.result[0].shape == (1, 48, 32)
    with pytest.raises(ValueError, match="b only"):
        node.EXECUTE_NORMALIZED(mask_a=a, mode="b only", grow=0, feather=0)


@pytest.mark.server
def test_server_runs_mask_combine_with_core_mask_nodes(server):
    info = server.object_info()["FluxSculptorMaskCombine"]
    assert info["display_name"] == "Flux-Sculptor Mask Combine"
    assert info["output"] == ["MASK"] and info["category"] == "Flux-Sculptor/Masks"
    for section in ("required", "optional"):
        for name, spec in info["input"][section].items():
            assert spec[1].get("tooltip"), name
    prompt = {
        "1": {"class_type": "SolidMask", "inputs": {"value": 0.75, "width": 40, "height": 24}},
        "2": {
            "class_type": "SolidMask",
            "inputs": {"value": 0.0, "width": 64, "height": 64},
        },  # = placeholder
        "3": {
            "class_type": "FluxSculptorMaskCombine",
            "inputs": {"mask_a": ["1", 0], "mask_b": ["2", 0], "mode": "union", "grow": 0, "feather": 0},
        },
        "4": {"class_type": "FluxSculptorTestMaskStats", "inputs": {"mask": ["3", 0]}},
        "5": {
            "class_type": "FluxSculptorMaskCombine",
            "inputs": {"mask_a": ["1", 0], "mode": "b only", "grow": 0, "feather": 0},
        },
        "6": {"class_type": "FluxSculptorTestMaskStats", "inputs": {"mask": ["5", 0]}},
    }
    entry = server.run({k: prompt[k] for k in "1234"})
    stats = entry["outputs"]["4"]
    assert stats["shape"] == [1, 24, 40] and stats["min"] == [0.75] and stats["max"] == [0.75]
    with pytest.raises(RuntimeError, match="needs mask_b"):
        server.run({k: prompt[k] for k in "156"})
