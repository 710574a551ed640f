"""Performance modes on tiny Flux in the real ComfyUI (issue 7): store modes, store dtype, FireFlow keys,
one inversion feeding many editors."""

import pytest
import torch
from helpers import half_mask, pack_module, rel

STEPS, T, M = 6, 2, 2  # a short schedule: these tests check identities, not accuracy


@pytest.fixture(scope="module")
def runs(pack):
    return pack_module(pack, "nodes.editing_runs")


@pytest.fixture(scope="module")
def hooks(pack):
    return pack_module(pack, "nodes.flux_hooks")


@pytest.fixture(scope="module")
def setup(tiny_flux, tiny_cond, tiny_latent):
    return tiny_flux(seed=0, weight_scale=0.25), tiny_cond(0), tiny_cond(1), tiny_latent(0)


def invert(runs, model, latent, source, store="cpu", solver="rf_solver", steps=STEPS, **kw):
    return runs.run_inversion(
        model,
        latent,
        source,
        steps=steps,
        guidance=1.0,
        value_blocks=M,
        store=store,
        solver=solver,
        preview=False,
        **kw,
    )


def edit(runs, model, inv, target, mask=..., fusion="s2d-ec", T=T, guidance=2.0, **kw):
    mask = half_mask(64, 64) if mask is ... else mask
    return runs.run_edit(
        model,
        inv,
        target,
        mask=mask,
        structure_steps=T,
        guidance=guidance,
        fusion=fusion,
        preview=False,
        **kw,
    )


def batch_counter(model):
    """A clone of MODEL whose first single block logs the batch size of every model call (a chained
    block patch, as another pack would install; the model identity is unchanged)."""
    sizes = []

    def count(args, extra):
        sizes.append(args["img"].shape[0])
        return extra["original_block"](args)

    clone = model.clone()
    clone.set_model_patch_replace(count, "dit", "single_block", 0)
    return clone, sizes


def spy_fusions(monkeypatch, hooks):
    """Logs (v_edit, v_source) of every eq. 15-16 fusion the hook performs."""
    seen = []
    real = hooks.fuse_values

    def spy(v_edit, v_source, mask):
        seen.append((v_edit.clone(), v_source.clone()))
        return real(v_edit, v_source, mask)

    monkeypatch.setattr(hooks, "fuse_values", spy)
    return seen


@pytest.mark.parametrize(
    "solver, fusion", [("rf_solver", "s2d-ec"), ("fireflow", "s2d-ec"), ("rf_solver", "value")]
)
def test_recompute_gives_the_recorded_source_values_and_the_same_edit(
    runs, hooks, setup, monkeypatch, solver, fusion
):
    model, source, target, latent = setup
    recorded = invert(runs, model, latent, source, "cpu", solver)
    recompute = invert(runs, model, latent, source, "recompute", solver)
    assert recompute.store.nbytes == 0 and len(recompute.midpoints) == STEPS
    assert all(torch.equal(a, b) for a, b in zip(recorded.latents, recompute.latents, strict=True))

    expected = edit(runs, model, recorded, target, fusion=fusion)
    counting, sizes = batch_counter(model)
    events = []
    fusions = spy_fusions(monkeypatch, hooks)
    out = edit(runs, counting, recompute, target, fusion=fusion, observers=[lambda *e: events.append(e)])
    assert rel(out, expected) < 1e-5
    assert len(fusions) == len(events) > 0
    first_fused = T if fusion == "s2d-ec" else 0
    for (action, key, block, v_in, _), (_, v_source) in zip(events, fusions, strict=True):
        assert action == "fuse" and key.index >= first_fused and v_in.shape[0] == 2  # [edit; source] together
        assert torch.allclose(v_source, recorded.store.get(key, block, v_source), rtol=1e-5, atol=1e-6)
    calls_per_step = [2] + [2 if solver == "rf_solver" else 1] * (STEPS - 1)
    structure_calls = sum(calls_per_step[:first_fused])
    assert sizes[:structure_calls] == [1] * structure_calls  # no-fusion steps stay single-batch
    assert sizes[structure_calls:] == [2] * (len(sizes) - structure_calls)


def test_recompute_still_matches_when_comfyui_splits_the_batch(runs, setup, monkeypatch):
    """When a batch of two does not fit, ComfyUI runs the source ("uncond") rows and the edit rows in
    separate calls, source first; the hook keeps the source V of the call for the edit rows."""
    model, source, target, latent = setup
    recorded = invert(runs, model, latent, source)
    recompute = invert(runs, model, latent, source, "recompute")
    expected = edit(runs, model, recorded, target)
    real = model.model.memory_required

    def batch_of_two_does_not_fit(input_shape, **kwargs):
        return float("inf") if input_shape[0] > 1 else real(input_shape, **kwargs)

    monkeypatch.setattr(model.model, "memory_required", batch_of_two_does_not_fit)
    counting, sizes = batch_counter(model)
    out = edit(runs, counting, recompute, target)
    assert set(sizes) == {1} and len(sizes) == 2 * STEPS + 2 * (STEPS - T)  # really split
    assert rel(out, expected) < 1e-5


def test_store_dtype_bfloat16_halves_the_bytes(runs, setup):
    model, source, _, latent = setup
    full = invert(runs, model, latent, source)
    half = invert(runs, model, latent, source, store_dtype=torch.bfloat16)
    assert half.store.keys() == full.store.keys()
    assert 2 * half.store.nbytes == full.store.nbytes > 0
    for key in half.store.keys():
        stored = half.store.stored(*key)
        assert stored.dtype == torch.bfloat16
        assert torch.equal(stored, full.store.stored(*key).to(torch.bfloat16))  # one rounding, nothing else
    like = torch.empty(0)
    assert half.store.get(*half.store.keys()[0], like).dtype == torch.float32  # read back in model dtype


def test_device_mode_keeps_values_where_the_model_runs(runs, setup):
    model, source, _, latent = setup
    inv = invert(runs, model, latent, source, "device")
    load = model.load_device.type
    assert {inv.store.stored(*key).device.type for key in inv.store.keys()} == {load}
    assert inv.store.device_nbytes() == (inv.store.nbytes if load != "cpu" else 0)


def test_each_call_reads_each_recorded_value_once(runs, setup):
    """The editor's CallReader copies one call's values for all blocks at its first read (one transfer per
    call, non-blocking from pinned memory on a GPU); on CPU the 'copy' is the stored tensor itself."""
    model, source, target, latent = setup
    inv = invert(runs, model, latent, source)
    reads = []
    store_get = inv.store.get

    def get(key, block, like):
        out = store_get(key, block, like)
        reads.append((key, block, out))
        return out

    inv.store.get = get
    edit(runs, model, inv, target)
    keys = [(key, block) for key, block, _ in reads]
    assert len(keys) == len(set(keys)) == 2 * (STEPS - T) * M
    for key, block, out in reads:
        assert out.data_ptr() == inv.store.stored(key, block).data_ptr()


def test_fireflow_inversion_and_edit_share_value_keys_and_reconstruct(runs, setup):
    model, source, _, latent = setup
    n = 30
    inv = invert(runs, model, latent, source, "cpu", "fireflow", steps=n)
    assert inv.solver == "fireflow"
    events = []
    out = edit(runs, model, inv, source, T=3, guidance=1.0, observers=[lambda *e: events.append(e)])
    assert rel(out, latent["samples"]) <= 1e-3
    fused = {(key.kind, key.index, block) for _, key, block, _, _ in events}
    single = len(model.model.diffusion_model.single_blocks)
    blocks = range(single - M, single)
    assert fused == {("mid", j, b) for j in range(3, n) for b in blocks}  # FireFlow: one call per step
    assert all(inv.store.has(key, block) for _, key, block, _, _ in events)


def test_one_inversion_feeds_many_editors_without_copies_or_recomputation(runs, setup):
    model, source, target, latent = setup
    counting, sizes = batch_counter(model)
    inv = invert(runs, counting, latent, source)
    values = {key: inv.store.stored(*key) for key in inv.store.keys()}
    pointers = {k: v.data_ptr() for k, v in values.items()}
    latents = list(inv.latents)
    nbytes = inv.store.nbytes
    sizes.clear()
    masks = [half_mask(64, 64), 1 - half_mask(64, 64), None, torch.rand(1, 40, 40)]
    outs = [edit(runs, counting, inv, target, m) for m in masks]
    assert len(sizes) == len(masks) * 2 * STEPS  # only the editors' own calls: the inversion never reruns
    assert inv.store.nbytes == nbytes and inv.store.keys() == list(values)
    assert all(inv.store.stored(*k) is values[k] and values[k].data_ptr() == p for k, p in pointers.items())
    assert all(a is b for a, b in zip(inv.latents, latents, strict=True))
    again = edit(runs, counting, inv, target, masks[0])
    assert torch.equal(again, outs[0])
