"""The whole engine on random expression DAGs and trees, against mpmath.

Hypothesis builds descriptions of expressions over every op (shared subexpressions, one node
used by every operand of a sum, constants on either side); the engine's gradient of each input
is compared with mpmath's high-precision numerical derivative of the same description. Failures
shrink to a small expression and print it with the inputs, analytic and numeric values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import mpmath
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import Value
from autograd_lite.testing.strategies import Case, cases, describe, evaluate

mp = mpmath.mp
DPS = 40
# The engine works in floats through up to a dozen ops; mpmath is exact for our purpose.
REL = 1e-7
ABS = 1e-9


def engine_gradient(case: Case) -> tuple[float, list[float]]:
    """The expression's value and the gradient of every input, by one backward sweep."""
    leaves = [Value(x) for x in case.inputs]
    out = case.expr(*leaves)
    out.backward()
    return out.data, [float(leaf.grad) for leaf in leaves]


def mp_gradient(case: Case) -> tuple[Any, list[Any]]:
    """The expression's value and every partial derivative, by mpmath in high precision."""
    with mp.workdps(DPS):
        point = [mpmath.mpf(x) for x in case.inputs]
        value = evaluate(case.expr, point, backend="mpmath")
        slopes = []
        for i in range(len(point)):

            def along(t: Any, i: int = i) -> Any:
                return evaluate(case.expr, [*point[:i], t, *point[i + 1 :]], backend="mpmath")

            slopes.append(mpmath.diff(along, point[i]))
        return value, slopes


def assert_matches(
    case: Case, value: float, grads: Sequence[float], ref_value: Any, ref_grads: Sequence[Any]
) -> None:
    """The engine's numbers equal the reference ones; otherwise print them all."""
    pairs = [(value, ref_value), *zip(grads, ref_grads, strict=True)]
    if all(math.isclose(a, float(r), rel_tol=REL, abs_tol=ABS) for a, r in pairs):
        return
    lines = [f"  value: engine={value!r} mpmath={float(ref_value)!r}"]
    lines += [
        f"  d/dx{i} at x{i}={x!r}: analytic={g!r} numeric={float(r)!r}"
        for i, (x, g, r) in enumerate(zip(case.inputs, grads, ref_grads, strict=True))
    ]
    raise AssertionError(f"{describe(case.expr)}\n" + "\n".join(lines))


@settings(max_examples=100)
@given(case=cases(shared=True, min_steps=2, max_steps=10))
def test_dag_gradients_match_mpmath(case: Case) -> None:
    """Every input's gradient through a random DAG equals mpmath's derivative."""
    value, grads = engine_gradient(case)
    ref_value, ref_grads = mp_gradient(case)
    assert_matches(case, value, grads, ref_value, ref_grads)


@settings(max_examples=60)
@given(case=cases(shared=False, min_steps=2, max_steps=8))
def test_tree_gradients_match_mpmath(case: Case) -> None:
    """Every input's gradient through a random tree equals mpmath's derivative."""
    value, grads = engine_gradient(case)
    ref_value, ref_grads = mp_gradient(case)
    assert_matches(case, value, grads, ref_value, ref_grads)


@settings(max_examples=50)
@given(case=cases(shared=True, max_steps=6), copies=st.integers(2, 60))
def test_one_node_used_many_times(case: Case, copies: int) -> None:
    """A node feeding one sum many times, and itself squared, gets every contribution."""
    leaves = [Value(x) for x in case.inputs]
    node = case.expr(*leaves)
    out = al.sum([node] * copies) + node * node
    out.backward()
    grads = [float(leaf.grad) for leaf in leaves]
    ref_value, ref_grads = mp_gradient(case)
    with mp.workdps(DPS):
        # d/dx (k f + f**2) = (k + 2 f) f'
        factor = copies + 2 * ref_value
        expected_value = copies * ref_value + ref_value**2
        assert_matches(case, out.data, grads, expected_value, [factor * g for g in ref_grads])


@settings(max_examples=60)
@given(case=cases(shared=True, max_steps=8))
def test_gradients_are_bitwise_reproducible(case: Case) -> None:
    """The same expression gives bitwise-identical gradients every time, by any route."""
    first = engine_gradient(case)
    again = engine_gradient(case)
    assert first == again
    functional = al.grad(case.expr, argnums=tuple(range(case.expr.n_inputs)))(*case.inputs)
    assert list(functional) == first[1]


@settings(max_examples=60)
@given(case=cases(shared=True, max_steps=8))
def test_repeated_backward_accumulates_on_leaves_only(case: Case) -> None:
    """A second backward() doubles every leaf's gradient and leaves the rest as they were."""
    leaves = [Value(x) for x in case.inputs]
    out = case.expr(*leaves)
    out.backward()
    once = [leaf.grad for leaf in leaves]
    inner = [node.grad for node in al.topological_order(out) if not node.is_leaf]
    out.backward()
    # Not bitwise: the second sweep adds its terms one by one onto the first sweep's sum.
    for leaf, g in zip(leaves, once, strict=True):
        assert math.isclose(leaf.grad, 2 * g, rel_tol=1e-12, abs_tol=1e-12), (leaf.grad, g)
    # Intermediate nodes start from zero each sweep, so they repeat the first sweep exactly.
    assert [node.grad for node in al.topological_order(out) if not node.is_leaf] == inner


@settings(max_examples=60)
@given(case=cases(shared=True, max_steps=8))
def test_engine_forward_matches_plain_floats(case: Case) -> None:
    """Building the graph computes the same value as the description run on plain floats."""
    value, _ = engine_gradient(case)
    reference = evaluate(case.expr, list(case.inputs), backend="float")
    assert math.isclose(value, reference, rel_tol=1e-9, abs_tol=1e-9), (value, reference)
