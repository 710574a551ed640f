"""The PASL node's files: the models/pasl folder, the weights COMBO, cached loading, the face locator."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import folder_paths

from ..sculptor.face_locator import FaceLocator, load_locator
from ..sculptor.pasl import PASL, load_pasl

FOLDER = "pasl"
EXTENSIONS = {".safetensors"}
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "pasl_weights"
DEFAULT_WEIGHTS = "pasl_minilm_celeba.safetensors"
LOCATOR_FILE = "face_locator.safetensors"
WHOLE_IMAGE = "whole image"


def _register_folder() -> None:
    """models/pasl (plus any extra_model_paths entries for 'pasl'), .safetensors only."""
    default = os.path.join(folder_paths.models_dir, FOLDER)
    paths = list(folder_paths.folder_names_and_paths.get(FOLDER, ([], set()))[0])
    if default not in paths:
        paths.append(default)
    folder_paths.folder_names_and_paths[FOLDER] = (paths, set(EXTENSIONS))


_register_folder()


def _shipped() -> list[str]:
    """The pack's PASL files (the face locator that lives beside them is not PASL weights)."""
    return sorted(
        p.name
        for p in SHIPPED_DIR.glob("*")
        if p.suffix in EXTENSIONS and p.is_file() and p.name != LOCATOR_FILE
    )


def weight_options() -> list[str]:
    """COMBO options: the pack's pasl_weights/ files first, then ComfyUI's models/pasl files."""
    shipped = _shipped()
    return shipped + [n for n in folder_paths.get_filename_list(FOLDER) if n not in shipped]


def resolve_weights(name: str) -> Path:
    """A COMBO option -> its file. Anything else (paths, '..', absolute names) is refused."""
    if name not in weight_options():
        raise ValueError(
            f"PASL weights '{name}' are not among the available files {weight_options()}: "
            "pick one from the list, or put a .safetensors file in ComfyUI's models/pasl"
        )
    if name in _shipped():
        return SHIPPED_DIR / name
    full = folder_paths.get_full_path(FOLDER, name)
    if full is None:
        raise ValueError(f"PASL weights '{name}' disappeared from models/pasl: refresh the node list")
    return Path(full)


@lru_cache(maxsize=2)
def _load_cached(path: str, mtime_ns: int) -> PASL:
    return load_pasl(path)


@lru_cache(maxsize=1)
def _locator_cached(path: str, mtime_ns: int) -> FaceLocator:
    return load_locator(path)


def face_locator() -> FaceLocator:
    """The pack's face locator (pasl_weights/face_locator.safetensors), loaded once per file version."""
    path = SHIPPED_DIR / LOCATOR_FILE
    if not path.is_file():
        raise ValueError(
            f"the face locator {path} is missing: reinstall the pack, or set faces to "
            f"'{WHOLE_IMAGE}' to run PASL on the whole image without a face search"
        )
    return _locator_cached(str(path), path.stat().st_mtime_ns)
