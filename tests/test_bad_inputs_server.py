"""Bad inputs through the real ComfyUI server (issue 8): the ValueError, its fix and a traceback that ends
in our checks reach the user in /history. Node-level cases: tests/test_bad_inputs.py."""

from __future__ import annotations

from typing import NamedTuple

import pytest

pytestmark = pytest.mark.server


def server_graph(**changes) -> dict:
    """tiny model -> inversion -> S2D-EC (mask from a test LoadImage stand-in); `changes` replace nodes."""
    graph = {
        "model": {
            "class_type": "FluxSculptorTestTinyFlux",
            "inputs": {"seed": 0, "depth": 1, "depth_single": 2, "weight_scale": 0.25},
        },
        "source": {"class_type": "FluxSculptorTestTinyConditioning", "inputs": {"seed": 0, "tokens": 8}},
        "target": {"class_type": "FluxSculptorTestTinyConditioning", "inputs": {"seed": 1, "tokens": 8}},
        "latent": {
            "class_type": "FluxSculptorTestTinyLatent",
            "inputs": {"seed": 0, "height": 16, "width": 16},
        },
        "image": {
            "class_type": "FluxSculptorTestTinyImage",
            "inputs": {"seed": 0, "height": 128, "width": 128, "painted": True},
        },
        "inv": {
            "class_type": "FluxSculptorInversion",
            "inputs": {
                "model": ["model", 0],
                "latent": ["latent", 0],
                "conditioning": ["source", 0],
                "steps": 3,
                "guidance": 1.0,
                "value_blocks": 1,
                "store": "cpu",
            },
        },
        "edit": {
            "class_type": "FluxSculptorS2DECSampler",
            "inputs": {
                "model": ["model", 0],
                "inversion": ["inv", 0],
                "conditioning": ["target", 0],
                "mask": ["image", 1],
                "structure_steps": 1,
                "guidance": 2.0,
                "fusion": "s2d-ec",
                "source_path": "inversion",
            },
        },
        "stats": {"class_type": "FluxSculptorTestLatentStats", "inputs": {"latent": ["edit", 0]}},
    }
    for name, node in changes.items():
        graph[name] = node
    return graph


def with_defaults(server, graph: dict) -> dict:
    """Fill required widget inputs a graph leaves out with their /object_info defaults (inputs added
    to our nodes later keep these graphs valid)."""
    info = server.object_info()
    for node in graph.values():
        for name, spec in info[node["class_type"]]["input"].get("required", {}).items():
            if name not in node["inputs"] and len(spec) > 1 and "default" in spec[1]:
                node["inputs"][name] = spec[1]["default"]
    return graph


def execution_error(server, graph: dict) -> dict:
    entry = server.wait(server.queue(with_defaults(server, graph)))
    assert entry["status"]["status_str"] == "error", entry["status"]
    errors = [m[1] for m in entry["status"]["messages"] if m[0] == "execution_error"]
    assert len(errors) == 1
    return errors[0]


def load_image_without_alpha(server) -> dict:
    """The real LoadImage on an RGB png: its MASK is the 64x64 all-zero placeholder."""
    import numpy as np
    from PIL import Image

    Image.fromarray(np.full((128, 128, 3), 127, np.uint8)).save(server.workdir / "input" / "no_alpha.png")
    return {"class_type": "LoadImage", "inputs": {"image": "no_alpha.png"}}


class ServerCase(NamedTuple):
    """A graph change (node name -> new node or a named rewiring), the node that must fail, its message."""

    changes: dict
    node_type: str
    message: str


SERVER_CASES = {
    "sd_latent": ServerCase(
        {
            "latent": {
                "class_type": "EmptyLatentImage",
                "inputs": {"width": 128, "height": 128, "batch_size": 1},
            }
        },
        "FluxSculptorInversion",
        "must be a Flux LATENT [B,16,h,w]",
    ),
    "empty_latent": ServerCase(
        {
            "latent": {
                "class_type": "EmptySD3LatentImage",
                "inputs": {"width": 128, "height": 128, "batch_size": 1},
            }
        },
        "FluxSculptorInversion",
        "all zeros (an empty latent?)",
    ),
    "kontext": ServerCase(
        {
            "ref": {
                "class_type": "ReferenceLatent",
                "inputs": {"conditioning": ["source", 0], "latent": ["latent", 0]},
            },
            "inv": "source->ref",
        },
        "FluxSculptorInversion",
        "reference latents (FLUX.1 Kontext)",
    ),
    "other_model": ServerCase(
        {
            "model2": {
                "class_type": "FluxSculptorTestTinyFlux",
                "inputs": {"seed": 1, "depth": 1, "depth_single": 2, "weight_scale": 0.25},
            },
            "edit": "model->model2",
        },
        "FluxSculptorS2DECSampler",
        "same MODEL as the inversion",
    ),
    "value_blocks": ServerCase(
        {"inv": "value_blocks=5"},
        "FluxSculptorInversion",
        "value_blocks must be between 1 and 2",
    ),
    "placeholder": ServerCase(
        {"image": "load_image"},
        "FluxSculptorS2DECSampler",
        "LoadImage's 64x64 empty placeholder",
    ),
}


@pytest.mark.parametrize("case", sorted(SERVER_CASES))
def test_errors_reach_the_user_through_the_server(server, case):
    changes, node_type, message = SERVER_CASES[case]
    graph = server_graph()
    for name, change in changes.items():
        if change == "load_image":
            graph[name] = load_image_without_alpha(server)
        elif change == "source->ref":
            graph[name]["inputs"]["conditioning"] = ["ref", 0]
        elif change == "model->model2":
            graph[name]["inputs"]["model"] = ["model2", 0]
        elif change == "value_blocks=5":
            graph[name]["inputs"]["value_blocks"] = 5
        else:
            graph[name] = change
    error = execution_error(server, graph)
    assert error["node_type"] == node_type
    assert error["exception_type"].endswith("ValueError")
    assert message in error["exception_message"]
    frames = "".join(error["traceback"])
    ours = ("nodes/checks.py", "sculptor/masks.py")  # raised by our checks, not deep in torch
    assert any(name in frames for name in ours) and "/torch/" not in frames
