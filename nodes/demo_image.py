"""The Nano demo's portrait, copied into ComfyUI's input folder so the stock LoadImage lists it."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

DEMO_IMAGE = "flux_sculptor_nano_face.png"
BUNDLED = Path(__file__).resolve().parents[1] / "demo" / DEMO_IMAGE


def install_demo_image(input_dir: str | Path | None = None) -> Path | None:
    """Copy demo/<DEMO_IMAGE> into `input_dir` (default: ComfyUI's input folder) unless a file of that
    name is there already (a user's file is never overwritten). Returns the path, or None if the folder is
    not writable (logged: the demo workflow then asks for the image, nothing else is affected)."""
    if input_dir is None:
        import folder_paths

        input_dir = folder_paths.get_input_directory()
    target = Path(input_dir) / DEMO_IMAGE
    if target.exists():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(BUNDLED, target)
    except OSError as err:
        logging.warning(
            "[Flux-Sculptor] could not copy the demo portrait to %s (%s): copy %s there by hand to run the "
            "nano_demo_edit workflow",
            target,
            err,
            BUNDLED,
        )
        return None
    return target
