"""Determinism and load (issue 8): bitwise-identical outputs on CPU, independent samplers and graphs,
and a steady server memory over 20 queued edits."""

from __future__ import annotations

import time

import pytest
import torch
from helpers import pack_module


def inversion_and_edit(
    inv_node, s2d_node, model, latent, source, target, mask, steps=5, solver="rf_solver", store="cpu"
):
    inv, noise = inv_node.execute(
        model=model,
        latent=latent,
        conditioning=source,
        steps=steps,
        guidance=1.0,
        value_blocks=2,
        store=store,
        solver=solver,
    ).result
    out = s2d_node.execute(
        model=model,
        inversion=inv,
        conditioning=target,
        structure_steps=2,
        guidance=2.0,
        fusion="s2d-ec",
        source_path="inversion",
        mask=mask,
    ).result[0]["samples"]
    return inv, noise["samples"], out


@pytest.mark.parametrize(
    "solver, store", [("rf_solver", "cpu"), ("fireflow", "cpu"), ("rf_solver", "recompute")]
)
def test_inversion_and_edit_are_bitwise_reproducible(
    inv_node, s2d_node, tiny_flux, tiny_cond, tiny_latent, solver, store
):
    """The same inputs, on the same MODEL and on a freshly built identical one, give identical bits."""
    mask = torch.zeros(1, 128, 128)
    mask[:, 32:96, 40:100] = 1.0
    runs = []
    for model in (tiny_flux(seed=3), None, tiny_flux(seed=3)):
        model = model or runs[-1][0]
        runs.append(
            (
                model,
                *inversion_and_edit(
                    inv_node,
                    s2d_node,
                    model,
                    tiny_latent(1),
                    tiny_cond(0),
                    tiny_cond(1),
                    mask,
                    solver=solver,
                    store=store,
                ),
            )
        )
    _, inv_a, noise_a, out_a = runs[0]
    for _, inv_b, noise_b, out_b in runs[1:]:
        assert torch.equal(noise_a, noise_b) and torch.equal(out_a, out_b)
        assert all(torch.equal(x, y) for x, y in zip(inv_a.latents, inv_b.latents, strict=True))
        assert inv_a.store.keys() == inv_b.store.keys()
        assert (inv_a.store.nbytes > 0) == (store != "recompute")
        assert (len(inv_a.midpoints) > 0) == (store == "recompute")
        assert all(torch.equal(x, y) for x, y in zip(inv_a.midpoints, inv_b.midpoints, strict=True))
        assert all(
            torch.equal(inv_a.store.get(k, b, v), inv_b.store.get(k, b, v))
            for (k, b), v in ((key, torch.empty(0)) for key in inv_a.store.keys())
        )
    other = inversion_and_edit(
        inv_node,
        s2d_node,
        runs[0][0],
        tiny_latent(1),
        tiny_cond(0),
        tiny_cond(2),
        mask,
        solver=solver,
        store=store,
    )
    assert not torch.equal(other[2], out_a)  # a different target prompt does change the bits


@pytest.fixture(scope="module")
def pasl_weights(pack, tmp_path_factory) -> str:
    """Random PASL weights (MiniLM encoder) in an extra models/pasl folder, as a user would add them."""
    import folder_paths

    pasl = pack_module(pack, "sculptor.pasl")
    folder = tmp_path_factory.mktemp("determinism_pasl")
    folder_paths.add_model_folder_path("pasl", str(folder))
    torch.manual_seed(0)
    pasl.save_pasl(pasl.PASL(pasl.PASLConfig(resolution=64)), folder / "determinism.safetensors")
    return "determinism.safetensors"


def test_pasl_masks_are_bitwise_reproducible(pack, pasl_weights):
    node_mod = pack_module(pack, "nodes.pasl")
    image = torch.rand(2, 48, 40, 3, generator=torch.Generator().manual_seed(4))
    node = node_mod.FluxSculptorPASLMask
    first = node.execute(image=image, prompt="hair; lips", weights=pasl_weights).result
    node_mod._load_cached.cache_clear()  # the second run loads the weights again
    second = node.execute(image=image, prompt="hair; lips", weights=pasl_weights).result
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert first[1].shape == (4, 48, 40) and not torch.equal(first[1][0], first[1][1])


def graph(
    latent_seed=0, target_seed=1, store="cpu", masks=((0.0, 0.5),), size=16, steps=4, stats_size=None
) -> dict:
    """API prompt: tiny model -> inversion -> one S2D-EC sampler per (left, right) mask column span.
    size: latent side; stats_size: if given, results are shrunk to this latent side before being reported
    (keeps the server's history small in load tests)."""
    prompt = {
        "model": {
            "class_type": "FluxSculptorTestTinyFlux",
            "inputs": {"seed": 0, "depth": 1, "depth_single": 2, "weight_scale": 0.25},
        },
        "source": {"class_type": "FluxSculptorTestTinyConditioning", "inputs": {"seed": 0, "tokens": 8}},
        "target": {
            "class_type": "FluxSculptorTestTinyConditioning",
            "inputs": {"seed": target_seed, "tokens": 8},
        },
        "latent": {
            "class_type": "FluxSculptorTestTinyLatent",
            "inputs": {"seed": latent_seed, "height": size, "width": size},
        },
        "inv": {
            "class_type": "FluxSculptorInversion",
            "inputs": {
                "model": ["model", 0],
                "latent": ["latent", 0],
                "conditioning": ["source", 0],
                "steps": steps,
                "guidance": 1.0,
                "value_blocks": 2,
                "store": store,
            },
        },
    }
    for i, (left, right) in enumerate(masks):
        for name, value in ((f"solid{i}", 0.0), (f"fill{i}", 1.0)):
            prompt[name] = {
                "class_type": "SolidMask",
                "inputs": {"value": value, "width": 128, "height": 128},
            }
        prompt[f"mask{i}"] = {
            "class_type": "MaskComposite",
            "inputs": {
                "destination": [f"solid{i}", 0],
                "source": [f"fill{i}", 0],
                "x": int(128 * left),
                "y": 0,
                "operation": "add",
            },
        }
        prompt[f"crop{i}"] = {
            "class_type": "MaskComposite",
            "inputs": {
                "destination": [f"mask{i}", 0],
                "source": [f"solid{i}", 0],
                "x": int(128 * right),
                "y": 0,
                "operation": "multiply",
            },
        }
        prompt[f"edit{i}"] = {
            "class_type": "FluxSculptorS2DECSampler",
            "inputs": {
                "model": ["model", 0],
                "inversion": ["inv", 0],
                "conditioning": ["target", 0],
                "mask": [f"crop{i}", 0],
                "structure_steps": 2,
                "guidance": 2.0,
                "fusion": "s2d-ec",
                "source_path": "inversion",
            },
        }
        reported = [f"edit{i}", 0]
        if stats_size is not None:
            prompt[f"shrink{i}"] = {
                "class_type": "LatentUpscale",
                "inputs": {
                    "samples": reported,
                    "upscale_method": "area",
                    "width": 8 * stats_size,
                    "height": 8 * stats_size,
                    "crop": "disabled",
                },
            }
            reported = [f"shrink{i}", 0]
        prompt[f"stats{i}"] = {"class_type": "FluxSculptorTestLatentStats", "inputs": {"latent": reported}}
    return prompt


def with_defaults(server, prompt: dict) -> dict:
    info = server.object_info()
    for node in prompt.values():
        for name, spec in info[node["class_type"]]["input"].get("required", {}).items():
            if name not in node["inputs"] and len(spec) > 1 and "default" in spec[1]:
                node["inputs"][name] = spec[1]["default"]
    return prompt


def results(entry: dict, n: int) -> list[torch.Tensor]:
    assert entry["status"]["status_str"] == "success", entry["status"]
    return [torch.tensor(entry["outputs"][f"stats{i}"]["values"]) for i in range(n)]


@pytest.mark.server
def test_samplers_in_one_graph_and_graphs_back_to_back_share_no_state(
    server, inv_node, s2d_node, tiny_flux, tiny_cond, tiny_latent
):
    left_right = ((0.0, 0.5), (0.5, 1.0))
    both = server.queue(with_defaults(server, graph(masks=left_right)))
    right_only = server.queue(with_defaults(server, graph(store="device", masks=left_right[1:])))
    left_only = server.queue(with_defaults(server, graph(store="device", masks=left_right[:1])))
    a, b = results(server.wait(both), 2)
    (b_alone,) = results(server.wait(right_only), 1)
    (a_alone,) = results(server.wait(left_only), 1)
    assert not torch.equal(a, b)
    assert torch.equal(a, a_alone) and torch.equal(b, b_alone)
    mask = torch.zeros(1, 128, 128)
    mask[..., :64] = 1.0
    *_, local = inversion_and_edit(
        inv_node,
        s2d_node,
        tiny_flux(seed=0, depth=1, depth_single=2),
        tiny_latent(0),
        tiny_cond(0),
        tiny_cond(1),
        mask,
        steps=4,
    )
    assert torch.equal(local.flatten(), a)  # the server and this process compute the same bits


@pytest.mark.server
def test_twenty_queued_edits_succeed_with_steady_memory(server, capsys):
    """20 different edits (new source latent and target prompt each: inversion and edit both rerun).
    Tiny latents keep this fast, so the RSS bound catches only large leaks; that no tensor outlives an
    inversion is checked exactly in test_hygiene.py."""
    import psutil

    size, steps = 16, 4
    recorded = 2 * steps * 2 * 4 * (size // 2) ** 2 * 16 * 4  # calls x blocks x heads x tokens x dim x fp32
    visited = (steps + 1) * 16 * size * size * 4

    def edit_graph(i: int) -> dict:
        return with_defaults(
            server, graph(latent_seed=100 + i, target_seed=200 + i, size=size, steps=steps, stats_size=8)
        )

    proc = psutil.Process(server.proc.pid)
    first = server.wait(server.queue(edit_graph(0)))
    results(first, 1)
    rss_first = proc.memory_info().rss
    start = time.monotonic()
    ids = [server.queue(edit_graph(i)) for i in range(1, 20)]
    outs = [results(server.wait(pid), 1)[0] for pid in ids]
    seconds = time.monotonic() - start
    rss_last = proc.memory_info().rss
    assert len({tuple(o.tolist()) for o in outs}) == 19  # all different edits, none served from cache
    change = (rss_last - rss_first) / rss_first
    with capsys.disabled():
        print(
            f"\n[load] 20 queued edits OK; server RSS after the 1st: {rss_first / 2**20:.1f} MiB, "
            f"after the 20th: {rss_last / 2**20:.1f} MiB ({100 * change:+.2f}%); "
            f"19 edits took {seconds:.1f} s; each inversion held {(recorded + visited) / 2**20:.1f} MiB "
            f"(a leak of all 20 would be {100 * 20 * (recorded + visited) / rss_first:.0f}% of the RSS)"
        )
    assert abs(change) <= 0.05
