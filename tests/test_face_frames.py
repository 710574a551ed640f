"""Face frames, crops and paste-back (pure sculptor/, no ComfyUI): the geometry of PASL on whole photos."""

from __future__ import annotations

import math

import pytest
import torch

from sculptor.face_frames import CROP_H, CROP_W, FaceFrame, crop_faces, face_box, paste_masks


def inside(frame: FaceFrame, h: int, w: int, shrink: float = 1.0) -> torch.Tensor:
    """[h,w] bool: pixel centres inside the frame's rotated rectangle scaled by `shrink`."""
    yy, xx = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    c, s = math.cos(frame.angle), math.sin(frame.angle)
    dx, dy = xx - frame.cx, yy - frame.cy
    u, v = c * dx + s * dy, -s * dx + c * dy
    return (u.abs() < shrink * frame.width / 2) & (v.abs() < shrink * frame.height / 2)


@pytest.mark.parametrize("angle_deg", [0.0, 17.0, -30.0])
def test_a_pasted_full_mask_covers_exactly_the_rotated_frame(angle_deg: float) -> None:
    fr = FaceFrame(cx=70.3, cy=52.8, width=41.0, angle=math.radians(angle_deg))
    pasted = paste_masks(torch.ones(1, 64, 52), fr, 120, 150)[0]
    assert torch.all(pasted[inside(fr, 120, 150, 0.9)] > 0.99)
    assert torch.all(pasted[~inside(fr, 120, 150, 1.1)] == 0)
    assert abs(float(pasted.sum()) - fr.width * fr.height) < 0.06 * fr.width * fr.height


@pytest.mark.parametrize("angle_deg", [0.0, 12.0, -25.0])
def test_crop_then_paste_is_the_identity_inside_the_frame(angle_deg: float) -> None:
    """Paste is the inverse of the crop: a smooth photo cropped and pasted back reproduces itself."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 200), torch.linspace(0, 1, 240), indexing="ij")
    photo = torch.stack([torch.sin(6 * xx) * 0.5 + 0.5, torch.cos(5 * yy) * 0.5 + 0.5, xx * yy])
    fr = FaceFrame(cx=118.0, cy=95.0, width=70.0, angle=math.radians(angle_deg))
    crop = crop_faces(photo, [fr], (256, 208))
    assert crop.shape == (1, 3, 256, 208)
    back = paste_masks(crop[0], fr, 200, 240)
    sel = inside(fr, 200, 240, 0.9)
    assert float((back[:, sel] - photo[:, sel]).abs().max()) < 0.03


def test_the_crop_puts_a_marked_spot_where_the_frame_says() -> None:
    """A bright dot at the frame's point (u, v) = (0.5, -0.5) of its half-size lands at that crop position,
    turned with the frame; and the big-face path (antialiased window) agrees."""
    for width in (60.0, 900.0):
        fr = FaceFrame(cx=500.0, cy=420.0, width=width, angle=math.radians(20))
        c, s = math.cos(fr.angle), math.sin(fr.angle)
        du, dv = 0.5 * fr.width / 2, -0.5 * fr.height / 2
        px, py = fr.cx + c * du - s * dv, fr.cy + s * du + c * dv
        photo = torch.zeros(3, 1000, 1000)
        r = max(2, int(width / 40))
        photo[:, round(py) - r : round(py) + r, round(px) - r : round(px) + r] = 1
        ex, ey = round(px) - fr.cx, round(py) - fr.cy  # the dot's centre, relative to the frame's
        u, v = (c * ex + s * ey) / (fr.width / 2), (-s * ex + c * ey) / (fr.height / 2)
        crop = crop_faces(photo, [fr], (CROP_H, CROP_W))[0, 0]
        yy, xx = torch.meshgrid(torch.arange(CROP_H) + 0.5, torch.arange(CROP_W) + 0.5, indexing="ij")
        i, j = float((crop * yy).sum() / crop.sum()), float((crop * xx).sum() / crop.sum())
        assert abs(u - 0.5) < 0.05 and abs(v + 0.5) < 0.05
        assert abs(j - (u + 1) / 2 * CROP_W) <= 1 and abs(i - (v + 1) / 2 * CROP_H) <= 1


def test_frames_outside_the_photo_paste_nothing_and_crop_edges() -> None:
    fr = FaceFrame(cx=-500.0, cy=-500.0, width=50.0)
    assert float(paste_masks(torch.ones(2, 8, 8), fr, 40, 30).abs().sum()) == 0
    photo = torch.rand(3, 40, 30)
    assert crop_faces(photo, [fr], (16, 16)).shape == (1, 3, 16, 16)


def test_face_box_is_square_holds_the_faces_and_stays_inside() -> None:
    a, b = FaceFrame(100.0, 120.0, 60.0), FaceFrame(300.0, 140.0, 80.0, math.radians(10))
    x, y, w, h = face_box([a], 480, 640)
    assert w == h and w % 16 == 0 and w >= a.height * 1.25
    assert x <= a.cx - a.width / 2 and x + w >= a.cx + a.width / 2 and y <= a.cy - a.height / 2
    x, y, w, h = face_box([a, b], 480, 640)
    pts = torch.cat([a.corners(), b.corners()])
    assert x <= float(pts[:, 0].min()) and x + w >= float(pts[:, 0].max())
    x, y, w, h = face_box([FaceFrame(10.0, 10.0, 200.0)], 120, 90)
    assert (x, y, w, h) == (0, 0, 90, 120)
    assert face_box([], 50, 70) == (0, 0, 70, 50)
