"""Paths versus dynamic programming: the chain rule path by path, and what one sweep saves.

The chain rule says that ∂loss/∂w is the sum, over every path from w to the loss, of the
product of the local derivatives along the path. On a small network (MLP(2, [3, 3, 1]), hinge
loss plus an L2 penalty as in demos/moons.py, on 2 points) the demo lists every path from one
weight to the loss, each with its product, and checks that their sum is the engine's gradient.
Then it counts, for the moons model (MLP(2, [16, ..., 16, 1]) on all 100 points) with 1 to 5
hidden layers, the paths from one first-layer weight to the loss (they multiply by 16 with every
layer) against the edges one backward sweep touches (they grow by a constant per layer). The
paths are counted by dynamic programming, the very idea the sweep uses: the number of paths
from w to a node is the sum of the numbers of paths to its parents.

Run: python demos/paths.py   (the picture in out/paths/; --out docs/images remakes the docs')
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from _common import op_label, parse_options, pyplot, save_figure, table

from autograd_lite import Value, topological_order
from autograd_lite.datasets import make_moons, signed_labels
from autograd_lite.losses import hinge, l2_penalty
from autograd_lite.nn import MLP
from autograd_lite.sweeps import backward_sweep, forward_sweep

SEED = 0
ALPHA = 1e-4  # the L2 strength of demos/moons.py
SMALL_HIDDEN = [3, 3]
SMALL_POINTS = 2
POINTS = 100  # the moons data set, all of it
WIDTH = 16
LAYERS = (1, 2, 3, 4, 5)  # hidden layers of the networks counted

Edge = tuple[Value, int]  # a child and the operand position its parent takes in it


@dataclass(frozen=True)
class PathProduct:
    """One path from the weight to the loss: its nodes, and the local derivatives along it."""

    nodes: tuple[Value, ...]
    partials: tuple[float, ...]
    product: float


@dataclass(frozen=True)
class Count:
    """One network's counts, for one first-layer weight w."""

    hidden_layers: int
    parameters: int
    values: int
    paths: int  # from w to the loss
    path_multiplications: int  # one per edge of every path: the work of summing path by path
    all_path_multiplications: int  # the same for every parameter's gradient
    sweep_edges: int  # multiply-adds of one backward sweep (every parameter's gradient)
    forward_edges: int  # multiply-adds of one forward sweep from w (w's gradient only)


@dataclass(frozen=True)
class Result:
    """What the demo measured."""

    paths: list[PathProduct]  # on the small network
    path_sum: float
    gradient: float  # w.grad after loss.backward(), the engine's
    small_edges: int  # multiply-adds of the small network's backward sweep
    counts: list[Count]
    pictures: list[Path]


def moons_loss(hidden: list[int], points: int) -> tuple[Value, MLP, dict[Value, str]]:
    """Hinge loss plus the L2 penalty of demos/moons.py, for an MLP(2, hidden + [1]).

    Also a name for each node a neuron makes: ``relu 0.2 @x1`` is the relu of layer 0's unit 2
    on the first point. The layers run one by one, as ``model(x)`` runs them.
    """
    model = MLP(2, [*hidden, 1], seed=SEED)
    loss, names = labelled_loss(model, points)
    return loss, model, names


def moons_loss_with(model: MLP, points: int) -> Value:
    """The same loss for a given model (to recompute it after changing a parameter)."""
    return labelled_loss(model, points)[0]


def labelled_loss(model: MLP, points: int) -> tuple[Value, dict[Value, str]]:
    """The loss of `moons_loss` for a given model, with the names of its nodes."""
    X, y01 = make_moons(POINTS, noise=0.1, seed=SEED)
    X, y = X[:points], signed_labels(y01[:points])
    names = {p: n.replace("layers.", "L").replace(".neurons.", ".n") for n, p in
             model.named_parameters()}  # fmt: skip
    scores = []
    for k, x in enumerate(X, start=1):
        values = [Value(v) for v in x]
        for i, layer in enumerate(model.layers):
            values = layer(values)
            for j, out in enumerate(values):
                node = out
                while node not in names and node.parents:  # activation, + b, dot: in turn
                    names[node] = f"{op_label(node)}[{i}.{j}|x{k}]"
                    node = node.parents[0]
        scores.append(values[0])
    hinge_term = hinge(scores, y)
    penalty = l2_penalty(model.parameters(), ALPHA)
    loss = hinge_term + penalty
    # The loss's own nodes: mean of the hinges (a sum, then / n), and α·Σw².
    total = hinge_term.parents[0]
    names.update({loss: "loss", hinge_term: "mean", total: "Σ hinges"})
    names.update({penalty: "α·Σw²", penalty.parents[0]: "Σw²"})
    for k, margin in enumerate(total.parents, start=1):
        names[margin] = f"hinge[x{k}]"  # relu(1 - y·s)
        names[margin.parents[0]] = f"1-y·s[x{k}]"
    return loss, names


def consumers(order: Sequence[Value]) -> dict[Value, list[Edge]]:
    """For every node, the edges leaving it: each consumer with the operand position it uses.

    A node used twice by one consumer (w in w·w, inside the L2 penalty) has two edges into it.
    """
    found: dict[Value, list[Edge]] = {node: [] for node in order}
    for node in order:
        for operand, parent in enumerate(node.parents):
            found[parent].append((node, operand))
    return found


def every_path(source: Value, root: Value) -> list[PathProduct]:
    """Every path from source to root, listed by a depth-first walk with an explicit stack."""
    leaving = consumers(topological_order(root))
    paths: list[PathProduct] = []
    # Each entry: the nodes so far, the partials so far, and the edges still to try from the
    # last node.
    stack: list[tuple[list[Value], list[float], list[Edge]]] = [
        ([source], [], list(reversed(leaving[source])))
    ]
    while stack:
        nodes, partials, untried = stack[-1]
        if nodes[-1] is root:
            product = 1.0
            for partial in partials:
                product *= partial
            paths.append(PathProduct(tuple(nodes), tuple(partials), product))
            stack.pop()
            continue
        if not untried:
            stack.pop()
            continue
        child, operand = untried.pop()
        stack.append(
            (
                [*nodes, child],
                [*partials, child.partials[operand]],
                list(reversed(leaving[child])),
            )
        )
    return paths


def count_paths(source: Value, root: Value) -> tuple[int, int]:
    """The paths from source to root, and their edges all told, by dynamic programming.

    The forward sweep with every local derivative replaced by 1: the number of paths from
    source to a node is the sum over its parents (an edge each) of the paths to the parent.
    Python's ints are exact, however large the counts grow.
    """
    paths: dict[Value, int] = {source: 1}
    edges: dict[Value, int] = {source: 0}  # the edges of all the paths to the node, summed
    for node in topological_order(root):
        n = 0
        length = 0
        for parent in node.parents:
            k = paths.get(parent, 0)
            n += k
            length += edges.get(parent, 0) + k  # each of those paths gets one edge longer
        if n:
            paths[node] = n
            edges[node] = length
    return paths.get(root, 0), edges.get(root, 0)


def count_all_paths(root: Value, sources: Sequence[Value]) -> int:
    """The edges of all the paths from every source to root, by dynamic programming backward.

    The backward sweep with every local derivative replaced by 1: the paths from a node to root
    are the sum over the edges leaving it of the paths from the consumer.
    """
    order = topological_order(root)
    paths: dict[Value, int] = {node: 0 for node in order}
    edges: dict[Value, int] = {node: 0 for node in order}  # the edges of those paths, summed
    paths[root] = 1
    for node in reversed(order):
        for parent in node.parents:
            paths[parent] += paths[node]
            edges[parent] += edges[node] + paths[node]
    return sum(edges.get(source, 0) for source in sources)


def name(node: Value, names: dict[Value, str]) -> str:
    """A node as the path listing shows it: a parameter's name, or the operation that made it."""
    if node in names:
        return names[node]
    return op_label(node) or ("const" if node.op == "const" else "input")


def main(argv: Sequence[str] | None = None) -> Result:
    """List the paths on a small network, then count them on larger ones, and draw."""
    options = parse_options("paths", __doc__ or "", argv)

    loss, model, names = moons_loss(SMALL_HIDDEN, SMALL_POINTS)
    w = model.layers[0].neurons[0].w[0]
    model.zero_grad()
    loss.backward()
    paths = every_path(w, loss)
    print(
        f"MLP(2, {[*SMALL_HIDDEN, 1]}) on {SMALL_POINTS} of the two-moons points, hinge loss + "
        f"{ALPHA:g}·Σw² (as in demos/moons.py).\nEvery path from the weight {names[w]} to the "
        f"loss, with the local derivative ∂ of each edge and their product:\n"
    )
    for k, path in enumerate(paths, start=1):
        print(f"path {k}: " + " → ".join(name(node, names) for node in path.nodes))
        factors = " × ".join(f"{p:.4g}" for p in path.partials)
        print(f"   ∂: {factors} = {path.product + 0.0:.6g}")  # + 0.0: -0.0 shows as 0
    path_sum = math.fsum(path.product for path in paths)
    small_edges = backward_sweep(loss).multiply_adds
    print(
        f"\nThe sum over the {len(paths)} paths: {path_sum:.17g}\n"
        f"The engine's gradient, {names[w]}.grad after loss.backward(): {float(w.grad):.17g}\n"
        f"Difference: {abs(path_sum - float(w.grad)):.3g} (the same products, added in another "
        "order).\n"
        "(A path whose product is 0 goes through a ReLU that is off: a unit whose output is 0, "
        "or a hinge term whose\nmargin is already met. It adds nothing.)\n"
        f"Path by path, the products take {sum(len(p.partials) for p in paths)} multiplications "
        f"for this one weight; one backward sweep takes {small_edges} multiply-adds for all "
        f"{len(model.parameters())} parameters' gradients at once."
    )

    counts = []
    for layers in LAYERS:
        big, big_model, _ = moons_loss([WIDTH] * layers, POINTS)
        first = big_model.layers[0].neurons[0].w[0]
        n_paths, n_multiplications = count_paths(first, big)
        sweep = backward_sweep(big)
        counts.append(
            Count(
                hidden_layers=layers,
                parameters=len(big_model.parameters()),
                values=len(sweep.nodes),
                paths=n_paths,
                path_multiplications=n_multiplications,
                all_path_multiplications=count_all_paths(big, big_model.parameters()),
                sweep_edges=sweep.multiply_adds,
                forward_edges=forward_sweep(big, first).multiply_adds,
            )
        )
    print(
        f"\nThe moons model with 1 to {LAYERS[-1]} hidden layers of {WIDTH}, on all {POINTS} "
        "points: the paths from one\nfirst-layer weight to the loss (counted by dynamic "
        "programming) against the multiply-adds of the sweeps.\n"
    )
    rows = [
        (
            f"MLP(2, {[WIDTH] * c.hidden_layers + [1]})",
            c.parameters,
            f"{c.paths:,}",
            f"{c.path_multiplications:,}",
            f"{c.all_path_multiplications:,}",
            f"{c.sweep_edges:,}",
            f"{c.forward_edges:,}",
        )
        for c in counts
    ]
    header = ("network", "params", "paths", "× paths: w", "× paths: all", "backward", "forward")
    print(table(rows, header))
    two = next(c for c in counts if c.hidden_layers == 2)
    four = next(c for c in counts if c.hidden_layers == 4)
    growth = counts[1].sweep_edges - counts[0].sweep_edges
    print(
        "\npaths: from the weight w to the loss. × paths: w: the multiplications of summing "
        "them path by path (one per\nedge of each path); × paths: all: the same for every "
        "parameter's gradient. backward: the multiply-adds of one\nbackward sweep (one per "
        "edge), which gives every parameter's gradient. forward: one forward sweep from w,\n"
        "which gives w's gradient alone.\n"
        f"\nThe moons model, MLP(2, [16, 16, 1]): {two.paths:,} paths from w ({POINTS} points "
        f"× {WIDTH} second-layer units, and w's two\nedges into the L2 penalty); two more "
        f"layers: {four.paths:,}. Each layer multiplies the paths by {WIDTH} and adds about\n"
        f"{growth:,} edges to the sweep. The gradient of every weight path by path takes "
        f"{two.all_path_multiplications:,}\nmultiplications for the moons model, "
        f"{two.all_path_multiplications / two.sweep_edges:.0f} times the sweep's "
        f"{two.sweep_edges:,}; with two more layers, "
        f"{four.all_path_multiplications / four.sweep_edges:,.0f} times.\n"
        "\nCounting the paths was itself dynamic programming: the paths from w to a node are "
        "the sum of the paths\nfrom w to its parents (the forward sweep with every local "
        "derivative replaced by 1), and the paths from a\nnode to the loss the sum over its "
        "consumers (the backward sweep, likewise)."
    )
    pictures = [draw_counts(counts, options.out)]
    return Result(paths, path_sum, float(w.grad), small_edges, counts, pictures)


def draw_counts(counts: list[Count], out: Path) -> Path:
    """Paths (exponential) against the edges of one sweep (linear), as layers are added."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    layers = [c.hidden_layers for c in counts]
    ax.plot(
        layers,
        [c.all_path_multiplications for c in counts],
        "o-",
        color="tab:red",
        label="path by path, every weight's gradient: multiplications",
    )
    ax.plot(
        layers,
        [c.paths for c in counts],
        "o--",
        color="tab:orange",
        label="paths from one first-layer weight to the loss",
    )
    ax.plot(
        layers,
        [c.sweep_edges for c in counts],
        "s-",
        color="tab:blue",
        label="one backward sweep, every weight's gradient: multiply-adds",
    )
    ax.set(
        xlabel=f"hidden layers of {WIDTH} units (moons model, {POINTS} points)",
        ylabel="count (log scale)",
        yscale="log",
        title="Paths multiply with depth; the sweep's edges add up",
        xticks=layers,
    )
    ax.legend(fontsize=8)
    return save_figure(fig, out / "paths_per_layer.png")


if __name__ == "__main__":
    main(sys.argv[1:])
