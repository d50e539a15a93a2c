"""Two moons: a small network learns a curved boundary by backpropagation (micrograd's classic).

A seeded two-moons data set (made by `autograd_lite.datasets`, no download), an
`MLP(2, [16, 16, 1])`, hinge loss plus an L2 penalty, plain SGD with a learning rate that decays
from 1.0 to 0.1. Every step: forward over all 100 points, one backward pass, one update. The
step builds the same graph every time, so it is compiled: recorded once, then replayed as
generated Python code, with the same numbers as graph mode, bit for bit. Writes the decision
boundary and the loss curve (PNG) and one neuron's graph after backward (SVG).

Run: python demos/moons.py   (pictures in out/moons/)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from _common import (
    next_steps,
    parse_options,
    progress,
    pyplot,
    render_graph,
    save_figure,
    table,
)

import autograd_lite as ag
from autograd_lite.datasets import make_moons, signed_labels
from autograd_lite.losses import hinge, l2_penalty
from autograd_lite.nn import MLP
from autograd_lite.optim import SGD

SEED = 0
SAMPLES = 100
NOISE = 0.1
STEPS = 100
ALPHA = 1e-4  # L2 strength: keeps the weights small, so the boundary stays smooth


@dataclass(frozen=True)
class Result:
    """What the demo measured."""

    accuracy: float  # on the training set, after the last step
    first_loss: float
    last_loss: float
    steps: int
    parameters: int
    first_perfect_step: int | None  # the first step whose model classifies every point right
    pictures: list[Path]


def accuracy(scores: Sequence[float], labels: Sequence[float]) -> float:
    """The fraction of points on the right side of the boundary (score sign = label sign)."""
    right = sum((s > 0) == (y > 0) for s, y in zip(scores, labels, strict=True))
    return right / len(labels)


def main(argv: Sequence[str] | None = None) -> Result:
    """Train, report, and draw."""
    options = parse_options("moons", __doc__ or "", argv)
    X, y01 = make_moons(SAMPLES, noise=NOISE, seed=SEED)
    y = signed_labels(y01)  # hinge loss wants labels -1 / +1
    model = MLP(2, [16, 16, 1], seed=SEED)
    params = model.parameters()
    print(
        f"Two moons: {SAMPLES} points (noise {NOISE}), {model!r}: {len(params)} parameters,\n"
        f"hinge loss + {ALPHA:g}·Σw², SGD with lr = 1.0 → 0.1 over {STEPS} steps."
    )
    # lr_schedule multiplies the base lr: 1.0 at step 0, down to 0.1 at the last step.
    optimizer = SGD(params, lr=1.0, lr_schedule=lambda k: 1.0 - 0.9 * k / STEPS)

    def loss_and_scores(points: list[list[float]]) -> tuple[ag.Value, list[ag.Value]]:
        """The loss on the points, and the scores it came from (for the accuracy)."""
        scores = [model(x) for x in points]
        return hinge(scores, y) + l2_penalty(params, ALPHA), scores

    # Every step builds the same graph: compile() records it at the first call and replays it
    # as Python code at every later one (the gradients land in the parameters' .grad exactly
    # as loss.backward() puts them there), returning the loss and the scores as numbers. The
    # points are the argument, so the code is one loop over them.
    training_step = ag.compile(loss_and_scores, has_aux=True)
    history: list[tuple[int, float, float]] = []  # (step, loss, accuracy) before each update
    started = time.perf_counter()
    for step in progress(range(STEPS), desc="training"):
        optimizer.zero_grad()
        loss, scores = training_step(X)
        history.append((step, loss, accuracy(scores, y)))
        optimizer.step()
    seconds = time.perf_counter() - started
    first_call = sum(training_step.traces[0].seconds.values())
    # The same step once more in graph mode, to say what compiling saves (gradients dropped).
    started = time.perf_counter()
    loss_value, _ = loss_and_scores(X)
    loss_value.backward()
    graph_mode = time.perf_counter() - started
    optimizer.zero_grad()
    del loss_value
    with ag.no_grad():
        final_scores = [model(x).data for x in X]
        final_loss = (hinge(final_scores, y) + l2_penalty(params, ALPHA)).data
    final_accuracy = accuracy(final_scores, y)
    history.append((STEPS, final_loss, final_accuracy))

    shown_steps = {0, 1, 2, 5, 10, 20, 40, 60, 80, STEPS}
    print(
        table(
            [(k, loss, f"{100 * acc:.0f}%") for k, loss, acc in history if k in shown_steps],
            ("step", "loss", "accuracy"),
        )
    )
    replay = (seconds - first_call) / STEPS  # the first call replays too, after compiling
    print(
        f"Compiled training: {STEPS} steps in {seconds:.2f} s. The first call recorded the "
        f"step's graph ({training_step.traces[0].nodes:,} nodes) and compiled it in "
        f"{first_call:.2f} s;\neach step (the replay and the update) took "
        f"{1000 * replay:.1f} ms, where the forward and backward pass alone take "
        f"{1000 * graph_mode:.0f} ms in graph mode."
    )
    perfect = next((k for k, _, acc in history if acc == 1.0), None)
    print(
        f"Training accuracy after {STEPS} steps: {100 * final_accuracy:.0f}% "
        f"({round(final_accuracy * SAMPLES)}/{SAMPLES} points)"
        + (f"; first reached 100% at step {perfect}." if perfect is not None else ".")
    )

    # --fast changes only the boundary picture's resolution: training is the same 100 steps.
    pictures = [
        draw_boundary(model, X, y01, final_accuracy, options.out, fine=not options.fast),
        draw_loss(history, options.out),
        draw_neuron(model, X, options.out),
    ]
    print()
    print(next_steps())
    return Result(
        accuracy=final_accuracy,
        first_loss=history[0][1],
        last_loss=final_loss,
        steps=STEPS,
        parameters=len(params),
        first_perfect_step=perfect,
        pictures=pictures,
    )


def draw_boundary(
    model: MLP, X: list[list[float]], y01: list[int], acc: float, out: Path, *, fine: bool
) -> Path:
    """The model's decision regions on a grid, with the training points on top."""
    step = 0.04 if fine else 0.1
    xs = [-1.6 + step * i for i in range(int(4.2 / step) + 1)]
    ys = [-1.1 + step * j for j in range(int(2.8 / step) + 1)]
    with ag.no_grad():  # no graph: only the scores are needed
        grid = [[model([gx, gy]).data for gx in xs] for gy in ys]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.contourf(xs, ys, grid, levels=[-1e9, 0.0, 1e9], colors=["#f6c9c0", "#c6dcef"])
    ax.contour(xs, ys, grid, levels=[0.0], colors="black", linewidths=1)
    for label, colour in ((0, "tab:red"), (1, "tab:blue")):
        points = [p for p, t in zip(X, y01, strict=True) if t == label]
        ax.scatter(*zip(*points), c=colour, s=22, edgecolors="black", linewidths=0.4)
    ax.set(title=f"Decision boundary of MLP(2, [16, 16, 1]): {100 * acc:.0f}% of training points")
    return save_figure(fig, out / "decision_boundary.png")


def draw_loss(history: list[tuple[int, float, float]], out: Path) -> Path:
    """Loss and accuracy against the training step."""
    plt = pyplot()
    fig, loss_axis = plt.subplots(figsize=(6.5, 4))
    steps = [k for k, _, _ in history]
    loss_axis.plot(steps, [loss for _, loss, _ in history], color="tab:blue")
    loss_axis.set(xlabel="step", ylabel="loss (hinge + L2)", yscale="log")
    acc_axis = loss_axis.twinx()
    acc_axis.plot(steps, [100 * acc for _, _, acc in history], color="tab:orange")
    acc_axis.set(ylabel="training accuracy (%)", ylim=(40, 101))
    loss_axis.set_title("Loss (blue, log scale) and accuracy (orange)")
    return save_figure(fig, out / "loss.png")


def draw_neuron(model: MLP, X: list[list[float]], out: Path) -> Path:
    """One first-layer neuron on one training point, after backward: every gradient filled in."""
    neuron = model.layers[0].neurons[0]
    # A point where the neuron is active: a ReLU that outputs 0 passes back no gradient.
    x = next(p for p in X if ag.dot(neuron.w, p).data + neuron.b.data > 0)
    inputs = [ag.Value(x[0], label="x1"), ag.Value(x[1], label="x2")]
    output = neuron(inputs)
    output.label = "relu(w·x + b)"
    net = output.parents[0]  # the nodes nn built inside the neuron: name them for the drawing
    net.label = "w·x + b"
    net.parents[0].label = "w·x"
    model.zero_grad()  # leaves accumulate: clear what the last training step left behind
    output.backward()
    print(
        f"One neuron, relu(w·x + b), at x = ({x[0]:.3f}, {x[1]:.3f}): output {output.data:.4f}; "
        f"after backward, ∂out/∂w = x = ({neuron.w[0].grad:.3f}, {neuron.w[1].grad:.3f}), "
        f"∂out/∂b = {neuron.b.grad:g}, ∂out/∂x = w."
    )
    path = render_graph(output, out / "neuron", params=model)
    model.zero_grad()
    return path


if __name__ == "__main__":
    main(sys.argv[1:])
