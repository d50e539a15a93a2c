"""End-to-end training on the engine: XOR, two moons, three blobs; and the toy datasets.

These are the proofs that the pieces fit: MLP + loss + optimizer learn real (small) problems
in a few dozen steps. Each test stops as soon as it has succeeded, so it stays fast.
"""

from __future__ import annotations

import math
import random

import pytest

from autograd_lite import sum as value_sum
from autograd_lite.datasets import make_moons, make_xor, signed_labels
from autograd_lite.losses import bce_with_logits, cross_entropy, hinge, l2_penalty
from autograd_lite.nn import MLP
from autograd_lite.optim import SGD, Adam

# ---------------------------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------------------------


def test_make_moons_is_seeded_balanced_and_shuffled() -> None:
    """Same seed, same points; n // 2 points of label 0; labels not in blocks."""
    X, y = make_moons(101, noise=0.1, seed=7)
    X2, y2 = make_moons(101, noise=0.1, seed=7)
    X3, _ = make_moons(101, noise=0.1, seed=8)
    assert (X, y) == (X2, y2)
    assert X != X3
    assert len(X) == len(y) == 101
    assert all(len(point) == 2 for point in X)
    assert y.count(0) == 50
    assert y.count(1) == 51
    assert y != sorted(y)


def test_make_moons_without_noise_lies_on_the_two_half_circles() -> None:
    """Label 0 on the upper unit half circle, label 1 on the lower one shifted by (1, -0.5)."""
    X, y = make_moons(40, noise=0.0, seed=0)
    for (px, py), label in zip(X, y, strict=True):
        if label == 0:
            assert math.hypot(px, py) == pytest.approx(1.0, abs=1e-12)
            assert py >= -1e-12
        else:
            assert math.hypot(px - 1.0, py - 0.5) == pytest.approx(1.0, abs=1e-12)
            assert py <= 0.5 + 1e-12


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"n_samples": 1}, ValueError, r"make_moons\(\) n_samples must be an int >= 2, got int: 1"),
        ({"n_samples": 10.0}, TypeError, r"n_samples must be an int, got float: 10\.0"),
        ({"n_samples": True}, TypeError, r"n_samples must be an int, got bool: True"),
        ({"noise": -0.1}, ValueError, r"make_moons\(\) noise must be >= 0\.0, got -0\.1"),
        ({"noise": math.nan}, ValueError, r"noise must be finite, got nan"),
        ({"noise": "0.1"}, TypeError, r"noise must be a real number, got str: '0\.1'"),
        ({"seed": "0"}, TypeError, r"make_moons\(\) seed must be an int, got str: '0'"),
        ({"seed": False}, TypeError, r"seed must be an int, got bool: False"),
    ],
)
def test_make_moons_checks_its_arguments(
    kwargs: dict[str, object], error: type[Exception], pattern: str
) -> None:
    """Bad arguments are named."""
    with pytest.raises(error, match=pattern):
        make_moons(**kwargs)  # type: ignore[arg-type]


def test_xor_and_signed_labels() -> None:
    """XOR's four corners; 0/1 labels become -1/+1, anything else is an error."""
    X, y = make_xor()
    assert [int(a) ^ int(b) for a, b in X] == y
    assert signed_labels([0, 1, 1, 0]) == [-1.0, 1.0, 1.0, -1.0]
    with pytest.raises(ValueError, match=r"signed_labels\(\) labels\[1\] must be 0 or 1, got 2"):
        signed_labels([0, 2])
    with pytest.raises(TypeError, match=r"labels\[0\] must be an int, got bool: True"):
        signed_labels([True])
    with pytest.raises(TypeError, match=r"labels\[2\] must be an int, got float: 1\.0"):
        signed_labels([0, 1, 1.0])  # type: ignore[list-item]


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def test_xor_reaches_zero_classification_error() -> None:
    """A 2-8-1 tanh network with BCE on logits and Adam separates XOR."""
    X, y = make_xor()
    model = MLP(2, [8, 1], "tanh", seed=0)
    optimizer = Adam(model.parameters(), lr=0.1)
    first_loss = None
    for _ in range(200):
        logits = [model(x) for x in X]
        loss = bce_with_logits(logits, [float(t) for t in y])
        first_loss = first_loss if first_loss is not None else loss.data
        errors = sum((logit.data > 0) != (t == 1) for logit, t in zip(logits, y, strict=True))
        if errors == 0 and loss.data < 0.1:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert errors == 0
    assert first_loss is not None
    assert loss.data < 0.1 < first_loss


def test_two_moons_reaches_full_training_accuracy_within_100_steps() -> None:
    """micrograd's demo: MLP(2, [16, 16, 1]), hinge + 1e-4 L2, SGD with a decaying lr."""
    X, y = make_moons(100, noise=0.1, seed=0)
    labels = signed_labels(y)
    model = MLP(2, [16, 16, 1], seed=0)
    params = model.parameters()
    optimizer = SGD(params, lr=0.5, momentum=0.9, lr_schedule=lambda step: 1.0 - 0.9 * step / 100)
    accuracy = 0.0
    steps = 0
    for steps in range(101):
        scores = [model(x) for x in X]
        accuracy = sum((s.data > 0) == (t > 0) for s, t in zip(scores, labels, strict=True)) / 100
        if accuracy == 1.0 or steps == 100:
            break
        loss = hinge(scores, labels) + l2_penalty(params, 1e-4)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert accuracy == 1.0, f"accuracy {accuracy} after {steps} steps"
    assert steps <= 100


def test_three_blobs_are_learned_with_softmax_cross_entropy() -> None:
    """A 2-8-3 network with cross-entropy and Adam classifies three Gaussian blobs."""
    rng = random.Random(0)
    centers = [(-2.0, 0.0), (2.0, 0.0), (0.0, 2.5)]
    data = [
        ([cx + rng.gauss(0, 0.5), cy + rng.gauss(0, 0.5)], k)
        for k, (cx, cy) in enumerate(centers)
        for _ in range(10)
    ]
    model = MLP(2, [8, 3], "tanh", seed=0, returns=list)
    optimizer = Adam(model.parameters(), lr=0.05)
    correct = 0
    for _ in range(100):
        outputs = [model(x) for x, _ in data]
        correct = sum(
            max(range(3), key=lambda i: out[i].data) == k
            for out, (_, k) in zip(outputs, data, strict=True)
        )
        if correct == len(data):
            break
        loss = value_sum(cross_entropy(out, k) for out, (_, k) in zip(outputs, data, strict=True))
        optimizer.zero_grad()
        (loss / len(data)).backward()
        optimizer.step()
    assert correct == len(data)
