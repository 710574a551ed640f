"""ComfyUI node classes, one file per family. Each family module exports `NODES`.

Not nodes, shared by the editing families: editing_runs.py (the inversion and S2D-EC procedures),
checks.py (their input checks), comfy_sampling.py (a sculptor loop inside ComfyUI's guider),
flux_hooks.py (the V hook), recording.py (what the inversion records), recompute.py (store mode
"recompute").
"""

import dataclasses
import importlib

from comfy_api.latest import io

FAMILIES = ("inversion", "pasl", "masks", "s2dec", "saved_inversions", "nano")


def make_schema(**fields) -> io.Schema:
    """io.Schema from keyword fields, dropping fields this ComfyUI's Schema does not know yet (e.g.
    `search_aliases`, added after 0.3.75), so one node definition works on every supported version."""
    known = {f.name for f in dataclasses.fields(io.Schema)}
    return io.Schema(**{k: v for k, v in fields.items() if k in known})


def all_nodes() -> list[type[io.ComfyNode]]:
    """The pack's node list, in menu order. An import error propagates, so ComfyUI reports the pack as
    failed to import instead of silently missing a node that workflows need."""
    found: list[type[io.ComfyNode]] = []
    for family in FAMILIES:
        found.extend(importlib.import_module(f".{family}", __name__).NODES)
    return found
