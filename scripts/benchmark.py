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

The pieces: benchmark_harness.py (sizes, the pack import, call counting, timing), benchmark_runs.py (the
measured runs), benchmark_paper.py (the FLUX.1-dev formulas), benchmark_print.py (the tables).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

if __package__:  # python -m scripts.NAME
    from scripts.repo_paths import fail
else:  # python scripts/NAME.py
    from repo_paths import fail
from scripts.benchmark_harness import MID, TINY, WALL, load_pack
from scripts.benchmark_paper import paper_table, store_table
from scripts.benchmark_print import print_measured, print_paper, print_store_table
from scripts.benchmark_runs import measure


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
    stores = store_table(mods)
    print_store_table(stores)
    if args.json is not None:
        result = {"measured": res, "wall_seconds": WALL, "paper": rows, "paper_stores": stores}
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
