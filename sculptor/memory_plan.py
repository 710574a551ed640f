"""Store mode "auto" (issue 15): where the recorded values go, from their size and the free memory.

Pure functions of numbers (no comfy, no psutil): nodes/store_auto.py measures the free memory at run
time and calls `choose_store`.
"""

from __future__ import annotations

from .solver import Solver
from .value_store import StoreMode

DEVICE_SHARE = 0.5
"""At most this share of the free accelerator memory (after the model is loaded) holds values: the rest
stays for the edit's own activations and ComfyUI's other models."""
HOST_SHARE = 0.75
"""At most this share of the available host RAM holds values (the OS, ComfyUI and offloaded weights need
the rest)."""


def recorded_calls(steps: int, solver: Solver, record_from_step: int = 0) -> int:
    """Model calls whose values an inversion of `steps` steps records when only steps j >= record_from_step
    are kept: ("mid", j) for every kept step, ("at", j) too for rf_solver (FireFlow's editor calls
    ("at", 0) only)."""
    kept = max(steps - record_from_step, 0)
    ats = kept if solver == "rf_solver" else int(record_from_step == 0)
    return kept + ats


def choose_store(value_bytes: int, free_device: int | None, free_host: int) -> StoreMode:
    """The store mode for `value_bytes` of values: "device" if they fit DEVICE_SHARE of the free accelerator
    memory, else "cpu" if they fit HOST_SHARE of the free host RAM, else "recompute" (stores no values).
    free_device None: the model runs on the CPU, where "cpu" and "device" are the same memory."""
    if free_device is not None and value_bytes <= DEVICE_SHARE * free_device:
        return "device"
    if value_bytes <= HOST_SHARE * free_host:
        return "cpu"
    return "recompute"
