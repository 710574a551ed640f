"""The bundled workflows' building blocks: FLUX.1-dev loaders with download links, source image, prompts,
inversion, S2D-EC sampler, decode, PASL, mask previews and the paste-back of the edit (core nodes).

Each helper adds its nodes to a `Graph` (scripts/workflow_graph.py) and returns the node later ones link to.
"""

from __future__ import annotations

from scripts.workflow_graph import Graph, Node

IMAGE = "portrait.png"
SOURCE = "a woman."
THRESHOLD, GROW, BLUR = 0.1, 16, 12  # the paste-back region: mask > THRESHOLD, grown and blurred (px)
PASTE_NOTE = (
    " The last nodes paste the decoded edit into the source image through the edit region (mask > "
    f"{THRESHOLD}) grown by {GROW} px and feathered by {BLUR} px, so every pixel farther away is the "
    "source's own, bit for bit; the raw decode is saved too (_raw)."
)
HF = "https://huggingface.co"
MODEL_FILES = {  # file -> (ComfyUI models/ folder, standard download): read by the missing-models dialog
    "flux1-dev.safetensors": (
        "diffusion_models",
        f"{HF}/black-forest-labs/FLUX.1-dev/resolve/main/flux1-dev.safetensors",
    ),
    "clip_l.safetensors": (
        "text_encoders",
        f"{HF}/comfyanonymous/flux_text_encoders/resolve/main/clip_l.safetensors",
    ),
    "t5xxl_fp16.safetensors": (
        "text_encoders",
        f"{HF}/comfyanonymous/flux_text_encoders/resolve/main/t5xxl_fp16.safetensors",
    ),
    "ae.safetensors": ("vae", f"{HF}/black-forest-labs/FLUX.1-dev/resolve/main/ae.safetensors"),
}
MODELS_NOTE = (
    "Models (standard FLUX.1-dev files; opening the workflow offers the downloads for missing ones; "
    "FLUX.1-dev is gated: accept its licence on Hugging Face first):\n"
    "- models/diffusion_models/flux1-dev.safetensors\n"
    "- models/text_encoders/clip_l.safetensors and t5xxl_fp16.safetensors\n"
    "- models/vae/ae.safetensors\n"
    "Memory of the recorded values: about 24 MiB per block and model call at 1024x1024 in bf16 (a quarter "
    "at 512x512), times value_blocks (m) times model calls (2 per step with rf_solver, about 1 with "
    "fireflow): m=18, N=30, rf_solver = 25 GiB. Inversion.store: device keeps them in VRAM (fastest), cpu "
    "in RAM, recompute stores nothing (a few tens of MB; the edit recomputes them), auto picks from the "
    "free VRAM and RAM. An 8-bit store_dtype (int8 / float8) halves it (about 13 GiB); "
    "record_from_step = T skips the T structure steps.\n\n"
)
SHARED_NOTE = (
    "The SOURCE prompt describes the photo as it is (keep it short, e.g. 'a woman.'); the TARGET prompt is "
    "the same sentence with the change. Inversion and sampler must get the same MODEL. structure_steps (T) "
    "trades layout change (higher) against faithfulness (lower); guidance 1.0 for inversion, about 2 for "
    "the edit, as in the paper."
)


def model_links(*files: str) -> dict:
    """Node properties naming the model files' downloads, in the frontend's missing-models format."""
    return {"models": [{"name": f, "url": MODEL_FILES[f][1], "directory": MODEL_FILES[f][0]} for f in files]}


def flux_loaders(g: Graph, x: float, y: float) -> tuple[Node, Node, Node]:
    unet = g.add("UNETLoader", (x, y), unet_name="flux1-dev.safetensors", weight_dtype="default")
    clip = g.add(
        "DualCLIPLoader",
        (x, y + 130),
        clip_name1="clip_l.safetensors",
        clip_name2="t5xxl_fp16.safetensors",
        type="flux",
    )
    vae = g.add("VAELoader", (x, y + 320), vae_name="ae.safetensors")
    unet.properties = model_links("flux1-dev.safetensors")
    clip.properties = model_links("clip_l.safetensors", "t5xxl_fp16.safetensors")
    vae.properties = model_links("ae.safetensors")
    g.group("FLUX.1-dev", (x - 20, y - 80, 360, 470))
    return unet, clip, vae


def source_image(
    g: Graph, vae: Node, x: float, y: float, title: str = "Load Image (your portrait)"
) -> tuple[Node, Node]:
    image = g.add("LoadImage", (x, y), title, image=IMAGE)
    encode = g.add("VAEEncode", (x, y + 470), width=200)
    g.link(image, "IMAGE", encode, "pixels")
    g.link(vae, "VAE", encode, "vae")
    return image, encode


def text(g: Graph, clip: Node, prompt: str, pos: tuple[float, float], title: str) -> Node:
    node = g.add("CLIPTextEncode", pos, title, width=380, text=prompt)
    g.link(clip, "CLIP", node, "clip")
    return node


def inversion(g: Graph, unet: Node, latent: Node, cond: Node, pos: tuple[float, float]) -> Node:
    node = g.add("FluxSculptorInversion", pos, width=340)
    g.link(unet, "MODEL", node, "model")
    g.link(latent, "LATENT", node, "latent")
    g.link(cond, "CONDITIONING", node, "conditioning")
    return node


def sampler(
    g: Graph,
    unet: Node,
    inv: Node,
    cond: Node,
    mask: tuple[Node, int | str] | None,
    pos: tuple[float, float],
    title: str | None = None,
    **values,
) -> Node:
    node = g.add("FluxSculptorS2DECSampler", pos, title, width=340, **values)
    g.link(unet, "MODEL", node, "model")
    g.link(inv, "inversion", node, "inversion")
    g.link(cond, "CONDITIONING", node, "conditioning")
    if mask is not None:
        g.link(mask[0], mask[1], node, "mask")
    return node


def decode_save(
    g: Graph, latent: Node, vae: Node, pos: tuple[float, float], prefix: str, title: str = "Save Image"
) -> Node:
    """VAEDecode of the edit and a SaveImage of it as decoded (`<prefix>_raw`, before the paste-back)."""
    decode = g.add("VAEDecode", pos, width=200)
    g.link(latent, "latent", decode, "samples")
    g.link(vae, "VAE", decode, "vae")
    save = g.add(
        "SaveImage",
        (pos[0], pos[1] + 90),
        f"{title} (raw decode)",
        width=340,
        filename_prefix=f"{prefix}_raw",
    )
    g.link(decode, "IMAGE", save, "images")
    return decode


def paste_region(
    g: Graph, mask: Node, output: int | str, pos: tuple[float, float], grow: int = GROW, blur: int = BLUR
) -> Node:
    """Where the edit is pasted back (core nodes): the edit mask above THRESHOLD, grown by `grow` px and
    blurred by `blur` px. It is exactly zero more than grow + blur px away from that, so pixels there keep
    the source's values (a soft mask such as PASL's is never exactly zero, hence the threshold)."""
    x, y = pos
    hard = g.add("ThresholdMask", (x, y), "Edit region (hard)", width=260, value=THRESHOLD)
    g.link(mask, output, hard, "mask")
    grown = g.add(
        "GrowMask", (x, y + 90), "Grow the edit region", width=260, expand=grow, tapered_corners=True
    )
    g.link(hard, "MASK", grown, "mask")
    to_image = g.add("MaskToImage", (x, y + 200), width=260)
    g.link(grown, "MASK", to_image, "mask")
    soft = g.add("ImageBlur", (x, y + 270), "Feather its edge", width=260, blur_radius=blur, sigma=blur / 2)
    g.link(to_image, "IMAGE", soft, "image")
    region = g.add("ImageToMask", (x, y + 390), width=260, channel="red")
    g.link(soft, "IMAGE", region, "image")
    return region


def paste_back(
    g: Graph, image: Node, decode: Node, region: Node, pos: tuple[float, float], prefix: str, title: str
) -> Node:
    """The decoded edit composited over the source image through `region`; outside it, source pixels."""
    paste = g.add(
        "ImageCompositeMasked", pos, "Paste the edit into the source", width=300, resize_source=False
    )
    g.link(image, "IMAGE", paste, "destination")
    g.link(decode, "IMAGE", paste, "source")
    g.link(region, "MASK", paste, "mask")
    save = g.add("SaveImage", (pos[0], pos[1] + 170), title, width=340, filename_prefix=prefix)
    g.link(paste, "IMAGE", save, "images")
    return paste


def mask_preview(g: Graph, mask: Node, output: int | str, pos: tuple[float, float], title: str) -> Node:
    to_image = g.add("MaskToImage", pos, width=200)
    g.link(mask, output, to_image, "mask")
    preview = g.add("PreviewImage", (pos[0], pos[1] + 70), title, width=300)
    g.link(to_image, "IMAGE", preview, "images")
    return preview


def pasl(
    g: Graph,
    image: Node,
    prompt: str,
    pos: tuple[float, float],
    title: str | None = None,
    faces: str = "whole image",
) -> Node:
    # the portrait workflows edit face-filling crops: PASL reads them whole, as it was trained; whole
    # photos use `faces` all / largest / index (README, "PASL on whole photos"; whole_photo_edit)
    node = g.add("FluxSculptorPASLMask", pos, title, width=340, prompt=prompt, faces=faces)
    g.link(image, "IMAGE", node, "image")
    return node
