"""ComfyUI node classes, one file per family. Each family module exports `NODES`."""

import importlib
import logging

from comfy_api.latest import io

FAMILIES = ("inversion", "pasl", "masks", "s2dec")


def all_nodes() -> list[type[io.ComfyNode]]:
    """The pack's node list, in menu order. A family that fails to import is logged, not fatal."""
    found: list[type[io.ComfyNode]] = []
    for family in FAMILIES:
        try:
            module = importlib.import_module(f".{family}", __name__)
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{family}":
                logging.warning("Flux-Sculptor: node family %r failed to import: %s", family, err)
            continue
        found.extend(module.NODES)
    return found
