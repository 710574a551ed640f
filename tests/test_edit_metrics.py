"""scripts/nano/edit_metrics.py: the edit evaluation's metrics have the properties its report relies on."""

from __future__ import annotations

import numpy as np
import pytest

from scripts.nano.edit_metrics import effect, outside, psnr, rgb_to_lab, ssim


def face(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.2, 0.8, (32, 32, 3)).astype(np.float32)


def test_psnr_counts_only_the_given_pixels() -> None:
    a = face()
    b = a.copy()
    b[:8] += 0.1  # error only in the top 8 rows
    where = np.zeros((32, 32), bool)
    where[16:] = True
    assert psnr(a, a) > 100 and psnr(a, b, where) > 100
    assert psnr(a, b) == pytest.approx(10 * np.log10(1 / (0.01 / 4)), abs=1e-3)


def test_ssim_is_one_for_equal_images_and_drops_with_noise() -> None:
    a = face()
    noisy = np.clip(a + np.random.default_rng(1).normal(0, 0.1, a.shape), 0, 1)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-9)
    assert ssim(a, noisy) < 0.9


def test_lab_of_reference_colours() -> None:
    lab = rgb_to_lab(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]))
    assert lab[0] == pytest.approx([100, 0, 0], abs=0.05)
    assert lab[1] == pytest.approx([0, 0, 0], abs=1e-6)
    assert lab[2] == pytest.approx([53.24, 80.09, 67.20], abs=0.1)  # sRGB red, D65


def test_effect_is_zero_at_the_reference_one_at_the_goal_and_linear_between() -> None:
    ref = face()
    region = np.zeros((32, 32), bool)
    region[10:20, 10:20] = True
    goal = ref.copy()
    goal[region] = [0.8, 0.05, 0.1]
    half = ref.copy()
    half[region] = 0.5 * ref[region] + 0.5 * goal[region]
    assert effect(ref, ref, goal, region) == pytest.approx(0.0, abs=1e-9)
    assert effect(goal, ref, goal, region) == pytest.approx(1.0, abs=1e-9)
    assert 0.3 < effect(half, ref, goal, region) < 0.7  # Lab is not linear in RGB, but monotone here
    away = ref.copy()
    away[region] = [0.05, 0.6, 0.9]  # blue-green: away from the red goal
    assert effect(away, ref, goal, region) < 0
    with pytest.raises(ValueError, match="non-empty region"):
        effect(ref, ref, goal, np.zeros((32, 32), bool))


def test_outside_leaves_a_margin_around_the_region() -> None:
    region = np.zeros((32, 32), bool)
    region[15, 15] = True
    keep = outside(region, 3)
    assert not keep[12:19, 12:19].any() and keep[11, 15] and keep[15, 19] and keep.sum() == 32 * 32 - 49
    assert (outside(region, 0) == ~region).all()
