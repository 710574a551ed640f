"""Metadata of the pack's safetensors files (PASL and face-locator weights, saved inversions): reading it
with one error for any file that is not safetensors, and model configs stored in it as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import TypeVar

from safetensors import SafetensorError, safe_open

C = TypeVar("C", bound="JsonConfig")


def safetensors_metadata(path: Path, name: str, advice: str) -> dict[str, str]:
    """The metadata of the safetensors file at `path` ({} when it has none); anything unreadable raises
    ValueError "<name> is not a readable safetensors file (<reason>); <advice>"."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(f"{name} is not a readable safetensors file ({err}); {advice}") from err


class JsonConfig:
    """Base of a frozen config dataclass kept as JSON in a weights file's metadata: keys this version does
    not know are ignored and JSON lists come back as tuples."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls: type[C], text: str) -> C:
        raw = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k in known})
