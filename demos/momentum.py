"""Momentum and learning rates: one update rule, three optimizers, one small problem.

Momentum is one line, ``step = −lr·g + momentum·previous_step; w += step``: it keeps moving in
the direction it has been moving. The problem: fit y ≈ a·x₁ + b·x₂ by least squares, where x₂
varies five times less than x₁, so the loss is a long narrow bowl, the shape that makes plain
gradient descent slow. The demo checks the one-line rule against `optim.SGD`, compares plain
gradient descent, momentum and Adam, and shows what too small and too large a learning rate do.

Run: python demos/momentum.py   (pictures in out/momentum/)
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from _common import parse_options, pyplot, save_figure, table

from autograd_lite import Value
from autograd_lite.losses import mse
from autograd_lite.optim import SGD, Adam, Optimizer

SEED = 0
SAMPLES = 50
START = (0.5, 3.0)  # (a, b) before training
CLOSE = 1e-8  # "converged": loss within this of the least-squares minimum


@dataclass(frozen=True)
class Problem:
    """The data, and the least-squares answer computed in closed form (not by descent)."""

    x1: list[float]
    x2: list[float]
    t: list[float]
    best: tuple[float, float]
    best_loss: float
    curvatures: tuple[float, float]  # the Hessian's eigenvalues, smallest first


def make_problem() -> Problem:
    """Seeded data t = 2·x₁ − 3·x₂ + noise, with x₂ on a 5× smaller scale than x₁."""
    rng = random.Random(SEED)
    x1 = [rng.gauss(0.0, 1.0) for _ in range(SAMPLES)]
    x2 = [rng.gauss(0.0, 0.2) for _ in range(SAMPLES)]
    t = [2.0 * u - 3.0 * v + rng.gauss(0.0, 0.1) for u, v in zip(x1, x2, strict=True)]
    # The loss is mean((a x1 + b x2 − t)²): its Hessian is 2/n · XᵀX, the same everywhere.
    n = SAMPLES
    s11 = sum(u * u for u in x1) / n
    s12 = sum(u * v for u, v in zip(x1, x2, strict=True)) / n
    s22 = sum(v * v for v in x2) / n
    r1 = sum(u * y for u, y in zip(x1, t, strict=True)) / n
    r2 = sum(v * y for v, y in zip(x2, t, strict=True)) / n
    det = s11 * s22 - s12 * s12
    a, b = (r1 * s22 - r2 * s12) / det, (s11 * r2 - s12 * r1) / det  # the normal equations
    best_loss = sum((a * u + b * v - y) ** 2 for u, v, y in zip(x1, x2, t, strict=True)) / n
    half_trace, root = (s11 + s22) / 2, math.sqrt(((s11 - s22) / 2) ** 2 + s12 * s12)
    curvatures = (2 * (half_trace - root), 2 * (half_trace + root))
    return Problem(x1, x2, t, (a, b), best_loss, curvatures)


def loss_of(problem: Problem, a: Value, b: Value) -> Value:
    """The mean squared error of the line a·x₁ + b·x₂, as a graph."""
    return mse([a * u + b * v for u, v in zip(problem.x1, problem.x2, strict=True)], problem.t)


def run(
    problem: Problem, make: Callable[[list[Value]], Optimizer], steps: int
) -> tuple[list[float], list[tuple[float, float]]]:
    """Train (a, b) from START with an optimizer; return the loss and (a, b) before each step."""
    a, b = Value(START[0]), Value(START[1])
    optimizer = make([a, b])
    losses: list[float] = []
    path: list[tuple[float, float]] = []
    for _ in range(steps):
        loss = loss_of(problem, a, b)
        if not math.isfinite(loss.data) or loss.data > 1e6:
            break  # diverged: stop before the numbers overflow
        losses.append(loss.data)
        path.append((a.data, b.data))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses, path


def by_hand(problem: Problem, lr: float, momentum: float, steps: int) -> list[tuple[float, float]]:
    """The one-line rule, written out: step = −lr·g + momentum·previous_step; w += step."""
    w = list(START)
    previous = [0.0, 0.0]
    path = []
    for _ in range(steps):
        path.append((w[0], w[1]))
        a, b = Value(w[0]), Value(w[1])
        loss_of(problem, a, b).backward()
        g = [float(a.grad), float(b.grad)]
        step = [-lr * gi + momentum * pi for gi, pi in zip(g, previous, strict=True)]
        w = [wi + si for wi, si in zip(w, step, strict=True)]
        previous = step
    return path


def plain_descent(lr: float) -> Callable[[list[Value]], Optimizer]:
    """A maker of plain SGD at a fixed learning rate (a closure binds lr now, not later)."""

    def make(params: list[Value]) -> Optimizer:
        return SGD(params, lr=lr)

    return make


def steps_to_converge(losses: list[float], best: float) -> int | None:
    """The first step whose loss is within CLOSE of the minimum (None: never, or diverged)."""
    return next((k for k, loss in enumerate(losses) if loss - best < CLOSE), None)


@dataclass(frozen=True)
class Result:
    """What the demo measured."""

    rule_vs_sgd: float  # max |by-hand path − optim.SGD path|
    steps: dict[str, int | None]  # steps to converge, by method
    final_excess: dict[str, float]  # last loss − minimum, by method
    diverged: bool  # the too-large learning rate blew up
    pictures: list[Path]


def main(argv: Sequence[str] | None = None) -> Result:
    """Run every optimizer on the same problem and plot the curves."""
    options = parse_options("momentum", __doc__ or "", argv)
    steps = 150 if options.fast else 400
    problem = make_problem()
    low, high = problem.curvatures
    print(
        f"Least squares y ≈ a·x₁ + b·x₂ on {SAMPLES} points; minimum at a = {problem.best[0]:.4f}, "
        f"b = {problem.best[1]:.4f}\n(normal equations). The bowl's curvatures are {low:.3f} and "
        f"{high:.3f}: {high / low:.0f} times steeper one way than the other."
    )

    # The textbook's best constant rates for this bowl (Polyak's heavy ball for momentum).
    lr_plain = 2.0 / (low + high)
    lr_heavy = 4.0 / (math.sqrt(low) + math.sqrt(high)) ** 2
    momentum = ((math.sqrt(high) - math.sqrt(low)) / (math.sqrt(high) + math.sqrt(low))) ** 2
    lr_adam = 0.05

    hand = by_hand(problem, lr_heavy, momentum, 50)
    _, library = run(problem, lambda ps: SGD(ps, lr=lr_heavy, momentum=momentum), 50)
    gap = max(abs(h - s) for hs, ss in zip(hand, library, strict=True) for h, s in zip(hs, ss))
    print(
        f"\nThe rule by hand and optim.SGD(momentum={momentum:.3f}) follow the same path: largest "
        f"difference over 50 steps {gap:.1e}.\n(SGD keeps b = momentum·b + g and steps −lr·b; "
        "unrolled, that is the same rule.)"
    )

    methods: dict[str, Callable[[list[Value]], Optimizer]] = {
        f"plain gradient descent, lr {lr_plain:.3f}": plain_descent(lr_plain),
        f"momentum {momentum:.3f}, lr {lr_heavy:.3f}": lambda ps: SGD(
            ps, lr=lr_heavy, momentum=momentum
        ),
        f"Adam, lr {lr_adam:g}": lambda ps: Adam(ps, lr=lr_adam),
    }
    results = {name: run(problem, make, steps) for name, make in methods.items()}
    rows = []
    converged: dict[str, int | None] = {}
    excess: dict[str, float] = {}
    for name, (losses, _) in results.items():
        converged[name] = steps_to_converge(losses, problem.best_loss)
        excess[name] = losses[-1] - problem.best_loss
        shown_steps = converged[name] if converged[name] is not None else f"> {steps}"
        rows.append((name, shown_steps, excess[name]))
    print(f"\nFrom (a, b) = {START}, {steps} full-batch steps each:")
    print(table(rows, ("method", f"steps to within {CLOSE:g}", "final loss − minimum")))
    print(
        "Plain descent must keep its rate small enough for the steep direction, and then crawls\n"
        "along the shallow one. Momentum adds up successive gradients: along the shallow\n"
        "direction they agree and the steps grow; across the steep one they alternate in sign\n"
        "and largely cancel. So one rate serves both directions.\n"
        "Adam divides each coordinate's step by the running size of its own gradient: it does\n"
        "not zigzag, but its steps are about lr long until the gradient fades, so at a constant\n"
        "lr the distance to travel sets its pace."
    )

    limit = 2.0 / high
    rates = {"too small": 0.1 * lr_plain, "about right": lr_plain, "too large": 1.1 * limit}
    rate_runs = {
        f"{what}: lr {lr:.3f}": run(problem, plain_descent(lr), steps)[0]
        for what, lr in rates.items()
    }
    too_large = rate_runs[f"too large: lr {rates['too large']:.3f}"]
    diverged = len(too_large) < steps or too_large[-1] > too_large[0]
    print(
        f"\nLearning rates for plain descent: stable only below 2/(largest curvature) "
        f"= {limit:.3f}."
    )
    for name, losses in rate_runs.items():
        ending = (
            "diverged"
            if len(losses) < steps
            else f"final loss − minimum {losses[-1] - problem.best_loss:.2e}"
        )
        print(f"  {name}: {ending}")

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    curves, rates_axis, paths_axis = axes
    for name, (losses, _) in results.items():
        curves.semilogy([max(x - problem.best_loss, 1e-16) for x in losses], label=name)
    curves.set(xlabel="step", ylabel="loss − minimum", title="Three optimizers, one problem")
    curves.legend(fontsize=8)
    for name, losses in rate_runs.items():
        rates_axis.semilogy([max(x - problem.best_loss, 1e-16) for x in losses], label=name)
    rates_axis.set(xlabel="step", ylabel="loss − minimum", title="Plain descent: the learning rate")
    rates_axis.legend(fontsize=8)
    shown = {name: path[:60] for name, (_, path) in results.items()}
    points = [p for path in shown.values() for p in path]
    a_lo, a_hi = min(p[0] for p in points) - 0.5, max(p[0] for p in points) + 0.5
    b_lo, b_hi = min(p[1] for p in points) - 0.5, max(p[1] for p in points) + 0.5
    a_axis = [a_lo + (a_hi - a_lo) * i / 150 for i in range(151)]
    b_axis = [b_lo + (b_hi - b_lo) * j / 150 for j in range(151)]
    grid = [[_loss_floats(problem, a, b) for a in a_axis] for b in b_axis]
    levels = [problem.best_loss + 0.02 * 2**k for k in range(16)]
    paths_axis.contour(a_axis, b_axis, grid, levels=levels, colors="lightgrey", linewidths=0.7)
    for name, path in shown.items():
        paths_axis.plot(*zip(*path), marker=".", markersize=3, linewidth=1, label=name)
    paths_axis.plot(*problem.best, "k*", markersize=12)
    paths_axis.set(xlabel="a", ylabel="b", title="The first 60 steps on the loss surface")
    paths_axis.legend(fontsize=7, loc="upper right")
    picture = save_figure(fig, options.out / "optimizers.png")
    return Result(
        rule_vs_sgd=gap,
        steps=converged,
        final_excess=excess,
        diverged=diverged,
        pictures=[picture],
    )


def _loss_floats(problem: Problem, a: float, b: float) -> float:
    """The same loss on plain floats, for the contour plot (no graph needed)."""
    pairs = zip(problem.x1, problem.x2, problem.t, strict=True)
    return sum((a * u + b * v - y) ** 2 for u, v, y in pairs) / SAMPLES


if __name__ == "__main__":
    main(sys.argv[1:])
