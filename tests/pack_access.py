"""Access to the pack's submodules as ComfyUI loaded them (the `pack` fixture's package)."""

import importlib


def pack_module(pack, name: str):
    """e.g. pack_module(pack, "nodes.runs") -> <pack>.nodes.runs, imported inside the loaded package."""
    return importlib.import_module(f"{pack.__name__}.{name}")
