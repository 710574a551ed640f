"""Test-only IMAGE/MASK source (stands in for LoadImage) and a MASK reporter, for server graphs."""

import torch
from comfy_api.latest import io


class TinyImage(io.ComfyNode):
    """Like LoadImage's outputs: IMAGE [1,H,W,3] and MASK (a painted ellipse, or LoadImage's 64x64 zeros)."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="FluxSculptorTestTinyImage",
            category="Flux-Sculptor/tests",
            inputs=[
                io.Int.Input("seed", default=0, min=0, max=2**31),
                io.Int.Input("height", default=128, min=8),
                io.Int.Input("width", default=128, min=8),
                io.Boolean.Input("painted", default=True),
            ],
            outputs=[io.Image.Output(), io.Mask.Output()],
        )

    @classmethod
    def execute(cls, seed, height, width, painted) -> io.NodeOutput:
        gen = torch.Generator().manual_seed(30_000 + seed)
        image = torch.rand(1, height, width, 3, generator=gen)
        if not painted:
            return io.NodeOutput(image, torch.zeros(1, 64, 64))
        y = torch.linspace(-1, 1, height).view(-1, 1)
        x = torch.linspace(-1, 1, width).view(1, -1)
        mask = ((y / 0.5) ** 2 + (x / 0.35) ** 2 <= 1).float().unsqueeze(0)
        return io.NodeOutput(image, mask)


class TinyDecode(io.ComfyNode):
    """Stands in for VAEDecode: LATENT [B,16,h,w] -> IMAGE [B,8h,8w,3] (sigmoid of channels 0..2, 8x8)."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="FluxSculptorTestTinyDecode",
            category="Flux-Sculptor/tests",
            inputs=[io.Latent.Input("samples")],
            outputs=[io.Image.Output()],
        )

    @classmethod
    def execute(cls, samples) -> io.NodeOutput:
        rgb = torch.sigmoid(samples["samples"][:, :3].float())
        return io.NodeOutput(rgb.repeat_interleave(8, dim=2).repeat_interleave(8, dim=3).movedim(1, -1))


class PixelValues(io.ComfyNode):
    """Reports an IMAGE's or MASK's exact values in the UI output, so server tests can compare pixels."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="FluxSculptorTestPixelValues",
            category="Flux-Sculptor/tests",
            is_output_node=True,
            inputs=[io.Image.Input("image", optional=True), io.Mask.Input("mask", optional=True)],
            outputs=[],
        )

    @classmethod
    def execute(cls, image=None, mask=None) -> io.NodeOutput:
        values = image if image is not None else mask
        return io.NodeOutput(ui={"shape": list(values.shape), "values": values.flatten().tolist()})


class MaskStats(io.ComfyNode):
    """Reports a MASK's shape and range in the UI output, so server tests can read it from /history."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="FluxSculptorTestMaskStats",
            category="Flux-Sculptor/tests",
            is_output_node=True,
            inputs=[io.Mask.Input("mask")],
            outputs=[],
        )

    @classmethod
    def execute(cls, mask) -> io.NodeOutput:
        return io.NodeOutput(
            ui={
                "shape": list(mask.shape),
                "min": [float(mask.min())],
                "max": [float(mask.max())],
                "mean": [float(mask.mean())],
            }
        )
