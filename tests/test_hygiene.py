"""Hook hygiene (issue 8): the input MODEL is never changed, whatever happens to a run.

After a success, after input errors and after a Cancel in the middle of inversion or editing: the MODEL's
model_options and object_patches are unchanged, none of our overrides or block patches remain, the
model_sampling the MODEL reports is the original one, and a plain KSampler run on it gives bitwise the
same result as before. Stored values are freed when the inversion output is released. Patches that other
packs installed on the MODEL first are chained and called during inversion and editing, and stay in place.
Cancel through the real server (the UI's /interrupt): tests/test_hygiene_server.py.
"""

from __future__ import annotations

import copy
import gc
import weakref
from dataclasses import dataclass, fields, is_dataclass

import pytest
import torch
from helpers import edit, half_mask, invert, progress_hook


@pytest.fixture(scope="module")
def conds(tiny_cond, tiny_latent):
    return tiny_cond(0), tiny_cond(1), tiny_latent(0)


# (solver, store) combinations under test
MODES = [("rf_solver", "cpu"), ("fireflow", "device"), ("rf_solver", "recompute"), ("fireflow", "recompute")]


def ksampler(model, latent: dict, cond: list) -> torch.Tensor:
    """A plain KSampler run (euler/simple, 4 steps, fixed seed) on MODEL."""
    import comfy.sample

    noise = comfy.sample.prepare_noise(latent["samples"], 42)
    return comfy.sample.sample(
        model,
        noise,
        4,
        1.0,
        "euler",
        "simple",
        cond,
        cond,
        latent["samples"],
        denoise=1.0,
        disable_pbar=True,
        seed=42,
    )


@dataclass
class Snapshot:
    options: dict
    extensions: dict
    object_patches: dict
    patches_uuid: object
    model_sampling: object
    sampled: torch.Tensor


def snapshot(model, latent: dict, cond: list) -> Snapshot:
    return Snapshot(
        copy.deepcopy(model.model_options),
        extensions(model),
        dict(model.object_patches),
        model.patches_uuid,
        model.get_model_object("model_sampling"),
        ksampler(model, latent, cond),
    )


def extensions(model) -> dict:
    """Weight patches, wrappers, callbacks, injections and additional models of a ModelPatcher."""
    names = ("patches", "wrappers", "callbacks", "injections", "additional_models", "hook_patches")
    return {name: copy.deepcopy(getattr(model, name, None)) for name in names}


def assert_untouched(model, before: Snapshot, latent: dict, cond: list) -> None:
    assert model.model_options == before.options
    assert extensions(model) == before.extensions
    assert model.object_patches == before.object_patches
    assert model.patches_uuid == before.patches_uuid
    assert model.get_model_object("model_sampling") is before.model_sampling
    sampled = ksampler(model, latent, cond)
    assert torch.equal(sampled, before.sampled)
    assert type(model.model.model_sampling) is type(before.model_sampling)  # object patches undone


def no_sculptor_hooks(model) -> bool:
    options = model.model_options.get("transformer_options", {})
    return "optimized_attention_override" not in options and not options.get("patches_replace")


@pytest.fixture
def model(tiny_flux):
    return tiny_flux(seed=0, depth=1, depth_single=2)


@pytest.mark.parametrize("solver, store", MODES)
def test_success_leaves_the_model_untouched(inv_node, s2d_node, model, conds, solver, store):
    source, target, latent = conds
    before = snapshot(model, latent, source)
    inv = invert(inv_node, model, latent, source, solver=solver, store=store)
    edit(s2d_node, model, inv, target, half_mask(), T=1)
    assert no_sculptor_hooks(model)
    assert_untouched(model, before, latent, source)


def test_input_errors_leave_the_model_untouched(inv_node, s2d_node, model, conds, tiny_flux):
    import node_helpers

    source, target, latent = conds
    before = snapshot(model, latent, source)
    inv = invert(inv_node, model, latent, source)
    kontext = node_helpers.conditioning_set_values(source, {"reference_latents": [latent["samples"]]})
    failing = [
        lambda: invert(inv_node, model, latent, kontext),
        lambda: invert(inv_node, model, {"samples": latent["samples"][:, :4]}, source),
        lambda: invert(inv_node, model, {**latent, "noise_mask": torch.ones(1, 1, 8, 8)}, source),
        lambda: invert(inv_node, model, latent, source, value_blocks=5),
        lambda: invert(inv_node, model, latent, source, steps=1),
        lambda: invert(inv_node, model, latent, [[torch.randn(1, 8, 768), source[0][1]]]),
        lambda: edit(s2d_node, model, inv, target, T=9),
        lambda: edit(s2d_node, model, inv, target, mask=torch.zeros(1, 64, 64)),
        lambda: edit(s2d_node, model, inv, target, mask=torch.full((1, 8, 8), float("nan"))),
        lambda: edit(s2d_node, model, inv, target, mask=torch.ones(3, 8, 8)),
        lambda: edit(s2d_node, model, inv, kontext),
        lambda: edit(s2d_node, tiny_flux(seed=1, depth=1, depth_single=2), inv, target),
    ]
    for run in failing:
        with pytest.raises(ValueError):
            run()
        assert no_sculptor_hooks(model)
    assert_untouched(model, before, latent, source)


def cancel_at_step(step: int):
    """A progress hook that presses Cancel when the bar reaches `step` (as the UI's Cancel does)."""
    import comfy.model_management

    seen: list[int] = []

    def hook(value, total, preview, node_id=None):
        seen.append(value)
        if value == step:
            comfy.model_management.interrupt_current_processing(True)

    return hook, seen


def run_cancelled(step: int, run) -> list[int]:
    import comfy.model_management
    import comfy.utils

    hook, seen = cancel_at_step(step)
    try:
        with progress_hook(hook), pytest.raises(comfy.model_management.InterruptProcessingException):
            run()
    finally:
        comfy.model_management.interrupt_current_processing(False)
    return seen


@pytest.mark.parametrize("solver, store", MODES)
def test_cancel_in_inversion_and_in_editing_leaves_nothing_behind(
    inv_node, s2d_node, model, conds, solver, store
):
    source, target, latent = conds
    before = snapshot(model, latent, source)
    seen = run_cancelled(
        2, lambda: invert(inv_node, model, latent, source, steps=6, solver=solver, store=store)
    )
    assert seen[-1] == 2  # stopped in the middle, not at the end
    assert no_sculptor_hooks(model)
    assert_untouched(model, before, latent, source)

    inv = invert(inv_node, model, latent, source, steps=6, solver=solver, store=store)
    reference = edit(s2d_node, model, inv, target, half_mask(), T=2)
    seen = run_cancelled(3, lambda: edit(s2d_node, model, inv, target, half_mask(), T=2))
    assert seen[-1] == 3
    assert no_sculptor_hooks(model)
    assert_untouched(model, before, latent, source)
    again = edit(s2d_node, model, inv, target, half_mask(), T=2)  # the cancelled run left no state
    assert torch.equal(again, reference)


def tensors_in(obj, found: dict[int, torch.Tensor], depth: int = 0) -> dict[int, torch.Tensor]:
    """Every tensor reachable from obj through attributes, dataclass fields, dicts, lists and tuples."""
    if depth > 6:
        return found
    if isinstance(obj, torch.Tensor):
        found[id(obj)] = obj
    elif isinstance(obj, dict):
        for value in obj.values():
            tensors_in(value, found, depth + 1)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for value in obj:
            tensors_in(value, found, depth + 1)
    elif is_dataclass(obj):
        for f in fields(obj):
            tensors_in(getattr(obj, f.name), found, depth + 1)
    elif hasattr(obj, "__dict__") and "sculptor" in type(obj).__module__:  # the pack's own objects
        tensors_in(vars(obj), found, depth + 1)
    return found


@pytest.mark.parametrize("store", ["cpu", "recompute"])
def test_stored_values_are_freed_when_the_inversion_is_released(inv_node, s2d_node, model, conds, store):
    source, target, latent = conds
    inputs = set(tensors_in([source, target, latent], {}))
    output = inv_node.execute(
        model=model, latent=latent, conditioning=source, steps=4, guidance=1.0, value_blocks=2, store=store
    )
    inv = output.result[0]
    edit(s2d_node, model, inv, target, half_mask(), T=1)
    edit(s2d_node, model, inv, target, None, fusion="value")
    owned = [t for key, t in tensors_in(inv, {}).items() if key not in inputs]
    stored = sum(t.numel() * t.element_size() for t in owned)
    assert stored >= inv.store.nbytes  # the recorded values are among the tensors followed
    assert stored >= sum(t.numel() * t.element_size() for t in inv.latents + inv.midpoints) > 0
    refs = [weakref.ref(t) for t in owned]
    del owned, inv, output
    gc.collect()
    alive = [r for r in refs if r() is not None]
    assert not alive, f"{len(alive)} of {len(refs)} inversion tensors outlive the inversion output"


def live_value_tensors() -> int:
    """Bytes of tensors held by live ValueStore objects of the pack (recorded attention values)."""
    gc.collect()
    stores = [
        o for o in gc.get_objects() if type(o).__name__ == "ValueStore" and "sculptor" in type(o).__module__
    ]
    return sum(t.numel() * t.element_size() for store in stores for t in tensors_in(store, {}).values())


def test_cancelled_and_failed_runs_free_their_values(inv_node, s2d_node, model, conds):
    source, target, latent = conds
    baseline = live_value_tensors()
    run_cancelled(3, lambda: invert(inv_node, model, latent, source, steps=6))
    assert live_value_tensors() == baseline
    inv = invert(inv_node, model, latent, source, steps=6)
    assert live_value_tensors() > baseline  # the measure sees a live inversion's values
    run_cancelled(3, lambda: edit(s2d_node, model, inv, target, half_mask(), T=2))
    with pytest.raises(ValueError):
        edit(s2d_node, model, inv, target, mask=torch.zeros(1, 64, 64))
    inv = None  # release the inversion output
    assert live_value_tensors() == baseline


@pytest.mark.parametrize("store", ["cpu", "recompute"])
def test_other_packs_patches_are_chained_called_and_kept(inv_node, s2d_node, model, conds, store):
    """An attention override, block patches, a unet function wrapper and an APPLY_MODEL wrapper installed
    by another pack before ours: called in every model call of inversion and editing (identity patches
    here, so results must not change), and still installed afterwards."""
    import comfy.patcher_extension

    source, target, latent = conds
    plain_inv = invert(inv_node, model, latent, source, store=store)
    plain_edit = edit(s2d_node, model, plain_inv, target, half_mask(), T=1)
    calls = {"override": 0, "single": 0, "double": 0, "unet_wrapper": 0, "apply_model": 0}

    def other_override(func, *args, **kwargs):
        calls["override"] += 1
        return func(*args, **kwargs)

    def other_single(args, extra):
        calls["single"] += 1
        return extra["original_block"](args)

    def other_double(args, extra):
        calls["double"] += 1
        return extra["original_block"](args)

    def other_unet_wrapper(apply_model, args):
        calls["unet_wrapper"] += 1
        return apply_model(args["input"], args["timestep"], **args["c"])

    def other_apply_model(executor, *args, **kwargs):
        calls["apply_model"] += 1
        return executor(*args, **kwargs)

    patched = model.clone()
    patched.set_model_unet_function_wrapper(other_unet_wrapper)
    apply_model = comfy.patcher_extension.WrappersMP.APPLY_MODEL
    patched.add_wrapper_with_key(apply_model, "other_pack", other_apply_model)
    options = patched.model_options.setdefault("transformer_options", {})
    options["optimized_attention_override"] = other_override
    patched.set_model_patch_replace(other_single, "dit", "single_block", 1)
    patched.set_model_patch_replace(other_double, "dit", "double_block", 0)
    before = snapshot(patched, latent, source)

    def check_calls(phase: str) -> None:
        model_calls = calls["double"]
        assert model_calls >= 8, (phase, calls)  # 4 steps, 2 model calls each
        assert calls["single"] == calls["unet_wrapper"] == calls["apply_model"] == model_calls, (phase, calls)
        assert calls["override"] == 3 * model_calls, (phase, calls)  # 1 double + 2 single attentions
        calls.update({name: 0 for name in calls})

    calls.update({name: 0 for name in calls})
    inv = invert(inv_node, patched, latent, source, store=store)
    check_calls("inversion")
    assert all(torch.equal(a, b) for a, b in zip(inv.latents, plain_inv.latents, strict=True))
    assert torch.equal(edit(s2d_node, patched, inv, target, half_mask(), T=1), plain_edit)
    check_calls("edit")
    assert patched.model_options["model_function_wrapper"] is other_unet_wrapper
    assert patched.wrappers[apply_model] == {"other_pack": [other_apply_model]}
    options = patched.model_options["transformer_options"]
    assert options["optimized_attention_override"] is other_override
    assert options["patches_replace"]["dit"] == {
        ("single_block", 1): other_single,
        ("double_block", 0): other_double,
    }
    assert_untouched(patched, before, latent, source)
