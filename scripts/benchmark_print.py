"""The benchmark's Markdown tables (scripts/benchmark.py): measured results and the paper-scale rows."""

from __future__ import annotations

from scripts.benchmark_paper import FLUX_DEV, GIB, MACHINES, MIB


def print_store_table(rows: list[dict]) -> None:
    d = FLUX_DEV
    print(
        f"\n## Paper scale: recorded values per store dtype (FLUX.1-dev, N={d['steps']}, "
        f"m={d['value_blocks']}, batch 1; int8 = 1 byte + a bf16 scale per {d['head_dim']} values) "
        "and store=auto's pick"
    )
    row(
        "image",
        "solver",
        "record_from_step",
        "recorded calls",
        "bf16",
        "int8",
        *(f"auto on {m}: bf16 / int8" for m in MACHINES),
    )
    row(*["---"] * (6 + len(MACHINES)))
    for r in rows:
        row(
            f"{r['px']}^2",
            r["solver"],
            r["record_from_step"],
            r["calls"],
            fmt_bytes(r["bf16"]),
            fmt_bytes(r["int8"]),
            *(f"{p['bf16']} / {p['int8']}" for p in r["auto"].values()),
        )


def fmt_bytes(b: float) -> str:
    return f"{b / GIB:.2f} GiB" if b >= GIB else f"{b / MIB:.1f} MiB" if b >= MIB else f"{b / 1024:.1f} KiB"


def row(*cells: object) -> None:
    print("| " + " | ".join(str(c) for c in cells) + " |")


def print_measured(res: dict) -> None:
    """The measured figures against their goals, then the stores (print_stores)."""
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
    print_stores(res["stores"])


def print_stores(stores: dict) -> None:
    """The measured stores' bytes per mode against the formula, and the 8-bit stores' edit differences."""
    row("store mode", "recorded V bytes", "formula", "match", "V bytes on the model device", "host latents")
    row(*["---"] * 6)
    for mode, st in stores.items():
        match = "yes" if st["match"] else "NO"
        row(mode, st["recorded"], st["formula"], match, st["resident"], st["latents"])
    print(
        f"\nEdit (final latent) relative difference: int8 store vs bf16 store "
        f"{stores['cpu int8']['edit_rel_vs_bf16']:.2e}; bf16 store vs float32 store "
        f"{stores['cpu bf16']['edit_rel_vs_fp32']:.2e}"
    )


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
