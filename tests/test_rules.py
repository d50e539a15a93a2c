"""Every derivative rule against oracles that are not the engine: mpmath and closed forms.

For each op of `autograd_lite.rules.RULES`, hypothesis draws inputs inside the op's domain
(`autograd_lite.testing.strategies.OPS`, the one table of domains); the rule's value and local
partials are compared with mpmath's high-precision central differences of an independent
implementation, and with closed-form derivatives written here. Failures print the inputs, the
analytic and the reference numbers.
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
from autograd_lite.rules import FLOATS, RULES
from autograd_lite.testing.strategies import OPS, arguments

mp = mpmath.mp
DPS = 40  # digits for the oracle: far beyond float64, so its own error never matters
REL = 1e-9  # a rule's partial in floats against the exact value at the same float inputs
ABS = 1e-12

Partials = Callable[[Sequence[Any], tuple[float, ...]], list[Any]]


def _power_const_slope(xs: Sequence[Any], c: tuple[float, ...]) -> list[Any]:
    (x,), (k,) = xs, c
    return [0 if k == 0 else k * mpmath.power(x, k - 1)]


def _dot_partials(xs: Sequence[Any], c: tuple[float, ...]) -> list[Any]:
    n = len(xs) // 2
    return [*xs[n:], *xs[:n]]


# Closed-form partials, written independently of rules.py (tanh' as sech**2, not 1 - tanh**2).
CLOSED_FORMS: dict[str, Partials] = {
    "+": lambda xs, c: [1, 1],
    "-": lambda xs, c: [1, -1],
    "neg": lambda xs, c: [-1],
    "*": lambda xs, c: [xs[1], xs[0]],
    "/": lambda xs, c: [1 / xs[1], -xs[0] / xs[1] ** 2],
    "**": _power_const_slope,
    "pow": lambda xs, c: [xs[1] * xs[0] ** (xs[1] - 1), xs[0] ** xs[1] * mpmath.log(xs[0])],
    "abs": lambda xs, c: [mpmath.sign(xs[0])],
    "exp": lambda xs, c: [mpmath.exp(xs[0])],
    "log": lambda xs, c: [1 / xs[0]],
    "log1p": lambda xs, c: [1 / (1 + xs[0])],
    "sqrt": lambda xs, c: [1 / (2 * mpmath.sqrt(xs[0]))],
    "sin": lambda xs, c: [mpmath.cos(xs[0])],
    "cos": lambda xs, c: [-mpmath.sin(xs[0])],
    "tanh": lambda xs, c: [mpmath.sech(xs[0]) ** 2],
    "sigmoid": lambda xs, c: [mpmath.exp(-xs[0]) / (1 + mpmath.exp(-xs[0])) ** 2],
    "softplus": lambda xs, c: [1 / (1 + mpmath.exp(-xs[0]))],
    "relu": lambda xs, c: [1 if xs[0] > 0 else 0],
    "leaky_relu": lambda xs, c: [1 if xs[0] > 0 else c[0]],
    "sum": lambda xs, c: [1] * len(xs),
    "dot": _dot_partials,
}

NAMES = sorted(RULES)


def _mp_value(name: str, xs: Sequence[Any], consts: tuple[float, ...]) -> Any:
    """The op's value in mpmath (an implementation independent of the engine's rules)."""
    function = OPS[name].on_mpmath
    assert function is not None
    return function(*xs, *consts)


def mp_partials(name: str, inputs: Sequence[float], consts: tuple[float, ...]) -> list[Any]:
    """Each partial derivative by mpmath's numerical differentiation in high precision."""
    with mp.workdps(DPS):
        point = [mpmath.mpf(x) for x in inputs]
        slopes = []
        for i in range(len(point)):

            def along(t: Any, i: int = i) -> Any:
                return _mp_value(name, [*point[:i], t, *point[i + 1 :]], consts)

            slopes.append(mpmath.diff(along, point[i]))
        return slopes


def closed_partials(name: str, inputs: Sequence[float], consts: tuple[float, ...]) -> list[Any]:
    """Each partial derivative from its closed form, in high precision."""
    with mp.workdps(DPS):
        return list(CLOSED_FORMS[name]([mpmath.mpf(x) for x in inputs], consts))


def assert_close(
    what: str,
    name: str,
    inputs: Sequence[float],
    consts: tuple[float, ...],
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


def test_every_rule_has_a_domain_and_a_closed_form() -> None:
    """The domain table and the closed forms name exactly the ops of RULES."""
    assert set(OPS) == set(RULES)
    assert set(CLOSED_FORMS) == set(RULES)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=150)
@given(data=st.data())
def test_rule_matches_mpmath_and_closed_form(name: str, data: st.DataObject) -> None:
    """A rule's value and local partials equal mpmath's high-precision ones and closed forms."""
    inputs, consts = data.draw(arguments(name), label="inputs, consts")
    out, partials = RULES[name](FLOATS, *inputs, *consts)
    with mp.workdps(DPS):
        expected = _mp_value(name, [mpmath.mpf(x) for x in inputs], consts)
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
    # x ** c is one op per exponent, named like "**2"; every other op keeps its rule's name.
    assert out.op == (f"**{consts[0]:g}" if name == "**" else name)
    out.backward()
    assert all(type(leaf.grad) is float for leaf in leaves)
    grads = [float(leaf.grad) for leaf in leaves]
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
EDGES: list[tuple[str, tuple[float, ...], tuple[float, ...]]] = [
    ("exp", (50.0,), ()),
    ("exp", (-700.0,), ()),
    ("log", (1e-300,), ()),
    ("log", (1e300,), ()),
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
    ("/", (1.0, 1e-150), ()),
    ("pow", (1e-3, 3.5), ()),
    ("pow", (7.0, -0.5), ()),
    ("**", (-2.0,), (3.0,)),
    ("**", (-0.5,), (-3.0,)),
    ("**", (0.0,), (2.0,)),
    ("relu", (1e-300,), ()),
    ("relu", (-1e-300,), ()),
    ("abs", (-1e-300,), ()),
    ("leaky_relu", (-1e-300,), (0.3,)),
    ("dot", (1e150, -1e150, 1e-150, 1e-150), ()),
]


@pytest.mark.parametrize(("name", "inputs", "consts"), EDGES)
def test_rule_at_the_edges_of_its_domain(
    name: str, inputs: tuple[float, ...], consts: tuple[float, ...]
) -> None:
    """Near poles, kinks, overflow and underflow each rule still gives the closed form."""
    _, partials = RULES[name](FLOATS, *inputs, *consts)
    assert_close(
        "closed form", name, inputs, consts, partials, closed_partials(name, inputs, consts)
    )


@pytest.mark.parametrize(
    ("name", "consts", "subgradient"),
    [("relu", (), 0.0), ("abs", (), 0.0), ("leaky_relu", (0.2,), 0.2)],
)
def test_documented_subgradient_at_the_kink(
    name: str, consts: tuple[float, ...], subgradient: float
) -> None:
    """At x = 0 relu and abs take slope 0, leaky_relu its own slope, through Values too."""
    _, partials = RULES[name](FLOATS, 0.0, *consts)
    assert partials == (subgradient,)
    leaf = Value(0.0)
    OPS[name].on_values(leaf, *consts).backward()
    assert leaf.grad == subgradient
