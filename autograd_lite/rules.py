"""Every derivative formula of autograd_lite, in one table.

A rule is a plain function ``rule(m, *inputs, *constants) -> (out, partials)``: the value of the
operation and its local partial derivative with respect to each input, in input order. ``m`` is
the arithmetic to use: :data:`FLOATS` for the ordinary forward pass on Python floats, or the
engine's ``VALUES`` to rebuild the partials as graphs (second and higher derivatives). Writing
each rule once, over ``m``, means the two can never drift apart. This module knows nothing
about graphs; the engine knows nothing about calculus.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeAlias

# A number the rules compute with: a float in the forward pass, a Value when a rule rebuilds its
# partials as a graph. Each rule runs on both, so it is typed loosely on purpose.
Num: TypeAlias = Any
RuleResult: TypeAlias = tuple[Num, tuple[Num, ...]]
Rule: TypeAlias = Callable[..., RuleResult]


class Math(Protocol):
    """The functions a rule may call besides ``+ - * /``: one set for floats, one for Values."""

    def exp(self, x: Num) -> Num: ...
    def log(self, x: Num) -> Num: ...
    def log1p(self, x: Num) -> Num: ...
    def sqrt(self, x: Num) -> Num: ...
    def pow(self, x: Num, y: Num) -> Num: ...
    def sin(self, x: Num) -> Num: ...
    def cos(self, x: Num) -> Num: ...
    def tanh(self, x: Num) -> Num: ...
    def sigmoid(self, x: Num) -> Num: ...
    def softplus(self, x: Num) -> Num: ...
    def sum(self, xs: Sequence[Num]) -> Num: ...
    def dot(self, ws: Sequence[Num], xs: Sequence[Num]) -> Num: ...


class FloatMath:
    """Checked float functions: a bad input raises an error that names the operation and value."""

    @staticmethod
    def exp(x: float) -> float:
        """e ** x; raises OverflowError past about 709.78."""
        try:
            return math.exp(x)
        except OverflowError:
            msg = f"exp() overflows for input {x!r} (the largest finite input is about 709.78)"
            raise OverflowError(msg) from None

    @staticmethod
    def log(x: float) -> float:
        """Natural logarithm of a positive x."""
        if x <= 0.0:
            msg = f"log() needs a positive input, got {x!r}"
            raise ValueError(msg)
        return math.log(x)

    @staticmethod
    def log1p(x: float) -> float:
        """log(1 + x), accurate near 0, for x > -1."""
        if x <= -1.0:
            msg = f"log1p() needs an input greater than -1, got {x!r}"
            raise ValueError(msg)
        return math.log1p(x)

    @staticmethod
    def sqrt(x: float) -> float:
        """Square root of a non-negative x."""
        if x < 0.0:
            msg = f"sqrt() needs a non-negative input, got {x!r}"
            raise ValueError(msg)
        return math.sqrt(x)

    @staticmethod
    def pow(x: float, y: float) -> float:
        """x ** y, never complex: a negative base needs an integer exponent."""
        if x == 0.0 and y < 0.0:
            msg = f"pow() cannot raise 0.0 to the negative power {y!r}"
            raise ZeroDivisionError(msg)
        if x < 0.0 and math.isfinite(y) and not y.is_integer():
            msg = (
                f"pow() of the negative base {x!r} needs an integer exponent, got {y!r} "
                "(the result would be a complex number)"
            )
            raise ValueError(msg)
        try:
            return float(x**y)
        except OverflowError:
            msg = f"pow() overflows: {x!r} ** {y!r}"
            raise OverflowError(msg) from None

    @staticmethod
    def sin(x: float) -> float:
        """Sine of x (radians); NaN for an infinite x, as IEEE 754 says (math.sin raises)."""
        return math.nan if math.isinf(x) else math.sin(x)

    @staticmethod
    def cos(x: float) -> float:
        """Cosine of x (radians); NaN for an infinite x, as IEEE 754 says (math.cos raises)."""
        return math.nan if math.isinf(x) else math.cos(x)

    # Defined and finite everywhere: math's own C function serves as it is.
    tanh = staticmethod(math.tanh)

    @staticmethod
    def sigmoid(x: float) -> float:
        """1 / (1 + e ** -x), computed without overflow for any finite x."""
        # exp() of a negative number only: it can underflow to 0 but never overflow.
        if x >= 0.0:
            return 1.0 / (1.0 + math.exp(-x))
        z = math.exp(x)
        return z / (1.0 + z)

    @staticmethod
    def softplus(x: float) -> float:
        """log(1 + e ** x), computed without overflow for any finite x."""
        # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): the exponent is never positive.
        return (x if x > 0.0 else 0.0) + math.log1p(math.exp(-abs(x)))

    @staticmethod
    def sum(xs: Sequence[float]) -> float:
        """The correctly rounded sum: the same bits in any order and on any Python version."""
        try:
            return math.fsum(xs)
        except (OverflowError, ValueError):
            return _ieee_sum(xs)

    @staticmethod
    def dot(ws: Sequence[float], xs: Sequence[float]) -> float:
        """The correctly rounded sum of the products wi * xi."""
        try:
            return math.fsum(map(operator.mul, ws, xs))
        except (OverflowError, ValueError):
            return _ieee_sum(map(operator.mul, ws, xs))


def _ieee_sum(xs: Iterable[float]) -> float:
    """Plain left-to-right addition, for what math.fsum refuses.

    fsum raises on 1e308 + 1e308 and on inf - inf, where IEEE arithmetic gives inf and nan, as
    `+` does: a model that diverges should see inf or nan, not crash inside a sum.
    """
    total = 0.0
    for x in xs:
        total += x
    return total


FLOATS = FloatMath()


def _is_zero(x: Num) -> bool:
    return float(x) == 0.0


# ---------------------------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------------------------


def add(m: Math, x: Num, y: Num) -> RuleResult:
    """x + y."""
    # d/dx = 1, d/dy = 1
    return x + y, (1.0, 1.0)


def sub(m: Math, x: Num, y: Num) -> RuleResult:
    """x - y."""
    # d/dx = 1, d/dy = -1
    return x - y, (1.0, -1.0)


def neg(m: Math, x: Num) -> RuleResult:
    """-x."""
    # d/dx = -1
    return -x, (-1.0,)


def mul(m: Math, x: Num, y: Num) -> RuleResult:
    """x * y."""
    # d/dx = y, d/dy = x
    return x * y, (y, x)


def div(m: Math, x: Num, y: Num) -> RuleResult:
    """x / y for a non-zero y."""
    if _is_zero(y):
        msg = f"division by zero: {float(x)!r} / {float(y)!r}"
        raise ZeroDivisionError(msg)
    out = x / y
    # d/dx = 1/y, d/dy = -x/y**2 = -out/y
    return out, (1.0 / y, -out / y)


def _d_power(m: Math, x: Num, c: Num) -> Num:
    """d/dx x**c, with the limits at x = 0 written out (x**(c-1) is not defined there)."""
    if _is_zero(x) and float(c) < 1.0:
        # c = 0: x**0 = 1 is flat; 0 < c < 1: the slope at 0 is infinite (c < 0 failed forward).
        return 0.0 if _is_zero(c) else math.inf
    if isinstance(c, float) and c == 0.0:
        return 0.0  # a constant exponent 0: x**0 = 1 is flat everywhere
    # An exponent that is a Value stays in the graph even where it is 0: d/dy (y x**(y-1)) = 1/x.
    return c * m.pow(x, c - 1.0)


def power_const(m: Math, x: Num, c: float) -> RuleResult:
    """x ** c for a constant exponent c."""
    out = m.pow(x, c)
    # d/dx = c * x**(c-1)
    return out, (_d_power(m, x, c),)


def power(m: Math, x: Num, y: Num) -> RuleResult:
    """x ** y where both base and exponent are differentiated."""
    out = m.pow(x, y)
    base = float(x)
    if base > 0.0:
        d_y = out * m.log(x)  # d/dy x**y = x**y * log(x)
    elif base == 0.0:
        d_y = 0.0  # x**y is 0 for every y > 0 near here
    else:
        d_y = math.nan  # a negative base has no real x**y for non-integer y nearby
    # d/dx = y * x**(y-1)
    return out, (_d_power(m, x, y), d_y)


def absolute(m: Math, x: Num) -> RuleResult:
    """|x|, with the subgradient 0 at x = 0."""
    value = float(x)
    if value < 0.0:
        return -x, (-1.0,)
    if value == 0.0:
        # A kink: 0 is a valid subgradient, and the choice PyTorch makes too.
        return 0.0, (0.0,)
    return x, (1.0,)  # positive, or NaN passing through


# ---------------------------------------------------------------------------------------------
# Exponentials, logarithms, roots
# ---------------------------------------------------------------------------------------------


def exp(m: Math, x: Num) -> RuleResult:
    """e ** x."""
    out = m.exp(x)
    # d/dx exp = exp: reuse the output
    return out, (out,)


def log(m: Math, x: Num) -> RuleResult:
    """Natural logarithm."""
    # d/dx log = 1/x
    return m.log(x), (1.0 / x,)


def log1p(m: Math, x: Num) -> RuleResult:
    """log(1 + x)."""
    # d/dx log1p = 1/(1 + x)
    return m.log1p(x), (1.0 / (1.0 + x),)


def sqrt(m: Math, x: Num) -> RuleResult:
    """Square root."""
    out = m.sqrt(x)
    if _is_zero(out):
        return out, (math.inf,)  # the slope of sqrt at 0 is infinite
    # d/dx sqrt = 1/(2 sqrt(x)): reuse the output
    return out, (0.5 / out,)


# ---------------------------------------------------------------------------------------------
# Trigonometry
# ---------------------------------------------------------------------------------------------


def sin(m: Math, x: Num) -> RuleResult:
    """Sine."""
    # d/dx sin = cos
    return m.sin(x), (m.cos(x),)


def cos(m: Math, x: Num) -> RuleResult:
    """Cosine."""
    # d/dx cos = -sin
    return m.cos(x), (-m.sin(x),)


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------


def tanh(m: Math, x: Num) -> RuleResult:
    """Hyperbolic tangent."""
    out = m.tanh(x)
    # d/dx tanh = 1 - tanh**2: reuse the output
    return out, (1.0 - out * out,)


def sigmoid(m: Math, x: Num) -> RuleResult:
    """Logistic sigmoid 1 / (1 + e ** -x)."""
    out = m.sigmoid(x)
    # d/dx sigmoid = sigmoid * (1 - sigmoid): reuse the output
    return out, (out * (1.0 - out),)


def softplus(m: Math, x: Num) -> RuleResult:
    """log(1 + e ** x), a smooth ReLU."""
    # d/dx softplus = sigmoid
    return m.softplus(x), (m.sigmoid(x),)


def relu(m: Math, x: Num) -> RuleResult:
    """max(x, 0), with the subgradient 0 at x = 0."""
    # `not x <= 0` rather than `x > 0`, so that NaN passes through as IEEE says.
    if not float(x) <= 0.0:
        return x, (1.0,)
    return 0.0, (0.0,)


def leaky_relu(m: Math, x: Num, slope: float) -> RuleResult:
    """x for x > 0, slope * x otherwise (subgradient slope at 0)."""
    if not float(x) <= 0.0:
        return x, (1.0,)
    return x * slope, (slope,)


# ---------------------------------------------------------------------------------------------
# N-ary nodes: one node, one partial per input
# ---------------------------------------------------------------------------------------------


def add_n(m: Math, *xs: Num) -> RuleResult:
    """x1 + x2 + ... + xn."""
    # d/dxi = 1 for every input
    return m.sum(xs), (1.0,) * len(xs)


def dot(m: Math, *operands: Num) -> RuleResult:
    """w1*x1 + ... + wn*xn, with operands laid out as (w1, ..., wn, x1, ..., xn)."""
    n = len(operands) // 2
    ws, xs = operands[:n], operands[n:]
    # d/dwi = xi, d/dxi = wi
    return m.dot(ws, xs), (*xs, *ws)


# Every built-in rule by the name of the operation, for tests, docs and drawings.
RULES: dict[str, Rule] = {
    "+": add,
    "-": sub,
    "neg": neg,
    "*": mul,
    "/": div,
    "**": power_const,
    "pow": power,
    "abs": absolute,
    "exp": exp,
    "log": log,
    "log1p": log1p,
    "sqrt": sqrt,
    "sin": sin,
    "cos": cos,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "softplus": softplus,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "sum": add_n,
    "dot": dot,
}

__all__ = [
    "FLOATS",
    "RULES",
    "FloatMath",
    "Math",
    "Num",
    "Rule",
    "RuleResult",
]
