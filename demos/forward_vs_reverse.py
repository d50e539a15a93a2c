"""Forward versus reverse accumulation, counted: n forward sweeps, or one backward sweep.

Both sweeps use the same stored local derivatives, summed in two directions (`engine._sweep`
pushes gradients from the output back, `engine._tangents` pulls tangents from the inputs on).
First one neuron, tanh(x·w + b), swept both ways, as two step-by-step pages. Then the moons
model, MLP(2, [16, 16, 1]) with hinge loss + L2 as in demos/moons.py, on the first 20 of its 100
points (so that its 337 forward sweeps take about a second; every count grows in proportion to
the points): its gradient by one backward sweep and by one forward sweep per parameter, the
multiply-adds counted by `autograd_lite.sweeps`, the time of the engine's own loops measured,
the same gradient both ways. Last the opposite case, one input and 100 outputs: the Jacobian by
`jacfwd` (one forward sweep) and by `jacrev` (one backward sweep per output).

Run: python demos/forward_vs_reverse.py   (pictures in out/forward_vs_reverse/; --out docs/images
remakes the docs')
"""

from __future__ import annotations

import math
import struct
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from _common import parse_options, pyplot, save_figure, shown, table

from autograd_lite import Value, topological_order, viz
from autograd_lite.datasets import make_moons, signed_labels
from autograd_lite.engine import _tangents
from autograd_lite.expr import parse
from autograd_lite.functional import jacfwd, jacrev
from autograd_lite.losses import hinge, l2_penalty
from autograd_lite.nn import MLP
from autograd_lite.sweeps import backward_sweep, forward_sweep

SEED = 0
ALPHA = 1e-4  # the L2 strength of demos/moons.py
POINTS = 20  # of the 100: the forward sweeps are 337 passes over the whole graph
HIDDEN = [16, 16]
TRUNK = 20  # steps of the shared part of the one-input function
OUTPUTS = 100
X0 = 0.3
NEURON = ("tanh(x*w + b)", {"x": 0.5, "w": -1.5, "b": 0.1})
# The node whose frames the docs show: backward, two contributions leave it; forward from w,
# one arrives and x's edge is skipped.
SHOWN_NODE = "x*w"


@dataclass(frozen=True)
class Moons:
    """The moons model's gradient both ways."""

    points: int
    parameters: int
    values: int
    edges: int
    backward_multiply_adds: int
    forward_multiply_adds: int  # over all the forward sweeps, one per parameter
    forward_edges_examined: int  # every forward sweep looks at every edge
    backward_seconds: float
    forward_seconds: float
    max_difference: float  # between the two gradients, over the parameters
    bitwise_equal: int  # parameters whose two gradients agree to the last bit
    gradient_norm: float


@dataclass(frozen=True)
class FanOut:
    """The one-input, many-output function's Jacobian both ways."""

    outputs: int
    values: int
    edges: int
    forward_multiply_adds: int  # one forward sweep over all the outputs
    backward_multiply_adds: int  # over all the backward sweeps, one per output
    forward_seconds: float  # the engine's sweeps alone, on the recorded graph
    backward_seconds: float
    jacfwd_seconds: float  # the calls, recording the graph included
    jacrev_seconds: float
    max_difference: float  # between jacfwd's and jacrev's columns


@dataclass(frozen=True)
class Result:
    """What the demo measured."""

    neuron_backward_multiply_adds: int
    neuron_forward_multiply_adds: int
    moons: Moons
    fan_out: FanOut
    pages: list[Path]
    pictures: list[Path]


def best_time(run: Callable[[], object], repeats: int) -> float:
    """The shortest of a few runs, in seconds (the least disturbed by other work)."""
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def same_bits(a: float, b: float) -> bool:
    return struct.pack("<d", a) == struct.pack("<d", b)


def moons_loss() -> tuple[Value, MLP]:
    """The moons model, seeded as in demos/moons.py, and its loss."""
    model = MLP(2, [*HIDDEN, 1], seed=SEED)
    return moons_loss_with(model), model


def moons_loss_with(model: MLP) -> Value:
    """Hinge loss plus the L2 penalty of demos/moons.py, on the first POINTS points."""
    X, y01 = make_moons(100, noise=0.1, seed=SEED)
    scores = [model(x) for x in X[:POINTS]]
    return hinge(scores, signed_labels(y01[:POINTS])) + l2_penalty(model.parameters(), ALPHA)


def fan_out(x: Value) -> list[Value]:
    """One input, OUTPUTS outputs: a shared trunk of TRUNK steps, then a branch per output."""
    h = x
    for _ in range(TRUNK):
        h = (h * 0.9 + 0.1).tanh()
    return [(h * (k / OUTPUTS)).sin() for k in range(1, OUTPUTS + 1)]


def neuron_pages(out: Path) -> tuple[int, int, list[Path], list[Path]]:
    """tanh(x·w + b) swept backward and forward from w: the pages, and one frame of each."""
    text, values = NEURON
    leaves = {name: Value(value, label=name) for name, value in values.items()}
    y = parse(text).evaluate(leaves, labels=True)
    backward = viz.sweep_page(y, title=f"Backward sweep of f = {text}")
    forward = viz.sweep_page(y, forward=leaves["w"], title=f"Forward sweep of f = {text}, from w")
    pages = [backward.save(out / "sweep_backward.html"), forward.save(out / "sweep_forward.html")]
    pictures = []
    for page, name in (
        (backward, "sweep_backward_frame.svg"),
        (forward, "sweep_forward_frame.svg"),
    ):
        sweep = page.sweep
        # Frame k visits sweep.frames[k - 1]: find the one at the node the docs talk about.
        k = next(
            k
            for k, frame in enumerate(sweep.frames, start=1)
            if sweep.nodes[frame.node].label == SHOWN_NODE
        )
        path = out / name
        path.write_text(page.frame_svg(k), encoding="utf-8")
        pictures.append(path)
    for path in pages + pictures:
        print(f"  wrote {shown(path)}")
    return backward.sweep.multiply_adds, forward.sweep.multiply_adds, pages, pictures


def compare_on_moons(repeats: int) -> Moons:
    """The moons loss's gradient by one backward sweep and by one forward sweep per parameter."""
    loss, model = moons_loss()
    params = model.parameters()
    order = topological_order(loss)
    edges = sum(len(node.parents) for node in order)
    backward = backward_sweep(loss)
    forwards = [forward_sweep(loss, p) for p in params]
    model.zero_grad()
    loss.backward()
    by_reverse = [float(p.grad) for p in params]
    by_forward = [sweep.result(loss) for sweep in forwards]
    differences = [abs(f - r) for f, r in zip(by_forward, by_reverse, strict=True)]
    # The time of the engine's own loops: backward() (its topological sort included), and the
    # loop jvp runs, once per parameter, given the order (a jvp call would also re-record).
    backward_seconds = best_time(loss.backward, repeats)
    # 337 sweeps take about a second: one run is steady enough.
    forward_seconds = best_time(lambda: [_tangents(order, {p: 1.0}) for p in params], 1)
    model.zero_grad()
    return Moons(
        points=POINTS,
        parameters=len(params),
        values=len(order),
        edges=edges,
        backward_multiply_adds=backward.multiply_adds,
        forward_multiply_adds=sum(sweep.multiply_adds for sweep in forwards),
        forward_edges_examined=len(params) * edges,
        backward_seconds=backward_seconds,
        forward_seconds=forward_seconds,
        max_difference=max(differences),
        bitwise_equal=sum(same_bits(f, r) for f, r in zip(by_forward, by_reverse, strict=True)),
        gradient_norm=math.sqrt(math.fsum(g * g for g in by_reverse)),
    )


def compare_on_fan_out(repeats: int) -> FanOut:
    """The Jacobian of one input to OUTPUTS outputs: one forward sweep, or one backward each."""
    x = Value(X0)
    outs = fan_out(x)
    joint: dict[Value, None] = {}  # every node of the outputs' graph, once, in order
    for out in outs:
        joint.update(dict.fromkeys(topological_order(out)))
    order = list(joint)
    column_forward = jacfwd(fan_out)(X0)
    column_reverse = jacrev(fan_out)(X0)
    differences = [abs(f - r) for f, r in zip(column_forward, column_reverse, strict=True)]

    def every_backward() -> None:
        for out in outs:
            out.backward()

    return FanOut(
        outputs=OUTPUTS,
        values=len(order),
        edges=sum(len(node.parents) for node in order),
        forward_multiply_adds=forward_sweep(outs, x).multiply_adds,
        backward_multiply_adds=sum(backward_sweep(out).multiply_adds for out in outs),
        forward_seconds=best_time(lambda: _tangents(order, {x: 1.0}), repeats),
        backward_seconds=best_time(every_backward, repeats),
        jacfwd_seconds=best_time(lambda: jacfwd(fan_out)(X0), repeats),
        jacrev_seconds=best_time(lambda: jacrev(fan_out)(X0), repeats),
        max_difference=max(differences),
    )


def main(argv: Sequence[str] | None = None) -> Result:
    """Sweep a neuron both ways, then count and time both ways where each one wins."""
    options = parse_options("forward_vs_reverse", __doc__ or "", argv)
    repeats = 1 if options.fast else 3
    text, values = NEURON
    print(
        f"1. One neuron, f = {text} at "
        + ", ".join(f"{k} = {v}" for k, v in values.items())
        + ", swept both ways (open the pages in a browser):"
    )
    neuron_backward, neuron_forward, pages, pictures = neuron_pages(options.out)
    print(
        f"   backward: {neuron_backward} multiply-adds, one per edge, and every gradient "
        f"(df/dx, df/dw, df/db);\n   forward from w: {neuron_forward} multiply-adds, one per "
        "edge whose input depends on w, and df/dw alone."
    )

    moons = compare_on_moons(repeats)
    print(
        f"\n2. The moons model, MLP(2, {[*HIDDEN, 1]}), hinge loss + {ALPHA:g}·Σw², on the first "
        f"{moons.points} of the 100 points:\n   {moons.values:,} Values, {moons.edges:,} edges, "
        f"{moons.parameters} parameters, one output (the loss)."
    )
    rows = [
        ("reverse (backward)", 1, f"{moons.edges:,}", f"{moons.backward_multiply_adds:,}",
         f"{1000 * moons.backward_seconds:.1f}"),
        ("forward", moons.parameters, f"{moons.forward_edges_examined:,}",
         f"{moons.forward_multiply_adds:,}", f"{1000 * moons.forward_seconds:.1f}"),
    ]  # fmt: skip
    print(table(rows, ("mode", "sweeps", "edges looked at", "multiply-adds", "ms")))
    print(
        f"   forward / reverse: {moons.forward_multiply_adds / moons.backward_multiply_adds:.1f}"
        f"× the multiply-adds, {moons.forward_edges_examined / moons.edges:.0f}× the edges looked "
        f"at, {moons.forward_seconds / moons.backward_seconds:.0f}× the time.\n"
        "   (A forward sweep multiplies only along edges whose input depends on its parameter,"
        " but it looks at every\n   edge to find out; a weight of the last layer reaches few.)\n"
        f"   The same gradient both ways: |gradient| = {moons.gradient_norm:.6g}, largest "
        f"difference {moons.max_difference:.3g} over the {moons.parameters} parameters,\n"
        f"   {moons.bitwise_equal} of them equal to the last bit (the same products, added in "
        "another order)."
    )

    fan = compare_on_fan_out(repeats)
    print(
        f"\n3. One input, {fan.outputs} outputs: h = x then {TRUNK} times h = tanh(0.9·h + 0.1), "
        f"outputs sin(k/{fan.outputs} · h)\n   for k = 1..{fan.outputs}, at x = {X0}: "
        f"{fan.values:,} Values, {fan.edges:,} edges; the Jacobian is one column."
    )
    rows = [
        ("forward (jacfwd)", 1, f"{fan.forward_multiply_adds:,}",
         f"{1000 * fan.forward_seconds:.2f}", f"{1000 * fan.jacfwd_seconds:.1f}"),
        ("reverse (jacrev)", fan.outputs, f"{fan.backward_multiply_adds:,}",
         f"{1000 * fan.backward_seconds:.2f}", f"{1000 * fan.jacrev_seconds:.1f}"),
    ]  # fmt: skip
    print(table(rows, ("mode", "sweeps", "multiply-adds", "sweeps ms", "call ms")))
    print(
        f"   reverse / forward: {fan.backward_multiply_adds / fan.forward_multiply_adds:.0f}× the "
        f"multiply-adds, {fan.backward_seconds / fan.forward_seconds:.0f}× the time of the "
        "sweeps: each backward sweep goes through\n   the shared trunk again. (A call also "
        "records the graph, once either way: it narrows the gap to "
        f"{fan.jacrev_seconds / fan.jacfwd_seconds:.1f}×.)\n"
        f"   The same column both ways: largest difference {fan.max_difference:.3g}.\n"
        "\nReverse mode costs one sweep per output, forward mode one per input: a loss (one "
        "output, many weights)\nwants reverse; a function of few inputs with many outputs wants "
        "forward."
    )
    pictures.append(draw_counts(moons, fan, options.out))
    return Result(neuron_backward, neuron_forward, moons, fan, pages, pictures)


def draw_counts(moons: Moons, fan: FanOut, out: Path) -> Path:
    """Each mode's multiply-adds and edges looked at, in each case: the mode that fits wins."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 4.2))
    cases = [
        (
            axes[0],
            f"gradient of the moons loss: {moons.parameters} inputs → 1 output\n"
            f"({moons.points} points)",
            ["reverse: 1 sweep", f"forward: {moons.parameters} sweeps"],
            [moons.backward_multiply_adds, moons.forward_multiply_adds],
            [moons.edges, moons.forward_edges_examined],
        ),
        (
            axes[1],
            f"Jacobian of f: 1 input → {fan.outputs} outputs\n",
            [f"reverse: {fan.outputs} sweeps", "forward: 1 sweep"],
            [fan.backward_multiply_adds, fan.forward_multiply_adds],
            [fan.backward_multiply_adds, fan.edges],  # a backward sweep multiplies every edge
        ),
    ]
    for ax, title, modes, multiply_adds, looked_at in cases:
        where = [0.0, 1.0]
        for shift, counts, colour, label in (
            (-0.18, multiply_adds, "tab:blue", "multiply-adds"),
            (0.18, looked_at, "tab:gray", "edges looked at"),
        ):
            xs = [x + shift for x in where]
            ax.bar(xs, counts, width=0.34, color=colour, label=label)
            for x, count in zip(xs, counts, strict=True):
                ax.text(x, count * 1.15, f"{count:,}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(where, modes)
        ax.set(title=title, yscale="log", ylabel="count (log scale)")
        ax.set_ylim(1, max(looked_at) * 10)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle("Reverse mode: one sweep per output. Forward mode: one sweep per input.")
    fig.tight_layout()
    return save_figure(fig, out / "forward_vs_reverse_counts.png")


if __name__ == "__main__":
    main(sys.argv[1:])
