"""Our sampler builds no autograd graph (issue 14 item 3), like ComfyUI's KSAMPLER: nodes called directly
(API scripts, tests, benchmarks: no executor inference_mode around them) with grad mode on and weights
that require grad still record nothing."""

import torch
from helpers import half_mask, pack_module


def test_nodes_called_outside_the_executor_build_no_graph(
    pack, inv_node, s2d_node, tiny_flux, tiny_cond, tiny_latent
):
    model = tiny_flux(seed=0, depth=1, depth_single=2)
    model.model.diffusion_model.requires_grad_(True)
    latent = tiny_latent(0)
    seen = []
    with torch.enable_grad():
        assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
        inversion, noise = inv_node.execute(
            model=model,
            latent=latent,
            conditioning=tiny_cond(0),
            steps=3,
            guidance=1.0,
            value_blocks=1,
            store="cpu",
        ).result
        edited = s2d_node.execute(
            model=model,
            inversion=inversion,
            conditioning=tiny_cond(1),
            structure_steps=1,
            guidance=2.0,
            fusion="s2d-ec",
            source_path="inversion",
            mask=half_mask(),
        ).result[0]["samples"]
        runs = pack_module(pack, "nodes.editing_runs")
        runs.run_edit(
            model,
            inversion,
            tiny_cond(1),
            mask=half_mask(),
            structure_steps=1,
            guidance=2.0,
            preview=False,
            observers=[lambda *event: seen.append(event[3:])],
        )
        assert torch.is_grad_enabled()  # the sampler's no_grad does not leak out of it
    outputs = [noise["samples"], edited, *inversion.latents]
    outputs += [inversion.store.stored(key, block) for key, block in inversion.store.keys()]
    assert seen, "the value hook saw no call"
    for tensor in outputs + [v for pair in seen for v in pair]:
        assert tensor.grad_fn is None and not tensor.requires_grad
