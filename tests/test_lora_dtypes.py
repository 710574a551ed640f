"""LoRA weight patches and low-precision weights (issue 14 item 4), with ComfyUI's own code on tiny Flux:
the core LoraLoaderModelOnly node with a LoRA made for the tiny model's keys, and the UNETLoader weight_dtype
path (model_options dtype -> unet_manual_cast -> set_inference_dtype, as comfy.sd loads a diffusion model)."""

import pytest
import torch
from helpers import edit, half_mask, invert, pack_module, rel

STEPS = 30  # round trips are compared at the paper's N
LORA = "tiny_flux_lora.safetensors"


@pytest.fixture(scope="module")
def setup(tiny_flux, tiny_cond, tiny_latent):
    return tiny_flux(seed=0, depth=1, depth_single=2), tiny_cond(0), tiny_cond(1), tiny_latent(0)


@pytest.fixture(scope="module")
def base_inversion(inv_node, setup):
    model, source, _, latent = setup
    return invert(inv_node, model, latent, source, steps=STEPS)


@pytest.fixture(scope="module")
def lora_model(setup, tmp_path_factory):
    """The tiny MODEL through the real LoraLoaderModelOnly, with a rank-2 LoRA (generic key format) on the
    double block's image qkv and every single block's linear1/linear2, in a loras folder of its own."""
    import folder_paths
    import safetensors.torch

    import nodes

    model = setup[0]
    folder = tmp_path_factory.mktemp("loras")
    gen = torch.Generator().manual_seed(7)
    lora = {}
    for name, weight in model.model.diffusion_model.state_dict().items():
        if name.endswith(("img_attn.qkv.weight", "linear1.weight", "linear2.weight")):
            key = f"diffusion_model.{name.removesuffix('.weight')}"
            lora[f"{key}.lora_down.weight"] = torch.randn(2, weight.shape[1], generator=gen) * 0.2
            lora[f"{key}.lora_up.weight"] = torch.randn(weight.shape[0], 2, generator=gen) * 0.2
    safetensors.torch.save_file(lora, str(folder / LORA))
    folder_paths.add_model_folder_path("loras", str(folder))
    patched = nodes.LoraLoaderModelOnly().load_lora_model_only(model, LORA, 1.0)[0]
    assert len(patched.patches) == len(lora) // 2 == 5
    return patched


def test_lora_round_trip_and_fusion_identities(pack, inv_node, s2d_node, setup, base_inversion, lora_model):
    runs = pack_module(pack, "nodes.editing_runs")
    model, source, target, latent = setup
    inv = invert(inv_node, lora_model, latent, source, steps=STEPS)
    assert rel(inv.noise_samples, base_inversion.noise_samples) > 5e-3  # the LoRA changes the model
    back = edit(s2d_node, lora_model, inv, source, None, fusion="none", guidance=1.0)
    base_back = edit(s2d_node, model, base_inversion, source, None, fusion="none", guidance=1.0)
    print(
        f"round trip N={STEPS}: LoRA {rel(back, latent['samples']):.2e}, "
        f"base {rel(base_back, latent['samples']):.2e}"
    )
    assert rel(back, latent["samples"]) <= 1e-3
    seen = {}
    runs.run_edit(
        lora_model,
        inv,
        target,
        mask=torch.zeros(1, 96, 96),
        structure_steps=STEPS,
        guidance=2.0,
        fusion="latent",
        preview=False,
        on_step=lambda j, x: seen.update({j: x}),
    )
    assert sorted(seen) == list(range(STEPS))
    assert all(torch.equal(x, inv.latents[j + 1]) for j, x in seen.items())
    ones = torch.ones(1, 32, 32)
    assert torch.equal(
        edit(s2d_node, lora_model, inv, target, ones),
        edit(s2d_node, lora_model, inv, target, None, fusion="none"),
    )
    with pytest.raises(ValueError, match="made with a different MODEL .*patches/LoRAs"):
        edit(s2d_node, lora_model, base_inversion, target, half_mask())
    with pytest.raises(ValueError, match="made with a different MODEL .*patches/LoRAs"):
        edit(s2d_node, model, inv, target, half_mask())
    again = invert(inv_node, model, latent, source, steps=STEPS)  # the LoRA's weight patch was undone
    assert torch.equal(again.noise_samples, base_inversion.noise_samples)


def load_unet(reference, weight_dtype: torch.dtype, force_compute: bool):
    """The tiny reference model's weights loaded as UNETLoader loads a diffusion model with
    model_options {"dtype": weight_dtype} (comfy.sd.load_diffusion_model_state_dict, from the dtype choice
    on; its model detection only knows full-size Flux). force_compute: compute in weight_dtype itself (as
    on a GPU with bf16/fp16 support) instead of ComfyUI's manual-cast choice for this device."""
    import comfy.model_management
    import comfy.model_patcher
    import comfy.supported_models
    from tiny_flux_pack.tiny_flux import tiny_flux_config

    state = {k: v.clone() for k, v in reference.model.diffusion_model.state_dict().items()}
    config = comfy.supported_models.Flux(tiny_flux_config(depth=1, depth_single=2))
    device = comfy.model_management.get_torch_device()
    manual_cast = comfy.model_management.unet_manual_cast(
        weight_dtype, device, config.supported_inference_dtypes
    )
    config.set_inference_dtype(weight_dtype, None if force_compute else manual_cast)
    model = config.get_model(state, "")
    model.load_model_weights(state, "")
    return comfy.model_patcher.ModelPatcher(
        model, load_device=device, offload_device=comfy.model_management.unet_offload_device()
    )


# name: (weight dtype, compute in it, round-trip tolerance at N=30 relative to the source latent; measured on
# 0.3.75, CPU: 5.8e-05 for the three manual-cast rows (float32 compute, as float32 weights), 6.8e-04 bf16
# compute, 1.2e-04 fp16 compute)
DTYPES = {
    "fp8_e4m3fn (UNETLoader)": (torch.float8_e4m3fn, False, 5e-4),
    "bf16 weights": (torch.bfloat16, False, 5e-4),
    "fp16 weights": (torch.float16, False, 5e-4),
    "bf16 compute": (torch.bfloat16, True, 5e-3),
    "fp16 compute": (torch.float16, True, 1e-3),
}


@pytest.mark.parametrize("name", list(DTYPES))
def test_low_precision_runs_store_follows_round_trip(inv_node, s2d_node, setup, name):
    model, source, target, latent = setup
    weight_dtype, force, tolerance = DTYPES[name]
    unet = load_unet(model, weight_dtype, force)
    compute = unet.model.manual_cast_dtype or unet.model.get_dtype()
    assert unet.model.get_dtype() == weight_dtype
    assert unet.model.diffusion_model.single_blocks[0].linear1.weight.dtype == weight_dtype
    inv = invert(inv_node, unet, latent, source, steps=STEPS)
    assert {inv.store.stored(key, block).dtype for key, block in inv.store.keys()} == {compute}
    back = edit(s2d_node, unet, inv, source, None, fusion="none", guidance=1.0)
    edited = edit(s2d_node, unet, inv, target, half_mask())
    error = rel(back, latent["samples"])
    print(f"{name}: compute {compute}, store {compute}, round trip N={STEPS} rel error {error:.2e}")
    assert torch.isfinite(back).all() and torch.isfinite(edited).all()
    assert error <= tolerance
