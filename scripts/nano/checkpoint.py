"""Compact, resumable training checkpoints: one safetensors file (weights + Adam second moments) with
the trainer's state as JSON in its metadata. No pickled objects anywhere.

Layout: `model.<name>` weights in `weight_dtype`; `adam_sq.<name>` AdamW exp_avg_sq in bfloat16; with
`first_moment=True` also `adam_m.<name>` exp_avg in bfloat16. A missing first moment restarts at zero
(it re-forms within ~1/(1-beta1) = 10 steps); the step count comes from the JSON state.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file


def save_checkpoint(
    path: Path,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    state: dict,
    weight_dtype: torch.dtype = torch.float32,
    first_moment: bool = False,
) -> None:
    """Write atomically (tmp file + rename) so a killed job never leaves a half-written checkpoint."""
    tensors: dict[str, torch.Tensor] = {}
    names = {id(p): n for n, p in model.named_parameters()}
    for name, p in model.named_parameters():
        tensors[f"model.{name}"] = p.detach().to(weight_dtype).contiguous()
    for group in opt.param_groups:
        for p in group["params"]:
            st = opt.state.get(p, {})
            if "exp_avg_sq" in st:
                tensors[f"adam_sq.{names[id(p)]}"] = st["exp_avg_sq"].to(torch.bfloat16).contiguous()
                if first_moment:
                    tensors[f"adam_m.{names[id(p)]}"] = st["exp_avg"].to(torch.bfloat16).contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"state": json.dumps(state)})
    os.replace(tmp, path)


def load_checkpoint(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer | None) -> dict:
    """Restore weights (and AdamW moments when `opt` is given) in place; returns the JSON state."""
    with safe_open(str(path), framework="pt") as f:
        state = json.loads(f.metadata()["state"])
        keys = set(f.keys())
        params = dict(model.named_parameters())
        missing = [n for n in params if f"model.{n}" not in keys]
        if missing:
            raise ValueError(
                f"{path} does not match this model (missing {missing[:3]}...): "
                "resume with the same architecture options it was trained with"
            )
        with torch.no_grad():
            for name, p in params.items():
                p.copy_(f.get_tensor(f"model.{name}").to(p.dtype))
        if opt is None:
            return state
        step = torch.tensor(float(state.get("step", 0)))
        for name, p in params.items():
            if f"adam_sq.{name}" not in keys:
                continue
            sq = f.get_tensor(f"adam_sq.{name}").to(p.dtype)
            m = (
                f.get_tensor(f"adam_m.{name}").to(p.dtype)
                if f"adam_m.{name}" in keys
                else torch.zeros_like(p)
            )
            opt.state[p] = {"step": step.clone(), "exp_avg": m, "exp_avg_sq": sq}
    return state


def read_state(path: Path) -> dict:
    with safe_open(str(path), framework="pt") as f:
        return json.loads(f.metadata()["state"])
