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


def value_bytes(
    calls: int, blocks: int, batch: int, heads: int, image_tokens: int, head_dim: int, dtype: torch.dtype
) -> int:
    """Bytes of a complete store: calls x blocks x B x heads x N_img x head_dim x element size."""
    element = torch.empty((), dtype=dtype).element_size()
    return calls * blocks * batch * heads * image_tokens * head_dim * element


def _nbytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


@dataclass
class ValueStore:
    """Recorded V_img per (call, block). `mode` says where tensors live: "cpu" (offloaded; pinned host
    memory and non-blocking copies when the model runs on a GPU), "device" (where the model runs),
    "recompute" (nothing stored: the editor recomputes V_source in the same batch as the edit).
    `dtype` None keeps the model's dtype."""

    blocks: tuple[int, ...]
    mode: StoreMode = "cpu"
    dtype: torch.dtype | None = None
    _values: dict[tuple[CallKey, int], Tensor] = field(default_factory=dict, repr=False)
    _pending: bool = field(default=False, repr=False)

    @property
    def recompute(self) -> bool:
        """True for store mode "recompute": nothing is stored, the editor recomputes V_source."""
        return self.mode == "recompute"

    def keep(self, latent: Tensor) -> Tensor:
        """Where the inversion keeps a latent it visited: on the model's device in mode "device", else on
        the CPU."""
        return latent if self.mode == "device" else latent.to("cpu")

    def put(self, key: CallKey, block: int, v_img: Tensor) -> None:
        """Record V_img [B, heads, N_img, head_dim] of `block` in call `key` (one detached copy)."""
        if self.recompute:
            return
        v_img = v_img.detach()
        dtype = self.dtype or v_img.dtype
        if self.mode == "cpu" and v_img.device.type == "cuda":
            stored = torch.empty(v_img.shape, dtype=dtype, pin_memory=True)
            stored.copy_(v_img, non_blocking=True)  # ordered on the stream; finish() before host reads
            self._pending = True
        else:
            stored = v_img.to(dtype=dtype, copy=True)
        self._values[(key, block)] = stored

    def finish(self) -> None:
        """Wait for pending non-blocking device -> host copies (call once after the recording run)."""
        if self._pending:
            torch.cuda.synchronize()
            self._pending = False

    def get(self, key: CallKey, block: int, like: Tensor) -> Tensor:
        """V_img recorded at (key, block), on like's device and dtype, in one (non-blocking) copy; the
        stored tensor itself when it already matches. KeyError if it was never recorded."""
        return self.stored(key, block).to(device=like.device, dtype=like.dtype, non_blocking=True)

    def stored(self, key: CallKey, block: int) -> Tensor:
        """The tensor recorded at (key, block) as it is stored (store device and dtype)."""
        return self._values[(key, block)]

    def has(self, key: CallKey, block: int) -> bool:
        return (key, block) in self._values

    def keys(self) -> list[tuple[CallKey, int]]:
        return list(self._values)

    @property
    def nbytes(self) -> int:
        return _nbytes(self._values.values())

    def device_nbytes(self) -> int:
        """Bytes held on an accelerator (0 when offloaded or on a CPU-only machine)."""
        return _nbytes(t for t in self._values.values() if t.device.type != "cpu")


class CallReader:
    """One editor's view of a shared ValueStore: the first read in a model call copies the values of all
    recorded blocks of that call to the model's device at once (non-blocking from pinned memory, so the
    copies overlap the first blocks' compute); the other blocks of the call read those copies. At most
    one call's values (blocks x B x heads x N_img x head_dim) live on the device; the store is not
    modified, so many editors can read one inversion."""

    def __init__(self, store: ValueStore):
        self.store = store
        self._key: CallKey | None = None
        self._call: dict[int, Tensor] = {}
        self.peak_nbytes = 0

    def get(self, key: CallKey, block: int, like: Tensor) -> Tensor:
        """V_img [B, heads, N_img, head_dim] of (key, block) like `like`. KeyError if never recorded."""
        if key != self._key:
            self._call = {}  # drop the previous call's copies before making this call's
            blocks = [b for b in self.store.blocks if self.store.has(key, b)]
            self._call = {b: self.store.get(key, b, like) for b in blocks}
            self._key = key
            self.peak_nbytes = max(self.peak_nbytes, _nbytes(self._call.values()))
        return self._call[block]
