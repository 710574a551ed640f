"""A MODEL fingerprint for saved inversions: cheap (no full hash of 12B weights) and stable across
sessions (unlike ModelPatcher.patches_uuid, which is random per load).

sha256 over: the model class; every parameter's name, shape and dtype; SAMPLED_TENSORS parameters picked
evenly through the state dict, SAMPLED_VALUES values each at evenly spaced flat positions; and the patch
set (LoRAs): each patched key with its strengths and SAMPLED_VALUES values of each patch tensor. Values
are read from the unpatched weights (ModelPatcher.backup while a LoRA is merged in), so it does not
depend on whether the model is loaded. A different checkpoint, weight dtype (bf16 vs fp8) or LoRA changes
it; the same files loaded again do not.
"""

from __future__ import annotations

import hashlib

import torch
from torch import Tensor

SAMPLED_TENSORS = 16
SAMPLED_VALUES = 16


def model_fingerprint(model) -> str:
    """16 hex digits identifying MODEL's diffusion weights and patches (see the module docstring)."""
    digest = hashlib.sha256(type(model.model).__name__.encode())
    params = list(model.model.diffusion_model.state_dict().items())
    for name, tensor in params:
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype};".encode())
    stride = max(len(params) // SAMPLED_TENSORS, 1)
    backup = getattr(model, "backup", {})
    for name, tensor in params[::stride][:SAMPLED_TENSORS]:
        original = backup.get(f"diffusion_model.{name}")  # LoRAs are merged in place while loaded
        digest.update(_sample(tensor if original is None else original.weight))
    for key in sorted(model.patches):
        for patch in model.patches[key]:
            digest.update(f"{key}:{patch[0]}:{patch[2]};".encode())
            for tensor in _tensors(patch[1]):
                digest.update(_sample(tensor))
    return digest.hexdigest()[:16]


def _sample(tensor: Tensor) -> bytes:
    """SAMPLED_VALUES values of `tensor` at evenly spaced flat positions, as float32 bytes."""
    flat = tensor.detach().reshape(-1)
    if flat.numel() == 0:
        return b""
    index = torch.linspace(0, flat.numel() - 1, SAMPLED_VALUES).long().to(flat.device)
    return flat[index].float().cpu().numpy().tobytes()


def _tensors(value, depth: int = 0) -> list[Tensor]:
    """The tensors inside a patch value (a tensor, a tuple/list, or an adapter with `.weights`)."""
    if isinstance(value, Tensor):
        return [value]
    if depth > 3:
        return []
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item, depth + 1)]
    weights = getattr(value, "weights", None)
    return _tensors(weights, depth + 1) if weights is not None else []
