"""Paper-scale tables of the benchmark (scripts/benchmark.py): FLUX.1-dev model calls and value-store
bytes per solver and store mode, and store=auto's pick on two typical machines. Formulas only, no runs."""

from __future__ import annotations

from collections.abc import Callable

import torch

GIB, MIB = 2**30, 2**20
FLUX_DEV = dict(heads=24, head_dim=128, double=19, single=38, steps=30, structure_steps=3, value_blocks=18)


def paper_table(model_calls: Callable[..., int]) -> list[dict]:
    """FLUX.1-dev, bf16: model calls per edit and V-store bytes per mode, from the formula the measured
    stores match (value_bytes: calls x m x heads x N_img x head_dim x 2 bytes) and the solver's counts."""
    d = FLUX_DEV
    n, t, m = d["steps"], d["structure_steps"], d["value_blocks"]
    rows = []
    for px in (512, 1024):
        tokens = (px // 16) ** 2
        latent_bytes = 16 * (px // 8) ** 2 * 4  # one float32 model-space latent
        one_call = m * d["heads"] * tokens * d["head_dim"] * 2
        for name in ("rf_solver", "fireflow"):
            edit_calls = model_calls(n, name)
            stored = edit_calls * one_call  # the store keeps exactly the editor's call keys
            detail_calls = (2 if name == "rf_solver" else 1) * (n - t)  # doubled in store mode recompute
            rows.append(
                {
                    "px": px,
                    "solver": name,
                    "inversion_calls": model_calls(n, name, True),
                    "edit_calls": edit_calls,
                    "recompute_extra_rows": detail_calls,
                    "device": stored,
                    "cpu_host": stored,
                    "cpu_resident": one_call,
                    "recompute_host": (2 * n + 1) * latent_bytes,
                    "recompute_resident": latent_bytes,
                }
            )
    return rows


MACHINES = {"12 GB card, 32 GB RAM": (10 * GIB, 24 * GIB), "24 GB card, 64 GB RAM": (22 * GIB, 52 * GIB)}
"""Free memory (device after the model, host available) of two typical machines, for store=auto's pick."""


def store_table(mods: dict) -> list[dict]:
    """FLUX.1-dev value bytes per store dtype and record_from_step (value_bytes x recorded_calls), and
    what store=auto (memory_plan.choose_store) picks on MACHINES."""
    d, plan = FLUX_DEV, mods["memory_plan"]
    n, m, head_dim = d["steps"], d["value_blocks"], d["head_dim"]
    rows = []
    for px, solver, record_from in (
        (1024, "rf_solver", 0),
        (1024, "rf_solver", 3),
        (1024, "fireflow", 3),
        (512, "rf_solver", 3),
    ):
        calls = plan.recorded_calls(n, solver, record_from)
        tokens = (px // 16) ** 2
        sizes = {
            name: mods["value_store"].value_bytes(calls, m, 1, d["heads"], tokens, head_dim, dtype)
            for name, dtype in (("bf16", torch.bfloat16), ("int8", torch.int8))
        }
        picks = {
            machine: {name: plan.choose_store(b, *free) for name, b in sizes.items()}
            for machine, free in MACHINES.items()
        }
        rows.append(
            {
                "px": px,
                "solver": solver,
                "record_from_step": record_from,
                "calls": calls,
                **sizes,
                "auto": picks,
            }
        )
    return rows
