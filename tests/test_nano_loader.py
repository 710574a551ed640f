"""FluxSculptorNanoLoader: MODEL, CLIP and VAE are ComfyUI's own types, accepted by stock and our nodes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import pack_module
from safetensors.torch import save_file
from test_nano_flux import randomised

from scripts.nano.train_ae import build_taesd
from sculptor.nano import NANO_FLUX, nano_text_features


@pytest.fixture(scope="module")
def nano(pack, tmp_path_factory):
    """(MODEL, CLIP, VAE, module) from random Nano-format weight files written like the exporters do."""
    folder = tmp_path_factory.mktemp("nano_weights")
    flux = {k: v.half() for k, v in randomised(seed=3).state_dict().items()}
    save_file(flux, str(folder / "nano_flux.safetensors"), metadata={"config": json.dumps(NANO_FLUX)})
    vae = {k: v.half() for k, v in build_taesd().state_dict().items() if k.startswith("taesd_")}
    vae.update(vae_scale=torch.tensor(0.3611), vae_shift=torch.tensor(0.1159))
    save_file(vae, str(folder / "nano_taesd.safetensors"))
    module = pack_module(pack, "nodes.nano")
    return (*module.load_nano(folder / "nano_flux.safetensors", folder / "nano_taesd.safetensors"), module)


def test_types_are_comfyuis_own(nano) -> None:
    import comfy.ldm.flux.model
    import comfy.model_patcher
    import comfy.sd

    model, clip, vae, _ = nano
    assert isinstance(model, comfy.model_patcher.ModelPatcher)
    assert isinstance(model.model.diffusion_model, comfy.ldm.flux.model.Flux)
    assert isinstance(clip, comfy.sd.CLIP) and isinstance(vae, comfy.sd.VAE)


def test_clip_text_encode_gives_the_training_features(nano) -> None:
    import nodes

    _, clip, _, _ = nano
    (cond,) = nodes.CLIPTextEncode().encode(clip, "a photo of a person with red lipstick")
    tokens, pooled = nano_text_features(["a photo of a person with red lipstick"])
    assert torch.allclose(cond[0][0], tokens) and torch.allclose(cond[0][1]["pooled_output"], pooled)


def test_vae_and_pack_nodes_accept_the_loader_outputs(nano, inv_node, s2d_node) -> None:
    """VAEEncode -> inversion -> S2D-EC -> VAEDecode on a 128x128 image, with a FluxGuidance edit prompt."""
    from comfy_extras.nodes_flux import FluxGuidance

    import nodes

    model, clip, vae, _ = nano
    image = torch.rand(1, 128, 128, 3, generator=torch.Generator().manual_seed(0))
    (latent,) = nodes.VAEEncode().encode(vae, image)
    assert latent["samples"].shape == (1, 16, 16, 16)
    (source,) = nodes.CLIPTextEncode().encode(clip, "a photo of a person")
    (target,) = nodes.CLIPTextEncode().encode(clip, "a photo of a person with blond hair")
    target = FluxGuidance.execute(target, 2.0)[0]
    inv, noise = inv_node.execute(
        model=model, latent=latent, conditioning=source, steps=3, guidance=1.0, value_blocks=2, store="cpu"
    ).result
    mask = torch.zeros(1, 128, 128)
    mask[:, :40] = 1.0
    out = s2d_node.execute(
        model=model,
        inversion=inv,
        conditioning=target,
        structure_steps=1,
        guidance=2.0,
        fusion="s2d-ec",
        source_path="inversion",
        mask=mask,
    ).result[0]
    assert out["samples"].shape == (1, 16, 16, 16) and torch.isfinite(out["samples"]).all()
    (decoded,) = nodes.VAEDecode().decode(vae, out)
    assert decoded.shape == (1, 128, 128, 3)


def test_node_has_no_inputs_and_explains_missing_weights(nano, monkeypatch, tmp_path: Path) -> None:
    _, _, _, module = nano
    schema = module.FluxSculptorNanoLoader.define_schema()
    assert schema.inputs == [] and [o.io_type for o in schema.outputs] == ["MODEL", "CLIP", "VAE"]
    monkeypatch.setattr(module, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(ValueError, match="--export"):
        module.FluxSculptorNanoLoader.execute()


def test_norm_scale_keys_follow_this_comfyuis_names(nano) -> None:
    """Weights exported on ComfyUI 0.3.x (`*.norm.query_norm.scale`) load on 0.33 (`.weight`) and back."""
    _, _, _, module = nano
    old = {"a.query_norm.scale": 1, "b.weight": 2, "c.bias": 3}
    new = {"a.query_norm.weight": 1, "b.weight": 2, "c.bias": 3}
    assert module.rename_norm_keys(old, new.keys()) == new
    assert module.rename_norm_keys(new, old.keys()) == old
    assert module.rename_norm_keys(old, old.keys()) == old
