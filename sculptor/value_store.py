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
from .value_codec import QMAX, decode, encode, is_quantized, scale_bytes

STORE_MODES = ("auto", "cpu", "device", "recompute")
StoreMode = Literal["cpu", "device", "recompute"]
"""Where a ValueStore keeps values; the node option "auto" picks one of them (sculptor.memory_plan)."""
STORE_DTYPES = {
    "auto": None,
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    **{str(d).removeprefix("torch."): d for d in QMAX},
}


def value_bytes(
    calls: int, blocks: int, batch: int, heads: int, image_tokens: int, head_dim: int, dtype: torch.dtype
) -> int:
    """Bytes of a complete store: calls x blocks x B x heads x N_img x head_dim x element size, plus one
    scale per head_dim values for the 8-bit dtypes (sculptor.value_codec)."""
    element = torch.empty((), dtype=dtype).element_size()
    if is_quantized(dtype):
        element += scale_bytes(head_dim)
    return round(calls * blocks * batch * heads * image_tokens * head_dim * element)


def _nbytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


@dataclass
class ValueStore:
    """Recorded V_img per (call, block). `mode` says where tensors live: "cpu" (offloaded; pinned host
    memory and non-blocking copies when the model runs on a GPU), "device" (where the model runs),
    "recompute" (nothing stored: the editor recomputes V_source in the same batch as the edit).
    `dtype` None keeps the model's dtype; int8 / float8_e4m3fn store per-token scaled 8-bit values
    (sculptor.value_codec) and decode them on read."""

    blocks: tuple[int, ...]
    mode: StoreMode = "cpu"
    dtype: torch.dtype | None = None
    _values: dict[tuple[CallKey, int], Tensor] = field(default_factory=dict, repr=False)
    _scales: dict[tuple[CallKey, int], Tensor] = field(default_factory=dict, repr=False)
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
        if is_quantized(self.dtype):
            v_img, scale = encode(v_img, self.dtype)
            self._scales[(key, block)] = self._copy(scale, scale.dtype)
        self._values[(key, block)] = self._copy(v_img, self.dtype or v_img.dtype)

    def _copy(self, t: Tensor, dtype: torch.dtype) -> Tensor:
        if self.mode == "cpu" and t.device.type == "cuda":
            stored = torch.empty(t.shape, dtype=dtype, pin_memory=True)
            stored.copy_(t, non_blocking=True)  # ordered on the stream; finish() before host reads
            self._pending = True
            return stored
        return t.to(dtype=dtype, copy=True)

    def finish(self) -> None:
        """Wait for pending non-blocking device -> host copies (call once after the recording run)."""
        if self._pending:
            torch.cuda.synchronize()
            self._pending = False

    def get(self, key: CallKey, block: int, like: Tensor) -> Tensor:
        """V_img recorded at (key, block), on like's device and dtype, in one (non-blocking) copy; the
        stored tensor itself when it already matches. KeyError if it was never recorded."""
        stored = self.stored(key, block)
        if (key, block) in self._scales:
            scale = self._scales[(key, block)].to(device=like.device, non_blocking=True)
            return decode(stored.to(device=like.device, non_blocking=True), scale, like.dtype)
        return stored.to(device=like.device, dtype=like.dtype, non_blocking=True)

    def stored(self, key: CallKey, block: int) -> Tensor:
        """The tensor recorded at (key, block) as it is stored (store device and dtype; 8-bit dtypes:
        without their scale, see `scale`)."""
        return self._values[(key, block)]

    def scale(self, key: CallKey, block: int) -> Tensor | None:
        """The per-token scale [B, heads, N_img, 1] of an 8-bit entry, None for other dtypes."""
        return self._scales.get((key, block))

    def put_stored(self, key: CallKey, block: int, stored: Tensor, scale: Tensor | None = None) -> None:
        """Put back an entry as `stored` / `scale` returned it (loading a saved inversion)."""
        self._values[(key, block)] = stored
        if scale is not None:
            self._scales[(key, block)] = scale

    def has(self, key: CallKey, block: int) -> bool:
        return (key, block) in self._values

    def keys(self) -> list[tuple[CallKey, int]]:
        return list(self._values)

    @property
    def nbytes(self) -> int:
        return _nbytes(self._values.values()) + _nbytes(self._scales.values())

    def device_nbytes(self) -> int:
        """Bytes held on an accelerator (0 when offloaded or on a CPU-only machine)."""
        held = [*self._values.values(), *self._scales.values()]
        return _nbytes(t for t in held if t.device.type != "cpu")


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
        """V_img [B, heads, N_img, head_dim] of (key, block) like `like`. ValueError if never recorded."""
        if not self.store.has(key, block):
            raise ValueError(
                f"This inversion recorded no values for model call {key} (block {block}): it "
                "was made with a later record_from_step than this edit's first value-fusion "
                "step. Set the inversion's record_from_step <= the sampler's structure_steps "
                "(0 for fusion = value), or use store = recompute."
            )
        if key != self._key:
            self._call = {}  # drop the previous call's copies before making this call's
            blocks = [b for b in self.store.blocks if self.store.has(key, b)]
            self._call = {b: self.store.get(key, b, like) for b in blocks}
            self._key = key
            self.peak_nbytes = max(self.peak_nbytes, _nbytes(self._call.values()))
        return self._call[block]
