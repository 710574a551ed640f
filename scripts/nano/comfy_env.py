"""Import the real ComfyUI in-process for Nano's scripts (training, export, evaluation).

Which ComfyUI: FLUX_SCULPTOR_COMFYUI (any ComfyUI folder), else FLUX_SCULPTOR_COMFYUI_RESOLVED (set by
scripts/test.sh), else the pinned snapshot that scripts/setup_env.sh installs. ComfyUI goes first on
sys.path and its CLI is parsed as `--cpu`; the pack root goes last (for `sculptor`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from scripts.repo_paths import HOME, ROOT


def comfyui_dir() -> Path:
    for var in ("FLUX_SCULPTOR_COMFYUI", "FLUX_SCULPTOR_COMFYUI_RESOLVED"):
        if os.environ.get(var):
            return Path(os.environ[var]).resolve()
    return HOME / "comfyui-0.3.75"


def import_comfy() -> Path:
    """Make `import comfy.*` work (CPU). Returns the ComfyUI folder."""
    root = comfyui_dir()
    if not (root / "main.py").is_file():
        raise ValueError(
            f"{root} is not a ComfyUI folder: run `bash scripts/test.sh --co -q` once (installs the "
            "pinned ComfyUI) or set FLUX_SCULPTOR_COMFYUI to a ComfyUI folder"
        )
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))
    saved = sys.argv
    sys.argv = [str(root / "main.py"), "--cpu"]
    try:
        import comfy.options

        comfy.options.enable_args_parsing()
        import comfy.cli_args  # noqa: F401  (parses sys.argv once)
    finally:
        sys.argv = saved
    return root


def load_pack():
    """ComfyUI imported (CPU), then the pack as a package named `flux_sculptor` (its modules use relative
    imports, as when ComfyUI loads it from custom_nodes). Returns the package module."""
    import importlib.util

    import_comfy()
    import comfy.model_management  # noqa: F401  (initialises the CPU device)

    if "flux_sculptor" in sys.modules:
        return sys.modules["flux_sculptor"]
    spec = importlib.util.spec_from_file_location(
        "flux_sculptor", ROOT / "__init__.py", submodule_search_locations=[str(ROOT)]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules["flux_sculptor"] = package
    spec.loader.exec_module(package)
    return package
