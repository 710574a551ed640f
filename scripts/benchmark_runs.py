"""The measured runs of the benchmark (scripts/benchmark.py): one random Flux in the real ComfyUI, the
inversion and edit overheads, the stores' bytes, the two solvers and edits reusing one inversion."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable

import torch

from scripts.benchmark_harness import CallCounter, Size, medians, rel


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
        eight_bit = {
            "cpu bf16": self.invert("cpu", dtype=torch.bfloat16),
            "cpu int8": self.invert("cpu", dtype=torch.int8),
        }
        for mode, case in {**inv, **eight_bit}.items():
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
        bf16_edit = self.edit(eight_bit["cpu bf16"])
        out["cpu int8"]["edit_rel_vs_bf16"] = rel(self.edit(eight_bit["cpu int8"]), bf16_edit)
        out["cpu bf16"]["edit_rel_vs_fp32"] = rel(bf16_edit, self.edit(inv["cpu"]))
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
