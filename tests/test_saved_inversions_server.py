"""Save Inversion, then Load Inversion in a later prompt, through the real ComfyUI server (issue 15)."""

import pytest
import torch

pytestmark = pytest.mark.server


def sources() -> dict:
    return {
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
        "mask": {"class_type": "SolidMask", "inputs": {"value": 0.5, "width": 128, "height": 128}},
    }


def edit(inversion: list) -> dict:
    return {
        "edit": {
            "class_type": "FluxSculptorS2DECSampler",
            "inputs": {
                "model": ["model", 0],
                "inversion": inversion,
                "conditioning": ["target", 0],
                "mask": ["mask", 0],
                "structure_steps": 2,
                "guidance": 2.0,
                "fusion": "s2d-ec",
                "source_path": "inversion",
            },
        },
        "stats": {"class_type": "FluxSculptorTestLatentStats", "inputs": {"latent": ["edit", 0]}},
    }


def test_save_then_load_in_a_later_prompt_gives_the_same_edit(server):
    first = sources() | edit(["inv", 0])
    first["inv"] = {
        "class_type": "FluxSculptorInversion",
        "inputs": {
            "model": ["model", 0],
            "latent": ["latent", 0],
            "conditioning": ["source", 0],
            "steps": 5,
            "guidance": 1.0,
            "value_blocks": 2,
            "store": "recompute",
            "solver": "rf_solver",
            "store_dtype": "auto",
        },
    }
    first["save"] = {
        "class_type": "FluxSculptorSaveInversion",
        "inputs": {"inversion": ["inv", 0], "model": ["model", 0], "filename_prefix": "server/portrait"},
    }
    made = server.run(first)["outputs"]["stats"]["values"]
    files = server.object_info()["FluxSculptorLoadInversion"]["input"]["required"]["file"][1]["options"]
    assert "server/portrait_00001.safetensors" in files
    second = sources() | edit(["load", 0])
    second["load"] = {
        "class_type": "FluxSculptorLoadInversion",
        "inputs": {
            "model": ["model", 0],
            "file": "server/portrait_00001.safetensors",
            "latent": ["latent", 0],
        },
    }
    assert torch.equal(torch.tensor(server.run(second)["outputs"]["stats"]["values"]), torch.tensor(made))
    second["load"]["inputs"]["file"] = "../portrait_00001.safetensors"
    with pytest.raises(RuntimeError, match="not in list|not among the files"):
        server.run(second)
