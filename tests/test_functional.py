"""Tests of the functional API (grad, value_and_grad, hessian, hvp) and create_graph=True.

Closed-form derivatives are the oracle here; test_higher_order.py adds hypothesis and mpmath.
"""

from __future__ import annotations

import math

import pytest

from autograd_lite import Value, grad, hessian, hvp, value_and_grad


def f(x: Value) -> Value:
    """The issue's example: x**3 + sin(x)."""
    return x**3 + x.sin()


def test_grad_returns_plain_floats() -> None:
    """grad(f)(1.5) is the closed-form derivative, as a float."""
    d = grad(f)(1.5)
    assert type(d) is float
    assert d == pytest.approx(3 * 1.5**2 + math.cos(1.5), rel=1e-15)


def test_nested_grad_to_third_order() -> None:
    """grad(grad(f)) and grad(grad(grad(f))) match the closed forms."""
    assert grad(grad(f))(1.5) == pytest.approx(6 * 1.5 - math.sin(1.5), rel=1e-14)
    assert grad(grad(grad(f)))(1.5) == pytest.approx(6 - math.cos(1.5), rel=1e-14)


def test_value_and_grad_with_argnums() -> None:
    """argnums picks the arguments; a tuple of argnums gives a tuple of gradients."""

    def g(x: Value, y: Value, scale: float) -> Value:
        return (x * y).exp() * scale

    value, (dx, dy) = value_and_grad(g, argnums=(0, 1))(0.5, 2.0, 3.0)
    assert value == pytest.approx(3 * math.exp(1.0))
    assert dx == pytest.approx(3 * 2.0 * math.exp(1.0))
    assert dy == pytest.approx(3 * 0.5 * math.exp(1.0))
    assert grad(g, argnums=1)(0.5, 2.0, 3.0) == pytest.approx(dy)
    with pytest.raises(IndexError, match="argnums 5"):
        grad(g, argnums=5)(0.5, 2.0, 3.0)


def test_grad_does_not_touch_anybodys_grad() -> None:
    """Values captured by f keep their .grad; the result is fresh numbers."""
    w = Value(4.0)
    w.grad = 123.0
    h = w * 2.0
    h.grad = 7.0

    def loss(x: Value) -> Value:
        return h * x * x

    assert grad(loss)(3.0) == pytest.approx(2 * 8.0 * 3.0)
    assert w.grad == 123.0 and h.grad == 7.0


def test_grad_of_a_constant_function_is_zero() -> None:
    """A function that ignores its input, or returns a number, has gradient 0."""
    assert grad(lambda x: 5.0)(1.0) == 0.0
    assert grad(lambda x, y: y * 2, argnums=0)(1.0, Value(2.0)) == 0.0


def test_grad_rejects_a_non_scalar_function() -> None:
    """A function returning a list is not differentiable by grad()."""
    with pytest.raises(TypeError, match="returning a Value or a number, got list"):
        grad(lambda x: [x])(1.0)


def test_create_graph_then_backward_of_the_gradient() -> None:
    """backward(create_graph=True) leaves a gradient that is a graph; its backward is f''."""
    x = Value(1.5)
    y = f(x)
    y.backward(create_graph=True)
    g = x.grad
    assert isinstance(g, Value)
    assert g.data == pytest.approx(3 * 1.5**2 + math.cos(1.5), rel=1e-15)
    x.grad = 0.0  # start the second derivative from zero, as one does in PyTorch
    g.backward()
    assert x.grad == pytest.approx(6 * 1.5 - math.sin(1.5), rel=1e-14)


def test_a_later_plain_backward_turns_graph_gradients_back_into_numbers() -> None:
    """After create_graph=True, an ordinary backward accumulates numbers, not graphs."""
    x = Value(2.0)
    y = x * x
    y.backward(create_graph=True)
    y.backward()
    assert type(x.grad) is float and x.grad == 8.0


def test_hessian_and_hvp_of_a_two_variable_function() -> None:
    """The Hessian of x^2 y + sin(y) in closed form, and H @ v from one extra sweep."""

    def q(x: Value, y: Value) -> Value:
        return x * x * y + y.sin()

    x0, y0 = 0.7, -1.2
    h = hessian(q)(x0, y0)
    expected = [[2 * y0, 2 * x0], [2 * x0, -math.sin(y0)]]
    for row, want in zip(h, expected, strict=True):
        assert row == pytest.approx(want, rel=1e-14)
    v = [0.3, -2.0]
    product = hvp(q)([x0, y0], v)
    assert product == pytest.approx([sum(a * b for a, b in zip(r, v)) for r in expected], rel=1e-14)
    with pytest.raises(ValueError, match="as long as the arguments"):
        hvp(q)([x0, y0], [1.0])


def test_hessian_of_a_linear_function_is_zero() -> None:
    """Partials that do not depend on the inputs give an all-zero Hessian."""
    assert hessian(lambda x, y: 3 * x - y)(1.0, 2.0) == [[0.0, 0.0], [0.0, 0.0]]


def test_create_graph_gradients_are_never_forward_nodes() -> None:
    """After create_graph=True, d(x*w)/dx equals w but is a new node, so updating w leaves it."""
    x, w = Value(1.0), Value(2.0)
    (x * w).backward(create_graph=True)
    assert isinstance(x.grad, Value) and isinstance(w.grad, Value)
    assert x.grad is not w and w.grad is not x
    w.data = 100.0  # an optimizer updating w must not change the gradient already computed
    assert x.grad.data == 2.0


def test_nested_grad_sees_the_outer_variable() -> None:
    """An inner grad() called with floats still carries its dependence on the outer variable."""
    # d/dx [x * d/dy (x*y)] = d/dx x**2 = 2x
    assert grad(lambda x: x * grad(lambda y: x * y)(3.0))(2.0) == 4.0


def test_the_same_value_in_two_positions_gives_two_partials() -> None:
    """grad(a*b) at (v, v) with respect to a is b's value, not the sum of both partials."""
    v = Value(3.0)
    assert float(grad(lambda a, b: a * b)(v, v)) == 3.0
    # d/dx of [d/da (a*b) at a = b = x] = d/dx x = 1
    assert grad(lambda x: grad(lambda a, b: a * b)(x, x))(3.0) == 1.0
