"""S2D-EC fusion rules (paper sec. 3.4): structure-stage latent fusion and detail-stage value fusion.

Masks: 1 = edit, 0 = keep. All functions are pure and keep the input dtype.
"""

from __future__ import annotations

from torch import Tensor


def interpolated_source(clean: Tensor, noise: Tensor, t: float) -> Tensor:
    """Eq. 10: the source latent at time t on the straight path, (1 - t) Z_clean + t Z_noise. [B,C,h,w]"""
    return (1.0 - t) * clean + t * noise


def fuse_latents(edited: Tensor, source: Tensor, mask: Tensor) -> Tensor:
    """Eq. 13: Z = M * Z_edit + (1 - M) * Z_source.

    edited, source: [B,C,h,w]; mask: [B or 1, 1, h, w] soft mask at latent resolution.
    """
    return mask * edited + (1.0 - mask) * source


def fuse_values(v_edit: Tensor, v_source: Tensor, token_mask: Tensor) -> Tensor:
    """Eq. 15-16: V_img = M_tok * V_edit + (1 - M_tok) * V_source, image tokens only.

    v_edit, v_source: [B, heads, N_img, head_dim]; token_mask: [B or 1, N_img] on the 2x2 token grid.
    """
    weight = token_mask[:, None, :, None].to(v_edit.dtype)
    return weight * v_edit + (1.0 - weight) * v_source
