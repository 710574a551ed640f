"""Node: Flux-Sculptor RF-Solver Inversion (paper sec. 3.2)."""

from __future__ import annotations

from comfy.model_patcher import ModelPatcher
from comfy_api.latest import io

from ..sculptor.solver import SOLVERS, Solver
from ..sculptor.value_store import STORE_DTYPES, STORE_MODES, StoreMode
from . import make_schema
from .checks import check_result
from .editing_runs import run_inversion

InversionType = io.Custom("FLUX_SCULPTOR_INVERSION")
"""The socket type that carries a sculptor.inversion.Inversion between the two editing nodes."""


DESCRIPTION = (
    "Inverts a portrait latent to noise with the second-order RF-Solver and records the "
    "image-token attention values of the last single blocks at every model call. Feed "
    "the result to one or more Flux-Sculptor S2D-EC Samplers."
)
TOOLTIPS = {
    "model": "The FLUX.1-dev MODEL (UNETLoader). Use the same MODEL for the S2D-EC sampler.",
    "latent": "The source portrait, encoded with VAEEncode and the "
    "FLUX ae VAE. Any size: odd latent sides (images not multiples of 16 px) "
    "are padded by Flux itself.",
    "conditioning": "The SOURCE prompt describing the portrait as "
    "it is, e.g. 'a woman.' (CLIPTextEncode with the Flux CLIP).",
    "steps": "Solver steps (paper: 30). The "
    "edit uses the same schedule. Each RF-Solver step makes two model calls.",
    "guidance": "Flux guidance during inversion; replaces the conditioning's value (paper: 1.0).",
    "value_blocks": "m: how many of the LAST "
    "single-stream blocks to record values for (FLUX.1-dev has 38; paper: 18).",
    "store": "Where recorded values live: cpu (offloaded, saves VRAM), device "
    "(fastest, needs VRAM), recompute (records nothing; the editor recomputes "
    "source values in the same batch).",
    "solver": "rf_solver: two model calls per step. fireflow: reuses the previous "
    "midpoint velocity, about one call per step, still second order.",
    "store_dtype": "Precision of recorded values; auto keeps the model's dtype.",
    "inversion": "Source trajectory, schedule and recorded values for S2D-EC.",
    "noise": "The inverted noise latent.",
}


class FluxSculptorInversion(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            node_id="FluxSculptorInversion",
            display_name="Flux-Sculptor RF-Solver Inversion",
            category="Flux-Sculptor/Edit",
            search_aliases=["rf-solver", "inversion", "invert", "flux edit", "sculptor"],
            description=DESCRIPTION,
            inputs=[
                io.Model.Input("model", tooltip=TOOLTIPS["model"]),
                io.Latent.Input("latent", tooltip=TOOLTIPS["latent"]),
                io.Conditioning.Input("conditioning", tooltip=TOOLTIPS["conditioning"]),
                io.Int.Input("steps", default=30, min=2, max=200, tooltip=TOOLTIPS["steps"]),
                io.Float.Input(
                    "guidance", default=1.0, min=0.0, max=100.0, step=0.1, tooltip=TOOLTIPS["guidance"]
                ),
                io.Int.Input("value_blocks", default=18, min=1, max=64, tooltip=TOOLTIPS["value_blocks"]),
                io.Combo.Input("store", options=list(STORE_MODES), default="cpu", tooltip=TOOLTIPS["store"]),
                io.Combo.Input(
                    "solver", options=list(SOLVERS), default="rf_solver", tooltip=TOOLTIPS["solver"]
                ),
                io.Combo.Input(
                    "store_dtype", options=list(STORE_DTYPES), default="auto", tooltip=TOOLTIPS["store_dtype"]
                ),
            ],
            outputs=[
                InversionType.Output("inversion", display_name="inversion", tooltip=TOOLTIPS["inversion"]),
                io.Latent.Output("noise", display_name="noise", tooltip=TOOLTIPS["noise"]),
            ],
        )

    @classmethod
    def execute(
        cls,
        model: ModelPatcher,
        latent: dict,
        conditioning: list,
        steps: int,
        guidance: float,
        value_blocks: int,
        store: StoreMode,
        solver: Solver = "rf_solver",
        store_dtype: str = "auto",
    ) -> io.NodeOutput:
        inversion = run_inversion(
            model,
            latent,
            conditioning,
            steps=steps,
            guidance=guidance,
            value_blocks=value_blocks,
            store=store,
            solver=solver,
            store_dtype=STORE_DTYPES[store_dtype],
        )
        noise = {"samples": check_result(inversion.noise_samples, "inversion")}
        return io.NodeOutput(inversion, noise)


NODES = [FluxSculptorInversion]
