"""The recorded sweeps: the engine's own numbers, bit for bit, one frame per node, counted.

`autograd_lite.sweeps` replays reverse and forward accumulation from the stored local
derivatives. Every gradient it records must be bitwise what ``backward()`` leaves, every tangent
bitwise what `jvp` and ``engine._tangents`` give; its gradients must also equal mpmath's
high-precision derivatives of random expression DAGs (an oracle that is not the engine), and its
counts of multiply-adds must equal the edges counted independently from the graph. The two
demos built on it (demos/forward_vs_reverse.py, demos/paths.py) are run here too: their counts
against the architecture's, their gradients against finite differences, their pictures against
the committed ones, and the docs text (sections 6 and 7 of docs/how-backprop-works.md)
against both.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import itertools
import math
import re
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mpmath
import pytest
from hypothesis import given, settings

from autograd_lite import Value, engine, topological_order
from autograd_lite.functional import jacfwd, jvp
from autograd_lite.nn import MLP
from autograd_lite.sweeps import (
    BACKWARD,
    FORWARD,
    Frame,
    Step,
    Sweep,
    backward_sweep,
    forward_sweep,
)
from autograd_lite.testing.strategies import Case, cases, describe, evaluate

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def bits(x: float) -> bytes:
    """A float's 8 bytes: equal bits means the same number, the same zero, the same NaN."""
    return struct.pack("<d", x)


def assert_same(got: float, expected: float, what: str) -> None:
    """got and expected are the same float, bit for bit (so -0.0 is not 0.0)."""
    assert bits(got) == bits(expected), f"{what}: sweep {got!r}, engine {expected!r}"


def neuron() -> tuple[Value, dict[str, Value]]:
    """tanh(x1*w1 + x2*w2 + b) at micrograd's README point."""
    v = {
        "x1": Value(2.0, label="x1"),
        "x2": Value(0.0, label="x2"),
        "w1": Value(-3.0, label="w1"),
        "w2": Value(1.0, label="w2"),
        "b": Value(6.8813735870195432, label="b"),
    }
    return (v["x1"] * v["w1"] + v["x2"] * v["w2"] + v["b"]).tanh(), v


def engine_gradients(root: Value) -> dict[Value, float]:
    """Every node's gradient as backward() leaves it, from leaves at 0; .grad restored after."""
    order = topological_order(root)
    saved = [node.grad for node in order]
    for node in order:
        node.grad = 0.0
    root.backward()
    found = {node: float(node.grad) for node in order}
    for node, grad in zip(order, saved, strict=True):
        node.grad = grad
    return found


def edges(root: Value) -> int:
    """The number of edges of root's graph, counted from the parents of each node."""
    return sum(len(node.parents) for node in topological_order(root))


def edges_from(root: Value, wrt: Value) -> int:
    """The edges whose tail depends on wrt (or is wrt): found by a search over children."""
    children: dict[Value, list[Value]] = {}
    for node in topological_order(root):
        for parent in node.parents:
            children.setdefault(parent, []).append(node)
    reached = {wrt}
    stack = [wrt]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in reached:
                reached.add(child)
                stack.append(child)
    return sum(1 for node in reached for parent in node.parents if parent in reached)


# ---------------------------------------------------------------------------------------------
# Backward: the numbers of backward(), bit for bit
# ---------------------------------------------------------------------------------------------


def test_neuron_backward_sweep_is_backward_bitwise() -> None:
    """Every node's gradient in the sweep is the one backward() computes, bit for bit."""
    y, leaves = neuron()
    sweep = backward_sweep(y)
    expected = engine_gradients(y)
    for node in sweep.nodes:
        assert_same(sweep.result(node), expected[node], f"node {node!r}")
    # and the closed form, which is not the engine: d tanh(n)/dn = 1 - tanh(n)^2 = 0.5 here
    slope = 1.0 - math.tanh(2.0 * -3.0 + 0.0 * 1.0 + 6.8813735870195432) ** 2
    assert sweep.result(leaves["w1"]) == pytest.approx(slope * 2.0, rel=1e-12)
    assert sweep.result(leaves["x1"]) == pytest.approx(slope * -3.0, rel=1e-12)


def test_frames_visit_every_node_in_the_engine_order() -> None:
    """One frame per node, in reversed topological order; each edge is a step of its child."""
    y, _ = neuron()
    sweep = backward_sweep(y)
    order = topological_order(y)
    assert list(sweep.nodes) == order
    assert [sweep.nodes[frame.node] for frame in sweep.frames] == order[::-1]
    for frame in sweep.frames:
        node = sweep.nodes[frame.node]
        assert [sweep.nodes[s.parent] for s in frame.steps] == list(node.parents)
        assert [s.operand for s in frame.steps] == list(range(len(node.parents)))
        assert all(s.child == frame.node for s in frame.steps)
    assert sweep.mode == BACKWARD and sweep.seed == len(order) - 1


def test_each_step_is_partial_times_upstream_added_to_the_parent() -> None:
    """A step's contribution is partial × the child's gradient; its total is the parent's sum."""
    y, _ = neuron()
    sweep = backward_sweep(y)
    expected = engine_gradients(y)
    running: dict[int, float] = {}
    for frame in sweep.frames:
        node = sweep.nodes[frame.node]
        assert frame.upstream is not None
        # A node's gradient is complete when the sweep reaches it: it is backward()'s.
        assert_same(frame.upstream, expected[node], f"upstream of {node!r}")
        for step, partial in zip(frame.steps, node.partials, strict=True):
            assert step.partial == partial and step.upstream == frame.upstream
            assert_same(step.contribution, partial * frame.upstream, "contribution")
            running[step.parent] = running.get(step.parent, 0.0) + step.contribution
            assert_same(step.total, running[step.parent], "total")


def test_a_times_a_has_two_steps_and_constants_receive_gradients() -> None:
    """a * a is two edges, two multiply-adds; 3 * (a * a): the constant gets its gradient too."""
    a = Value(2.0, label="a")
    c = 3 * (a * a)
    sweep = backward_sweep(c)
    assert sweep.multiply_adds == edges(c) == 4
    assert_same(sweep.result(a), 12.0, "a")
    square = c.parents[1]
    frame = next(f for f in sweep.frames if sweep.nodes[f.node] is square)
    assert [s.parent for s in frame.steps] == [sweep.index[a]] * 2
    assert [s.total for s in frame.steps] == [6.0, 12.0]
    three = c.parents[0]
    assert three.op == "const" and sweep.result(three) == 4.0  # d(3 * s)/d(3) = s


def test_the_sweep_changes_no_grad() -> None:
    """Recording a sweep leaves every .grad as it was, stale values included."""
    y, leaves = neuron()
    y.backward()
    before = [node.grad for node in topological_order(y)]
    backward_sweep(y)
    forward_sweep(y, leaves["w1"])
    assert [node.grad for node in topological_order(y)] == before


def test_seeds_and_signed_zeros_follow_backward() -> None:
    """A seed other than 1, and -0.0 seeds at an interior and at a leaf root, as backward() does."""
    x = Value(-2.0)
    y = x * 3.0
    for seed in (2.5, -0.0, 0.0):
        sweep = backward_sweep(y, seed)
        x.grad = 0.0
        y.backward(seed)
        assert_same(sweep.result(x), float(x.grad), f"seed {seed}")
        assert_same(sweep.result(y), float(y.grad), f"root, seed {seed}")
    leaf = Value(1.0)
    leaf.grad = 0.0
    leaf.backward(-0.0)
    assert_same(backward_sweep(leaf, -0.0).result(leaf), leaf.grad, "a leaf root")
    assert backward_sweep(leaf).multiply_adds == 0 and len(backward_sweep(leaf).frames) == 1


def test_a_deep_chain_without_recursion() -> None:
    """A 20,000-step chain is swept like a short one (nothing recurses)."""
    x = Value(1.0)
    y = x
    for _ in range(20_000):
        y = y * 1.0001
    sweep = backward_sweep(y)
    assert len(sweep.frames) == 20_001 + 20_000  # the chain's Values and its constants
    assert_same(sweep.result(x), engine_gradients(y)[x], "x")


def test_nan_and_inf_gradients_are_the_engines() -> None:
    """An infinite local derivative times a zero gradient makes NaN, as in backward()."""
    a, b = Value(math.inf, label="a"), Value(0.0, label="b")
    y = (a * b) * 0.0 + b  # d(a*b)/db = a = inf, times the upstream 0.0: NaN
    sweep = backward_sweep(y)
    expected = engine_gradients(y)
    for node in sweep.nodes:
        assert_same(sweep.result(node), expected[node], repr(node))
    assert math.isnan(sweep.result(b))


@settings(max_examples=80)
@given(case=cases(shared=True, min_steps=2, max_steps=10))
def test_random_dags_backward_bitwise_and_against_mpmath(case: Case) -> None:
    """On random DAGs: every input's gradient is backward()'s bit for bit, and mpmath's."""
    leaves = [Value(x) for x in case.inputs]
    root = case.expr(*leaves)
    if not isinstance(root, Value):
        return  # an expression that folded to a number: no graph to sweep
    sweep = backward_sweep(root)
    expected = engine_gradients(root)
    for node in sweep.nodes:
        assert_same(sweep.result(node), expected[node], describe(case.expr, sep="; "))
    assert sweep.multiply_adds == edges(root)
    with mpmath.mp.workdps(40):
        point = [mpmath.mpf(x) for x in case.inputs]
        for i, leaf in enumerate(leaves):
            if leaf not in sweep.index:
                continue  # an input the expression never uses

            def along(t: Any, i: int = i) -> Any:
                return evaluate(case.expr, [*point[:i], t, *point[i + 1 :]], backend="mpmath")

            numeric = float(mpmath.diff(along, point[i]))
            assert math.isclose(sweep.result(leaf), numeric, rel_tol=1e-7, abs_tol=1e-9), (
                f"{describe(case.expr)}\n  d/dx{i}: sweep {sweep.result(leaf)!r}, "
                f"mpmath {numeric!r}"
            )


# ---------------------------------------------------------------------------------------------
# Forward: the numbers of jvp and engine._tangents, bit for bit
# ---------------------------------------------------------------------------------------------


def test_neuron_forward_sweep_is_jvp_bitwise() -> None:
    """The tangent of the output from each input is jvp's, bit for bit."""
    y, leaves = neuron()
    names = list(leaves)
    point = [leaves[n].data for n in names]

    for k, name in enumerate(names):
        # A function of that one input, the others held at their values: jvp's one seed.
        def f(t: Value, k: int = k) -> Value:
            xs: list[Any] = [*point[:k], t, *point[k + 1 :]]
            out: Value = (xs[0] * xs[2] + xs[1] * xs[3] + xs[4]).tanh()
            return out

        _, derivative = jvp(f, (point[k],), (1.0,))
        sweep = forward_sweep(y, leaves[name])
        assert_same(sweep.result(y), derivative, f"d/d{name}")
        assert sweep.mode == FORWARD and sweep.nodes[sweep.seed] is leaves[name]


def test_forward_sweep_is_the_engines_tangents_at_every_node() -> None:
    """Every node's tangent equals engine._tangents' entry, and the nodes it leaves out are None."""
    y, leaves = neuron()
    order = topological_order(y)
    for name, leaf in leaves.items():
        expected = engine._tangents(order, {leaf: 1.0})
        sweep = forward_sweep(y, leaf)
        for i, node in enumerate(order):
            if node in expected:
                found = sweep.results[i]
                assert found is not None, name
                assert_same(found, expected[node], f"{name} at {node!r}")
            else:
                assert sweep.results[i] is None and sweep.result(node) == 0.0


def test_forward_steps_pull_from_parents_with_a_tangent_only() -> None:
    """A forward step per edge whose parent has a tangent; its total sums them in parent order."""
    x, y = Value(1.5, label="x"), Value(2.0, label="y")
    out = x * x / (y - 1) + (-x).exp() * 2
    sweep = forward_sweep(out, x)
    assert [sweep.nodes[f.node] for f in sweep.frames] == list(sweep.nodes)
    tangents: dict[int, float] = {sweep.seed: 1.0}
    for frame in sweep.frames:
        node = sweep.nodes[frame.node]
        total: float | None = None
        expected_steps = []
        for operand, (parent, partial) in enumerate(zip(node.parents, node.partials, strict=True)):
            j = sweep.index[parent]
            if j in tangents:
                contribution = partial * tangents[j]
                total = contribution if total is None else total + contribution
                expected_steps.append(
                    Step(j, frame.node, operand, partial, tangents[j], contribution, total)
                )
        if total is not None:
            tangents[frame.node] = total
        assert list(frame.steps) == expected_steps
    assert sweep.multiply_adds == edges_from(out, x) == 8
    assert edges(out) == 12  # the forward sweep looks at all of them, multiplies 8


def test_forward_over_several_outputs_is_jacfwd() -> None:
    """One forward sweep over several outputs gives jacfwd's column, bit for bit."""

    def f(x: Value) -> list[Value]:
        h = (x * 0.7 + 0.2).tanh()
        return [(h * k).sin() for k in range(1, 6)]

    x = Value(0.3)
    outs = f(x)
    sweep = forward_sweep(outs, x)
    column = jacfwd(f)(0.3)
    assert len(column) == 5
    for out, expected in zip(outs, column, strict=True):
        assert_same(sweep.result(out), expected, repr(out))
    # each edge is multiplied once: the shared trunk is not swept again per output
    assert sweep.multiply_adds == 3 + 2 * 5


@settings(max_examples=60)
@given(case=cases(shared=True, min_steps=2, max_steps=10))
def test_random_dags_forward_is_the_engines(case: Case) -> None:
    """On random DAGs, from every input: each tangent is engine._tangents' bit for bit, the
    output's equals jvp's, and there is one multiply-add per edge reached from the input."""
    leaves = [Value(x) for x in case.inputs]
    root = case.expr(*leaves)
    if not isinstance(root, Value):
        return
    order = topological_order(root)
    for i, leaf in enumerate(leaves):
        one_hot = [1.0 if j == i else 0.0 for j in range(len(leaves))]
        _, derivative = jvp(case.expr, case.inputs, one_hot)
        if leaf not in order:
            assert derivative == 0.0
            continue
        sweep = forward_sweep(root, leaf)
        expected = engine._tangents(order, {leaf: 1.0})
        for k, node in enumerate(order):
            found = sweep.results[k]
            if node not in expected:
                assert found is None
                continue
            assert found is not None
            assert_same(found, expected[node], describe(case.expr, sep="; "))
        # jvp seeds the other inputs with 0.0 too: x + 0.0 can turn a -0.0 into 0.0, no more.
        got = sweep.result(root)
        assert got == derivative or (math.isnan(got) and math.isnan(derivative))
        assert sweep.multiply_adds == edges_from(root, leaf)


# ---------------------------------------------------------------------------------------------
# Counting, on the moons model
# ---------------------------------------------------------------------------------------------


def test_counts_on_a_network_against_its_architecture() -> None:
    """MLP(2, [4, 1]) on one point: the backward sweep does one multiply-add per edge, counted
    from the architecture; a forward sweep from a first-layer weight, from its cone."""
    model = MLP(2, [4, 1], seed=0)
    out = model([0.5, -1.0])
    # hidden neuron: dot of 2 weights and 2 inputs (4 edges), + b (2), relu (1); the output
    # neuron: dot of 4 weights and 4 hidden values (8 edges), + b (2), and no activation.
    assert backward_sweep(out).multiply_adds == 4 * (4 + 2 + 1) + (8 + 2)
    w = model.layers[0].neurons[0].w[0]
    # w -> dot -> + b -> relu -> the output's dot -> + b: five edges
    assert forward_sweep(out, w).multiply_adds == 5


# ---------------------------------------------------------------------------------------------
# The sums so far, and the refusals
# ---------------------------------------------------------------------------------------------


def test_sums_replay_the_sweep() -> None:
    """sums() starts with the seed alone and ends with every result."""
    y, leaves = neuron()
    for sweep in (backward_sweep(y), forward_sweep(y, leaves["w2"])):
        sums = list(sweep.sums())
        assert len(sums) == len(sweep.frames) + 1
        first: list[float | None] = [None] * len(sweep.nodes)
        first[sweep.seed] = 1.0
        assert list(sums[0]) == first
        assert sums[-1] == sweep.results


def test_data_types() -> None:
    """Frames and steps are plain tuples; a Sweep says how it was made."""
    y, _ = neuron()
    sweep = backward_sweep(y)
    assert isinstance(sweep, Sweep) and isinstance(sweep.frames[0], Frame)
    assert isinstance(sweep.frames[0].steps[0], Step)
    assert sweep.frames[0].node == len(sweep.nodes) - 1


BadCall = Callable[[], Any]
# Arguments of the wrong kinds, typed Any: the type checker would refuse them, users may not.
TWO: Any = 2.0
TEXT: Any = "1"
YES: Any = True
MIXED: Any = [Value(1.0), 2.0]


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: backward_sweep(TWO), TypeError, "backward_sweep() needs a Value to sweep, got"),
        (lambda: backward_sweep(Value(1.0), YES), TypeError, "backward_sweep() grad"),
        (lambda: backward_sweep(Value(1.0), TEXT), TypeError, "backward_sweep() grad"),
        (lambda: forward_sweep(MIXED, Value(1.0)), TypeError, "forward_sweep() roots"),
        (lambda: forward_sweep([], Value(1.0)), ValueError, "at least one root"),
        (lambda: forward_sweep(Value(1.0), TWO), TypeError, "forward_sweep() needs a Value as wrt"),
        (lambda: forward_sweep(Value(1.0), Value(2.0)), ValueError, "not one"),
        (lambda: forward_sweep(Value(1.0) * 2, Value(1.0), YES), TypeError, "tangent"),
    ],
)
def test_bad_arguments_are_named(call: BadCall, error: type, words: str) -> None:
    """Each mistake raises an error naming the call and the argument."""
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_result_of_a_stranger_is_an_error() -> None:
    """Sweep.result() of a node outside the graph says so."""
    y, _ = neuron()
    with pytest.raises(ValueError, match="a node of the swept graph"):
        backward_sweep(y).result(Value(3.0))


# ---------------------------------------------------------------------------------------------
# The demos: their counts against the architecture's, their gradients against differences
# ---------------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "demos"))  # the demos are scripts, not a package

import _common  # noqa: E402
import forward_vs_reverse  # noqa: E402
import paths  # noqa: E402

DOCS_IMAGES = REPO / "docs" / "images"
SECTION = REPO / "docs" / "how-backprop-works.md"


def section_text() -> str:
    """Sections 6 and 7 of the docs page: paths, and forward and reverse accumulation."""
    text = SECTION.read_text(encoding="utf-8")
    return text[text.index("## 6. Paths versus dynamic programming") : text.index("## 8. ")]


@dataclass(frozen=True)
class DemoRun:
    """One fast run of a demo: what main() returned, what it printed, where it wrote."""

    result: Any
    printed: str
    out: Path


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DemoRun]:
    """Both demos, run once in fast mode into folders of their own."""
    runs = {}
    for name, module in (("forward_vs_reverse", forward_vs_reverse), ("paths", paths)):
        out = tmp_path_factory.mktemp(name)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            result = module.main(["--fast", "--out", str(out)])
        runs[name] = DemoRun(result, printed.getvalue(), out)
    return runs


def mlp_loss_edges(hidden: list[int], points: int) -> int:
    """The edges of the moons loss's graph, counted from the architecture (not from a graph).

    Per point, a neuron with nin inputs is a dot of nin weights and nin inputs (2·nin edges),
    + b (2 edges) and, but in the last layer, a relu (1); the hinge term is 1 - y·s (2 edges)
    and a relu (1). Then the sum of the hinges (one edge per point), / n (2), the L2 penalty's
    dot of the parameters with themselves (2 per parameter), × α (2) and the final + (2).
    """
    sizes = [2, *hidden, 1]
    per_point = 3
    parameters = 0
    for i, (nin, nout) in enumerate(itertools.pairwise(sizes)):
        per_point += nout * (2 * nin + 2 + (1 if i < len(hidden) else 0))
        parameters += nout * (nin + 1)
    return points * per_point + points + 2 + 2 * parameters + 2 + 2


def central_difference(loss_of: Callable[[], Value], p: Value, h: float = 1e-6) -> float:
    """d loss / d p by central differences of the loss recomputed in floats: not the engine's
    chain rule (its kinks, relu and the hinge, lie far from h at these points)."""
    saved = p.data
    p.data = saved + h
    up = loss_of().data
    p.data = saved - h
    down = loss_of().data
    p.data = saved
    return (up - down) / (2 * h)


def number(text: str) -> float:
    return float(text.replace(",", ""))


def test_forward_vs_reverse_counts_are_the_architectures(
    demo_runs: dict[str, DemoRun],
) -> None:
    """The printed multiply-adds: the backward sweep's are the graph's edges, counted from the
    architecture; the forward sweeps' are the edges reachable from each parameter, found by a
    search of the graph; the one-input function's follow from its shape."""
    run = demo_runs["forward_vs_reverse"]
    moons = run.result.moons
    points = forward_vs_reverse.POINTS
    edges = mlp_loss_edges(forward_vs_reverse.HIDDEN, points)
    assert moons.edges == moons.backward_multiply_adds == edges == 14_880
    loss, model = forward_vs_reverse.moons_loss()
    params = model.parameters()
    assert moons.parameters == len(params) == 337
    assert moons.forward_multiply_adds == sum(edges_from(loss, p) for p in params)
    assert moons.forward_edges_examined == len(params) * edges
    row = re.search(r"reverse \(backward\)\s+1\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)", run.printed)
    assert row is not None and [number(g) for g in row.groups()[:2]] == [edges, edges]
    row = re.search(r"forward\s+337\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)", run.printed)
    assert row is not None
    assert number(row.group(1)) == moons.forward_edges_examined
    assert number(row.group(2)) == moons.forward_multiply_adds
    assert moons.backward_seconds > 0 and moons.forward_seconds > 0

    fan = run.result.fan_out
    trunk, outputs = forward_vs_reverse.TRUNK, forward_vs_reverse.OUTPUTS
    # trunk step: h * 0.9 (2 edges), + 0.1 (2), tanh (1); branch: h * c (2), sin (1)
    assert fan.edges == 5 * trunk + 3 * outputs and fan.values == 1 + 5 * trunk + 3 * outputs
    # forward: only the edges out of nodes that depend on x (not the constants')
    assert fan.forward_multiply_adds == 3 * trunk + 2 * outputs == 260
    # reverse: each output's sweep multiplies every edge of its own graph, trunk included
    assert fan.backward_multiply_adds == outputs * (5 * trunk + 3) == 10_300
    assert re.search(r"forward \(jacfwd\)\s+1\s+260\s", run.printed)
    assert re.search(r"reverse \(jacrev\)\s+100\s+10,300\s", run.printed)
    neuron = (run.result.neuron_backward_multiply_adds, run.result.neuron_forward_multiply_adds)
    assert neuron == (5, 3)  # tanh(x*w + b): 5 edges; from w: w→*, *→+, +→tanh


def test_forward_vs_reverse_gradients_are_right_both_ways(
    demo_runs: dict[str, DemoRun],
) -> None:
    """The two gradients agree; they are the loss's slope by central differences; the
    one-input function's Jacobian column is its closed-form derivative."""
    moons = demo_runs["forward_vs_reverse"].result.moons
    assert moons.max_difference < 1e-14
    loss, model = forward_vs_reverse.moons_loss()
    model.zero_grad()
    loss.backward()
    grads = [float(p.grad) for p in model.parameters()]
    assert moons.gradient_norm == pytest.approx(math.sqrt(math.fsum(g * g for g in grads)))
    assert f"|gradient| = {moons.gradient_norm:.6g}" in demo_runs["forward_vs_reverse"].printed
    params = model.parameters()
    for k in (0, 40, 200, 336):  # first layer, its bias, second layer, the output's bias
        numeric = central_difference(lambda: forward_vs_reverse.moons_loss_with(model), params[k])
        assert grads[k] == pytest.approx(numeric, rel=1e-5, abs=1e-9), k

    fan = demo_runs["forward_vs_reverse"].result.fan_out
    assert fan.max_difference < 1e-15
    x = forward_vs_reverse.X0
    h, slope = x, 1.0
    for _ in range(forward_vs_reverse.TRUNK):
        h = math.tanh(0.9 * h + 0.1)
        slope *= 0.9 * (1.0 - h * h)
    outputs = forward_vs_reverse.OUTPUTS
    expected = [math.cos(k / outputs * h) * (k / outputs) * slope for k in range(1, outputs + 1)]
    column = jacfwd(forward_vs_reverse.fan_out)(x)
    for got, want in zip(column, expected, strict=True):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-18)


def iterative_paths(source: Value, root: Value) -> list[list[float]]:
    """Every path from source to root, as its list of local derivatives: a breadth-first
    extension of partial paths, written independently of the demo's depth-first walk."""
    leaving: dict[Value, list[tuple[Value, int]]] = {}
    for node in topological_order(root):
        for operand, parent in enumerate(node.parents):
            leaving.setdefault(parent, []).append((node, operand))
    done: list[list[float]] = []
    frontier: list[tuple[Value, list[float]]] = [(source, [])]
    while frontier:
        grown = []
        for node, partials in frontier:
            if node is root:
                done.append(partials)
                continue
            for child, operand in leaving.get(node, []):
                grown.append((child, [*partials, child.partials[operand]]))
        frontier = grown
    return done


def test_paths_demo_lists_every_path_and_sums_to_the_gradient(
    demo_runs: dict[str, DemoRun],
) -> None:
    """8 paths from the weight (2 points × 3 units, and 2 through Σw²), each printed; their
    products add up to w.grad, which is the loss's slope by central differences."""
    run = demo_runs["paths"]
    result = run.result
    loss, model, _ = paths.moons_loss(paths.SMALL_HIDDEN, paths.SMALL_POINTS)
    w = model.layers[0].neurons[0].w[0]
    independent = iterative_paths(w, loss)
    assert len(result.paths) == len(independent) == paths.SMALL_POINTS * 3 + 2 == 8
    assert sorted(p.partials for p in result.paths) == sorted(tuple(p) for p in independent)
    for k, path in enumerate(result.paths, start=1):
        assert f"path {k}: " in run.printed
        assert path.product == math.prod(path.partials)
    assert result.path_sum == pytest.approx(result.gradient, rel=1e-14)
    numeric = central_difference(lambda: paths.moons_loss_with(model, paths.SMALL_POINTS), w)
    assert result.gradient == pytest.approx(numeric, rel=1e-6)
    assert result.small_edges == mlp_loss_edges(paths.SMALL_HIDDEN, paths.SMALL_POINTS) == 176
    # every parameter's paths, path by path, against the demo's dynamic programming
    by_enumeration = sum(len(p) for q in model.parameters() for p in iterative_paths(q, loss))
    assert paths.count_all_paths(loss, model.parameters()) == by_enumeration


def test_paths_counts_follow_the_architecture(demo_runs: dict[str, DemoRun]) -> None:
    """For L hidden layers of 16 on 100 points: 100·16^(L-1) + 2 paths from a first-layer
    weight, each main path 3L + 7 edges long and the two through Σw² 3; the sweep's edges as
    the architecture says, the forward sweep's as a search of the graph finds them."""
    run = demo_runs["paths"]
    assert [c.hidden_layers for c in run.result.counts] == [1, 2, 3, 4, 5]
    for c in run.result.counts:
        layers = c.hidden_layers
        main = paths.POINTS * paths.WIDTH ** (layers - 1)
        assert c.paths == main + 2
        assert c.path_multiplications == main * (3 * layers + 7) + 2 * 3
        assert c.sweep_edges == mlp_loss_edges([paths.WIDTH] * layers, paths.POINTS)
        assert f"{c.paths:,}" in run.printed and f"{c.sweep_edges:,}" in run.printed
    assert [c.paths for c in run.result.counts][1::2] == [1_602, 409_602]  # the numbers
    big, model, _ = paths.moons_loss([paths.WIDTH, paths.WIDTH], paths.POINTS)
    first = model.layers[0].neurons[0].w[0]
    assert run.result.counts[1].forward_edges == edges_from(big, first)


# ---------------------------------------------------------------------------------------------
# The docs' pictures and text
# ---------------------------------------------------------------------------------------------


def made_files(demo_runs: dict[str, DemoRun]) -> list[Path]:
    """Every file the two demos write that the docs use: pictures and pages."""
    files: list[Path] = []
    for run in demo_runs.values():
        files += list(run.result.pictures) + list(getattr(run.result, "pages", []))
    return files


def test_committed_pictures_are_what_the_demos_make(demo_runs: dict[str, DemoRun]) -> None:
    """docs/images holds what `python demos/paths.py --out docs/images` and `python
    demos/forward_vs_reverse.py --out docs/images` write: SVG and HTML byte for byte, PNG by
    the fingerprint of what it shows (and byte for byte under the matplotlib that drew it)."""
    remake = (
        "python demos/paths.py --out docs/images; "
        "python demos/forward_vs_reverse.py --out docs/images"
    )
    for made in made_files(demo_runs):
        committed = DOCS_IMAGES / made.name
        assert committed.is_file(), f"docs/images/{made.name} is missing: {remake}"
        if made.suffix == ".png":
            new, old = _common.png_text(made), _common.png_text(committed)
            key = _common.FINGERPRINT_KEY
            assert new[key] == old[key], f"docs/images/{made.name} is stale: {remake}"
            if new.get("Software") == old.get("Software"):
                assert made.read_bytes() == committed.read_bytes(), made.name
        else:
            assert made.read_bytes() == committed.read_bytes(), f"{made.name} is stale: {remake}"


def test_docs_section_shows_every_picture_and_quotes_the_engine(
    demo_runs: dict[str, DemoRun],
) -> None:
    """The section links every picture and page the demos make, and nothing else; the loops it
    quotes are the engine's, verbatim; its `>>>` examples are true."""
    text = section_text()
    linked = re.findall(r"\]\(images/([\w.]+)\)", text)
    assert sorted(linked) == sorted(p.name for p in made_files(demo_runs))
    engine_source = (REPO / "autograd_lite" / "engine.py").read_text(encoding="utf-8")
    quoted = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if b.startswith("def ")]
    functions = [f for b in quoted for f in re.split(r"\n\n+(?=def )", b.strip())]
    assert [f.split("(")[0] for f in functions] == ["def _sweep", "def _tangents"]
    for function in functions:
        assert function in engine_source, f"the section quotes a function that changed:\n{function}"
    parser = doctest.DocTestParser()
    examples = "\n".join(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if ">>>" in b)
    test = parser.get_doctest(examples, {}, "accumulation.md", str(SECTION), 0)
    assert len(test.examples) >= 5
    results = doctest.DocTestRunner().run(test)
    assert results.failed == 0


def test_docs_section_numbers_are_the_demos(demo_runs: dict[str, DemoRun]) -> None:
    """Every count in the section's tables is one the demos computed."""
    text = section_text()
    for c in demo_runs["paths"].result.counts:
        hidden = ", ".join([str(paths.WIDTH)] * c.hidden_layers)
        row = (
            f"| `MLP(2, [{hidden}, 1])` | {c.parameters:,} | {c.paths:,} | "
            f"{c.all_path_multiplications:,} | {c.sweep_edges:,} |"
        )
        assert row in text, row
    moons = demo_runs["forward_vs_reverse"].result.moons
    assert f"| 1 | {moons.edges:,} | {moons.backward_multiply_adds:,} |" in text
    assert (
        f"| {moons.parameters} | {moons.forward_edges_examined:,} | "
        f"{moons.forward_multiply_adds:,} |"
    ) in text
    fan = demo_runs["forward_vs_reverse"].result.fan_out
    assert f"| 1 | {fan.forward_multiply_adds:,} |" in text
    assert f"| {fan.outputs} | {fan.backward_multiply_adds:,} |" in text
    small = demo_runs["paths"].result
    assert f"{small.gradient:.17g}".replace("-", "−") in text
    assert f"one backward sweep does {small.small_edges} multiply-adds" in text
