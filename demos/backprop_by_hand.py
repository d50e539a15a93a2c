"""Backpropagation written out by hand, next to the engine's reverse accumulation.

The textbook algorithm for a sigmoid network (Andrew Ng's notation) in plain Python lists:
forward pass, output error, hidden errors, accumulated Δ, regularised D. Beside it, the same
network, data and λ built from `Value`s and differentiated by `backward()`. The demo prints the
errors d(l) layer by layer next to the engine's gradients at the pre-activation nodes z(l) (they
are the same numbers: d(l) = ∂J/∂z(l)), then the weight gradients D next to each weight's .grad.
They agree to round-off, because the layer-wise rule *is* reverse accumulation on this graph.

Run: python demos/backprop_by_hand.py   (pictures in out/backprop_by_hand/)
"""

from __future__ import annotations

import itertools
import math
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from _common import parse_options, pyplot, save_figure, table

import autograd_lite as ag
from autograd_lite import Value

Matrix = list[list[float]]

SEED = 6
SIZES = (3, 4, 2)  # input units, hidden units, output units (bias units not counted)
EXAMPLES = 8  # m
LAMBDA = 0.1  # λ, the weight-decay strength


# ---------------------------------------------------------------------------------------------
# The textbook, in plain Python: every quantity a list of floats
# ---------------------------------------------------------------------------------------------


def g(z: float) -> float:
    """The logistic sigmoid."""
    return 1.0 / (1.0 + math.exp(-z))


def matvec(theta: Matrix, a: Sequence[float]) -> list[float]:
    """Θ a."""
    return [math.fsum(t * x for t, x in zip(row, a, strict=True)) for row in theta]


def forward_by_hand(thetas: Sequence[Matrix], x: Sequence[float]) -> list[list[float]]:
    """The activations a(1), ..., a(L); every layer but the last gets a bias unit a_0 = 1."""
    activations = [[1.0, *x]]
    for layer, theta in enumerate(thetas):
        a = [g(z) for z in matvec(theta, activations[-1])]
        last = layer == len(thetas) - 1
        activations.append(a if last else [1.0, *a])
    return activations


def cost_by_hand(thetas: Sequence[Matrix], xs: Sequence[list[float]], ys: Matrix) -> float:
    """J(Θ): mean cross-entropy over the m examples plus (λ/2m)·Σ Θ², biases not penalised."""
    m = len(xs)
    total = 0.0
    for x, y in zip(xs, ys, strict=True):
        h = forward_by_hand(thetas, x)[-1]
        total -= math.fsum(yk * math.log(hk) + (1 - yk) * math.log(1 - hk) for hk, yk in zip(h, y))
    penalty = math.fsum(t * t for theta in thetas for row in theta for t in row[1:])
    return total / m + LAMBDA / (2 * m) * penalty


def deltas_by_hand(thetas: Sequence[Matrix], a: Sequence[list[float]], y: list[float]) -> Matrix:
    """The errors d(2), ..., d(L) of one example, from its activations a(1), ..., a(L)."""
    # Output error: d(L) = a(L) − y (sigmoid output + cross-entropy: g' cancels out).
    d = [ak - yk for ak, yk in zip(a[-1], y, strict=True)]
    deltas = [d]
    for layer in reversed(range(1, len(thetas))):
        # d(l) = (Θ(l)ᵀ d(l+1)) ⊙ g'(z(l)), with g'(z) = a(1 − a); skip the bias unit a_0.
        theta = thetas[layer]
        d = [
            math.fsum(theta[j][i] * d[j] for j in range(len(d))) * a[layer][i] * (1 - a[layer][i])
            for i in range(1, len(a[layer]))
        ]
        deltas.insert(0, d)
    return deltas


def gradients_by_hand(
    thetas: Sequence[Matrix], xs: Sequence[list[float]], ys: Matrix
) -> list[Matrix]:
    """D(l) = ∂J/∂Θ(l) by the layer-wise backpropagation algorithm."""
    m = len(xs)
    big_deltas = [[[0.0] * len(row) for row in theta] for theta in thetas]  # Δ(l) = 0
    for x, y in zip(xs, ys, strict=True):
        a = forward_by_hand(thetas, x)
        # Δ(l) += d(l+1) a(l)ᵀ
        for layer, d in enumerate(deltas_by_hand(thetas, a, y)):
            for j, dj in enumerate(d):
                row = big_deltas[layer][j]
                for i, ai in enumerate(a[layer]):
                    row[i] += dj * ai
    # D(l) = (1/m)(Δ(l) + λΘ(l)), except column 0: the bias weights carry no penalty.
    return [
        [
            [
                (dij + (LAMBDA * tij if i > 0 else 0.0)) / m
                for i, (dij, tij) in enumerate(zip(drow, trow))
            ]
            for drow, trow in zip(big_delta, theta, strict=True)
        ]
        for big_delta, theta in zip(big_deltas, thetas, strict=True)
    ]


# ---------------------------------------------------------------------------------------------
# The same network as a graph of Values
# ---------------------------------------------------------------------------------------------


def cost_by_engine(
    thetas: Sequence[list[list[Value]]],
    xs: Sequence[list[float]],
    ys: Matrix,
    pre_activations: list[list[list[Value]]] | None = None,
) -> Value:
    """J(Θ) built from Values: the same formula, so backward() can differentiate it.

    Given a list, appends each example's pre-activation nodes z(2), ..., z(L) to it.
    """
    m = len(xs)
    terms: list[Value] = []
    for x, y in zip(xs, ys, strict=True):
        a: list[Value | float] = [1.0, *x]
        zs: list[list[Value]] = []
        for layer, theta in enumerate(thetas):
            z = [ag.dot(row, a) for row in theta]  # z(l+1) = Θ(l) a(l): one node per unit
            zs.append(z)
            out = [zj.sigmoid() for zj in z]
            a = list(out) if layer == len(thetas) - 1 else [1.0, *out]
        if pre_activations is not None:
            pre_activations.append(zs)
        for hk, yk in zip(a, y, strict=True):
            assert isinstance(hk, Value)
            terms.append(yk * hk.log() + (1 - yk) * (1 - hk).log())
    penalty = ag.sum([t * t for theta in thetas for row in theta for t in row[1:]])
    return -ag.sum(terms) / m + LAMBDA / (2 * m) * penalty


# ---------------------------------------------------------------------------------------------
# The demo
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """What the demo found."""

    max_delta_difference: float  # largest |d(l) by hand − z.grad|, one example's cost at a time
    max_batch_delta_difference: float  # largest |d(l) − m·z.grad| in the batch cost
    first_deltas: tuple[Matrix, Matrix]  # example 1's d(2), d(3): by hand, and the z nodes' grads
    max_gradient_difference: float  # largest |hand − engine| over all weights, first gradient
    max_weight_difference: float  # after training both ways in lockstep
    first_cost: float
    last_cost: float
    parameters: int
    pictures: list[Path]


def make_problem(rng: random.Random) -> tuple[list[Matrix], list[list[float]], Matrix]:
    """Initial weights Θ(l) (with a bias column), inputs and two 0/1 targets per example."""
    thetas = [
        [[rng.uniform(-1.0, 1.0) for _ in range(nin + 1)] for _ in range(nout)]
        for nin, nout in itertools.pairwise(SIZES)
    ]
    xs = [[rng.uniform(-2.0, 2.0) for _ in range(SIZES[0])] for _ in range(EXAMPLES)]
    ys = [[float(x[0] + x[1] > 0), float(x[2] > 0.5)] for x in xs]
    return thetas, xs, ys


def main(argv: Sequence[str] | None = None) -> Result:
    """Compare the two gradients, then train both ways in lockstep."""
    options = parse_options("backprop_by_hand", __doc__ or "", argv)
    steps = 40 if options.fast else 150
    learning_rate = 2.0
    thetas, xs, ys = make_problem(random.Random(SEED))
    names = [
        f"Θ({layer + 1})[{j},{i}]"
        for layer, theta in enumerate(thetas)
        for j, row in enumerate(theta)
        for i in range(len(row))
    ]
    sizes = " → ".join(str(n) for n in SIZES)
    print(
        f"A sigmoid network {sizes}, m = {EXAMPLES} examples, λ = {LAMBDA}, {len(names)} weights."
    )

    print(
        "\nSign conventions. Here (Andrew Ng's notation, and Matt Mazur's): d(l) = ∂J/∂z(l), the\n"
        "gradient of the cost with respect to the pre-activation z(l) = Θ(l−1)a(l−1), so\n"
        "D = ∂J/∂Θ and the update is Θ ← Θ − α·D. Mitchell and Rumelhart et al. write\n"
        "δ_j = −∂E/∂net_j and w ← w + η·δ·x: the opposite sign on δ, the same update. The\n"
        "engine holds gradients: after backward(), each z node's .grad is d(l) (−δ for Mitchell)."
    )
    per_example = []
    for x, y in zip(xs, ys, strict=True):
        hand_deltas = deltas_by_hand(thetas, forward_by_hand(thetas, x), y)
        one = [[[Value(t) for t in row] for row in theta] for theta in thetas]
        zs: list[list[list[Value]]] = []
        cost_by_engine(one, [x], [y], zs).backward()  # one example's cost: m = 1
        engine_deltas = [[float(z.grad) for z in layer] for layer in zs[0]]
        per_example.append((hand_deltas, engine_deltas))
    hand_deltas, engine_deltas = per_example[0]
    rows_d: list[tuple[str, float, str, float, float]] = []
    layers = list(enumerate(zip(hand_deltas, engine_deltas, strict=True)))
    for layer, (hand_d, engine_d) in reversed(layers):  # the order the sweep reaches them
        for j, (h, e) in enumerate(zip(hand_d, engine_d, strict=True)):
            rows_d.append(
                (f"d({layer + 2})_{j + 1}", h, f"z({layer + 2})_{j + 1}.grad", e, abs(h - e))
            )
    print(
        "\nStep 1, layer by layer, for example 1 alone (its cost, m = 1): the textbook's errors\n"
        "d, output layer first, beside the engine's gradient at each unit's pre-activation node."
    )
    print(table(rows_d, ("by hand", "value", "engine node", "value", "|difference|")))
    delta_gap = max(
        abs(h - e)
        for hand_d, engine_d in per_example
        for hl, el in zip(hand_d, engine_d, strict=True)
        for h, e in zip(hl, el, strict=True)
    )
    print(f"Over all {EXAMPLES} examples, the largest difference is {delta_gap:.1e}.")

    hand = [t for theta in gradients_by_hand(thetas, xs, ys) for row in theta for t in row]
    values = [[[Value(t) for t in row] for row in theta] for theta in thetas]
    batch_zs: list[list[list[Value]]] = []
    cost = cost_by_engine(values, xs, ys, batch_zs)
    cost.backward()
    # In the batch cost J = (1/m)Σ cost_e + penalty, example e's z nodes hold d/m.
    batch_gap = max(
        abs(EXAMPLES * float(z.grad) - h)
        for (hand_d, _), zs_e in zip(per_example, batch_zs, strict=True)
        for hl, zl in zip(hand_d, zs_e, strict=True)
        for h, z in zip(hl, zl, strict=True)
    )
    print(
        f"In the batch cost J = (1/m)Σ cost + penalty, the same nodes hold d/m (the mean divides\n"
        f"by m = {EXAMPLES}; the penalty does not depend on z): largest |m·z.grad − d| "
        f"{batch_gap:.1e}."
    )
    print(
        "\nStep 2, the weights: D(l) = (1/m)(Σ d(l+1) a(l)ᵀ + λΘ(l)) by hand, beside the\n"
        "engine's .grad of every weight after one backward() on the batch cost."
    )
    engine = [float(t.grad) for theta in values for row in theta for t in row]
    differences = [abs(h - e) for h, e in zip(hand, engine, strict=True)]
    rows = [(n, h, e, d) for n, h, e, d in zip(names, hand, engine, differences, strict=True)]
    print(table(rows, ("weight", "by hand D(l)", "engine .grad", "|difference|")))
    biggest = max(differences)
    print(f"\nLargest difference: {biggest:.2e} (round-off: the sums run in a different order).")
    print(
        "Why they agree: the layer-wise rule is reverse accumulation on this particular graph.\n"
        "  d(L) = a(L) − y is ∂J/∂z(L) per example: the sweep multiplies the log's 1/h by the\n"
        "  sigmoid's h(1 − h), and the two collapse to h − y. Each dot node passes\n"
        "  ∂/∂a = Θ to its inputs, so the hidden nodes receive Θᵀ d; the sigmoid node multiplies\n"
        "  by g'(z) = a(1 − a): that is d(l) = (Θᵀ d(l+1)) ⊙ g'(z(l)). Each dot node also passes\n"
        "  ∂/∂Θ = a to its weights, and a weight shared by m examples sums m such products:\n"
        "  Δ(l) += d(l+1) a(l)ᵀ. The final division by m and the λΘ term come from the nodes\n"
        "  for the mean and the penalty. Same products, same sums: one algorithm."
    )

    # Learning: Θ ← Θ − α·D, repeated. Both ways in lockstep, from the same start.
    hand_thetas = [[row[:] for row in theta] for theta in thetas]
    engine_thetas = [[[Value(t) for t in row] for row in theta] for theta in thetas]
    flat_params = [t for theta in engine_thetas for row in theta for t in row]
    hand_costs: list[float] = []
    engine_costs: list[float] = []
    for _ in range(steps):
        hand_costs.append(cost_by_hand(hand_thetas, xs, ys))
        grads = gradients_by_hand(hand_thetas, xs, ys)
        for theta, d_theta in zip(hand_thetas, grads, strict=True):
            for row, d_row in zip(theta, d_theta, strict=True):
                for i, d in enumerate(d_row):
                    row[i] -= learning_rate * d
        ag.zero_grad(flat_params)
        cost = cost_by_engine(engine_thetas, xs, ys)
        cost.backward()
        engine_costs.append(cost.data)
        for p in flat_params:
            p.data -= learning_rate * p.grad
    hand_flat = [t for theta in hand_thetas for row in theta for t in row]
    drift = max(abs(h - p.data) for h, p in zip(hand_flat, flat_params, strict=True))
    print(
        f"\nGradient descent, α = {learning_rate}, {steps} steps, both ways: cost "
        f"{hand_costs[0]:.4f} → {hand_costs[-1]:.4f} (by hand), "
        f"{engine_costs[0]:.4f} → {engine_costs[-1]:.4f} (engine);\n"
        f"largest weight difference after training: {drift:.2e}."
    )

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.scatter(hand, engine, s=18)
    lo, hi = min(hand), max(hand)
    left.plot([lo, hi], [lo, hi], color="grey", linewidth=0.8, zorder=0)
    left.set(
        xlabel="by hand: D(l)",
        ylabel="engine: .grad after backward()",
        title=f"{len(names)} gradients, largest difference {biggest:.1e}",
    )
    right.plot(hand_costs, label="by hand", linewidth=3, alpha=0.5)
    right.plot(engine_costs, label="engine", linestyle="--")
    right.set(xlabel="gradient-descent step", ylabel="cost J(Θ)", title="Learning: Θ ← Θ − α·D")
    right.legend()
    picture = save_figure(fig, options.out / "gradients.png")
    return Result(
        max_delta_difference=delta_gap,
        max_batch_delta_difference=batch_gap,
        first_deltas=per_example[0],
        max_gradient_difference=biggest,
        max_weight_difference=drift,
        first_cost=hand_costs[0],
        last_cost=hand_costs[-1],
        parameters=len(names),
        pictures=[picture],
    )


if __name__ == "__main__":
    main(sys.argv[1:])
