"""Hygiene through the real server (issue 8): Cancel, as the UI sends it (POST /interrupt), in the middle
of an inversion and of an edit leaves the MODEL and the inversion as they were."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

pytestmark = pytest.mark.server


def server_graph(
    inv_steps: int | None = None, target_seed: int | None = None, ksampler: bool = False
) -> dict:
    """Tiny model, source prompt and latent; optionally a plain KSampler, an inversion and an edit."""
    graph = {
        "model": {
            "class_type": "FluxSculptorTestTinyFlux",
            "inputs": {"seed": 0, "depth": 1, "depth_single": 2, "weight_scale": 0.25},
        },
        "source": {"class_type": "FluxSculptorTestTinyConditioning", "inputs": {"seed": 0, "tokens": 8}},
        "latent": {
            "class_type": "FluxSculptorTestTinyLatent",
            "inputs": {"seed": 0, "height": 16, "width": 16},
        },
    }
    if ksampler:
        graph["ks"] = {
            "class_type": "KSampler",
            "inputs": {
                "model": ["model", 0],
                "seed": 42,
                "steps": 4,
                "cfg": 1.0,
                "sampler_name": "euler",
                "scheduler": "simple",
                "positive": ["source", 0],
                "negative": ["source", 0],
                "latent_image": ["latent", 0],
                "denoise": 1.0,
            },
        }
        graph["ks_stats"] = {"class_type": "FluxSculptorTestLatentStats", "inputs": {"latent": ["ks", 0]}}
    if inv_steps is not None:
        graph["inv"] = {
            "class_type": "FluxSculptorInversion",
            "inputs": {
                "model": ["model", 0],
                "latent": ["latent", 0],
                "conditioning": ["source", 0],
                "steps": inv_steps,
                "guidance": 1.0,
                "value_blocks": 2,
                "store": "cpu",
                "solver": "rf_solver",
                "store_dtype": "auto",
            },
        }
        graph["noise_stats"] = {"class_type": "FluxSculptorTestLatentStats", "inputs": {"latent": ["inv", 1]}}
    if target_seed is not None:
        graph["target"] = {
            "class_type": "FluxSculptorTestTinyConditioning",
            "inputs": {"seed": target_seed, "tokens": 8},
        }
        graph["edit"] = {
            "class_type": "FluxSculptorS2DECSampler",
            "inputs": {
                "model": ["model", 0],
                "inversion": ["inv", 0],
                "conditioning": ["target", 0],
                "structure_steps": 2,
                "guidance": 2.0,
                "fusion": "s2d-ec",
                "source_path": "inversion",
            },
        }
        graph["edit_stats"] = {"class_type": "FluxSculptorTestLatentStats", "inputs": {"latent": ["edit", 0]}}
    return graph


async def queue_and_cancel(port: int, prompt: dict, node: str, at_step: int) -> str:
    """Queue `prompt` and press Cancel (POST /interrupt, as the UI does) once `node` reports progress
    `at_step` over the websocket."""
    import aiohttp

    client_id = uuid.uuid4().hex
    base = f"http://127.0.0.1:{port}"
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{base}/ws?clientId={client_id}") as ws,
    ):
        async with session.post(f"{base}/prompt", json={"prompt": prompt, "client_id": client_id}) as resp:
            prompt_id = (await resp.json())["prompt_id"]
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            event = json.loads(message.data)
            data = event.get("data", {})
            if event["type"] == "progress" and data.get("node") == node and data["value"] >= at_step:
                async with session.post(f"{base}/interrupt", json={"prompt_id": prompt_id}):
                    return prompt_id
            if (
                event["type"] in ("execution_success", "execution_error")
                and data.get("prompt_id") == prompt_id
            ):
                raise AssertionError(f"{node} finished before it could be cancelled: {event}")
    raise AssertionError("the websocket closed before the cancel")


def cached_nodes(entry: dict) -> set[str]:
    return {
        n for kind, data in entry["status"]["messages"] if kind == "execution_cached" for n in data["nodes"]
    }


def test_cancel_through_the_server_leaves_model_and_inversion_clean(server):
    """Cancel (the UI's /interrupt) in the middle of an inversion and of an edit; afterwards the same MODEL
    object (cached model node) gives a plain KSampler result and an edit bitwise equal to the ones before."""
    before_ks = server.run(server_graph(ksampler=True))["outputs"]["ks_stats"]["values"]
    before_edit = server.run(server_graph(inv_steps=30, target_seed=1))["outputs"]["edit_stats"]["values"]
    for prompt, node in (
        (server_graph(inv_steps=31), "inv"),
        (server_graph(inv_steps=30, target_seed=2), "edit"),
    ):
        prompt_id = asyncio.run(queue_and_cancel(server.port, prompt, node, at_step=3))
        entry = server.wait(prompt_id)
        stopped = [data for kind, data in entry["status"]["messages"] if kind == "execution_interrupted"]
        assert stopped and stopped[0]["node_id"] == node, entry["status"]
    entry = server.run(server_graph(inv_steps=30, target_seed=1))
    assert {"model", "inv"} <= cached_nodes(entry) and "edit" not in cached_nodes(entry)
    assert entry["outputs"]["edit_stats"]["values"] == before_edit
    entry = server.run(server_graph(ksampler=True))
    assert "model" in cached_nodes(entry) and "ks" not in cached_nodes(entry)
    assert entry["outputs"]["ks_stats"]["values"] == before_ks
