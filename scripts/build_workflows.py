"""Builds the bundled example workflows (workflows/*.json, ComfyUI UI format) from a REAL server's schemas.

    python scripts/build_workflows.py                      # starts the pinned ComfyUI headless, then stops it
    python scripts/build_workflows.py --url http://127.0.0.1:8188   # or read a running server's /object_info
    python scripts/build_workflows.py --thumbnails         # after tests/test_browser.py: screenshots -> .jpg
    python scripts/build_workflows.py --thumbnails --only whole_photo_edit   # after test_browser.py -k NAME

Re-run it whenever a node's schema changes: widget order and values come from /object_info, every value
is checked against it, and a node missing from the server fails the build naming the node. Only ComfyUI
core nodes and Flux-Sculptor's are used; FLUX.1-dev is loaded the standard way (UNETLoader,
DualCLIPLoader type flux, VAELoader). Thumbnails (.jpg) come from tests/test_browser.py's screenshots of
the real frontend (tests/output/browser/<name>.png); the main one is also copied to docs/ for the README.

The pieces: scripts/workflow_graph.py (nodes and links checked against the schemas; workflow_schema.py
reads them), workflow_parts.py (loaders, sampler, paste-back, ...), workflow_portraits.py (the portrait
workflows), workflow_photo.py (whole_photo_edit: crop, edit, stitch), workflow_thumbnails.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

if __package__:  # python -m scripts.NAME
    from scripts.repo_paths import ROOT
else:  # python scripts/NAME.py
    from repo_paths import ROOT
from scripts.workflow_graph import Graph, dumps
from scripts.workflow_photo import whole_photo_edit
from scripts.workflow_portraits import (
    DEMO_IMAGE,
    fusion_ablation,
    multi_attribute_edit,
    nano_demo_edit,
    painted_mask_edit,
    several_edits_one_inversion,
    text_edit_pasl,
)
from scripts.workflow_thumbnails import make_thumbnails

__all__ = ["DEMO_IMAGE", "WORKFLOWS", "build", "dumps", "main"]

PACK_DIR = ROOT
OUT_DIR = PACK_DIR / "workflows"
SHOTS_DIR = PACK_DIR / "tests" / "output" / "browser"
DOCS_DIR = PACK_DIR / "docs"
WORKFLOWS: dict[str, Callable[[Graph], None]] = {
    "text_edit_pasl": text_edit_pasl,
    "painted_mask_edit": painted_mask_edit,
    "multi_attribute_edit": multi_attribute_edit,
    "several_edits_one_inversion": several_edits_one_inversion,
    "fusion_ablation": fusion_ablation,
    "nano_demo_edit": nano_demo_edit,
    "whole_photo_edit": whole_photo_edit,
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
        make_thumbnails(args.only or list(WORKFLOWS), SHOTS_DIR, args.out, DOCS_DIR)
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
