"""A single neuron, step by step: the textbook's first example of learning by gradient descent.

A linear unit o = w1·x1 + w2·x2 with the squared error E = ½(t − o)², trained on four tuples
(x1, x2, t) that follow t = 2·x1 − 3·x2. For the first tuple the demo draws the graph before and
after `backward()`, prints every node's local derivative and how the chain rule multiplies them
into ∂E/∂w, then checks the delta rule w ← w + η(t − o)x, computed by hand, against the
engine's w ← w − η·∂E/∂w, update after update.

Run: python demos/single_neuron.py   (pictures in out/single_neuron/)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from _common import op_label, parse_options, pyplot, render_graph, save_figure

from autograd_lite import Value, topological_order

# (x1, x2, t), with t = 2·x1 − 3·x2 exactly: the weights to find are (2, −3). The numbers are
# chosen so that no two of those a learner meets in the first example coincide (inputs, target,
# weights, η, every node's value and the weights' gradients): each can be traced by hand.
TUPLES = [(1.5, 0.4, 1.8), (-0.8, 1.2, -5.2), (0.6, -1.1, 4.5), (2.2, 0.9, 1.7)]
START = (0.3, -0.7)
ETA = 0.12  # η, the learning rate


def error_graph(w1: Value, w2: Value, x1: float, x2: float, t: float) -> Value:
    """E = ½(t − o)² with o = w1·x1 + w2·x2, every node labelled for printing and drawing."""
    x1_node, x2_node = Value(x1, label="x1"), Value(x2, label="x2")
    product1 = w1 * x1_node
    product1.label = "w1·x1"
    product2 = w2 * x2_node
    product2.label = "w2·x2"
    o = product1 + product2
    o.label = "o"
    difference = t - o
    difference.label = "t − o"
    difference.parents[0].label = "t"  # the number t became a constant node
    square = difference**2
    square.label = "(t − o)²"
    error = 0.5 * square
    error.label = "E"
    error.parents[0].label = "½"
    return error


@dataclass(frozen=True)
class Result:
    """What the demo measured."""

    first_gradients: tuple[float, float]  # ∂E/∂w1, ∂E/∂w2 on the first tuple, by the engine
    first_by_hand: tuple[float, float]  # −(t − o)·x1, −(t − o)·x2
    max_update_difference: float  # delta rule by hand against the engine, over all updates
    final_weights: tuple[float, float]
    final_error: float  # mean of E over the tuples after training
    pictures: list[Path]


def main(argv: Sequence[str] | None = None) -> Result:
    """Walk through one backward pass, then train by the delta rule both ways."""
    options = parse_options("single_neuron", __doc__ or "", argv)
    epochs = 10 if options.fast else 40
    w1, w2 = Value(START[0], label="w1"), Value(START[1], label="w2")
    x1, x2, t = TUPLES[0]
    print(
        f"A linear neuron o = w1·x1 + w2·x2, E = ½(t − o)², w = {START}, first tuple {TUPLES[0]}."
    )
    error = error_graph(w1, w2, x1, x2, t)
    weights = {"w1": w1, "w2": w2}  # drawn as parameters, apart from the inputs x1, x2
    pictures = [render_graph(error, options.out / "before_backward", params=weights)]
    error.backward()
    pictures.append(render_graph(error, options.out / "after_backward", params=weights))

    order = topological_order(error)
    print("\nForward pass (leaves first): every node's value and its local derivatives.")
    for node in order:
        if node.is_leaf:
            print(f"  {node.label:>9} = {node.data:g}")
            continue
        partials = ", ".join(
            f"∂{_name(node)}/∂{_name(parent)} = {float(partial):g}"
            for parent, partial in zip(node.parents, node.partials, strict=True)
        )
        print(f"  {node.label:>9} = {node.data:g}   ({op_label(node)}: {partials})")

    print("\nBackward pass (reverse order): ∂E/∂parent += ∂node/∂parent × ∂E/∂node.")
    print("  ∂E/∂E = 1")
    for node in reversed(order):
        upstream = float(node.grad)
        for parent, partial in zip(node.parents, node.partials, strict=True):
            contribution = float(partial) * upstream
            print(
                f"  ∂E/∂{_name(parent)} += ∂{_name(node)}/∂{_name(parent)} × ∂E/∂{_name(node)}"
                f" = {float(partial):g} × {upstream:g} = {contribution:g}"
            )
    o = START[0] * x1 + START[1] * x2
    by_hand = (-(t - o) * x1, -(t - o) * x2)
    engine = (float(w1.grad), float(w2.grad))
    print(
        f"\nSo ∂E/∂w1 = {engine[0]:g} and ∂E/∂w2 = {engine[1]:g}. By hand, ∂E/∂wi = −(t − o)·xi "
        f"with o = {o:g}:\n  −({t:g} − {o:g})·{x1:g} = {by_hand[0]:g} and "
        f"−({t:g} − {o:g})·{x2:g} = {by_hand[1]:g}."
    )
    print(
        "  (The constants t and ½ get gradients too; nothing uses them, but the sweep does not "
        "know that.)"
    )

    print(f"\nTraining, one update per tuple, η = {ETA}: the delta rule by hand beside the engine.")
    hand_w = list(START)
    w1, w2 = Value(START[0], label="w1"), Value(START[1], label="w2")
    largest = 0.0
    history: list[tuple[float, float]] = [START]
    for epoch in range(1, epochs + 1):
        for x1, x2, t in TUPLES:
            # By hand: Δwi = η (t − o) xi.
            o = hand_w[0] * x1 + hand_w[1] * x2
            hand_w = [hand_w[0] + ETA * (t - o) * x1, hand_w[1] + ETA * (t - o) * x2]
            # The engine: build E, backward, step against the gradient.
            w1.grad, w2.grad = 0.0, 0.0
            error_graph(w1, w2, x1, x2, t).backward()
            w1.data -= ETA * w1.grad
            w2.data -= ETA * w2.grad
            largest = max(largest, abs(hand_w[0] - w1.data), abs(hand_w[1] - w2.data))
            history.append((w1.data, w2.data))
        if epoch in (1, 2, 5, 10, 20, epochs):
            mean_error = _mean_error((w1.data, w2.data))
            print(
                f"  epoch {epoch:>2}: by hand w = ({hand_w[0]:.6f}, {hand_w[1]:.6f}), engine "
                f"w = ({w1.data:.6f}, {w2.data:.6f}), mean E = {mean_error:.2e}"
            )
    final_error = _mean_error((w1.data, w2.data))
    print(
        f"Largest difference between the two over {epochs * len(TUPLES)} updates: {largest:.1e}. "
        "The delta rule is\ngradient descent on E: −(t − o)·xi is exactly what backward() "
        "computes for ∂E/∂wi."
    )

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot([h[0] for h in history], label="w1 (target 2)")
    ax.plot([h[1] for h in history], label="w2 (target −3)")
    ax.axhline(2.0, color="grey", linestyle=":", linewidth=1)
    ax.axhline(-3.0, color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="update (one per tuple)", ylabel="weight", title="The delta rule at work")
    ax.legend()
    pictures.append(save_figure(fig, options.out / "weights.png"))
    return Result(
        first_gradients=engine,
        first_by_hand=by_hand,
        max_update_difference=largest,
        final_weights=(w1.data, w2.data),
        final_error=final_error,
        pictures=pictures,
    )


def _name(node: Value) -> str:
    """A node's label, in parentheses when it is an expression (∂(t − o), not ∂t − o)."""
    return (
        node.label if node.label.isalnum() or node.label in ("½", "(t − o)²") else f"({node.label})"
    )


def _mean_error(w: tuple[float, float]) -> float:
    """Mean of ½(t − o)² over the tuples, on plain floats."""
    errors = [0.5 * (t - (w[0] * x1 + w[1] * x2)) ** 2 for x1, x2, t in TUPLES]
    return sum(errors) / len(errors)


if __name__ == "__main__":
    main(sys.argv[1:])
