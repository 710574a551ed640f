"""Face locator: a tiny CenterNet-style CNN that finds CelebA face frames (sculptor/face_frames.py).

Input: a photo resized so its longer side is `resolution` (sides multiples of 32), [B,3,H,W] 0..1.
Output at 1/8: [B,6,H/8,W/8] = frame-centre heatmap logit, centre offset inside the cell (2, in cells),
log(frame width / resolution), and the frame angle as (sin, cos). A U-shaped encoder (strides 2..32,
one conv at 1/2 then two per stage, BatchNorm, LeakyReLU) gives the stride-8 head a receptive field as
large as the input, so a face can fill the whole photo or cover 1% of it. Trained on composites of
CelebA faces (scripts/train_face_locator.py).
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

from .face_frames import FaceFrame
from .safetensors_meta import JsonConfig

FORMAT = "flux-sculptor-face-locator"


@dataclass(frozen=True)
class LocatorConfig(JsonConfig):
    resolution: int = 192
    channels: tuple[int, ...] = (16, 32, 64, 96, 128)
    head_dim: int = 64


def _block(c_in: int, c_out: int, stride: int, convs: int = 2) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k in range(convs):
        layers += [
            nn.Conv2d(
                c_in if k == 0 else c_out, c_out, 3, stride=stride if k == 0 else 1, padding=1, bias=False
            ),
            nn.BatchNorm2d(c_out),
            nn.LeakyReLU(0.1),
        ]
    return nn.Sequential(*layers)


class FaceLocator(nn.Module):
    """Photo [B,3,H,W] 0..1 (H, W multiples of 32) -> maps [B,6,H/8,W/8] (see the module docstring)."""

    def __init__(self, config: LocatorConfig | None = None) -> None:
        super().__init__()
        self.config = config or LocatorConfig()
        ch, d = self.config.channels, self.config.head_dim
        self.stages = nn.ModuleList(
            _block(a, b, 2, 1 if i == 0 else 2)
            for i, (a, b) in enumerate(zip((3, *ch[:-1]), ch, strict=True))
        )
        self.lat16, self.lat8 = nn.Conv2d(ch[3], d, 1), nn.Conv2d(ch[2], d, 1)
        self.top = nn.Conv2d(ch[4], d, 1)
        self.fuse16, self.fuse8 = _block(d, d, 1), _block(d, d, 1)
        self.head = nn.Conv2d(d, 6, 1)
        nn.init.constant_(self.head.bias[:1], -4.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        up = F.interpolate(self.top(feats[4]), size=feats[3].shape[-2:], mode="nearest")
        y = self.fuse16(up + self.lat16(feats[3]))
        y = F.interpolate(y, size=feats[2].shape[-2:], mode="nearest")
        return self.head(self.fuse8(y + self.lat8(feats[2])))


def locator_input(photo: torch.Tensor, resolution: int) -> tuple[torch.Tensor, float, float]:
    """Photo [B,3,H,W] -> (input [B,3,h,w] with the longer side `resolution`, sides multiples of 32,
    x scale, y scale) where photo pixel = input pixel * scale."""
    h, w = photo.shape[-2:]
    s = resolution / max(h, w)
    ih, iw = max(32, round(h * s / 32) * 32), max(32, round(w * s / 32) * 32)
    x = F.interpolate(photo.float(), size=(ih, iw), mode="bilinear", antialias=True, align_corners=False)
    return x.clamp(0, 1), w / iw, h / ih


@torch.no_grad()
def decode(
    maps: torch.Tensor, resolution: int, sx: float, sy: float, threshold: float = 0.3, max_faces: int = 16
) -> list[list[FaceFrame]]:
    """Maps [B,6,h,w] -> per image the frames whose heatmap peak (3x3 local maximum) passes `threshold`,
    in photo pixels (input pixel * (sx, sy)), best first."""
    heat = maps[:, 0].sigmoid()
    peak = heat == F.max_pool2d(heat[:, None], 3, stride=1, padding=1)[:, 0]
    out = []
    for b in range(maps.shape[0]):
        scores = torch.where(peak[b], heat[b], torch.zeros_like(heat[b])).flatten()
        top = scores.topk(min(max_faces, scores.numel()))
        frames = []
        for score, idx in zip(top.values.tolist(), top.indices.tolist(), strict=True):
            if score < threshold:
                break
            i, j = divmod(idx, maps.shape[-1])
            m = maps[b, :, i, j].float()
            x, y = (j + 0.5 + float(m[1])) * 8, (i + 0.5 + float(m[2])) * 8
            width = math.exp(float(m[3])) * resolution
            angle = math.atan2(float(m[4]), float(m[5]))
            frames.append(FaceFrame(x * sx, y * sy, width * (sx + sy) / 2, angle, score))
        out.append(frames)
    return out


@torch.no_grad()
def find_frames(model: FaceLocator, photo: torch.Tensor, threshold: float = 0.3) -> list[list[FaceFrame]]:
    """Photo [B,3,H,W] 0..1 -> per image its face frames in photo pixels, best first."""
    device = next(model.parameters()).device
    x, sx, sy = locator_input(photo, model.config.resolution)
    return decode(model(x.to(device)).cpu(), model.config.resolution, sx, sy, threshold)


def save_locator(model: FaceLocator, path: str | Path, extra: dict[str, str] | None = None) -> None:
    meta = {"format": FORMAT, "config": model.config.to_json(), **(extra or {})}
    tensors = {k: v.detach().cpu().float().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(path), metadata=meta)


def load_locator(path: str | Path, device: torch.device | str = "cpu") -> FaceLocator:
    """A face-locator weights file -> eval model; ValueError saying what to do for anything else."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(
            f"face locator weights not found: {p}. Restore pasl_weights/ from the pack "
            "or train them with scripts/train_face_locator.py"
        )
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
        if meta.get("format") != FORMAT:
            raise ValueError(
                f"{p} is not face-locator weights (format={meta.get('format')!r}): "
                "restore the pack's pasl_weights/face_locator.safetensors"
            )
        model = FaceLocator(LocatorConfig.from_json(meta["config"]))
        model.load_state_dict(state)
    except (SafetensorError, OSError, RuntimeError, KeyError) as e:
        raise ValueError(f"{p} holds unusable face-locator weights ({e}): re-copy or re-train them") from e
    return model.to(device).eval()
