"""Nodes: Flux-Sculptor Save Inversion / Load Inversion (issue 15). Files: safetensors in ComfyUI's
output folder under flux_sculptor_inversions/ (plus any extra_model_paths.yaml entry for
`flux_sculptor_inversions`); format in sculptor/inversion_file.py, fingerprint in model_fingerprint.py."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import folder_paths
import torch
from comfy.model_patcher import ModelPatcher
from comfy_api.latest import io

from ..sculptor.inversion import Inversion
from ..sculptor.inversion_file import load_inversion, save_inversion
from . import make_schema
from .checks import check_same_model
from .comfy_sampling import flux_sigmas
from .inversion import InversionType
from .model_fingerprint import model_fingerprint

log = logging.getLogger("flux_sculptor")
FOLDER = "flux_sculptor_inversions"
SUFFIX = ".safetensors"
PREFIX_CHARS = re.compile(r"^[\w\-. /]+$")
LATENT_TOLERANCE = 1e-2
"""Largest relative difference |latent - saved| / |saved| accepted as the same source image (re-encoding on
another GPU differs slightly; another image differs by about 1)."""


def roots() -> list[Path]:
    """Where inversions live: output/flux_sculptor_inversions first (saving goes there), then extra paths."""
    extra = folder_paths.folder_names_and_paths.get(FOLDER, ([], set()))[0]
    return [Path(folder_paths.get_output_directory()) / FOLDER, *(Path(p) for p in extra)]


def saved_files() -> list[str]:
    """COMBO options: every .safetensors file under the roots, as a '/'-separated relative name."""
    names: list[str] = []
    for root in roots():
        if root.is_dir():
            names += sorted(p.relative_to(root).as_posix() for p in root.rglob(f"*{SUFFIX}") if p.is_file())
    return list(dict.fromkeys(names))


def resolve(name: str) -> Path:
    """A COMBO option -> its file, refusing anything outside the roots (absolute paths, '..')."""
    if name not in saved_files():
        raise ValueError(
            f"Saved inversion '{name}' is not among the files in ComfyUI's output/{FOLDER}: pick "
            "one from the list (refresh the page after saving)."
        )
    for root in roots():
        path = (root / name).resolve()
        if path.is_file() and path.is_relative_to(root.resolve()):
            return path
    raise ValueError(f"Saved inversion '{name}' lies outside output/{FOLDER}; pick a file from the list.")


def save_path(prefix: str) -> Path:
    """output/flux_sculptor_inversions/<prefix>_00001.safetensors (next free counter); ValueError for
    absolute prefixes, '..' or unusual characters."""
    parts = Path(prefix).parts
    if not prefix or not PREFIX_CHARS.match(prefix) or prefix.startswith("/") or ".." in parts:
        raise ValueError(
            f"filename_prefix '{prefix}' must be a relative name of letters, digits, '_', '-', "
            "'.', ' ' and '/' without '..', e.g. 'portraits/anna'."
        )
    root = roots()[0]
    root.mkdir(parents=True, exist_ok=True)
    folder, name, counter, _, _ = folder_paths.get_save_image_path(prefix, str(root))
    path = (Path(folder) / f"{name}_{counter:05}{SUFFIX}").resolve()
    if not path.is_relative_to(root.resolve()):
        raise ValueError(f"filename_prefix '{prefix}' points outside output/{FOLDER}; use a relative name.")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


SAVE_DESCRIPTION = (
    "Saves an inversion to ComfyUI's output/flux_sculptor_inversions as safetensors, with the MODEL's "
    "fingerprint, steps, solver, blocks, size, store mode and schedule, so later sessions edit the portrait "
    "without inverting it again. Inversions made with store = recompute are small (tens of MB at "
    "1024x1024) and recommended; the other modes also save every recorded value (GBs)."
)
LOAD_DESCRIPTION = (
    "Loads an inversion saved by Flux-Sculptor Save Inversion, for the S2D-EC Sampler. It is refused if "
    "the MODEL (weights, weight dtype, LoRAs) or the source latent differ from the saved ones."
)
TOOLTIPS = {
    "inversion": "From Flux-Sculptor RF-Solver Inversion.",
    "save_model": "The MODEL that made the inversion; its fingerprint is saved and checked when the file "
    "is loaded and edited.",
    "filename_prefix": "File name under output/flux_sculptor_inversions (subfolders with '/'); a counter "
    "is added.",
    "saved_file": "The saved file's name, as the Load Inversion list shows it.",
    "load_model": "The same MODEL (checkpoint, weight dtype, LoRAs) that made the inversion; checked "
    "against the saved fingerprint.",
    "file": "A file in ComfyUI's output/flux_sculptor_inversions.",
    "latent": "The source portrait's LATENT (VAEEncode); when connected it must match the saved one "
    "(shape, and values within 1%).",
    "loaded": "The saved inversion, for the S2D-EC sampler.",
    "noise": "The saved inverted noise latent.",
}


class FluxSculptorSaveInversion(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            node_id="FluxSculptorSaveInversion",
            display_name="Flux-Sculptor Save Inversion",
            category="Flux-Sculptor/Edit",
            search_aliases=["save inversion", "cache inversion", "store inversion"],
            description=SAVE_DESCRIPTION,
            is_output_node=True,
            inputs=[
                InversionType.Input("inversion", tooltip=TOOLTIPS["inversion"]),
                io.Model.Input("model", tooltip=TOOLTIPS["save_model"]),
                io.String.Input("filename_prefix", default="inversion", tooltip=TOOLTIPS["filename_prefix"]),
            ],
            outputs=[io.String.Output("file", display_name="file", tooltip=TOOLTIPS["saved_file"])],
        )

    @classmethod
    def execute(cls, inversion: Inversion, model: ModelPatcher, filename_prefix: str) -> io.NodeOutput:
        check_same_model(inversion.model_identity, model)
        path = save_path(filename_prefix)
        nbytes = save_inversion(path, inversion, model_fingerprint(model))
        log.info(
            "Flux-Sculptor: saved the inversion (store=%s, %.1f MiB) to %s",
            inversion.store.mode,
            nbytes / 2**20,
            path,
        )
        return io.NodeOutput(path.relative_to(roots()[0].resolve()).as_posix())


class FluxSculptorLoadInversion(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            node_id="FluxSculptorLoadInversion",
            display_name="Flux-Sculptor Load Inversion",
            category="Flux-Sculptor/Edit",
            search_aliases=["load inversion", "saved inversion"],
            description=LOAD_DESCRIPTION,
            inputs=[
                io.Model.Input("model", tooltip=TOOLTIPS["load_model"]),
                io.Combo.Input("file", options=saved_files(), tooltip=TOOLTIPS["file"]),
                io.Latent.Input("latent", optional=True, tooltip=TOOLTIPS["latent"]),
            ],
            outputs=[
                InversionType.Output("inversion", display_name="inversion", tooltip=TOOLTIPS["loaded"]),
                io.Latent.Output("noise", display_name="noise", tooltip=TOOLTIPS["noise"]),
            ],
        )

    @classmethod
    def execute(cls, model: ModelPatcher, file: str, latent: dict | None = None) -> io.NodeOutput:
        inversion, _ = load_inversion(resolve(file))
        check_same_model(inversion.model_identity, model)
        if flux_sigmas(model, inversion.steps).tolist() != inversion.sigmas:
            raise ValueError(
                f"{file} was made with another sigma schedule (a ModelSamplingFlux shift or "
                "another model sampling); use the same MODEL patches as when it was saved."
            )
        if latent is not None:
            check_same_latent(latent["samples"], inversion.source_samples, file)
        return io.NodeOutput(inversion, {"samples": inversion.noise_samples})


def check_same_latent(samples: torch.Tensor, saved: torch.Tensor, file: str) -> None:
    """Refuse a LATENT [B,16,h,w] that is not the saved inversion's source."""
    if tuple(samples.shape) != tuple(saved.shape):
        raise ValueError(
            f"{file} inverted a latent of shape {list(saved.shape)}, but the connected latent has "
            f"shape {list(samples.shape)}: connect the same portrait (same size) or another file."
        )
    diff = float((samples.float().cpu() - saved.float()).norm() / saved.float().norm().clamp_min(1e-12))
    if diff > LATENT_TOLERANCE:
        raise ValueError(
            f"The connected latent differs from the one {file} inverted (relative difference "
            f"{diff:.3f}): connect the same portrait, or pick the file saved for this one."
        )


NODES = [FluxSculptorSaveInversion, FluxSculptorLoadInversion]
