"""8-bit storage of recorded attention values V: per-token scaled int8 or float8 (issue 15).

A vector of head_dim values of one token and head is stored as q (int8 or float8_e4m3fn) times one scale
(bfloat16, the vector's absolute maximum / QMAX), so each value costs 1 byte + 2 / head_dim for its scale
(FLUX.1-dev, head_dim 128: 1.016 bytes instead of 2 in bfloat16). Plain torch, no comfy import.
"""

from __future__ import annotations

import torch
from torch import Tensor

SCALE_DTYPE = torch.bfloat16
QMAX: dict[torch.dtype, float] = {torch.int8: 127.0}
if hasattr(torch, "float8_e4m3fn"):
    QMAX[torch.float8_e4m3fn] = 448.0


def is_quantized(dtype: torch.dtype | None) -> bool:
    """True for the 8-bit store dtypes that need a per-token scale."""
    return dtype in QMAX


def scale_bytes(head_dim: int) -> float:
    """Bytes of scale per stored value (one SCALE_DTYPE scale per head_dim values)."""
    return torch.empty((), dtype=SCALE_DTYPE).element_size() / head_dim


def encode(v: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """V [..., head_dim] -> (q [..., head_dim] in `dtype`, scale [..., 1] in SCALE_DTYPE), v ~= q * scale."""
    x = v.float()
    qmax = QMAX[dtype]
    scale = (x.abs().amax(dim=-1, keepdim=True) / qmax).to(SCALE_DTYPE)
    x = x / scale.float().clamp_min(torch.finfo(torch.float32).tiny)
    if dtype == torch.int8:
        return x.round().clamp(-qmax, qmax).to(torch.int8), scale
    return x.clamp(-qmax, qmax).to(dtype), scale


def decode(q: Tensor, scale: Tensor, dtype: torch.dtype) -> Tensor:
    """(q [..., head_dim], scale [..., 1]) -> V [..., head_dim] in `dtype`."""
    return (q.float() * scale.float()).to(dtype)
