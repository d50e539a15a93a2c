"""Momentum and learning rates: one update rule, four optimizers, one small problem.

Momentum is one line, ``step = −lr·g + momentum·previous_step; w += step``: it keeps moving in
the direction it has been moving. The problem: fit y ≈ a·x₁ + b·x₂ by least squares, where x₂
varies five times less than x₁, so the loss is a long narrow valley, the shape that makes plain
gradient descent slow. The demo checks the one-line rule against `optim.SGD`; compares plain
descent, momentum at the same learning rate, the tuned heavy ball and Adam, and measures each
path's zigzag across the valley; shows what too small and too large a learning rate do; and
runs the momentum rule learners bring from Q&A answers (it multiplies where it should add) beside
the heavy ball.

Run: python demos/momentum.py   (pictures in out/momentum/)
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from _common import parse_options, pyplot, save_figure, table

from autograd_lite import Value
from autograd_lite.losses import mse
from autograd_lite.optim import SGD, Adam, Optimizer

SEED = 0
SAMPLES = 50
START = (0.5, 3.0)  # (a, b) before training
CLOSE = 1e-8  # "converged": loss within this of the least-squares minimum
DIVERGED = 1e6  # a loss above this counts as diverged (stop before the numbers overflow)
SAME_LR_MOMENTUM = 0.5  # momentum for the run at plain descent's learning rate
SHOWN_STEPS = 60  # steps drawn on the loss surface
SHOWN_RULE_STEPS = 40  # steps drawn for the momentum rules

Point = tuple[float, float]


@dataclass(frozen=True)
class Problem:
    """The data, and the least-squares answer computed in closed form (not by descent)."""

    x1: list[float]
    x2: list[float]
    t: list[float]
    best: tuple[float, float]
    best_loss: float
    curvatures: tuple[float, float]  # the Hessian's eigenvalues, smallest first
    steep: tuple[float, float]  # unit eigenvector of the larger one: the way across the valley


def make_problem() -> Problem:
    """Seeded data t = 2·x₁ − 3·x₂ + noise, with x₂ on a 5× smaller scale than x₁."""
    rng = random.Random(SEED)
    x1 = [rng.gauss(0.0, 1.0) for _ in range(SAMPLES)]
    x2 = [rng.gauss(0.0, 0.2) for _ in range(SAMPLES)]
    t = [2.0 * u - 3.0 * v + rng.gauss(0.0, 0.1) for u, v in zip(x1, x2, strict=True)]
    # The loss is mean((a x1 + b x2 − t)²): its Hessian is 2/n · XᵀX, the same everywhere.
    n = SAMPLES
    s11 = math.fsum(u * u for u in x1) / n
    s12 = math.fsum(u * v for u, v in zip(x1, x2, strict=True)) / n
    s22 = math.fsum(v * v for v in x2) / n
    r1 = math.fsum(u * y for u, y in zip(x1, t, strict=True)) / n
    r2 = math.fsum(v * y for v, y in zip(x2, t, strict=True)) / n
    det = s11 * s22 - s12 * s12
    a, b = (r1 * s22 - r2 * s12) / det, (s11 * r2 - s12 * r1) / det  # the normal equations
    best_loss = math.fsum((a * u + b * v - y) ** 2 for u, v, y in zip(x1, x2, t, strict=True)) / n
    half_trace, root = (s11 + s22) / 2, math.sqrt(((s11 - s22) / 2) ** 2 + s12 * s12)
    curvatures = (2 * (half_trace - root), 2 * (half_trace + root))
    # (XᵀX/n − λ/2) v = 0 for the larger eigenvalue λ: v is along (s12, λ/2 − s11).
    along = (s12, curvatures[1] / 2 - s11)
    norm = math.hypot(*along)
    steep = (along[0] / norm, along[1] / norm)
    return Problem(x1, x2, t, (a, b), best_loss, curvatures, steep)


def loss_of(problem: Problem, a: Value, b: Value) -> Value:
    """The mean squared error of the line a·x₁ + b·x₂, as a graph."""
    return mse([a * u + b * v for u, v in zip(problem.x1, problem.x2, strict=True)], problem.t)


def run(
    problem: Problem, make: Callable[[list[Value]], Optimizer], steps: int
) -> tuple[list[float], list[Point]]:
    """Train (a, b) from START with an optimizer; return the loss and (a, b) before each step."""
    a, b = Value(START[0]), Value(START[1])
    optimizer = make([a, b])
    losses: list[float] = []
    path: list[Point] = []
    for _ in range(steps):
        loss = loss_of(problem, a, b)
        if not math.isfinite(loss.data) or loss.data > DIVERGED:
            break  # diverged: stop before the numbers overflow
        losses.append(loss.data)
        path.append((a.data, b.data))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses, path


def plain_descent(lr: float) -> Callable[[list[Value]], Optimizer]:
    """A maker of plain SGD at a fixed learning rate (a closure binds lr now, not later)."""

    def make(params: list[Value]) -> Optimizer:
        return SGD(params, lr=lr)

    return make


def heavy_ball(lr: float, momentum: float) -> Callable[[list[Value]], Optimizer]:
    """A maker of SGD with momentum (PyTorch's form of Polyak's heavy ball)."""

    def make(params: list[Value]) -> Optimizer:
        return SGD(params, lr=lr, momentum=momentum)

    return make


# ---------------------------------------------------------------------------------------------
# Update rules written out by hand, one coordinate at a time
# ---------------------------------------------------------------------------------------------

# rule(g, previous_gradient, previous_step) -> this step, for one coordinate.
StepRule = Callable[[float, float, float], float]


def heavy_ball_step(lr: float, momentum: float, g: float, _: float, previous_step: float) -> float:
    """Δw = −lr·g + momentum·Δw_previous: the velocity remembers every earlier gradient."""
    return -lr * g + momentum * previous_step


def qa_step(lr: float, alpha: float, g: float, previous_gradient: float, _: float) -> float:
    """The rule from Q&A answers, weight += main * alpha * momentum: main = −lr·g is this step's
    plain update and momentum the previous raw gradient (0 at first). It multiplies."""
    main = -lr * g
    return main * alpha * previous_gradient


def raw_gradient_step(
    lr: float, alpha: float, g: float, previous_gradient: float, _: float
) -> float:
    """Half fixed: it adds, but still remembers only the last raw gradient, not the last step."""
    return -lr * g + alpha * previous_gradient


def follow(problem: Problem, rule: StepRule, steps: int) -> tuple[list[float], list[Point]]:
    """w ← w + rule(...) from START: the loss and w before each step, until it diverges."""
    w = START
    previous_gradient = (0.0, 0.0)
    previous_step = (0.0, 0.0)
    losses: list[float] = []
    path: list[Point] = []
    for _ in range(steps):
        a, b = Value(w[0]), Value(w[1])
        loss = loss_of(problem, a, b)
        if not math.isfinite(loss.data) or loss.data > DIVERGED:
            break
        losses.append(loss.data)
        path.append(w)
        loss.backward()
        g = (float(a.grad), float(b.grad))
        step = (
            rule(g[0], previous_gradient[0], previous_step[0]),
            rule(g[1], previous_gradient[1], previous_step[1]),
        )
        w = (w[0] + step[0], w[1] + step[1])
        previous_gradient, previous_step = g, step
    return losses, path


def steps_to_converge(losses: list[float], best: float) -> int | None:
    """The first step whose loss is within CLOSE of the minimum (None: never, or diverged)."""
    return next((k for k, loss in enumerate(losses) if loss - best < CLOSE), None)


def across(problem: Problem, path: list[Point]) -> list[float]:
    """Each point's signed distance from the minimum across the valley (the steep direction)."""
    (sa, sb), (a0, b0) = problem.steep, problem.best
    return [sa * (a - a0) + sb * (b - b0) for a, b in path]


def shrink_per_step(swing: list[float], first: int, last: int) -> float:
    """The factor by which |swing| shrinks per step between two steps (geometric mean)."""
    return float((abs(swing[last]) / abs(swing[first])) ** (1.0 / (last - first)))


@dataclass(frozen=True)
class Result:
    """What the demo measured."""

    rule_vs_sgd: float  # max |by-hand path − optim.SGD path|
    steps: dict[str, int | None]  # steps to converge, by method
    final_excess: dict[str, float]  # last loss − minimum, by method
    swings: dict[str, list[float]]  # distance across the valley at each step, by method
    shrink: dict[str, float]  # measured shrink factor of the swing per step, by method
    momentum: float  # the tuned heavy ball's momentum
    diverged: bool  # the too-large learning rate blew up
    rules: dict[str, int | None]  # Q&A rule, raw-gradient rule, heavy ball: steps to converge
    rules_diverged: dict[str, int | None]  # the step each rule diverged at (None: never)
    pictures: list[Path]


def main(argv: Sequence[str] | None = None) -> Result:
    """Run every optimizer on the same problem, measure the zigzag, and plot."""
    options = parse_options("momentum", __doc__ or "", argv)
    steps = 150 if options.fast else 400
    problem = make_problem()
    low, high = problem.curvatures
    print(
        f"Least squares y ≈ a·x₁ + b·x₂ on {SAMPLES} points; minimum at a = {problem.best[0]:.4f}, "
        f"b = {problem.best[1]:.4f}\n(normal equations). The bowl's curvatures are {low:.3f} and "
        f"{high:.3f}: {high / low:.0f} times steeper one way than the other."
    )

    # Plain descent's best constant rate for this bowl; momentum at that same rate; and the
    # textbook's best constant rate and momentum for the heavy ball (Polyak).
    lr_plain = 2.0 / (low + high)
    lr_heavy = 4.0 / (math.sqrt(low) + math.sqrt(high)) ** 2
    tuned = ((math.sqrt(high) - math.sqrt(low)) / (math.sqrt(high) + math.sqrt(low))) ** 2
    lr_adam = 0.05

    hand = follow(problem, partial(heavy_ball_step, lr_heavy, tuned), 50)[1]
    library = run(problem, heavy_ball(lr_heavy, tuned), 50)[1]
    gap = max(abs(h - s) for hs, ss in zip(hand, library, strict=True) for h, s in zip(hs, ss))
    print(
        "\nThe rule Δw = −lr·g + momentum·Δw_previous, by hand, and "
        f"optim.SGD(momentum={tuned:.3f}) follow\nthe same path: largest difference over 50 "
        f"steps {gap:.1e}. (SGD keeps v = momentum·v + g and steps\n−lr·v; unrolled, that is the "
        "same rule.)"
    )

    plain_name = f"plain descent, lr {lr_plain:.3f}"
    same_name = f"momentum {SAME_LR_MOMENTUM:g}, same lr {lr_plain:.3f}"
    tuned_name = f"momentum {tuned:.3f}, tuned lr {lr_heavy:.3f}"
    adam_name = f"Adam, lr {lr_adam:g}"
    methods: dict[str, Callable[[list[Value]], Optimizer]] = {
        plain_name: plain_descent(lr_plain),
        same_name: heavy_ball(lr_plain, SAME_LR_MOMENTUM),
        tuned_name: heavy_ball(lr_heavy, tuned),
        adam_name: lambda ps: Adam(ps, lr=lr_adam),
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

    # The zigzag, measured: each path's distance from the minimum across the valley.
    swings = {name: across(problem, path) for name, (_, path) in results.items()}
    shrink = {
        name: shrink_per_step(swings[name], 10, 30) for name in (plain_name, same_name, tuned_name)
    }
    shown_k = (0, 1, 2, 5, 10, 20)
    print(
        "\nThe zigzag across the valley, measured: |distance from the minimum along the steep\n"
        "direction| after k steps, and how much it shrinks per step (steps 10 to 30):"
    )
    zig_rows = [
        (name, *(abs(swings[name][k]) for k in shown_k), shrink[name])
        for name in (plain_name, same_name, tuned_name)
    ]
    print(table(zig_rows, ("method", *(f"k={k}" for k in shown_k), "shrink per step")))
    plain_swing, same_swing, tuned_swing = (swings[n] for n in (plain_name, same_name, tuned_name))
    print(
        "At the same learning rate, momentum zigzags narrower than plain descent: after 10 steps\n"
        f"it is {abs(same_swing[10]):.2g} from the minimum across the valley, plain descent "
        f"{abs(plain_swing[10]):.2g}. Each gradient across the\nvalley has the opposite sign of "
        "the one before, so in the velocity they largely cancel;\nalong the valley they agree and "
        f"add up, so it also arrives sooner ({converged[same_name]} steps against "
        f"{converged[plain_name]}).\nThe tuned heavy ball takes lr {lr_heavy:.3f}, more than "
        f"plain descent survives (2/{high:.3f} = {2 / high:.3f}):\nits first swings are wider "
        f"({abs(tuned_swing[1]):.2g} after one step, against {abs(plain_swing[1]):.2g}), then "
        f"shrink by {shrink[tuned_name]:.2f} per step\n(√momentum = {math.sqrt(tuned):.2f}), "
        f"against {shrink[plain_name]:.2f} for plain descent: it converges first, in "
        f"{converged[tuned_name]} steps.\n"
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

    # The rule learners bring from Q&A answers, beside the heavy ball, at the same lr and α.
    alpha = SAME_LR_MOMENTUM
    rule_runs = {
        "Q&A: Δw = (−lr·g)·α·g_previous": follow(problem, partial(qa_step, lr_plain, alpha), steps),
        "adds, but g_previous: Δw = −lr·g + α·g_previous": follow(
            problem, partial(raw_gradient_step, lr_plain, alpha), steps
        ),
        "heavy ball: Δw = −lr·g + α·Δw_previous": follow(
            problem, partial(heavy_ball_step, lr_plain, alpha), steps
        ),
    }
    rule_steps = {
        name: steps_to_converge(losses, problem.best_loss)
        for name, (losses, _) in rule_runs.items()
    }
    rule_diverged = {
        name: (len(losses) if len(losses) < steps else None)
        for name, (losses, _) in rule_runs.items()
    }
    print(
        f"\nThe momentum rule from Q&A answers, `weight += main * alpha * momentum`, with main =\n"
        f"−lr·g this step's plain update and momentum the previous step's raw gradient, beside\n"
        f"the heavy ball; lr = {lr_plain:.3f}, α = {alpha:g} for all three:"
    )
    for name in rule_runs:
        if rule_diverged[name] is not None:
            ending = f"diverged: loss above {DIVERGED:g} at step {rule_diverged[name]}"
        elif rule_steps[name] is not None:
            ending = f"converged in {rule_steps[name]} steps"
        else:
            ending = f"not converged after {steps} steps"
        print(f"  {name:<50} {ending}")
    print(
        "The product moves every coordinate by −lr·α·g·g_previous: its first step is 0 (there\n"
        "is no previous gradient); after that, while a gradient keeps its sign, the step is\n"
        "negative whichever way is downhill, and it grows with the square of the gradient.\n"
        "Adding instead of multiplying gives the step its direction back, but remembering the\n"
        "raw gradient instead of the last step adds +α·g_previous: a step uphill. The heavy\n"
        "ball adds α times the previous *step*, a velocity that sums every earlier gradient,\n"
        "each weighted by a power of α."
    )

    pictures = [
        draw_optimizers(problem, results, swings, rate_runs, options.out),
        draw_rules(problem, rule_runs, options.out),
    ]
    return Result(
        rule_vs_sgd=gap,
        steps=converged,
        final_excess=excess,
        swings=swings,
        shrink=shrink,
        momentum=tuned,
        diverged=diverged,
        rules=rule_steps,
        rules_diverged=rule_diverged,
        pictures=pictures,
    )


def draw_optimizers(
    problem: Problem,
    results: dict[str, tuple[list[float], list[Point]]],
    swings: dict[str, list[float]],
    rate_runs: dict[str, list[float]],
    out: Path,
) -> Path:
    """Loss curves, the paths on the loss surface, the swing across the valley, learning rates."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    (curves, paths_axis), (swing_axis, rates_axis) = axes
    for name, (losses, _) in results.items():
        curves.semilogy([max(x - problem.best_loss, 1e-16) for x in losses], label=name)
    curves.set(xlabel="step", ylabel="loss − minimum", title="Four optimizers, one problem")
    curves.legend(fontsize=8)

    shown = {name: path[:SHOWN_STEPS] for name, (_, path) in results.items()}
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
    paths_axis.set(
        xlabel="a", ylabel="b", title=f"The first {SHOWN_STEPS} steps on the loss surface"
    )
    paths_axis.legend(fontsize=7, loc="upper right")

    for name, swing in swings.items():
        if not name.startswith("Adam"):
            swing_axis.semilogy(
                [max(abs(u), 1e-16) for u in swing[:SHOWN_STEPS]],
                marker=".",
                markersize=3,
                linewidth=1,
                label=name,
            )
    swing_axis.set(
        xlabel="step",
        ylabel="|distance from the minimum across the valley|",
        title="The zigzag, measured: its width step by step",
    )
    swing_axis.legend(fontsize=8)

    for name, losses in rate_runs.items():
        rates_axis.semilogy([max(x - problem.best_loss, 1e-16) for x in losses], label=name)
    rates_axis.set(xlabel="step", ylabel="loss − minimum", title="Plain descent: the learning rate")
    rates_axis.legend(fontsize=8)
    return save_figure(fig, out / "optimizers.png")


def draw_rules(
    problem: Problem, rule_runs: dict[str, tuple[list[float], list[Point]]], out: Path
) -> Path:
    """The Q&A momentum rule, the half-fixed one and the heavy ball: loss until divergence."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, (losses, _) in rule_runs.items():
        line = ax.semilogy(
            [max(x - problem.best_loss, 1e-16) for x in losses],
            marker=".",
            markersize=3,
            label=name,
        )
        if len(losses) < SHOWN_RULE_STEPS:
            ax.plot(
                len(losses) - 1,
                max(losses[-1] - problem.best_loss, 1e-16),
                "x",
                color=line[0].get_color(),
                markersize=10,
            )
    ax.set_ylim(bottom=1e-6)
    ax.axhline(DIVERGED, color="grey", linestyle=":", linewidth=1)
    ax.set(
        xlim=(-1, SHOWN_RULE_STEPS),
        xlabel="step",
        ylabel="loss − minimum",
        title="Momentum rules: × marks a run that diverged",
    )
    ax.legend(fontsize=8)
    return save_figure(fig, out / "rules.png")


def _loss_floats(problem: Problem, a: float, b: float) -> float:
    """The same loss on plain floats, for the contour plot (no graph needed)."""
    pairs = zip(problem.x1, problem.x2, problem.t, strict=True)
    return math.fsum((a * u + b * v - y) ** 2 for u, v, y in pairs) / SAMPLES


if __name__ == "__main__":
    main(sys.argv[1:])
