"""Test-only ComfyUI node pack: tiny random Flux MODEL, CONDITIONING, LATENT and IMAGE/MASK sources.

Loaded into the real ComfyUI server by the tests next to Flux-Sculptor, so whole graphs run through
the server API without FLUX.1-dev weights. Never shipped to users.
"""

import torch
from comfy_api.latest import ComfyExtension, io

from .tiny_flux import build_tiny_flux, tiny_conditioning, tiny_latent
from .tiny_sources import MaskStats, PixelValues, TinyDecode, TinyImage


class TinyFluxModel(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="FluxSculptorTestTinyFlux",
            category="Flux-Sculptor/tests",
            inputs=[
                io.Int.Input("seed", default=0, min=0, max=2**31),
                io.Int.Input("depth", default=2, min=1),
                io.Int.Input("depth_single", default=4, min=1),
                io.Float.Input("weight_scale", default=0.25, min=0.0, max=4.0, step=0.01),
            ],
            outputs=[io.Model.Output()],
        )

    @classmethod
    def execute(cls, seed, depth, depth_single, weight_scale) -> io.NodeOutput:
        return io.NodeOutput(build_tiny_flux(seed, depth, depth_single, weight_scale))


class TinyFluxConditioning(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="FluxSculptorTestTinyConditioning",
            category="Flux-Sculptor/tests",
            inputs=[
                io.Int.Input("seed", default=0, min=0, max=2**31),
                io.Int.Input("tokens", default=8, min=1),
            ],
            outputs=[io.Conditioning.Output()],
        )

    @classmethod
    def execute(cls, seed, tokens) -> io.NodeOutput:
        return io.NodeOutput(tiny_conditioning(seed, tokens))


class TinyFluxLatent(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="FluxSculptorTestTinyLatent",
            category="Flux-Sculptor/tests",
            inputs=[
                io.Int.Input("seed", default=0, min=0, max=2**31),
                io.Int.Input("height", default=16, min=2),
                io.Int.Input("width", default=16, min=2),
            ],
            outputs=[io.Latent.Output()],
        )

    @classmethod
    def execute(cls, seed, height, width) -> io.NodeOutput:
        return io.NodeOutput(tiny_latent(seed, height, width))


class LatentStats(io.ComfyNode):
    """Reports a LATENT's numbers in the UI output, so server tests can read results from /history."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="FluxSculptorTestLatentStats",
            category="Flux-Sculptor/tests",
            is_output_node=True,
            inputs=[io.Latent.Input("latent")],
            outputs=[],
        )

    @classmethod
    def execute(cls, latent) -> io.NodeOutput:
        samples: torch.Tensor = latent["samples"]
        return io.NodeOutput(
            ui={
                "shape": list(samples.shape),
                "mean": [float(samples.mean())],
                "std": [float(samples.std())],
                "values": samples.flatten().tolist(),
            }
        )


class TinyFluxTestExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return [
            TinyFluxModel,
            TinyFluxConditioning,
            TinyFluxLatent,
            LatentStats,
            TinyImage,
            MaskStats,
            TinyDecode,
            PixelValues,
        ]


async def comfy_entrypoint() -> TinyFluxTestExtension:
    return TinyFluxTestExtension()
