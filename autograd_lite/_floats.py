"""Checked float functions: the arithmetic every rule runs on in the forward pass.

A rule calls ``m.exp(x)``; with floats, ``m`` is `FLOATS`, and these functions are what it
calls. Each one either gives the IEEE 754 answer or raises an error that names the operation and
the value (``log() needs a positive input, got -2.0``), where Python's `math` would raise a bare
``math domain error``. Functions `math` already gets right everywhere are taken from `math` by
name (`rules.operation` looks them up); only the ones written here need care. No graphs here.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence

__all__ = [
    "acos",
    "asin",
    "ceil",
    "cos",
    "cosh",
    "div",
    "dot",
    "exp",
    "expm1",
    "floor",
    "ieee_pow",
    "log",
    "log1p",
    "log2",
    "log10",
    "log_softmax",
    "logsumexp",
    "pow",
    "round",
    "sigmoid",
    "sign",
    "sin",
    "sinh",
    "softplus",
    "sqrt",
    "sum",
    "tan",
]

_builtin_round = round  # `round` below is the operation's float function


def _overflow(name: str, x: float, limit: str) -> OverflowError:
    msg = f"{name}() overflows for input {x!r} (the largest finite input is about {limit})"
    return OverflowError(msg)


# ---------------------------------------------------------------------------------------------
# Exponentials and logarithms
# ---------------------------------------------------------------------------------------------


def exp(x: float) -> float:
    """e ** x; raises OverflowError past about 709.78."""
    try:
        return math.exp(x)
    except OverflowError:
        raise _overflow("exp", x, "709.78") from None


def expm1(x: float) -> float:
    """e ** x - 1, accurate near 0; raises OverflowError past about 709.78."""
    try:
        return math.expm1(x)
    except OverflowError:
        raise _overflow("expm1", x, "709.78") from None


def _positive(name: str, x: float) -> None:
    if not x > 0.0 and not math.isnan(x):
        msg = f"{name}() needs a positive input, got {x!r}"
        raise ValueError(msg)


def log(x: float) -> float:
    """Natural logarithm of a positive x."""
    _positive("log", x)
    return math.log(x)


def log2(x: float) -> float:
    """Base-2 logarithm of a positive x."""
    _positive("log2", x)
    return math.log2(x)


def log10(x: float) -> float:
    """Base-10 logarithm of a positive x."""
    _positive("log10", x)
    return math.log10(x)


def log1p(x: float) -> float:
    """log(1 + x), accurate near 0, for x > -1."""
    if x <= -1.0:
        msg = f"log1p() needs an input greater than -1, got {x!r}"
        raise ValueError(msg)
    return math.log1p(x)


def sqrt(x: float) -> float:
    """Square root of a non-negative x."""
    if x < 0.0:
        msg = f"sqrt() needs a non-negative input, got {x!r}"
        raise ValueError(msg)
    return math.sqrt(x)


def div(x: float, y: float) -> float:
    """x / y for a non-zero y."""
    if y == 0.0:
        msg = f"division by zero: {x!r} / {y!r}"
        raise ZeroDivisionError(msg)
    return x / y


def pow(x: float, y: float) -> float:
    """x ** y, never complex: a negative finite base needs an integer exponent."""
    try:
        out: float | complex = x**y
    except ZeroDivisionError:
        msg = f"pow() cannot raise 0.0 to the negative power {y!r}"
        raise ZeroDivisionError(msg) from None
    except OverflowError:
        msg = f"pow() overflows: {x!r} ** {y!r}"
        raise OverflowError(msg) from None
    if isinstance(out, complex):  # Python's answer for a negative base and a fractional exponent
        msg = (
            f"pow() of the negative base {x!r} needs an integer exponent, got {y!r} "
            "(the result would be a complex number)"
        )
        raise ValueError(msg)
    return out


def ieee_pow(x: float, y: float) -> float:
    """x ** y as IEEE 754 says: ±inf where it overflows (for slopes whose value was finite)."""
    try:
        out: float | complex = x**y
    except ZeroDivisionError:  # 0.0 ** negative
        return math.inf
    except OverflowError:
        odd = y.is_integer() and math.fmod(y, 2.0) != 0.0
        return -math.inf if x < 0.0 and odd else math.inf
    if isinstance(out, complex):
        return math.nan  # no real power: its operation refused this base
    return out


# ---------------------------------------------------------------------------------------------
# Trigonometry and hyperbolic functions
# ---------------------------------------------------------------------------------------------


def sin(x: float) -> float:
    """Sine of x (radians); NaN for an infinite x, as IEEE 754 says (math.sin raises)."""
    return math.nan if math.isinf(x) else math.sin(x)


def cos(x: float) -> float:
    """Cosine of x (radians); NaN for an infinite x, as IEEE 754 says (math.cos raises)."""
    return math.nan if math.isinf(x) else math.cos(x)


def tan(x: float) -> float:
    """Tangent of x (radians); NaN for an infinite x, as IEEE 754 says (math.tan raises)."""
    return math.nan if math.isinf(x) else math.tan(x)


def _unit(name: str, x: float) -> None:
    if not -1.0 <= x <= 1.0 and not math.isnan(x):
        msg = f"{name}() needs an input in [-1, 1], got {x!r}"
        raise ValueError(msg)


def asin(x: float) -> float:
    """Arcsine of x in [-1, 1], in [-pi/2, pi/2]."""
    _unit("asin", x)
    return math.asin(x)


def acos(x: float) -> float:
    """Arccosine of x in [-1, 1], in [0, pi]."""
    _unit("acos", x)
    return math.acos(x)


def sinh(x: float) -> float:
    """Hyperbolic sine; raises OverflowError past about ±710.48."""
    try:
        return math.sinh(x)
    except OverflowError:
        raise _overflow("sinh", x, "±710.48") from None


def cosh(x: float) -> float:
    """Hyperbolic cosine; raises OverflowError past about ±710.48."""
    try:
        return math.cosh(x)
    except OverflowError:
        raise _overflow("cosh", x, "±710.48") from None


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------


def sigmoid(x: float) -> float:
    """1 / (1 + e ** -x), computed without overflow for any x."""
    # exp() of a negative number only: it can underflow to 0 but never overflow.
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def softplus(x: float) -> float:
    """log(1 + e ** x), computed without overflow for any x."""
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): the exponent is never positive.
    if math.isnan(x):
        return x
    return (x if x > 0.0 else 0.0) + math.log1p(math.exp(-math.fabs(x)))


# ---------------------------------------------------------------------------------------------
# Steps: sign and rounding (their derivative is 0 wherever it exists)
# ---------------------------------------------------------------------------------------------


def sign(x: float) -> float:
    """-1.0, 0.0 or 1.0 by the sign of x (0.0 keeps its sign: sign(-0.0) is -0.0); NaN stays."""
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return x  # a zero of either sign, or NaN


def floor(x: float) -> float:
    """The largest integer <= x, as a float; infinities and NaN pass through."""
    if not math.isfinite(x):
        return x
    # copysign: IEEE floor keeps the sign of a zero result (floor(-0.0) is -0.0).
    return math.copysign(float(math.floor(x)), x) if -1.0 < x < 1.0 else float(math.floor(x))


def ceil(x: float) -> float:
    """The smallest integer >= x, as a float; infinities and NaN pass through."""
    if not math.isfinite(x):
        return x
    # copysign: IEEE ceil keeps the sign of a zero result (ceil(-0.5) is -0.0).
    return math.copysign(float(math.ceil(x)), x) if -1.0 < x < 1.0 else float(math.ceil(x))


def round(x: float, ndigits: int) -> float:
    """x rounded to ndigits decimals, halves to even, as Python's round(); inf and NaN pass."""
    return _builtin_round(x, ndigits) if math.isfinite(x) else x


# ---------------------------------------------------------------------------------------------
# N-ary: correctly rounded sums, log-sum-exp
# ---------------------------------------------------------------------------------------------


def sum(xs: Sequence[float]) -> float:
    """The correctly rounded sum: the same bits in any order and on any Python version."""
    try:
        return math.fsum(xs)
    except (OverflowError, ValueError):
        return _ieee_sum(xs)


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


def _largest(xs: Sequence[float], where: str) -> int:
    """The index of the largest x (the first of equals); finite inputs only."""
    for x in xs:
        if not math.isfinite(x):
            msg = f"{where} needs finite inputs, got {x!r}"
            raise ValueError(msg)
    return max(range(len(xs)), key=xs.__getitem__)


def logsumexp(xs: Sequence[float]) -> float:
    """log(sum(e ** xi)), without overflow: m + log1p(sum over i != k of e ** (xi - m))."""
    k = _largest(xs, "logsumexp()")
    m = xs[k]
    # The largest term is exactly 1 after the shift: log1p of the others keeps their digits.
    rest = math.fsum(math.exp(x - m) for i, x in enumerate(xs) if i != k)
    return m + math.log1p(rest)


def log_softmax(xs: Sequence[float], index: int) -> float:
    """log(e ** x_index / sum(e ** xi)) = x_index - logsumexp(xs), without cancelling."""
    k = _largest(xs, "log_softmax()")
    m = xs[k]
    rest = math.fsum(math.exp(x - m) for i, x in enumerate(xs) if i != k)
    # -(log1p(rest) + (m - x_index)): a tiny loss (rest ~ 1e-18, index k) keeps its digits.
    return (xs[index] - m) - math.log1p(rest)
