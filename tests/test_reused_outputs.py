"""Output caches on the MODEL (issue 14 item 4): ComfyUI's own EasyCache and LazyCache nodes and
TeaCache-style wrappers skip model calls and return reused outputs, which would make an inversion or a
fused edit silently wrong. Both editing nodes refuse them with an error naming what to bypass; patches that
run the model stay accepted."""

import pytest
import torch
from helpers import edit, half_mask, invert

FOUND = "goes through an output cache .*Bypass it for the Flux-Sculptor nodes"
SKIPPED = "returned without running Flux's blocks.*Bypass it for the Flux-Sculptor nodes"


@pytest.fixture(scope="module")
def setup(tiny_flux, tiny_cond, tiny_latent):
    return tiny_flux(seed=0, depth=1, depth_single=2), tiny_cond(0), tiny_cond(1), tiny_latent(0)


@pytest.fixture(scope="module")
def inversion(inv_node, setup):
    model, source, _, latent = setup
    return invert(inv_node, model, latent, source, steps=3, value_blocks=1)


class ReuseEveryOther:
    """A TeaCache-style output cache from another pack: every second model call returns the previous
    output instead of running the transformer (as a DIFFUSION_MODEL wrapper or a model function wrapper)."""

    def __init__(self):
        self.calls, self.last = 0, None

    def __call__(self, executor, *args, **kwargs):
        self.calls += 1
        if self.last is not None and self.calls % 2 == 0:
            return self.last
        if isinstance(args[0], dict):  # model_function_wrapper(apply_model, {"input", "timestep", "c", ...})
            self.last = executor(args[0]["input"], args[0]["timestep"], **args[0]["c"])
        else:
            self.last = executor(*args, **kwargs)
        return self.last


def core_cache(name: str):
    import comfy_extras.nodes_easycache as easycache

    node = {"EasyCache": easycache.EasyCacheNode, "LazyCache": easycache.LazyCacheNode}[name]
    return lambda model: node.execute(
        model, reuse_threshold=0.2, start_percent=0.0, end_percent=1.0, verbose=False
    ).result[0]


def wrapped(kind: str, key: str):
    import comfy.patcher_extension

    def apply(model):
        clone = model.clone()
        if kind == "model_function_wrapper":
            clone.set_model_unet_function_wrapper(ReuseEveryOther())
        else:
            clone.add_wrapper_with_key(
                getattr(comfy.patcher_extension.WrappersMP, kind), key, ReuseEveryOther()
            )
        return clone

    return apply


CACHES = {
    "EasyCache": (core_cache("EasyCache"), "the EasyCache node"),
    "LazyCache": (core_cache("LazyCache"), "the LazyCache node"),
    "teacache key": (wrapped("DIFFUSION_MODEL", "teacache"), "a diffusion_model wrapper 'teacache'"),
    "unnamed diffusion_model wrapper": (wrapped("DIFFUSION_MODEL", "speedup"), SKIPPED),
    "unnamed apply_model wrapper": (wrapped("APPLY_MODEL", "speedup"), SKIPPED),
    "unnamed model function wrapper": (wrapped("model_function_wrapper", ""), SKIPPED),
}


@pytest.mark.parametrize("name", list(CACHES))
def test_inversion_and_edit_refuse_output_caches(inv_node, s2d_node, setup, inversion, name):
    model, source, target, latent = setup
    add_cache, message = CACHES[name]
    message = message if message == SKIPPED else f"{FOUND.replace('.*', f'.*{message}.*', 1)}"
    with pytest.raises(ValueError, match=message):
        invert(inv_node, add_cache(model), latent, source, steps=3, value_blocks=1)
    with pytest.raises(ValueError, match=message):
        edit(s2d_node, add_cache(model), inversion, target, half_mask())
    with pytest.raises(ValueError, match=message):
        edit(s2d_node, add_cache(model), inversion, target, None, fusion="none")


def test_known_caches_are_named_in_the_error(inv_node, setup):
    model, source, _, latent = setup
    for name in ("EasyCache", "LazyCache"):
        with pytest.raises(ValueError, match=f"output cache \\(the {name} node\\)"):
            invert(inv_node, CACHES[name][0](model), latent, source, steps=3, value_blocks=1)


def test_wrappers_that_run_the_model_are_accepted(inv_node, s2d_node, setup, inversion):
    """No false alarm: another pack's pass-through wrappers at every level give the plain results."""
    import comfy.patcher_extension

    model, source, target, latent = setup
    seen = []

    def pass_through(executor, *args, **kwargs):
        seen.append(1)
        return executor(*args, **kwargs)

    patched = model.clone()
    for kind in ("OUTER_SAMPLE", "PREDICT_NOISE", "APPLY_MODEL", "DIFFUSION_MODEL"):
        patched.add_wrapper_with_key(
            getattr(comfy.patcher_extension.WrappersMP, kind), "other_pack", pass_through
        )
    inv = invert(inv_node, patched, latent, source, steps=3, value_blocks=1)
    assert torch.equal(inv.noise_samples, inversion.noise_samples)
    assert torch.equal(
        edit(s2d_node, patched, inversion, target, half_mask()),
        edit(s2d_node, model, inversion, target, half_mask()),
    )
    assert seen
