"""Bad inputs to the inversion and S2D-EC nodes (issue 8): each gives a ValueError that says how to fix it,
or a documented adaptation that a test pins down. Node level: the V3 classes' `execute`, as ComfyUI calls
them. Through the real server (the message reaches /history): tests/test_bad_inputs_server.py.

Documented adaptations (also in the S2D-EC node's description):
- The S2D-EC sampler has no LATENT input: it always edits the inversion's own latent, so its output has
  the inversion's size and batch. A mask of any size is stretched to that latent (area average); a warning
  is logged when the mask's aspect ratio differs by more than 5% (a mask made from another image).
- Odd latent sizes (images whose sides are not multiples of 16 px) run through Flux's own
  pad_to_patch_size; token masks average over real latent cells only (sculptor.masks.to_token_grid).
- An all-zero mask logs a warning and returns the reconstruction (the solve with the source prompt).
- A mask at the size of the image VAEEncode saw is centre-cropped as VAEEncode crops the image.
PASL node inputs: tests/test_bad_inputs_pasl.py.
"""

from __future__ import annotations

import logging

import helpers
import pytest
import torch
from helpers import edit, rel


@pytest.fixture(scope="module")
def small(tiny_flux, tiny_cond, tiny_latent):
    """A small smooth tiny Flux, source/target prompts, a 16x16 latent (128 px image)."""
    return tiny_flux(seed=0, depth=1, depth_single=2), tiny_cond(0), tiny_cond(1), tiny_latent(0)


def invert(inv_node, model, latent, cond, steps=3, value_blocks=1, store="cpu"):
    return helpers.invert(inv_node, model, latent, cond, steps, value_blocks, store=store)


@pytest.fixture(scope="module")
def inversion(inv_node, small):
    model, source, _, latent = small
    return invert(inv_node, model, latent, source)


def tiny_sd15():
    """A real (random, tiny) SD1.5-style MODEL from ComfyUI's own classes: UNet, not Flux."""
    import comfy.model_patcher
    import comfy.supported_models

    cfg = {
        "use_checkpoint": False,
        "image_size": 32,
        "out_channels": 4,
        "use_spatial_transformer": True,
        "legacy": False,
        "adm_in_channels": None,
        "in_channels": 4,
        "model_channels": 32,
        "num_res_blocks": [1],
        "transformer_depth": [1],
        "channel_mult": [1],
        "transformer_depth_middle": 1,
        "use_linear_in_transformer": False,
        "context_dim": 32,
        "num_heads": 2,
        "transformer_depth_output": [1, 1],
        "use_temporal_attention": False,
        "use_temporal_resblock": False,
    }
    config = comfy.supported_models.SD15(cfg)
    config.set_inference_dtype(torch.float32, None)
    model = config.get_model({}, device=torch.device("cpu"))
    return comfy.model_patcher.ModelPatcher(model, torch.device("cpu"), torch.device("cpu"))


def tiny_variant(kind: str):
    """Real ComfyUI Flux variants, tiny: FLUX.1 Fill (96 input channels), Chroma and Flux2 (Flux
    subclasses), FLUX.1-schnell (no guidance embedding). Weights: the suite's smooth random init."""
    import comfy.model_patcher
    import comfy.supported_models
    from tiny_flux_pack.tiny_flux import init_weights, tiny_flux_config

    cfg = tiny_flux_config(depth=1, depth_single=2)
    if kind == "fill":
        config = comfy.supported_models.FluxInpaint({**cfg, "in_channels": 96})
    elif kind == "flux2":
        config = comfy.supported_models.Flux2({**cfg, "image_model": "flux2"})
    elif kind == "schnell":
        config = comfy.supported_models.FluxSchnell({**cfg, "guidance_embed": False})
    else:
        keep = (
            "in_channels",
            "out_channels",
            "context_in_dim",
            "hidden_size",
            "mlp_ratio",
            "num_heads",
            "depth",
            "depth_single_blocks",
            "axes_dim",
            "theta",
            "patch_size",
            "qkv_bias",
        )
        chroma = {k: cfg[k] for k in keep} | {
            "image_model": "chroma",
            "in_dim": 16,
            "out_dim": 64,
            "hidden_dim": 32,
            "n_layers": 1,
        }
        config = comfy.supported_models.Chroma(chroma)
    config.set_inference_dtype(torch.float32, None)
    model = config.get_model({}, device=torch.device("cpu"))
    init_weights(model.diffusion_model, 0, 0.25)
    model.diffusion_model.requires_grad_(False)
    return comfy.model_patcher.ModelPatcher(model, torch.device("cpu"), torch.device("cpu"))


def test_non_flux_model_is_refused_by_both_nodes(inv_node, s2d_node, small, inversion):
    _, source, target, latent = small
    sd15 = tiny_sd15()
    with pytest.raises(ValueError, match="needs a FLUX.1 model .* got BaseModel. Connect the MODEL output"):
        invert(inv_node, sd15, latent, source)
    with pytest.raises(ValueError, match="needs a FLUX.1 model"):
        edit(s2d_node, sd15, inversion, target)


def test_flux_without_comfyuis_blocks_is_refused(inv_node, small, tiny_flux):
    """A model_base.Flux whose transformer is not ComfyUI's Flux (another pack's replacement)."""
    _, source, _, latent = small
    replaced = tiny_flux(seed=0, depth=1, depth_single=2)
    del replaced.model.diffusion_model.single_blocks
    with pytest.raises(ValueError, match="transformer \\(Flux\\) is not ComfyUI's own Flux.*UNETLoader"):
        invert(inv_node, replaced, latent, source)


@pytest.mark.parametrize(
    "kind, message",
    [
        ("fill", "takes 96 input channels .*Fill"),
        ("chroma", "Flux-derived model \\(Chroma\\).*FLUX.1-dev"),
        ("flux2", "Flux-derived model \\(Flux2\\)"),
    ],
)
def test_unsupported_flux_variants_are_refused(inv_node, small, kind, message):
    _, source, _, latent = small
    with pytest.raises(ValueError, match=message):
        invert(inv_node, tiny_variant(kind), latent, source)


def test_flux_schnell_is_supported_and_reconstructs(inv_node, s2d_node, small):
    _, source, _, latent = small
    schnell = tiny_variant("schnell")
    inv = invert(inv_node, schnell, latent, source, steps=30, value_blocks=2)
    out = edit(s2d_node, schnell, inv, source, mask=None, fusion="none", guidance=1.0)
    assert rel(out, latent["samples"]) <= 1e-3


def test_kontext_reference_latents_are_refused(inv_node, s2d_node, small, inversion):
    import node_helpers

    model, source, target, latent = small
    kontext = node_helpers.conditioning_set_values(
        source, {"reference_latents": [latent["samples"]]}, append=True
    )
    with pytest.raises(ValueError, match="reference latents \\(FLUX.1 Kontext\\).*use CLIPTextEncode"):
        invert(inv_node, model, latent, kontext)
    with pytest.raises(ValueError, match="reference latents"):
        edit(s2d_node, model, inversion, kontext)


def test_conditioning_from_another_text_encoder_is_refused(inv_node, small):
    model, source, _, latent = small
    cond, options = source[0]
    sdxl_like = [[torch.randn(1, 8, 2048), dict(options)]]
    no_pooled = [[cond, {k: v for k, v in options.items() if k != "pooled_output"}]]
    nan = [[cond.clone().index_fill_(1, torch.tensor([0]), float("nan")), dict(options)]]
    for bad, message in (
        (sdxl_like, "2048-dim text features but this Flux model takes 32.*DualCLIPLoader"),
        (no_pooled, "no clip_l pooled output.*DualCLIPLoader"),
        (nan, "NaN or inf.*re-encode the prompt"),
        ([], "conditioning is empty"),
    ):
        with pytest.raises(ValueError, match=message):
            invert(inv_node, model, latent, bad)


def test_sampler_needs_the_inversions_model(s2d_node, small, inversion, tiny_flux):
    model, _, target, _ = small
    other = tiny_flux(seed=1, depth=1, depth_single=2)
    with pytest.raises(ValueError, match="different MODEL.*same MODEL as the inversion"):
        edit(s2d_node, other, inversion, target)
    lora = model.clone()
    key = next(iter(lora.model_state_dict()))
    lora.add_patches({key: (torch.zeros_like(lora.model_state_dict()[key]),)}, 1.0)
    with pytest.raises(ValueError, match="other patches/LoRAs"):
        edit(s2d_node, lora, inversion, target)
    out = edit(s2d_node, model.clone(), inversion, target)  # a plain clone is the same MODEL
    assert out.shape == (1, 16, 16, 16)


@pytest.mark.parametrize(
    "case, message",
    [
        ("sd_latent", "must be a Flux LATENT \\[B,16,h,w\\]; got shape \\[1, 4, 16, 16\\].*VAEEncode"),
        ("nan", "NaN or inf.*re-encode"),
        ("inf", "NaN or inf"),
        ("empty", "all zeros.*VAEEncode"),
        ("noise_mask", "noise_mask.*plain VAEEncode.*`mask` input"),
    ],
)
def test_bad_latents_are_refused(inv_node, small, case, message):
    model, source, _, latent = small
    samples = latent["samples"].clone()
    bad = {"samples": samples}
    if case == "sd_latent":
        bad["samples"] = samples[:, :4]
    elif case in ("nan", "inf"):
        samples[0, 3, 5, 7] = float("nan") if case == "nan" else float("-inf")
    elif case == "empty":
        bad["samples"] = torch.zeros_like(samples)
    else:
        bad["noise_mask"] = torch.ones(1, 1, 128, 128)
    with pytest.raises(ValueError, match=message):
        invert(inv_node, model, bad, source)


def test_settings_out_of_range(inv_node, s2d_node, small, inversion):
    model, source, target, latent = small
    with pytest.raises(ValueError, match="value_blocks must be between 1 and 2 \\(this model's single"):
        invert(inv_node, model, latent, source, value_blocks=3)
    with pytest.raises(ValueError, match="value_blocks must be between 1 and 2"):
        invert(inv_node, model, latent, source, value_blocks=0)
    with pytest.raises(ValueError, match="steps must be >= 2"):
        invert(inv_node, model, latent, source, steps=1)
    for T in (4, -1):
        with pytest.raises(ValueError, match="structure_steps must be between 0 and the inversion's 3 steps"):
            edit(s2d_node, model, inversion, target, T=T)


def test_non_finite_results_are_refused(inv_node, s2d_node, small, inversion, tiny_flux):
    """A MODEL that overflows (fp16-like inf weights) or a misbehaving patch from another pack: a clear
    error instead of a NaN latent handed to VAEDecode."""
    model, source, target, latent = small
    broken = tiny_flux(seed=0, depth=1, depth_single=2)
    broken.model.diffusion_model.final_layer.linear.weight.data[0, 0] = float("inf")
    with pytest.raises(ValueError, match="The inversion produced NaN or inf values.*weight_dtype"):
        invert(inv_node, broken, latent, source)

    def nan_attention(func, *args, **kwargs):
        return func(*args, **kwargs) * float("nan")

    patched = model.clone()  # same MODEL identity: the inversion accepts it
    options = patched.model_options.setdefault("transformer_options", {})
    options["optimized_attention_override"] = nan_attention
    with pytest.raises(ValueError, match="The edit produced NaN or inf values"):
        edit(s2d_node, patched, inversion, target)


def test_structure_steps_equal_to_steps_is_pure_latent_fusion(s2d_node, small, inversion):
    """T == N is allowed: every step is fused (eq. 13), so a zero-outside mask keeps the source exactly."""
    model, _, target, latent = small
    mask = torch.zeros(1, 128, 128)
    mask[:, :, :64] = 1.0
    out = edit(s2d_node, model, inversion, target, mask=mask, T=3, fusion="s2d-ec")
    clean = model.model.process_latent_out(inversion.clean)
    assert torch.equal(out[..., 8:], clean[..., 8:])
    assert not torch.allclose(out[..., :8], clean[..., :8])


def test_masks_with_bad_values_or_batches_are_refused(inv_node, s2d_node, small, tiny_latent):
    model, source, target, _ = small
    pair = invert(inv_node, model, tiny_latent(5, batch=2), source)
    nan = torch.rand(1, 64, 48)
    nan[0, 0, 0] = float("nan")
    inf = torch.rand(2, 32, 32)
    inf[1, 5, 5] = float("inf")
    for mask, message in (
        (nan, "NaN or inf"),
        (inf, "NaN or inf"),
        (
            torch.rand(3, 32, 32),
            "mask batch 3 does not match the latent batch 2; give one mask for all images or one per image",
        ),
    ):
        with pytest.raises(ValueError, match=message):
            edit(s2d_node, model, pair, target, mask=mask)
    single = invert(inv_node, model, tiny_latent(5), source)
    with pytest.raises(ValueError, match="mask batch 2 does not match the latent batch 1"):
        edit(s2d_node, model, single, target, mask=torch.rand(2, 32, 32))


def test_mask_batches_one_and_per_image_work(inv_node, s2d_node, small, tiny_latent):
    """Batch rule: a mask batch of 1 applies to every image; a batch of B gives each image its own mask."""
    model, source, target, _ = small
    pair = invert(inv_node, model, tiny_latent(5, batch=2), source)
    left = torch.zeros(1, 32, 32)
    left[..., :16] = 1.0
    shared = edit(s2d_node, model, pair, target, mask=left, T=3, fusion="latent")
    per_image = edit(s2d_node, model, pair, target, mask=torch.cat([left, 1 - left]), T=3, fusion="latent")
    assert shared.shape == per_image.shape == (2, 16, 16, 16)
    assert torch.equal(per_image[0], shared[0]) and not torch.equal(per_image[1], shared[1])


def test_load_image_placeholder_mask_is_refused(s2d_node, small, inversion):
    model, _, target, _ = small
    for placeholder in (torch.zeros(1, 64, 64), torch.zeros(64, 64)):
        with pytest.raises(ValueError, match="LoadImage's 64x64 empty placeholder.*Paint the region"):
            edit(s2d_node, model, inversion, target, mask=placeholder)


def test_mask_of_another_aspect_is_stretched_with_a_warning(s2d_node, small, inversion, caplog):
    model, _, target, _ = small
    wide = torch.zeros(1, 40, 120)
    wide[..., :60] = 1.0
    with caplog.at_level(logging.WARNING):
        out = edit(s2d_node, model, inversion, target, mask=wide, T=3, fusion="latent")
    assert "another aspect ratio" in caplog.text
    square = torch.zeros(1, 128, 128)
    square[..., :64] = 1.0
    assert torch.equal(out, edit(s2d_node, model, inversion, target, mask=square, T=3, fusion="latent"))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        edit(s2d_node, model, inversion, target, mask=torch.ones(1, 40, 120), T=3, fusion="latent")
    assert "aspect" not in caplog.text  # a uniform mask means the same at any aspect


def test_mask_at_the_uncropped_image_size_is_cropped_like_vae_encode(s2d_node, small, inversion):
    """A 135x131 image encodes to a 16x16 latent: VAEEncode keeps rows 3..130 and columns 1..128
    (comfy.sd.VAE.vae_encode_crop_pixels: centre crop to multiples of 8); the mask must follow."""
    model, _, target, _ = small
    mask = torch.zeros(1, 135, 131)
    mask[:, 20:90, 10:70] = 1.0
    out = edit(s2d_node, model, inversion, target, mask=mask, T=3, fusion="latent")
    cropped = mask[:, 3:131, 1:129]
    assert torch.equal(out, edit(s2d_node, model, inversion, target, mask=cropped, T=3, fusion="latent"))
    stretched = torch.nn.functional.interpolate(mask[None], size=(128, 128), mode="bilinear")[0]
    assert not torch.equal(
        out, edit(s2d_node, model, inversion, target, mask=stretched, T=3, fusion="latent")
    )


def test_empty_mask_warns_and_returns_the_reconstruction(inv_node, s2d_node, small, caplog):
    model, source, target, latent = small
    inv = invert(inv_node, model, latent, source, steps=30, value_blocks=2)
    with caplog.at_level(logging.WARNING):
        out = edit(s2d_node, model, inv, target, mask=torch.zeros(1, 128, 128), T=3)
    assert "mask is empty" in caplog.text
    assert rel(out, latent["samples"]) <= 1e-3
    same = edit(s2d_node, model, inv, source, mask=torch.zeros(1, 16, 16), T=3)
    assert torch.equal(out, same)  # the target prompt (and edit guidance) play no part
    edited = edit(s2d_node, model, inv, target, mask=None, fusion="none")
    assert rel(edited, latent["samples"]) > 5 * rel(out, latent["samples"])


def test_full_mask_equals_no_mask(s2d_node, small, inversion):
    model, _, target, _ = small
    full = edit(s2d_node, model, inversion, target, mask=torch.ones(1, 100, 100), T=1)
    assert torch.equal(full, edit(s2d_node, model, inversion, target, mask=None, T=1))


@pytest.mark.parametrize("h, w", [(15, 17), (9, 3)])
def test_odd_latent_sizes_reconstruct_through_flux_padding(inv_node, s2d_node, small, tiny_latent, h, w):
    model, source, _, _ = small
    latent = tiny_latent(7, height=h, width=w)
    inv = invert(inv_node, model, latent, source, steps=30, value_blocks=2)
    mask = torch.zeros(1, 8 * h, 8 * w)
    out = edit(s2d_node, model, inv, source, mask=None, fusion="none", guidance=1.0)
    assert out.shape == (1, 16, h, w)
    assert rel(out, latent["samples"]) <= 1e-3
    assert edit(s2d_node, model, inv, source, mask=mask + 1, T=2).shape == (1, 16, h, w)
