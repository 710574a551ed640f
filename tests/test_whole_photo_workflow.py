"""whole_photo_edit: the PASL face box (INT outputs), wired into core nodes' widgets, crops the face; the crop
is edited at FLUX size and stitched back into the photo at the box. Also the generator's widget links."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from comfy_home import PACK_DIR
from PIL import Image
from workflow_api import load, swap_for_tiny_models, to_api, widget_slots

pytestmark = pytest.mark.server

BOX = ("x", "y", "width", "height")
PHOTO = "flux_sculptor_test_whole_photo.png"


@pytest.fixture(scope="module")
def object_info(server) -> dict:
    return server.object_info()


def only(workflow: dict, kind: str) -> dict:
    (node,) = [n for n in workflow["nodes"] if n["type"] == kind]
    return node


def feeder(workflow: dict, node: dict, input_name: str) -> tuple[dict, str]:
    """(node, output name) feeding `node`'s input `input_name` (a socket or a widget turned into an input)."""
    slot = next(s for s in node["inputs"] if s["name"] == input_name)
    link = next(link for link in workflow["links"] if link[0] == slot["link"])
    src = next(n for n in workflow["nodes"] if n["id"] == link[1])
    return src, src["outputs"][link[2]]["name"]


def widget(node: dict, name: str, info: dict):
    names = [s[0] for s in widget_slots(info[node["type"]])]
    return node["widgets_values"][names.index(name)]


def test_the_face_box_drives_crop_scale_and_paste(object_info):
    wf = load("whole_photo_edit")
    photo, pasl = only(wf, "LoadImage"), only(wf, "FluxSculptorPASLMask")
    assert feeder(wf, pasl, "image")[0] is photo
    assert widget(pasl, "faces", object_info) in ("largest", "index")  # a face search, one person
    crop, crop_mask = only(wf, "ImageCrop"), only(wf, "CropMask")
    for node in (crop, crop_mask):
        assert [feeder(wf, node, k) for k in BOX] == [(pasl, k) for k in BOX]
        converted = [s for s in node["inputs"] if "widget" in s]
        order = [s[0] for s in widget_slots(object_info[node["type"]])]
        assert [s["widget"]["name"] for s in converted] == [n for n in order if n in BOX]
        assert all(s["name"] == s["widget"]["name"] and s["type"] == "INT" for s in converted)
        assert len(node["widgets_values"]) == len(order)  # converted widgets keep a value, as the frontend's
    assert feeder(wf, crop, "image")[0] is photo and feeder(wf, crop_mask, "mask") == (pasl, "mask")
    encode, decode = only(wf, "VAEEncode"), only(wf, "VAEDecode")
    up = feeder(wf, encode, "pixels")[0]
    assert up["type"] == "ImageScale" and feeder(wf, up, "image")[0] is crop
    side = (widget(up, "width", object_info), widget(up, "height", object_info))
    assert side[0] == side[1] >= 768 and side[0] % 16 == 0  # a good FLUX size for the square box
    assert feeder(wf, only(wf, "FluxSculptorS2DECSampler"), "mask")[0] is crop_mask
    paste = only(wf, "ImageCompositeMasked")
    back = feeder(wf, paste, "source")[0]
    assert back["type"] == "ImageScale" and feeder(wf, back, "image")[0] is decode
    assert [feeder(wf, back, k) for k in ("width", "height")] == [(pasl, "width"), (pasl, "height")]
    assert feeder(wf, paste, "destination")[0] is photo
    assert [feeder(wf, paste, k) for k in ("x", "y")] == [(pasl, "x"), (pasl, "y")]
    assert widget(paste, "resize_source", object_info) is False
    region = feeder(wf, paste, "mask")[0]
    while region is not crop_mask:  # ImageToMask <- ImageBlur <- MaskToImage <- GrowMask <- ThresholdMask
        region = feeder(wf, region, region["inputs"][0]["name"])[0]


def test_generator_turns_a_linked_widget_into_an_input_as_the_frontend_does(object_info):
    from scripts.workflow_graph import Graph, SchemaError

    g = Graph(object_info)
    image = g.add("LoadImage", (0, 0), image="x.png")
    box = g.add("FluxSculptorPASLMask", (0, 0))
    crop = g.add("ImageCrop", (0, 0))
    g.link(box, "y", crop, "y")
    g.link(box, "width", crop, "width")  # before y in the widget order: y's link moves one slot down
    g.link(image, "IMAGE", crop, "image")
    assert [s["name"] for s in crop.inputs] == ["image", "width", "y"]
    assert crop.inputs[1] == {"name": "width", "type": "INT", "widget": {"name": "width"}, "link": 2}
    assert [(link[0], link[4]) for link in g.links if link[3] == crop.id] == [(1, 2), (2, 1), (3, 0)]
    assert crop.widgets_values == [512, 512, 0, 0]
    with pytest.raises(SchemaError, match=r"\(MASK\) cannot feed ImageCrop.x \(INT\)"):
        g.link(box, "mask", crop, "x")
    with pytest.raises(SchemaError, match="ImageCrop has no input 'z'"):
        g.link(box, "x", crop, "z")
    with pytest.raises(SchemaError, match="ImageCrop.y is already connected"):
        g.link(box, "x", crop, "y")


def composite_photo(path: Path) -> np.ndarray:
    """The bundled face (scikit-image's astronaut, public domain) small in a 256x256 photo whose background
    encodes the coordinates (R = x, G = y), so a crop tells where it was cut."""
    ys, xs = np.mgrid[0:256, 0:256]
    photo = np.stack([xs, ys, np.full_like(xs, 100)], axis=-1).astype(np.uint8)
    with Image.open(PACK_DIR / "demo" / "flux_sculptor_nano_face.png") as face:
        photo[104:216, 120:232] = np.asarray(face.convert("RGB").resize((112, 112), Image.LANCZOS))
    Image.fromarray(photo).save(path)
    return photo


def saved(server, outputs: dict, workflow: dict, title: str) -> np.ndarray:
    (node_id,) = [str(n["id"]) for n in workflow["nodes"] if n.get("title") == title]
    (image,) = outputs[node_id]["images"]
    # SaveImage writes to output/, PreviewImage to temp/ (ComfyUI adds a "temp" folder under --temp-directory)
    (path,) = (Path(server.workdir) / image["type"]).rglob(f"{image['subfolder']}*/{image['filename']}")
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def test_a_real_face_is_cropped_edited_and_stitched_back_at_its_box(server, object_info):
    """Tiny models, but a real face in a larger photo: PASL finds it, ImageCrop cuts the photo's own pixels
    at the box, and the stitched result equals the photo outside the box bit for bit and differs inside."""
    photo = composite_photo(Path(server.workdir) / "input" / PHOTO)
    workflow = load("whole_photo_edit")
    prompt = swap_for_tiny_models(to_api(workflow, object_info))
    loader = str(only(workflow, "LoadImage")["id"])
    prompt[loader] = {"class_type": "LoadImage", "inputs": {"image": PHOTO}}
    outputs = server.run(prompt, timeout=600)["outputs"]
    crop = saved(server, outputs, workflow, "The face crop")
    side = crop.shape[0]
    x, y = int(crop[0, 0, 0]), int(crop[0, 0, 1])  # its corner is background: R = x, G = y
    assert crop.shape == (side, side, 3) and side % 16 == 0 and side < 256, crop.shape  # found a face
    assert np.array_equal(crop, photo[y : y + side, x : x + side])
    assert x + side > 120 + 56 > x and y + side > 104 + 56 > y  # the box holds the face's centre
    assert saved(server, outputs, workflow, "Edit region in the crop (PASL)").max() > 128  # lips found
    result = saved(server, outputs, workflow, "Edited photo")
    assert result.shape == photo.shape
    inside = np.zeros(photo.shape[:2], bool)
    inside[y : y + side, x : x + side] = True
    assert np.array_equal(result[~inside], photo[~inside])
    assert not np.array_equal(result[inside], photo[inside])
