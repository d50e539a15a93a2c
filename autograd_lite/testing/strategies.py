"""Hypothesis strategies for gradient tests: op domains, random expression trees and DAGs.

Expressions are generated as *descriptions* (`Expr`, a small list-of-steps IR), not as Values:
the same description runs on Values, on plain floats and on mpmath numbers, and a failing case
shrinks to something readable such as ``Case('tanh(x0)', x0=1.0)``. `OPS` is the one table of
every operation's domain. Needs hypothesis (the ``testing`` extra); the mpmath backend, mpmath.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, TypeAlias

from hypothesis import reject
from hypothesis import strategies as st

from autograd_lite.engine import Value
from autograd_lite.engine import dot as engine_dot
from autograd_lite.engine import sum as engine_sum

# Every value inside a generated expression stays within [-CAP, CAP]: no overflow, and finite
# differences stay accurate.
CAP = 100.0
LOG_CAP = math.log(CAP)
# Distance kept from kinks (relu, abs and leaky_relu at 0) and from the edges of domains
# (log and sqrt at 0, a divisor at 0): the derivatives there are 0/1 jumps or blow up.
MARGIN = 0.05
# Expressions are made valid for inputs up to PAD outside the box their points are drawn from,
# so moving an input by a finite-difference step never leaves the domain.
PAD = 0.01
# The boxes an input's value is drawn from (the first is where shrinking goes).
BOXES: tuple[tuple[float, float], ...] = ((0.5, 2.0), (-2.0, -0.5), (-1.0, 1.0))
# Numbers that appear as constants inside expressions.
CONSTANTS: tuple[float, ...] = (2.0, 0.5, -1.0, 3.0, -0.25)
# Constant exponents of `x ** c` and slopes of leaky_relu, readable ones first.
EXPONENTS: tuple[float, ...] = (2.0, 3.0, -1.0, 0.5, 1.5, -2.0, 0.0, 1.0, 4.0, -0.5)
SLOPES: tuple[float, ...] = (0.1, 0.01, 0.2, 0.5)

Interval: TypeAlias = tuple[float, float]
# The allowed values of one input: a union of closed intervals.
Pieces: TypeAlias = tuple[Interval, ...]
# An argument of a step: ("x", i) is input i, ("t", j) the result of step j, a float a constant.
Arg: TypeAlias = tuple[str, int] | float
Image: TypeAlias = Callable[[Sequence[Interval], tuple[float, ...]], Interval | None]

ANY: Pieces = ((-CAP, CAP),)
NONZERO: Pieces = ((-CAP, -MARGIN), (MARGIN, CAP))
POSITIVE: Pieces = ((MARGIN, CAP),)


class OpSpec:
    """One operation as the strategies see it: its domain, its range, and how to compute it.

    ``pieces(consts)`` gives the allowed values of each input (one entry for all inputs of an
    n-ary op); ``image(intervals, consts)`` encloses the output for inputs in the given
    intervals, or is None when the output could leave the safe range. ``on_values``,
    ``on_floats`` and ``on_mpmath`` compute the op as ``fn(*inputs, *consts)``.
    """

    __slots__ = (
        "arity",
        "constant_ok",
        "consts",
        "counts",
        "image",
        "name",
        "on_floats",
        "on_mpmath",
        "on_values",
        "pieces",
        "symbol",
    )

    def __init__(
        self,
        name: str,
        arity: int,
        *,
        pieces: Callable[[tuple[float, ...]], tuple[Pieces, ...]],
        image: Image,
        on_values: Callable[..., Any],
        on_floats: Callable[..., Any],
        on_mpmath: Callable[..., Any] | None,
        consts: st.SearchStrategy[tuple[float, ...]] | None = None,
        counts: tuple[int, int] = (1, 1),
        constant_ok: tuple[bool, ...] = (False,),
        symbol: str = "",
    ) -> None:
        self.name = name
        self.arity = arity  # inputs per application; 0 for an n-ary op (sum, dot)
        self.counts = counts  # an n-ary op's least and most operands (pairs, for dot)
        self.pieces = pieces
        self.image = image
        self.on_values = on_values
        self.on_floats = on_floats
        self.on_mpmath = on_mpmath
        self.consts = consts if consts is not None else st.just(())
        self.constant_ok = constant_ok  # may input i be a constant (one entry: all inputs)
        self.symbol = symbol  # infix operator used by describe(), "" for function-call style

    def __repr__(self) -> str:
        return f"OpSpec({self.name!r})"

    def input_pieces(self, consts: tuple[float, ...], position: int) -> Pieces:
        """The allowed values of input ``position`` for these constant arguments."""
        table = self.pieces(consts)
        return table[min(position, len(table) - 1)]

    def may_be_constant(self, position: int) -> bool:
        """Whether input ``position`` may be a number rather than an input or a step."""
        return self.constant_ok[min(position, len(self.constant_ok) - 1)]


# ---------------------------------------------------------------------------------------------
# Interval arithmetic: sound enclosures of each op's output, so expressions stay valid
# ---------------------------------------------------------------------------------------------


def _hull(*xs: float) -> Interval:
    return (min(xs), max(xs))


def _add(ivs: Sequence[Interval], consts: tuple[float, ...] = ()) -> Interval:
    return (math.fsum(a for a, _ in ivs), math.fsum(b for _, b in ivs))


def _sub(ivs: Sequence[Interval], consts: tuple[float, ...] = ()) -> Interval:
    (a0, a1), (b0, b1) = ivs
    return (a0 - b1, a1 - b0)


def _mul(ivs: Sequence[Interval], consts: tuple[float, ...] = ()) -> Interval:
    (a0, a1), (b0, b1) = ivs
    return _hull(a0 * b0, a0 * b1, a1 * b0, a1 * b1)


def _div(ivs: Sequence[Interval], consts: tuple[float, ...] = ()) -> Interval:
    # The divisor's pieces exclude 0, so 1/b is monotone on its interval.
    (b0, b1) = ivs[1]
    return _mul([ivs[0], (1.0 / b1, 1.0 / b0)])


def _neg(ivs: Sequence[Interval], consts: tuple[float, ...] = ()) -> Interval:
    (a0, a1) = ivs[0]
    return (-a1, -a0)


def _abs(ivs: Sequence[Interval], consts: tuple[float, ...] = ()) -> Interval:
    (a0, a1) = ivs[0]
    return (a0, a1) if a0 > 0.0 else (-a1, -a0)  # the pieces keep 0 outside


def _increasing(f: Callable[[float], float]) -> Image:
    """The image of a monotone increasing function: its values at the two ends."""

    def image(ivs: Sequence[Interval], consts: tuple[float, ...] = ()) -> Interval:
        (a0, a1) = ivs[0]
        return (f(a0), f(a1))

    return image


def _bounded(lo: float, hi: float) -> Image:
    """An image known in advance, whatever the input (sin, cos, a user's op)."""

    def image(ivs: Sequence[Interval], consts: tuple[float, ...] = ()) -> Interval:
        return (lo, hi)

    return image


def _relu(ivs: Sequence[Interval], consts: tuple[float, ...] = ()) -> Interval:
    (a0, a1) = ivs[0]
    return (a0, a1) if a0 > 0.0 else (0.0, 0.0)


def _leaky_relu(ivs: Sequence[Interval], consts: tuple[float, ...] = ()) -> Interval:
    (a0, a1) = ivs[0]
    slope = consts[0]
    return (a0, a1) if a0 > 0.0 else (slope * a0, slope * a1)


def _power_const_pieces(consts: tuple[float, ...]) -> tuple[Pieces, ...]:
    if not consts:
        return (POSITIVE,)  # valid whatever the exponent
    c = consts[0]
    if c.is_integer():
        return (ANY,) if c >= 0.0 else (NONZERO,)
    return (POSITIVE,)  # a negative base needs an integer exponent


def _power_const(ivs: Sequence[Interval], consts: tuple[float, ...]) -> Interval | None:
    (a0, a1) = ivs[0]
    c = consts[0]
    if c > 0.0 and max(abs(a0), abs(a1)) ** c > CAP:
        return None  # the power could leave the safe range (checked before computing it)
    if c < 0.0 and min(abs(a0), abs(a1)) ** c > CAP:
        return None  # the pieces keep 0 out, but a base near it still gives a huge power
    ends = [a0**c, a1**c]
    if a0 < 0.0 < a1:
        ends.append(0.0)  # x ** 2 dips to 0 inside the interval
    return _hull(*ends)


def _power(ivs: Sequence[Interval], consts: tuple[float, ...] = ()) -> Interval | None:
    # x ** y = exp(y * log x) with x > 0: bound the exponent before computing the power.
    (a0, a1), exponent = ivs
    lo, hi = _mul([exponent, (math.log(a0), math.log(a1))])
    if hi > LOG_CAP:
        return None
    return (math.exp(lo), math.exp(hi))


def _dot(ivs: Sequence[Interval], consts: tuple[float, ...] = ()) -> Interval:
    n = len(ivs) // 2
    return _add([_mul([ivs[i], ivs[n + i]]) for i in range(n)])


# ---------------------------------------------------------------------------------------------
# How each op computes on floats (an implementation independent of the engine's rules)
# ---------------------------------------------------------------------------------------------


def _mpmath() -> Any:
    # Imported on use: only the mpmath backend needs it.
    import mpmath

    return mpmath


def _float_sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _float_relu(x: float) -> float:
    return x if x > 0.0 else 0.0


def _float_leaky_relu(x: float, slope: float) -> float:
    return x if x > 0.0 else slope * x


def _float_dot(*xs: float) -> float:
    n = len(xs) // 2
    return math.fsum(w * x for w, x in zip(xs[:n], xs[n:], strict=True))


def _mp_sigmoid(x: Any) -> Any:
    mp = _mpmath()
    return 1 / (1 + mp.exp(-x))


def _mp_softplus(x: Any) -> Any:
    mp = _mpmath()
    return mp.log(1 + mp.exp(x))


def _mp_relu(x: Any) -> Any:
    return x if x > 0 else _mpmath().mpf(0)


def _mp_leaky_relu(x: Any, slope: float) -> Any:
    return x if x > 0 else slope * x


def _mp_dot(*xs: Any) -> Any:
    n = len(xs) // 2
    return _mpmath().fsum(w * x for w, x in zip(xs[:n], xs[n:], strict=True))


def _value_dot(*xs: Any) -> Any:
    n = len(xs) // 2
    return engine_dot(xs[:n], xs[n:])


def _power_const_apply(x: Any, c: float) -> Any:
    return x**c


def _unary(
    name: str,
    pieces: Pieces,
    image: Image,
    on_floats: Callable[..., Any],
    on_mpmath: Callable[..., Any],
    on_values: Callable[..., Any] | None = None,
) -> OpSpec:
    """A one-input built-in op, by default the Value method of the same name."""
    return OpSpec(
        name,
        1,
        pieces=lambda consts: (pieces,),
        image=image,
        on_values=on_values or getattr(Value, name),
        on_floats=on_floats,
        on_mpmath=on_mpmath,
    )


def _binary(name: str, symbol: str, image: Image, on_all: Callable[..., Any]) -> OpSpec:
    """A two-input arithmetic op, the same Python operator on every backend."""
    divisor = NONZERO if name == "/" else ANY
    return OpSpec(
        name,
        2,
        pieces=lambda consts: (ANY, divisor),
        image=image,
        on_values=on_all,
        on_floats=on_all,
        on_mpmath=on_all,
        constant_ok=(True, True),
        symbol=symbol,
    )


def _table(*specs: OpSpec) -> dict[str, OpSpec]:
    return {spec.name: spec for spec in specs}


# The one table of every built-in op's domain, keyed like autograd_lite.rules.RULES.
OPS: dict[str, OpSpec] = _table(
    _binary("+", "+", _add, operator.add),
    _binary("-", "-", _sub, operator.sub),
    _binary("*", "*", _mul, operator.mul),
    _binary("/", "/", _div, operator.truediv),
    OpSpec(
        "neg",
        1,
        pieces=lambda consts: (ANY,),
        image=_neg,
        on_values=operator.neg,
        on_floats=operator.neg,
        on_mpmath=operator.neg,
    ),
    OpSpec(
        "**",
        1,
        pieces=_power_const_pieces,
        image=_power_const,
        on_values=_power_const_apply,
        on_floats=_power_const_apply,
        on_mpmath=_power_const_apply,
        consts=st.tuples(st.sampled_from(EXPONENTS) | st.floats(-3.0, 3.0)),
        symbol="**",
    ),
    OpSpec(
        "pow",
        2,
        pieces=lambda consts: (POSITIVE, ((-4.0, 4.0),)),
        image=_power,
        on_values=operator.pow,
        on_floats=operator.pow,
        on_mpmath=operator.pow,
        # A constant exponent would make the engine's `x ** c` op: that is "**", not "pow".
        constant_ok=(True, False),
        symbol="**",
    ),
    _unary("abs", NONZERO, _abs, abs, abs, on_values=abs),
    _unary("exp", ((-CAP, LOG_CAP),), _increasing(math.exp), math.exp, lambda x: _mpmath().exp(x)),
    _unary("log", POSITIVE, _increasing(math.log), math.log, lambda x: _mpmath().log(x)),
    _unary(
        "log1p",
        ((-1.0 + MARGIN, CAP),),
        _increasing(math.log1p),
        math.log1p,
        lambda x: _mpmath().log1p(x),
    ),
    _unary("sqrt", POSITIVE, _increasing(math.sqrt), math.sqrt, lambda x: _mpmath().sqrt(x)),
    _unary("sin", ANY, _bounded(-1.0, 1.0), math.sin, lambda x: _mpmath().sin(x)),
    _unary("cos", ANY, _bounded(-1.0, 1.0), math.cos, lambda x: _mpmath().cos(x)),
    _unary("tanh", ANY, _increasing(math.tanh), math.tanh, lambda x: _mpmath().tanh(x)),
    _unary("sigmoid", ANY, _increasing(_float_sigmoid), _float_sigmoid, _mp_sigmoid),
    _unary(
        "softplus",
        ANY,
        _increasing(lambda x: math.log1p(math.exp(x))),
        lambda x: math.log1p(math.exp(x)),
        _mp_softplus,
    ),
    _unary("relu", NONZERO, _relu, _float_relu, _mp_relu),
    OpSpec(
        "leaky_relu",
        1,
        pieces=lambda consts: (NONZERO,),
        image=_leaky_relu,
        on_values=Value.leaky_relu,
        on_floats=_float_leaky_relu,
        on_mpmath=_mp_leaky_relu,
        consts=st.tuples(st.sampled_from(SLOPES) | st.floats(0.0, 1.0)),
    ),
    OpSpec(
        "sum",
        0,
        pieces=lambda consts: (ANY,),
        image=_add,
        on_values=lambda *xs: engine_sum(xs),
        on_floats=lambda *xs: math.fsum(xs),
        on_mpmath=lambda *xs: _mpmath().fsum(xs),
        counts=(1, 5),
        constant_ok=(True,),
    ),
    OpSpec(
        "dot",
        0,
        pieces=lambda consts: (ANY,),
        image=_dot,
        on_values=_value_dot,
        on_floats=_float_dot,
        on_mpmath=_mp_dot,
        counts=(1, 3),
        constant_ok=(True,),
    ),
)


def custom_op(
    name: str,
    function: Callable[..., Value],
    *,
    domain: Interval,
    image: Interval,
    reference: Callable[..., Any] | None = None,
    arity: int = 1,
) -> OpSpec:
    """Describe a user's op (say, one made with ``autograd_lite.primitive``) to the strategies.

    ``domain`` bounds every input the op may be given; ``image`` bounds its output over that
    domain (it keeps the ops applied to its result inside their own domains). ``reference``
    computes the op on plain floats or mpmath numbers; without it, floats run ``function``.
    """
    lo, hi = domain
    if not lo < hi:
        msg = f"custom_op() needs a domain (lo, hi) with lo < hi, got {domain!r}"
        raise ValueError(msg)
    if not -CAP <= image[0] <= image[1] <= CAP:
        # Expressions keep every value within CAP: an op that may leave it would never be used.
        msg = f"custom_op() needs an image (lo, hi) with -{CAP} <= lo <= hi <= {CAP}, got {image!r}"
        raise ValueError(msg)

    def on_floats(*xs: float) -> float:
        return float(function(*xs))

    return OpSpec(
        name,
        arity,
        pieces=lambda consts: ((domain,),),
        image=_bounded(*image),
        on_values=function,
        on_floats=reference or on_floats,
        on_mpmath=reference,
    )


def _spec(op: str | OpSpec) -> OpSpec:
    if isinstance(op, OpSpec):
        return op
    try:
        return OPS[op]
    except KeyError:
        msg = f"unknown operation {op!r}; the known ones are {', '.join(OPS)}"
        raise KeyError(msg) from None


# ---------------------------------------------------------------------------------------------
# Floats inside a domain
# ---------------------------------------------------------------------------------------------


def bounded_floats(low: float = -CAP, high: float = CAP) -> st.SearchStrategy[float]:
    """Finite floats in [low, high] (never NaN, never infinite)."""
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


def _in_pieces(pieces: Pieces) -> st.SearchStrategy[float]:
    return st.one_of([bounded_floats(lo, hi) for lo, hi in pieces])


def domain(op: str | OpSpec, position: int = 0) -> st.SearchStrategy[float]:
    """Floats that input ``position`` of an op accepts, off its kinks, whatever its constants."""
    return _in_pieces(_spec(op).input_pieces((), position))


@st.composite
def _arguments(draw: st.DrawFn, spec: OpSpec) -> tuple[tuple[float, ...], tuple[float, ...]]:
    consts = draw(spec.consts)
    count = spec.arity or draw(st.integers(*spec.counts)) * (2 if spec.name == "dot" else 1)
    inputs = tuple(draw(_in_pieces(spec.input_pieces(consts, i))) for i in range(count))
    return inputs, consts


def arguments(op: str | OpSpec) -> st.SearchStrategy[tuple[tuple[float, ...], tuple[float, ...]]]:
    """``(inputs, constants)`` for one application of an op, inside its domain.

    For ``rules.RULES[op]`` the call is ``rule(FLOATS, *inputs, *constants)``; for the engine,
    ``spec.on_values(*values, *constants)``. N-ary ops get a random number of inputs.
    """
    return _arguments(_spec(op))


# ---------------------------------------------------------------------------------------------
# Expressions as descriptions
# ---------------------------------------------------------------------------------------------


class Step(NamedTuple):
    """One operation of an expression: the op, its arguments and its constant parameters."""

    op: OpSpec
    args: tuple[Arg, ...]
    consts: tuple[float, ...] = ()


class Expr:
    """A scalar expression of ``n_inputs`` inputs as a list of steps; the last is the output.

    Call it on Values to build a graph (``expr(x0, x1)``), on floats or mpmath numbers to get
    a number; ``describe(expr)`` writes it as Python-like math. ``boxes`` are the ranges its
    inputs were generated for (see :func:`points`).
    """

    __slots__ = ("boxes", "n_inputs", "steps")

    def __init__(
        self, n_inputs: int, steps: Sequence[Step], boxes: Sequence[tuple[float, float]]
    ) -> None:
        if not steps:
            msg = "Expr() needs at least one step"
            raise ValueError(msg)
        if len(boxes) != n_inputs:
            msg = f"Expr() needs one box per input: {n_inputs} inputs, {len(boxes)} boxes"
            raise ValueError(msg)
        self.n_inputs = n_inputs
        self.steps = tuple(steps)
        self.boxes = tuple(boxes)

    def __call__(self, *args: Any) -> Any:
        return evaluate(self, args)

    def __repr__(self) -> str:
        return f"Expr({describe(self, sep='; ')!r})"

    @property
    def op_names(self) -> list[str]:
        """The name of every step's op, in order (repeats included)."""
        return [step.op.name for step in self.steps]

    def uses(self) -> list[int]:
        """How many times each step's result is an argument of a later step."""
        counts = [0] * len(self.steps)
        for step in self.steps:
            for arg in step.args:
                if isinstance(arg, tuple) and arg[0] == "t":
                    counts[arg[1]] += 1
        return counts


class Case:
    """An expression and a point to evaluate it at: what a failing test shows after shrinking."""

    __slots__ = ("expr", "inputs")

    def __init__(self, expr: Expr, inputs: Sequence[float]) -> None:
        self.expr = expr
        self.inputs = tuple(inputs)

    def __repr__(self) -> str:
        point = ", ".join(f"x{i}={x!r}" for i, x in enumerate(self.inputs))
        return f"Case({describe(self.expr, sep='; ')!r}, {point})"


Backend: TypeAlias = str | Mapping[str, Callable[..., Any]]


def _infer_backend(args: Sequence[Any]) -> str:
    if any(isinstance(a, Value) for a in args):
        return "value"
    if any(type(a).__module__.startswith("mpmath") for a in args):
        return "mpmath"
    return "float"


def _function(op: OpSpec, backend: Backend) -> Callable[..., Any]:
    if not isinstance(backend, str):
        try:
            return backend[op.name]
        except KeyError:
            msg = f"evaluate(): the backend has no function for operation {op.name!r}"
            raise KeyError(msg) from None
    if backend == "value":
        return op.on_values
    if backend == "float":
        return op.on_floats
    if backend == "mpmath":
        if op.on_mpmath is None:
            msg = f"evaluate(): operation {op.name!r} has no mpmath form (give it a reference)"
            raise ValueError(msg)
        return op.on_mpmath
    msg = f"evaluate() needs backend 'value', 'float', 'mpmath' or a mapping, got {backend!r}"
    raise ValueError(msg)


def evaluate(expr: Expr, args: Sequence[Any], backend: Backend | None = None) -> Any:
    """Run an expression on Values, floats, mpmath numbers, or any backend mapping op names.

    The backend is guessed from the arguments unless given: "value" if any is a Value,
    "mpmath" for mpmath numbers, "float" otherwise. A mapping backend maps each op's name to
    a function ``fn(*inputs, *consts)`` (the torch oracle test uses one).
    """
    if len(args) != expr.n_inputs:
        msg = f"evaluate() needs {expr.n_inputs} arguments for {expr!r}, got {len(args)}"
        raise ValueError(msg)
    kind = backend if backend is not None else _infer_backend(args)
    results: list[Any] = []
    for step in expr.steps:
        operands = []
        for arg in step.args:
            if isinstance(arg, tuple):
                operands.append(args[arg[1]] if arg[0] == "x" else results[arg[1]])
            else:
                operands.append(arg)
        results.append(_function(step.op, kind)(*operands, *step.consts))
    return results[-1]


def describe(expr: Expr, sep: str = "\n") -> str:
    """An expression as Python-like math: ``tanh(x0 * 2.0)``; shared steps get names.

    A step used more than once is written once as ``t0 = ...`` and then named, so the
    description of a DAG stays as long as the DAG: ``t0 = x0 * x1; out = sin(t0) + t0``.
    """
    uses = expr.uses()
    # Each step's text, and whether it is atomic (needs no parentheses as an operand).
    texts: list[tuple[str, bool]] = []
    lines: list[str] = []
    last = len(expr.steps) - 1
    for j, step in enumerate(expr.steps):
        operands = [_arg_text(arg, texts) for arg in step.args]
        text, atomic = _step_text(step, operands)
        if j != last and uses[j] != 1:
            name = f"t{len(lines)}"
            lines.append(f"{name} = {text}")
            text, atomic = name, True
        texts.append((text, atomic))
    output = texts[-1][0]
    return sep.join([*lines, f"out = {output}"]) if lines else output


def _arg_text(arg: Arg, texts: list[tuple[str, bool]]) -> tuple[str, bool]:
    if isinstance(arg, tuple):
        return (f"x{arg[1]}", True) if arg[0] == "x" else texts[arg[1]]
    return repr(arg), arg >= 0.0  # a negative constant gets parentheses as an operand


def _step_text(step: Step, operands: list[tuple[str, bool]]) -> tuple[str, bool]:
    def wrap(operand: tuple[str, bool]) -> str:
        text, atomic = operand
        return text if atomic else f"({text})"

    op = step.op
    if op.name == "neg":
        return f"-{wrap(operands[0])}", False
    if op.symbol and op.name == "**":
        return f"{wrap(operands[0])} ** {step.consts[0]!r}", False
    if op.symbol:
        left, right = operands
        return f"{wrap(left)} {op.symbol} {wrap(right)}", False
    texts = [text for text, _ in operands]
    if op.name == "dot":
        n = len(texts) // 2
        return f"dot([{', '.join(texts[:n])}], [{', '.join(texts[n:])}])", True
    arguments = [*texts, *(repr(c) for c in step.consts)]
    return f"{op.name}({', '.join(arguments)})", True


# ---------------------------------------------------------------------------------------------
# Generating expressions
# ---------------------------------------------------------------------------------------------


def _inside(interval: Interval, pieces: Pieces) -> bool:
    lo, hi = interval
    return any(a <= lo and hi <= b for a, b in pieces)


def _safe(image: Interval | None) -> bool:
    return image is not None and image[0] >= -CAP and image[1] <= CAP


def _padded(box: tuple[float, float]) -> Interval:
    return (box[0] - PAD, box[1] + PAD)


class _Candidate(NamedTuple):
    """A possible argument: its kind, the Arg itself, and the range of values it can take."""

    kind: str  # "x" an input, "f" a result no step uses yet, "t" a used result, "c" a constant
    arg: Arg
    interval: Interval
    step: int = -1  # the step whose result this is


class _Builder:
    """An expression being generated bottom-up: its inputs, its steps and their ranges."""

    def __init__(self, boxes: tuple[tuple[float, float], ...], shared: bool) -> None:
        self.boxes = boxes
        self.shared = shared
        self.inputs = [_Candidate("x", ("x", i), _padded(box)) for i, box in enumerate(boxes)]
        self.results: list[_Candidate] = []
        self.steps: list[Step] = []
        self.used: set[int] = set()  # steps whose result is an argument of a later step

    def pool(self, chosen: list[_Candidate], constants: bool) -> list[_Candidate]:
        """Every argument the next operand could be, before checking the op's domain."""
        pool = [*self.inputs]
        taken = {c.step for c in chosen if c.kind in "ft"}
        for j in range(len(self.results) - 1, -1, -1):  # the most recent first
            if j not in self.used and (self.shared or j not in taken):
                pool.append(self.results[j]._replace(kind="f"))
            elif self.shared:
                pool.append(self.results[j])
        if constants:
            pool += [_Candidate("c", c, (c, c)) for c in CONSTANTS]
        return pool

    def add(self, spec: OpSpec, chosen: list[_Candidate], consts: tuple[float, ...]) -> None:
        """Record a step whose arguments all fit, if its output stays in the safe range."""
        image = spec.image([c.interval for c in chosen], consts)
        if image is None or not _safe(image):
            return
        self.used.update(c.step for c in chosen if c.kind in "ft")
        self.results.append(_Candidate("t", ("t", len(self.steps)), image, len(self.steps)))
        self.steps.append(Step(spec, tuple(c.arg for c in chosen), consts))


@st.composite
def _step(
    draw: st.DrawFn, builder: _Builder, specs: tuple[OpSpec, ...], may_stop: bool, must_stop: bool
) -> bool:
    """Draw one application of an op whose arguments fit its domain, add it if it can, and
    say whether it is the last step.

    A composite of its own, with its "last?" flag inside, so that each step is one unit the
    shrinker can delete whole.
    """
    # "Last step?" shrinks towards no; failing cases then shrink by deleting whole steps.
    last = must_stop or (may_stop and draw(st.integers(0, 7)) == 0)
    spec = draw(st.sampled_from(specs))
    consts = draw(spec.consts)
    count = spec.arity or draw(st.integers(*spec.counts)) * (2 if spec.name == "dot" else 1)
    repeat = builder.shared and spec.arity == 0 and draw(st.booleans())
    chosen: list[_Candidate] = []
    for position in range(count):
        if repeat and chosen:
            chosen.append(chosen[0])  # one node as every operand: sum(t0, t0, t0, t0)
            continue
        # At least one operand must be an input or a result: a step of constants is a constant.
        only_constants_so_far = all(c.kind == "c" for c in chosen)
        constants = spec.may_be_constant(position) and not (
            position == count - 1 and only_constants_so_far
        )
        pieces = spec.input_pieces(consts, position)
        fits = [c for c in builder.pool(chosen, constants) if _inside(c.interval, pieces)]
        if position == count - 1:
            earlier = [c.interval for c in chosen]
            fits = [c for c in fits if _safe(spec.image([*earlier, c.interval], consts))]
        if not fits:
            return last  # no argument fits this op here: the next step tries another
        linked = any(c.kind == "f" for c in chosen)
        if last and not linked and any(c.kind == "f" for c in fits):
            kind = "f"  # the output takes a result nobody uses yet, so earlier steps count
        else:
            # Results nobody uses yet are likelier, so most steps feed the output; inputs come
            # first, so that shrinking moves towards them.
            kind = draw(st.sampled_from([k for k in "xffftc" if any(c.kind == k for c in fits)]))
        chosen.append(draw(st.sampled_from([c for c in fits if c.kind == kind])))
    if not all(c.kind == "c" for c in chosen):
        builder.add(spec, chosen, consts)
    return last


@st.composite
def _expressions(
    draw: st.DrawFn,
    specs: tuple[OpSpec, ...],
    max_inputs: int,
    min_steps: int,
    max_steps: int,
    shared: bool,
) -> Expr:
    """Build an expression bottom-up, choosing only arguments whose range fits each op."""
    # Every possible input gets a box; the inputs the expression does not use are dropped at
    # the end, so a failing case shrinks to fewer inputs without a count to shrink.
    builder = _Builder(tuple(draw(st.sampled_from(BOXES)) for _ in range(max_inputs)), shared)
    for attempt in range(max_steps):
        may_stop = attempt + 1 >= min_steps
        if draw(_step(builder, specs, may_stop, must_stop=attempt == max_steps - 1)):
            break
    if not builder.steps:
        reject()  # none of the ops fits the inputs drawn: try other inputs
    return _live(builder.steps, builder.boxes)


def _live(steps: list[Step], boxes: tuple[tuple[float, float], ...]) -> Expr:
    """The expression made of what the output depends on, with steps and inputs renumbered."""
    needed = {len(steps) - 1}
    inputs: set[int] = set()
    for j in range(len(steps) - 1, -1, -1):
        if j in needed:
            for arg in steps[j].args:
                if isinstance(arg, tuple):
                    (needed if arg[0] == "t" else inputs).add(arg[1])
    new_step = {old: new for new, old in enumerate(sorted(needed))}
    new_input = {old: new for new, old in enumerate(sorted(inputs))}

    def renamed(arg: Arg) -> Arg:
        if not isinstance(arg, tuple):
            return arg
        return ("t", new_step[arg[1]]) if arg[0] == "t" else ("x", new_input[arg[1]])

    kept = [
        Step(steps[j].op, tuple(renamed(a) for a in steps[j].args), steps[j].consts)
        for j in sorted(needed)
    ]
    return Expr(len(inputs), kept, [boxes[i] for i in sorted(inputs)])


def _specs(ops: Iterable[str | OpSpec] | None) -> tuple[OpSpec, ...]:
    specs = tuple(OPS.values()) if ops is None else tuple(_spec(op) for op in ops)
    if not specs:
        msg = "expressions need at least one operation"
        raise ValueError(msg)
    return specs


def expressions(
    ops: Iterable[str | OpSpec] | None = None,
    *,
    max_inputs: int = 3,
    min_steps: int = 1,
    max_steps: int = 6,
) -> st.SearchStrategy[Expr]:
    """Random expression trees over ``ops`` (default: every built-in op); no result is reused.

    Every expression is valid for any point its inputs' boxes hold (see :func:`points`): no
    domain error, no value beyond ``CAP`` in size, relu/abs/leaky_relu off their kinks.
    """
    return _expressions(_specs(ops), max_inputs, min_steps, max_steps, shared=False)


def dags(
    ops: Iterable[str | OpSpec] | None = None,
    *,
    max_inputs: int = 3,
    min_steps: int = 1,
    max_steps: int = 10,
) -> st.SearchStrategy[Expr]:
    """Random expression DAGs: results reused by later steps, one node used by every operand
    of a sum or dot, constants; valid over their input boxes like :func:`expressions`."""
    return _expressions(_specs(ops), max_inputs, min_steps, max_steps, shared=True)


def points(expr: Expr) -> st.SearchStrategy[tuple[float, ...]]:
    """Input values for an expression, each inside the box it was generated for."""
    return st.tuples(*(bounded_floats(lo, hi) for lo, hi in expr.boxes))


def cases(
    ops: Iterable[str | OpSpec] | None = None,
    *,
    shared: bool = True,
    max_inputs: int = 3,
    min_steps: int = 1,
    max_steps: int = 8,
) -> st.SearchStrategy[Case]:
    """An expression (a DAG, or a tree with ``shared=False``) together with a point in its boxes.

    >>> from autograd_lite.testing import gradcheck
    >>> from hypothesis import given
    >>> @given(cases(["tanh", "*", "+"]))
    ... def test_engine(case):
    ...     assert gradcheck(case.expr, case.inputs)
    >>> test_engine()
    """
    specs = _specs(ops)

    @st.composite
    def draw_case(draw: st.DrawFn) -> Case:
        expr = draw(_expressions(specs, max_inputs, min_steps, max_steps, shared))
        return Case(expr, draw(points(expr)))

    return draw_case()


__all__ = [
    "ANY",
    "BOXES",
    "CAP",
    "CONSTANTS",
    "EXPONENTS",
    "MARGIN",
    "NONZERO",
    "OPS",
    "PAD",
    "POSITIVE",
    "SLOPES",
    "Arg",
    "Case",
    "Expr",
    "OpSpec",
    "Step",
    "arguments",
    "bounded_floats",
    "cases",
    "custom_op",
    "dags",
    "describe",
    "domain",
    "evaluate",
    "expressions",
    "points",
]
