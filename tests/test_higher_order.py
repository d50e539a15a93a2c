"""Second and third derivatives: every op and random DAGs, against closed forms and mpmath.

The engine differentiates its own gradients (`backward(create_graph=True)`, nested `grad`,
`hessian`, `hvp`). Oracles: closed-form second and third derivatives written here, mpmath's
high-precision numerical derivatives of each op's independent implementation, and finite
differences of the engine's own gradient (`gradgradcheck`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import Value, primitive
from autograd_lite.rules import Math, Num, RuleResult
from autograd_lite.testing import GradcheckError, gradcheck, gradgradcheck
from autograd_lite.testing._domains import DOMAINS, call
from autograd_lite.testing.strategies import OPS, Case, arguments, cases, describe, evaluate

mp = mpmath.mp
DPS = 40
REL = 1e-8
ABS = 1e-11
Matrix = list[list[Any]]


def _zeros(n: int) -> Matrix:
    return [[0] * n for _ in range(n)]


NAMES = sorted(OPS)


def _close(a: float, b: Any, rel: float = REL, abs_: float = ABS) -> bool:
    return math.isclose(a, float(b), rel_tol=rel, abs_tol=abs_)


def assert_matrix_close(what: str, where: str, analytic: Matrix, reference: Matrix) -> None:
    """Entry by entry; on failure show every entry with both numbers."""
    n = len(reference)
    if len(analytic) == n and all(
        _close(analytic[i][j], reference[i][j]) for i in range(n) for j in range(n)
    ):
        return
    lines = [
        f"  d2/dx{i}dx{j}: analytic={analytic[i][j]!r} {what}={float(reference[i][j])!r}"
        for i in range(n)
        for j in range(n)
    ]
    raise AssertionError(f"{where}\n" + "\n".join(lines))


def _mp_hessian(f: Callable[..., Any], point: Sequence[float]) -> Matrix:
    """Every second partial derivative by mpmath's numerical differentiation."""
    with mp.workdps(DPS):
        xs = [mpmath.mpf(x) for x in point]
        n = len(xs)
        h = _zeros(n)
        for i in range(n):
            for j in range(i, n):
                orders = [0] * n
                orders[i] += 1
                orders[j] += 1
                h[i][j] = h[j][i] = mpmath.diff(f, xs, orders)
        return h


def _op_function(name: str, consts: tuple[float, ...]) -> Callable[..., Any]:
    spec = OPS[name]
    return lambda *xs: spec.on_values(*xs, *consts)


def _op_mp_function(name: str, consts: tuple[float, ...]) -> Callable[..., Any]:
    function = OPS[name].on_mpmath
    assert function is not None
    return lambda *xs: function(*xs, *consts)


def _closed_hessian(name: str, inputs: Sequence[float], consts: tuple[Any, ...]) -> Matrix:
    """d/dxj of each closed-form partial d/dxi (the domain's oracle), by mpmath."""
    domain = DOMAINS[name]
    with mp.workdps(DPS):
        point = [mpmath.mpf(x) for x in inputs]
        n = len(point)
        h = _zeros(n)
        for i in range(n):
            for j in range(n):

                def partial_i(t: Any, i: int = i, j: int = j) -> Any:
                    moved = [*point[:j], t, *point[j + 1 :]]
                    return call(domain.partials, mpmath, name, moved, consts)[i]

                h[i][j] = mpmath.diff(partial_i, point[j])
        return h


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=100)
@given(data=st.data())
def test_op_hessian_matches_closed_form_and_mpmath(name: str, data: st.DataObject) -> None:
    """Every op's second derivatives equal mpmath's of its value and of its closed-form slopes."""
    inputs, consts = data.draw(arguments(name), label="inputs, consts")
    analytic = al.hessian(_op_function(name, consts))(*inputs)
    where = f"{name} at inputs={list(inputs)!r} consts={consts!r}"
    assert_matrix_close("closed form", where, analytic, _closed_hessian(name, inputs, consts))
    numeric = _mp_hessian(_op_mp_function(name, consts), inputs)
    assert_matrix_close("mpmath", where, analytic, numeric)


def _third_along(name: str, inputs: Sequence[float], consts: tuple[Any, ...], i: int) -> Any:
    """d3f/dxi3 by nesting grad three times, the other inputs held as numbers."""
    spec = OPS[name]

    def along(t: Value) -> Value:
        result: Value = spec.on_values(*inputs[:i], t, *inputs[i + 1 :], *consts)
        return result

    return al.grad(al.grad(al.grad(along)))(inputs[i])


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60)
@given(data=st.data())
def test_op_third_derivatives_match_closed_form_and_mpmath(name: str, data: st.DataObject) -> None:
    """grad(grad(grad(op))) along each input equals mpmath's, of the value and the slope."""
    inputs, consts = data.draw(arguments(name), label="inputs, consts")
    mp_function = _op_mp_function(name, consts)
    domain = DOMAINS[name]
    with mp.workdps(DPS):
        point = [mpmath.mpf(x) for x in inputs]
        numeric = []
        closed = []
        for i in range(len(point)):
            orders = [0] * len(point)
            orders[i] = 3
            numeric.append(mpmath.diff(mp_function, point, orders))

            def slope(t: Any, i: int = i) -> Any:
                moved = [*point[:i], t, *point[i + 1 :]]
                return call(domain.partials, mpmath, name, moved, consts)[i]

            closed.append(mpmath.diff(slope, point[i], 2))
    for i in range(len(inputs)):
        analytic = float(_third_along(name, inputs, consts, i))
        assert _close(analytic, closed[i]) and _close(analytic, numeric[i]), (
            f"{name} at inputs={list(inputs)!r} consts={consts!r}, d3/dx{i}3: "
            f"analytic={analytic!r} closed form={float(closed[i])!r} "
            f"mpmath={float(numeric[i])!r}"
        )


# --- random DAGs ----------------------------------------------------------------------------------


def _mp_expr(case: Case) -> Callable[..., Any]:
    return lambda *xs: evaluate(case.expr, xs, backend="mpmath")


@settings(max_examples=60)
@given(case=cases(shared=True, min_steps=2, max_steps=8))
def test_dag_hessian_matches_mpmath_and_is_symmetric(case: Case) -> None:
    """A random DAG's Hessian equals mpmath's second derivatives, and H[i][j] == H[j][i]."""
    analytic = al.hessian(case.expr)(*case.inputs)
    where = f"{describe(case.expr)}\nat {list(case.inputs)!r}"
    n = len(case.inputs)
    for i in range(n):
        for j in range(i):
            assert _close(analytic[i][j], analytic[j][i], rel=1e-9, abs_=1e-12), (
                f"{where}: H[{i}][{j}]={analytic[i][j]!r} H[{j}][{i}]={analytic[j][i]!r}"
            )
    assert_matrix_close("mpmath", where, analytic, _mp_hessian(_mp_expr(case), case.inputs))


@settings(max_examples=40)
@given(case=cases(shared=True, min_steps=2, max_steps=8))
def test_dag_hessian_passes_gradgradcheck(case: Case) -> None:
    """The Hessian agrees with finite differences of the engine's own gradient."""
    assert gradgradcheck(case.expr, case.inputs)


@settings(max_examples=40)
@given(
    case=cases(shared=True, max_steps=8),
    v=st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3),
)
def test_hvp_is_the_hessian_times_the_vector(case: Case, v: list[float]) -> None:
    """hvp(f)(x, v) equals hessian(f)(x) @ v."""
    n = len(case.inputs)
    h = al.hessian(case.expr)(*case.inputs)
    product = al.hvp(case.expr)(list(case.inputs), v[:n])
    expected = [math.fsum(h[i][j] * v[j] for j in range(n)) for i in range(n)]
    for got, want in zip(product, expected, strict=True):
        assert _close(got, want, rel=1e-9, abs_=1e-10), (describe(case.expr), product, expected)


@settings(max_examples=30)
@given(case=cases(shared=True, max_inputs=1, min_steps=2, max_steps=6))
def test_dag_third_derivative_matches_mpmath(case: Case) -> None:
    """grad(grad(grad(f))) of a one-input DAG equals mpmath's third derivative."""
    (x,) = case.inputs
    analytic = float(al.grad(al.grad(al.grad(case.expr)))(x))
    with mp.workdps(DPS):
        numeric = mpmath.diff(_mp_expr(case), mpmath.mpf(x), 3)
    assert _close(analytic, numeric, rel=1e-7, abs_=1e-9), (
        f"{describe(case.expr)} at x0={x!r}: analytic={analytic!r} mpmath={float(numeric)!r}"
    )


def test_pow_mixed_second_derivative_at_a_zero_exponent() -> None:
    """d2/dydx x ** y = x ** (y - 1) * (1 + y log x), which is 1/x at y = 0, in either order."""
    h = al.hessian(lambda x, y: x**y)(2.0, 0.0)
    assert h[1][0] == pytest.approx(0.5, rel=1e-12)
    assert h[0][1] == pytest.approx(0.5, rel=1e-12)


def test_create_graph_backward_gives_the_second_derivative() -> None:
    """backward(create_graph=True), then backward() of x.grad: x.grad becomes f' + f''."""
    x = Value(1.5)
    y = x**3 + x.sin()
    y.backward(create_graph=True)
    first = x.grad
    assert isinstance(first, Value)
    assert math.isclose(first.data, 3 * 1.5**2 + math.cos(1.5), rel_tol=1e-15)
    first.backward()
    # The leaf accumulates: it kept f'(x) as a number and adds f''(x) = 6x - sin(x).
    assert math.isclose(x.grad, first.data + 6 * 1.5 - math.sin(1.5), rel_tol=1e-15)


# --- gradgradcheck --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=20)
@given(data=st.data())
def test_gradgradcheck_passes_on_every_op(name: str, data: st.DataObject) -> None:
    """gradgradcheck accepts every built-in op inside its domain."""
    inputs, consts = data.draw(arguments(name), label="inputs, consts")
    assert gradgradcheck(_op_function(name, consts), inputs)


@primitive
def float_slope_sin(m: Math, x: Num) -> RuleResult:
    """sin, with its slope computed as a plain float: right once, but a constant to create_graph."""
    return m.sin(x), (math.cos(float(x)),)


@primitive
def wrong_curvature_sin(m: Math, x: Num) -> RuleResult:
    """sin whose slope, rebuilt as a graph, is 2 cos(a) - cos(x) with a the number x holds:
    the right value, but its derivative is +sin(x) instead of -sin(x)."""
    slope = m.cos(x)
    return m.sin(x), (slope if isinstance(slope, float) else 2 * math.cos(float(x)) - slope,)


def test_gradgradcheck_catches_a_slope_that_is_not_a_graph() -> None:
    """A rule whose partial is a float passes gradcheck but fails gradgradcheck, loudly."""
    x = 0.7
    assert gradcheck(float_slope_sin, [x])
    with pytest.raises(GradcheckError) as caught:
        gradgradcheck(float_slope_sin, [x])
    message = str(caught.value)
    assert "d2f/dx0dx0" in message
    assert "analytic=0.0" in message
    numeric = float(message.split("numeric=")[1].split()[0])
    assert math.isclose(numeric, -math.sin(x), rel_tol=1e-6)


def test_gradgradcheck_catches_a_wrong_second_derivative() -> None:
    """A slope graph with the wrong derivative is caught with the right number shown."""
    x = 0.3
    assert gradcheck(wrong_curvature_sin, [x])
    assert not gradgradcheck(wrong_curvature_sin, [x], raise_exception=False)
    with pytest.raises(GradcheckError, match=r"MISMATCH") as caught:
        gradgradcheck(wrong_curvature_sin, [x])
    message = str(caught.value)
    assert f"analytic={math.sin(x)!r}" in message
    numeric = float(message.split("numeric=")[1].split()[0])
    assert math.isclose(numeric, -math.sin(x), rel_tol=1e-6)


def test_gradgradcheck_checks_mixed_partials() -> None:
    """Every entry of the Hessian is checked, including the mixed ones."""
    assert gradgradcheck(lambda x, y: (x * y).sin() + x**2 * y.exp(), [0.4, -0.8])
