"""scripts/benchmark.py runs at tiny size and prints sane tables (numbers only, no timing assertions)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("benchmark") / "tiny.json"
    done = subprocess.run(
        [sys.executable, "-m", "scripts.benchmark", "--tiny", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, json.loads(out.read_text())


def test_tables_print(tiny_run):
    stdout, _ = tiny_run
    for heading in (
        "## Measured (CPU, real ComfyUI)",
        "| store mode |",
        "## Paper scale: FLUX.1-dev",
        "| 1024^2 | rf_solver | 61 + 60 = 121 |",
        "| 1024^2 | fireflow | 32 + 31 = 63 |",
    ):
        assert heading in stdout, heading


def test_measured_numbers_are_sane(tiny_run):
    _, result = tiny_run
    res = result["measured"]
    n, t = res["size"]["steps"], res["size"]["structure_steps"]
    solvers = res["solvers"][0]
    assert solvers["steps"] == n
    ratios = (res["inversion"]["ratio"], res["edit"]["ratio"], solvers["time_ratio"], res["reuse"]["ratio"])
    for ratio in ratios:
        assert math.isfinite(ratio) and ratio > 0
    assert res["edit"]["calls"]["none"] == [2 * n, 2 * n]
    assert res["edit"]["calls"]["recompute"] == [2 * n, 2 * n + 2 * (n - t)]  # doubled batch in detail calls
    assert res["edit"]["recompute_vs_recorded"] < 1e-5
    assert solvers["rf_solver"]["calls"] == (2 * n + 1) + 2 * n
    assert solvers["fireflow"]["calls"] == (n + 2) + (n + 1)
    assert 0 < solvers["fireflow"]["error"] < 0.1 and 0 < solvers["rf_solver"]["error"] < 0.1
    assert res["reuse"]["shared_calls"] == (2 * n + 1) + 4 * 2 * n
    assert res["reuse"]["independent_calls"] == 4 * ((2 * n + 1) + 2 * n)
    assert res["reuse"]["same_results"]
    stores = res["stores"]
    assert all(s["match"] for s in stores.values())
    assert stores["cpu"]["recorded"] == stores["device"]["recorded"] == 2 * stores["cpu bf16"]["recorded"] > 0
    assert stores["recompute"]["recorded"] == 0
    assert stores["cpu"]["resident"] * 2 * n == stores["device"]["resident"]  # one call of the 2N recorded
    assert stores["recompute"]["latents"] > stores["cpu"]["latents"]  # + the N midpoint latents


def test_paper_scale_numbers(tiny_run):
    _, result = tiny_run
    rows = {(r["px"], r["solver"]): r for r in result["paper"]}
    big = rows[(1024, "rf_solver")]
    assert big["cpu_resident"] == 18 * 24 * 4096 * 128 * 2 <= 2**30  # one call of m=18 blocks: 432 MiB
    assert big["device"] == 60 * big["cpu_resident"]
    assert big["recompute_resident"] <= 2**30 and big["recompute_host"] == 61 * 2**20
    assert rows[(512, "rf_solver")]["device"] * 4 == big["device"]
    assert rows[(1024, "fireflow")]["edit_calls"] == 31


def test_script_also_runs_as_a_file():
    done = subprocess.run(
        [sys.executable, "scripts/benchmark.py", "--paper-only"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| 512^2 | rf_solver | 61 + 60 = 121 |" in done.stdout and "## Measured" not in done.stdout


def test_pasl_benchmark_times_single_and_refined_masks(capsys):
    from scripts import benchmark_pasl

    res = benchmark_pasl.main(["--size", "64", "--reps", "1"])
    assert set(res) == {"single_1", "refine_1", "single_3", "refine_3"}
    assert all(math.isfinite(v) and v > 0 for v in res.values())
    out = capsys.readouterr().out
    assert "1 sub-prompt(s): single pass" in out and "3 sub-prompt(s)" in out and "x" in out.split("ratio")[1]
