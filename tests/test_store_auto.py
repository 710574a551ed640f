"""Memory that fits (issue 15, item 4): store = auto, record_from_step and the 8-bit value store."""

import logging
import types

import pytest
import torch
from helpers import half_mask, pack_module, rel

GIB = 2**30
STEPS = 6


@pytest.fixture(scope="module")
def runs(pack):
    return pack_module(pack, "nodes.editing_runs")


@pytest.fixture(scope="module")
def plan(pack):
    return pack_module(pack, "sculptor.memory_plan")


@pytest.fixture(scope="module")
def setup(tiny_flux, tiny_cond, tiny_latent):
    return tiny_flux(seed=0, weight_scale=0.25), tiny_cond(0), tiny_cond(1), tiny_latent(0)


def invert(runs, setup, **kw):
    model, source, _, latent = setup
    settings = {"steps": STEPS, "guidance": 1.0, "value_blocks": 2, "store": "cpu", **kw}
    return runs.run_inversion(model, latent, source, preview=False, **settings)


def edit(runs, setup, inv, **kw):
    model, _, target, _ = setup
    settings = {"structure_steps": 2, "guidance": 2.0, "mask": half_mask(), **kw}
    return runs.run_edit(model, inv, target, preview=False, **settings)


@pytest.mark.parametrize(
    ("nbytes", "free_device", "free_host", "expected"),
    [
        (1 * GIB, 24 * GIB, 32 * GIB, "device"),  # fits half the free VRAM
        (13 * GIB, 24 * GIB, 32 * GIB, "cpu"),  # over half the VRAM, under 3/4 of the RAM
        (25 * GIB, 24 * GIB, 32 * GIB, "recompute"),  # over both
        (25 * GIB, 80 * GIB, 8 * GIB, "device"),  # a large card
        (5 * GIB, None, 32 * GIB, "cpu"),  # CPU-only run: device memory is host memory
        (30 * GIB, None, 32 * GIB, "recompute"),
        (0, 0, 0, "device"),  # store = recompute inversions have no values at all
    ],
)
def test_choose_store_table(plan, nbytes, free_device, free_host, expected):
    assert plan.choose_store(nbytes, free_device, free_host) == expected


def test_choose_store_never_picks_a_mode_that_does_not_fit(plan):
    gen = torch.Generator().manual_seed(0)
    for nbytes, device, host, cpu_only in torch.randint(0, 64 * GIB, (2000, 4), generator=gen).tolist():
        free_device = None if cpu_only % 4 == 0 else device
        mode = plan.choose_store(nbytes, free_device, host)
        if mode == "device":
            assert free_device is not None and nbytes <= free_device
        elif mode == "cpu":
            assert nbytes <= host


@pytest.mark.parametrize("solver", ["rf_solver", "fireflow"])
@pytest.mark.parametrize("record_from", [0, 2])
def test_recorded_calls_formula_matches_the_store(runs, plan, setup, solver, record_from):
    inv = invert(runs, setup, solver=solver, record_from_step=record_from)
    calls = {key for key, _ in inv.store.keys()}
    assert len(calls) == plan.recorded_calls(STEPS, solver, record_from)
    assert min(key.index for key in calls) == record_from


def test_auto_store_picks_by_free_memory_and_logs_the_bytes(pack, runs, setup, caplog, monkeypatch):
    store_auto = pack_module(pack, "nodes.store_auto")
    with caplog.at_level(logging.INFO, logger="flux_sculptor"):
        inv = invert(runs, setup, store="auto")
    assert inv.store.mode == "cpu"  # a CPU-only run with far more RAM than these values
    assert "store=auto: values" in caplog.text and ": store=cpu" in caplog.text
    full = invert(runs, setup, store="cpu")
    assert full.store.nbytes > 0
    small_host = types.SimpleNamespace(available=full.store.nbytes)  # 3/4 of it is too little
    monkeypatch.setattr(store_auto.psutil, "virtual_memory", lambda: small_host)
    assert invert(runs, setup, store="auto").store.mode == "recompute"


def test_skipped_structure_calls_change_nothing_in_the_edit(runs, setup):
    full = invert(runs, setup)
    skipped = invert(runs, setup, record_from_step=2)
    assert skipped.store.nbytes < full.store.nbytes
    for T in (2, 3):
        assert torch.equal(
            edit(runs, setup, skipped, structure_steps=T), edit(runs, setup, full, structure_steps=T)
        )


def test_an_edit_needing_unrecorded_calls_names_the_setting(runs, setup):
    skipped = invert(runs, setup, record_from_step=3)
    with pytest.raises(ValueError, match="record_from_step"):
        edit(runs, setup, skipped, structure_steps=2)
    with pytest.raises(ValueError, match="record_from_step"):
        edit(runs, setup, skipped, fusion="value")
    with pytest.raises(ValueError, match="record_from_step must be between 0 and steps"):
        invert(runs, setup, record_from_step=STEPS + 1)


def test_int8_codec_error_is_within_half_a_step_of_each_token(pack):
    codec = pack_module(pack, "sculptor.value_codec")
    v = torch.randn(2, 4, 64, 16, generator=torch.Generator().manual_seed(1)) * 3
    q, scale = codec.encode(v, torch.int8)
    assert q.dtype == torch.int8 and scale.shape == (2, 4, 64, 1)
    err = (codec.decode(q, scale, torch.float32) - v).abs()
    assert bool((err <= 0.5 * scale.float() + 1e-2 * v.abs().amax(-1, keepdim=True)).all())
    assert torch.equal(
        codec.decode(*codec.encode(torch.zeros(3, 16), torch.int8), torch.float32), torch.zeros(3, 16)
    )


@pytest.mark.parametrize("dtype_name", ["int8", "float8_e4m3fn"])
def test_8bit_store_size_and_effect_on_the_edit(pack, runs, setup, dtype_name, capsys):
    dtypes = pack_module(pack, "sculptor.value_store").STORE_DTYPES
    if dtype_name not in dtypes:
        pytest.skip(f"this torch has no {dtype_name}")
    reference = {name: invert(runs, setup, store_dtype=dtypes[name]) for name in ("float32", "bfloat16")}
    small = invert(runs, setup, store_dtype=dtypes[dtype_name])
    assert small.store.nbytes < reference["bfloat16"].store.nbytes < reference["float32"].store.nbytes
    edits = {name: edit(runs, setup, inv) for name, inv in reference.items()}
    out = edit(runs, setup, small)
    to_bf16, to_fp32 = rel(out, edits["bfloat16"]), rel(out, edits["float32"])
    bf16_to_fp32 = rel(edits["bfloat16"], edits["float32"])
    print(
        f"{dtype_name} store: final latent rel diff vs bf16 store {to_bf16:.2e}, vs fp32 store "
        f"{to_fp32:.2e} (bf16 vs fp32: {bf16_to_fp32:.2e}); bytes {small.store.nbytes} vs bf16 "
        f"{reference['bfloat16'].store.nbytes}"
    )
    assert 0 < to_fp32 < 0.05
