"""ComfyUI UI-format workflow graphs built against a real server's /object_info (no hand-written JSON).

Every node is created from its schema: its sockets, output names and the order of its widgets come from
/object_info, and every widget value is checked against the schema (range, type, combo options), so a
schema change fails the build with a message naming the node and input instead of shipping a broken file.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
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


@dataclass
class Node:
    id: int
    type: str
    pos: tuple[float, float]
    size: tuple[float, float]
    title: str | None = None
    inputs: list[dict] = field(default_factory=list)
    outputs: list[dict] = field(default_factory=list)
    widgets_values: list[Any] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    properties: dict = field(default_factory=dict)


class Graph:
    """A UI-format workflow under construction; `add` and `link` validate against /object_info."""

    def __init__(self, object_info: dict) -> None:
        self.info = object_info
        self.nodes: list[Node] = []
        self.links: list[list] = []
        self.groups: list[dict] = []

    def schema(self, node_type: str) -> dict:
        if node_type not in self.info:
            raise SchemaError(
                f"node type {node_type!r} is not in the server's /object_info: load the pack (and "
                "its node families) in that ComfyUI, or fix the workflow definition"
            )
        return self.info[node_type]

    def add(
        self,
        node_type: str,
        pos: tuple[float, float],
        title: str | None = None,
        width: float = 320,
        **values: Any,
    ) -> Node:
        """A node of `node_type`; widget values by input name (defaults from the schema for the rest)."""
        info = self.schema(node_type)
        node = Node(len(self.nodes) + 1, node_type, pos, (width, 0), title)
        known = set()
        for name, kind, opts, optional in input_specs(info):
            known.add(name)
            if kind not in WIDGET_TYPES:
                node.inputs.append(
                    {"name": name, "type": kind, "link": None, **({"shape": 7} if optional else {})}
                )
                continue
            value = values[name] if name in values else default_value(node_type, name, kind, opts)
            check_value(node_type, name, kind, opts, value)
            node.widgets_values.append(value)
            extra = extra_widget_value(node_type, name, kind, opts)
            if extra is not None:
                node.widgets_values.append(extra)
        unknown = set(values) - known
        if unknown:
            raise SchemaError(f"{node_type} has no input(s) {sorted(unknown)}; it has {sorted(known)}")
        names = info.get("output_name") or info["output"]
        node.outputs = [
            {"name": n, "type": t, "links": [], "slot_index": i}
            for i, (n, t) in enumerate(zip(names, info["output"], strict=True))
        ]
        node.size = (width, self._height(node, info))
        self.nodes.append(node)
        return node

    def note(
        self, text: str, pos: tuple[float, float], size: tuple[float, float] = (420, 260), title: str = "Note"
    ) -> Node:
        node = Node(
            len(self.nodes) + 1,
            "Note",
            pos,
            size,
            title,
            widgets_values=[text],
            extra={"color": "#432", "bgcolor": "#653"},
        )
        self.nodes.append(node)
        return node

    def group(self, title: str, bounding: tuple[float, float, float, float], color: str = "#3f789e") -> None:
        self.groups.append(
            {
                "id": len(self.groups) + 1,
                "title": title,
                "bounding": list(bounding),
                "color": color,
                "font_size": 24,
                "flags": {},
            }
        )

    def link(self, src: Node, output: str | int, dst: Node, input_name: str) -> None:
        """Connect src's output (name or index) to dst's socket input; the types must match."""
        out_index = (
            output
            if isinstance(output, int)
            else next((i for i, o in enumerate(src.outputs) if o["name"] == output), None)
        )
        if out_index is None or out_index >= len(src.outputs):
            raise SchemaError(f"{src.type} has no output {output!r}: {[o['name'] for o in src.outputs]}")
        in_index = next((i for i, s in enumerate(dst.inputs) if s["name"] == input_name), None)
        if in_index is None:
            raise SchemaError(
                f"{dst.type} has no socket input {input_name!r}: {[s['name'] for s in dst.inputs]}"
            )
        out_type, in_type = src.outputs[out_index]["type"], dst.inputs[in_index]["type"]
        if in_type != out_type and "*" not in (in_type, out_type):
            raise SchemaError(
                f"{src.type}.{src.outputs[out_index]['name']} ({out_type}) cannot feed "
                f"{dst.type}.{input_name} ({in_type})"
            )
        if dst.inputs[in_index]["link"] is not None:
            raise SchemaError(f"{dst.type}.{input_name} is already connected")
        link_id = len(self.links) + 1
        self.links.append([link_id, src.id, out_index, dst.id, in_index, out_type])
        src.outputs[out_index]["links"].append(link_id)
        dst.inputs[in_index]["link"] = link_id

    @staticmethod
    def _height(node: Node, info: dict) -> float:
        rows = max(len(node.inputs), len(node.outputs))
        height = 30 + 22 * rows + 26 * len(node.widgets_values)
        multiline = sum(
            1 for _, kind, opts, _ in input_specs(info) if kind == "STRING" and opts.get("multiline")
        )
        height += 80 * multiline
        if node.type == "LoadImage":
            height += 280
        return height

    def order(self) -> dict[int, int]:
        """Execution order (topological, stable by id), as the frontend stores it in `order`."""
        deps = {n.id: {link[1] for link in self.links if link[3] == n.id} for n in self.nodes}
        done: dict[int, int] = {}
        while len(done) < len(self.nodes):
            ready = [nid for nid in sorted(deps) if nid not in done and deps[nid] <= done.keys()]
            if not ready:
                raise SchemaError("the graph has a cycle")
            for nid in ready:
                done[nid] = len(done)
        return done

    def to_json(self, name: str) -> dict:
        order = self.order()
        nodes = []
        for n in self.nodes:
            entry = {
                "id": n.id,
                "type": n.type,
                "pos": list(n.pos),
                "size": list(n.size),
                "flags": {},
                "order": order[n.id],
                "mode": 0,
                "inputs": n.inputs,
                "outputs": n.outputs,
                "properties": ({"Node name for S&R": n.type} if n.type not in FRONTEND_ONLY else {})
                | n.properties,
                "widgets_values": n.widgets_values,
            }
            if n.title:
                entry["title"] = n.title
            entry.update(n.extra)
            nodes.append(entry)
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"flux-sculptor/workflows/{name}")),
            "revision": 0,
            "last_node_id": len(self.nodes),
            "last_link_id": len(self.links),
            "nodes": nodes,
            "links": self.links,
            "groups": self.groups,
            "config": {},
            "extra": {
                "ds": {"scale": 0.6, "offset": [40, 60]},
                "flux_sculptor": {"generated_by": "scripts/build_workflows.py"},
            },
            "version": 0.4,
        }


def dumps(workflow: dict) -> str:
    return json.dumps(workflow, indent=1, ensure_ascii=False) + "\n"
