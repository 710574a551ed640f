"""The bundled workflows: valid UI JSON, current with the real server's schemas, and runnable end to end."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
from comfy_home import comfyui_dir, comfyui_version
from PIL import Image
from workflow_api import (
    VIRTUAL_NODES,
    WIDGETS,
    WORKFLOW_DIR,
    WORKFLOW_NAMES,
    load,
    specs,
    swap_for_tiny_models,
    to_api,
    widget_slots,
)

PACK = "flux-sculptor"
OURS = {
    "FluxSculptorInversion",
    "FluxSculptorS2DECSampler",
    "FluxSculptorPASLMask",
    "FluxSculptorMaskCombine",
}
FUSIONS = ("none", "latent", "value", "s2d-ec")
USER_FILES = {
    ("UNETLoader", "unet_name"),
    ("DualCLIPLoader", "clip_name1"),
    ("DualCLIPLoader", "clip_name2"),
    ("VAELoader", "vae_name"),
    ("LoadImage", "image"),
}


@pytest.fixture(scope="module")
def object_info(server) -> dict:
    return server.object_info()


def nodes_of(workflow: dict, kind: str) -> list[dict]:
    return [n for n in workflow["nodes"] if n["type"] == kind]


def widget(node: dict, name: str, info: dict):
    names = [s[0] for s in widget_slots(info[node["type"]])]
    return node["widgets_values"][names.index(name)]


def feeders(workflow: dict, node: dict, input_name: str) -> dict:
    """The node whose output feeds `node`'s socket `input_name`."""
    slot = next(s for s in node["inputs"] if s["name"] == input_name)
    link = next(link for link in workflow["links"] if link[0] == slot["link"])
    return next(n for n in workflow["nodes"] if n["id"] == link[1])


def test_every_workflow_is_valid_ui_json_with_note_and_thumbnail():
    assert sorted(p.stem for p in WORKFLOW_DIR.glob("*.json")) == sorted(WORKFLOW_NAMES)
    for name in WORKFLOW_NAMES:
        wf = load(name)
        assert wf["version"] == 0.4 and isinstance(wf["links"], list)
        ids = [n["id"] for n in wf["nodes"]]
        assert len(ids) == len(set(ids)) and wf["last_node_id"] >= max(ids)
        assert wf["last_link_id"] >= max(link[0] for link in wf["links"])
        by_id = {n["id"]: n for n in wf["nodes"]}
        for link_id, src, src_slot, dst, dst_slot, kind in wf["links"]:
            assert link_id in by_id[src]["outputs"][src_slot]["links"], (name, link_id)
            assert by_id[dst]["inputs"][dst_slot]["link"] == link_id, (name, link_id)
            assert by_id[src]["outputs"][src_slot]["type"] == by_id[dst]["inputs"][dst_slot]["type"] == kind
        notes = nodes_of(wf, "Note")
        assert len(notes) == 1 and len(notes[0]["widgets_values"][0]) > 200, name
        with Image.open(WORKFLOW_DIR / f"{name}.jpg") as thumb:
            assert thumb.format == "JPEG" and min(thumb.size) >= 256


@pytest.mark.server
def test_only_core_and_pack_nodes_and_flux_loaded_the_standard_way(object_info):
    for name in WORKFLOW_NAMES:
        wf = load(name)
        for node in wf["nodes"]:
            if node["type"] in VIRTUAL_NODES:
                continue
            assert node["type"] in object_info, f"{name}: {node['type']} is not in /object_info"
            module = object_info[node["type"]]["python_module"]
            assert module in ("nodes", f"custom_nodes.{PACK}") or module.startswith("comfy_extras."), (
                name,
                node["type"],
                module,
            )
        required = {
            "LoadImage",
            "VAEEncode",
            "VAEDecode",
            "SaveImage",
            "FluxSculptorInversion",
            "FluxSculptorS2DECSampler",
        }
        assert required <= {n["type"] for n in wf["nodes"]}, name
        if nodes_of(wf, "FluxSculptorNanoLoader"):  # the demo: Nano's bundled MODEL, CLIP and VAE only
            assert not {"UNETLoader", "DualCLIPLoader", "VAELoader"} & {n["type"] for n in wf["nodes"]}
            continue
        (unet,), (clip,), (vae,) = (nodes_of(wf, k) for k in ("UNETLoader", "DualCLIPLoader", "VAELoader"))
        assert widget(unet, "unet_name", object_info) == "flux1-dev.safetensors"
        assert [widget(clip, k, object_info) for k in ("clip_name1", "clip_name2", "type")] == [
            "clip_l.safetensors",
            "t5xxl_fp16.safetensors",
            "flux",
        ]
        assert widget(vae, "vae_name", object_info) == "ae.safetensors"


@pytest.mark.server
def test_every_link_type_matches_both_ends_in_the_schemas(object_info):
    for name in WORKFLOW_NAMES:
        wf = load(name)
        by_id = {n["id"]: n for n in wf["nodes"]}
        for link_id, src, src_slot, dst, dst_slot, kind in wf["links"]:
            src_node, dst_node = by_id[src], by_id[dst]
            assert object_info[src_node["type"]]["output"][src_slot] == kind, (name, link_id)
            input_name = dst_node["inputs"][dst_slot]["name"]
            schema_type = {n: t for n, t, _ in specs(object_info[dst_node["type"]])}[input_name]
            assert schema_type == kind, (name, link_id, dst_node["type"], input_name)


@pytest.mark.server
def test_widget_values_fit_the_current_schemas(object_info):
    for name in WORKFLOW_NAMES:
        for node in load(name)["nodes"]:
            if node["type"] in VIRTUAL_NODES:
                continue
            slots = widget_slots(object_info[node["type"]])
            values = node["widgets_values"]
            assert len(values) == len(slots), (name, node["type"])
            for (input_name, kind, opts), value in zip(slots, values, strict=True):
                where = (name, node["type"], input_name, value)
                if input_name is None:
                    assert value in ("fixed", "increment", "decrement", "randomize", "image"), where
                elif kind == "COMBO":
                    assert value in opts["options"] or (node["type"], input_name) in USER_FILES, where
                elif kind in ("INT", "FLOAT"):
                    assert not isinstance(value, bool) and (kind == "FLOAT" or isinstance(value, int)), where
                    assert opts.get("min", -math.inf) <= value <= opts.get("max", math.inf), where
                else:
                    assert isinstance(value, {"STRING": str, "BOOLEAN": bool}[kind]), where
            sockets = [n for n, k, _ in specs(object_info[node["type"]]) if k not in WIDGETS]
            assert [s["name"] for s in node["inputs"] if s["name"] in sockets] == [
                s for s in sockets if s in {i["name"] for i in node["inputs"]}
            ]
            required = [
                n
                for n, k, _ in specs(object_info[node["type"]])
                if k not in WIDGETS and n in object_info[node["type"]]["input"]["required"]
            ]
            connected = {s["name"] for s in node["inputs"] if s.get("link") is not None}
            assert set(required) <= connected, (name, node["type"], set(required) - connected)


def build_workflows_module():
    from scripts import build_workflows

    return build_workflows


def generator():
    from scripts import build_workflows, workflow_graph

    return build_workflows, workflow_graph.SchemaError


@pytest.mark.server
def test_committed_workflows_equal_a_fresh_build_from_the_schemas(object_info):
    """On the pinned ComfyUI the files equal a fresh build; on other versions (core nodes' widgets differ)
    the build still validates every value and the pack's own nodes must be identical."""
    build_workflows, _ = generator()
    pinned = comfyui_version(comfyui_dir()) == "0.3.75"
    for name, workflow in build_workflows.build(object_info).items():
        fresh, committed = json.loads(build_workflows.dumps(workflow)), load(name)
        if not pinned:
            fresh, committed = pack_nodes(fresh), pack_nodes(committed)
        assert fresh == committed, f"{name}.json is stale: run `python scripts/build_workflows.py`"


def pack_nodes(workflow: dict) -> list[dict]:
    return [node for node in workflow["nodes"] if node["type"].startswith("FluxSculptor")]


@pytest.mark.server
def test_generator_fails_clearly_when_a_schema_changes(object_info):
    build_workflows, SchemaError = generator()
    without = {k: v for k, v in object_info.items() if k != "FluxSculptorS2DECSampler"}
    with pytest.raises(SchemaError, match="'FluxSculptorS2DECSampler' is not in the server's /object_info"):
        build_workflows.build(without, ["painted_mask_edit"])
    fewer = copy.deepcopy(object_info)
    fewer["FluxSculptorS2DECSampler"]["input"]["required"]["fusion"][1]["options"] = ["s2d-ec"]
    with pytest.raises(SchemaError, match="FluxSculptorS2DECSampler.fusion = 'none' is not one of"):
        build_workflows.build(fewer, ["fusion_ablation"])
    narrower = copy.deepcopy(object_info)
    narrower["FluxSculptorMaskCombine"]["input"]["required"]["grow"][1]["max"] = 8
    with pytest.raises(SchemaError, match="FluxSculptorMaskCombine.grow = 16 is outside"):
        build_workflows.build(narrower, ["painted_mask_edit"])
    renamed = copy.deepcopy(object_info)
    renamed["FluxSculptorInversion"]["output_name"] = ["inv", "noise"]
    with pytest.raises(SchemaError, match="FluxSculptorInversion has no output 'inversion'"):
        build_workflows.build(renamed, ["painted_mask_edit"])


@pytest.mark.server
def test_each_workflow_does_what_its_name_says(object_info):
    text = {
        n: [widget(c, "text", object_info) for c in nodes_of(load(n), "CLIPTextEncode")]
        for n in WORKFLOW_NAMES
    }
    assert text["text_edit_pasl"] == ["a woman.", "a woman with red lipstick."]
    assert nodes_of(load("text_edit_pasl"), "FluxSculptorPASLMask")
    painted = load("painted_mask_edit")
    (combine,) = nodes_of(painted, "FluxSculptorMaskCombine")
    assert feeders(painted, combine, "mask_a")["type"] == "LoadImage"
    assert widget(combine, "grow", object_info) > 0 and widget(combine, "feather", object_info) > 0
    multi = load("multi_attribute_edit")
    (pasl,) = nodes_of(multi, "FluxSculptorPASLMask")
    assert (
        len([p for p in widget(pasl, "prompt", object_info).replace(";", "\n").splitlines() if p.strip()])
        >= 2
    )
    assert len(nodes_of(multi, "FluxSculptorS2DECSampler")) == 1
    several = load("several_edits_one_inversion")
    (inv,) = nodes_of(several, "FluxSculptorInversion")
    samplers = nodes_of(several, "FluxSculptorS2DECSampler")
    assert len(samplers) >= 3 and all(feeders(several, s, "inversion") is inv for s in samplers)
    assert len({feeders(several, s, "conditioning")["id"] for s in samplers}) == len(samplers)
    ablation = load("fusion_ablation")
    samplers = nodes_of(ablation, "FluxSculptorS2DECSampler")
    assert sorted(widget(s, "fusion", object_info) for s in samplers) == sorted(FUSIONS)
    for input_name in ("model", "inversion", "conditioning", "mask"):
        assert len({feeders(ablation, s, input_name)["id"] for s in samplers}) == 1, input_name
    others = [
        [
            v
            for (n, *_), v in zip(widget_slots(object_info[s["type"]]), s["widgets_values"], strict=True)
            if n != "fusion"
        ]
        for s in samplers
    ]
    assert all(o == others[0] for o in others)
    nano = load("nano_demo_edit")
    (loader,) = nodes_of(nano, "FluxSculptorNanoLoader")
    (image,) = nodes_of(nano, "LoadImage")
    assert widget(image, "image", object_info) == build_workflows_module().DEMO_IMAGE
    assert text["nano_demo_edit"] == ["a photo of a person", "a photo of a person with sunglasses"]
    (inv,) = nodes_of(nano, "FluxSculptorInversion")
    (edit,) = nodes_of(nano, "FluxSculptorS2DECSampler")
    assert feeders(nano, inv, "model") is loader and feeders(nano, edit, "model") is loader
    assert feeders(nano, edit, "mask")["type"] == "FluxSculptorPASLMask"
    (pair,) = nodes_of(nano, "ImageStitch")
    assert feeders(nano, pair, "image1") is image
    assert feeders(nano, pair, "image2")["type"] == "ImageCompositeMasked"


def run_swapped(server, object_info, name: str) -> tuple[dict, dict]:
    prompt = swap_for_tiny_models(to_api(load(name), object_info))
    return prompt, server.run(prompt, timeout=600)["outputs"]


def stats_of(prompt: dict, outputs: dict) -> dict[str, torch.Tensor]:
    found = {
        k: torch.tensor(outputs[k]["values"]).view(outputs[k]["shape"])
        for k, v in prompt.items()
        if v["class_type"] == "FluxSculptorTestLatentStats"
    }
    assert found and all(torch.isfinite(t).all() and t.shape == (1, 16, 16, 16) for t in found.values())
    return found


@pytest.mark.server
@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_workflow_runs_through_the_server_with_tiny_models(server, object_info, name):
    prompt, outputs = run_swapped(server, object_info, name)
    latents = stats_of(prompt, outputs)
    samplers = [k for k, v in prompt.items() if v["class_type"] == "FluxSculptorS2DECSampler"]
    assert len(latents) == len(samplers)
    previews = [k for k, v in prompt.items() if v["class_type"] == "PreviewImage"]
    assert all(outputs[k]["images"] for k in previews)  # mask previews ran and produced images
    if name in ("several_edits_one_inversion", "fusion_ablation"):
        values = list(latents.values())
        for i in range(len(values)):
            for j in range(i + 1, len(values)):
                assert not torch.equal(values[i], values[j]), "two edits gave the same latent"


@pytest.mark.server
def test_notes_claims_about_an_unpainted_image_hold(server, object_info):
    """painted_mask_edit stops with the fix if nothing is painted; multi_attribute_edit's union ignores it."""
    for name, fails in (("painted_mask_edit", True), ("multi_attribute_edit", False)):
        prompt = swap_for_tiny_models(to_api(load(name), object_info))
        for node in prompt.values():
            if node["class_type"] == "FluxSculptorTestTinyImage":
                node["inputs"]["painted"] = False  # LoadImage of an image without alpha: 64x64 zero mask
        if fails:
            with pytest.raises(RuntimeError, match="no edit region.*mask editor"):
                server.run(prompt, timeout=600)
        else:
            stats_of(prompt, server.run(prompt, timeout=600)["outputs"])
