"""Bundled UI-format workflows -> API-format prompts, and the loader swap for the tiny test models.

Written from ComfyUI's formats, independent of scripts/build_workflows.py: the UI format's widget values
are matched to input names through the server's /object_info (the same rule as the frontend's
`graphToPrompt`, which tests/test_browser.py compares against this converter).
"""

from __future__ import annotations

import copy
import json
import zlib
from pathlib import Path

WORKFLOW_DIR = Path(__file__).resolve().parent.parent / "workflows"
WORKFLOW_NAMES = (
    "text_edit_pasl",
    "painted_mask_edit",
    "multi_attribute_edit",
    "several_edits_one_inversion",
    "fusion_ablation",
    "nano_demo_edit",
    "whole_photo_edit",
)
VIRTUAL_NODES = {"Note", "MarkdownNote", "Reroute", "PrimitiveNode"}
WIDGETS = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
TINY_IMAGE = 128  # pixels; the tiny latent is TINY_IMAGE / 8 (as FLUX's VAE)
TINY_SINGLE_BLOCKS = 18  # >= the inversion's default value_blocks (18)


def load(name: str) -> dict:
    return json.loads((WORKFLOW_DIR / f"{name}.json").read_text())


def specs(info: dict) -> list[tuple[str, str, dict]]:
    """(name, type, options) of a node's inputs in input_order; list-typed (old combo) inputs become COMBO."""
    order = info.get("input_order") or {s: list(info["input"].get(s, {})) for s in ("required", "optional")}
    out = []
    for section in ("required", "optional"):
        for name in order.get(section, []):
            spec = info["input"][section][name]
            opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
            kind = "COMBO" if isinstance(spec[0], list) else spec[0]
            if isinstance(spec[0], list):
                opts = {**opts, "options": spec[0]}
            out.append((name, kind, opts))
    return out


def widget_slots(info: dict) -> list[tuple[str | None, str, dict]]:
    """The frontend's widget list: each widget input, plus an unnamed (None) slot for the extra widget the
    frontend adds after seed-like INTs (control_after_generate) and upload combos (the upload button)."""
    slots: list[tuple[str | None, str, dict]] = []
    for name, kind, opts in specs(info):
        if kind not in WIDGETS:
            continue
        slots.append((name, kind, opts))
        if (kind == "INT" and (opts.get("control_after_generate") or name in ("seed", "noise_seed"))) or (
            kind == "COMBO" and opts.get("image_upload")
        ):
            slots.append((None, kind, opts))
    return slots


def to_api(workflow: dict, object_info: dict) -> dict:
    """UI workflow -> API prompt {id: {"class_type", "inputs"}}; virtual nodes dropped, links [id, slot]."""
    links = {link[0]: link for link in workflow["links"]}
    prompt = {}
    for node in workflow["nodes"]:
        if node["type"] in VIRTUAL_NODES or node.get("mode", 0) != 0:
            continue
        info = object_info[node["type"]]
        slots = widget_slots(info)
        values = node.get("widgets_values", [])
        if len(values) != len(slots):
            raise ValueError(
                f"node {node['id']} ({node['type']}) has {len(values)} widget values, its schema {len(slots)}"
            )
        inputs = {name: value for (name, _, _), value in zip(slots, values, strict=True) if name is not None}
        for slot in node.get("inputs", []):
            if slot.get("link") is not None:
                link = links[slot["link"]]
                inputs[slot["name"]] = [str(link[1]), link[2]]
        prompt[str(node["id"])] = {"class_type": node["type"], "inputs": inputs}
    return prompt


def swap_for_tiny_models(prompt: dict) -> dict:
    """Replace FLUX.1-dev (or Nano) loading by the tiny test sources; nothing else changes.

    UNETLoader / FluxSculptorNanoLoader -> tiny Flux MODEL; CLIPTextEncode -> tiny CONDITIONING seeded by
    its text (DualCLIPLoader dropped); LoadImage -> tiny IMAGE + painted MASK; VAEEncode -> tiny LATENT of
    the image's latent size (VAELoader dropped); VAEDecode -> tiny decode (IMAGE [1,8h,8w,3] from the
    latent) plus a LatentStats node `stats_<id>` on its input, so the pixel nodes after it still run.
    """
    out = copy.deepcopy(prompt)
    for node_id, node in list(out.items()):
        kind, inputs = node["class_type"], node["inputs"]
        if kind in ("UNETLoader", "FluxSculptorNanoLoader"):
            out[node_id] = {
                "class_type": "FluxSculptorTestTinyFlux",
                "inputs": {"seed": 0, "depth": 1, "depth_single": TINY_SINGLE_BLOCKS, "weight_scale": 0.25},
            }
        elif kind == "CLIPTextEncode":
            out[node_id] = {
                "class_type": "FluxSculptorTestTinyConditioning",
                "inputs": {"seed": zlib.crc32(inputs["text"].encode()) % 2**31, "tokens": 8},
            }
        elif kind in ("DualCLIPLoader", "VAELoader"):
            del out[node_id]
        elif kind == "LoadImage":
            out[node_id] = {
                "class_type": "FluxSculptorTestTinyImage",
                "inputs": {"seed": 0, "height": TINY_IMAGE, "width": TINY_IMAGE, "painted": True},
            }
        elif kind == "VAEEncode":
            out[node_id] = {
                "class_type": "FluxSculptorTestTinyLatent",
                "inputs": {"seed": 0, "height": TINY_IMAGE // 8, "width": TINY_IMAGE // 8},
            }
        elif kind == "VAEDecode":
            out[node_id] = {
                "class_type": "FluxSculptorTestTinyDecode",
                "inputs": {"samples": inputs["samples"]},
            }
            out[f"stats_{node_id}"] = {
                "class_type": "FluxSculptorTestLatentStats",
                "inputs": {"latent": inputs["samples"]},
            }
    for node_id, node in out.items():
        for name, value in node["inputs"].items():
            if isinstance(value, list) and value[0] not in out:
                raise ValueError(f"node {node_id}.{name} still needs removed node {value[0]} after the swap")
    return out
