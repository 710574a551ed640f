"""The bundled workflows' outputs: the edit pasted back so outside pixels are the source's, bit for bit, and
loader nodes that carry the standard model downloads for the frontend's missing-models dialog."""

from __future__ import annotations

import pytest
import torch
from workflow_api import WORKFLOW_NAMES, load, swap_for_tiny_models, to_api

pytestmark = pytest.mark.server

HF = "https://huggingface.co/"
DOWNLOADS = {  # file -> (models/ folder, Hugging Face repository it comes from)
    "flux1-dev.safetensors": ("diffusion_models", "black-forest-labs/FLUX.1-dev"),
    "clip_l.safetensors": ("text_encoders", "comfyanonymous/flux_text_encoders"),
    "t5xxl_fp16.safetensors": ("text_encoders", "comfyanonymous/flux_text_encoders"),
    "ae.safetensors": ("vae", "black-forest-labs/FLUX.1-dev"),
}
FILE_WIDGETS = {"UNETLoader": 1, "DualCLIPLoader": 2, "VAELoader": 1}  # loaders: how many model files


@pytest.fixture(scope="module")
def object_info(server) -> dict:
    return server.object_info()


def source_of(workflow: dict, node: dict, input_name: str) -> dict:
    """The node feeding `node`'s socket `input_name`."""
    slot = next(s for s in node["inputs"] if s["name"] == input_name)
    link = next(link for link in workflow["links"] if link[0] == slot["link"])
    return next(n for n in workflow["nodes"] if n["id"] == link[1])


def consumers(workflow: dict, node: dict) -> list[dict]:
    targets = {link[3] for link in workflow["links"] if link[1] == node["id"]}
    return [n for n in workflow["nodes"] if n["id"] in targets]


def test_every_decoded_edit_is_pasted_into_the_source_through_its_grown_mask():
    """VAEDecode (-> ImageScale back to the face box, whole_photo_edit) -> ImageCompositeMasked(destination =
    the loaded image, mask = ThresholdMask -> GrowMask -> MaskToImage -> ImageBlur -> ImageToMask of the
    sampler's own mask) -> SaveImage; the raw decode too."""
    for name in WORKFLOW_NAMES:
        wf = load(name)
        decodes = [n for n in wf["nodes"] if n["type"] == "VAEDecode"]
        assert decodes, name
        for decode in decodes:
            pasted, kinds = decode, sorted(n["type"] for n in consumers(wf, decode))
            if "ImageScale" in kinds:  # whole_photo_edit: the crop's edit is scaled back to the face box
                pasted = next(n for n in consumers(wf, decode) if n["type"] == "ImageScale")
                kinds = sorted(
                    [k for k in kinds if k != "ImageScale"] + [n["type"] for n in consumers(wf, pasted)]
                )
            assert kinds[:2] == ["ImageCompositeMasked", "SaveImage"], (name, kinds)
            paste = next(n for n in consumers(wf, pasted) if n["type"] == "ImageCompositeMasked")
            assert source_of(wf, paste, "source") is pasted
            assert source_of(wf, paste, "destination")["type"] == "LoadImage", name
            assert "SaveImage" in {n["type"] for n in consumers(wf, paste)}, name
            chain, node = [], source_of(wf, paste, "mask")
            for socket in ("image", "image", "mask", "mask", "mask"):
                chain.append(node["type"])
                node = source_of(wf, node, socket)
            assert chain == ["ImageToMask", "ImageBlur", "MaskToImage", "GrowMask", "ThresholdMask"], (
                name,
                chain,
            )
            sampler = source_of(wf, decode, "samples")
            assert sampler["type"] == "FluxSculptorS2DECSampler"
            assert source_of(wf, sampler, "mask") is node, name  # the region the sampler edited


def pixel_reporters(prompt: dict) -> dict[str, dict[str, str]]:
    """For each ImageCompositeMasked: PixelValues nodes on its result, destination, source and mask."""
    found = {}
    for node_id, node in list(prompt.items()):
        if node["class_type"] != "ImageCompositeMasked":
            continue
        ends = {"result": [node_id, 0], **{k: node["inputs"][k] for k in ("destination", "source", "mask")}}
        found[node_id] = {}
        for what, feed in ends.items():
            key = f"pixels_{what}_{node_id}"
            prompt[key] = {
                "class_type": "FluxSculptorTestPixelValues",
                "inputs": {"mask" if what == "mask" else "image": feed},
            }
            found[node_id][what] = key
    return found


def regions_from_the_painting(prompt: dict) -> None:
    """PASL finds no face in the tiny random image: its masks become the tiny image's painted ellipse, so
    every workflow has an edit region (the rest of the graph is unchanged)."""
    (image,) = [k for k, v in prompt.items() if v["class_type"] == "FluxSculptorTestTinyImage"]
    pasl = {k for k, v in prompt.items() if v["class_type"] == "FluxSculptorPASLMask"}
    for node in prompt.values():
        for name, value in node["inputs"].items():
            if isinstance(value, list) and value[0] in pasl:
                node["inputs"][name] = [image, 1]
    for key in pasl:
        del prompt[key]


def values(outputs: dict, key: str) -> torch.Tensor:
    return torch.tensor(outputs[key]["values"], dtype=torch.float32).view(outputs[key]["shape"])


# whole_photo_edit pastes a scaled crop at the face box (x, y): tests/test_whole_photo_workflow.py checks
# that the photo outside the box is kept bit for bit and the crop is the photo's own pixels.
SAME_SIZE_PASTES = [n for n in WORKFLOW_NAMES if n != "whole_photo_edit"]


@pytest.mark.parametrize("name", SAME_SIZE_PASTES)
def test_pixels_outside_the_paste_region_equal_the_source_exactly(server, object_info, name):
    prompt = swap_for_tiny_models(to_api(load(name), object_info))
    regions_from_the_painting(prompt)
    reporters = pixel_reporters(prompt)
    outputs = server.run(prompt, timeout=600)["outputs"]
    assert reporters
    for keys in reporters.values():
        result, source, edit = (values(outputs, keys[k]) for k in ("result", "destination", "source"))
        mask = values(outputs, keys["mask"])
        assert result.shape == source.shape == edit.shape and mask.shape == result.shape[:3]
        outside, inside = mask == 0, mask > 0.99
        assert outside.any() and inside.any(), (name, float(mask.mean()))
        assert torch.equal(result[outside], source[outside])
        assert not torch.equal(edit[outside], source[outside])  # without the paste-back they would differ
        assert torch.allclose(result[inside], edit[inside], atol=0.011)  # inside: the edit as decoded


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_loader_nodes_carry_the_standard_model_downloads(server, name):
    """Each model file a loader names has {name, url, directory} in properties.models, as the frontend's
    missing-models dialog reads it (entries whose name is one of the node's widget values)."""
    folders = set(server.request("GET", "/models"))
    wf = load(name)
    loaders = [n for n in wf["nodes"] if n["type"] in FILE_WIDGETS]
    for node in loaders:
        files = [v for v in node["widgets_values"] if v in DOWNLOADS]
        assert len(files) == FILE_WIDGETS[node["type"]], (name, node["type"])
        models = node["properties"]["models"]
        assert [m["name"] for m in models] == files, (name, node["type"])
        for entry in models:
            folder, repo = DOWNLOADS[entry["name"]]
            assert entry == {
                "name": entry["name"],
                "url": f"{HF}{repo}/resolve/main/{entry['name']}",
                "directory": folder,
            }
            assert folder in folders, (folder, sorted(folders))
    if any(n["type"] == "UNETLoader" for n in wf["nodes"]):
        assert sorted(n["type"] for n in loaders) == sorted(FILE_WIDGETS), name
        (note,) = [n["widgets_values"][0] for n in wf["nodes"] if n["type"] == "Note"]
        for claim in ("24 MiB per block and model call", "25 GiB", "recompute", "auto", "8-bit"):
            assert claim in note, (name, claim)
