"""The real ComfyUI frontend in headless Chromium (Debian's, not a downloaded one) loads each workflow.

Each workflow is fetched from the server's templates endpoint, loaded with `app.loadGraphData`, and checked:
no missing-node dialog or node errors, no page errors while loading, all nodes and links on the canvas, and
the frontend's own API conversion (`app.graphToPrompt`) equals tests/workflow_api.py's. One screenshot per
workflow goes to tests/output/browser/ (`python scripts/build_workflows.py --thumbnails` turns them into
the workflows' .jpg thumbnails and docs/ screenshot). Only loopback requests are allowed.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from comfy_home import comfyui_dir, comfyui_version
from PIL import Image, ImageDraw
from workflow_api import VIRTUAL_NODES, WORKFLOW_NAMES, specs, to_api

pytestmark = [pytest.mark.server, pytest.mark.browser]

PACK = "flux-sculptor"
SHOTS = Path(__file__).resolve().parent / "output" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1920, "height": 1080}
DIALOGS = ".global-dialog, .p-dialog, [role=dialog]"  # PrimeVue (frontend 1.32) and reka-ui (1.49) dialogs


@dataclass
class Frontend:
    page: object
    errors: list[str] = field(default_factory=list)
    startup_seconds: float = 0.0
    templates_dialog: str = ""
    template_thumbnails: int = 0


def portrait(path: Path) -> None:
    """A drawn stand-in portrait (no real face) for LoadImage previews; its mouth is painted (transparent)."""
    img = Image.new("RGBA", (512, 512), (214, 196, 180, 255))
    draw = ImageDraw.Draw(img)
    draw.ellipse((136, 96, 376, 400), fill=(236, 200, 176, 255))
    draw.ellipse((186, 200, 226, 226), fill=(60, 50, 45, 255))
    draw.ellipse((286, 200, 326, 226), fill=(60, 50, 45, 255))
    draw.ellipse((216, 320, 296, 352), fill=(190, 90, 90, 255))
    draw.pieslice((116, 56, 396, 300), 180, 360, fill=(90, 60, 40, 255))
    draw.ellipse((216, 316, 296, 356), fill=(0, 0, 0, 0))  # the mask editor stores paint as transparency
    img.save(path)


def whole_photo(path: Path, face: Path) -> None:
    """A drawn stand-in whole photo for whole_photo_edit: the stand-in portrait small in a wider scene."""
    img = Image.new("RGB", (1024, 768), (120, 150, 190))
    ImageDraw.Draw(img).rectangle((0, 520, 1024, 768), fill=(90, 120, 70))
    with Image.open(face) as portrait:
        img.paste(portrait.convert("RGB").resize((192, 192)), (560, 260))
    img.save(path)


@pytest.fixture(scope="module")
def frontend(server):
    from playwright import sync_api  # the pyproject test extra; scripts/test.sh installs it

    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is missing: apt-get install -y chromium (scripts/test.sh does it)"
    portrait(Path(server.workdir) / "input" / "portrait.png")
    whole_photo(Path(server.workdir) / "input" / "photo.png", Path(server.workdir) / "input" / "portrait.png")
    SHOTS.mkdir(parents=True, exist_ok=True)
    origin = f"http://127.0.0.1:{server.port}"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.route(
            "**/*", lambda route: route.continue_() if route.request.url.startswith(origin) else route.abort()
        )
        ui = Frontend(page)
        page.on("pageerror", lambda err: ui.errors.append(str(err)))
        start = time.monotonic()
        page.goto(origin + "/")
        page.wait_for_function(
            "window.app && window.app.graph && window.app.extensionManager", timeout=90_000
        )
        ui.templates_dialog, ui.template_thumbnails = dismiss_templates_dialog(page)
        close_banner(page)
        page.evaluate(
            "async () => { const s = window.app.extensionManager.setting;"
            " await s.set('Comfy.Minimap.Visible', false); }"
        )
        ui.startup_seconds = time.monotonic() - start
        yield ui
        browser.close()


def dismiss_templates_dialog(page) -> tuple[str, int]:
    """The frontend opens its Templates dialog on a first visit: open the pack's entry under Extensions
    (with ComfyUI's own templates installed the dialog starts on those), return the dialog's text and the
    number of loaded thumbnails, then close it."""
    dialog = page.locator(DIALOGS, has_text="Templates").first
    try:
        dialog.wait_for(state="visible", timeout=60_000)
    except Exception:  # noqa: BLE001  (newer frontends may not open it; nothing to dismiss then)
        return "", 0
    try:  # the pack's templates arrive after the dialog opens
        dialog.locator("nav").get_by_text(PACK, exact=True).first.click(timeout=30_000)
        dialog.get_by_text(WORKFLOW_NAMES[0]).first.wait_for(timeout=10_000)
    except Exception:  # noqa: BLE001  (reported by test_templates_dialog_offers_the_pack_workflows)
        pass
    text = dialog.inner_text()
    loaded = "imgs => imgs.filter(i => i.naturalWidth > 0).length"
    try:
        page.wait_for_function(
            f"[...document.querySelectorAll('{DIALOGS}')].flatMap(d => [...d.querySelectorAll('img')])"
            f".filter(i => i.naturalWidth > 0).length >= {len(WORKFLOW_NAMES)}",
            timeout=10_000,
        )
    except Exception:  # noqa: BLE001  (reported by test_templates_dialog_offers_the_pack_workflows)
        pass
    thumbnails = dialog.locator("img").evaluate_all(loaded)
    close = dialog.locator("button:has(i.pi-times)")
    if close.count():
        close.first.click()
    else:
        page.keyboard.press("Escape")
    dialog.wait_for(state="hidden", timeout=10_000)
    return text, thumbnails


def close_banner(page) -> None:
    """Close the frontend's announcement banner, if this version shows one (screenshots only)."""
    banner = page.locator("div.bg-gradient-to-r", has_text="Introducing")
    if banner.count():
        banner.first.locator("button").last.click()
    page.mouse.move(VIEWPORT["width"] // 2, VIEWPORT["height"] - 40)


def missing_model_labels(workflow: dict) -> list[str]:
    """'<directory> / <file>' for each model download the workflow's nodes carry (none is installed here)."""
    return [
        f"{m['directory']} / {m['name']}"
        for n in workflow["nodes"]
        for m in n["properties"].get("models", [])
    ]


def assert_missing_models_dialog_offers_downloads(page, workflow: dict, labels: list[str]) -> None:
    """Frontend 1.32 (the pinned ComfyUI's): its missing-models dialog lists every model with a download
    (no 'not allowed' or 'Invalid directory' error); then it is closed. Newer frontends present missing
    models their own way: a dialog that names the files is checked the same way and closed with Escape."""
    names = [m["name"] for n in workflow["nodes"] for m in n["properties"].get("models", [])]
    pinned = comfyui_version(comfyui_dir()) == "0.3.75"
    dialog = page.locator(".p-dialog" if pinned else DIALOGS, has_text=names[0]).first
    try:
        dialog.wait_for(state="visible", timeout=10_000 if pinned else 3_000)
    except Exception:
        if pinned:
            raise
        return
    text = dialog.inner_text()
    for expected in labels if pinned else names:
        assert expected in text, (expected, text)
    assert "not allowed" not in text and "Invalid directory" not in text, text
    if pinned:
        dialog.locator("button:has(i.pi-times), button[aria-label='Close']").first.click()
    else:
        page.keyboard.press("Escape")
    dialog.wait_for(state="hidden", timeout=10_000)


def test_templates_endpoint_lists_every_bundled_workflow(server):
    listed = server.request("GET", "/api/workflow_templates")
    assert sorted(listed[PACK]) == sorted(WORKFLOW_NAMES)


def test_templates_dialog_offers_the_pack_workflows(frontend):
    if not frontend.templates_dialog:
        pytest.fail("the frontend opened no Templates dialog on first visit (expected with frontend 1.32)")
    assert PACK in frontend.templates_dialog
    for name in WORKFLOW_NAMES:
        assert name in frontend.templates_dialog, name  # 1.32 adds a title-cased label, 1.49 does not
    assert frontend.template_thumbnails >= len(WORKFLOW_NAMES)  # the .jpg thumbnails load in the dialog


def absent_files(workflow: dict, info: dict) -> set[str]:
    """Ids of core nodes whose COMBO value the server does not list: the FLUX model files, absent here.
    Frontend 1.49 marks such nodes as having errors, 1.32 does not. Our nodes never qualify."""
    absent = set()
    for node_id, node in to_api(workflow, info).items():
        for name, kind, opts in specs(info[node["class_type"]]):
            value = node["inputs"].get(name)
            if kind == "COMBO" and isinstance(value, str) and value not in opts.get("options", [value]):
                assert not node["class_type"].startswith("FluxSculptor"), (node_id, name, value)
                absent.add(node_id)
    return absent


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_frontend_loads_workflow_without_missing_nodes(frontend, server, name):
    info, page = server.object_info(), frontend.page
    errors_before = len(frontend.errors)
    workflow = page.evaluate(
        "async (url) => await (await fetch(url)).json()", f"/api/workflow_templates/{PACK}/{name}.json"
    )
    page.evaluate(
        "async ([wf, name]) => { await window.app.loadGraphData(wf, true, true, name); }", [workflow, name]
    )
    page.wait_for_timeout(500)
    expected = missing_model_labels(workflow)
    if expected:
        assert_missing_models_dialog_offers_downloads(page, workflow, expected)
    dialogs = page.evaluate(f"() => [...document.querySelectorAll('{DIALOGS}')].map(d => d.innerText)")
    assert dialogs == [], dialogs  # e.g. "This workflow has missing nodes", or a load error
    toasts = page.evaluate(
        "() => [...document.querySelectorAll('.p-toast-message-error')].map(t => t.innerText)"
    )
    assert toasts == [], toasts
    canvas = page.evaluate("""() => window.app.graph.nodes.map(n => ({id: n.id, type: n.type,
        errors: !!n.has_errors, known: !!n.constructor.nodeData}))""")
    assert frontend.errors[errors_before:] == []
    # node ids: numbers in the saved workflow; frontend 1.49 keeps them as strings on its canvas
    assert sorted(str(n["id"]) for n in canvas) == sorted(str(n["id"]) for n in workflow["nodes"])
    absent = absent_files(workflow, info)
    for node in canvas:
        assert not node["errors"] or str(node["id"]) in absent, node
        assert node["known"] or node["type"] in VIRTUAL_NODES, node
    ours = {n["type"] for n in canvas if n["type"].startswith("FluxSculptor")}
    assert ours == {n["type"] for n in workflow["nodes"] if n["type"].startswith("FluxSculptor")} != set()
    links = page.evaluate(
        "() => (l => l instanceof Map ? l.size : Object.keys(l).length)(window.app.graph.links)"
    )
    assert links == len(workflow["links"])
    api_prompt = page.evaluate("async () => (await window.app.graphToPrompt()).output")
    for node in api_prompt.values():
        node.pop("_meta", None)
    assert json.loads(json.dumps(api_prompt)) == to_api(workflow, info)
    page.evaluate("async () => await window.app.extensionManager.command.execute('Comfy.Canvas.FitView')")
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    with Image.open(SHOTS / f"{name}.png") as shot:
        assert shot.size == (VIEWPORT["width"], VIEWPORT["height"])
