"""Metrics of scripts/evaluate_edits.py, plain numpy + scipy.

Images are float [H,W,3] in 0..1, masks bool [H,W].

- psnr(a, b, where): PSNR over the pixels of `where` (all pixels when None), peak 1.
- ssim(a, b, where): mean of the SSIM map (Gaussian window, sigma 1.5, on each channel) over `where`.
- rgb_to_lab: sRGB (D65) -> CIE Lab, the colour space of the effect measure.
- effect(out, ref, goal, region): how far the edit moved the region's mean Lab colour toward a goal image's
  (0 = not at all, 1 = all the way): <dL, d> / |d|^2, dL = mean Lab(out) - mean Lab(ref) in the region,
  d = mean Lab(goal) - mean Lab(ref) there.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    err = (np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2
    err = err.mean(axis=-1)
    mse = float(err[where].mean() if where is not None else err.mean())
    return float(10 * np.log10(1.0 / max(mse, 1e-12)))


def ssim(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None, sigma: float = 1.5) -> float:
    """Wang et al. SSIM map (C1 = 0.01^2, C2 = 0.03^2), averaged over channels, then over `where`."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    blur = lambda x: ndimage.gaussian_filter(x, (sigma, sigma, 0), truncate=3.5)  # noqa: E731
    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    smap = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    smap = smap.mean(axis=-1)
    return float(smap[where].mean() if where is not None else smap.mean())


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB [...,3] in 0..1 -> CIE Lab [...,3] (D65 white; L in 0..100)."""
    rgb = np.asarray(rgb, np.float64)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def mean_lab(img: np.ndarray, region: np.ndarray) -> np.ndarray:
    return rgb_to_lab(img)[region].mean(axis=0)


def effect(out: np.ndarray, ref: np.ndarray, goal: np.ndarray, region: np.ndarray) -> float:
    if not region.any():
        raise ValueError("effect needs a non-empty region")
    d = mean_lab(goal, region) - mean_lab(ref, region)
    moved = mean_lab(out, region) - mean_lab(ref, region)
    return float(moved @ d / max(float(d @ d), 1e-9))


def outside(region: np.ndarray, margin: int) -> np.ndarray:
    """Pixels farther than `margin` px (chessboard distance) from the region: bool [H,W]."""
    square = np.ones((3, 3), bool)
    return ~ndimage.binary_dilation(region, square, iterations=margin) if margin > 0 else ~region
