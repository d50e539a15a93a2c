"""The recorded sweeps: the engine's own numbers, bit for bit, one frame per node, counted.

`autograd_lite.sweeps` replays reverse and forward accumulation from the stored local
derivatives. Every gradient it records must be bitwise what ``backward()`` leaves, every tangent
bitwise what `jvp` and ``engine._tangents`` give; its gradients must also equal mpmath's
high-precision derivatives of random expression DAGs (an oracle that is not the engine), and its
counts of multiply-adds must equal the edges counted independently from the graph.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
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
