"""Whole graphs through the real ComfyUI server API: tiny model -> inversion -> two S2D-EC samplers."""

import pytest
import torch

pytestmark = pytest.mark.server


def edit_graph(fusions=("s2d-ec", "none"), steps=6):
    prompt = {
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
        "mask": {"class_type": "SolidMask", "inputs": {"value": 1.0, "width": 128, "height": 128}},
        "inv": {
            "class_type": "FluxSculptorInversion",
            "inputs": {
                "model": ["model", 0],
                "latent": ["latent", 0],
                "conditioning": ["source", 0],
                "steps": steps,
                "guidance": 1.0,
                "value_blocks": 2,
                "store": "cpu",
                "solver": "rf_solver",
                "store_dtype": "auto",
            },
        },
    }
    for i, fusion in enumerate(fusions):
        prompt[f"edit{i}"] = {
            "class_type": "FluxSculptorS2DECSampler",
            "inputs": {
                "model": ["model", 0],
                "inversion": ["inv", 0],
                "conditioning": ["target", 0],
                "mask": ["mask", 0],
                "structure_steps": 2,
                "guidance": 2.0,
                "fusion": fusion,
                "source_path": "inversion",
            },
        }
        prompt[f"stats{i}"] = {
            "class_type": "FluxSculptorTestLatentStats",
            "inputs": {"latent": [f"edit{i}", 0]},
        }
    prompt["noise_stats"] = {"class_type": "FluxSculptorTestLatentStats", "inputs": {"latent": ["inv", 1]}}
    return prompt


def test_inversion_and_two_samplers_run_through_the_server(server):
    info = server.object_info()
    assert {"FluxSculptorInversion", "FluxSculptorS2DECSampler"} <= set(info)
    entry = server.run(edit_graph())
    out = entry["outputs"]
    a = torch.tensor(out["stats0"]["values"])
    b = torch.tensor(out["stats1"]["values"])
    assert out["stats0"]["shape"] == [1, 16, 16, 16]
    assert torch.equal(a, b)  # a full mask makes s2d-ec identical to no fusion (issue 4)
    assert out["noise_stats"]["shape"] == [1, 16, 16, 16]


def test_sampler_error_reaches_the_user_as_a_clear_message(server):
    prompt = edit_graph(("s2d-ec",))
    prompt["edit0"]["inputs"]["structure_steps"] = 50
    with pytest.raises(RuntimeError, match="structure_steps must be between 0 and the inversion's 6 steps"):
        server.run(prompt)
