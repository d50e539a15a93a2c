"""Every derivative formula of autograd_lite, in one table: the operations and their rules.

A rule is a plain function ``rule(m, *inputs, *constants) -> (out, partials)``: the value of the
operation and its local partial derivative with respect to each input, in input order. ``m`` is
the arithmetic to use: `FLOATS` for the ordinary forward pass on Python floats, the engine's
``VALUES`` to rebuild the partials as graphs (second and higher derivatives), or the compiler's
arithmetic that writes code. Writing each rule once, over ``m``, means they can never drift
apart. ``@operation`` declares a rule in `OPERATIONS`, the one registry the engine, the command
line, the drawings and the test strategies are built from. This module knows nothing of graphs.

Adding an operation (say ``atan``):

1. if `math` has no function that is safe everywhere, write a checked one in
   ``autograd_lite/_floats.py`` (it raises an error that names the operation and the value);
2. write the rule here, under ``@operation(...)``, with a comment of the derivative it implements;
3. give its domain and its oracles in ``autograd_lite/testing/_domains.py``, and, for a
   ``Value`` method, its one-line signature in ``Value``'s declarations (``engine.py``) for type
   checkers. The tests then check it against mpmath and closed forms, to third order, through
   ``create_graph``, in random expressions and against PyTorch; they fail and say what is
   missing if any of the three is.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeAlias

from autograd_lite import _floats

__all__ = [
    "FLOATS",
    "OPERATIONS",
    "VARIADIC",
    "Math",
    "Num",
    "Operation",
    "Rule",
    "RuleResult",
    "operation",
]

# A number the rules compute with: a float in the forward pass, a Value when a rule rebuilds its
# partials as a graph, a piece of code in the compiler. Each rule runs on all of them, so it is
# typed loosely on purpose; so is ``m``, whose functions are looked up by the operation's name.
Num: TypeAlias = Any
Math: TypeAlias = Any
RuleResult: TypeAlias = tuple[Num, tuple[Num, ...]]
Rule: TypeAlias = Callable[..., RuleResult]

# The arity of an operation that takes any number of inputs (sum, dot, logsumexp).
VARIADIC: Final = -1

INF: Final = math.inf
NAN: Final = math.nan
LN2: Final = math.log(2.0)
LN10: Final = math.log(10.0)


class Operation:
    """One primitive operation, declared once: its name, rule, inputs, constants and looks.

    ``name`` is the rule's name, the registry key and every node's ``op``. ``arity`` counts the
    inputs that are Values (`VARIADIC` for any number, passed to the rule as one sequence);
    ``params`` names the constant arguments that follow them (``pow_const``'s exponent,
    ``leaky_relu``'s slope), with ``defaults`` for the last ones. ``symbol`` is how drawings
    write the operation (``"+"``); ``operator`` and ``reflected`` are the Python operators of
    `Value` that apply it (``"__add__"``, ``"__radd__"``); ``method`` makes it a `Value`
    method of its name and ``function`` a function of the package (``autograd_lite.maximum``).
    """

    __slots__ = (
        "arity",
        "commutative",
        "defaults",
        "doc",
        "function",
        "method",
        "name",
        "operator",
        "params",
        "reflected",
        "rule",
        "symbol",
    )

    def __init__(
        self,
        rule: Rule,
        *,
        params: tuple[str, ...] = (),
        defaults: tuple[float, ...] = (),
        symbol: str = "",
        operator: str = "",
        reflected: str = "",
        method: bool = True,
        function: bool = False,
        commutative: bool = False,
    ) -> None:
        self.name: str = rule.__name__
        self.rule = rule
        self.params = params
        self.defaults = defaults
        self.symbol = symbol or self.name
        self.operator = operator
        self.reflected = reflected
        self.method = method
        self.function = function
        self.commutative = commutative
        self.doc = inspect.getdoc(rule) or self.name
        self.arity = _arity(rule, len(params))

    def __repr__(self) -> str:
        return f"Operation({self.name!r})"

    def label(self, args: Sequence[float] = ()) -> str:
        """How a drawing names one application: ``+``, ``**2``, ``leaky_relu(0.2)``."""
        args = list(args)
        # Trailing arguments that equal their defaults go unsaid: leaky_relu, not leaky_relu(0.01).
        defaults = list(self.defaults)
        while args and defaults and repr(args[-1]) == repr(defaults[-1]):
            args.pop()
            defaults.pop()
        if not args:
            return self.symbol
        shown = ", ".join(f"{a:g}" if isinstance(a, float) else repr(a) for a in args)
        if self.symbol != self.name:
            return f"{self.symbol}{shown}"  # x ** 2 reads "**2", as in micrograd
        return f"{self.name}({shown})"


def _arity(rule: Rule, n_params: int) -> int:
    """The number of Value inputs of a rule ``rule(m, *inputs, *params)``."""
    try:
        parameters = list(inspect.signature(rule).parameters.values())[1:]  # after m
    except (TypeError, ValueError):  # a callable without a signature: one input
        return 1
    positional = [p for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
    # A rule over a sequence of inputs says so by its first parameter's name: xs or operands.
    if positional and positional[0].name in ("xs", "operands"):
        return VARIADIC
    return len(positional) - n_params


# The registry: every operation by name, in the order declared below.
OPERATIONS: dict[str, Operation] = {}


def operation(
    *,
    params: tuple[str, ...] = (),
    defaults: tuple[float, ...] = (),
    symbol: str = "",
    operator: str = "",
    reflected: str = "",
    method: bool = True,
    function: bool = False,
    commutative: bool = False,
) -> Callable[[Rule], Rule]:
    """Declare the decorated rule as an operation in `OPERATIONS` (see `Operation`)."""

    def register(rule: Rule) -> Rule:
        entry = Operation(
            rule,
            params=params,
            defaults=defaults,
            symbol=symbol,
            operator=operator,
            reflected=reflected,
            method=method,
            function=function,
            commutative=commutative,
        )
        if entry.name in OPERATIONS:
            msg = f"operation {entry.name!r} is declared twice"
            raise ValueError(msg)
        OPERATIONS[entry.name] = entry
        return rule

    return register


# ---------------------------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------------------------


@operation(symbol="+", operator="__add__", reflected="__radd__", method=False, commutative=True)
def add(m: Math, x: Num, y: Num) -> RuleResult:
    """x + y."""
    # d/dx = 1, d/dy = 1
    return x + y, (1.0, 1.0)


@operation(symbol="-", operator="__sub__", reflected="__rsub__", method=False)
def sub(m: Math, x: Num, y: Num) -> RuleResult:
    """x - y."""
    # d/dx = 1, d/dy = -1
    return x - y, (1.0, -1.0)


@operation(symbol="-", operator="__neg__", method=False)
def neg(m: Math, x: Num) -> RuleResult:
    """-x."""
    # d/dx = -1
    return -x, (-1.0,)


@operation(symbol="*", operator="__mul__", reflected="__rmul__", method=False, commutative=True)
def mul(m: Math, x: Num, y: Num) -> RuleResult:
    """x * y."""
    # d/dx = y, d/dy = x
    return x * y, (y, x)


@operation(symbol="/", operator="__truediv__", reflected="__rtruediv__", method=False)
def div(m: Math, x: Num, y: Num) -> RuleResult:
    """x / y for a non-zero y."""
    out = m.div(x, y)  # not x / y: a zero y gets a message that names the operation
    # d/dx = 1/y, d/dy = -x/y**2 = -out/y
    return out, (1.0 / y, -out / y)


def _power_slope(m: Math, x: Num, c: Num) -> Num:
    """d/dx x**c = c * x**(c-1), with its limits at x = 0 written out."""
    if x == 0.0 and c < 1.0:
        # c = 0: x**0 = 1 is flat; 0 < c < 1: the slope at 0 is infinite (c < 0 failed forward).
        return 0.0 if c == 0.0 else INF
    if isinstance(c, float) and c == 0.0:
        return 0.0  # a constant exponent 0: x**0 = 1 is flat everywhere
    # ieee_pow, not pow: x**(c-1) may overflow where x**c does not (1e-100 ** -3 is 1e300; its
    # slope, -3e400, is -inf as IEEE 754 says). An exponent that is a Value stays in the graph
    # even where it is 0: d/dy (y * x**(y-1)) = 1/x at y = 0.
    return c * m.ieee_pow(x, c - 1.0)


@operation(params=("exponent",), symbol="**", operator="__pow__", method=False)
def pow_const(m: Math, x: Num, exponent: float) -> RuleResult:
    """x ** c for a constant exponent c."""
    out = m.pow(x, exponent)
    # d/dx = c * x**(c-1)
    return out, (_power_slope(m, x, exponent),)


@operation(symbol="**", reflected="__rpow__", method=False)
def pow(m: Math, x: Num, y: Num) -> RuleResult:
    """x ** y where both base and exponent are differentiated."""
    out = m.pow(x, y)
    if x > 0.0:
        d_y = out * m.log(x)  # d/dy x**y = x**y * log(x)
    elif x == 0.0:
        d_y = 0.0  # x**y is 0 for every y > 0 near here
    else:
        d_y = NAN  # a negative base has no real x**y for non-integer y nearby
    # d/dx = y * x**(y-1)
    return out, (_power_slope(m, x, y), d_y)


@operation(operator="__abs__")
def abs(m: Math, x: Num) -> RuleResult:
    """|x|, with the subgradient 0 at x = 0."""
    if x < 0.0:
        return -x, (-1.0,)  # d/dx = -1
    if x == 0.0:
        return 0.0, (0.0,)  # a kink: 0 is a valid subgradient, and PyTorch's choice too
    return x, (1.0,)  # d/dx = 1, for a positive x or a NaN passing through


# ---------------------------------------------------------------------------------------------
# Exponentials, logarithms, roots
# ---------------------------------------------------------------------------------------------


@operation()
def exp(m: Math, x: Num) -> RuleResult:
    """e ** x."""
    out = m.exp(x)
    # d/dx exp = exp: reuse the output
    return out, (out,)


@operation()
def expm1(m: Math, x: Num) -> RuleResult:
    """e ** x - 1, accurate near 0."""
    out = m.expm1(x)
    # d/dx expm1 = e**x = expm1 + 1: reuse the output
    return out, (out + 1.0,)


@operation()
def log(m: Math, x: Num) -> RuleResult:
    """Natural logarithm."""
    # d/dx log = 1/x
    return m.log(x), (1.0 / x,)


@operation()
def log2(m: Math, x: Num) -> RuleResult:
    """Base-2 logarithm."""
    # d/dx log2 = 1/(x ln 2)
    return m.log2(x), (1.0 / (x * LN2),)


@operation()
def log10(m: Math, x: Num) -> RuleResult:
    """Base-10 logarithm."""
    # d/dx log10 = 1/(x ln 10)
    return m.log10(x), (1.0 / (x * LN10),)


@operation()
def log1p(m: Math, x: Num) -> RuleResult:
    """log(1 + x), accurate near 0."""
    # d/dx log1p = 1/(1 + x)
    return m.log1p(x), (1.0 / (1.0 + x),)


@operation()
def sqrt(m: Math, x: Num) -> RuleResult:
    """Square root."""
    out = m.sqrt(x)
    if out == 0.0:
        return out, (INF,)  # the slope of sqrt at 0 is infinite
    # d/dx sqrt = 1/(2 sqrt(x)): reuse the output
    return out, (0.5 / out,)


# ---------------------------------------------------------------------------------------------
# Trigonometry and hyperbolic functions
# ---------------------------------------------------------------------------------------------


@operation()
def sin(m: Math, x: Num) -> RuleResult:
    """Sine (radians)."""
    # d/dx sin = cos
    return m.sin(x), (m.cos(x),)


@operation()
def cos(m: Math, x: Num) -> RuleResult:
    """Cosine (radians)."""
    # d/dx cos = -sin
    return m.cos(x), (-m.sin(x),)


@operation()
def tan(m: Math, x: Num) -> RuleResult:
    """Tangent (radians)."""
    out = m.tan(x)
    # d/dx tan = 1 + tan**2: reuse the output
    return out, (1.0 + out * out,)


@operation()
def asin(m: Math, x: Num) -> RuleResult:
    """Arcsine, for inputs in [-1, 1]."""
    out = m.asin(x)
    # d/dx asin = 1/sqrt(1 - x**2), written (1 - x)(1 + x) to keep its digits near ±1
    root = m.sqrt((1.0 - x) * (1.0 + x))
    return out, (INF if root == 0.0 else 1.0 / root,)


@operation()
def acos(m: Math, x: Num) -> RuleResult:
    """Arccosine, for inputs in [-1, 1]."""
    out = m.acos(x)
    # d/dx acos = -1/sqrt(1 - x**2)
    root = m.sqrt((1.0 - x) * (1.0 + x))
    return out, (-INF if root == 0.0 else -1.0 / root,)


@operation()
def atan(m: Math, x: Num) -> RuleResult:
    """Arctangent."""
    # d/dx atan = 1/(1 + x**2)
    return m.atan(x), (1.0 / (1.0 + x * x),)


@operation(function=True)
def atan2(m: Math, y: Num, x: Num) -> RuleResult:
    """The angle of the point (x, y), in (-pi, pi]; note the order: y first."""
    out = m.atan2(y, x)
    r = m.hypot(x, y)  # not x*x + y*y, which underflows to 0 for |x|, |y| < 1e-154
    if r == 0.0:
        return out, (0.0, 0.0)  # at the origin: 0, PyTorch's choice
    # d/dy = x/(x**2 + y**2), d/dx = -y/(x**2 + y**2)
    return out, (x / r / r, -y / r / r)


@operation(function=True, commutative=True)
def hypot(m: Math, x: Num, y: Num) -> RuleResult:
    """sqrt(x**2 + y**2), without overflow or underflow."""
    out = m.hypot(x, y)
    if out == 0.0:
        return out, (0.0, 0.0)  # a cone's tip: 0 is a valid subgradient
    # d/dx = x/hypot, d/dy = y/hypot: reuse the output
    return out, (x / out, y / out)


@operation()
def sinh(m: Math, x: Num) -> RuleResult:
    """Hyperbolic sine."""
    # d/dx sinh = cosh
    return m.sinh(x), (m.cosh(x),)


@operation()
def cosh(m: Math, x: Num) -> RuleResult:
    """Hyperbolic cosine."""
    # d/dx cosh = sinh
    return m.cosh(x), (m.sinh(x),)


@operation()
def tanh(m: Math, x: Num) -> RuleResult:
    """Hyperbolic tangent."""
    out = m.tanh(x)
    # d/dx tanh = 1 - tanh**2: reuse the output
    return out, (1.0 - out * out,)


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------


@operation()
def sigmoid(m: Math, x: Num) -> RuleResult:
    """Logistic sigmoid 1 / (1 + e ** -x), stable for any input."""
    out = m.sigmoid(x)
    # d/dx sigmoid = sigmoid * (1 - sigmoid): reuse the output
    return out, (out * (1.0 - out),)


@operation()
def softplus(m: Math, x: Num) -> RuleResult:
    """log(1 + e ** x), a smooth ReLU, stable for any input."""
    # d/dx softplus = sigmoid
    return m.softplus(x), (m.sigmoid(x),)


@operation()
def relu(m: Math, x: Num) -> RuleResult:
    """max(x, 0), with the subgradient 0 at x = 0."""
    if x <= 0.0:
        return 0.0, (0.0,)
    return x, (1.0,)  # d/dx = 1, for a positive x or a NaN passing through (NaN <= 0 is False)


@operation(params=("slope",), defaults=(0.01,))
def leaky_relu(m: Math, x: Num, slope: float) -> RuleResult:
    """x for x > 0, slope * x otherwise (subgradient slope at 0)."""
    if x <= 0.0:
        return x * slope, (slope,)
    return x, (1.0,)


@operation(function=True, commutative=True)
def maximum(m: Math, x: Num, y: Num) -> RuleResult:
    """The larger of x and y; at a tie each gets half the gradient, as in PyTorch."""
    if x > y:
        return x, (1.0, 0.0)
    if x < y:
        return y, (0.0, 1.0)
    if x == y:
        return x, (0.5, 0.5)
    return x + y, (NAN, NAN)  # a NaN on either side


@operation(function=True, commutative=True)
def minimum(m: Math, x: Num, y: Num) -> RuleResult:
    """The smaller of x and y; at a tie each gets half the gradient, as in PyTorch."""
    if x < y:
        return x, (1.0, 0.0)
    if x > y:
        return y, (0.0, 1.0)
    if x == y:
        return x, (0.5, 0.5)
    return x + y, (NAN, NAN)  # a NaN on either side


@operation(params=("low", "high"))
def clamp(m: Math, x: Num, low: float, high: float) -> RuleResult:
    """x limited to [low, high]; the slope is 1 inside, bounds included (PyTorch's), else 0."""
    if x < low:
        return low, (0.0,)
    if x > high:
        return high, (0.0,)
    return x, (1.0,)


# ---------------------------------------------------------------------------------------------
# Steps: their derivative is 0 wherever it exists (and taken to be 0 at the jumps)
# ---------------------------------------------------------------------------------------------


@operation()
def sign(m: Math, x: Num) -> RuleResult:
    """-1, 0 or 1 by the sign of x; its derivative is 0 (at 0 too, by convention)."""
    return m.sign(x), (0.0,)


@operation(operator="__floor__")
def floor(m: Math, x: Num) -> RuleResult:
    """The largest integer <= x; its derivative is 0 (at the jumps too, by convention)."""
    return m.floor(x), (0.0,)


@operation(operator="__ceil__")
def ceil(m: Math, x: Num) -> RuleResult:
    """The smallest integer >= x; its derivative is 0 (at the jumps too, by convention)."""
    return m.ceil(x), (0.0,)


@operation(params=("ndigits",), defaults=(0,), operator="__round__")
def round(m: Math, x: Num, ndigits: int) -> RuleResult:
    """x rounded to ndigits decimals, halves to even; its derivative is 0 (at the jumps too)."""
    return m.round(x, ndigits), (0.0,)


# ---------------------------------------------------------------------------------------------
# N-ary nodes: one node, one partial per input
# ---------------------------------------------------------------------------------------------


@operation(method=False, function=True, commutative=True)
def sum(m: Math, xs: Sequence[Num]) -> RuleResult:
    """x1 + x2 + ... + xn, correctly rounded."""
    # d/dxi = 1 for every input
    return m.sum(xs), (1.0,) * len(xs)


@operation(method=False, function=True)
def dot(m: Math, operands: Sequence[Num]) -> RuleResult:
    """w1*x1 + ... + wn*xn, with operands laid out as (w1, ..., wn, x1, ..., xn)."""
    n = len(operands) // 2
    ws, xs = operands[:n], operands[n:]
    # d/dwi = xi, d/dxi = wi
    return m.dot(ws, xs), (*xs, *ws)


@operation(method=False, function=True, commutative=True)
def logsumexp(m: Math, xs: Sequence[Num]) -> RuleResult:
    """log(e ** x1 + ... + e ** xn), without overflow for any finite inputs."""
    out = m.logsumexp(xs)
    # d/dxi = e**xi / sum(e**xj) = e**(xi - out): the softmax, never overflowing
    return out, tuple(m.exp(x - out) for x in xs)


@operation(params=("index",), method=False, function=True)
def log_softmax(m: Math, xs: Sequence[Num], index: int) -> RuleResult:
    """log(e ** x_index / sum(e ** xi)): minus the cross-entropy of class ``index``."""
    out = m.log_softmax(xs, index)
    # d/dxi = [i == index] - softmax_i, softmax_i = e**(xi - x_index + out); at the index
    # 1 - e**out is written -expm1(out), which keeps the digits of a tiny loss.
    target = xs[index]
    return out, tuple(
        -m.expm1(out) if i == index else -m.exp(x - target + out) for i, x in enumerate(xs)
    )


# ---------------------------------------------------------------------------------------------
# The arithmetic of the forward pass
# ---------------------------------------------------------------------------------------------


class _Functions:
    """A namespace of functions by operation name: what ``m.exp`` finds."""

    def __init__(self, functions: dict[str, Callable[..., Any]]) -> None:
        self.__dict__.update(functions)

    def __repr__(self) -> str:
        return f"<arithmetic of {len(self.__dict__)} functions>"


def _float_functions() -> dict[str, Callable[..., Any]]:
    """Each operation's float function: the checked one of _floats, else math's own."""
    # A helper some rules need besides the operations' own functions.
    functions: dict[str, Callable[..., Any]] = {"ieee_pow": _floats.ieee_pow}
    for name in OPERATIONS:
        function = getattr(_floats, name) if name in _floats.__all__ else getattr(math, name, None)
        if function is not None:
            functions[name] = function
    return functions


# The rules' arithmetic on floats: FLOATS.exp(x) is the checked e ** x of _floats.
FLOATS: Final = _Functions(_float_functions())
