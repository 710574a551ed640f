"""Flux-Sculptor benchmark (issue 7): runs in the real ComfyUI on CPU with a mid-size random Flux built
from ComfyUI's own classes, then prints the paper-scale table for FLUX.1-dev.

    python -m scripts.benchmark               # from the repo root; or: python scripts/benchmark.py
    python -m scripts.benchmark --tiny        # tiny sizes, about a minute (tests/test_benchmark.py)
    python -m scripts.benchmark --paper-only  # only the FLUX.1-dev table

Mid size (default): hidden 256, 4 heads x 64, 2 double + 4 single blocks, latent 64x64 (a 512^2 image,
1024 image tokens), 256 text tokens, float32, N=8 steps, T=1, m=2 recorded blocks. Every time is the
median of --reps repetitions in CPU seconds of this process with one torch thread (stable on a shared
machine), the compared runs interleaved; every ratio is measured in the same run. ComfyUI is found and
imported as the tests do (tests/comfy_home.py, imported, not copied).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

if __package__:  # python -m scripts.NAME
    from scripts.repo_paths import ROOT, fail
else:  # python scripts/NAME.py
    from repo_paths import ROOT, fail

GIB, MIB = 2**30, 2**20
WALL: dict[str, list[float]] = {}


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
FLUX_DEV = dict(heads=24, head_dim=128, double=19, single=38, steps=30, structure_steps=3, value_blocks=18)


def load_pack() -> dict:
    """Import ComfyUI like the tests do, then the pack as a package (its modules use relative imports)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from comfy_home import import_comfyui

    import_comfyui()
    import comfy.model_management  # noqa: F401  (initialises the CPU device)

    spec = importlib.util.spec_from_file_location(
        "flux_sculptor", ROOT / "__init__.py", submodule_search_locations=[str(ROOT)]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules["flux_sculptor"] = package
    spec.loader.exec_module(package)
    names = ("nodes.editing_runs", "nodes.comfy_sampling", "sculptor.solver", "sculptor.value_store")
    return {name.split(".")[1]: importlib.import_module(f"flux_sculptor.{name}") for name in names}


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


class Bench:
    """One model, source/target prompts, latent and masks; one method per table row group."""

    def __init__(self, mods: dict, size: Size, reps: int, k_edits: int):
        import comfy.patcher_extension
        from tiny_flux_pack.tiny_flux import build_tiny_flux, tiny_conditioning, tiny_latent

        self.mods, self.size, self.reps, self.k = mods, size, reps, k_edits
        model = build_tiny_flux(0, size.depth, size.depth_single, 0.25, size.hidden, size.heads)
        self.model, self.counter = model.clone(), CallCounter()
        self.model.add_wrapper_with_key(
            comfy.patcher_extension.WrappersMP.DIFFUSION_MODEL, "bench_count", self.counter
        )
        self.source = tiny_conditioning(0, size.tokens)
        self.targets = [tiny_conditioning(1 + i, size.tokens) for i in range(k_edits)]
        self.latent = tiny_latent(0, size.latent, size.latent)
        self.mask = torch.zeros(1, 8 * size.latent, 8 * size.latent)
        self.mask[:, :, : 4 * size.latent] = 1.0  # left half: edit
        self.masks = [self.mask, 1 - self.mask, None, self.mask.transpose(1, 2)][:k_edits]

    def invert(
        self,
        store: str = "cpu",
        solver: str = "rf_solver",
        dtype: torch.dtype | None = None,
        steps: int | None = None,
    ):
        s = self.size
        return self.mods["editing_runs"].run_inversion(
            self.model,
            self.latent,
            self.source,
            steps=steps or s.steps,
            guidance=1.0,
            value_blocks=s.value_blocks,
            store=store,
            solver=solver,
            store_dtype=dtype,
            preview=False,
        )

    def plain_invert(self) -> torch.Tensor:
        """The same RF-Solver inversion through the same guider, with no hooks and no recording."""
        driver, solver = self.mods["comfy_sampling"], self.mods["solver"]
        sigmas = driver.flux_sigmas(self.model, self.size.steps)

        def loop(velocity, x, progress):
            return solver.invert(velocity, x, sigmas.tolist(), "rf_solver")[0]

        cond = driver.with_guidance(self.source, 1.0)
        return driver.run_loop(
            driver.velocity_clone(self.model),
            cond,
            self.latent["samples"],
            sigmas,
            driver.LoopSampler(loop),
            False,
        )

    def edit(self, inv, fusion: str = "s2d-ec", i: int = 0, guidance: float = 2.0, target=None, mask=...):
        mask = self.masks[i] if mask is ... else mask
        t = self.size.structure_steps
        cond = target or self.targets[i]
        return self.mods["editing_runs"].run_edit(
            self.model,
            inv,
            cond,
            mask=mask,
            structure_steps=t,
            guidance=guidance,
            fusion=fusion,
            preview=False,
        )

    def inversion_overhead(self) -> dict:
        sec, _ = medians(
            self.reps,
            {
                "record": self.invert,
                "plain": self.plain_invert,
                "recompute": lambda: self.invert("recompute"),
            },
        )
        plain = sec["plain"]
        return {
            **sec,
            "ratio": sec["record"] / plain,
            "ratio_recompute": sec["recompute"] / plain,
            "extra_call_share": 1 / self.mods["solver"].model_calls(self.size.steps, "rf_solver", True),
        }

    def edit_overhead(self, inv: dict) -> dict:
        calls: dict = {}
        runs = {
            "s2d-ec": lambda: self.edit(inv["cpu"]),
            "none": lambda: self.edit(inv["cpu"], "none"),
            "recompute": lambda: self.edit(inv["recompute"]),
        }
        sec, outs = medians(self.reps, {k: self.counter.counted(calls, k, fn) for k, fn in runs.items()})
        none = sec["none"]
        return {
            **sec,
            "ratio": sec["s2d-ec"] / none,
            "ratio_recompute": sec["recompute"] / none,
            "calls": calls,
            "recompute_vs_recorded": rel(outs["recompute"], outs["s2d-ec"]),
        }

    def store_bytes(self, inv: dict) -> dict:
        """Recorded bytes per mode vs value_bytes(); bytes of values on the model device while editing
        (device: the store; cpu: the CallReader's peak, one call; recompute: one source latent)."""
        s, vs = self.size, self.mods["value_store"]
        tokens, head_dim = (s.latent // 2) ** 2, s.hidden // s.heads
        samples = self.latent["samples"]
        out = {}
        for mode, case in {**inv, "cpu bf16": self.invert("cpu", dtype=torch.bfloat16)}.items():
            calls = self.mods["solver"].model_calls(s.steps, "rf_solver") if mode != "recompute" else 0
            formula = vs.value_bytes(
                calls, s.value_blocks, 1, s.heads, tokens, head_dim, case.store.dtype or torch.float32
            )
            reader = vs.CallReader(case.store)
            for key, block in case.store.keys():
                reader.get(key, block, samples)
            resident = {"device": case.store.nbytes, "recompute": samples.numel() * samples.element_size()}
            latents = sum(x.numel() * x.element_size() for x in [*case.latents, *case.midpoints])
            recorded = case.store.nbytes
            out[mode] = {
                "recorded": recorded,
                "formula": formula,
                "match": recorded == formula,
                "resident": resident.get(mode, reader.peak_nbytes),
                "latents": latents,
            }
        return out

    def solvers(self, steps: int) -> dict:
        """fireflow vs rf_solver at equal steps: inversion + reconstruction with the source prompt."""

        def round_trip(name: str) -> Callable[[], float]:
            def run() -> float:
                inv = self.invert("cpu", name, steps=steps)
                back = self.edit(inv, "none", guidance=1.0, target=self.source, mask=None)
                return rel(back, self.latent["samples"])

            return run

        calls: dict = {}
        names = ("rf_solver", "fireflow")
        sec, errs = medians(self.reps, {k: self.counter.counted(calls, k, round_trip(k)) for k in names})
        out = {k: {"seconds": sec[k], "calls": calls[k][0], "error": errs[k]} for k in names}
        return {
            **out,
            "steps": steps,
            "time_ratio": sec["fireflow"] / sec["rf_solver"],
            "error_ratio": errs["fireflow"] / errs["rf_solver"],
        }

    def reuse(self, reps: int) -> dict:
        """K edits (different targets and masks) from one inversion vs K independent invert + edit runs."""

        def shared():
            one = self.invert()
            return [self.edit(one, i=i) for i in range(self.k)]

        def independent():
            return [self.edit(self.invert(), i=i) for i in range(self.k)]

        calls: dict = {}
        sec, outs = medians(
            reps,
            {
                "shared": self.counter.counted(calls, "shared", shared),
                "independent": self.counter.counted(calls, "independent", independent),
            },
        )
        same = all(torch.equal(a, b) for a, b in zip(outs["shared"], outs["independent"], strict=True))
        return {
            "k": self.k,
            "reps": reps,
            **sec,
            "ratio": sec["shared"] / sec["independent"],
            "shared_calls": calls["shared"][0],
            "independent_calls": calls["independent"][0],
            "same_results": same,
        }


def measure(mods: dict, size: Size, reps: int, k_edits: int = 4) -> dict:
    bench = Bench(mods, size, reps, k_edits)
    out: dict = {"size": dataclasses.asdict(size), "reps": reps, "threads": torch.get_num_threads()}
    print("inversion: recording vs no hooks", file=sys.stderr)
    out["inversion"] = bench.inversion_overhead()
    inv = {mode: bench.invert(mode) for mode in ("device", "cpu", "recompute")}
    print("edit: S2D-EC vs no hooks", file=sys.stderr)
    out["edit"] = bench.edit_overhead(inv)
    out["stores"] = bench.store_bytes(inv)
    out["solvers"] = []
    for steps in size.solver_steps:
        print(f"solvers: fireflow vs rf_solver at {steps} steps", file=sys.stderr)
        out["solvers"].append(bench.solvers(steps))
    print(f"reuse: {k_edits} edits from one inversion", file=sys.stderr)
    out["reuse"] = bench.reuse(max(1, reps // 2))
    return out


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


def fmt_bytes(b: float) -> str:
    return f"{b / GIB:.2f} GiB" if b >= GIB else f"{b / MIB:.1f} MiB" if b >= MIB else f"{b / 1024:.1f} KiB"


def row(*cells: object) -> None:
    print("| " + " | ".join(str(c) for c in cells) + " |")


def print_measured(res: dict) -> None:
    s, inv, ed, reuse = (res[k] for k in ("size", "inversion", "edit", "reuse"))
    print(
        f"## Measured (CPU, real ComfyUI): Flux hidden {s['hidden']}, {s['heads']} heads x "
        f"{s['hidden'] // s['heads']}, {s['depth']} double + {s['depth_single']} single blocks, latent "
        f"{s['latent']}x{s['latent']}, {s['tokens']} text tokens, N={s['steps']}, "
        f"T={s['structure_steps']}, m={s['value_blocks']}; median of {res['reps']}, CPU seconds, "
        f"{res['threads']} torch thread(s)"
    )
    row("figure", "measured", "goal")
    row("---", "---", "---")
    row(
        "inversion with recording / no hooks",
        f"{inv['ratio']:.3f} ({inv['record']:.1f} s / "
        f"{inv['plain']:.1f} s; the extra sigma-1 record call is {inv['extra_call_share']:.3f} of it)",
        "<= 1.10",
    )
    row("inversion, store recompute / no hooks", f"{inv['ratio_recompute']:.3f}", "-")
    row(
        "S2D-EC edit (cpu store) / no hooks",
        f"{ed['ratio']:.3f} ({ed['s2d-ec']:.1f} s / {ed['none']:.1f} s)",
        "<= 1.05",
    )
    (calls, rows), (calls0, rows0) = ed["calls"]["recompute"], ed["calls"]["none"]
    row(
        "S2D-EC edit (store recompute) / no hooks",
        f"{ed['ratio_recompute']:.3f} (calls/batch rows "
        f"{calls}/{rows} vs {calls0}/{rows0}; result vs cpu store: rel {ed['recompute_vs_recorded']:.1e})",
        "-",
    )
    for sol in res["solvers"]:
        ff, rf, n = sol["fireflow"], sol["rf_solver"], sol["steps"]
        row(
            f"fireflow / rf_solver round trip at {n} steps, time",
            f"{sol['time_ratio']:.3f} (model calls {ff['calls']} vs {rf['calls']})",
            "<= 0.55",
        )
        row(
            f"fireflow / rf_solver round trip at {n} steps, error",
            f"{sol['error_ratio']:.2f} ({ff['error']:.2e} vs {rf['error']:.2e})",
            "<= 2",
        )
    k = reuse["k"]
    row(
        f"{k} edits from one inversion / {k} x (inversion + edit)",
        f"{reuse['ratio']:.3f} "
        f"({reuse['shared']:.1f} s / {reuse['independent']:.1f} s, median of {reuse['reps']}; model calls "
        f"{reuse['shared_calls']} vs {reuse['independent_calls']}; identical results: "
        f"{reuse['same_results']})",
        "-",
    )
    print()
    row("store mode", "recorded V bytes", "formula", "match", "V bytes on the model device", "host latents")
    row(*["---"] * 6)
    for mode, st in res["stores"].items():
        match = "yes" if st["match"] else "NO"
        row(mode, st["recorded"], st["formula"], match, st["resident"], st["latents"])


def print_paper(rows: list[dict]) -> None:
    d = FLUX_DEV
    print(
        f"## Paper scale: FLUX.1-dev ({d['double']} double / {d['single']} single blocks, "
        f"{d['heads']} heads x {d['head_dim']}, bf16), N={d['steps']}, T={d['structure_steps']}, "
        f"m={d['value_blocks']}"
    )
    row(
        "image",
        "solver",
        "model calls: inversion + edit",
        "recompute: + batch rows",
        "device: on GPU",
        "cpu: host / on GPU",
        "recompute: host / on GPU",
    )
    row(*["---"] * 7)
    for r in rows:
        calls = f"{r['inversion_calls']} + {r['edit_calls']} = {r['inversion_calls'] + r['edit_calls']}"
        row(
            f"{r['px']}^2",
            r["solver"],
            calls,
            f"+{r['recompute_extra_rows']}",
            fmt_bytes(r["device"]),
            f"{fmt_bytes(r['cpu_host'])} / {fmt_bytes(r['cpu_resident'])}",
            f"{fmt_bytes(r['recompute_host'])} / {fmt_bytes(r['recompute_resident'])}",
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: a quick check that everything runs")
    parser.add_argument("--paper-only", action="store_true", help="only the FLUX.1-dev table (no runs)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per timing (default 3; tiny 1)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: stable CPU times)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    reps = args.reps or (1 if args.tiny else 3)
    if reps < 1 or args.threads < 1:
        fail("--reps and --threads must be >= 1")
    torch.set_num_threads(args.threads)
    mods = load_pack()
    res = None if args.paper_only else measure(mods, TINY if args.tiny else MID, reps)
    rows = paper_table(mods["solver"].model_calls)
    if res is not None:
        print_measured(res)
        print()
    print_paper(rows)
    if args.json is not None:
        args.json.write_text(json.dumps({"measured": res, "wall_seconds": WALL, "paper": rows}, indent=1))


if __name__ == "__main__":
    main()
