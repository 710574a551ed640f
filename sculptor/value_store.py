"""Storage of the image-token attention values V recorded during inversion (paper sec. 3.4, eq. 15-16).

One entry per (CallKey, block): V_img [B, heads, N_img, head_dim], the image-token rows of the value
tensor of one single-stream block in one model call. Text-token values are never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from .solver import CallKey

STORE_MODES = ("cpu", "device", "recompute")
StoreMode = Literal["cpu", "device", "recompute"]
STORE_DTYPES = {"auto": None, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def value_bytes(calls: int, blocks: int, batch: int, heads: int, image_tokens: int, head_dim: int,
                dtype: torch.dtype) -> int:
    """Bytes of a complete store: calls x blocks x B x heads x N_img x head_dim x element size."""
    return calls * blocks * batch * heads * image_tokens * head_dim * torch.empty((), dtype=dtype).element_size()


@dataclass
class ValueStore:
    """Recorded V_img per (call, block). `mode` says where tensors live: "cpu" (offloaded; pinned when a
    GPU exists), "device" (where the model runs), "recompute" (nothing stored: the editor recomputes V
    from the source branch). `dtype` None keeps the model's dtype."""

    blocks: tuple[int, ...]
    mode: StoreMode = "cpu"
    dtype: torch.dtype | None = None
    _values: dict[tuple[CallKey, int], Tensor] = field(default_factory=dict, repr=False)

    def put(self, key: CallKey, block: int, v_img: Tensor) -> None:
        """Record V_img [B, heads, N_img, head_dim] of `block` in call `key` (a detached copy)."""
        if self.mode == "recompute":
            return
        v_img = v_img.detach().to(dtype=self.dtype or v_img.dtype)
        if self.mode == "cpu":
            if v_img.is_cuda:
                host = torch.empty(v_img.shape, dtype=v_img.dtype, pin_memory=True)
                v_img = host.copy_(v_img, non_blocking=True)
            else:
                v_img = v_img.clone()
        else:
            v_img = v_img.clone()
        self._values[(key, block)] = v_img

    def get(self, key: CallKey, block: int, like: Tensor) -> Tensor:
        """V_img recorded at (key, block), on like's device and dtype. KeyError if it was never recorded."""
        stored = self._values[(key, block)]
        return stored.to(device=like.device, dtype=like.dtype, non_blocking=True)

    def has(self, key: CallKey, block: int) -> bool:
        return (key, block) in self._values

    def keys(self) -> list[tuple[CallKey, int]]:
        return list(self._values)

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self._values.values())

    def device_nbytes(self) -> int:
        """Bytes held on an accelerator (0 when offloaded or on a CPU-only machine)."""
        return sum(t.numel() * t.element_size() for t in self._values.values() if t.device.type != "cpu")

    def clear(self) -> None:
        self._values.clear()
