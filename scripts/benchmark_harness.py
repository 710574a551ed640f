"""The benchmark's harness (scripts/benchmark.py): model sizes, the pack imported as the tests import it,
a model-call counter and interleaved CPU-time medians."""

from __future__ import annotations

import dataclasses
import importlib
import statistics
import sys
import time
from collections.abc import Callable

import torch

from scripts.nano.comfy_env import load_pack as load_pack_package
from scripts.repo_paths import ROOT

WALL: dict[str, list[float]] = {}
"""Wall-clock seconds of every timed run, by name (the JSON output only)."""


@dataclasses.dataclass(frozen=True)
class Size:
    hidden: int
    heads: int
    depth: int
    depth_single: int
    latent: int
    tokens: int
    steps: int
    structure_steps: int
    value_blocks: int
    solver_steps: tuple[int, ...]  # step counts of the fireflow / rf_solver comparison


MID = Size(
    hidden=256,
    heads=4,
    depth=2,
    depth_single=4,
    latent=64,
    tokens=256,
    steps=8,
    structure_steps=1,
    value_blocks=2,
    solver_steps=(8, 30),
)
TINY = Size(
    hidden=64,
    heads=4,
    depth=1,
    depth_single=2,
    latent=16,
    tokens=8,
    steps=4,
    structure_steps=1,
    value_blocks=1,
    solver_steps=(4,),
)


def load_pack() -> dict:
    """Import ComfyUI like the tests do, then the pack as a package (its modules use relative imports)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from comfy_home import import_comfyui

    import_comfyui()
    package = load_pack_package()
    names = (
        "nodes.editing_runs",
        "nodes.comfy_sampling",
        "sculptor.solver",
        "sculptor.value_store",
        "sculptor.memory_plan",
    )
    return {name.split(".")[1]: importlib.import_module(f"{package.__name__}.{name}") for name in names}


class CallCounter:
    """DIFFUSION_MODEL wrapper (registered by key): counts forward calls and batch rows."""

    def __init__(self):
        self.calls = self.rows = 0

    def __call__(self, executor, x, *args, **kwargs):
        self.calls, self.rows = self.calls + 1, self.rows + x.shape[0]
        return executor(x, *args, **kwargs)

    def counted(self, log: dict, name: str, fn: Callable[[], object]) -> Callable[[], object]:
        """fn, logging [calls, rows] of its last run as log[name]."""

        def run():
            self.calls = self.rows = 0
            result = fn()
            log[name] = [self.calls, self.rows]
            return result

        return run


def medians(reps: int, runs: dict[str, Callable[[], object]]) -> tuple[dict[str, float], dict[str, object]]:
    """Interleaved repetitions (A B C A B C ...): median CPU seconds and the last output of each run.
    Wall-clock seconds go to WALL (JSON only)."""
    times: dict[str, list[float]] = {k: [] for k in runs}
    outs: dict[str, object] = {}
    for _ in range(reps):
        for name, fn in runs.items():
            cpu, wall = time.process_time(), time.perf_counter()
            outs[name] = fn()
            times[name].append(time.process_time() - cpu)
            WALL.setdefault(name, []).append(time.perf_counter() - wall)
    done = ", ".join(f"{k} {statistics.median(v):.1f} s" for k, v in times.items())
    print(f"  done: {done}", file=sys.stderr)
    return {k: statistics.median(v) for k, v in times.items()}, outs


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())
