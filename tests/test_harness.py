"""The harness itself: real ComfyUI in-process and as a server, and the pack loaded by ComfyUI's loader."""

import torch

PACK_NODE_IDS = {
    "FluxSculptorInversion",
    "FluxSculptorPASLMask",
    "FluxSculptorMaskCombine",
    "FluxSculptorS2DECSampler",
    "FluxSculptorNanoLoader",
}


def test_comfyui_is_the_real_one(comfyui):
    import comfy.model_patcher
    import comfy.samplers

    assert (comfyui / "main.py").is_file()
    assert comfy.samplers.__file__.startswith(str(comfyui))
    assert hasattr(comfy.model_patcher.ModelPatcher, "set_model_patch_replace")


def test_tiny_flux_plain_sampling_runs_through_comfy_samplers(tiny_flux, tiny_cond, tiny_latent):
    import comfy.sample

    model = tiny_flux(seed=1)
    latent = tiny_latent()["samples"]
    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(0))
    cond = tiny_cond()
    out = comfy.sample.sample(
        model, noise, 8, 1.0, "euler", "simple", cond, cond, latent, denoise=1.0, disable_pbar=True, seed=0
    )
    again = comfy.sample.sample(
        model, noise, 8, 1.0, "euler", "simple", cond, cond, latent, denoise=1.0, disable_pbar=True, seed=0
    )
    assert out.shape == latent.shape and torch.isfinite(out).all()
    assert torch.equal(out, again)
    assert not torch.allclose(out, noise)
    assert type(model.model.diffusion_model).__module__ == "comfy.ldm.flux.model"


def test_pack_loads_through_comfyui_loader(pack):
    import nodes

    assert callable(pack.comfy_entrypoint)
    assert not hasattr(pack, "NODE_CLASS_MAPPINGS")
    registered = set(nodes.NODE_CLASS_MAPPINGS) & PACK_NODE_IDS
    from importlib import import_module

    listed = {n.define_schema().node_id for n in import_module(pack.__name__ + ".nodes").all_nodes()}
    assert registered == listed == PACK_NODE_IDS


def test_server_lists_pack_nodes_and_executes_a_graph(server):
    info = server.object_info()
    assert "FluxSculptorTestTinyFlux" in info
    ours = {k for k in info if k.startswith("FluxSculptor") and not k.startswith("FluxSculptorTest")}
    assert ours == PACK_NODE_IDS
    prompt = {
        "1": {
            "class_type": "FluxSculptorTestTinyFlux",
            "inputs": {"seed": 0, "depth": 1, "depth_single": 2, "weight_scale": 0.25},
        },
        "2": {"class_type": "FluxSculptorTestTinyConditioning", "inputs": {"seed": 0, "tokens": 8}},
        "3": {"class_type": "FluxSculptorTestTinyLatent", "inputs": {"seed": 0, "height": 16, "width": 16}},
        "4": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["1", 0],
                "positive": ["2", 0],
                "negative": ["2", 0],
                "latent_image": ["3", 0],
                "seed": 0,
                "steps": 4,
                "cfg": 1.0,
                "sampler_name": "euler",
                "scheduler": "simple",
                "denoise": 1.0,
            },
        },
        "5": {"class_type": "FluxSculptorTestLatentStats", "inputs": {"latent": ["4", 0]}},
    }
    entry = server.run(prompt)
    stats = entry["outputs"]["5"]
    assert stats["shape"] == [1, 16, 16, 16]
    assert stats["std"][0] > 0
