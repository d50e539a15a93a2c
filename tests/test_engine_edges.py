"""The engine at its edges: IEEE corners of powers, ties and clamps, copying, pickling, threads.

Each test pins one behaviour that broke once, or that a user of PyTorch or micrograd relies on:
a negative-zero exponent, a derivative that overflows where the value does not, subgradients at
ties, copying and pickling graphs far deeper than the C stack, the garbage collector's state
across threads, and micrograd's lecture code run unchanged on our Values.
"""

from __future__ import annotations

import copy
import gc
import math
import pickle
import subprocess
import sys
import textwrap
import threading

import pytest

import autograd_lite as al
from autograd_lite import Value

# --- powers ----------------------------------------------------------------------------------


def test_a_negative_zero_exponent_is_its_own_operation() -> None:
    """x ** -0.0 and x ** 0.0 are different ops (a cache keyed by == would merge them)."""
    x = Value(2.0)
    zero, negative_zero = x**0.0, x**-0.0
    assert zero._operation is not negative_zero._operation
    assert zero._op == "**0" and negative_zero._op == "**-0"
    assert zero.partials == (0.0,) and negative_zero.partials == (0.0,)
    # d/dx x ** c = c x ** (c - 1): its sign follows c's, as IEEE multiplication says.
    y = Value(-3.0) ** -0.0
    assert math.copysign(1.0, y.partials[0]) == math.copysign(1.0, -0.0 * (-3.0) ** -1.0)


def test_a_derivative_that_overflows_is_infinite_where_the_value_is_finite() -> None:
    """Value(1e-100) ** -3 is 1e300; its slope -3e400 is -inf (IEEE), not an OverflowError."""
    x = Value(1e-100)
    y = x**-3
    y.backward()
    assert y.data == pytest.approx(1e300, rel=1e-15)
    assert x.grad == -math.inf
    z = Value(1e-100) ** Value(-3.0)
    assert z.partials[0] == -math.inf


@pytest.mark.parametrize(
    ("base", "exponent", "value", "slope"),
    [
        (-math.inf, 0.5, math.inf, 0.0),
        (-math.inf, 2.0, math.inf, -math.inf),
        (-math.inf, 3.0, -math.inf, math.inf),
        (math.inf, 0.5, math.inf, 0.0),
        (math.inf, -1.0, 0.0, -0.0),
    ],
)
def test_infinite_bases_follow_ieee(
    base: float, exponent: float, value: float, slope: float
) -> None:
    """(-inf) ** 0.5 is inf, as IEEE 754 pow says; its slope c * x ** (c - 1) too."""
    x = Value(base)
    y = x**exponent
    y.backward()
    assert y.data == value
    assert x.grad == slope


def test_a_value_overflow_is_still_an_error_that_names_it() -> None:
    """Where the value itself leaves the float range, the error names the operation."""
    with pytest.raises(OverflowError, match=r"pow\(\) overflows: 10\.0 \*\* 400\.0"):
        _ = Value(10.0) ** 400


# --- ties, clamps, steps ---------------------------------------------------------------------


def test_maximum_and_minimum_share_a_tie_evenly() -> None:
    """At a tie each input gets half the gradient (PyTorch's choice); else the winner all."""
    for function in (al.maximum, al.minimum):
        x, y = Value(1.0), Value(1.0)
        function(x, y).backward()
        assert (x.grad, y.grad) == (0.5, 0.5)
    x, y = Value(1.0), Value(2.0)
    al.maximum(x, y).backward()
    assert (x.grad, y.grad) == (0.0, 1.0)
    assert math.isnan(al.maximum(Value(math.nan), 1.0).data)
    assert math.isnan(al.maximum(1.0, Value(math.nan)).data)
    assert Value(3.0).maximum(2.0).data == 3.0


def test_clamp_has_slope_one_inside_bounds_included() -> None:
    """clamp's slope is 1 on [low, high], bounds included, and 0 outside, as in PyTorch."""
    for x, slope in [(-1.0, 0.0), (0.0, 1.0), (0.5, 1.0), (1.0, 1.0), (2.0, 0.0)]:
        v = Value(x)
        y = v.clamp(0.0, 1.0)
        y.backward()
        assert v.grad == slope
        assert y.data == min(max(x, 0.0), 1.0)
    with pytest.raises(
        ValueError, match=r"clamp\(\) needs low <= high, got low=1\.0 and high=0\.0"
    ):
        Value(0.5).clamp(1.0, 0.0)
    with pytest.raises(TypeError, match=r"clamp\(\) low must be a real number"):
        Value(0.5).clamp("a", 1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "value"),
    [
        (lambda x: x.sign(), 1.0),
        (lambda x: math.floor(x), 2.0),
        (lambda x: math.ceil(x), 3.0),
        (lambda x: round(x), 3.0),
        (lambda x: round(x, 1), 2.7),
        (lambda x: x.floor(), 2.0),
    ],
)
def test_steps_have_a_zero_derivative(make: object, value: float) -> None:
    """sign, floor, ceil and round: derivative 0, and Python's values (halves to even)."""
    x = Value(2.7)
    y = make(x)  # type: ignore[operator]
    y.backward()
    assert isinstance(y, Value) and y.data == value and x.grad == 0.0
    assert round(Value(2.5)).data == 2.0 and round(Value(-0.5)).data == -0.0
    assert math.copysign(1.0, Value(-0.5).ceil().data) == -1.0  # IEEE ceil keeps the sign


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Value(1.5).asin(), ValueError, r"asin\(\) needs an input in \[-1, 1\], got 1\.5"),
        (lambda: Value(-2.0).acos(), ValueError, r"acos\(\) needs an input in \[-1, 1\]"),
        (lambda: Value(0.0).log2(), ValueError, r"log2\(\) needs a positive input, got 0\.0"),
        (lambda: Value(-1.0).log10(), ValueError, r"log10\(\) needs a positive input"),
        (lambda: Value(800.0).sinh(), OverflowError, r"sinh\(\) overflows for input 800\.0"),
        (lambda: Value(-800.0).cosh(), OverflowError, r"cosh\(\) overflows for input -800\.0"),
        (lambda: Value(800.0).expm1(), OverflowError, r"expm1\(\) overflows for input 800\.0"),
        (lambda: al.logsumexp([]), ValueError, r"logsumexp\(\) needs at least one input"),
        (lambda: al.logsumexp([math.inf]), ValueError, r"logsumexp\(\) needs finite inputs"),
        (lambda: al.log_softmax([1.0, 2.0], 2), ValueError, r"log_softmax\(\) index must be"),
    ],
)
def test_new_domain_errors_name_the_operation_and_value(
    make: object, error: type[Exception], message: str
) -> None:
    """Each new operation refuses inputs outside its domain, naming itself and the value."""
    with pytest.raises(error, match=message):
        make()  # type: ignore[operator]


def test_slopes_at_the_edges_of_the_new_domains() -> None:
    """asin and acos at ±1 have infinite slopes; atan2 and hypot at the origin slope 0."""
    for x, slope in [(1.0, math.inf), (-1.0, math.inf)]:
        v = Value(x)
        v.asin().backward()
        assert v.grad == slope
        w = Value(x)
        w.acos().backward()
        assert w.grad == -slope
    at_y, at_x = Value(0.0), Value(0.0)
    al.atan2(at_y, at_x).backward()
    assert (at_y.grad, at_x.grad) == (0.0, 0.0)
    a, b = Value(0.0), Value(0.0)
    al.hypot(a, b).backward()
    assert (a.grad, b.grad) == (0.0, 0.0)
    # Tiny inputs: x*x + y*y would underflow to 0; hypot keeps the slope.
    tiny_y, tiny_x = Value(1e-200), Value(1e-200)
    al.atan2(tiny_y, tiny_x).backward()
    assert tiny_y.grad == pytest.approx(0.5e200, rel=1e-12)


def test_log_softmax_keeps_a_tiny_loss() -> None:
    """log_softmax([40, 0], 0) is -4.2e-18, not 0: the shift and log1p live in one node."""
    zs = [Value(40.0), Value(0.0)]
    y = al.log_softmax(zs, 0)
    assert y.data == pytest.approx(-math.exp(-40.0), rel=1e-12)
    y.backward()
    assert zs[0].grad == pytest.approx(math.exp(-40.0), rel=1e-12)
    assert zs[1].grad == pytest.approx(-math.exp(-40.0), rel=1e-12)
    assert al.logsumexp([Value(1e4), Value(1e4)]).data == 1e4 + math.log(2.0)


# --- copying and pickling --------------------------------------------------------------------


def _chain(n: int) -> tuple[Value, Value]:
    x = Value(1.0, label="x")
    y = x
    for i in range(n):
        y = y * 1.0000001 + 0.5 if i % 2 else (y * 0.999).tanh()
    return x, y


def test_deepcopy_and_pickle_of_a_deep_graph_do_not_recurse() -> None:
    """A 50,000-step graph deep-copies and pickles, with the default recursion limit."""
    x, y = _chain(50_000)
    limit = sys.getrecursionlimit()
    y.backward()
    for copied in (copy.deepcopy(y), pickle.loads(pickle.dumps(y))):
        order = al.topological_order(copied)
        assert len(order) == len(al.topological_order(y))
        leaf = next(node for node in order if node.label == "x")
        assert leaf is not x and leaf.grad == x.grad
        copied.backward()
        assert leaf.grad == 2 * x.grad
    assert sys.getrecursionlimit() == limit


def test_pickle_keeps_shared_nodes_shared() -> None:
    """Nodes pickled together stay one node: a graph and its parameter, in either order."""
    w = Value(2.0, label="w")
    h = w * w
    loss = h.tanh() + h
    for items in ([loss, w, h], [w, h, loss], [h, loss, w]):
        restored = pickle.loads(pickle.dumps(items))
        by_label = {id(v): v for v in restored}
        new_loss = next(v for v in restored if v.op == "add")
        new_w = next(v for v in restored if v.label == "w")
        assert len(by_label) == 3
        new_loss.backward()
        assert new_w.grad == pytest.approx(2 * 2.0 * (1 - math.tanh(4.0) ** 2) + 4.0)
    assert copy.copy(loss).parents == loss.parents


def test_pickle_of_a_million_nodes_in_a_subprocess_never_crashes() -> None:
    """With a raised recursion limit pickle used to segfault; now it needs no recursion.

    A million nodes (500,000 products, each with its constant), far past the C stack: pickle's
    own recursion crashes between 20,000 and 50,000 nested lists here, with the same limit.
    """
    script = textwrap.dedent(
        """
        import pickle, sys
        sys.setrecursionlimit(10**6)
        import autograd_lite as al
        y = al.Value(1.0)
        for _ in range(500_000):
            y = y * 1.0
        z = pickle.loads(pickle.dumps(y))
        print(len(al.topological_order(z)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1000001"]


def test_a_pickled_graph_finds_its_operations_again() -> None:
    """Ops are pickled by name and constants, so a loaded graph backpropagates like the old."""
    x = Value(0.3)
    y = (x**-0.0 + x.leaky_relu(0.2) + al.log_softmax([x, 2.0], 0)).clamp(-5.0, 5.0)
    z = pickle.loads(pickle.dumps(y))
    assert [n._op for n in al.topological_order(z)] == [n._op for n in al.topological_order(y)]
    y.backward()
    z.backward()
    leaf = next(n for n in al.topological_order(z) if n.data == 0.3 and n.is_leaf)
    assert leaf.grad == x.grad


# --- the collector and threads ---------------------------------------------------------------


def test_backward_never_changes_the_garbage_collectors_state() -> None:
    """A sweep in one thread leaves gc.disable() of another thread (and of this one) alone."""
    was = gc.isenabled()
    try:
        gc.disable()
        _, y = _chain(2_000)
        errors: list[str] = []

        def sweep() -> None:
            for _ in range(20):
                y.backward()
                if gc.isenabled():
                    errors.append("enabled during another thread's sweep")

        threads = [threading.Thread(target=sweep) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and not gc.isenabled()
        gc.enable()
        y.backward()
        assert gc.isenabled()
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()


# --- micrograd's lecture code, pasted unchanged -------------------------------------------------

MICROGRAD_LECTURE = """
def trace(root):
    # builds a set of all nodes and edges in a graph
    nodes, edges = set(), set()
    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)
    build(root)
    return nodes, edges

def draw_dot(root):
    dot = Digraph(format='svg', graph_attr={'rankdir': 'LR'})
    nodes, edges = trace(root)
    for n in nodes:
        uid = str(id(n))
        dot.node(name = uid, label = "{ %s | data %.4f | grad %.4f }" % (n.label, n.data, n.grad), shape='record')
        if n._op:
            dot.node(name = uid + n._op, label = n._op)
            dot.edge(uid + n._op, uid)
    for n1, n2 in edges:
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)
    return dot
"""  # noqa: E501  # verbatim, long lines and all


def test_micrograd_lecture_helpers_run_unchanged() -> None:
    """trace() walks v._prev, draw_dot() reads n._op as a string: both work on our Values."""
    from graphviz import Digraph

    namespace: dict[str, object] = {"Digraph": Digraph}
    exec(MICROGRAD_LECTURE, namespace)
    x1, w1, b = Value(2.0, label="x1"), Value(-3.0, label="w1"), Value(6.88, label="b")
    n = x1 * w1 + b
    o = n.tanh()
    o.label = "o"
    o.backward()
    nodes, edges = namespace["trace"](o)  # type: ignore[operator]
    assert len(nodes) == 6 and len(edges) == 5
    source = namespace["draw_dot"](o).source  # type: ignore[operator]
    assert "label=tanh" in source and 'label="+"' in source and 'label="*"' in source
    assert "data 2.0000 | grad" in source
    m = x1 * 2
    assert o._op == "tanh" and x1._op == "" and m._prev == set(m.parents) and x1 in m._prev


def test_micrograd_compatibility_costs_the_engine_nothing() -> None:
    """_prev and _op are properties: a node's slots are the engine's own, nothing per node."""
    assert set(Value.__slots__) == {
        "__weakref__",
        "_data",
        "_operation",
        "_parents",
        "_partials",
        "grad",
        "label",
    }
    assert isinstance(Value.__dict__["_prev"], property)
    assert isinstance(Value.__dict__["_op"], property)
