"""Derivatives of Python functions, in the habit of HIPS autograd and JAX.

`grad(f)` returns a new function that computes the gradient of `f`; it never touches the `.grad`
of anybody's Values. Nest it for higher derivatives: `grad(grad(f))`. This module only arranges
calls to `Value.backward`; it holds no calculus of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any, Final

from autograd_lite.engine import Value, topological_order

Scalar = float | int
Grad = float | Value

# How many grad() calls are evaluating their function right now. Inside one, a nested grad()
# must return a graph even when called with plain floats: its function may use the outer
# call's variables (grad(lambda x: x * grad(lambda y: x * y)(3.0))), and the outer call
# differentiates through the answer.
_DEPTH: Final = ContextVar("autograd_lite_grad_depth", default=0)


def _gradients(root: Value, wrt: Sequence[Value], create_graph: bool) -> list[Grad]:
    """d(root)/d(w) for each w in wrt, leaving every .grad in the graph as it was."""
    order = topological_order(root)
    touched = [*order, *wrt]
    saved = [node.grad for node in touched]
    try:
        for w in wrt:
            w.grad = 0.0  # a leaf accumulates: start it from zero
        root.backward(create_graph=create_graph)
        return [w.grad for w in wrt]
    finally:
        for node, g in zip(touched, saved, strict=True):
            node.grad = g


def _prepare(args: tuple[Any, ...], argnums: int | Sequence[int]) -> tuple[list[Any], list[int]]:
    """Give each differentiated argument a node of its own; say which arguments they are."""
    nums = [argnums] if isinstance(argnums, int) else list(argnums)
    call_args = list(args)
    for i in nums:
        if not -len(args) <= i < len(args):
            msg = f"argnums {i} is out of range for a call with {len(args)} arguments"
            raise IndexError(msg)
        if isinstance(args[i], Value):
            # A new node that stays connected to the caller's graph: the same Value passed in
            # two positions must still give two separate partial derivatives.
            call_args[i] = args[i] * 1.0
        else:
            call_args[i] = Value(args[i])
    return call_args, nums


def value_and_grad(
    f: Callable[..., Value | Scalar], argnums: int | Sequence[int] = 0
) -> Callable[..., tuple[Grad, Any]]:
    """A function returning ``(f(*args), gradient)``; the gradient is a tuple if argnums is.

    Called with floats, it returns floats. Called with Values (as happens inside another
    ``grad``), it returns Values whose graphs can be differentiated again.

    >>> f = lambda x, y: x * y + y
    >>> value_and_grad(f, argnums=(0, 1))(2.0, 3.0)
    (9.0, (3.0, 3.0))
    """

    def wrapper(*args: Any) -> tuple[Grad, Any]:
        call_args, nums = _prepare(args, argnums)
        wrt = [call_args[i] for i in nums]
        # When the caller hands us Values, or calls us from inside another grad(), it may
        # differentiate our answer: keep the graph.
        create_graph = _DEPTH.get() > 0 or any(isinstance(args[i], Value) for i in nums)
        token = _DEPTH.set(_DEPTH.get() + 1)
        try:
            out = f(*call_args)
        finally:
            _DEPTH.reset(token)
        if isinstance(out, Value):
            grads = _gradients(out, wrt, create_graph)
            value: Grad = out if create_graph else out.data
        elif isinstance(out, int | float):
            grads = [0.0] * len(wrt)  # a constant function
            value = float(out)
        else:
            msg = f"grad() needs a function returning a Value or a number, got {type(out).__name__}"
            raise TypeError(msg)
        if isinstance(argnums, int):
            return value, grads[0]
        return value, tuple(grads)

    return wrapper


def grad(f: Callable[..., Value | Scalar], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """A function returning the gradient of f with respect to the chosen arguments.

    >>> from autograd_lite import grad
    >>> d2 = grad(grad(lambda x: x ** 3))
    >>> d2(2.0)
    12.0
    """
    both = value_and_grad(f, argnums)

    def gradient(*args: Any) -> Any:
        return both(*args)[1]

    return gradient


def hessian(f: Callable[..., Value | Scalar]) -> Callable[..., list[list[float]]]:
    """A function returning the matrix of second derivatives of f over all its arguments.

    >>> hessian(lambda x, y: x * x * y)(1.0, 2.0)
    [[4.0, 2.0], [2.0, 0.0]]
    """

    def matrix(*args: Scalar) -> list[list[float]]:
        xs = [Value(a) for a in args]
        out = f(*xs)
        if not isinstance(out, Value):
            return [[0.0] * len(xs) for _ in xs]
        rows: list[list[float]] = []
        for g in _gradients(out, xs, create_graph=True):
            if isinstance(g, Value):
                rows.append([float(h) for h in _gradients(g, xs, create_graph=False)])
            else:
                rows.append([0.0] * len(xs))  # this partial does not depend on any input
        return rows

    return matrix


def hvp(f: Callable[..., Value | Scalar]) -> Callable[..., list[float]]:
    """A function ``(args, v) -> H(args) @ v``: one Hessian-vector product, two sweeps.

    >>> hvp(lambda x, y: x * x * y)([1.0, 2.0], [1.0, 0.0])
    [4.0, 2.0]
    """

    def product(args: Sequence[Scalar], v: Sequence[Scalar]) -> list[float]:
        if len(args) != len(v):
            msg = f"hvp() needs a vector as long as the arguments: {len(args)} != {len(v)}"
            raise ValueError(msg)
        xs = [Value(a) for a in args]
        out = f(*xs)
        if not isinstance(out, Value):
            return [0.0] * len(xs)
        grads = _gradients(out, xs, create_graph=True)
        # d/dx (g . v) = H v, since v does not depend on x.
        g_dot_v: Value | float = 0.0
        for g, vi in zip(grads, v, strict=True):
            g_dot_v = g_dot_v + g * vi
        if not isinstance(g_dot_v, Value):
            return [0.0] * len(xs)
        return [float(h) for h in _gradients(g_dot_v, xs, create_graph=False)]

    return product


__all__ = ["grad", "hessian", "hvp", "value_and_grad"]
