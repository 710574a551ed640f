"""What a UI-format workflow node may hold, read from a server's /object_info: a node's inputs in the
frontend's order, the frontend-only widgets, defaults, and the check of every widget value (range, type,
combo options). A value that does not fit raises SchemaError naming the node and input."""

from __future__ import annotations

from typing import Any

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
FRONTEND_ONLY = {"Note", "MarkdownNote", "Reroute", "PrimitiveNode"}  # virtual nodes, not in /object_info
SEED_NAMES = {"seed", "noise_seed"}  # the frontend adds a control_after_generate widget after these
# Combos listing the user's own files (models, input images): the build machine need not have them.
USER_FILE_WIDGETS = {
    ("UNETLoader", "unet_name"),
    ("DualCLIPLoader", "clip_name1"),
    ("DualCLIPLoader", "clip_name2"),
    ("VAELoader", "vae_name"),
    ("LoadImage", "image"),
}


class SchemaError(ValueError):
    """A node or value that does not fit the server's /object_info."""


def input_specs(info: dict) -> list[tuple[str, str, dict, bool]]:
    """(name, type, options, optional) for a node's inputs in the frontend's order; type COMBO for lists."""
    order = info.get("input_order") or {s: list(info["input"].get(s, {})) for s in ("required", "optional")}
    specs = []
    for section in ("required", "optional"):
        for name in order.get(section, []):
            spec = info["input"][section][name]
            kind, opts = spec[0], (spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {})
            if isinstance(kind, list):
                kind, opts = "COMBO", {**opts, "options": kind}
            specs.append((name, kind, opts, section == "optional"))
    return specs


def extra_widget_value(node_type: str, name: str, kind: str, opts: dict) -> str | None:
    """The value of the frontend-only widget that follows an input (seed control, upload button), if any."""
    if kind == "INT" and (opts.get("control_after_generate") or name in SEED_NAMES):
        return "fixed"
    if kind == "COMBO" and opts.get("image_upload"):
        return "image"
    return None


def check_value(node_type: str, name: str, kind: str, opts: dict, value: Any) -> None:
    """Raise SchemaError unless `value` fits the widget's schema."""
    where = f"{node_type}.{name}"
    if kind == "COMBO":
        options = opts.get("options", [])
        if value not in options and not ((node_type, name) in USER_FILE_WIDGETS and isinstance(value, str)):
            raise SchemaError(f"{where} = {value!r} is not one of {options}")
    elif kind == "BOOLEAN":
        if not isinstance(value, bool):
            raise SchemaError(f"{where} must be a boolean, got {value!r}")
    elif kind == "STRING":
        if not isinstance(value, str):
            raise SchemaError(f"{where} must be a string, got {value!r}")
    elif kind in ("INT", "FLOAT"):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (kind == "INT" and not isinstance(value, int))
        ):
            raise SchemaError(f"{where} must be {kind}, got {value!r}")
        if ("min" in opts and value < opts["min"]) or ("max" in opts and value > opts["max"]):
            raise SchemaError(f"{where} = {value} is outside [{opts.get('min')}, {opts.get('max')}]")


def default_value(node_type: str, name: str, kind: str, opts: dict) -> Any:
    if "default" in opts:
        return opts["default"]
    if kind == "COMBO":
        if not opts.get("options"):
            raise SchemaError(
                f"{node_type}.{name} has no options on this server (e.g. no weights file "
                "installed yet): install one, or give the value explicitly"
            )
        return opts["options"][0]
    if kind in ("INT", "FLOAT"):
        return opts.get("min", 0)
    if kind == "STRING":
        return ""
    if kind == "BOOLEAN":
        return False
    raise SchemaError(f"{node_type}.{name} has no default: give a value")
