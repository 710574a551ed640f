"""ComfyUI adapters for Flux: record or fuse image-token V through official hooks only.

Two hooks, installed on a ModelPatcher CLONE and chained with whatever was there before:
- patches_replace["dit"][("single_block", i)]: marks which single block runs (portable: works on builds
  that do not set transformer_options["block_index"]), then calls the previous patch or original_block;
- transformer_options["optimized_attention_override"]: sees q, k, v [B, heads, L_txt + L_img, head_dim]
  of every attention call (RoPE touches q and k only) and, inside a marked block, records or replaces the
  image-token rows of v before calling the previous override or the real attention.
State lives on the hook object (newer ComfyUI copies transformer_options per forward).

Which calls record is decided in nodes/recording.py, which calls fuse in nodes/editing_runs.py; store
mode "recompute" adds a third hook (nodes/recompute.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor

from ..sculptor.fusion import fuse_values
from ..sculptor.solver import CallKey
from ..sculptor.value_store import ValueStore

Action = Literal["off", "record", "fuse"]
Schedule = Callable[[CallKey], Action]
"""schedule(key) -> what the hook does in model call `key`."""
SourceValues = Callable[[CallKey, int, Tensor], Tensor]
"""(key, block, v_img_edit) -> V_img of the source at the same call and block."""


def _tensor(x: Any) -> Tensor:
    """Newer ComfyUI may pass attention inputs in containers; unwrap them."""
    return x if isinstance(x, Tensor) else x.take()


@dataclass
class ValueHook:
    """Records (inversion) or fuses (S2D-EC detail stage) V_img in the single blocks `blocks`.

    image_tokens: N_img, the number of trailing image tokens (reference-latent tokens are refused upstream).
    schedule: the action of each model call, set by `begin`.
    recompute: V_source comes from the source rows of the batch (store mode "recompute"): source_chunks,
    set by SourceBranch for one model call, flags the batch chunks [B rows each] that are the source;
    their V_img is kept per block until the call key changes, and fused into the other chunks.
    observers: callables(action, key, block, v_before, v_after) for diagnostics and tests (v [B*, heads,
    L_txt + L_img, head_dim], all rows of the attention call).
    """

    blocks: frozenset[int]
    image_tokens: int
    schedule: Schedule
    store: ValueStore | None = None
    source_values: SourceValues | None = None
    token_mask: Tensor | None = None
    action: Action = "off"
    key: CallKey | None = None
    block: int | None = None
    observers: list[Callable[..., None]] = field(default_factory=list)
    recompute: bool = False
    source_chunks: list[bool] | None = None
    _recomputed: dict[int, Tensor] = field(default_factory=dict, repr=False)

    def begin(self, key: CallKey) -> None:
        """Called before every model call: which call this is, its action (and a fresh recomputed-V_source
        cache)."""
        if key != self.key:
            self._recomputed = {}
        self.key = key
        self.action = self.schedule(key)

    def install(self, patcher) -> None:
        """Add the block markers and the attention override to `patcher` (a clone), chaining old ones."""
        options = patcher.model_options.setdefault("transformer_options", {})
        replaced = options.get("patches_replace", {}).get("dit", {})
        for index in sorted(self.blocks):
            previous = replaced.get(("single_block", index))
            patcher.set_model_patch_replace(
                functools.partial(self._run_block, index, previous), "dit", "single_block", index
            )
        options = patcher.model_options["transformer_options"]
        previous_override = options.get("optimized_attention_override")
        options["optimized_attention_override"] = functools.partial(self._attention, previous_override)

    def _run_block(self, index: int, previous: Callable | None, args: dict, extra: dict) -> dict:
        self.block = index
        try:
            return previous(args, extra) if previous is not None else extra["original_block"](args)
        finally:
            self.block = None

    def _attention(self, previous: Callable | None, func: Callable, *args, **kwargs):
        if self.block is not None and self.action != "off":
            args, kwargs = self._with_values(args, kwargs)
        if previous is not None:
            return previous(func, *args, **kwargs)
        return func(*args, **kwargs)

    def _with_values(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        in_kwargs = "v" in kwargs
        v = _tensor(kwargs["v"] if in_kwargs else args[2])
        n_img = self.image_tokens
        v_img = v[:, :, -n_img:]
        if self.action == "record":
            self.store.put(self.key, self.block, v_img)
            new_v = v
        else:
            new_v = torch.cat((v[:, :, :-n_img], self._fused(v_img)), dim=2)
        for observe in self.observers:
            observe(self.action, self.key, self.block, v, new_v)
        if in_kwargs:
            return args, {**kwargs, "v": new_v}
        return (*args[:2], new_v, *args[3:]), kwargs

    def _fused(self, v_img: Tensor) -> Tensor:
        """Eq. 15-16 on every edit chunk of V_img [B*, heads, N_img, head_dim]; source chunks unchanged."""
        chunks = self.source_chunks or [False]
        parts = v_img.split(v_img.shape[0] // len(chunks))
        for part, is_source in zip(parts, chunks, strict=True):
            if is_source:
                self._recomputed[self.block] = part
        out = []
        for part, is_source in zip(parts, chunks, strict=True):
            if not is_source:
                part = fuse_values(part, self._source(part), self.token_mask.to(part.device))  # eq. 15-16
            out.append(part)
        return torch.cat(out)

    def _source(self, v_edit: Tensor) -> Tensor:
        if not self.recompute:
            return self.source_values(self.key, self.block, v_edit)
        if self.block not in self._recomputed:
            raise RuntimeError(
                f"No source rows ran before the edit rows in call {self.key}, block "
                f"{self.block}: another node changed how ComfyUI batches cond/uncond. Use "
                "store = cpu or device for this inversion."
            )
        return self._recomputed[self.block]


def last_single_blocks(diffusion_model: torch.nn.Module, m: int) -> frozenset[int]:
    """Indices of the last m single-stream blocks (FLUX.1-dev has 38: m=18 gives 20..37)."""
    n = len(diffusion_model.single_blocks)
    return frozenset(range(n - m, n))
