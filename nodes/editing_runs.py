"""The two Flux-Sculptor procedures on a ComfyUI Flux MODEL: RF-Solver inversion with V recording, and
S2D-EC editing (checks, hooks and schedule here; the solver loops are sculptor/solver.py's, driven by
nodes/comfy_sampling.py)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ..sculptor.inversion import Inversion, SourcePath
from ..sculptor.masks import edit_masks, token_count
from ..sculptor.memory_plan import recorded_calls
from ..sculptor.s2dec import Fusion, FusionPlan, fusion_plan, structure_fusion
from ..sculptor.solver import CallKey, Solver, denoise, invert
from ..sculptor.value_store import CallReader, ValueStore
from .checks import (
    check_flux,
    check_inversion_settings,
    check_recorded_steps,
    check_same_model,
    check_source_latent,
    check_structure_steps,
    model_identity,
)
from .comfy_sampling import Loop, LoopSampler, flux_sigmas, run_loop, velocity_clone, with_guidance
from .flux_hooks import ValueHook, last_single_blocks
from .recompute import SourceInputs, install_source_branch
from .recording import InversionRecorder, ValueRecording
from .store_auto import auto_store, planned_bytes

Observer = Callable[..., None]
"""observer(action, key, block, v_before, v_after), see ValueHook."""


def run_inversion(
    model,
    latent: dict,
    conditioning: list,
    *,
    steps: int,
    guidance: float,
    value_blocks: int,
    store: str,
    solver: Solver = "rf_solver",
    store_dtype: torch.dtype | None = None,
    record_from_step: int = 0,
    preview: bool = True,
) -> Inversion:
    """RF-Solver inversion of latent["samples"] [B,16,h,w] with V recording (paper sec. 3.2).

    store "auto" picks device / cpu / recompute from the values' bytes and the free memory
    (nodes/store_auto.py); only calls of steps j >= record_from_step are recorded (the editor fuses
    values from its structure_steps T on, so T is the useful value)."""
    diffusion = check_flux(model, conditioning)
    samples = check_source_latent(latent)
    check_inversion_settings(diffusion, steps, value_blocks, record_from_step)
    cond = with_guidance(conditioning, guidance)
    sigmas = flux_sigmas(model, steps)
    schedule = sigmas.tolist()
    blocks = last_single_blocks(diffusion, value_blocks)
    tokens = token_count(*samples.shape[-2:])
    if store == "auto":
        calls = recorded_calls(steps, solver, record_from_step)
        store = auto_store(model, planned_bytes(model, diffusion, samples, calls, value_blocks, store_dtype))
    values = ValueStore(tuple(sorted(blocks)), store, store_dtype)
    recorder = inversion_recorder(values, blocks, tokens, steps, record_from_step)
    clone = velocity_clone(model)
    recorder.install(clone)
    visited: list[Tensor] = []

    def loop(velocity, x_clean, progress):
        latents = invert(recorder.velocity(velocity), x_clean, schedule, solver, on_step=progress)
        recorder.after_inversion(velocity, latents[0], schedule[0])
        visited.extend(values.keep(t) for t in latents)
        return latents[0]

    noise = run_loop(clone, cond, samples, sigmas, LoopSampler(loop, recorder.hook), preview)
    return Inversion(
        sigmas=schedule,
        solver=solver,
        guidance=guidance,
        model_identity=model_identity(model),
        source_conditioning=cond,
        source_samples=samples,
        noise_samples=noise,
        latents=visited,
        midpoints=recorder.finish(),
        store=values,
        value_blocks=blocks,
        record_from_step=0 if values.recompute else record_from_step,
    )


def inversion_recorder(
    values: ValueStore, blocks: frozenset[int], tokens: int, steps: int, record_from_step: int
) -> InversionRecorder:
    """What the inversion keeps for the editor: the source inputs for store "recompute", else the values
    V_img of `blocks` (nodes/recording.py)."""
    if values.recompute:
        return SourceInputs(values.keep)
    return ValueRecording(blocks, tokens, values, steps, record_from_step)


def run_edit(
    model,
    inversion: Inversion,
    conditioning: list,
    *,
    mask: Tensor | None = None,
    structure_steps: int,
    guidance: float,
    fusion: Fusion = "s2d-ec",
    source_path: SourcePath = "inversion",
    strength: float = 1.0,
    preview: bool = True,
    on_step: Callable[[int, Tensor], None] | None = None,
    observers: list[Observer] | None = None,
) -> Tensor:
    """S2D-EC editing from the inverted noise (paper sec. 3.4); returns the user-space LATENT samples.

    mask: MASK [B|1,H,W], 1 = edit (None: the whole image). strength in 0..1 scales the mask's weight in
    both fusions (1: the mask as given; 0: an empty mask, i.e. the reconstruction).
    Diagnostics: on_step(j, x) sees the model-space latent after step j (after eq. 13 fusion); observers
    see every value fusion (ValueHook)."""
    check_flux(model, conditioning)
    check_same_model(inversion.model_identity, model)
    if fusion != "none":
        check_structure_steps(structure_steps, inversion.steps)
    plan = fusion_plan(fusion, structure_steps, inversion.steps)
    check_recorded_steps(fusion, plan.value_from, inversion.record_from_step)
    latent_mask, token_mask = scaled_masks(edit_masks(mask, inversion.clean), strength)
    if not latent_mask.any():  # nothing to edit: solve with the source prompt instead
        conditioning, guidance = inversion.source_conditioning, inversion.guidance
    clone = velocity_clone(model)
    hook = value_fusion_hook(inversion, plan, token_mask, observers)
    branch = None
    if hook is not None:
        hook.install(clone)
        if inversion.store.recompute:  # V_source from the source branch, batched with the edit in fused calls
            branch = install_source_branch(clone, hook, inversion, plan.fuses_values)
    loop = edit_loop(inversion, structure_fusion(inversion, latent_mask, plan, source_path), on_step)
    sampler = LoopSampler(loop, hook, branch.call_options if branch else None)
    return run_loop(
        clone,
        with_guidance(conditioning, guidance),
        inversion.source_samples,
        torch.tensor(inversion.sigmas, dtype=torch.float32),
        sampler,
        preview,
        negative=inversion.source_conditioning if branch else None,
    )


def scaled_masks(masks: tuple[Tensor, Tensor], strength: float) -> tuple[Tensor, Tensor]:
    """(latent mask [B|1,1,h,w], token mask [B|1,N_img]) with their weights times `strength` in 0..1;
    strength 1 returns them untouched (bit for bit today's edit)."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(
            f"strength must be between 0 and 1 (1 = the full edit, 0 = the reconstruction); got {strength}."
        )
    if strength == 1.0:
        return masks
    return masks[0] * strength, masks[1] * strength


def value_fusion_hook(
    inversion: Inversion, plan: FusionPlan, token_mask: Tensor, observers: list[Observer] | None
) -> ValueHook | None:
    """The detail stage's hook (eq. 15-16 in the calls plan.fuses_values picks), or None if no call fuses."""
    if plan.value_from is None:
        return None

    def schedule(key: CallKey) -> str:
        return "fuse" if plan.fuses_values(key) else "off"

    return ValueHook(
        inversion.value_blocks,
        token_mask.shape[1],
        schedule,
        token_mask=token_mask,
        source_values=CallReader(inversion.store).get,
        observers=list(observers or []),
        recompute=inversion.store.recompute,
    )


def edit_loop(
    inversion: Inversion,
    fuse_structure: Callable[[int, Tensor], Tensor],
    on_step: Callable[[int, Tensor], None] | None,
) -> Loop:
    """The S2D-EC loop: denoise from the inverted noise, eq. 13 after each structure-stage step."""

    def loop(velocity, x_start: Tensor, progress):
        def after_step(j: int, x: Tensor) -> Tensor:
            x = fuse_structure(j, x)  # eq. 13 in the structure stage, identity afterwards
            if on_step is not None:
                on_step(j, x)
            progress(j + 1, x)
            return x

        x_noise = inversion.noise.to(device=x_start.device, dtype=x_start.dtype)
        return denoise(velocity, x_noise, inversion.sigmas, inversion.solver, after_step)

    return loop
