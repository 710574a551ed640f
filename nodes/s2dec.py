"""Node: Flux-Sculptor S2D-EC Sampler (paper sec. 3.4, eq. 10-16)."""

from __future__ import annotations

import torch
from comfy.model_patcher import ModelPatcher
from comfy_api.latest import io

from ..sculptor.inversion import SOURCE_PATHS, Inversion, SourcePath
from ..sculptor.s2dec import FUSIONS, Fusion
from . import make_schema
from .checks import check_result
from .editing_runs import run_edit
from .inversion import InversionType

DESCRIPTION = (
    "Edits the inverted portrait with the target prompt. Structure stage (first T "
    "steps): latent fusion with the source trajectory outside the mask. Detail stage: "
    "fusion of the image-token attention values with the recorded source values. The "
    "edit always has the inversion's latent size and batch. A mask at the source image's "
    "size is centre-cropped as VAEEncode crops the image (sides to multiples of 8); "
    "other sizes are stretched (a warning is logged if the aspect ratio differs). An "
    "all-zero mask returns the reconstruction (the source prompt is used)."
)
TOOLTIPS = {
    "model": "The same FLUX.1 MODEL that made the inversion.",
    "inversion": "From Flux-Sculptor RF-Solver Inversion.",
    "conditioning": "The TARGET prompt, e.g. 'a woman with red lipstick.'",
    "mask": "Edit region, 1 = edit, 0 = keep (PASL Mask, "
    "Mask Combine or a painted mask); any size, resized to the latent. Batch 1 or "
    "one per image. Absent: the whole image. All zeros: the reconstruction. "
    "LoadImage's 64x64 empty placeholder is refused: paint the mask first.",
    "structure_steps": "T: steps of latent fusion before value fusion starts (paper: 3 of 30).",
    "guidance": "Flux guidance for the edit; replaces the conditioning's value.",
    "fusion": "s2d-ec: the paper's method. latent: structure stage only. value: "
    "value fusion at every step. none: plain edit from the inverted noise.",
    "source_path": "Source latent for latent fusion: inversion (the latents the "
    "inversion visited; exact) or interpolate (paper eq. 10, straight line).",
    "latent": "Edited latent; VAEDecode it.",
}


class FluxSculptorS2DECSampler(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            node_id="FluxSculptorS2DECSampler",
            display_name="Flux-Sculptor S2D-EC Sampler",
            category="Flux-Sculptor/Edit",
            search_aliases=["s2d-ec", "flux edit", "portrait edit", "sculptor sampler"],
            description=DESCRIPTION,
            inputs=[
                io.Model.Input("model", tooltip=TOOLTIPS["model"]),
                InversionType.Input("inversion", tooltip=TOOLTIPS["inversion"]),
                io.Conditioning.Input("conditioning", tooltip=TOOLTIPS["conditioning"]),
                io.Mask.Input("mask", optional=True, tooltip=TOOLTIPS["mask"]),
                io.Int.Input(
                    "structure_steps", default=3, min=0, max=200, tooltip=TOOLTIPS["structure_steps"]
                ),
                io.Float.Input(
                    "guidance", default=2.0, min=0.0, max=100.0, step=0.1, tooltip=TOOLTIPS["guidance"]
                ),
                io.Combo.Input("fusion", options=list(FUSIONS), default="s2d-ec", tooltip=TOOLTIPS["fusion"]),
                io.Combo.Input(
                    "source_path",
                    options=list(SOURCE_PATHS),
                    default="inversion",
                    tooltip=TOOLTIPS["source_path"],
                ),
            ],
            outputs=[io.Latent.Output("latent", display_name="latent", tooltip=TOOLTIPS["latent"])],
        )

    @classmethod
    def execute(
        cls,
        model: ModelPatcher,
        inversion: Inversion,
        conditioning: list,
        structure_steps: int,
        guidance: float,
        fusion: Fusion,
        source_path: SourcePath,
        mask: torch.Tensor | None = None,
    ) -> io.NodeOutput:
        samples = run_edit(
            model,
            inversion,
            conditioning,
            mask=mask,
            structure_steps=structure_steps,
            guidance=guidance,
            fusion=fusion,
            source_path=source_path,
        )
        return io.NodeOutput({"samples": check_result(samples, "edit")})


NODES = [FluxSculptorS2DECSampler]
