"""Bad inputs to the PASL mask node (issue 8): empty prompts, weights that vanish or contradict their
metadata, encoder/CLIP mismatches, odd images, and PASL masks whose batch does not fit the inversion.
Unreadable, truncated and pickled weight files: tests/test_security.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import pack_module


@pytest.fixture(scope="module")
def pasl(pack):
    return pack_module(pack, "nodes.pasl")


@pytest.fixture(scope="module")
def pasl_files(pack, tmp_path_factory) -> dict[str, str]:
    """Random PASL weights of both encoders, and a file whose tensors contradict its metadata, in an extra
    models/pasl folder."""
    import folder_paths
    from safetensors.torch import save_file

    sculpt = pack_module(pack, "sculptor.pasl")
    folder = tmp_path_factory.mktemp("bad_inputs_pasl")
    folder_paths.add_model_folder_path("pasl", str(folder))
    torch.manual_seed(0)
    sculpt.save_pasl(sculpt.PASL(sculpt.PASLConfig(resolution=64)), folder / "minilm.safetensors")
    clip_model = sculpt.PASL(sculpt.PASLConfig(encoder="clip-l", text_dim=768, resolution=64))
    sculpt.save_pasl(clip_model, folder / "clipl.safetensors")
    minilm_meta = sculpt.read_metadata(folder / "minilm.safetensors")
    save_file(
        {k: v.contiguous() for k, v in clip_model.state_dict().items()},
        str(folder / "mislabelled.safetensors"),
        metadata=minilm_meta,
    )
    return {
        "minilm": "minilm.safetensors",
        "clip-l": "clipl.safetensors",
        "mislabelled": "mislabelled.safetensors",
        "folder": str(folder),
    }


def locate(pasl, weights: str, prompt: str = "hair", image=None, clip=None):
    image = torch.rand(1, 40, 32, 3) if image is None else image
    return pasl.FluxSculptorPASLMask.execute(image=image, prompt=prompt, weights=weights, clip=clip).result


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t", " ; ;\n"])
def test_pasl_empty_prompts_are_refused(pasl, pasl_files, prompt):
    with pytest.raises(ValueError, match="prompt is empty: write what to locate"):
        locate(pasl, pasl_files["minilm"], prompt)


def test_pasl_weights_that_disappear_or_contradict_their_metadata(pasl, pasl_files):
    gone = Path(pasl_files["folder"]) / "gone.safetensors"
    gone.write_bytes((Path(pasl_files["folder"]) / pasl_files["minilm"]).read_bytes())
    assert "gone.safetensors" in pasl.weight_options()
    gone.unlink()
    with pytest.raises(ValueError, match="not among the available files.*pick one from the list"):
        locate(pasl, "gone.safetensors")
    with pytest.raises(ValueError, match="holds PASL metadata but unusable tensors"):
        locate(pasl, pasl_files["mislabelled"])


def clip_g_only():
    """A real, tiny ComfyUI CLIP that holds only a clip_g text model (as CLIP-G-only checkpoints do)."""
    import functools
    import json
    import os

    import comfy.sd
    import comfy.sd1_clip
    import comfy.supported_models_base

    with open(os.path.join(os.path.dirname(comfy.sd1_clip.__file__), "sd1_clip_config.json")) as f:
        config = json.load(f)
    config.update(
        hidden_size=64, intermediate_size=128, num_attention_heads=2, num_hidden_layers=2, projection_dim=64
    )
    target = comfy.supported_models_base.ClipTarget(
        functools.partial(comfy.sd1_clip.SD1Tokenizer, clip_name="g"),
        functools.partial(
            comfy.sd1_clip.SD1ClipModel,
            clip_name="g",
            clip_model=comfy.sd1_clip.SDClipModel,
            textmodel_json_config=config,
        ),
    )
    clip = comfy.sd.CLIP(target, model_options={"dtype": torch.float32})
    assert hasattr(clip.cond_stage_model, "clip_g") and list(clip.tokenize("hair")) == ["g"]
    return clip


def test_pasl_encoder_and_clip_mismatches(pasl, pasl_files):
    with pytest.raises(ValueError, match="trained with CLIP-L text features: connect the CLIP input"):
        locate(pasl, pasl_files["clip-l"])
    with pytest.raises(ValueError, match="has no clip_l: connect Flux's DualCLIPLoader"):
        locate(pasl, pasl_files["clip-l"], clip=clip_g_only())
    image = torch.rand(1, 40, 32, 3)
    plain = locate(pasl, pasl_files["minilm"], image=image)
    with_clip = locate(pasl, pasl_files["minilm"], image=image, clip=clip_g_only())
    assert all(torch.equal(a, b) for a, b in zip(plain, with_clip, strict=True))  # MiniLM ignores CLIP


def test_pasl_images_of_odd_size_channels_and_values(pasl, pasl_files):
    mask, sub = locate(pasl, pasl_files["minilm"], "hair; lips", image=torch.rand(2, 7, 5, 4))
    assert mask.shape == (2, 7, 5) and sub.shape == (4, 7, 5)  # any size, RGBA's alpha ignored
    with pytest.raises(ValueError, match="C >= 3.*MaskToImage"):
        locate(pasl, pasl_files["minilm"], image=torch.rand(1, 16, 16, 1))
    with pytest.raises(ValueError, match="NaN or infinite"):
        locate(pasl, pasl_files["minilm"], image=torch.full((1, 16, 16, 3), float("nan")))


def test_pasl_mask_batch_must_fit_the_inversion(pack, pasl, pasl_files, tiny_flux, tiny_cond, tiny_latent):
    """An IMAGE batch of 2 gives 2 masks; the single-image inversion refuses them with the batch rule."""
    model = tiny_flux(seed=0, depth=1, depth_single=2)
    inversion = (
        pack_module(pack, "nodes.inversion")
        .FluxSculptorInversion.execute(
            model=model,
            latent=tiny_latent(0),
            conditioning=tiny_cond(0),
            steps=3,
            guidance=1.0,
            value_blocks=1,
            store="cpu",
        )
        .result[0]
    )
    sampler = pack_module(pack, "nodes.s2dec").FluxSculptorS2DECSampler
    mask, _ = locate(pasl, pasl_files["minilm"], image=torch.rand(2, 128, 128, 3))

    def edit(m):
        return sampler.execute(
            model=model,
            inversion=inversion,
            conditioning=tiny_cond(1),
            structure_steps=1,
            guidance=2.0,
            fusion="s2d-ec",
            source_path="inversion",
            mask=m,
        ).result[0]

    with pytest.raises(ValueError, match="mask batch 2 does not match the latent batch 1"):
        edit(mask)
    assert edit(mask[:1])["samples"].shape == (1, 16, 16, 16)
