"""Builds the bundled example workflows (workflows/*.json, ComfyUI UI format) from a REAL server's schemas.

    python scripts/build_workflows.py                      # starts the pinned ComfyUI headless, then stops it
    python scripts/build_workflows.py --url http://127.0.0.1:8188   # or read a running server's /object_info
    python scripts/build_workflows.py --thumbnails         # after tests/test_browser.py: screenshots -> .jpg

Re-run it whenever a node's schema changes: widget order and values come from /object_info, every value
is checked against it, and a node missing from the server fails the build naming the node. Only ComfyUI
core nodes and Flux-Sculptor's are used; FLUX.1-dev is loaded the standard way (UNETLoader,
DualCLIPLoader type flux, VAELoader). Thumbnails (.jpg) come from tests/test_browser.py's screenshots of
the real frontend (tests/output/browser/<name>.png); the main one is also copied to docs/ for the README.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

from PIL import Image

if __package__:  # python -m scripts.NAME
    from scripts.repo_paths import ROOT, fail
else:  # python scripts/NAME.py
    from repo_paths import ROOT, fail
from scripts.workflow_graph import Graph, Node, dumps

PACK_DIR = ROOT
OUT_DIR = PACK_DIR / "workflows"
SHOTS_DIR = PACK_DIR / "tests" / "output" / "browser"
DOCS_DIR = PACK_DIR / "docs"
MAIN_WORKFLOW = "text_edit_pasl"
CANVAS_BOX = (60, 125, 1920, 980)  # canvas of a 1920x1080 screenshot, without side bar, run button, zoom bar
THUMB_SIZE = (640, 480)  # 4:3, as the frontend's template cards
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


def pasl(g: Graph, image: Node, prompt: str, pos: tuple[float, float], title: str | None = None) -> Node:
    # the bundled workflows edit portraits (face-filling crops): PASL reads them whole, as it was trained;
    # for whole photos switch `faces` to all / largest / index (README, "PASL on whole photos")
    node = g.add("FluxSculptorPASLMask", pos, title, width=340, prompt=prompt, faces="whole image")
    g.link(image, "IMAGE", node, "image")
    return node


def text_edit_pasl(g: Graph) -> None:
    unet, clip, vae = flux_loaders(g, 0, 60)
    image, encode = source_image(g, vae, 400, 60)
    src = text(g, clip, SOURCE, (760, 60), "Source prompt (the photo as it is)")
    tgt = text(g, clip, "a woman with red lipstick.", (760, 300), "Target prompt (the edit)")
    region = pasl(g, image, "lips", (760, 540), "PASL Mask (where to edit)")
    inv = inversion(g, unet, encode, src, (1180, 60))
    edit = sampler(g, unet, inv, tgt, (region, "mask"), (1180, 420))
    decode = decode_save(g, edit, vae, (1560, 60), "flux-sculptor/red_lipstick", "Edited portrait")
    mask_preview(g, region, "mask", (1560, 500), "Edit region (PASL)")
    g.note(
        MODELS_NOTE + "Text-driven edit. Change: the image in Load Image; the target prompt; the PASL "
        "prompt (the region to edit, e.g. 'lips', 'hair', 'eyebrows'). " + SHARED_NOTE + PASTE_NOTE,
        (0, 560),
        (360, 460),
    )
    paste = paste_region(g, region, "mask", (1940, 420))
    paste_back(g, image, decode, paste, (1940, 60), "flux-sculptor/red_lipstick", "Edited portrait")


def painted_mask_edit(g: Graph) -> None:
    unet, clip, vae = flux_loaders(g, 0, 60)
    image, encode = source_image(g, vae, 400, 60, "Load Image (paint the region in the Mask Editor)")
    src = text(g, clip, SOURCE, (760, 60), "Source prompt (the photo as it is)")
    tgt = text(g, clip, "a woman with silver earrings.", (760, 300), "Target prompt (the edit)")
    region = g.add(
        "FluxSculptorMaskCombine",
        (760, 540),
        "Mask Combine (clean up the painting)",
        width=340,
        mode="union",
        grow=16,
        feather=12,
    )
    g.link(image, "MASK", region, "mask_a")
    inv = inversion(g, unet, encode, src, (1180, 60))
    edit = sampler(g, unet, inv, tgt, (region, "mask"), (1180, 420))
    decode = decode_save(g, edit, vae, (1560, 60), "flux-sculptor/painted_edit", "Edited portrait")
    mask_preview(g, region, "mask", (1560, 500), "Edit region (painted, grown, feathered)")
    g.note(
        MODELS_NOTE + "Hand-painted region: right-click the image in Load Image > Open in MaskEditor, paint "
        "roughly over the area to change (e.g. the ears), Save. Mask Combine grows the painting by 16 px "
        "and feathers it by 12 px; raise them for rough strokes. Without a painting the run stops and "
        "says so. " + SHARED_NOTE + PASTE_NOTE,
        (0, 560),
        (360, 500),
    )
    paste = paste_region(g, region, "mask", (1940, 420))
    paste_back(g, image, decode, paste, (1940, 60), "flux-sculptor/painted_edit", "Edited portrait")


def multi_attribute_edit(g: Graph) -> None:
    unet, clip, vae = flux_loaders(g, 0, 60)
    image, encode = source_image(g, vae, 400, 60, "Load Image (optional: paint extra areas)")
    src = text(g, clip, SOURCE, (760, 60), "Source prompt (the photo as it is)")
    tgt = text(
        g,
        clip,
        "a woman with red lipstick, blonde hair and thick eyebrows.",
        (760, 300),
        "Target prompt (all changes in one sentence)",
    )
    region = pasl(g, image, "lips\nhair\neyebrows", (760, 540), "PASL Mask (one sub-prompt per line)")
    combined = g.add(
        "FluxSculptorMaskCombine",
        (760, 800),
        "Mask Combine (PASL + optional painting)",
        width=340,
        mode="union",
        grow=4,
        feather=4,
    )
    g.link(region, "mask", combined, "mask_a")
    g.link(image, "MASK", combined, "mask_b")
    inv = inversion(g, unet, encode, src, (1180, 60))
    edit = sampler(g, unet, inv, tgt, (combined, "mask"), (1180, 420))
    decode = decode_save(g, edit, vae, (1560, 60), "flux-sculptor/multi_attribute", "Edited portrait")
    mask_preview(g, region, 1, (1560, 500), "One mask per sub-prompt")
    mask_preview(g, combined, "mask", (1560, 840), "Edit region (union)")
    g.note(
        MODELS_NOTE + "Several attributes in one pass: the PASL prompt holds one sub-prompt per line (or "
        "separated by ';'); its mask is their union. Name every change in the target prompt. Paint in "
        "the Mask Editor to add areas PASL misses (an unpainted image is ignored by the union). "
        + SHARED_NOTE
        + PASTE_NOTE,
        (0, 560),
        (360, 500),
    )
    paste = paste_region(g, combined, "mask", (1940, 420))
    paste_back(g, image, decode, paste, (1940, 60), "flux-sculptor/multi_attribute", "Edited portrait")


FUSIONS = ("none", "latent", "value", "s2d-ec")
EDITS = (
    ("a woman with red lipstick.", "lips", "red_lipstick"),
    ("a woman with blonde hair.", "hair", "blonde_hair"),
    ("a woman with thick eyebrows.", "eyebrows", "thick_eyebrows"),
)


def several_edits_one_inversion(g: Graph) -> None:
    unet, clip, vae = flux_loaders(g, 0, 60)
    image, encode = source_image(g, vae, 400, 60)
    src = text(g, clip, SOURCE, (400, 640), "Source prompt (the photo as it is)")
    inv = inversion(g, unet, encode, src, (400, 880))
    columns = []
    for i, (target, region_prompt, name) in enumerate(EDITS):
        x = 840 + 420 * i
        tgt = text(g, clip, target, (x, 60), f"Target prompt {i + 1}")
        region = pasl(g, image, region_prompt, (x, 300), f"PASL Mask {i + 1}")
        edit = sampler(g, unet, inv, tgt, (region, "mask"), (x, 560), f"S2D-EC edit {i + 1}")
        decode = decode_save(g, edit, vae, (x, 880), f"flux-sculptor/{name}", f"Edit {i + 1}")
        columns.append((x, region, decode, name))
    g.note(
        MODELS_NOTE + "One inversion feeds several edits: the inversion runs once and every S2D-EC sampler "
        "reuses it, so each extra edit costs one sampling pass. Change each column's target prompt and "
        "PASL prompt; add columns by copying one (Ctrl+C, Ctrl+Shift+V keeps the links). "
        + SHARED_NOTE
        + PASTE_NOTE,
        (0, 560),
        (360, 500),
    )
    for i, (x, region, decode, name) in enumerate(columns):
        paste = paste_region(g, region, "mask", (x, 1420))
        paste_back(g, image, decode, paste, (x, 1100), f"flux-sculptor/{name}", f"Edit {i + 1}")


def fusion_ablation(g: Graph) -> None:
    unet, clip, vae = flux_loaders(g, 0, 60)
    image, encode = source_image(g, vae, 400, 60)
    src = text(g, clip, SOURCE, (400, 640), "Source prompt (the photo as it is)")
    tgt = text(g, clip, "a woman with red lipstick.", (400, 880), "Target prompt (the edit)")
    region = pasl(g, image, "lips", (400, 1120), "PASL Mask")
    inv = inversion(g, unet, encode, src, (840, 60))
    decodes = []
    for i, fusion in enumerate(FUSIONS):
        x = 840 + 380 * i
        edit = sampler(g, unet, inv, tgt, (region, "mask"), (x, 420), f"fusion: {fusion}", fusion=fusion)
        prefix = f"flux-sculptor/ablation_{fusion.replace('-', '')}"
        decodes.append((x, decode_save(g, edit, vae, (x, 740), prefix, f"fusion: {fusion}"), prefix, fusion))
    g.note(
        MODELS_NOTE + "Ablation of the paper's fusion strategies on one edit, side by side: none (plain "
        "inversion + edit), latent (structure-stage latent fusion only), value (detail-stage value "
        "fusion only), s2d-ec (both: the paper's method). Only the fusion input differs; change the "
        "target and PASL prompts together to try another edit. " + SHARED_NOTE + PASTE_NOTE,
        (0, 560),
        (360, 500),
    )
    paste = paste_region(g, region, "mask", (400, 1300))
    for x, decode, prefix, fusion in decodes:
        paste_back(g, image, decode, paste, (x, 1060), prefix, f"fusion: {fusion}")


NANO_SOURCE = "a photo of a person"
DEMO_IMAGE = "flux_sculptor_nano_face.png"  # nodes/demo_image.py copies demo/<this> into ComfyUI's input
NANO_GROW_BLUR = 4  # px at 128x128
NANO_NOTE = (
    "Flux-Sculptor Nano demo: runs on a CPU with no download. The Nano Loader gives a small face Flux "
    "trained by the pack (128x128 portraits; MiniLM text encoder; trained on CelebA: research, "
    "non-commercial use only, see nano_weights/README.md). The portrait is the face of scikit-image's "
    "astronaut photo (public domain), copied into ComfyUI's input folder by the pack. Nano knows a small "
    "vocabulary: 'a photo of a person with' + red / pink / purple / orange / black lipstick, blond / "
    "black / red / white / blue hair, sunglasses, eyeglasses, rosy cheeks. Change the target prompt and "
    "the PASL prompt (the region: lips, hair, eyes, cheeks) together. The result is shown beside the "
    "source. For real photos use the FLUX.1-dev workflows (text_edit_pasl)."
)


def nano_demo_edit(g: Graph) -> None:
    loader = g.add("FluxSculptorNanoLoader", (0, 60), "Flux-Sculptor Nano (bundled, CPU)", width=320)
    image = g.add("LoadImage", (400, 60), "Load Image (demo portrait, 128x128)", image=DEMO_IMAGE)
    encode = g.add("VAEEncode", (400, 530), width=200)
    g.link(image, "IMAGE", encode, "pixels")
    g.link(loader, "VAE", encode, "vae")
    src = text(g, loader, NANO_SOURCE, (760, 60), "Source prompt (the photo as it is)")
    tgt = text(g, loader, f"{NANO_SOURCE} with red lipstick", (760, 300), "Target prompt (the edit)")
    region = pasl(g, image, "lips", (760, 540), "PASL Mask (where to edit)")
    inv = g.add("FluxSculptorInversion", (1180, 60), width=340, steps=30, value_blocks=2)
    g.link(loader, "MODEL", inv, "model")
    g.link(encode, "LATENT", inv, "latent")
    g.link(src, "CONDITIONING", inv, "conditioning")
    edit = sampler(g, loader, inv, tgt, (region, "mask"), (1180, 420), structure_steps=3)
    decode = decode_save(g, edit, loader, (1560, 60), "flux-sculptor/nano_red_lipstick", "Edited portrait")
    mask_preview(g, region, "mask", (1560, 500), "Edit region (PASL)")
    paste_note = PASTE_NOTE.replace(f"{GROW} px", f"{NANO_GROW_BLUR} px").replace(
        f"{BLUR} px", f"{NANO_GROW_BLUR} px"
    )
    g.note(NANO_NOTE + paste_note, (0, 300), (360, 460))
    paste = paste_region(g, region, "mask", (1940, 420), NANO_GROW_BLUR, NANO_GROW_BLUR)
    pasted = paste_back(
        g, image, decode, paste, (1940, 60), "flux-sculptor/nano_red_lipstick", "Edited portrait"
    )
    pair = g.add("ImageStitch", (2300, 60), "Source | edit", width=300, direction="right", spacing_width=4)
    g.link(image, "IMAGE", pair, "image1")
    g.link(pasted, "IMAGE", pair, "image2")
    save = g.add(
        "SaveImage", (2300, 300), "Side by side", width=400, filename_prefix="flux-sculptor/nano_pair"
    )
    g.link(pair, "IMAGE", save, "images")


WORKFLOWS: dict[str, Callable[[Graph], None]] = {
    "text_edit_pasl": text_edit_pasl,
    "painted_mask_edit": painted_mask_edit,
    "multi_attribute_edit": multi_attribute_edit,
    "several_edits_one_inversion": several_edits_one_inversion,
    "fusion_ablation": fusion_ablation,
    "nano_demo_edit": nano_demo_edit,
}


def build(object_info: dict, only: list[str] | None = None) -> dict[str, dict]:
    """name -> UI-format workflow, built and validated against `object_info` (all, or just `only`)."""
    built = {}
    for name, define in WORKFLOWS.items():
        if only and name not in only:
            continue
        graph = Graph(object_info)
        define(graph)
        built[name] = graph.to_json(name)
    return built


def fetch_object_info(url: str) -> dict:
    with urllib.request.urlopen(url.rstrip("/") + "/object_info", timeout=120) as resp:
        return json.loads(resp.read())


def object_info_from_fresh_server() -> dict:
    """Start the harness's real ComfyUI (pinned or FLUX_SCULPTOR_COMFYUI) with the pack; read /object_info."""
    sys.path.insert(0, str(PACK_DIR / "tests"))
    from comfy_home import comfyui_dir
    from comfy_server import ComfyServer

    with tempfile.TemporaryDirectory() as workdir:
        server = ComfyServer(comfyui_dir(), {"flux-sculptor": PACK_DIR}, Path(workdir))
        try:
            return server.object_info()
        finally:
            server.stop()


def graph_crop(canvas: Image.Image, margin: int = 24) -> Image.Image:
    """The part of a canvas screenshot that holds nodes (clearly not background), padded to 4:3."""
    from PIL import ImageChops

    background = canvas.getpixel((canvas.width - 2, canvas.height - 2))
    diff = ImageChops.difference(canvas, Image.new("RGB", canvas.size, background)).convert("L")
    box = diff.point(lambda v: 255 if v > 48 else 0).getbbox() or (0, 0, canvas.width, canvas.height)
    left, top = max(box[0] - margin, 0), max(box[1] - margin, 0)
    right, bottom = min(box[2] + margin, canvas.width), min(box[3] + margin, canvas.height)
    width, height = right - left, bottom - top
    target = THUMB_SIZE[0] / THUMB_SIZE[1]
    if width / height < target:
        width = round(height * target)
    else:
        height = round(width / target)
    framed = Image.new("RGB", (width, height), background)
    framed.paste(
        canvas.crop((left, top, right, bottom)),
        ((width - (right - left)) // 2, (height - (bottom - top)) // 2),
    )
    return framed


def make_thumbnails(shots: Path, out: Path, docs: Path) -> None:
    """Screenshots <shots>/<name>.png -> <out>/<name>.jpg (the graph, 640x480), docs/workflow_<main>.png."""
    for name in WORKFLOWS:
        shot = shots / f"{name}.png"
        if not shot.is_file():
            fail(f"{shot} is missing: run `bash scripts/test.sh tests/test_browser.py` first")
        with Image.open(shot) as img:
            graph = graph_crop(img.convert("RGB").crop(CANVAS_BOX))
            graph.resize(THUMB_SIZE, Image.LANCZOS).save(out / f"{name}.jpg", quality=85)
            if name == MAIN_WORKFLOW:
                docs.mkdir(parents=True, exist_ok=True)
                img.convert("RGB").save(docs / f"workflow_{name}.png", optimize=True)
        print(f"wrote {out / (name + '.jpg')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running ComfyUI with the pack loaded (default: start one)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default: workflows/)")
    parser.add_argument("--only", action="append", choices=list(WORKFLOWS), help="build just these workflows")
    parser.add_argument(
        "--thumbnails",
        action="store_true",
        help=f"only turn the browser test's screenshots ({SHOTS_DIR}) into thumbnails",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.thumbnails:
        make_thumbnails(SHOTS_DIR, args.out, DOCS_DIR)
        return 0
    info = fetch_object_info(args.url) if args.url else object_info_from_fresh_server()
    workflows = build(info, args.only)
    for name, workflow in workflows.items():
        path = args.out / f"{name}.json"
        path.write_text(dumps(workflow))
        print(f"wrote {path} ({len(workflow['nodes'])} nodes, {len(workflow['links'])} links)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
