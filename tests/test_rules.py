"""Every rule of the operation table against oracles that are not the engine.

Parametrized over `autograd_lite.rules.OPERATIONS`, so a new operation is checked without
anyone touching this file: hypothesis draws inputs inside the operation's domain
(`autograd_lite.testing._domains.DOMAINS`, where each operation also states its oracles), and the
rule's value and local partials are compared with mpmath's high-precision value, mpmath's
numerical derivatives of that value, and the closed-form partials written independently of the
rules. Failures print the inputs, the analytic and the reference numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_lite import Value
from autograd_lite.engine import Op, _op_with
from autograd_lite.rules import FLOATS, OPERATIONS
from autograd_lite.testing._domains import DOMAINS, call
from autograd_lite.testing.strategies import OPS, arguments

mp = mpmath.mp
DPS = 40  # digits for the oracle: far beyond float64, so its own error never matters
REL = 1e-9  # a rule's partial in floats against the exact value at the same float inputs
ABS = 1e-12

NAMES = sorted(OPERATIONS)


def run_rule(
    name: str, inputs: Sequence[float], consts: Sequence[Any]
) -> tuple[Any, tuple[Any, ...]]:
    """The rule of the operation applied to floats, as the engine applies it."""
    op = Op(OPERATIONS[name]) if not consts else _op_with(OPERATIONS[name], tuple(consts))
    return op.run(FLOATS, list(inputs))


def mp_value(name: str, inputs: Sequence[Any], consts: Sequence[Any]) -> Any:
    """The op's value from its mpmath reference."""
    return call(DOMAINS[name].reference, mpmath, name, inputs, consts)


def mp_partials(name: str, inputs: Sequence[float], consts: Sequence[Any]) -> list[Any]:
    """Each partial derivative by mpmath's numerical differentiation in high precision."""
    with mp.workdps(DPS):
        point = [mpmath.mpf(x) for x in inputs]
        slopes = []
        for i in range(len(point)):

            def along(t: Any, i: int = i) -> Any:
                return mp_value(name, [*point[:i], t, *point[i + 1 :]], consts)

            slopes.append(mpmath.diff(along, point[i]))
        return slopes


def closed_partials(name: str, inputs: Sequence[float], consts: Sequence[Any]) -> list[Any]:
    """Each partial derivative from its closed form, in high precision."""
    with mp.workdps(DPS):
        point = [mpmath.mpf(x) for x in inputs]
        return list(call(DOMAINS[name].partials, mpmath, name, point, consts))


def assert_close(
    what: str,
    name: str,
    inputs: Sequence[float],
    consts: Sequence[Any],
    analytic: Sequence[float],
    reference: Sequence[Any],
    rel: float = REL,
    abs_: float = ABS,
) -> None:
    """Every analytic number equals its reference within tolerance; otherwise show them all."""
    assert len(analytic) == len(reference), f"{name}: {len(analytic)} != {len(reference)}"
    bad = [
        i
        for i, (a, r) in enumerate(zip(analytic, reference, strict=True))
        if not math.isclose(float(a), float(r), rel_tol=rel, abs_tol=abs_)
    ]
    if bad:
        lines = [
            f"  d/dx{i}: analytic={float(analytic[i])!r} {what}={float(reference[i])!r}"
            for i in range(len(analytic))
        ]
        details = "\n".join(lines)
        raise AssertionError(
            f"{name} at inputs={list(inputs)!r} consts={consts!r}: inputs {bad} differ\n{details}"
        )


def test_every_operation_has_a_domain_with_oracles() -> None:
    """The domain table names exactly the operations of the registry, each with its oracles."""
    assert set(DOMAINS) == set(OPERATIONS), (
        f"missing: {sorted(set(OPERATIONS) - set(DOMAINS))}, "
        f"extra: {sorted(set(DOMAINS) - set(OPERATIONS))}"
    )
    for name, domain in DOMAINS.items():
        for oracle in (domain.reference, domain.partials, domain.torch):
            assert callable(oracle), name
    assert set(OPS) == set(OPERATIONS)


def test_one_name_per_operation() -> None:
    """The rule's name, the registry key and every node's op name are one and the same."""
    for name, entry in OPERATIONS.items():
        assert entry.name == name == entry.rule.__name__
    x = Value(0.5)
    assert (x + 1).op == "add" and (x**2).op == "pow_const" and (x**x).op == "pow"


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=150)
@given(data=st.data())
def test_rule_matches_mpmath_and_closed_form(name: str, data: st.DataObject) -> None:
    """A rule's value and local partials equal mpmath's high-precision ones and closed forms."""
    inputs, consts = data.draw(arguments(name), label="inputs, consts")
    out, partials = run_rule(name, inputs, consts)
    with mp.workdps(DPS):
        expected = mp_value(name, [mpmath.mpf(x) for x in inputs], consts)
    assert_close("mpmath value", name, inputs, consts, [out], [expected])
    assert_close("mpmath", name, inputs, consts, partials, mp_partials(name, inputs, consts))
    assert_close(
        "closed form", name, inputs, consts, partials, closed_partials(name, inputs, consts)
    )


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=50)
@given(data=st.data())
def test_engine_op_gradients_match_closed_form(name: str, data: st.DataObject) -> None:
    """Through Values and backward(), each op gives its leaves the closed-form gradient."""
    inputs, consts = data.draw(arguments(name), label="inputs, consts")
    leaves = [Value(x) for x in inputs]
    out = OPS[name].on_values(*leaves, *consts)
    assert out.op == name
    out.backward()
    assert all(type(leaf.grad) is float for leaf in leaves)
    grads = [float(leaf.grad) for leaf in leaves]
    # A leaf used twice (a repeated operand) is not what this test draws: one leaf per input.
    assert_close("closed form", name, inputs, consts, grads, closed_partials(name, inputs, consts))


# Numbers mixed into expressions, on either side of each binary operator.
REFLECTED: dict[str, Callable[[Value, float], Value]] = {
    "c + x": lambda x, c: c + x,
    "x + c": lambda x, c: x + c,
    "c - x": lambda x, c: c - x,
    "x - c": lambda x, c: x - c,
    "c * x": lambda x, c: c * x,
    "x * c": lambda x, c: x * c,
    "c / x": lambda x, c: c / x,
    "x / c": lambda x, c: x / c,
    "c ** x": lambda x, c: abs(c) ** x,
}
REFLECTED_SLOPES: dict[str, Callable[[Any, Any], Any]] = {
    "c + x": lambda x, c: 1,
    "x + c": lambda x, c: 1,
    "c - x": lambda x, c: -1,
    "x - c": lambda x, c: 1,
    "c * x": lambda x, c: c,
    "x * c": lambda x, c: c,
    "c / x": lambda x, c: -c / x**2,
    "x / c": lambda x, c: 1 / c,
    "c ** x": lambda x, c: abs(c) ** x * mpmath.log(abs(c)),
}
AWAY_FROM_ZERO = st.one_of(st.floats(-10.0, -0.1), st.floats(0.1, 10.0))


@pytest.mark.parametrize("form", sorted(REFLECTED))
@settings(max_examples=40)
@given(x=AWAY_FROM_ZERO, c=AWAY_FROM_ZERO)
def test_numbers_on_either_side_of_an_operator(form: str, x: float, c: float) -> None:
    """A number on the left or the right of + - * / ** becomes a constant; x gets its slope."""
    leaf = Value(x)
    out = REFLECTED[form](leaf, c)
    out.backward()
    with mp.workdps(DPS):
        expected = REFLECTED_SLOPES[form](mpmath.mpf(x), mpmath.mpf(c))
    assert_close("closed form", form, [x], (c,), [float(leaf.grad)], [expected])
    assert [p.op for p in out.parents].count("const") == 1


# Points at the edge of, or beyond, the domains the strategies draw from.
EDGES: list[tuple[str, tuple[float, ...], tuple[Any, ...]]] = [
    ("exp", (50.0,), ()),
    ("exp", (-700.0,), ()),
    ("expm1", (1e-12,), ()),
    ("log", (1e-300,), ()),
    ("log", (1e300,), ()),
    ("log2", (1e-300,), ()),
    ("log10", (1e300,), ()),
    ("log1p", (-0.999999,), ()),
    ("log1p", (1e-12,), ()),
    ("sqrt", (1e-12,), ()),
    ("sqrt", (1e12,), ()),
    ("tanh", (-20.0,), ()),
    ("sigmoid", (-700.0,), ()),
    ("sigmoid", (36.0,), ()),
    ("softplus", (-700.0,), ()),
    ("softplus", (700.0,), ()),
    ("sin", (1e6,), ()),
    ("tan", (1.57,), ()),
    ("asin", (0.999999,), ()),
    ("acos", (-0.999999,), ()),
    ("atan", (1e150,), ()),
    ("atan2", (1e-200, 1e-200), ()),
    ("atan2", (1.0, -1e300), ()),
    ("hypot", (1e-200, 3e-200), ()),
    ("hypot", (1e300, 1e300), ()),
    ("sinh", (700.0,), ()),
    ("cosh", (-700.0,), ()),
    ("div", (1.0, 1e-150), ()),
    ("pow", (1e-3, 3.5), ()),
    ("pow", (7.0, -0.5), ()),
    ("pow_const", (-2.0,), (3.0,)),
    ("pow_const", (-0.5,), (-3.0,)),
    ("pow_const", (0.0,), (2.0,)),
    ("relu", (1e-300,), ()),
    ("relu", (-1e-300,), ()),
    ("abs", (-1e-300,), ()),
    ("leaky_relu", (-1e-300,), (0.3,)),
    ("dot", (1e150, -1e150, 1e-150, 1e-150), ()),
    ("logsumexp", (1e4, -1e4, 0.0), ()),
    ("log_softmax", (40.0, 0.0), (1,)),
    ("log_softmax", (-1e4, 1e4), (0,)),
    ("maximum", (1e300, -1e300), ()),
    ("clamp", (1e300,), (-1.0, 1.0)),
]


@pytest.mark.parametrize(("name", "inputs", "consts"), EDGES)
def test_rule_at_the_edges_of_its_domain(
    name: str, inputs: tuple[float, ...], consts: tuple[Any, ...]
) -> None:
    """Near poles, kinks, overflow and underflow each rule still gives the closed form."""
    _, partials = run_rule(name, inputs, consts)
    assert_close(
        "closed form", name, inputs, consts, partials, closed_partials(name, inputs, consts)
    )


@pytest.mark.parametrize(
    ("name", "inputs", "consts", "subgradients"),
    [
        ("relu", (0.0,), (), (0.0,)),
        ("abs", (0.0,), (), (0.0,)),
        ("leaky_relu", (0.0,), (0.2,), (0.2,)),
        ("maximum", (1.0, 1.0), (), (0.5, 0.5)),
        ("minimum", (-2.0, -2.0), (), (0.5, 0.5)),
        ("clamp", (0.0,), (0.0, 1.0), (1.0,)),
        ("clamp", (1.0,), (0.0, 1.0), (1.0,)),
        ("hypot", (0.0, 0.0), (), (0.0, 0.0)),
        ("atan2", (0.0, 0.0), (), (0.0, 0.0)),
        ("sign", (0.0,), (), (0.0,)),
        ("floor", (3.0,), (), (0.0,)),
        ("round", (2.5,), (0,), (0.0,)),
    ],
)
def test_documented_subgradient_at_the_kink(
    name: str, inputs: tuple[float, ...], consts: tuple[Any, ...], subgradients: tuple[float, ...]
) -> None:
    """At a kink or a jump each rule takes its documented subgradient, through Values too."""
    _, partials = run_rule(name, inputs, consts)
    assert partials == subgradients
    leaves = [Value(x) for x in inputs]
    OPS[name].on_values(*leaves, *consts).backward()
    assert tuple(leaf.grad for leaf in leaves) == subgradients
