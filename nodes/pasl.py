"""PASL mask node: prompt -> soft face-region masks (logic in sculptor/pasl.py, sculptor/pasl_infer.py)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import comfy.model_management
import folder_paths
import torch
from comfy_api.latest import io

from ..sculptor.pasl import PASL, load_pasl
from ..sculptor.pasl_infer import encoder_for, locate, split_prompt
from ..sculptor.text_features import CallableEncoder, TextEncoder
from . import make_schema

FOLDER = "pasl"
EXTENSIONS = {".safetensors"}
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "pasl_weights"
DEFAULT_WEIGHTS = "pasl_minilm_celeba.safetensors"


def _register_folder() -> None:
    """models/pasl (plus any extra_model_paths entries for 'pasl'), .safetensors only."""
    default = os.path.join(folder_paths.models_dir, FOLDER)
    paths = list(folder_paths.folder_names_and_paths.get(FOLDER, ([], set()))[0])
    if default not in paths:
        paths.append(default)
    folder_paths.folder_names_and_paths[FOLDER] = (paths, set(EXTENSIONS))


_register_folder()


def _shipped() -> list[str]:
    return sorted(p.name for p in SHIPPED_DIR.glob("*") if p.suffix in EXTENSIONS and p.is_file())


def weight_options() -> list[str]:
    """COMBO options: the pack's pasl_weights/ files first, then ComfyUI's models/pasl files."""
    shipped = _shipped()
    return shipped + [n for n in folder_paths.get_filename_list(FOLDER) if n not in shipped]


def resolve_weights(name: str) -> Path:
    """A COMBO option -> its file. Anything else (paths, '..', absolute names) is refused."""
    if name not in weight_options():
        raise ValueError(
            f"PASL weights '{name}' are not among the available files {weight_options()}: "
            "pick one from the list, or put a .safetensors file in ComfyUI's models/pasl"
        )
    if name in _shipped():
        return SHIPPED_DIR / name
    full = folder_paths.get_full_path(FOLDER, name)
    if full is None:
        raise ValueError(f"PASL weights '{name}' disappeared from models/pasl: refresh the node list")
    return Path(full)


@lru_cache(maxsize=2)
def _load_cached(path: str, mtime_ns: int) -> PASL:
    return load_pasl(path)


def clip_l_encoder(clip: object) -> TextEncoder:
    """`clip-l` features from a ComfyUI CLIP: clip_l's pooled EOT output after the final layer norm,
    UNprojected (what Flux receives as pooled_output), as sculptor.text_features defines it."""
    clip_l = getattr(getattr(clip, "cond_stage_model", None), "clip_l", None)
    if clip_l is None or not hasattr(clip_l, "set_clip_options"):
        raise ValueError(
            "these PASL weights use CLIP-L text features, but the connected CLIP has no "
            "clip_l: connect Flux's DualCLIPLoader (clip_l + t5xxl) or another CLIP with clip_l"
        )

    def encode(prompts: list[str]) -> torch.Tensor:
        clip.load_model()
        out = []
        for text in prompts:
            tokens = clip.tokenize(text)
            if "l" not in tokens:
                raise ValueError(
                    "the connected CLIP's tokenizer gives no clip_l tokens: connect a CLIP "
                    "that includes clip_l (e.g. Flux's DualCLIPLoader)"
                )
            clip_l.set_clip_options({"projected_pooled": False})
            try:
                _, pooled = clip_l.encode_token_weights(tokens["l"])[:2]
            finally:
                clip_l.reset_clip_options()
            out.append(pooled[:1].float().cpu())
        return torch.cat(out)

    return CallableEncoder("clip-l", encode)


DESCRIPTION = (
    "Finds the face region a prompt talks about (hair, eyes, lips, beard, ... 18 regions) "
    "and returns a soft mask at the image size. Several sub-prompts, one per line or "
    "separated by ';', each give a mask; `mask` is their union (multi-attribute editing). "
    "The shipped weights were trained on portraits (CelebA) with the offline MiniLM text "
    "encoder; CLIP-L weights need the CLIP input."
)
TOOLTIPS = {
    "image": "Portrait(s) [B,H,W,C] 0..1. Any size: resized to the weights' resolution inside, "
    "masks come back at this size. Works best when a face fills much of the frame.",
    "prompt": "What to locate, e.g. 'hair' or 'the eyes; lips'. One sub-prompt per line or "
    "separated by ';': each gives a mask, the output mask is their union.",
    "weights": "PASL weights: the pack's pasl_weights/ files, then ComfyUI's "
    "models/pasl (.safetensors). Each file records its text encoder.",
    "refine": "On: average 8 passes (shifted by half an output cell, and mirrored) for masks on a "
    "1/4 grid instead of 1/8, which follows thin regions (lips, brows, pupils) better; "
    "8x the (small) PASL compute. Off: one pass, as in the paper.",
    "clip": "Only for weights trained with CLIP-L text features: the CLIP that holds clip_l "
    "(Flux's DualCLIPLoader). Ignored by MiniLM weights, such as the shipped default.",
    "mask": "Union of the sub-prompt masks, soft 0..1, [B,H,W] at the image size.",
    "sub_masks": "One mask per image and sub-prompt, [B*P,H,W], image-major (all of image 1's "
    "sub-prompts first).",
}


class FluxSculptorPASLMask(io.ComfyNode):
    """Face-region masks from a text prompt with the Prompt-Aligned Spatial Locator (PASL)."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        options = weight_options()
        return make_schema(
            node_id="FluxSculptorPASLMask",
            display_name="Flux-Sculptor PASL Mask",
            category="Flux-Sculptor/Locate",
            description=DESCRIPTION,
            search_aliases=[
                "pasl",
                "face mask",
                "face parsing",
                "text to mask",
                "region locator",
                "prompt mask",
                "hair mask",
            ],
            inputs=[
                io.Image.Input("image", tooltip=TOOLTIPS["image"]),
                io.String.Input("prompt", multiline=True, default="hair", tooltip=TOOLTIPS["prompt"]),
                io.Combo.Input(
                    "weights",
                    options=options,
                    default=DEFAULT_WEIGHTS if DEFAULT_WEIGHTS in options else None,
                    tooltip=TOOLTIPS["weights"],
                ),
                io.Boolean.Input("refine", default=True, optional=True, tooltip=TOOLTIPS["refine"]),
                io.Clip.Input("clip", optional=True, tooltip=TOOLTIPS["clip"]),
            ],
            outputs=[
                io.Mask.Output("mask", display_name="mask", tooltip=TOOLTIPS["mask"]),
                io.Mask.Output("sub_masks", display_name="sub_masks", tooltip=TOOLTIPS["sub_masks"]),
            ],
        )

    @classmethod
    def execute(
        cls, image: torch.Tensor, prompt: str, weights: str, refine: bool = True, clip: object | None = None
    ) -> io.NodeOutput:
        prompts = split_prompt(prompt)  # refused before any weights load
        path = resolve_weights(weights)
        model = _load_cached(str(path), path.stat().st_mtime_ns)
        if model.config.encoder == "clip-l" and clip is None:
            raise ValueError(
                f"'{weights}' was trained with CLIP-L text features: connect the CLIP "
                "input (Flux's DualCLIPLoader), or pick MiniLM weights"
            )
        encoder = encoder_for(model, clip_l=lambda: clip_l_encoder(clip))
        model.to(comfy.model_management.get_torch_device())
        mask, sub_masks, _ = locate(model, encoder, image, prompts, refine=refine)
        device = comfy.model_management.intermediate_device()
        return io.NodeOutput(mask.to(device), sub_masks.to(device))


NODES = [FluxSculptorPASLMask]
