"""RF-Solver / FireFlow properties on analytic velocity fields (plain torch, no ComfyUI)."""

import math

import pytest
import torch

from sculptor.solver import CallKey, denoise, invert, midpoint, model_calls


def linear_field(x, t, key):
    """dx/dt = (sin(3t) + 0.5) x, so x(1) = x(0) exp((1 - cos 3) / 3 + 0.5)."""
    return (math.sin(3 * t) + 0.5) * x


EXACT_GROWTH = math.exp((1 - math.cos(3.0)) / 3 + 0.5)


def schedule(n: int) -> list[float]:
    """Flux-like shifted schedule, descending 1 -> 0."""
    s = [1 - i / n for i in range(n + 1)]
    return [math.exp(1.15) / (math.exp(1.15) + 1 / t - 1) if t > 0 else 0.0 for t in s]


def inversion_error(n: int, solver: str) -> float:
    x0 = torch.linspace(-1, 1, 7, dtype=torch.float64)
    noise = invert(linear_field, x0, schedule(n), solver)[0]
    return float((noise - x0 * EXACT_GROWTH).abs().max())


def euler_error(n: int) -> float:
    x = torch.linspace(-1, 1, 7, dtype=torch.float64)
    x0 = x.clone()
    s = schedule(n)[::-1]
    for a, b in zip(s[:-1], s[1:], strict=False):
        x = x + (b - a) * linear_field(x, a, None)
    return float((x - x0 * EXACT_GROWTH).abs().max())


@pytest.mark.parametrize("solver", ["rf_solver", "fireflow"])
def test_global_error_is_second_order(solver):
    errors = [inversion_error(n, solver) for n in (20, 40, 80)]
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    assert min(ratios) >= 3.5, (errors, ratios)
    euler = [euler_error(n) for n in (20, 40, 80)]
    assert 1.6 < euler[1] / euler[2] < 2.5  # the first-order reference really is first order
    assert errors[2] < euler[2] / 20


def test_round_trip_returns_to_the_start_and_converges():
    x0 = torch.linspace(-1, 1, 5, dtype=torch.float64)
    errs = []
    for n in (8, 16, 32):
        s = schedule(n)
        back = denoise(linear_field, invert(linear_field, x0, s)[0], s)
        errs.append(float((back - x0).abs().max()))
    assert errs[0] / errs[1] > 3.5 and errs[1] / errs[2] > 3.5, errs


def test_call_keys_of_inversion_and_editing_align_at_equal_sigmas():
    s = schedule(6)
    inv_calls, edit_calls = {}, {}

    def recorder(log):
        def v(x, t, key):
            log.setdefault(key, []).append(t)
            return x * 0.1

        return v

    invert(recorder(inv_calls), torch.ones(2), s)
    denoise(recorder(edit_calls), torch.ones(2), s)
    assert len(inv_calls) == 12 and len(edit_calls) == 12
    assert set(edit_calls) - set(inv_calls) == {CallKey("at", 0)}  # sigma 1: the inversion's extra call
    for key in set(edit_calls) & set(inv_calls):
        assert inv_calls[key] == edit_calls[key]  # bitwise-equal sigma
        expected = s[key.index] if key.kind == "at" else midpoint(s, key.index)
        assert edit_calls[key] == [expected]


def test_fireflow_makes_one_call_per_step_after_the_first():
    count = {"n": 0}

    def v(x, t, key):
        count["n"] += 1
        return -x

    invert(v, torch.ones(3), schedule(10), "fireflow")
    assert count["n"] == model_calls(10, "fireflow") == 11
    count["n"] = 0
    invert(v, torch.ones(3), schedule(10), "rf_solver")
    assert count["n"] == model_calls(10, "rf_solver") == 20


def test_visited_latents_are_indexed_like_the_schedule():
    x0 = torch.tensor([1.0], dtype=torch.float64)
    s = schedule(40)
    visited = invert(linear_field, x0, s)
    assert visited[40] is x0
    for j, x in enumerate(visited):
        exact = x0 * math.exp((math.cos(0) - math.cos(3 * s[j])) / 3 + 0.5 * s[j])
        assert torch.allclose(x, exact, rtol=2e-3), j
