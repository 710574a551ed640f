"""PASL mask node: prompt -> soft face-region masks (logic in sculptor/pasl.py, sculptor/pasl_infer.py)."""

from __future__ import annotations

import logging

import comfy.model_management
import torch
from comfy_api.latest import io

from ..sculptor.face_frames import face_box
from ..sculptor.pasl_infer import encoder_for, locate, split_prompt, union
from ..sculptor.photo_masks import EYES_PROMPT, FACES, MAX_PIXELS, photo_masks
from ..sculptor.text_features import CallableEncoder, TextEncoder
from . import make_schema
from .pasl_files import (  # noqa: F401  (re-exported: the node's files live in pasl_files.py)
    DEFAULT_WEIGHTS,
    LOCATOR_FILE,
    SHIPPED_DIR,
    WHOLE_IMAGE,
    _load_cached,
    face_locator,
    resolve_weights,
    weight_options,
)

LOG = logging.getLogger(__name__)


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
    "Whole photos work: faces are found, cropped to portrait framing, masked and pasted back "
    "(all faces, the largest, or one by index); the face box outputs let a workflow crop the "
    "face with ImageCrop, edit it at a good size and composite it back. "
    "The shipped weights were trained on portraits (CelebA) with the offline MiniLM text "
    "encoder; CLIP-L weights need the CLIP input."
)
TOOLTIPS = {
    "image": "Photo(s) [B,H,W,C] 0..1, any framing, up to 50 MP: faces are found and masked at "
    "portrait framing; masks come back at this size.",
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
    "faces": "Whole photos: faces are found first, each is cropped to PASL's portrait framing, "
    "masked, and pasted back. 'all': every face; 'largest': the biggest face; 'index': "
    "the face at face_index counted from the left. 'whole image': no face search, the "
    "image is resized as a whole (for face-filling portrait crops).",
    "face_index": "With faces = 'index': which face, 0 = the leftmost. An index beyond the faces found "
    "is an error that says how many there are.",
    "x": "Face box left edge (first image): a square around the selected face(s) with 25% "
    "margin, side a multiple of 16, inside the image. Wire x, y, width, height into "
    "ImageCrop / CropMask, and x, y into ImageCompositeMasked to paste the edit back.",
    "y": "Face box top edge (first image).",
    "width": "Face box width (first image); the whole image when no face was found or faces "
    "is 'whole image'.",
    "height": "Face box height (first image).",
    "face_count": "Faces found in the first image (all of them, before the faces selection); 0 with "
    "'whole image'.",
}


SEARCH_ALIASES = (
    "pasl, face mask, face parsing, text to mask, region locator, prompt mask, hair mask, face box, "
    "face detect"
)


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
            search_aliases=SEARCH_ALIASES.split(", "),
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
                io.Combo.Input(
                    "faces",
                    options=[*FACES, WHOLE_IMAGE],
                    default="all",
                    optional=True,
                    tooltip=TOOLTIPS["faces"],
                ),
                io.Int.Input(
                    "face_index", default=0, min=0, max=63, optional=True, tooltip=TOOLTIPS["face_index"]
                ),
            ],
            outputs=[
                io.Mask.Output("mask", display_name="mask", tooltip=TOOLTIPS["mask"]),
                io.Mask.Output("sub_masks", display_name="sub_masks", tooltip=TOOLTIPS["sub_masks"]),
                *(
                    io.Int.Output(k, display_name=k, tooltip=TOOLTIPS[k])
                    for k in ("x", "y", "width", "height")
                ),
                io.Int.Output("face_count", display_name="face_count", tooltip=TOOLTIPS["face_count"]),
            ],
        )

    @classmethod
    def execute(
        cls,
        image: torch.Tensor,
        prompt: str,
        weights: str,
        refine: bool = True,
        clip: object | None = None,
        faces: str = "all",
        face_index: int = 0,
    ) -> io.NodeOutput:
        prompts = split_prompt(prompt)  # refused before any weights load
        _check_size(image)
        path = resolve_weights(weights)
        model = _load_cached(str(path), path.stat().st_mtime_ns)
        if model.config.encoder == "clip-l" and clip is None:
            raise ValueError(
                f"'{weights}' was trained with CLIP-L text features: connect the CLIP "
                "input (Flux's DualCLIPLoader), or pick MiniLM weights"
            )
        encoder = encoder_for(model, clip_l=lambda: clip_l_encoder(clip))
        model.to(comfy.model_management.get_torch_device())
        h, w = image.shape[1:3]
        if faces == WHOLE_IMAGE:
            mask, sub_masks, _ = locate(model, encoder, image, prompts, refine=refine)
            box, count = (0, 0, w, h), 0
        else:
            locator = face_locator().to(comfy.model_management.get_torch_device())
            text, eyes = encoder.encode(prompts), encoder.encode([EYES_PROMPT])
            masks, used, found = photo_masks(
                model, locator, image, text, refine, faces, face_index, eyes=eyes
            )
            _warn_no_faces(found)
            mask, sub_masks = union(masks), masks.flatten(0, 1)
            box, count = face_box(used[0], h, w), found[0]
        device = comfy.model_management.intermediate_device()
        return io.NodeOutput(mask.to(device), sub_masks.to(device), *box, count)


def _check_size(image: torch.Tensor) -> None:
    if image.ndim == 4 and image.shape[1] * image.shape[2] > MAX_PIXELS:
        h, w = image.shape[1:3]
        raise ValueError(
            f"the image is {w}x{h} ({h * w / 1e6:.0f} MP), above the {MAX_PIXELS / 1e6:.0f} MP "
            "PASL handles: downscale it first (ImageScaleToTotalPixels or ImageScale)"
        )


def _warn_no_faces(found: list[int]) -> None:
    empty = [i + 1 for i, n in enumerate(found) if n == 0]
    if empty:
        LOG.warning(
            "Flux-Sculptor PASL: no face found in image(s) %s of %d, so their masks are empty. "
            "If a face is there, it may be too small (under about 1%% of the image) or turned "
            "away; crop closer, or set faces to 'whole image' for a face-filling portrait.",
            empty,
            len(found),
        )


NODES = [FluxSculptorPASLMask]
