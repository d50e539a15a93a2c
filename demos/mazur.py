"""Matt Mazur's "A Step by Step Backpropagation Example", recomputed by the engine.

The post (mattmazur.com, 2015) works one update of a 2-2-2 sigmoid network through by hand:
inputs 0.05 and 0.10, targets 0.01 and 0.99, weights w1..w8 = .15 .20 .25 .30 .40 .45 .50 .55,
biases b1 = .35 (both hidden units) and b2 = .60 (both outputs), squared error E = ½Σ(t − o)²,
learning rate 0.5; the biases are not updated. The demo builds the same network from `Value`s,
prints every number the post publishes beside the engine's, with how many digits agree, and
trains for 10,000 updates as the post does.

Run: python demos/mazur.py   (pictures in out/mazur/)
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from _common import parse_options, pyplot, render_graph, save_figure

from autograd_lite import Value

INPUTS = (0.05, 0.10)
TARGETS = (0.01, 0.99)
START = {
    "w1": 0.15,
    "w2": 0.20,
    "w3": 0.25,
    "w4": 0.30,
    "w5": 0.40,
    "w6": 0.45,
    "w7": 0.50,
    "w8": 0.55,
}
B1, B2 = 0.35, 0.60
LEARNING_RATE = 0.5
UPDATES = 10_000

# The numbers as the post prints them (strings: the digits published are part of the claim).
PUBLISHED_FORWARD = {
    "out_h1": "0.593269992",
    "out_h2": "0.596884378",
    "out_o1": "0.75136507",
    "out_o2": "0.772928465",
    "E_total": "0.298371109",
}
PUBLISHED_BACKWARD = {
    "δ_o1 = ∂E/∂net_o1": "0.138498562",
    "∂E/∂w5": "0.082167041",
    "∂E/∂out_h1": "0.036350306",
    "∂E/∂w1": "0.000438568",
}
PUBLISHED_UPDATED = {
    "w1": "0.149780716",
    "w2": "0.19956143",
    "w3": "0.24975114",
    "w4": "0.29950229",
    "w5": "0.35891648",
    "w6": "0.408666186",
    "w7": "0.511301270",
    "w8": "0.561370121",
}
PUBLISHED_SECOND_ERROR = "0.291027924"  # "after this first round of backpropagation"
PUBLISHED_FINAL_ERROR = "0.0000351085"  # "after repeating this process 10,000 times"
PUBLISHED_FINAL_OUTPUTS = ("0.015912196", "0.984065734")


@dataclass
class Network:
    """The post's network as a graph of Values, with its named nodes."""

    weights: dict[str, Value]
    biases: dict[str, Value]
    nodes: dict[str, Value]  # net_h1, out_h1, ..., E_total: what the post names
    error: Value


def build(weights: dict[str, Value], biases: dict[str, Value]) -> Network:
    """E_total of the 2-2-2 network, built as the post writes it: net = w·i + b, out = σ(net)."""
    i1, i2 = (Value(x, label=name) for x, name in zip(INPUTS, ("i1", "i2"), strict=True))
    w = weights
    b1, b2 = biases["b1"], biases["b2"]
    nodes: dict[str, Value] = {}

    def unit(name: str, wa: Value, xa: Value, wb: Value, xb: Value, bias: Value) -> Value:
        net = wa * xa + wb * xb + bias
        net.label = f"net_{name}"
        out = net.sigmoid()
        out.label = f"out_{name}"
        nodes[net.label], nodes[out.label] = net, out
        return out

    h1 = unit("h1", w["w1"], i1, w["w2"], i2, b1)
    h2 = unit("h2", w["w3"], i1, w["w4"], i2, b1)  # b1 feeds both hidden units: fan-out
    o1 = unit("o1", w["w5"], h1, w["w6"], h2, b2)
    o2 = unit("o2", w["w7"], h1, w["w8"], h2, b2)
    errors = []
    for k, (out, target) in enumerate(((o1, TARGETS[0]), (o2, TARGETS[1])), start=1):
        e = 0.5 * (target - out) ** 2
        e.label = f"E_o{k}"
        nodes[e.label] = e
        errors.append(e)
    total = errors[0] + errors[1]
    total.label = "E_total"
    nodes["E_total"] = total
    return Network(weights, biases, nodes, total)


def error_by_hand(weights: dict[str, float]) -> float:
    """E_total on plain floats, written out as the post does (an oracle that is not the engine)."""
    w = weights
    i1, i2 = INPUTS

    def sigma(z: float) -> float:
        return 1.0 / (1.0 + math.exp(-z))

    h1 = sigma(w["w1"] * i1 + w["w2"] * i2 + B1)
    h2 = sigma(w["w3"] * i1 + w["w4"] * i2 + B1)
    o1 = sigma(w["w5"] * h1 + w["w6"] * h2 + B2)
    o2 = sigma(w["w7"] * h1 + w["w8"] * h2 + B2)
    return 0.5 * (TARGETS[0] - o1) ** 2 + 0.5 * (TARGETS[1] - o2) ** 2


def fresh_parameters() -> tuple[dict[str, Value], dict[str, Value]]:
    """The post's starting weights and biases, as labelled leaves."""
    weights = {name: Value(x, label=name) for name, x in START.items()}
    biases = {"b1": Value(B1, label="b1"), "b2": Value(B2, label="b2")}
    return weights, biases


def train(updates: int) -> tuple[list[float], tuple[float, float]]:
    """E_total after 0, 1, ..., updates updates from the post's start, and the final outputs."""
    weights, biases = fresh_parameters()
    errors = []
    for k in range(updates + 1):
        network = build(weights, biases)
        errors.append(network.error.data)
        if k == updates:
            break
        for w in weights.values():
            w.grad = 0.0  # leaves accumulate: each update needs this step's gradient only
        network.error.backward()
        update(network)
    outputs = (network.nodes["out_o1"].data, network.nodes["out_o2"].data)
    return errors, outputs


def update(network: Network) -> None:
    """One step of gradient descent on the weights, w ← w − η·∂E/∂w; biases stay, as in the post."""
    for w in network.weights.values():
        w.data -= LEARNING_RATE * w.grad


def decimals(published: str) -> int:
    """How many decimals a published number shows ("0.35891648": 8)."""
    return len(published.split(".")[1])


def agrees(published: str, ours: float) -> bool:
    """True when ours, rounded to the published decimals, is the published number."""
    places = decimals(published)
    return round(ours, places) == round(float(published), places)


def agreement(published: str, ours: float) -> str:
    """How ours compares with a published number: equal when rounded to its digits, or not."""
    if agrees(published, ours):
        return f"equal to all {decimals(published)} published decimals"
    return f"differ by {abs(ours - float(published)):.1e}"


def show(rows: Sequence[tuple[str, str, float]]) -> None:
    """Print name, published, engine and agreement as aligned columns."""
    width = max(len(name) for name, _, _ in rows)
    print(f"  {'':{width}}  {'published':>13}  {'engine':>20}")
    for name, published, ours in rows:
        print(f"  {name:{width}}  {published:>13}  {ours:>20.12g}  {agreement(published, ours)}")


@dataclass(frozen=True)
class Result:
    """What the demo measured (every number the post publishes, recomputed)."""

    forward: dict[str, float]
    backward: dict[str, float]
    updated: dict[str, float]
    second_error: float
    errors: list[float]  # E_total before each update; errors[k] is after k updates
    final_outputs: tuple[float, float]  # after UPDATES updates
    deltas_match_grads: bool  # the post's δ formula equals the engine's ∂E/∂net
    pictures: list[Path]


def main(argv: Sequence[str] | None = None) -> Result:
    """Recompute the post's numbers, train 10,000 updates, and draw."""
    options = parse_options("mazur", __doc__ or "", argv)
    print(
        "Matt Mazur's step-by-step example: a 2-2-2 sigmoid network, inputs (0.05, 0.10),\n"
        "targets (0.01, 0.99), E = ½Σ(t − o)², learning rate 0.5, biases fixed. The post's\n"
        "numbers beside the engine's: the engine computes in double precision, the post prints\n"
        "8 to 10 decimals; 'equal' means the engine's number rounds to the published one."
    )
    weights, biases = fresh_parameters()
    network = build(weights, biases)
    nodes = network.nodes
    network.error.backward()

    print("\nForward pass:")
    forward = {name: nodes[name].data for name in PUBLISHED_FORWARD}
    show([(name, PUBLISHED_FORWARD[name], forward[name]) for name in PUBLISHED_FORWARD])

    print("\nBackward pass (one call to backward()):")
    backward = {
        "δ_o1 = ∂E/∂net_o1": float(nodes["net_o1"].grad),
        "∂E/∂w5": float(weights["w5"].grad),
        "∂E/∂out_h1": float(nodes["out_h1"].grad),
        "∂E/∂w1": float(weights["w1"].grad),
    }
    show([(name, PUBLISHED_BACKWARD[name], backward[name]) for name in PUBLISHED_BACKWARD])
    # The post's δ of an output unit, by its formula, against the gradient at its net node.
    deltas = []
    for k, target in enumerate(TARGETS, start=1):
        o = nodes[f"out_o{k}"].data
        deltas.append(((o - target) * o * (1 - o), float(nodes[f"net_o{k}"].grad)))
    deltas_match = all(math.isclose(a, b, rel_tol=1e-12) for a, b in deltas)
    print(
        "  The post's δ_o = (o − t)·o·(1 − o) is the engine's gradient at the net_o node:\n  "
        + "\n  ".join(
            f"δ_o{k} = {a:.12g}, net_o{k}.grad = {b:.12g}" for k, (a, b) in enumerate(deltas, 1)
        )
    )

    update(network)
    updated = {name: w.data for name, w in weights.items()}
    print("\nAfter the first update, w ← w − 0.5·∂E/∂w (all eight from the same gradients):")
    show([(name, PUBLISHED_UPDATED[name], updated[name]) for name in PUBLISHED_UPDATED])

    errors, final_outputs = train(UPDATES)
    second_error = errors[1]
    as_printed = error_by_hand({name: float(x) for name, x in PUBLISHED_UPDATED.items()})
    print(
        f"\nError after the first update: published {PUBLISHED_SECOND_ERROR}, engine "
        f"{second_error:.12g} ({agreement(PUBLISHED_SECOND_ERROR, second_error)}).\n"
        "  Not reproduced: the post's updated weights agree with ours to every printed digit,\n"
        f"  and a plain-float forward pass with the weights as printed gives {as_printed:.9f}."
    )

    final, before_last = errors[UPDATES], errors[UPDATES - 1]
    published = float(PUBLISHED_FINAL_ERROR)
    print(
        f"\nAfter {UPDATES:,} updates: published E_total = {PUBLISHED_FINAL_ERROR}, engine "
        f"{final:.6e}\n  (relative difference {abs(final - published) / published:.1e}). "
        f"After {UPDATES - 1:,} updates the engine's error is {before_last:.6e}:\n"
        f"  {agreement(PUBLISHED_FINAL_ERROR, before_last)}. So the published number matches the "
        "error that\n  the 10,000th forward pass measures, before its update."
    )
    o1, o2 = final_outputs
    p1, p2 = PUBLISHED_FINAL_OUTPUTS
    implied = 0.5 * (TARGETS[0] - float(p1)) ** 2 + 0.5 * (TARGETS[1] - float(p2)) ** 2
    print(
        f"  Outputs after {UPDATES:,} updates: published {p1} and {p2},\n  engine {o1:.9f} and "
        f"{o2:.9f} (differences {abs(o1 - float(p1)):.1e} and {abs(o2 - float(p2)):.1e}).\n"
        f"  The published outputs give E = {implied:.6e}, not the published error: the post's\n"
        "  outputs and its error were not printed at the same step."
    )
    print(
        "\nSign convention (the post's, as Andrew Ng's): δ = ∂E/∂net, the gradient at the net\n"
        "node, and the update is w ← w − η·δ·(the input on that weight). Mitchell's and\n"
        "Rumelhart et al.'s δ = −∂E/∂net, with w ← w + η·δ·x: the same update."
    )

    weights, biases = fresh_parameters()
    drawn = build(weights, biases)
    drawn.error.backward()
    pictures = [
        render_graph(
            drawn.error,
            options.out / "network",
            params={**weights, **biases},
            rankdir="TB",
            show_ops=False,  # each record names its op: a drawing half as tall
        ),
        draw_errors(errors, options.out),
    ]
    return Result(
        forward=forward,
        backward=backward,
        updated=updated,
        second_error=second_error,
        errors=errors,
        final_outputs=final_outputs,
        deltas_match_grads=deltas_match,
        pictures=pictures,
    )


def draw_errors(errors: list[float], out: Path) -> Path:
    """E_total against the number of updates (log-log), with the post's two later errors."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    steps = range(1, len(errors))
    ax.loglog(steps, errors[1:], color="tab:blue", label="engine")
    ax.loglog(
        [1, UPDATES],
        [float(PUBLISHED_SECOND_ERROR), float(PUBLISHED_FINAL_ERROR)],
        "o",
        color="tab:orange",
        label="published (after 1 and 10,000 updates)",
    )
    ax.set(xlabel="updates", ylabel="E_total", title="Mazur's example: the error, update by update")
    ax.legend()
    return save_figure(fig, out / "error.png")


if __name__ == "__main__":
    main(sys.argv[1:])
