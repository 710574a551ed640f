"""Nano edits through the pack's own nodes, in-process (for scripts/evaluate_edits.py).

The Nano weights load with nodes/nano.py's `load_nano` (what the Nano Loader node does); text goes through
ComfyUI's CLIPTextEncode, pixels through VAEEncode / VAEDecode, and inversion / editing through the
FluxSculptorInversion and FluxSculptorS2DECSampler nodes' `execute`, so the numbers are the nodes' numbers.
Images are float32 numpy [128,128,3] in 0..1; masks bool/float [128,128] (1 = edit).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import torch

from scripts.nano.comfy_env import load_pack


class NanoEditor:
    """One Nano MODEL/CLIP/VAE and the pack's nodes; settings as in the nano_demo_edit workflow."""

    def __init__(self, flux: Path, vae: Path, steps: int = 30, value_blocks: int = 2) -> None:
        pack = load_pack()
        module = lambda name: importlib.import_module(f"{pack.__name__}.{name}")  # noqa: E731
        self.model, self.clip, self.vae = module("nodes.nano").load_nano(flux, vae)
        self.inversion_node = module("nodes.inversion").FluxSculptorInversion
        self.sampler_node = module("nodes.s2dec").FluxSculptorS2DECSampler
        self.pasl_module = module("nodes.pasl")
        self.steps, self.value_blocks = steps, value_blocks
        self._conds: dict[str, list] = {}

    def cond(self, text: str) -> list:
        import nodes

        if text not in self._conds:
            self._conds[text] = nodes.CLIPTextEncode().encode(self.clip, text)[0]
        return self._conds[text]

    def encode(self, image: np.ndarray) -> dict:
        import nodes

        return nodes.VAEEncode().encode(self.vae, torch.from_numpy(image[None].astype(np.float32)))[0]

    def decode(self, latent: dict) -> np.ndarray:
        import nodes

        return nodes.VAEDecode().decode(self.vae, latent)[0][0].detach().float().numpy()

    def invert(self, latent: dict, prompt: str):
        """The Inversion node (guidance 1, values of every step recorded, store cpu) -> Inversion."""
        return self.inversion_node.execute(
            model=self.model,
            latent=latent,
            conditioning=self.cond(prompt),
            steps=self.steps,
            guidance=1.0,
            value_blocks=self.value_blocks,
            store="cpu",
        ).result[0]

    def edit(
        self,
        inversion,
        prompt: str,
        mask: np.ndarray | None,
        fusion: str,
        structure_steps: int,
        guidance: float,
    ) -> np.ndarray:
        """The S2D-EC Sampler node from the inversion's noise -> decoded image [128,128,3]."""
        out = self.sampler_node.execute(
            model=self.model,
            inversion=inversion,
            conditioning=self.cond(prompt),
            structure_steps=structure_steps,
            guidance=guidance,
            fusion=fusion,
            source_path="inversion",
            mask=None if mask is None else torch.from_numpy(np.asarray(mask, np.float32)[None]),
        ).result[0]
        return self.decode(out)

    def pasl(self, image: np.ndarray, prompt: str) -> np.ndarray:
        """The PASL Mask node (shipped weights, faces = whole image) on one face -> mask [128,128] 0..1."""
        node = self.pasl_module
        out = node.FluxSculptorPASLMask.execute(
            image=torch.from_numpy(image[None].astype(np.float32)),
            prompt=prompt,
            weights=node.DEFAULT_WEIGHTS,
            faces="whole image",
        )
        return out.result[0][0].float().numpy()
