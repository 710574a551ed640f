"""PASL, the Prompt-Aligned Spatial Locator: a CNN image encoder, an MLP text projector, a dot product.

Paper Table 4/5: six 3x3 convolutions 3->64->128->256->512->512->512 (strides 1,2,2,2,1,1, padding 1,
LeakyReLU between them), MLP text_dim->1024 (ReLU)->512, and mask = sigmoid(sum_c f_img * f_txt) at 1/8
of the input resolution. Two details the paper leaves open are fixed here: the text feature is
L2-normalised before the projector (so both encoders' raw vectors can be fed as they come), and the
channel sum is divided by sqrt(512), a constant that keeps the initial logits in sigmoid's linear range.
Fully convolutional: any H, W that are multiples of 8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from .safetensors_meta import JsonConfig, safetensors_metadata

FORMAT = "flux-sculptor-pasl"
FORMAT_VERSION = "1"


@dataclass(frozen=True)
class PASLConfig(JsonConfig):
    """Architecture plus the facts a weights file must carry about how it was trained."""

    encoder: str = "minilm"
    text_dim: int = 384
    resolution: int = 256
    channels: tuple[int, ...] = (64, 128, 256, 512, 512, 512)
    strides: tuple[int, ...] = (1, 2, 2, 2, 1, 1)
    hidden_dim: int = 1024
    negative_slope: float = 0.2

    @property
    def feature_dim(self) -> int:
        return self.channels[-1]

    @property
    def downsample(self) -> int:
        return math.prod(self.strides)


class PASL(nn.Module):
    """Image [B,3,H,W] in 0..1 and text features [P,text_dim] (or [B,P,text_dim]) -> logits [B,P,H/8,W/8]."""

    def __init__(self, config: PASLConfig | None = None) -> None:
        super().__init__()
        self.config = config or PASLConfig()
        layers: list[nn.Module] = []
        c_in = 3
        for i, (c, s) in enumerate(zip(self.config.channels, self.config.strides, strict=True)):
            layers.append(nn.Conv2d(c_in, c, 3, stride=s, padding=1))
            if i < len(self.config.channels) - 1:
                layers.append(nn.LeakyReLU(self.config.negative_slope))
            c_in = c
        self.image_encoder = nn.Sequential(*layers)
        self.text_projector = nn.Sequential(
            nn.Linear(self.config.text_dim, self.config.hidden_dim),
            nn.ReLU(),
            nn.Linear(self.config.hidden_dim, self.config.feature_dim),
        )

    def image_features(self, image: torch.Tensor) -> torch.Tensor:
        """Image [B,3,H,W] 0..1 -> features [B,512,H/8,W/8]."""
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"PASL expects images [B,3,H,W], got {tuple(image.shape)}")
        h, w = image.shape[-2:]
        d = self.config.downsample
        if h % d or w % d:
            raise ValueError(f"PASL needs H and W divisible by {d}, got {h}x{w}: resize the image first")
        return self.image_encoder(image * 2.0 - 1.0)

    def text_features(self, text: torch.Tensor) -> torch.Tensor:
        """Raw encoder vectors [...,text_dim] -> projected features [...,512]."""
        if text.shape[-1] != self.config.text_dim:
            raise ValueError(
                f"these PASL weights expect {self.config.text_dim}-d text features of encoder "
                f"'{self.config.encoder}', got {text.shape[-1]}-d: use the matching text encoder"
            )
        return self.text_projector(F.normalize(text.float(), dim=-1))

    def logits_from(self, feats: torch.Tensor, txt: torch.Tensor) -> torch.Tensor:
        """feats [B,C,h,w], projected text [P,C] or [B,P,C] -> logits [B,P,h,w] (pre-sigmoid mask)."""
        eq = "bchw,pc->bphw" if txt.ndim == 2 else "bchw,bpc->bphw"
        return torch.einsum(eq, feats, txt) / math.sqrt(self.config.feature_dim)

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return self.logits_from(self.image_features(image), self.text_features(text))


def save_pasl(
    model: PASL, path: str | Path, dtype: torch.dtype = torch.float16, extra: dict[str, str] | None = None
) -> None:
    """Write weights (cast to `dtype`) and the config as safetensors metadata."""
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "encoder": model.config.encoder,
        "text_dim": str(model.config.text_dim),
        "resolution": str(model.config.resolution),
        "config": model.config.to_json(),
        **(extra or {}),
    }
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(path), metadata=meta)


def read_metadata(path: str | Path) -> dict[str, str]:
    """Metadata of a PASL weights file; ValueError (saying what to do) for anything that is not one."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(
            f"PASL weights file not found: {p}. Put a .safetensors file in pasl_weights/ "
            "(or ComfyUI's models/pasl) or pass an existing path"
        )
    advice = "it may be truncated or of another format: re-copy or re-train the PASL weights"
    meta = safetensors_metadata(p, str(p), advice)
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{p} is a safetensors file but not PASL weights (metadata format="
            f"{meta.get('format')!r}, expected {FORMAT!r}): choose a PASL weights file"
        )
    return meta


def load_pasl(path: str | Path, encoder: str | None = None, device: torch.device | str = "cpu") -> PASL:
    """Load a PASL weights file as float32 eval model; `encoder` if given must match the file's."""
    meta = read_metadata(path)
    config = PASLConfig.from_json(meta["config"])
    if encoder is not None and encoder != config.encoder:
        raise ValueError(
            f"{Path(path).name} was trained with text encoder '{config.encoder}', not "
            f"'{encoder}': pick weights trained for '{encoder}' or switch the encoder"
        )
    model = PASL(config)
    try:
        with safe_open(str(path), framework="pt") as f:
            state = {k: f.get_tensor(k).float() for k in f.keys()}
        model.load_state_dict(state)
    except (SafetensorError, RuntimeError) as e:
        raise ValueError(
            f"{path} holds PASL metadata but unusable tensors ({e}): the file is "
            "truncated or does not match its config; re-train or re-copy it"
        ) from e
    return model.to(device).eval()
