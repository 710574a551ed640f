"""Workflow thumbnails: tests/test_browser.py's screenshots of the real frontend -> workflows/<name>.jpg
(the graph, 640x480 like the frontend's template cards) and docs/workflow_<main>.png for the README."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from scripts.repo_paths import fail

MAIN_WORKFLOW = "text_edit_pasl"
CANVAS_BOX = (60, 125, 1920, 980)  # canvas of a 1920x1080 screenshot, without side bar, run button, zoom bar
THUMB_SIZE = (640, 480)  # 4:3, as the frontend's template cards


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


def make_thumbnails(names: Iterable[str], shots: Path, out: Path, docs: Path) -> None:
    """Screenshots <shots>/<name>.png -> <out>/<name>.jpg (the graph, 640x480), docs/workflow_<main>.png."""
    for name in names:
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
