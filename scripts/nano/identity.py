"""Identity embeddings for scripts/evaluate_edits.py: dlib's ResNet face descriptor (face_recognition_models).

Runs in the dataset venv (dlib-bin and face_recognition_models need no ComfyUI and stay out of the pack's
runtime; scripts/setup_env.sh installs them there):

    ~/.cache/flux-sculptor/venv-data/bin/python scripts/nano/identity.py IN.npz OUT.npz

IN.npz: `images` uint8 [N,H,W,3], `source` int [N] (row of each image's source photo). Every image is
upscaled 2x; the face box is found once on its source row (dlib's HOG detector, 1 upsampling; a fixed
central box when none is found) and reused for all images of that source, so an edit cannot move the box.
OUT.npz: `embedding` float32 [N,128] and `detected` bool [N] (whether the source's box was detected).
Distances between embeddings: dlib's convention is < 0.6 for the same person.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
from PIL import Image


def models_dir() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")  # its __init__ imports pkg_resources
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "face_recognition_models is not installed in this Python: run scripts/nano/identity.py with "
            "~/.cache/flux-sculptor/venv-data/bin/python (bash scripts/test.sh --co -q creates it)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def embed(images: np.ndarray, source: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import dlib

    models = models_dir()
    detector = dlib.get_frontal_face_detector()
    shapes = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
    net = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))
    big = [
        np.ascontiguousarray(np.asarray(Image.fromarray(im).resize((im.shape[1] * 2, im.shape[0] * 2), 3)))
        for im in images
    ]
    boxes, found = {}, np.zeros(len(images), bool)
    for row in sorted(set(int(s) for s in source)):
        hits = detector(big[row], 1)
        h, w = big[row].shape[:2]
        central = dlib.rectangle(w // 5, h // 5, w - w // 5, h - h // 8)
        boxes[row] = (max(hits, key=lambda r: r.area()), True) if len(hits) else (central, False)
    out = np.zeros((len(images), 128), np.float32)
    for i, im in enumerate(big):
        box, found[i] = boxes[int(source[i])]
        out[i] = np.asarray(net.compute_face_descriptor(im, shapes(im, box)), np.float32)
    return out, found


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        raise SystemExit(__doc__)
    with np.load(argv[0], allow_pickle=False) as f:
        images, source = f["images"], f["source"]
    embedding, detected = embed(images, source)
    np.savez(argv[1], embedding=embedding, detected=detected)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
