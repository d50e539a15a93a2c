"""Regression: a small tanh network fits a noisy curve, and we watch the fit improve.

Forty noisy samples of y = sin(2x) + 0.3x on [−3, 3], an `MLP(1, [16, 16, 1], "tanh")`, mean
squared error, Adam (decaying rate) on the whole data set each step. Snapshots of the fitted
curve at a few steps show how gradient descent bends a function into shape; the error against
the true (noise-free) curve says how well it generalises between the samples.

Run: python demos/regression.py   (pictures in out/regression/)
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from _common import parse_options, progress, pyplot, save_figure, table

import autograd_lite as ag
from autograd_lite.losses import mse
from autograd_lite.nn import MLP
from autograd_lite.optim import Adam

SEED = 0
SAMPLES = 40
NOISE = 0.1  # standard deviation: a perfect fit still has a mean squared error near 0.01
LEARNING_RATE = 0.05


def curve(x: float) -> float:
    """The true function behind the samples."""
    return math.sin(2.0 * x) + 0.3 * x


@dataclass(frozen=True)
class Result:
    """What the demo measured."""

    first_loss: float
    last_loss: float  # training MSE (noise included)
    true_error: float  # MSE of the fit against the noise-free curve on a fine grid
    steps: int
    pictures: list[Path]


def main(argv: Sequence[str] | None = None) -> Result:
    """Fit, report, and draw the snapshots."""
    options = parse_options("regression", __doc__ or "", argv)
    steps = 120 if options.fast else 400
    rng = random.Random(SEED)
    xs = sorted(rng.uniform(-3.0, 3.0) for _ in range(SAMPLES))
    ts = [curve(x) + rng.gauss(0.0, NOISE) for x in xs]
    grid = [-3.0 + 6.0 * i / 300 for i in range(301)]
    model = MLP(1, [16, 16, 1], activation="tanh", seed=SEED)
    # A decaying rate: late in training, Adam at a constant rate makes the loss spike now and then.
    optimizer = Adam(
        model.parameters(), lr=LEARNING_RATE, lr_schedule=lambda k: 1.0 - 0.9 * k / steps
    )
    print(
        f"Regression: {SAMPLES} samples of sin(2x) + 0.3x with noise σ = {NOISE}; {model!r},\n"
        f"{model.num_parameters()} parameters, mean squared error, "
        f"Adam (lr {LEARNING_RATE} → {LEARNING_RATE / 10:g}), {steps} full-batch steps."
    )

    def fit_on_grid() -> list[float]:
        with ag.no_grad():
            return [model([x]).data for x in grid]

    def true_error(fitted: list[float]) -> float:
        return sum((f - curve(x)) ** 2 for f, x in zip(fitted, grid, strict=True)) / len(grid)

    snapshot_steps = [0, 10, 30, 100, steps]
    snapshots: list[tuple[int, float, float, list[float]]] = []  # step, loss, true error, fit
    losses: list[float] = []
    for step in progress(range(steps + 1), desc="fitting"):
        loss = mse([model([x]) for x in xs], ts)
        losses.append(loss.data)
        if step in snapshot_steps:
            fitted = fit_on_grid()
            snapshots.append((step, loss.data, true_error(fitted), fitted))
        if step == steps:
            break  # the last pass only measures
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    print(
        table(
            [(k, loss, error) for k, loss, error, _ in snapshots],
            ("step", "training MSE", "MSE against the true curve"),
        )
    )
    last_loss, last_error = snapshots[-1][1], snapshots[-1][2]
    if last_loss < 2 * NOISE**2:
        print(
            f"The training error has come down to about the noise's variance ({NOISE**2:g}): "
            "the network\nfits the curve; to go much lower it would have to fit the noise."
        )
    else:
        print(
            f"The training error is still above the noise's variance ({NOISE**2:g}): train longer."
        )
    print(f"Against the noise-free curve, the fit's mean squared error is {last_error:.4f}.")

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.3))
    colours = plt.get_cmap("viridis")
    left.scatter(xs, ts, s=14, color="black", zorder=3, label="noisy samples")
    left.plot(grid, [curve(x) for x in grid], color="grey", linestyle="--", label="true curve")
    for i, (k, _, _, fitted) in enumerate(snapshots):
        left.plot(grid, fitted, color=colours(i / (len(snapshots) - 1)), label=f"step {k}")
    left.set(xlabel="x", ylabel="y", title="The fit as training goes on")
    left.legend(fontsize=8, loc="upper left")
    right.semilogy(losses, color="tab:blue")
    for i, (k, loss_k, _, _) in enumerate(snapshots):
        right.plot([k], [loss_k], "o", color=colours(i / (len(snapshots) - 1)))
    right.axhline(NOISE**2, color="grey", linestyle=":", linewidth=1, label="noise variance")
    right.set(xlabel="step", ylabel="training MSE", title="Loss")
    right.legend()
    picture = save_figure(fig, options.out / "fit.png")
    return Result(
        first_loss=losses[0],
        last_loss=last_loss,
        true_error=last_error,
        steps=steps,
        pictures=[picture],
    )


if __name__ == "__main__":
    main(sys.argv[1:])
