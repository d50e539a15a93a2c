"""Tiny, seeded toy datasets for training demos and tests: two moons and XOR.

Everything here is plain Python lists made with the project's own `random.Random`, so a seed
gives the same points on every machine and no scikit-learn is needed. This module owns the data
only; models, losses and training live in `nn`, `losses` and `optim`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from autograd_lite._checks import integer, real

__all__ = ["make_moons", "make_xor", "signed_labels"]


def make_moons(
    n_samples: int = 100, noise: float = 0.1, seed: int = 0
) -> tuple[list[list[float]], list[int]]:
    """Two interleaving half circles in 2-D, shuffled, with labels 0 (upper) and 1 (lower).

    The same construction as scikit-learn's ``make_moons``: ``n_samples // 2`` points on the
    upper moon, the rest on the lower one, evenly spaced in angle, then Gaussian noise with
    standard deviation ``noise`` on each coordinate. The points differ from scikit-learn's
    (a different generator), the shape does not.

    >>> X, y = make_moons(4, noise=0.0)
    >>> len(X), sorted(y)
    (4, [0, 0, 1, 1])
    """
    n_samples = integer(n_samples, "make_moons() n_samples", low=2)
    noise = real(noise, "make_moons() noise", finite=True, low=0.0)
    rng = random.Random(integer(seed, "make_moons() seed"))
    n_upper = n_samples // 2
    n_lower = n_samples - n_upper
    points: list[tuple[list[float], int]] = []
    for i in range(n_upper):
        t = math.pi * i / (n_upper - 1) if n_upper > 1 else 0.0
        points.append(([math.cos(t), math.sin(t)], 0))
    for i in range(n_lower):
        t = math.pi * i / (n_lower - 1) if n_lower > 1 else 0.0
        points.append(([1.0 - math.cos(t), 0.5 - math.sin(t)], 1))
    rng.shuffle(points)
    X: list[list[float]] = []
    y: list[int] = []
    for (px, py), label in points:
        X.append([px + rng.gauss(0.0, noise), py + rng.gauss(0.0, noise)])
        y.append(label)
    return X, y


def make_xor() -> tuple[list[list[float]], list[int]]:
    """The four corners of the unit square, labelled 1 where exactly one coordinate is 1.

    >>> make_xor()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    return [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0]


def signed_labels(labels: Sequence[int]) -> list[float]:
    """0/1 labels as -1.0/+1.0, the form hinge loss expects.

    >>> signed_labels([0, 1, 1])
    [-1.0, 1.0, 1.0]
    """
    out: list[float] = []
    for i, label in enumerate(labels):
        where = f"signed_labels() labels[{i}]"
        if integer(label, where) not in (0, 1):
            msg = f"{where} must be 0 or 1, got {label!r}"
            raise ValueError(msg)
        out.append(1.0 if label == 1 else -1.0)
    return out
