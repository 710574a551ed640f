"""The portrait workflows (face-filling photos): text, painted and multi-attribute edits, several edits from
one inversion, the fusion ablation, and the Nano demo that runs on a CPU with no download."""

from __future__ import annotations

from scripts.workflow_graph import Graph
from scripts.workflow_parts import (
    BLUR,
    GROW,
    MODELS_NOTE,
    PASTE_NOTE,
    SHARED_NOTE,
    SOURCE,
    decode_save,
    flux_loaders,
    inversion,
    mask_preview,
    pasl,
    paste_back,
    paste_region,
    sampler,
    source_image,
    text,
)


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
    tgt = text(g, loader, f"{NANO_SOURCE} with sunglasses", (760, 300), "Target prompt (the edit)")
    region = pasl(g, image, "eyes", (760, 540), "PASL Mask (where to edit)")
    inv = g.add("FluxSculptorInversion", (1180, 60), width=340, steps=30, value_blocks=2)
    g.link(loader, "MODEL", inv, "model")
    g.link(encode, "LATENT", inv, "latent")
    g.link(src, "CONDITIONING", inv, "conditioning")
    edit = sampler(g, loader, inv, tgt, (region, "mask"), (1180, 420), structure_steps=3)
    decode = decode_save(g, edit, loader, (1560, 60), "flux-sculptor/nano_sunglasses", "Edited portrait")
    mask_preview(g, region, "mask", (1560, 500), "Edit region (PASL)")
    paste_note = PASTE_NOTE.replace(f"{GROW} px", f"{NANO_GROW_BLUR} px").replace(
        f"{BLUR} px", f"{NANO_GROW_BLUR} px"
    )
    g.note(NANO_NOTE + paste_note, (0, 300), (360, 460))
    paste = paste_region(g, region, "mask", (1940, 420), NANO_GROW_BLUR, NANO_GROW_BLUR)
    pasted = paste_back(
        g, image, decode, paste, (1940, 60), "flux-sculptor/nano_sunglasses", "Edited portrait"
    )
    pair = g.add("ImageStitch", (2300, 60), "Source | edit", width=300, direction="right", spacing_width=4)
    g.link(image, "IMAGE", pair, "image1")
    g.link(pasted, "IMAGE", pair, "image2")
    save = g.add(
        "SaveImage", (2300, 300), "Side by side", width=400, filename_prefix="flux-sculptor/nano_pair"
    )
    g.link(pair, "IMAGE", save, "images")
