"""The whole-photo workflow: crop the face PASL finds, edit the crop at a good FLUX size, stitch it back.

FLUX at 1024x1024 spends most of its calls on background when the face is small, so the face box the PASL
node outputs (x, y, width, height: a square, side a multiple of 16) drives core nodes: ImageCrop and CropMask
cut the face and its mask out, ImageScale brings the crop to FLUX_SIDE for inversion and edit, and back to
the box size, and ImageCompositeMasked pastes it into the photo at x, y through the (thresholded, grown,
feathered) mask of the crop. Pixels outside the pasted region are the photo's own.
"""

from __future__ import annotations

from scripts.workflow_graph import Graph, Node
from scripts.workflow_parts import (
    BLUR,
    GROW,
    MODELS_NOTE,
    SHARED_NOTE,
    SOURCE,
    THRESHOLD,
    decode_save,
    flux_loaders,
    inversion,
    mask_preview,
    pasl,
    paste_back,
    paste_region,
    sampler,
    text,
)

PHOTO = "photo.png"
FLUX_SIDE = 1024  # the crop is edited at FLUX_SIDE x FLUX_SIDE (the box is square)
BOX = ("x", "y", "width", "height")
PREFIX = "flux-sculptor/whole_photo_edit"
PHOTO_NOTE = (
    "Whole photo, crop-edit-stitch: PASL finds the faces (faces = largest; or index with face_index, 0 = "
    "the leftmost) and outputs the face box x, y, width, height (a square around the face with 25% margin, "
    "side a multiple of 16). ImageCrop and CropMask cut the face and its PASL mask out of the photo, "
    f"ImageScale brings the crop to {FLUX_SIDE}x{FLUX_SIDE} for inversion and edit (FLUX then spends its "
    "calls on the face, not the background), the edit is scaled back to the box and pasted into the photo "
    f"at x, y through the crop's edit region (mask > {THRESHOLD}, grown by {GROW} px and feathered by "
    f"{BLUR} px): every pixel outside it is the photo's own, bit for bit. The raw decode of the crop is "
    "saved too (_raw). No face found: the box is the whole photo (a warning in the log) and the mask is "
    "empty, so nothing changes. Change the photo in Load Image, the target prompt and the PASL prompt "
    "together. "
)


def face_crop(g: Graph, image: Node, box: Node, pos: tuple[float, float]) -> tuple[Node, Node]:
    """ImageCrop of the photo to the face box and ImageScale of it to FLUX_SIDE; (crop, scaled)."""
    x, y = pos
    crop = g.add("ImageCrop", (x, y), "Crop the face box", width=300)
    g.link(image, "IMAGE", crop, "image")
    for name in BOX:
        g.link(box, name, crop, name)
    scaled = g.add(
        "ImageScale",
        (x, y + 220),
        f"Scale the crop to {FLUX_SIDE}x{FLUX_SIDE}",
        width=300,
        widgets={"upscale_method": "lanczos", "width": FLUX_SIDE, "height": FLUX_SIDE},
    )
    g.link(crop, "IMAGE", scaled, "image")
    return crop, scaled


def crop_mask(g: Graph, box: Node, pos: tuple[float, float]) -> Node:
    """CropMask of PASL's mask to the same face box: the edit region in the crop's pixels."""
    node = g.add("CropMask", pos, "Crop the mask the same way", width=300)
    g.link(box, "mask", node, "mask")
    for name in BOX:
        g.link(box, name, node, name)
    return node


def back_to_box(g: Graph, decode: Node, box: Node, pos: tuple[float, float]) -> Node:
    """ImageScale of the decoded edit back to the face box's width x height."""
    node = g.add("ImageScale", pos, "Scale the edit back to the box", width=300, upscale_method="area")
    g.link(decode, "IMAGE", node, "image")
    g.link(box, "width", node, "width")
    g.link(box, "height", node, "height")
    return node


def whole_photo_edit(g: Graph) -> None:
    unet, clip, vae = flux_loaders(g, 0, 60)
    photo = g.add("LoadImage", (400, 60), "Load Image (your whole photo)", image=PHOTO)
    box = pasl(g, photo, "lips", (400, 540), "PASL Mask (finds the face: mask and box)", faces="largest")
    crop, scaled = face_crop(g, photo, box, (780, 60))
    encode = g.add("VAEEncode", (780, 460), width=200)
    g.link(scaled, "IMAGE", encode, "pixels")
    g.link(vae, "VAE", encode, "vae")
    region = crop_mask(g, box, (780, 580))
    preview = g.add("PreviewImage", (780, 800), "The face crop", width=300)
    g.link(crop, "IMAGE", preview, "images")
    src = text(g, clip, SOURCE, (1120, 60), "Source prompt (the face crop as it is)")
    tgt = text(g, clip, "a woman with red lipstick.", (1120, 300), "Target prompt (the edit)")
    mask_preview(g, region, "MASK", (1120, 560), "Edit region in the crop (PASL)")
    inv = inversion(g, unet, encode, src, (1540, 60))
    edit = sampler(g, unet, inv, tgt, (region, "MASK"), (1540, 420))
    decode = decode_save(g, edit, vae, (1540, 740), PREFIX, "Edited photo")
    edited = back_to_box(g, decode, box, (1540, 960))
    g.note(MODELS_NOTE + PHOTO_NOTE + SHARED_NOTE, (0, 560), (360, 560))
    paste = paste_region(g, region, "MASK", (1920, 420))
    stitched = paste_back(g, photo, edited, paste, (1920, 60), PREFIX, "Edited photo")
    g.link(box, "x", stitched, "x")
    g.link(box, "y", stitched, "y")
