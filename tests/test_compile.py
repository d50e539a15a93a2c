"""compile(): every replay gives graph mode's numbers, bit for bit, or graph mode's error.

The oracle here is graph mode itself (``f(*args).backward()`` on the same Values), whose
gradients the rest of the suite checks against mpmath, closed forms and PyTorch: a replay must
agree with it exactly (the same bits; -0.0 is not 0.0), on random expression DAGs over every
operation, on each operation's branches and domain errors, on models through parameter updates,
through changes of the arguments' structure, and for grad() and value_and_grad().
"""

from __future__ import annotations

import inspect
import math
import random
import re
import struct
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import Value, losses, nn
from autograd_lite._compile import MAX_TRACES, Compiled, ReplayMismatch, compile
from autograd_lite.rules import OPERATIONS
from autograd_lite.testing.strategies import OPS, Case, arguments, bounded_floats, cases, points

# ---------------------------------------------------------------------------------------------
# Helpers: graph mode, and comparing bit for bit
# ---------------------------------------------------------------------------------------------


def bits(x: float) -> str:
    """A float's bits as hex; every NaN is one (CPython's two multiplications disagree on them)."""
    return "nan" if x != x else struct.pack("<d", x).hex()


def assert_same(what: str, got: Sequence[float], expected: Sequence[float]) -> None:
    """The two lists of floats are the same, bit for bit; otherwise say where and how."""
    assert len(got) == len(expected), (what, got, expected)
    for i, (a, b) in enumerate(zip(got, expected, strict=True)):
        assert bits(a) == bits(b), f"{what}[{i}]: replayed {a!r}, graph mode {b!r}"


def graph_mode(f: Callable[..., Any], args: Sequence[Any]) -> float:
    """f on new leaf Values for its float arguments, then backward(): what compile() replays."""

    def as_values(x: Any) -> Any:
        if type(x) is float:
            return Value(x)
        if isinstance(x, list):
            return [as_values(item) for item in x]
        if isinstance(x, tuple):
            return tuple(as_values(item) for item in x)
        return x

    out = f(*[as_values(a) for a in args])
    if not isinstance(out, Value):
        return float(out)
    out.backward()
    return out.data


def starting_grads(params: Sequence[Value], rng: random.Random) -> list[float]:
    """Gradients to accumulate onto: zeros of both signs and ordinary numbers."""
    return [rng.choice([0.0, -0.0, 1.5, -2.25, rng.uniform(-3.0, 3.0)]) for _ in params]


def assert_replays(
    f: Callable[..., Any],
    calls: Sequence[Sequence[Any]],
    params: Sequence[Value],
    step: Compiled | None = None,
    seed: int = 0,
) -> Compiled:
    """Each call of compile(f) gives graph mode's output and adds what it adds to each .grad."""
    rng = random.Random(seed)
    step = step or compile(f)
    for n, args in enumerate(calls):
        start = starting_grads(params, rng)
        for p, g in zip(params, start, strict=True):
            p.grad = g
        out = step(*args)
        replayed = [float(p.grad) for p in params]
        for p, g in zip(params, start, strict=True):
            p.grad = g
        expected = graph_mode(f, args)
        assert_same(f"call {n} output", [out], [expected])
        assert_same(f"call {n} gradient", replayed, [float(p.grad) for p in params])
    return step


# ---------------------------------------------------------------------------------------------
# Random expressions over every operation
# ---------------------------------------------------------------------------------------------


@settings(max_examples=150)
@given(cases(), st.data())
def test_random_dags_replay_graph_mode_bit_for_bit(case: Case, data: st.DataObject) -> None:
    """A random DAG over every operation, its inputs as parameters: replayed at 3 points."""
    params = [Value(x) for x in case.inputs]
    step = compile(lambda: case.expr(*params))
    for n in range(3):
        if n:
            for p, x in zip(params, data.draw(points(case.expr)), strict=True):
                p.data = x  # a parameter update between calls
        assert_replays(lambda: case.expr(*params), [()], params, step, seed=n)
    assert len(step.traces) == 1
    assert step.traces[0].rule_calls == 0  # every rule ran over the code-writing arithmetic


@settings(max_examples=100)
@given(cases(shared=False, max_inputs=3))
def test_compiled_value_and_grad_of_random_expressions(case: Case) -> None:
    """compile(value_and_grad(f, all argnums)) returns what value_and_grad returns, exactly."""
    argnums = tuple(range(len(case.inputs)))
    both = al.value_and_grad(case.expr, argnums=argnums)
    compiled = compile(both)
    for point in (case.inputs, case.inputs[::-1] if len(set(case.expr.boxes)) == 1 else None):
        if point is None:
            continue
        value, grads = compiled(*point)
        expected_value, expected_grads = both(*point)
        assert_same("value", [value], [expected_value])
        assert_same("gradient", list(grads), list(expected_grads))


# ---------------------------------------------------------------------------------------------
# Every operation of the table, its branches, and its domain errors at replay
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(OPERATIONS))
@settings(max_examples=40)
@given(data=st.data())
def test_every_operation_replays_graph_mode(name: str, data: st.DataObject) -> None:
    """Each operation, its inputs as parameters, traced at one point and replayed at another."""
    spec = OPS[name]
    inputs, consts = data.draw(arguments(name))
    params = [Value(x) for x in inputs]

    def f() -> Value:
        out: Value = spec.on_values(*params, *consts)
        return out

    step = assert_replays(f, [()], params)
    for i, p in enumerate(params):  # another point of the same constants' domain
        pieces = spec.input_pieces(consts, i)
        p.data = data.draw(st.one_of([bounded_floats(lo, hi) for lo, hi in pieces]))
    assert_replays(f, [()], params, step, seed=1)
    assert step.traces[0].rule_calls == 0


def _replay_points(
    build: Callable[[list[Value]], Value],
    trace_at: Sequence[float],
    points: Sequence[Sequence[float]],
) -> None:
    """Trace build at one point, then replay it at each of the others, against graph mode."""
    params = [Value(x) for x in trace_at]
    step = compile(lambda: build(params))
    step()
    for point in points:
        for p, x in zip(params, point, strict=True):
            p.data = x
        assert_replays(lambda: build(params), [()], params, step)
    assert len(step.traces) == 1  # the branches are in the code, not in new traces


NAN = math.nan
INF = math.inf
KINKS = [-1.5, -0.0, 0.0, 2.0, NAN, INF, -INF, 5e-324]


@pytest.mark.parametrize(
    ("name", "build", "trace_at", "points"),
    [
        ("relu", lambda v: v[0].relu(), [1.0], [[x] for x in KINKS]),
        ("abs", lambda v: abs(v[0]), [1.0], [[x] for x in KINKS]),
        ("leaky_relu", lambda v: v[0].leaky_relu(0.2), [1.0], [[x] for x in KINKS]),
        ("sign", lambda v: v[0].sign(), [1.0], [[x] for x in KINKS]),
        (
            "clamp",
            lambda v: v[0].clamp(-1.0, 1.0),
            [0.5],
            [[x] for x in (-1.0, 1.0, -2.0, 3.0, NAN)],
        ),
        (
            "maximum",
            lambda v: al.maximum(v[0], v[1]),
            [1.0, 2.0],
            [[2.0, 1.0], [1.0, 1.0], [NAN, 1.0], [1.0, NAN], [-0.0, 0.0]],
        ),
        (
            "minimum",
            lambda v: al.minimum(v[0], v[1]),
            [1.0, 2.0],
            [[2.0, 1.0], [1.0, 1.0], [NAN, 1.0], [0.0, -0.0]],
        ),
        (
            "pow",
            lambda v: v[0] ** v[1],
            [2.0, 3.0],
            [
                [0.0, 0.5],
                [0.0, 0.0],
                [0.0, 2.0],
                [-2.0, 3.0],
                [3.0, 0.0],
                [1e-100, -3.0],
                [2.0, -1.0],
            ],
        ),
        (
            "pow_const",
            lambda v: v[0] ** 0.5 + v[1] ** -0.0 + v[1] ** 0.0 + v[1] ** 2,
            [2.0, 3.0],
            [[0.0, 0.0], [4.0, -1.0], [0.25, 1e-200]],
        ),
        ("sqrt", lambda v: v[0].sqrt(), [4.0], [[0.0], [-0.0], [2.0], [INF]]),
        ("asin", lambda v: v[0].asin() + v[0].acos(), [0.5], [[1.0], [-1.0], [0.0], [NAN]]),
        (
            "atan2",
            lambda v: al.atan2(v[0], v[1]) + al.hypot(v[0], v[1]),
            [1.0, 2.0],
            [[0.0, 0.0], [-0.0, -1.0]],
        ),
        ("sin", lambda v: v[0].sin() + v[0].cos() + v[0].tan(), [1.0], [[INF], [NAN], [0.0]]),
        (
            "dot",
            lambda v: al.dot([v[0], v[1]], [v[1], v[0]]),
            [1.0, 2.0],
            [[INF, 1.0], [-0.0, 0.0], [1e308, 1e308]],
        ),
        (
            "sum",
            lambda v: al.sum([v[0], v[1], v[0]]),
            [1.0, 2.0],
            [[INF, -INF], [-0.0, -0.0], [1e308, 1e308]],
        ),
        (
            "logsumexp",
            lambda v: al.logsumexp([v[0], v[1], v[0]]) + al.log_softmax([v[0], v[1]], 1),
            [1.0, 2.0],
            [[0.0, 0.0], [-700.0, 700.0], [1e-300, -1e-300]],
        ),
    ],
)
def test_each_branch_replays(
    name: str,
    build: Callable[[list[Value]], Value],
    trace_at: list[float],
    points: list[list[float]],
) -> None:
    """Traced on one side of a kink, replayed on the kink, the other side, NaN and infinities."""
    _replay_points(build, trace_at, points)


@pytest.mark.parametrize(
    ("build", "good", "bad", "error", "message"),
    [
        (lambda v: v.log(), 2.0, -1.0, ValueError, "log() needs a positive input, got -1.0"),
        (lambda v: v.sqrt(), 2.0, -4.0, ValueError, "sqrt() needs a non-negative input"),
        (lambda v: 1.0 / v, 2.0, 0.0, ZeroDivisionError, "division by zero: 1.0 / 0.0"),
        (lambda v: v.exp(), 2.0, 800.0, OverflowError, "exp() overflows for input 800.0"),
        (lambda v: v**0.5, 2.0, -2.0, ValueError, "pow() of the negative base -2.0"),
        (lambda v: v.asin(), 0.5, 2.0, ValueError, "asin() needs an input in [-1, 1]"),
        (lambda v: v.log1p(), 0.5, -1.0, ValueError, "log1p() needs an input greater than -1"),
        (lambda v: al.log_softmax([v, v * 2.0], 0), 1.0, INF, ValueError, "needs finite inputs"),
        (lambda v: v.cosh(), 1.0, 1000.0, OverflowError, "cosh() overflows"),
    ],
)
def test_domain_errors_at_replay_are_graph_modes(
    build: Callable[[Value], Value], good: float, bad: float, error: type, message: str
) -> None:
    """A replay whose number leaves the domain raises graph mode's error, naming op and value."""
    p = Value(good)
    step = compile(lambda: build(p))
    step()
    p.data = bad
    p.grad = 0.25
    with pytest.raises(error, match=re.escape(message)):
        step()
    assert p.grad == 0.25  # nothing was added: the error came before any gradient
    with pytest.raises(error, match=re.escape(message)):
        build(p)  # the same error, uncompiled
    p.data = good
    assert_replays(lambda: build(p), [()], [p], step)  # and the replay is still fine


# ---------------------------------------------------------------------------------------------
# Models, parameter updates, structures
# ---------------------------------------------------------------------------------------------


def _batch(rng: random.Random, n: int, width: int) -> list[list[float]]:
    return [[rng.uniform(-2.0, 2.0) for _ in range(width)] for _ in range(n)]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu", "linear"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_mlps_train_identically_compiled(activation: str, seed: int) -> None:
    """Random MLPs and batches: 4 SGD steps, compiled and in graph mode, stay bit-identical."""
    rng = random.Random(seed)
    nin = rng.randint(1, 4)
    sizes = [rng.randint(1, 6) for _ in range(rng.randint(1, 3))] + [1]
    model = nn.MLP(nin, sizes, activation=activation, seed=seed)
    twin = nn.MLP(nin, sizes, activation=activation, seed=seed)
    params, twin_params = model.parameters(), twin.parameters()
    xs = _batch(rng, rng.randint(1, 9), nin)
    ys = [rng.choice([-1, 1]) for _ in xs]

    def loss(model: nn.MLP[Value], params: list[Value], xs: Any, ys: Any) -> Value:
        scores = [model(x) for x in xs]
        return losses.hinge(scores, ys) + losses.l2_penalty(params, 1e-3)

    step = compile(lambda xs, ys: loss(model, params, xs, ys))
    for _ in range(4):
        model.zero_grad()
        twin.zero_grad()
        out = step(xs, ys)
        expected = loss(twin, twin_params, [[Value(x) for x in row] for row in xs], ys)
        expected.backward()
        assert_same("loss", [out], [expected.data])
        assert_same(
            "gradients", [float(p.grad) for p in params], [float(p.grad) for p in twin_params]
        )
        for p, q in zip(params, twin_params, strict=True):
            p.data -= 0.1 * p.grad
            q.data -= 0.1 * q.grad
        xs = [[x + 0.1 for x in row] for row in xs]  # new numbers, the same structure
    assert len(step.traces) == 1


def test_digits_step_with_cross_entropy_replays_graph_mode() -> None:
    """A digits-sized step (log_softmax nodes, labels as ints) replays bit for bit."""
    rng = random.Random(3)
    model = nn.MLP(16, [8, 4], seed=3, returns=list)
    params = model.parameters()

    def loss(xs: list[list[float]], ys: list[int]) -> Value:
        per = [losses.cross_entropy(model(x), y) for x, y in zip(xs, ys, strict=True)]
        return al.sum(per) * (1.0 / len(per))

    xs = _batch(rng, 6, 16)
    ys = [rng.randrange(4) for _ in xs]
    step = assert_replays(loss, [(xs, ys), (_batch(rng, 6, 16), ys)], params)
    assert len(step.traces) == 1
    assert_replays(loss, [(xs, [(y + 1) % 4 for y in ys])], params, step)  # new labels
    assert len(step.traces) == 2  # a label is part of the structure (log_softmax's index)


def test_one_hot_labels_are_data_one_trace_for_every_batch() -> None:
    """Labels as one-hot floats (cross_entropy with class probabilities) are arguments the
    replay reads: batches with other labels replay one trace, bit for bit graph mode, and
    with the int labels' numbers."""
    rng = random.Random(4)
    model = nn.MLP(16, [8, 4], seed=4, returns=list)
    params = model.parameters()

    def loss(xs: list[list[float]], ts: list[list[float]]) -> Value:
        per = [losses.cross_entropy(model(x), t) for x, t in zip(xs, ts, strict=True)]
        return al.sum(per) * (1.0 / len(per))

    def by_index(xs: list[list[Value]], ys: list[int]) -> Value:
        per = [losses.cross_entropy(model(x), y) for x, y in zip(xs, ys, strict=True)]
        return al.sum(per) * (1.0 / len(per))

    batches = []
    for _ in range(4):
        ys = [rng.randrange(4) for _ in range(6)]
        batches.append((_batch(rng, 6, 16), ys))
    one_hot = [(xs, [[float(k == y) for k in range(4)] for y in ys]) for xs, ys in batches]
    step = assert_replays(loss, one_hot, params)
    assert len(step.traces) == 1
    assert "list[6 × list[4 floats]]" in step.traces[0].structure
    for (xs, ys), args in zip(batches, one_hot, strict=True):
        al.zero_grad(params)
        out = step(*args)
        grads = [float(p.grad) for p in params]
        al.zero_grad(params)
        expected = by_index([[Value(x) for x in row] for row in xs], ys)
        expected.backward()
        assert_same("loss", [out], [expected.data])
        assert_same("gradients", grads, [float(p.grad) for p in params])


def test_a_new_structure_is_traced_anew_and_old_ones_are_kept() -> None:
    """Another batch size or nesting is a new trace; earlier ones replay still; bounded."""
    w = Value(0.5)
    f = lambda xs: al.sum([(w * x).tanh() for x in xs])  # noqa: E731
    step = compile(f)
    batches = [[0.1 * k for k in range(n)] for n in range(1, MAX_TRACES + 3)]
    for batch in [*batches, batches[0], batches[-1]]:
        assert_replays(f, [(batch,)], [w], step)
    assert len(step.traces) == MAX_TRACES
    assert step.traces[-1].structure == f"list[{len(batches[-1])} floats]"
    assert_replays(f, [((0.5, 0.25),)], [w], step)  # a tuple is another structure
    assert step.traces[-1].structure == "tuple[2 floats]"


def test_arguments_that_are_not_floats() -> None:
    """Ints, strs, bools and None are fixed per trace; Values and other objects are refused."""
    w = Value(2.0)

    def f(x: float, n: int, how: str, flag: bool, nothing: None) -> Value:
        y = w * x
        for _ in range(n):
            y = y * w
        return y.tanh() if how == "tanh" and flag and nothing is None else y

    step = compile(f)
    assert_replays(f, [(0.5, 2, "tanh", True, None), (0.25, 3, "tanh", True, None)], [w], step)
    assert len(step.traces) == 2
    with pytest.raises(TypeError, match="not Values: argument 0"):
        step(Value(1.0), 2, "tanh", True, None)
    with pytest.raises(TypeError, match=r"argument 1 is dict"):
        step(1.0, {}, "tanh", True, None)


def test_a_float_subclass_and_keywords_are_inputs() -> None:
    """A float subclass is read through float(); keyword arguments are inputs too."""

    class Real(float):
        pass

    w = Value(1.5)

    def f(x: float, *, scale: float = 1.0) -> Value:
        return (w * x * scale).sigmoid()

    step = assert_replays(f, [(Real(0.5),), (Real(-0.5),)], [w])
    assert isinstance(step(Real(0.5)), float)
    assert_replays(lambda x, scale: f(x, scale=scale), [(0.5, 2.0)], [w])
    keyword = compile(f)
    w.grad = 0.0
    value = keyword(0.5, scale=3.0)
    expected = f(Value(0.5), scale=Value(3.0))  # type: ignore[arg-type]
    assert bits(value) == bits(expected.data)


def test_values_made_inside_are_constants_and_outside_ones_parameters() -> None:
    """A leaf f makes is a constant of the trace; one someone else holds is read at each call."""
    held = Value(3.0)

    def f(x: float) -> Value:
        made = Value(2.0)  # made anew at each call: nobody can see its gradient
        return made * held * x

    step = compile(f)
    assert_replays(f, [(1.0,)], [held], step)
    assert step.traces[0].parameters == 1
    held.data = -1.0
    assert_replays(f, [(1.0,)], [held], step)


def test_a_leaf_output_and_a_constant_function() -> None:
    """f may return a parameter itself, an input, or a plain number."""
    p = Value(2.0)
    assert_replays(lambda: p, [()], [p])
    assert_replays(lambda x: x, [(4.0,)], [p])
    assert compile(lambda x: 3)(1.0) == 3.0


def test_deep_chain_and_a_gradient_with_thousands_of_terms() -> None:
    """A 6,000-node chain, and a parameter used 5,000 times: sums are split, nothing recurses."""
    a, b = Value(0.999), Value(0.001)

    def chain(y: float) -> Value:
        out: Value | float = y
        for _ in range(3000):
            out = out * a + b
        assert isinstance(out, Value)
        return out

    assert_replays(chain, [(0.5,), (0.25,)], [a, b])
    assert_replays(lambda xs: al.sum([x * a for x in xs]), [([0.5] * 5000,)], [a])


# ---------------------------------------------------------------------------------------------
# grad() and value_and_grad()
# ---------------------------------------------------------------------------------------------


def _f(x: Any, y: Any) -> Any:
    # Either argument may be a plain float (one that grad() does not differentiate).
    return (x * y + x * 0.5 + y).tanh() + x * y * y


@pytest.mark.parametrize(
    "make",
    [
        lambda: al.grad(_f),
        lambda: al.grad(_f, argnums=1),
        lambda: al.grad(_f, argnums=(1, 0)),
        lambda: al.value_and_grad(_f),
        lambda: al.value_and_grad(_f, argnums=(0, 1)),
        lambda: al.value_and_grad(_f, argnums=(0, 0)),
        lambda: al.grad(lambda x, y: (_f(x, y), [x * 2.0, (y, "label")]), has_aux=True),
        lambda: al.value_and_grad(lambda x, y: (_f(x, y), {"z": x * y}), (0, 1), has_aux=True),
        lambda: al.grad(al.grad(lambda x, y: x * x * x * y)),
        lambda: al.grad(lambda x, y: y),
        lambda: al.value_and_grad(lambda x, y: 3.0),
    ],
)
def test_compiled_transforms_return_what_they_return(make: Callable[[], Any]) -> None:
    """grad/value_and_grad compiled: the same results, structures and numbers, at two points."""
    uncompiled = make()
    compiled = compile(uncompiled)
    for point in [(0.5, -1.25), (2.0, 0.75), (-0.0, 3)]:
        got = compiled(*point)
        expected = uncompiled(*point)
        _assert_same_structure(got, expected)


def _assert_same_structure(got: Any, expected: Any) -> None:
    """The same nesting; floats the same bits; a Value in expected (aux) is its number."""
    if isinstance(expected, Value):
        assert bits(got) == bits(expected.data)
    elif isinstance(expected, float):
        assert isinstance(got, float) and bits(got) == bits(expected), (got, expected)
    elif isinstance(expected, list | tuple):
        assert type(got) is type(expected) and len(got) == len(expected), (got, expected)
        for a, b in zip(got, expected, strict=True):
            _assert_same_structure(a, b)
    elif isinstance(expected, dict):
        assert got.keys() == expected.keys()
        for key in expected:
            _assert_same_structure(got[key], expected[key])
    else:
        assert got == expected


def test_has_aux_returns_the_numbers_of_the_aux_values() -> None:
    """compile(f, has_aux=True): (loss, aux) with aux's Values as their numbers, through SGD
    steps, a domain error, check mode and no_grad(); graph mode gives the same bits."""
    model = nn.MLP(2, [3, 1], seed=4)
    twin = nn.MLP(2, [3, 1], seed=4)
    ys = [1, -1, 1]

    def f(model: nn.MLP[Value], xs: Any) -> tuple[Value, Any]:
        scores = [model(x) for x in xs]
        return losses.hinge(scores, ys), {"scores": scores, "first": (scores[0], "label"), "n": 5}

    xs = [[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0], [0.1, 0.2], [-1.0, -0.5]]
    ys = [1, -1, 1, 1, -1]
    for check in (False, True):
        step = compile(lambda xs: f(model, xs), has_aux=True, check=check)
        for _ in range(3):
            model.zero_grad()
            twin.zero_grad()
            loss, aux = step(xs)
            expected, expected_aux = f(twin, [[Value(x) for x in row] for row in xs])
            expected.backward()
            assert_same("loss", [loss], [expected.data])
            assert_same("scores", aux["scores"], [s.data for s in expected_aux["scores"]])
            assert aux["first"] == (aux["scores"][0], "label") and aux["n"] == 5
            assert_same(
                "gradients",
                [float(p.grad) for p in model.parameters()],
                [float(p.grad) for p in twin.parameters()],
            )
            for p, q in zip(model.parameters(), twin.parameters(), strict=True):
                p.data -= 0.5 * p.grad
                q.data -= 0.5 * q.grad
        assert step.traces[0].loop.startswith("5 × ")  # the scores come out of a loop
    # A replay that hits a domain error is done in graph mode, aux included.
    root = compile(lambda x: (x.sqrt(), [x * 2.0]), has_aux=True)
    assert root(4.0) == (2.0, [8.0])
    with pytest.raises(ValueError, match="sqrt"):
        root(-1.0)
    with al.no_grad():
        assert root(9.0) == (3.0, [18.0])
    with pytest.raises(TypeError, match=r"compile\(has_aux=True\) needs .* \(output, aux\)"):
        compile(lambda x: x * 2.0, has_aux=True)(1.0)
    with pytest.raises(TypeError, match="pass has_aux=True to grad"):
        compile(al.grad(lambda x: x * x), has_aux=True)


def test_a_compiled_transform_refuses_what_would_return_graphs() -> None:
    """A function reaching a parameter makes uncompiled grad() return graphs: compile refuses."""
    w = Value(2.0)
    with pytest.raises(RuntimeError, match="reaches Value"):
        compile(al.grad(lambda x: w * x))(1.0)
    with pytest.raises(RuntimeError, match="cannot be differentiated again"):
        al.grad(lambda x: x * compile(al.grad(lambda y: y * y))(2.0))(1.0)
    with pytest.raises(TypeError, match="Value"):
        compile(al.grad(lambda xs: xs[0]))([1.0])


# ---------------------------------------------------------------------------------------------
# The check against graph mode, hooks, anomaly mode, no_grad
# ---------------------------------------------------------------------------------------------


def test_check_mode_catches_a_python_branch_on_data() -> None:
    """A function that branches in Python on a Value's number: the trace cannot see it; check
    mode raises naming the difference, and leaves .grad as graph mode made it."""
    w = Value(1.0)

    def f(x: float) -> Value:
        y = w * x
        return y * 2.0 if y > 0 else y * 3.0  # Python's `if` on a Value: invisible to a trace

    plain = compile(f)
    checked = compile(f, check=True)
    assert plain(1.0) == checked(1.0) == 2.0
    w.grad = 0.0
    with pytest.raises(ReplayMismatch, match="graph differs from the traced one"):
        checked(-1.0)
    assert w.grad == -3.0  # what graph mode added
    assert plain(-1.0) == -2.0  # the unchecked replay computes what the first call chose


def test_check_mode_names_the_first_difference() -> None:
    """A number read in Python becomes a constant, which check mode sees as another graph; a
    Value computed outside f (graph mode keeps its old number, a replay recomputes it) shows
    as the first number that differs, with both values."""
    w = Value(2.0)
    read = compile(lambda x: w * x + w.data, check=True)
    read(1.0)
    w.data = 7.0
    with pytest.raises(ReplayMismatch, match="graph differs from the traced one"):
        read(1.0)
    outside = w * 2.0  # computed before the call: its number stays 14.0 in graph mode
    stale = compile(lambda x: outside * x, check=True)
    stale(1.0)
    w.data = 1.0
    with pytest.raises(ReplayMismatch, match=r"the output is 2\.0 replayed and 14\.0 in graph"):
        stale(1.0)


def test_check_mode_passes_and_matches_graph_mode() -> None:
    """On a function without Python branches, check mode returns what graph mode computes."""
    model = nn.MLP(3, [4, 1], seed=5)
    params = model.parameters()
    f = lambda xs: al.sum([model(x) for x in xs])  # noqa: E731
    assert_replays(f, [([[0.1, 0.2, 0.3]],), ([[0.5, -0.2, 0.1]],)], params, compile(f, check=True))


def test_hooks_are_refused_and_anomaly_mode_runs_graph_mode() -> None:
    """A hook cannot be replayed (refused, by name); anomaly mode checks every node as usual."""
    w = Value(2.0)
    step = compile(lambda x: w * x - w * x)
    step(1.0)
    with w.register_hook(lambda g: g), pytest.raises(RuntimeError, match="cannot replay hooks"):
        step(1.0)

    def hooked(x: float) -> Value:
        y = w * x
        y.register_hook(lambda g: g)
        return y

    with pytest.raises(RuntimeError, match="cannot replay hooks"):
        compile(hooked)(1.0)
    with al.detect_anomaly(), pytest.raises(al.AnomalyError, match="produced nan"):
        step(math.inf)  # inf - inf: anomaly mode names the node that made the NaN
    assert step.traces[0].graph_mode_calls == 1


def test_under_no_grad_a_replay_changes_no_gradient() -> None:
    """Under no_grad() the value comes back and no .grad changes, as in graph mode."""
    w = Value(2.0)
    step = compile(lambda x: (w * x).tanh())
    step(0.5)
    w.grad = 1.25
    with al.no_grad():
        value = step(0.25)
    assert w.grad == 1.25
    assert bits(value) == bits(math.tanh(0.5))
    step(0.25)
    assert w.grad != 1.25  # recording again: the gradient is added


# ---------------------------------------------------------------------------------------------
# User primitives, the source, the callable
# ---------------------------------------------------------------------------------------------


def test_a_primitive_the_arithmetic_can_write_and_one_it_cannot() -> None:
    """A user's rule over m compiles to code; one using math directly is called on floats."""

    @al.primitive
    def softsign(m: Any, x: Any) -> Any:
        if x < 0.0:
            return x / (1.0 - x), (1.0 / ((1.0 - x) * (1.0 - x)),)
        return x / (1.0 + x), (1.0 / ((1.0 + x) * (1.0 + x)),)

    @al.primitive
    def cube(m: Any, x: Any) -> Any:
        return math.pow(x, 3), (3 * x**2,)  # math.pow: only floats can do this

    w = Value(0.5)
    f = lambda x: softsign(w * x) + cube(w * x)  # noqa: E731
    step = assert_replays(f, [(1.0,), (-2.0,), (0.0,)], [w])
    assert step.traces[0].rule_calls == 1  # cube's rule is called; softsign's is code
    assert "RULE_" in step.source
    assert re.search(r"v\d+ = v\d+ / \(1\.0 - v\d+\)", step.source)


def test_the_source_shows_one_line_per_node() -> None:
    """A learner reads the graph as a program: one commented line per node, forward then back."""
    w, b = Value(3.0, label="w"), Value(-1.0, label="b")
    step = compile(lambda x: (w * x + b).tanh())
    with pytest.raises(RuntimeError, match="written at the first call"):
        step.source  # noqa: B018
    step(0.5)
    source = step.source
    for pattern in [
        r"\(x0,\) = args",
        r"\(p0, p1\) = map\(DATA, P\)",
        r"v(\d+) = p\d \* x0  # mul",
        r"v(\d+) = v\d+ \+ p\d  # add",
        r"v(\d+) = tanh\(v\d+\)  # tanh",
        r"g\d+ = 1\.0",
        r"g\d+ = 0\.0 \+ \(1\.0 - v(\d+) \* v\1\) \* g\d+",
        r"gp\d = sp\d \+ x0 \* g\d+",
        r"gp\d = sp\d \+ g\d+",
    ]:
        assert re.search(f"^    {pattern}$", source, re.MULTILINE), (pattern, source)
    assert source.index("forward") < source.index("backward")


def test_the_compiled_function_looks_like_f() -> None:
    """compile(f) has f's name, docstring and signature, and refuses non-functions."""

    def loss(xs: list[float], scale: float = 2.0) -> Value:
        """The loss."""
        return al.sum(xs) * scale

    step = compile(loss)
    assert getattr(step, "__name__", "") == "loss" and step.__doc__ == "The loss."
    assert list(inspect.signature(step).parameters) == ["xs", "scale"]
    assert compile(step)._f is loss  # compiling a compiled function compiles f
    with pytest.raises(TypeError, match="needs a function"):
        compile(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="check must be True or False"):
        compile(loss, check=1)  # type: ignore[arg-type]
    assert "loss" in repr(step)


def test_the_replay_drops_the_traced_graph() -> None:
    """After tracing, no node of the traced graph is kept alive: only the parameters."""
    import gc
    import weakref

    w = Value(1.0)
    seen: list[weakref.ref[Value]] = []

    def f(x: float) -> Value:
        y = (w * x).tanh()
        seen.append(weakref.ref(y))
        return y * 2.0

    step = compile(f)
    step(0.5)
    gc.collect()
    assert seen and all(ref() is None for ref in seen)
    assert step.traces[0]._params == (w,)


# ---------------------------------------------------------------------------------------------
# Batches as loops: the same subgraph per example, written once
# ---------------------------------------------------------------------------------------------


def _model_loss(model: nn.MLP[Value], params: list[Value]) -> Callable[..., Value]:
    def loss(xs: list[list[float]], ys: list[int]) -> Value:
        return losses.hinge([model(x) for x in xs], ys) + losses.l2_penalty(params, 1e-3)

    return loss


def test_a_batch_becomes_a_loop_with_per_label_tails() -> None:
    """Moons-like: one body per example, the label-dependent hinge after the loop, exact."""
    rng = random.Random(7)
    model = nn.MLP(2, [5, 4, 1], seed=7)
    params = model.parameters()
    loss = _model_loss(model, params)
    xs = _batch(rng, 9, 2)
    ys = [rng.choice([-1, 1]) for _ in xs]
    step = assert_replays(loss, [(xs, ys), (_batch(rng, 9, 2), ys)], params)
    assert step.traces[0].loop.startswith("9 × ")
    assert "for (xb0, xb1) in args[0]:" in step.source


def test_two_batch_arguments_side_by_side_and_a_keyword_batch() -> None:
    """Inputs and float targets zipped in one loop; a batch given by keyword too."""
    rng = random.Random(8)
    model = nn.MLP(3, [4, 1], activation="tanh", seed=8)
    params = model.parameters()

    def loss(xs: list[list[float]], ts: list[float]) -> Value:
        return al.sum([((model(x) - t) * (model(x) - t)).tanh() for x, t in zip(xs, ts)])

    xs, ts = _batch(rng, 6, 3), [rng.uniform(-1.0, 1.0) for _ in range(6)]
    step = assert_replays(loss, [(xs, ts)], params)
    assert step.traces[0].loop and "zip(args[0], args[1])" in step.source
    keyword = compile(lambda *, xs, ts: loss(xs, ts))
    model.zero_grad()
    value = keyword(xs=xs, ts=ts)
    expected = graph_mode(loss, [xs, ts])
    assert bits(value) == bits(expected)
    assert keyword.traces[0].loop and "kwargs['xs']" in keyword.source


def test_a_loop_around_nodes_made_once_and_inputs_read_after_it() -> None:
    """A node made before the loop and used by every unit gets its gradient after the loop; a
    tail that reads the example's own input makes the loop unpack the batch for it too."""
    rng = random.Random(9)
    w, scale = Value(0.7), Value(0.3)

    def loss(xs: list[list[float]], ys: list[int]) -> Value:
        shared = (scale * 2.0).exp()  # made once, read by every unit
        total = []
        for (a, b), y in zip(xs, ys, strict=True):
            h = ((w * a + b) * shared).tanh().sigmoid()
            total.append(h * a if y > 0 else h - b)  # the tail reads the inputs again
        return al.sum(total)

    xs = _batch(rng, 7, 2)
    ys = [rng.choice([-1, 1]) for _ in xs]
    step = assert_replays(loss, [(xs, ys), (_batch(rng, 7, 2), ys)], [w, scale])
    assert step.traces[0].loop


def test_a_loop_that_would_reorder_a_sum_is_not_made() -> None:
    """Each example's tail multiplies by its own node of the parameter: the parameter's terms
    alternate between the bodies and the tails, which a loop cannot keep: straight code."""
    rng = random.Random(10)
    w = Value(0.9)

    def loss(xs: list[float]) -> Value:
        parts = []
        for k, x in enumerate(xs):
            h = (w * x).tanh().tanh().sigmoid().tanh()
            parts.append(h * (w * float(k + 1)))
        return al.sum(parts)

    step = assert_replays(loss, [([rng.uniform(-1, 1) for _ in range(6)],)], [w])
    assert step.traces[0].loop == ""


def test_value_and_grad_of_a_scalar_used_in_every_unit() -> None:
    """A differentiated number read by every unit: its gradient is summed across the loop."""
    rng = random.Random(11)

    def loss(scale: Any, xs: list[float]) -> Any:
        return al.sum([(scale * x).tanh().sigmoid().tanh() * x for x in xs])

    both = al.value_and_grad(loss, argnums=0)
    compiled = compile(both)
    xs = [rng.uniform(-2, 2) for _ in range(8)]
    for scale in (0.5, -1.25):
        value, gradient = compiled(scale, xs)
        expected_value, expected_gradient = both(scale, xs)
        assert_same("value and gradient", [value, gradient], [expected_value, expected_gradient])
    assert compiled.traces[0].loop


@pytest.mark.parametrize("sequential", [True, False])
def test_the_loops_sums_add_left_to_right(sequential: bool, monkeypatch: Any) -> None:
    """The sums after a loop add in backward()'s order, with either way of adding in C."""
    from functools import reduce
    from operator import add

    from autograd_lite._compile import _source

    rng = random.Random(12)
    terms = [rng.uniform(-1.0, 1.0) * 10.0 ** rng.randint(-8, 8) for _ in range(500)]
    start = rng.uniform(-1.0, 1.0)
    chosen = _source._sequential_sum if sequential else _source._SEQUENTIAL_SUM
    assert bits(chosen(iter(terms), start)) == bits(reduce(add, terms, start))
    if sequential:  # the generated code works with the 3.12+ way too
        monkeypatch.setattr(_source, "_SEQUENTIAL_SUM", _source._sequential_sum)
    model = nn.MLP(2, [4, 1], seed=12)
    params = model.parameters()
    step = assert_replays(_model_loss(model, params), [(_batch(rng, 8, 2), [1] * 8)], params)
    assert step.traces[0].loop and "= SUM(" in step.source


def test_check_mode_with_a_loop() -> None:
    """check=True compares a loop's replay with graph mode as well."""
    rng = random.Random(13)
    model = nn.MLP(2, [3, 1], seed=13)
    params = model.parameters()
    loss = _model_loss(model, params)
    ys = [1, -1, 1, -1, 1]
    step = assert_replays(loss, [(_batch(rng, 5, 2), ys)], params, compile(loss, check=True))
    assert step.traces[0].loop


def test_a_graph_too_large_to_write_runs_in_graph_mode(monkeypatch: Any) -> None:
    """Without a loop, a graph past the size limit is not written: its calls are graph mode's."""
    from autograd_lite._compile import _source

    monkeypatch.setattr(_source, "MAX_STRAIGHT_OPERATIONS", 50)
    a = Value(0.999)

    def chain(y: float) -> Value:
        out: Value | float = y
        for _ in range(40):
            out = out * a + 0.001
        assert isinstance(out, Value)
        return out

    step = assert_replays(chain, [(0.5,), (0.25,)], [a])
    assert step.traces[0].source.startswith("# Not compiled: 80 operations without a loop")
    assert step.traces[0].graph_mode_calls == 2


def test_traces_are_bounded_by_their_size_too(monkeypatch: Any) -> None:
    """However few, traces whose code is too big in all are dropped, the oldest first."""
    import autograd_lite._compile as compiled_module

    monkeypatch.setattr(compiled_module, "MAX_SOURCE_CHARS", 3000)
    w = Value(0.5)
    f = lambda xs: al.sum([(w * x).tanh() for x in xs])  # noqa: E731
    step = compile(f)
    for n in range(1, 6):
        step([0.1] * (10 * n))
    assert 1 <= len(step.traces) < 5
    assert sum(len(t.source) for t in step.traces) <= 3000 or len(step.traces) == 1


def test_labels_and_names_cannot_write_code() -> None:
    """A label or a primitive's name with a newline stays inside its comment of the code."""
    w = Value(2.0, label="w\nraise SystemExit")

    def rule(m: Any, x: Any) -> Any:
        return x * 2.0, (2.0,)

    double = al.primitive(rule, name="double\nraise SystemExit")
    step = compile(lambda x: double(w * x))
    assert_replays(lambda x: double(w * x), [(1.5,)], [w], step)
    assert "\nraise SystemExit" not in step.source
    assert "'w\\nraise SystemExit'" in step.source and "double\\nraise" in step.source


@settings(max_examples=80)
@given(cases(min_steps=2), st.data())
def test_random_dags_per_example_of_a_batch(case: Case, data: st.DataObject) -> None:
    """A batch whose examples each go through a random DAG over every operation (the
    example's number as its first input, parameters as the others), summed: as a loop or as
    straight code, it replays graph mode bit for bit, through a parameter update."""
    params = [Value(x) for x in case.inputs[1:]]
    low, high = case.expr.boxes[0]
    xs = data.draw(st.lists(bounded_floats(low, high), min_size=4, max_size=7))

    def loss(xs: list[float]) -> Any:
        return al.sum([case.expr(x, *params) for x in xs])

    step = assert_replays(loss, [(xs,)], params)
    for p, x in zip(params, data.draw(points(case.expr))[1:], strict=True):
        p.data = x
    assert_replays(loss, [(xs,)], params, step, seed=1)
    assert len(step.traces) == 1
