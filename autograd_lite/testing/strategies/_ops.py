"""The operations as the strategies see them: `OpSpec`, built from the registry and the domains.

Each `OpSpec` joins an operation of ``autograd_lite.rules.OPERATIONS`` with its `Domain`: where
its inputs may be drawn from, how its output is enclosed, and how to compute it on Values (the
engine), on floats and on mpmath numbers (independent of the engine, from the domain's mpmath
reference). `custom_op` describes a user's own operation the same way.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from autograd_lite import engine
from autograd_lite.engine import Value
from autograd_lite.rules import OPERATIONS, VARIADIC, Operation
from autograd_lite.testing._domains import CAP, DOMAINS, MARGIN, Domain, Image, Interval, Pieces

__all__ = [
    "OPS",
    "OpSpec",
    "arguments",
    "bounded_floats",
    "custom_op",
    "domain",
]

# Digits of the mpmath reference when it computes a float: far beyond float64.
FLOAT_DPS = 30


def _mpmath() -> Any:
    # Imported on use: only the mpmath and float backends need it.
    import mpmath

    return mpmath


class OpSpec:
    """One operation as the strategies see it: its domain, its range, and how to compute it.

    ``pieces(consts)`` gives the allowed values of each input (the last entry serves every
    further input of an n-ary op); ``image(intervals, consts)`` encloses the output for inputs in
    the given intervals, or is None when the output could leave the safe range. ``on_values``,
    ``on_floats`` and ``on_mpmath`` compute the op as ``fn(*inputs, *consts)``. ``arity`` is 0
    for an n-ary op, which takes between ``counts`` inputs (pairs, for dot).
    """

    __slots__ = (
        "apart",
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
        pieces: Callable[[tuple[Any, ...]], tuple[Pieces, ...]],
        image: Image,
        on_values: Callable[..., Any],
        on_floats: Callable[..., Any],
        on_mpmath: Callable[..., Any] | None,
        consts: st.SearchStrategy[tuple[Any, ...]] | None = None,
        counts: tuple[int, int] = (1, 1),
        constant_ok: tuple[bool, ...] = (False,),
        symbol: str = "",
        apart: bool = False,
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
        self.apart = apart  # two inputs must be MARGIN apart (the tie of maximum)

    def __repr__(self) -> str:
        return f"OpSpec({self.name!r})"

    def input_pieces(self, consts: tuple[Any, ...], position: int) -> Pieces:
        """The allowed values of input ``position`` for these constant arguments."""
        table = self.pieces(consts)
        return table[min(position, len(table) - 1)]

    def may_be_constant(self, position: int) -> bool:
        """Whether input ``position`` may be a number rather than an input or a step."""
        return self.constant_ok[min(position, len(self.constant_ok) - 1)]


# ---------------------------------------------------------------------------------------------
# Each op on Values, on floats and on mpmath numbers, as fn(*inputs, *consts)
# ---------------------------------------------------------------------------------------------

_OPERATORS: dict[str, Callable[..., Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "neg": operator.neg,
    "pow": operator.pow,
    "pow_const": operator.pow,
}


def _on_values(entry: Operation) -> Callable[..., Any]:
    """The public engine call that applies the operation to Values: x + y, x.tanh(), dot()."""
    name = entry.name
    if name in _OPERATORS:
        return _OPERATORS[name]
    if name == "dot":
        return lambda *xs: engine.dot(xs[: len(xs) // 2], xs[len(xs) // 2 :])
    if entry.arity == VARIADIC:
        function = getattr(engine, name)
        n_params = len(entry.params)
        if n_params:
            return lambda *xs: function(xs[:-n_params], *xs[-n_params:])
        return lambda *xs: function(xs)
    if entry.function:  # maximum(2.0, x): the function takes a number in either place
        return getattr(engine, name)  # type: ignore[no-any-return]
    if entry.method:
        return getattr(Value, name)  # type: ignore[no-any-return]
    return getattr(engine, name)  # type: ignore[no-any-return]


def _on_mpmath(entry: Operation, reference: Callable[..., Any]) -> Callable[..., Any]:
    """The domain's mpmath reference as fn(*inputs, *consts)."""
    if entry.arity != VARIADIC:
        return lambda *xs: reference(_mpmath(), *xs)
    n_params = len(entry.params)
    if n_params:
        return lambda *xs: reference(_mpmath(), list(xs[:-n_params]), *xs[-n_params:])
    return lambda *xs: reference(_mpmath(), list(xs))


def _on_floats(entry: Operation, on_mpmath: Callable[..., Any]) -> Callable[..., float]:
    """The mpmath reference, in high precision, rounded to a float: independent of the engine."""
    n_params = len(entry.params)

    def compute(*xs: Any) -> float:
        mp = _mpmath()
        inputs = xs[: len(xs) - n_params] if n_params else xs
        consts = xs[len(xs) - n_params :] if n_params else ()
        with mp.workdps(FLOAT_DPS):
            return float(on_mpmath(*(mp.mpf(x) for x in inputs), *consts))

    return compute


def _consts(entry: Operation, spec: Domain) -> st.SearchStrategy[tuple[Any, ...]] | None:
    if not entry.params:
        return None
    samples = st.sampled_from(spec.consts)
    if not spec.ranges:
        return samples
    drawn = st.tuples(*(st.floats(lo, hi) for lo, hi in spec.ranges))
    return samples | drawn


def _symbol(entry: Operation) -> str:
    return entry.symbol if entry.name in ("add", "sub", "mul", "div", "pow", "pow_const") else ""


def _spec(entry: Operation, spec: Domain) -> OpSpec:
    on_mpmath = _on_mpmath(entry, spec.reference)
    return OpSpec(
        entry.name,
        0 if entry.arity == VARIADIC else entry.arity,
        pieces=spec.pieces,
        image=spec.image,
        on_values=_on_values(entry),
        on_floats=_on_floats(entry, on_mpmath),
        on_mpmath=on_mpmath,
        consts=_consts(entry, spec),
        counts=spec.counts,
        constant_ok=spec.constant_ok,
        symbol=_symbol(entry),
        apart=spec.apart,
    )


def _table() -> dict[str, OpSpec]:
    missing = [name for name in OPERATIONS if name not in DOMAINS]
    if missing:
        msg = (
            f"the operations {missing} have no Domain in autograd_lite/testing/_domains.py: "
            "give each one its domain and oracles there"
        )
        raise LookupError(msg)
    return {name: _spec(entry, DOMAINS[name]) for name, entry in OPERATIONS.items()}


# Every built-in operation as the strategies see it, keyed like autograd_lite.rules.OPERATIONS.
OPS: dict[str, OpSpec] = _table()


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

    def fixed_image(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
        return image

    return OpSpec(
        name,
        arity,
        pieces=lambda consts: ((domain,),),
        image=fixed_image,
        on_values=function,
        on_floats=reference or on_floats,
        on_mpmath=reference,
    )


def spec_of(op: str | OpSpec) -> OpSpec:
    """The OpSpec of an op given by name (a key of OPS) or as an OpSpec."""
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


def in_pieces(pieces: Pieces) -> st.SearchStrategy[float]:
    """Finite floats inside a union of intervals."""
    return st.one_of([bounded_floats(lo, hi) for lo, hi in pieces])


def domain(op: str | OpSpec, position: int = 0) -> st.SearchStrategy[float]:
    """Floats that input ``position`` of an op accepts, off its kinks, whatever its constants."""
    # No constants: each op's pieces are then valid whatever constants it is given.
    return in_pieces(spec_of(op).input_pieces((), position))


def draw_count(draw: st.DrawFn, spec: OpSpec) -> int:
    """How many inputs one application of spec takes."""
    if spec.arity:
        return spec.arity
    count = draw(st.integers(*spec.counts))
    return count * 2 if spec.name == "dot" else count


def draw_consts(draw: st.DrawFn, spec: OpSpec, count: int) -> tuple[Any, ...] | None:
    """Constants for one application of spec with count inputs, or None if none fits."""
    consts = draw(spec.consts)
    if spec.name == "log_softmax":
        # The index must name one of the inputs.
        return (draw(st.integers(0, count - 1)),)
    return consts


@st.composite
def _arguments(draw: st.DrawFn, spec: OpSpec) -> tuple[tuple[float, ...], tuple[Any, ...]]:
    count = draw_count(draw, spec)
    consts = draw_consts(draw, spec, count)
    assert consts is not None
    inputs = [draw(in_pieces(spec.input_pieces(consts, i))) for i in range(count)]
    if spec.apart:
        assume(abs(inputs[0] - inputs[1]) >= MARGIN)  # off the kink of a tie
    return tuple(inputs), consts


def arguments(op: str | OpSpec) -> st.SearchStrategy[tuple[tuple[float, ...], tuple[Any, ...]]]:
    """``(inputs, constants)`` for one application of an op, inside its domain.

    For the engine, ``spec.on_values(*values, *constants)`` applies it; n-ary ops get a random
    number of inputs.
    """
    return _arguments(spec_of(op))
