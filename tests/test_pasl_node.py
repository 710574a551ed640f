"""The PASL node inside the real ComfyUI: schema, execution, refusals, and the clip-l route."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import pack_module
from PIL import Image

PROMPTS = ["hair", "the left eye", "a wide mouth"]


@pytest.fixture(scope="module")
def node_mod(pack):
    return pack_module(pack, "nodes.pasl")


@pytest.fixture(scope="module")
def user_weights(pack, node_mod, tmp_path_factory) -> dict[str, str]:
    """Random PASL files of both encoders in an extra models/pasl folder, as a user would add them."""
    import folder_paths

    sculpt = pack_module(pack, "sculptor.pasl")
    folder = tmp_path_factory.mktemp("models_pasl")
    folder_paths.add_model_folder_path("pasl", str(folder))
    torch.manual_seed(0)
    sculpt.save_pasl(sculpt.PASL(sculpt.PASLConfig(resolution=64)), folder / "random_minilm.safetensors")
    clip_cfg = sculpt.PASLConfig(encoder="clip-l", text_dim=768, resolution=64)
    sculpt.save_pasl(sculpt.PASL(clip_cfg), folder / "random_clipl.safetensors")
    (folder / "notes.txt").write_text("not weights")
    return {"minilm": "random_minilm.safetensors", "clip-l": "random_clipl.safetensors"}


def test_schema_documents_every_input(node_mod) -> None:
    assert node_mod.NODES == [node_mod.FluxSculptorPASLMask]
    assert not hasattr(node_mod, "NODE_CLASS_MAPPINGS")
    schema = node_mod.FluxSculptorPASLMask.define_schema()
    assert schema.node_id == "FluxSculptorPASLMask"
    assert schema.display_name == "Flux-Sculptor PASL Mask"
    assert schema.category == "Flux-Sculptor/Locate"
    assert schema.description
    assert [i.id for i in schema.inputs] == ["image", "prompt", "weights", "refine", "clip"]
    assert all(i.tooltip for i in schema.inputs + schema.outputs)
    assert [o.id for o in schema.outputs] == ["mask", "sub_masks"]


def test_weights_combo_lists_shipped_and_user_files_only(node_mod, user_weights) -> None:
    options = node_mod.weight_options()
    assert set(user_weights.values()) <= set(options)
    assert "notes.txt" not in options
    assert all(o.endswith(".safetensors") for o in options)
    shipped = node_mod.SHIPPED_DIR / node_mod.DEFAULT_WEIGHTS
    if shipped.is_file():
        assert options[0] == node_mod.DEFAULT_WEIGHTS


def test_execute_gives_image_size_masks_and_union(node_mod, user_weights) -> None:
    node = node_mod.FluxSculptorPASLMask
    image = torch.rand(2, 40, 56, 3)
    out = node.execute(image=image, prompt="hair; eyes\nlips", weights=user_weights["minilm"])
    mask, sub = out.result
    assert mask.shape == (2, 40, 56) and sub.shape == (6, 40, 56)
    assert float(mask.min()) >= 0 and float(mask.max()) <= 1
    assert torch.equal(mask[0], sub[:3].amax(0)) and torch.equal(mask[1], sub[3:].amax(0))
    plain, _ = node.execute(
        image=image, prompt="hair; eyes\nlips", weights=user_weights["minilm"], refine=False
    ).result
    assert plain.shape == mask.shape and not torch.allclose(plain, mask), "refine must reach the masks"


@pytest.mark.parametrize("name", ["../pasl_weights/x.safetensors", "/etc/passwd", "missing.safetensors"])
def test_refuses_weights_outside_the_combo(node_mod, name) -> None:
    with pytest.raises(ValueError, match="not among the available files"):
        node_mod.FluxSculptorPASLMask.execute(image=torch.rand(1, 16, 16, 3), prompt="hair", weights=name)


def test_clear_errors(node_mod, user_weights) -> None:
    node = node_mod.FluxSculptorPASLMask
    img = torch.rand(1, 16, 16, 3)
    with pytest.raises(ValueError, match="prompt is empty"):
        node.execute(image=img, prompt=" ;\n ", weights=user_weights["minilm"])
    bad = img.clone()
    bad[0, 1, 1, 1] = float("inf")
    with pytest.raises(ValueError, match="NaN or infinite"):
        node.execute(image=bad, prompt="hair", weights=user_weights["minilm"])
    with pytest.raises(ValueError, match="trained with CLIP-L.*connect the CLIP"):
        node.execute(image=img, prompt="hair", weights=user_weights["clip-l"])
    import comfy.sd

    with pytest.raises(ValueError, match="has no clip_l"):
        node.execute(
            image=img, prompt="hair", weights=user_weights["clip-l"], clip=comfy.sd.CLIP(no_init=True)
        )


@pytest.fixture(scope="module")
def shared_vit_l():
    """One set of random CLIP ViT-L/14 text weights in open_clip and in a real ComfyUI CLIP (fp32)."""
    open_clip = pytest.importorskip("open_clip", reason="open_clip_torch (the 'train' extra) is needed")
    import comfy.sd
    import comfy.sd1_clip
    import comfy.supported_models_base
    import comfy.utils

    cfg = open_clip.get_model_config("ViT-L-14")
    cfg["vision_cfg"] = {"layers": 1, "width": 64, "head_width": 32, "patch_size": 14, "image_size": 28}
    cfg["quick_gelu"] = True  # OpenAI CLIP's activation, as ComfyUI's clip_l and OpenCLIPTextEncoder use
    torch.manual_seed(0)
    oc = open_clip.model.CLIP(**cfg).eval()
    target = comfy.supported_models_base.ClipTarget(comfy.sd1_clip.SD1Tokenizer, comfy.sd1_clip.SD1ClipModel)
    clip = comfy.sd.CLIP(target, model_options={"dtype": torch.float32})
    sd = {k: v.clone() for k, v in oc.state_dict().items() if not k.startswith(("visual.", "logit_scale"))}
    sd = comfy.utils.clip_text_transformers_convert(sd, "", "")
    missing, unexpected = clip.cond_stage_model.clip_l.load_sd(sd)
    assert not [k for k in missing if "position_ids" not in k] and not unexpected
    return oc, clip


def test_clip_l_routes_agree_on_shared_weights(pack, node_mod, shared_vit_l) -> None:
    """ComfyUI route (node, from the CLIP object) == training route (open_clip): pooled EOT, unprojected."""
    oc, clip = shared_vit_l
    tf = pack_module(pack, "sculptor.text_features")
    ours = tf.OpenCLIPTextEncoder(oc).encode(PROMPTS)
    comfy_route = node_mod.clip_l_encoder(clip).encode(PROMPTS)
    assert ours.shape == comfy_route.shape == (3, 768)
    assert torch.allclose(ours, comfy_route, atol=1e-4, rtol=1e-4)
    projected = ours @ oc.text_projection
    assert not torch.allclose(projected, comfy_route, atol=1e-2), "must be the UNprojected vector"
    clip_l = clip.cond_stage_model.clip_l
    assert clip_l.return_projected_pooled == clip_l.options_default[2], "options must be reset afterwards"


def test_clip_l_weights_run_with_a_real_clip(node_mod, user_weights, shared_vit_l) -> None:
    _, clip = shared_vit_l
    mask, sub = node_mod.FluxSculptorPASLMask.execute(
        image=torch.rand(1, 32, 24, 3), prompt="hair;lips", weights=user_weights["clip-l"], clip=clip
    ).result
    assert mask.shape == (1, 32, 24) and sub.shape == (2, 32, 24)


@pytest.mark.server
def test_server_runs_the_node_in_a_graph(server) -> None:
    info = server.object_info()["FluxSculptorPASLMask"]
    assert info["category"] == "Flux-Sculptor/Locate"
    options = (
        info["input"]["required"]["weights"][1]["options"]
        if isinstance(info["input"]["required"]["weights"][0], str)
        else info["input"]["required"]["weights"][0]
    )
    assert options and all(o.endswith(".safetensors") for o in options)
    Image.fromarray((np.random.default_rng(0).random((72, 48, 3)) * 255).astype(np.uint8)).save(
        Path(server.workdir) / "input" / "pasl_face.png"
    )
    prompt = {  # without "refine": API prompts saved before that input existed keep working
        "1": {"class_type": "LoadImage", "inputs": {"image": "pasl_face.png"}},
        "2": {
            "class_type": "FluxSculptorPASLMask",
            "inputs": {"image": ["1", 0], "prompt": "hair\nlips", "weights": options[0]},
        },
        "3": {"class_type": "MaskToImage", "inputs": {"mask": ["2", 1]}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "pasl_test"}},
    }
    entry = server.run(prompt)
    saved = entry["outputs"]["4"]["images"]
    assert len(saved) == 2
    out = Image.open(Path(server.workdir) / "output" / saved[0].get("subfolder", "") / saved[0]["filename"])
    assert out.size == (48, 72)
