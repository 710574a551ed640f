"""Saved inversions (issue 15): one safetensors file per Inversion (no pickle anywhere).

Tensors: latents.{j} [B,16,h,w] (j = 0..N), midpoints.{j} (store mode "recompute"), source_samples,
noise_samples, values.{kind}.{index}.{block} [B,heads,N_img,head_dim] (+ scales.* for 8-bit stores),
conditioning.{i}.cond [1,L,D] and conditioning.{i}.{option} for tensor options (pooled_output).
Metadata (strings): format, version, model_fingerprint, steps, solver, value_blocks, size, store,
store_dtype, guidance, sigmas, record_from_step, conditioning (the JSON-able options of each entry).
Floats go through JSON's shortest round-trip repr, so the schedule and guidance come back bit for bit.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor

from .inversion import Inversion
from .safetensors_meta import safetensors_metadata
from .solver import CallKey
from .value_store import STORE_DTYPES, ValueStore

log = logging.getLogger("flux_sculptor")
FORMAT, VERSION = "flux_sculptor_inversion", "1"
SCALARS = (bool, int, float, str)


def save_inversion(path: Path, inv: Inversion, fingerprint: str) -> int:
    """Write `inv` to `path` (safetensors); returns the bytes of its tensors."""
    tensors = {f"latents.{j}": t for j, t in enumerate(inv.latents)}
    tensors |= {f"midpoints.{j}": t for j, t in enumerate(inv.midpoints)}
    tensors |= {"source_samples": inv.source_samples, "noise_samples": inv.noise_samples}
    for key, block in inv.store.keys():
        name = f"{key.kind}.{key.index}.{block}"
        tensors[f"values.{name}"] = inv.store.stored(key, block)
        scale = inv.store.scale(key, block)
        if scale is not None:
            tensors[f"scales.{name}"] = scale
    cond_tensors, cond_options = _conditioning_parts(inv.source_conditioning)
    tensors |= cond_tensors
    tensors = _separate({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()})
    dtype = inv.store.dtype
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "model_fingerprint": fingerprint,
        "steps": str(inv.steps),
        "solver": inv.solver,
        "value_blocks": json.dumps(sorted(inv.value_blocks)),
        "size": json.dumps(list(inv.source_samples.shape)),
        "store": inv.store.mode,
        "store_dtype": "model" if dtype is None else str(dtype).removeprefix("torch."),
        "guidance": json.dumps(inv.guidance),
        "sigmas": json.dumps(inv.sigmas),
        "record_from_step": str(inv.record_from_step),
        "conditioning": json.dumps(cond_options),
    }
    save_file(tensors, str(path), metadata=meta)
    return sum(t.numel() * t.element_size() for t in tensors.values())


def read_metadata(path: Path) -> dict[str, str]:
    """The file's metadata; ValueError if it is not a Flux-Sculptor inversion (or not safetensors)."""
    meta = safetensors_metadata(path, path.name, "pick a file saved by Flux-Sculptor Save Inversion.")
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{path.name} is a safetensors file but not a Flux-Sculptor inversion; pick a file "
            "saved by Flux-Sculptor Save Inversion."
        )
    if meta.get("version") != VERSION:
        raise ValueError(
            f"{path.name} has inversion format version {meta.get('version')}; this Flux-Sculptor "
            f"reads version {VERSION}: re-run the inversion and save it again."
        )
    return meta


def load_inversion(path: Path) -> tuple[Inversion, dict[str, str]]:
    """(Inversion, metadata) from a file written by save_inversion; tensors on the CPU. model_identity is
    the saved fingerprint (a str), checked against the MODEL by the editor."""
    meta = read_metadata(path)
    with safe_open(str(path), framework="pt") as f:
        tensors = {name: f.get_tensor(name) for name in f.keys()}
    steps = int(meta["steps"])
    blocks = json.loads(meta["value_blocks"])
    dtype = _store_dtype(meta["store_dtype"], path)
    store = ValueStore(tuple(blocks), "recompute" if meta["store"] == "recompute" else "cpu", dtype)
    for name, tensor in tensors.items():
        if name.startswith("values."):
            kind, index, block = name.split(".")[1:]
            store.put_stored(
                CallKey(kind, int(index)), int(block), tensor, tensors.get(f"scales.{kind}.{index}.{block}")
            )
    inv = Inversion(
        sigmas=json.loads(meta["sigmas"]),
        latents=[tensors[f"latents.{j}"] for j in range(steps + 1)],
        store=store,
        value_blocks=frozenset(blocks),
        solver=meta["solver"],
        guidance=json.loads(meta["guidance"]),
        model_identity=meta["model_fingerprint"],
        source_conditioning=_conditioning(tensors, json.loads(meta["conditioning"])),
        source_samples=tensors["source_samples"],
        noise_samples=tensors["noise_samples"],
        midpoints=[tensors[f"midpoints.{j}"] for j in range(steps) if f"midpoints.{j}" in tensors],
        record_from_step=int(meta["record_from_step"]),
    )
    return inv, meta


def _store_dtype(name: str, path: Path) -> torch.dtype | None:
    """The metadata's store dtype name -> dtype (None: the model's), only from STORE_DTYPES' names."""
    if name == "model":
        return None
    if name not in STORE_DTYPES or STORE_DTYPES[name] is None:
        raise ValueError(
            f"{path.name} names store dtype '{name}', which this Flux-Sculptor does not know; "
            "re-run the inversion and save it again."
        )
    return STORE_DTYPES[name]


def _conditioning_parts(conditioning: list) -> tuple[dict[str, Tensor], list[dict]]:
    """CONDITIONING [[cond, options], ...] -> (tensors, per entry: JSON-able options + tensor option names).
    Options of other types (hook objects of other packs) cannot be saved and are left out, with a warning."""
    tensors: dict[str, Tensor] = {}
    entries = []
    for i, (cond, options) in enumerate(conditioning):
        tensors[f"conditioning.{i}.cond"] = cond
        scalars, names, dropped = {}, [], []
        for name, value in options.items():
            if isinstance(value, Tensor):
                tensors[f"conditioning.{i}.{name}"] = value
                names.append(name)
            elif isinstance(value, SCALARS) or value is None:
                scalars[name] = value
            else:
                dropped.append(name)
        if dropped:
            log.warning(
                "Flux-Sculptor: the source conditioning's options %s are not saved with the inversion.",
                dropped,
            )
        entries.append({"scalars": scalars, "tensors": names})
    return tensors, entries


def _conditioning(tensors: dict[str, Tensor], entries: list[dict]) -> list:
    return [
        [
            tensors[f"conditioning.{i}.cond"],
            {**entry["scalars"], **{name: tensors[f"conditioning.{i}.{name}"] for name in entry["tensors"]}},
        ]
        for i, entry in enumerate(entries)
    ]


def _separate(tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """safetensors refuses tensors that share memory: copy the second and later users of one storage."""
    seen: set[int] = set()
    out = {}
    for name, tensor in tensors.items():
        ptr = tensor.untyped_storage().data_ptr()
        out[name] = tensor.clone() if ptr in seen else tensor
        seen.add(ptr)
    return out
