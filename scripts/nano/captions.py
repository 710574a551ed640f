"""Nano's caption grammar: a subject template plus the edit phrases of scripts/nano/edits.py.

    caption(["red lipstick", "sunglasses"]) -> "a photo of a person with red lipstick and sunglasses"

No CelebA attribute labels exist offline, so an unedited face is captioned by the template alone; every
phrase after "with" names a synthetic edit that is exactly present.
"""

from __future__ import annotations

import numpy as np

TEMPLATES = ("a photo of a person", "a portrait of a face", "a close-up photo of a face")


def join(phrases: list[str]) -> str:
    """["a"] -> "a"; ["a", "b"] -> "a and b"; ["a", "b", "c"] -> "a, b and c"."""
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def caption(phrases: list[str], template: int = 0) -> str:
    base = TEMPLATES[template]
    return f"{base} with {join(phrases)}" if phrases else base


def random_caption(phrases: list[str], rng: np.random.Generator) -> str:
    """A random template and a random phrase order (training-time text augmentation)."""
    order = list(rng.permutation(len(phrases))) if phrases else []
    return caption([phrases[i] for i in order], int(rng.integers(len(TEMPLATES))))


def vocabulary(captions: list[str]) -> list[str]:
    """Sorted distinct words of `captions` (for the model card)."""
    return sorted({w.strip(",") for c in captions for w in c.split()})
