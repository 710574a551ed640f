"""Flux-Sculptor Nano loader: the pack's small face Flux as ComfyUI's own MODEL, CLIP and VAE.

MODEL: a `comfy.model_patcher.ModelPatcher` around `comfy.supported_models.Flux` (sculptor.nano.NANO_FLUX),
so the inversion and S2D-EC nodes run on it unchanged. CLIP: a real `comfy.sd.CLIP` whose text model is
all-MiniLM-L6-v2 (conditioning [1,24,384], pooled [1,384]), so CLIPTextEncode / FluxGuidance work.
VAE: a real `comfy.sd.VAE` from a TAESD-format file (16 channels, /8; 128x128 portraits are native).
"""

from __future__ import annotations

import dataclasses
import json
from functools import lru_cache
from pathlib import Path

import comfy.ldm.flux.model
import comfy.model_management
import comfy.model_patcher
import comfy.sd
import comfy.supported_models
import torch
from comfy_api.latest import io
from safetensors import safe_open
from safetensors.torch import load_file

from ..sculptor.nano import NANO_FLUX, nano_text_features
from ..sculptor.text_features import _minilm
from . import make_schema

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "nano_weights"
FLUX_FILE, VAE_FILE = "nano_flux.safetensors", "nano_taesd.safetensors"


class NanoTokenizer:
    """ComfyUI tokenizer interface; MiniLM tokenizes inside the text model, so tokens are the text."""

    def __init__(self, embedding_directory=None, tokenizer_data: dict | None = None) -> None:
        pass

    def tokenize_with_weights(self, text: str, return_word_ids: bool = False, **kwargs) -> dict:
        return {"minilm": text}

    def untokenize(self, token_weight_pair):
        return token_weight_pair

    def state_dict(self) -> dict:
        return {}


class NanoTextModel(torch.nn.Module):
    """ComfyUI text-model interface around MiniLM: tokens -> (cond [1,24,384], pooled [1,384])."""

    def __init__(self, dtype=None, device=None, model_options: dict | None = None) -> None:
        super().__init__()
        self.minilm = _minilm()[1]
        self.dtypes = {torch.float32}

    def reset_clip_options(self) -> None:
        pass

    def set_clip_options(self, options: dict) -> None:
        pass

    def encode_token_weights(self, tokens: dict) -> tuple[torch.Tensor, torch.Tensor]:
        cond, pooled = nano_text_features([tokens["minilm"]])
        device = comfy.model_management.intermediate_device()
        return cond.to(device), pooled.to(device)

    def load_sd(self, sd: dict) -> None:
        pass


class _ClipTarget:
    params: dict = {}
    clip = NanoTextModel
    tokenizer = NanoTokenizer


def build_clip() -> comfy.sd.CLIP:
    return comfy.sd.CLIP(target=_ClipTarget())


def build_model(path: Path) -> comfy.model_patcher.ModelPatcher:
    """Nano's Flux weights (diffusion-model state dict, any float dtype) -> float32 ModelPatcher on CPU."""
    with safe_open(str(path), framework="pt") as f:
        config = json.loads((f.metadata() or {}).get("config", "null")) or NANO_FLUX
    known = {f.name for f in dataclasses.fields(comfy.ldm.flux.model.FluxParams)}
    unet = {"image_model": "flux", **{k: v for k, v in config.items() if k in known}}
    if "txt_ids_dims" in known:
        unet.setdefault("txt_ids_dims", [])
    model_config = comfy.supported_models.Flux(unet)
    model_config.set_inference_dtype(torch.float32, None)
    device = comfy.model_management.get_torch_device()
    model = model_config.get_model({}, device=torch.device("cpu"))
    state = rename_norm_keys(
        {k: v.float() for k, v in load_file(str(path)).items()}, model.diffusion_model.state_dict().keys()
    )
    missing, unexpected = model.diffusion_model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"{path} is not a Nano Flux state dict (missing {missing[:3]}, unexpected "
            f"{unexpected[:3]}): export it with `python -m scripts.nano.train_flux --export`"
        )
    model.diffusion_model.requires_grad_(False)
    return comfy.model_patcher.ModelPatcher(
        model, load_device=device, offload_device=comfy.model_management.unet_offload_device()
    )


def rename_norm_keys(state: dict, wanted) -> dict:
    """The QK-norm scales are `*.scale` in ComfyUI's Flux up to 0.3.x and `*.weight` later (0.33 names
    them like torch's RMSNorm): rename a file's keys to this ComfyUI's names, in either direction."""
    wanted, out = set(wanted), {}
    for key, value in state.items():
        stem, _, leaf = key.rpartition(".")
        other = f"{stem}.{'weight' if leaf == 'scale' else 'scale'}" if leaf in ("scale", "weight") else key
        out[other if key not in wanted and other in wanted else key] = value
    return out


def load_nano(flux_path: Path, vae_path: Path) -> tuple:
    """(MODEL, CLIP, VAE) from Nano's two weight files."""
    for path, how in (
        (flux_path, "python -m scripts.nano.train_flux --export"),
        (vae_path, "python -m scripts.nano.train_ae --export"),
    ):
        if not path.is_file():
            raise ValueError(
                f"Nano weights {path} are missing: reinstall the pack, or train and export them ({how})"
            )
    vae = comfy.sd.VAE(sd=load_file(str(vae_path)))
    vae.throw_exception_if_invalid()
    return build_model(flux_path), build_clip(), vae


@lru_cache(maxsize=1)
def _shipped(flux_mtime: int, vae_mtime: int) -> tuple:
    return load_nano(WEIGHTS_DIR / FLUX_FILE, WEIGHTS_DIR / VAE_FILE)


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns if path.is_file() else 0


class FluxSculptorNanoLoader(io.ComfyNode):
    """Loads Flux-Sculptor Nano, a small face Flux trained by the pack, as MODEL, CLIP and VAE."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            node_id="FluxSculptorNanoLoader",
            display_name="Flux-Sculptor Nano Loader",
            category="Flux-Sculptor/Nano",
            description=(
                "Flux-Sculptor Nano: a small text-conditioned face model that is a real ComfyUI Flux "
                "(128x128 portraits, MiniLM text encoder, TAESD-format VAE), shipped with the pack so the "
                "editing workflows run on CPU with no download. Trained on CelebA faces: research, "
                "non-commercial use only (see nano_weights/README.md)."
            ),
            search_aliases=["nano", "small flux", "tiny flux", "demo model", "cpu flux"],
            inputs=[],
            outputs=[
                io.Model.Output(
                    "model",
                    display_name="MODEL",
                    tooltip="Nano's Flux diffusion model (a real Flux ModelPatcher).",
                ),
                io.Clip.Output(
                    "clip",
                    display_name="CLIP",
                    tooltip="MiniLM text encoder as a ComfyUI CLIP (use CLIPTextEncode).",
                ),
                io.Vae.Output(
                    "vae", display_name="VAE", tooltip="TAESD-format VAE: 128x128 image <-> 16x16x16 latent."
                ),
            ],
        )

    @classmethod
    def execute(cls) -> io.NodeOutput:
        model, clip, vae = _shipped(_mtime(WEIGHTS_DIR / FLUX_FILE), _mtime(WEIGHTS_DIR / VAE_FILE))
        return io.NodeOutput(model.clone(), clip.clone(), vae)


NODES = [FluxSculptorNanoLoader]
