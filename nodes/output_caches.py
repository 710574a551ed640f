"""Output caches are refused (issue 14): EasyCache and LazyCache (ComfyUI core), TeaCache, First Block Cache
and any other patch that skips Flux's blocks and returns a reused output.

An inversion needs every model call exactly (its round trip is the identity only then), and the editor reads
the values recorded in every call; a cache that skips a call makes both silently wrong. We refuse rather than
switch caches off on our clone: only the core nodes announce themselves (transformer_options["easycache"]);
other packs wrap under any key or replace forward functions, so no code can remove them reliably, but a
missing block run shows that they skipped. The error names the node to bypass, and the user keeps the cache
on the samplers it suits.

Two checks: `check_no_output_cache` before a run (known markers), `BlockWitness` during it (a model call in
which Flux's last single block did not run returned a cached output, whoever installed the cache).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..sculptor.solver import CallKey, Velocity

BYPASS = (
    "Bypass it for the Flux-Sculptor nodes: connect their MODEL input to the MODEL from before the cache "
    "node (the cache can stay on other samplers)."
)


def cache_markers(model) -> list[str]:
    """Names of output caches found on a MODEL (ModelPatcher): the core EasyCache/LazyCache holder, wrappers
    registered under a key that names a cache, a model_function_wrapper that names one."""
    options = model.model_options.get("transformer_options", {})
    holder = options.get("easycache")
    found = [] if holder is None else [f"the {getattr(holder, 'name', 'EasyCache')} node"]
    core = {"easycache", "lazycache"} if holder is not None else set()  # that node's own keys
    for wrappers in (getattr(model, "wrappers", {}), options.get("wrappers", {})):
        for kind, keyed in wrappers.items():
            found += [
                f"a {kind} wrapper '{key}'" for key in keyed if "cache" in key.lower() and key not in core
            ]
    found += [f"transformer option '{key}'" for key in options if "cache" in key.lower() and key not in core]
    wrapper = model.model_options.get("model_function_wrapper")
    name = f"{getattr(wrapper, '__module__', '')}.{getattr(wrapper, '__qualname__', type(wrapper).__name__)}"
    if wrapper is not None and "cache" in name.lower():
        found.append(f"the model function wrapper {name}")
    return found


def check_no_output_cache(model) -> None:
    """Raise ValueError if MODEL carries a known output cache (EasyCache, LazyCache, TeaCache, ...)."""
    found = cache_markers(model)
    if found:
        raise ValueError(
            f"This MODEL goes through an output cache ({', '.join(found)}), which skips model calls and "
            f"reuses earlier outputs; the inversion and the S2D-EC edit need every call exactly. {BYPASS}"
        )


@dataclass
class BlockWitness:
    """Counts runs of single block `block` (Flux's last) through a chained block-replace patch; `watch`
    checks that each model call of a loop ran it."""

    block: int
    runs: int = 0

    def install(self, patcher) -> None:
        """Add the counting patch to `patcher` (our clone), chaining a patch already on that block."""
        replaced = patcher.model_options.get("transformer_options", {}).get("patches_replace", {})
        previous = replaced.get("dit", {}).get(("single_block", self.block))

        def count(args: dict, extra: dict) -> dict:
            self.runs += 1
            return previous(args, extra) if previous is not None else extra["original_block"](args)

        patcher.set_model_patch_replace(count, "dit", "single_block", self.block)

    def watch(self, loop: Callable) -> Callable:
        """loop(velocity, x, progress) whose velocity raises ValueError after a call that skipped the
        block."""

        def watched(velocity: Velocity, x, progress):
            def checked(x, sigma: float, key: CallKey):
                before = self.runs
                v = velocity(x, sigma, key)
                if self.runs == before:
                    raise ValueError(
                        f"Model call {key} (sigma {sigma:.4g}) returned without running Flux's blocks: "
                        "a cache on this MODEL (EasyCache, LazyCache, TeaCache, First Block Cache or "
                        "similar) reused an earlier output, which would make the result silently wrong. "
                        + BYPASS
                    )
                return v

            return loop(checked, x, progress)

        return watched
