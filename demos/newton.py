"""Second derivatives at work: Newton's method against gradient descent, and a network's Hessian.

Gradient descent uses the slope only; Newton's method also uses the curvature, which
autograd_lite gets by differentiating a gradient (`grad(grad(f))`, `hessian(f)`). Part 1 and 2
count the iterations each needs to converge (one dimension, then Rosenbrock's valley); part 3
computes the Hessian of a tiny MLP's loss and checks it against differences of the gradient.

Run: python demos/newton.py   (pictures in out/newton/)
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from _common import counter, parse_options, pyplot, require, save_figure, table

import autograd_lite as ag
from autograd_lite import Value, grad, hessian, hvp

Vector = list[float]
Matrix = list[list[float]]
Scalar = Value | float

TOLERANCE = 1e-10  # converged when f(x) − f(x*) is below this


# ---------------------------------------------------------------------------------------------
# Part 1: one variable, f(x) = e^x − 2x, minimum at x* = ln 2
# ---------------------------------------------------------------------------------------------


def f1(x: Scalar) -> Scalar:
    """e^x − 2x: convex, with its minimum at ln 2."""
    if isinstance(x, Value):
        return x.exp() - 2 * x
    return math.exp(x) - 2 * x


def one_variable() -> tuple[list[float], list[float]]:
    """The errors |x − ln 2| of Newton's method and of gradient descent, step by step."""
    d1 = grad(f1)
    d2 = grad(grad(f1))  # the second derivative: a gradient differentiated again
    best = math.log(2.0)
    newton, descent = [1.5], [1.5]
    while abs(newton[-1] - best) > 1e-15 and len(newton) < 20:
        x = newton[-1]
        newton.append(x - d1(x) / d2(x))  # jump to where the local parabola bottoms out
    while abs(descent[-1] - best) > 1e-15 and len(descent) < 200:
        x = descent[-1]
        descent.append(x - 0.3 * d1(x))
    return [abs(x - best) for x in newton], [abs(x - best) for x in descent]


# ---------------------------------------------------------------------------------------------
# Part 2: Rosenbrock's valley, f(x, y) = (1 − x)² + 100 (y − x²)², minimum 0 at (1, 1)
# ---------------------------------------------------------------------------------------------


def rosenbrock(x: Scalar, y: Scalar) -> Scalar:
    """A curved, narrow valley: the slope points across it far more than along it."""
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def solve(a: Matrix, b: Vector) -> Vector:
    """x with a x = b, by Gaussian elimination with partial pivoting (a small dense system)."""
    n = len(b)
    rows = [[*a[i], b[i]] for i in range(n)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        if rows[pivot][col] == 0.0:
            msg = f"solve() needs a non-singular matrix; column {col} has no pivot"
            raise ZeroDivisionError(msg)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(col + 1, n):
            factor = rows[r][col] / rows[col][col]
            for c in range(col, n + 1):
                rows[r][c] -= factor * rows[col][c]
    x = [0.0] * n
    for r in reversed(range(n)):
        known = math.fsum(rows[r][c] * x[c] for c in range(r + 1, n))
        x[r] = (rows[r][n] - known) / rows[r][r]
    return x


def newton_path(f: Callable[..., Scalar], start: Vector, limit: int) -> list[Vector]:
    """Newton's method: x ← x − H(x)⁻¹ ∇f(x), until f is below TOLERANCE."""
    gradient = grad(f, argnums=tuple(range(len(start))))
    curvature = hessian(f)
    path = [start]
    while float(f(*path[-1])) > TOLERANCE and len(path) <= limit:
        x = path[-1]
        step = solve(curvature(*x), list(gradient(*x)))
        path.append([xi - si for xi, si in zip(x, step, strict=True)])
    return path


def descent_path(f: Callable[..., Scalar], start: Vector, lr: float, limit: int) -> list[Vector]:
    """Gradient descent: x ← x − lr ∇f(x), until f is below TOLERANCE or limit steps."""
    gradient = grad(f, argnums=tuple(range(len(start))))
    path = [start]
    progress_bar = counter(limit, "gradient descent")
    while float(f(*path[-1])) > TOLERANCE and len(path) <= limit:
        x = path[-1]
        path.append([xi - lr * gi for xi, gi in zip(x, gradient(*x), strict=True)])
        progress_bar.update()
    progress_bar.close()
    return path


# ---------------------------------------------------------------------------------------------
# Part 3: the Hessian of a tiny MLP's loss
# ---------------------------------------------------------------------------------------------

XOR_INPUTS = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
XOR_TARGETS = [0.0, 1.0, 1.0, 0.0]
# A 2-2-1 tanh network has 9 weights, named in the order mlp_loss takes them.
WEIGHT_NAMES = ["w11", "w12", "b1", "w21", "w22", "b2", "v1", "v2", "c"]
WEIGHTS = [0.9, -0.6, 0.1, -0.7, 0.8, 0.2, 1.1, 0.9, -0.3]


def mlp_loss(*weights: Value) -> Value:
    """Mean squared error of a 2-2-1 tanh network on XOR, as a function of its 9 weights."""
    w11, w12, b1, w21, w22, b2, v1, v2, c = weights
    errors = []
    for (x1, x2), target in zip(XOR_INPUTS, XOR_TARGETS, strict=True):
        h1 = (w11 * x1 + w12 * x2 + b1).tanh()
        h2 = (w21 * x1 + w22 * x2 + b2).tanh()
        out = v1 * h1 + v2 * h2 + c
        errors.append((out - target) ** 2)
    return ag.sum(errors) / len(errors)


def gradient_differences(f: Callable[..., Value], x: Vector, h: float = 1e-5) -> Matrix:
    """An independent Hessian: central differences of the (first-order) gradient."""
    n = len(x)
    gradient = grad(f, argnums=tuple(range(n)))
    columns = []
    for j in range(n):
        up = [xi + (h if i == j else 0.0) for i, xi in enumerate(x)]
        down = [xi - (h if i == j else 0.0) for i, xi in enumerate(x)]
        columns.append([(a - b) / (2 * h) for a, b in zip(gradient(*up), gradient(*down))])
    return [[columns[j][i] for j in range(n)] for i in range(n)]


# ---------------------------------------------------------------------------------------------
# The demo
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """What the demo measured."""

    newton_1d_steps: int
    descent_1d_steps: int
    newton_steps: int  # Rosenbrock, to f < TOLERANCE
    descent_steps: int  # Rosenbrock; equals descent_limit if it did not get there
    descent_limit: int
    descent_final: float
    hessian_asymmetry: float  # max |H − Hᵀ|
    hessian_vs_differences: float  # max |H − central differences of the gradient|
    hvp_vs_product: float  # max |hvp(v) − H v|
    eigenvalues: list[float]
    pictures: list[Path]


def main(argv: Sequence[str] | None = None) -> Result:
    """Run the three parts and draw the pictures."""
    options = parse_options("newton", __doc__ or "", argv)
    limit = 3_000 if options.fast else 30_000

    print("Part 1: minimise f(x) = e^x − 2x from x = 1.5 (minimum at ln 2).")
    print("  Newton: x ← x − f'(x)/f''(x), with f'' = grad(grad(f)); descent: x ← x − 0.3 f'(x)")
    newton_errors, descent_errors = one_variable()
    shown_rows = [
        (k, newton_errors[k] if k < len(newton_errors) else "", descent_errors[k])
        for k in range(min(len(descent_errors), 8))
    ]
    print(table(shown_rows, ("step", "Newton |x − x*|", "descent |x − x*|")))
    print(
        f"  Newton: error below 1e-15 after {len(newton_errors) - 1} steps (the number of "
        f"correct digits doubles each step);\n  gradient descent: after "
        f"{len(descent_errors) - 1} steps (a constant factor per step)."
    )

    start = [-1.2, 1.0]
    lr = 1.5e-3
    print(f"\nPart 2: Rosenbrock's valley from {tuple(start)}, until f < {TOLERANCE:g}.")
    newton = newton_path(rosenbrock, start, limit=50)
    descent = descent_path(rosenbrock, start, lr=lr, limit=limit)
    descent_final = float(rosenbrock(*descent[-1]))
    reached = descent_final <= TOLERANCE
    print(f"  Newton's method: {len(newton) - 1} iterations (each solves a 2×2 system with H).")
    if reached:
        print(f"  Gradient descent (lr = {lr:g}): {len(descent) - 1} iterations.")
    else:
        print(
            f"  Gradient descent (lr = {lr:g}): not there after {len(descent) - 1} iterations "
            f"(f = {descent_final:.2e})."
        )
    numpy = require("numpy", "eigenvalues")
    at_minimum = numpy.array(hessian(rosenbrock)(1.0, 1.0))
    low, high = sorted(float(e) for e in numpy.linalg.eigvalsh(at_minimum))
    print(
        f"  Why: at the minimum the Hessian's eigenvalues are {low:.3g} and {high:.4g}: the\n"
        f"  valley curves {high / low:.0f} times more steeply across than along. Descent is\n"
        f"  stable only for lr < 2/{high:.4g} = {2 / high:.4f} (here lr = {lr:g}), and at that\n"
        "  rate it crawls along the valley. Newton's H⁻¹ rescales each direction by its own\n"
        "  curvature."
    )

    print("\nPart 3: the Hessian of a 2-2-1 tanh network's mean squared error on XOR.")
    h = hessian(mlp_loss)(*WEIGHTS)
    n = len(WEIGHTS)
    print(table([(name, *row) for name, row in zip(WEIGHT_NAMES, h)], ("", *WEIGHT_NAMES)))
    asymmetry = max(abs(h[i][j] - h[j][i]) for i in range(n) for j in range(n))
    numeric = gradient_differences(mlp_loss, WEIGHTS)
    versus = max(abs(h[i][j] - numeric[i][j]) for i in range(n) for j in range(n))
    v = [1.0 if i % 2 == 0 else -0.5 for i in range(n)]
    product = [math.fsum(h[i][j] * v[j] for j in range(n)) for i in range(n)]
    hv = hvp(mlp_loss)(WEIGHTS, v)
    hvp_gap = max(abs(a - b) for a, b in zip(hv, product, strict=True))
    eigenvalues = sorted(float(e) for e in numpy.linalg.eigvalsh(numpy.array(h)))
    print(f"  symmetric: max |H − Hᵀ| = {asymmetry:.1e}")
    print(f"  against central differences of the gradient: max difference {versus:.1e}")
    print(f"  Hessian-vector product hvp(f)(w, v) against H @ v: max difference {hvp_gap:.1e}")
    print("  eigenvalues: " + ", ".join(f"{e:.3g}" for e in eigenvalues))
    negative = sum(e < 0 for e in eigenvalues)
    print(
        f"  {negative} negative eigenvalue(s): along those directions the loss curves down, so "
        "a pure Newton\n  step would head for a saddle or maximum; practical second-order "
        "methods damp or modify H."
        if negative
        else "  all eigenvalues are non-negative here: the loss is locally convex."
    )

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    left, middle, right = axes
    left.semilogy(
        range(len(newton_errors)), [max(e, 1e-17) for e in newton_errors], "o-", label="Newton"
    )
    left.semilogy(
        range(len(descent_errors)),
        [max(e, 1e-17) for e in descent_errors],
        label="gradient descent",
    )
    left.set(xlabel="iteration", ylabel="|x − ln 2|", title="f(x) = eˣ − 2x")
    left.legend()
    numpy_grid = numpy.linspace(-2.0, 2.0, 300), numpy.linspace(-3.5, 3.0, 300)
    gx, gy = numpy.meshgrid(*numpy_grid)
    levels = numpy.logspace(-1, 3.5, 15)
    middle.contour(gx, gy, (1 - gx) ** 2 + 100 * (gy - gx**2) ** 2, levels=levels, cmap="Greys")
    middle.plot(*zip(*newton), "o-", label=f"Newton ({len(newton) - 1} steps)")
    middle.plot(*zip(*descent), label=f"gradient descent ({len(descent) - 1} steps)")
    middle.plot([1.0], [1.0], "k*", markersize=12)
    middle.set(
        xlim=(-2, 2), ylim=(-3.5, 3), title="Rosenbrock's valley: the paths", xlabel="x", ylabel="y"
    )
    middle.legend(loc="upper left", fontsize=8)
    for path, style, name in ((newton, "o-", "Newton"), (descent, "-", "gradient descent")):
        losses = [max(float(rosenbrock(*p)), 1e-20) for p in path]
        right.loglog(range(1, len(path) + 1), losses, style, label=name)
    right.axhline(TOLERANCE, color="grey", linewidth=0.8, linestyle=":")
    right.set(xlabel="iteration + 1", ylabel="f(x, y)", title="Rosenbrock: loss (log-log)")
    right.legend()
    pictures = [save_figure(fig, options.out / "convergence.png")]

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    bound = max(abs(x) for row in h for x in row)
    image = ax.imshow(h, cmap="RdBu_r", vmin=-bound, vmax=bound)
    ax.set_xticks(range(n), WEIGHT_NAMES)
    ax.set_yticks(range(n), WEIGHT_NAMES)
    ax.set_title("Hessian of a 2-2-1 network's loss")
    fig.colorbar(image, ax=ax)
    pictures.append(save_figure(fig, options.out / "mlp_hessian.png"))

    return Result(
        newton_1d_steps=len(newton_errors) - 1,
        descent_1d_steps=len(descent_errors) - 1,
        newton_steps=len(newton) - 1,
        descent_steps=len(descent) - 1,
        descent_limit=limit,
        descent_final=descent_final,
        hessian_asymmetry=asymmetry,
        hessian_vs_differences=versus,
        hvp_vs_product=hvp_gap,
        eigenvalues=eigenvalues,
        pictures=pictures,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
