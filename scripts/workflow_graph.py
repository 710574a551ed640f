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

from scripts.workflow_schema import (
    FRONTEND_ONLY,
    WIDGET_TYPES,
    SchemaError,
    check_value,
    default_value,
    extra_widget_value,
    input_specs,
)

__all__ = ["Graph", "Node", "SchemaError", "dumps"]


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
    widgets: dict[str, str] = field(default_factory=dict)  # widget name -> type (INT, ...), schema order


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
        widgets: dict[str, Any] | None = None,
        **values: Any,
    ) -> Node:
        """A node of `node_type`, `width` px wide; widget values by input name (defaults from the schema
        for the rest), in `widgets` for names that clash with these arguments (e.g. ImageScale's width)."""
        values = {**(widgets or {}), **values}
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
            node.widgets[name] = kind
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
        """Connect src's output (name or index) to dst's input; the types must match. The input is a socket,
        or a widget (e.g. ImageCrop's INT x): that one becomes an input as the frontend converts it, an
        entry {"name", "type", "widget": {"name"}, "link"} after the sockets, its value kept in
        widgets_values (the frontend sends the link instead)."""
        out_index = (
            output
            if isinstance(output, int)
            else next((i for i, o in enumerate(src.outputs) if o["name"] == output), None)
        )
        if out_index is None or out_index >= len(src.outputs):
            raise SchemaError(f"{src.type} has no output {output!r}: {[o['name'] for o in src.outputs]}")
        out_type = src.outputs[out_index]["type"]
        in_index = next((i for i, s in enumerate(dst.inputs) if s["name"] == input_name), None)
        if in_index is None and input_name in dst.widgets:
            in_index = self._widget_input(src, out_type, dst, input_name)
        if in_index is None:
            raise SchemaError(
                f"{dst.type} has no input {input_name!r}: sockets {[s['name'] for s in dst.inputs]}, "
                f"widgets {list(dst.widgets)}"
            )
        in_type = dst.inputs[in_index]["type"]
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

    def _widget_input(self, src: Node, out_type: str, dst: Node, name: str) -> int:
        """Add widget `name` of dst as an input (after the sockets, in widget order); its index. Links into
        the inputs it moves down are renumbered."""
        kind = dst.widgets[name]
        if kind != out_type:
            raise SchemaError(f"{src.type} output ({out_type}) cannot feed {dst.type}.{name} ({kind})")
        order = list(dst.widgets)
        index = next(
            (
                i
                for i, s in enumerate(dst.inputs)
                if "widget" in s and order.index(s["widget"]["name"]) > order.index(name)
            ),
            len(dst.inputs),
        )
        dst.inputs.insert(index, {"name": name, "type": kind, "widget": {"name": name}, "link": None})
        for link in self.links:
            if link[3] == dst.id and link[4] >= index:
                link[4] += 1
        return index

    @staticmethod
    def _height(node: Node, info: dict) -> float:
        rows = max(len([s for s in node.inputs if "widget" not in s]), len(node.outputs))
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
