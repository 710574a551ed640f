"""RF-Solver and FireFlow steps for rectified flow, and the inversion / editing loops.

Conventions (as in ComfyUI's Flux): x_t = (1 - t) x_clean + t noise, sigma == t, the model predicts the
velocity v = dx/dt. `sigmas` is ComfyUI's descending schedule [B] -> length N + 1, sigmas[0] = 1 (noise),
sigmas[N] = 0 (image). Latents are [B, C, h, w] in the model's internal (process_latent_in) space.

Every model call carries a `CallKey`, so values recorded during inversion can be fetched by the editing
call made at exactly the same sigma:
- ("at", j): a call at schedule sigma sigmas[j];
- ("mid", j): the midpoint call between sigmas[j] and sigmas[j + 1], at 0.5 * (sigmas[j] + sigmas[j + 1]).
An editing step j (sigmas[j] -> sigmas[j+1]) calls ("at", j) and ("mid", j); the inversion step that
undoes it (sigmas[j+1] -> sigmas[j]) calls ("at", j + 1) and ("mid", j).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from torch import Tensor

SOLVERS = ("rf_solver", "fireflow")
Solver = Literal["rf_solver", "fireflow"]


@dataclass(frozen=True)
class CallKey:
    kind: Literal["at", "mid"]
    index: int

    def __str__(self) -> str:
        return f"{self.kind}{self.index}"


Velocity = Callable[[Tensor, float, CallKey], Tensor]
"""v = velocity(x [B,C,h,w], sigma, key) -> [B,C,h,w]."""


def midpoint(sigmas: list[float], j: int) -> float:
    """The sigma of call ("mid", j); the same expression in both directions, so keys match bitwise."""
    return 0.5 * (sigmas[j] + sigmas[j + 1])


def rf_solver_step(
    velocity: Velocity,
    x: Tensor,
    t: float,
    t_next: float,
    key_t: CallKey,
    key_mid: CallKey,
    t_mid: float,
    v: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One second-order RF-Solver step from t to t_next (either direction); returns (x_next, v_mid).

    Paper eq. 5-6: x_{t+dt} = x_t + dt v(x_t, t) + 1/2 dt^2 v'(x_t, t), with the time derivative
    v' ~= (v(x_mid, t_mid) - v(x_t, t)) / (t_mid - t) taken at the midpoint x_mid = x_t + (t_mid - t) v.
    Pass `v` to reuse a velocity already known at (x, t) instead of calling the model (FireFlow).
    """
    dt = t_next - t
    if v is None:
        v = velocity(x, t, key_t)
    x_mid = x + (t_mid - t) * v
    v_mid = velocity(x_mid, t_mid, key_mid)
    dv_dt = (v_mid - v) / (t_mid - t)
    return x + dt * v + 0.5 * dt**2 * dv_dt, v_mid


def schedule_step(
    velocity: Velocity, x: Tensor, sigmas: list[float], j: int, v: Tensor | None, inverse: bool = False
) -> tuple[Tensor, Tensor]:
    """RF-Solver step j of the schedule: sigmas[j] -> sigmas[j + 1] with calls ("at", j), ("mid", j), or
    with `inverse` the inversion step that undoes it, sigmas[j + 1] -> sigmas[j] with ("at", j + 1),
    ("mid", j). Returns (x_next, v_mid)."""
    t, t_next, key_t = (
        (sigmas[j + 1], sigmas[j], CallKey("at", j + 1))
        if inverse
        else (sigmas[j], sigmas[j + 1], CallKey("at", j))
    )
    return rf_solver_step(velocity, x, t, t_next, key_t, CallKey("mid", j), midpoint(sigmas, j), v)


def invert(
    velocity: Velocity,
    x_clean: Tensor,
    sigmas: list[float],
    solver: Solver = "rf_solver",
    on_step: Callable[[int, Tensor], None] | None = None,
) -> list[Tensor]:
    """Solve image -> noise over the reversed schedule (paper sec. 3.2, RF-Solver inversion).

    Returns the visited latents, indexed like the schedule: out[j] is the latent at sigmas[j], so out[N]
    is x_clean and out[0] the inverted noise. FireFlow reuses the previous midpoint velocity as the next
    step's start velocity (one model call per step after the first). on_step(done_steps, x) after each step.
    """
    n = len(sigmas) - 1
    visited: list[Tensor] = [x_clean] * (n + 1)
    x, v = x_clean, None
    for step, j in enumerate(range(n - 1, -1, -1), start=1):
        x, v_mid = schedule_step(velocity, x, sigmas, j, v, inverse=True)
        v = v_mid if solver == "fireflow" else None
        visited[j] = x
        if on_step is not None:
            on_step(step, x)
    return visited


def denoise(
    velocity: Velocity,
    x_noise: Tensor,
    sigmas: list[float],
    solver: Solver = "rf_solver",
    after_step: Callable[[int, Tensor], Tensor] | None = None,
) -> Tensor:
    """Solve noise -> image over the schedule; after_step(j, x) may replace the latent after step j
    (S2D-EC's structure-stage fusion, eq. 13). Reconstruction when velocity is the source's."""
    x, v = x_noise, None
    for j in range(len(sigmas) - 1):
        x, v_mid = schedule_step(velocity, x, sigmas, j, v)
        v = v_mid if solver == "fireflow" else None
        if after_step is not None:
            x = after_step(j, x)
    return x


def model_calls(steps: int, solver: Solver, record_final: bool = False) -> int:
    """Model calls of one solve over `steps` steps (+1 for the inversion's recording call at sigma 1)."""
    calls = 2 * steps if solver == "rf_solver" else steps + 1
    return calls + int(record_final)
