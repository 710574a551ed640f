"""Mask nodes: one edit region from a PASL mask and/or a painted mask (logic in sculptor/mask_combine.py)."""

from __future__ import annotations

import logging

import torch
from comfy_api.latest import io

from ..sculptor.mask_combine import MODES, combine
from . import make_schema

log = logging.getLogger("flux_sculptor")
MAX_PIXELS = 4096


DESCRIPTION = (
    "Makes the edit region for one edit from up to two masks, e.g. a PASL mask and a mask "
    "painted in LoadImage's mask editor (painted = 1 = edit). The output has mask_a's size; "
    "mask_b is resized to it. Batches: a batch of 1 is used for every item of the other "
    "mask, otherwise both batches must match. LoadImage's 64x64 empty placeholder mask (image "
    "without a painted mask) counts as 'no mask': union ignores it with a warning. Then grow "
    "(or shrink) and feather, so a rough painting becomes a clean region in one step."
)
TOOLTIPS = {
    "mask_a": "First mask, e.g. the PASL mask or LoadImage's painted mask (1 = edit). Its size is "
    "the output size (mask_b's if mask_a is LoadImage's 64x64 empty placeholder, which "
    "counts as 'no mask').",
    "mask_b": "Optional second mask, any size (resized to mask_a's size) and batch (1, or the same "
    "as mask_a). Typically the mask painted in LoadImage's mask editor.",
    "mode": "union: edit where either mask is set (max). intersection: only where both are "
    "(min). a minus b: mask_a without mask_b's region. b only: just mask_b, resized "
    "to mask_a's size (handy to switch sources without rewiring).",
    "grow": "Pixels (at mask_a's size) to grow the combined region by; negative shrinks it. "
    "Applied before feather. Use it to cover the edges a rough painting missed.",
    "feather": "Pixels (at mask_a's size) of soft edge: the border becomes a smooth ramp this "
    "many pixels to each side of it, so the edit blends in. 0 keeps the edge as is.",
    "mask": "The edit region [B,H,W] at mask_a's size, 0..1.",
}


SEARCH_ALIASES = "mask union, mask combine, edit region, grow feather mask, painted mask, mask intersection"


class FluxSculptorMaskCombine(io.ComfyNode):
    """Combine two masks (union, intersection, a minus b, b only), then grow/shrink and feather the result."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            node_id="FluxSculptorMaskCombine",
            display_name="Flux-Sculptor Mask Combine",
            category="Flux-Sculptor/Masks",
            description=DESCRIPTION,
            search_aliases=SEARCH_ALIASES.split(", "),
            inputs=[
                io.Mask.Input("mask_a", tooltip=TOOLTIPS["mask_a"]),
                io.Mask.Input("mask_b", optional=True, tooltip=TOOLTIPS["mask_b"]),
                io.Combo.Input("mode", options=list(MODES), default="union", tooltip=TOOLTIPS["mode"]),
                io.Int.Input(
                    "grow", default=0, min=-MAX_PIXELS, max=MAX_PIXELS, step=1, tooltip=TOOLTIPS["grow"]
                ),
                io.Int.Input(
                    "feather", default=0, min=0, max=MAX_PIXELS, step=1, tooltip=TOOLTIPS["feather"]
                ),
            ],
            outputs=[io.Mask.Output("mask", display_name="mask", tooltip=TOOLTIPS["mask"])],
        )

    @classmethod
    def execute(
        cls, mask_a: torch.Tensor, mode: str, grow: int, feather: int, mask_b: torch.Tensor | None = None
    ) -> io.NodeOutput:
        mask, warnings = combine(mask_a, mask_b, mode=mode, grow=grow, feather=feather)
        for message in warnings:
            log.warning("Flux-Sculptor Mask Combine: %s", message)
        return io.NodeOutput(mask)


NODES = [FluxSculptorMaskCombine]
