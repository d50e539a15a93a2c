"""Each operation's domain and oracles, for the tests and the hypothesis strategies.

One `Domain` per operation of ``autograd_lite.rules.OPERATIONS`` (a test fails loudly if one is
missing): where its inputs may be drawn from, a sound interval enclosure of its output (so that
random expressions stay valid), and three oracles that do not use the engine: its value in
mpmath, its closed-form local partial derivatives in mpmath (written independently of
``rules.py``: tanh' as sech², not 1 - tanh²), and the same operation in PyTorch. Needs neither
hypothesis nor mpmath to import; the oracles take the ``mpmath`` or ``torch`` module as their
first argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

__all__ = [
    "ANY",
    "CAP",
    "DOMAINS",
    "LOG_CAP",
    "MARGIN",
    "NONZERO",
    "PAD",
    "POSITIVE",
    "Domain",
    "Interval",
    "Pieces",
    "call",
    "hull",
]

# Every value inside a generated expression stays within [-CAP, CAP]: no overflow, and finite
# differences stay accurate.
CAP: Final = 100.0
LOG_CAP: Final = math.log(CAP)
# Distance kept from kinks (relu, abs at 0, a tie of maximum) and from the edges of domains
# (log and sqrt at 0, a divisor at 0, asin at ±1): the derivatives there jump or blow up.
MARGIN: Final = 0.05
# Expressions are made valid for inputs up to PAD outside the box their points are drawn from,
# so moving an input by a finite-difference step never leaves the domain.
PAD: Final = 0.01

Interval: TypeAlias = tuple[float, float]
# The allowed values of one input: a union of closed intervals.
Pieces: TypeAlias = tuple[Interval, ...]
Image: TypeAlias = Callable[[Sequence[Interval], tuple[Any, ...]], Interval | None]

ANY: Final[Pieces] = ((-CAP, CAP),)
NONZERO: Final[Pieces] = ((-CAP, -MARGIN), (MARGIN, CAP))
POSITIVE: Final[Pieces] = ((MARGIN, CAP),)
UNIT: Final[Pieces] = ((-1.0 + MARGIN, 1.0 - MARGIN),)
# Between two integers, off the jumps of floor, ceil and round.
BETWEEN_INTEGERS: Final[Pieces] = tuple(
    (k + MARGIN, k + 1 - MARGIN) for k in range(-int(CAP), int(CAP))
)
# Halfway points of round(x) are at k + 0.5: keep away from them.
OFF_HALVES: Final[Pieces] = tuple((k - 0.5 + MARGIN, k + 0.5 - MARGIN) for k in range(-99, 100))


@dataclass(frozen=True)
class Domain:
    """One operation's domain and oracles (see the module's docstring).

    ``pieces(consts)`` gives the allowed values of each input (the last entry serves every
    further input of an n-ary operation); ``image(intervals, consts)`` encloses the output for
    inputs in those intervals, or is None when it could leave [-CAP, CAP]. ``reference(mp, *a)``,
    ``partials(mp, *a)`` and ``torch(torch, *a)`` take the inputs as the rule does (one by one,
    or one sequence for an n-ary operation), then the constants. ``consts`` lists sample values
    of the constant arguments, readable ones first; ``constant_ok`` says whether each input may
    be a number; ``ranges`` (one per constant) are intervals to draw further random constants
    from; ``counts`` bounds an n-ary operation's inputs; ``apart`` asks two inputs'
    intervals to be MARGIN apart (a tie is the kink of maximum and minimum).
    """

    pieces: Callable[[tuple[Any, ...]], tuple[Pieces, ...]]
    image: Image
    reference: Callable[..., Any]
    partials: Callable[..., list[Any]]
    torch: Callable[..., Any]
    consts: tuple[tuple[Any, ...], ...] = ((),)
    ranges: tuple[Interval, ...] = ()
    constant_ok: tuple[bool, ...] = (False,)
    counts: tuple[int, int] = (1, 1)
    apart: bool = False
    notes: str = field(default="", compare=False)


# ---------------------------------------------------------------------------------------------
# Interval arithmetic: sound enclosures of each op's output, so expressions stay valid
# ---------------------------------------------------------------------------------------------


def hull(*xs: float) -> Interval:
    """The smallest interval holding every x."""
    return (min(xs), max(xs))


def _add(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
    return (math.fsum(a for a, _ in ivs), math.fsum(b for _, b in ivs))


def _sub(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
    (a0, a1), (b0, b1) = ivs
    return (a0 - b1, a1 - b0)


def _mul(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
    (a0, a1), (b0, b1) = ivs
    return hull(a0 * b0, a0 * b1, a1 * b0, a1 * b1)


def _div(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
    # The divisor's pieces exclude 0, so 1/b is monotone on its interval.
    (b0, b1) = ivs[1]
    return _mul([ivs[0], (1.0 / b1, 1.0 / b0)])


def _neg(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
    (a0, a1) = ivs[0]
    return (-a1, -a0)


def _abs(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
    (a0, a1) = ivs[0]
    return (a0, a1) if a0 > 0.0 else (-a1, -a0)  # the pieces keep 0 outside


def _increasing(f: Callable[[float], float]) -> Image:
    """The image of a monotone increasing function: its values at the two ends."""

    def image(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
        (a0, a1) = ivs[0]
        return (f(a0), f(a1))

    return image


def _decreasing(f: Callable[[float], float]) -> Image:
    def image(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
        (a0, a1) = ivs[0]
        return (f(a1), f(a0))

    return image


def _bounded(lo: float, hi: float) -> Image:
    """An image known in advance, whatever the input (sin, cos, atan2)."""

    def image(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
        return (lo, hi)

    return image


def _wave(shift: float) -> Image:
    """The image of sin(x + shift) over an interval: its ends, and ±1 where a crest lies inside."""

    def image(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
        (a0, a1) = ivs[0]
        if a1 - a0 >= 2.0 * math.pi:
            return (-1.0, 1.0)
        ends = [math.sin(a0 + shift), math.sin(a1 + shift)]
        lo, hi = min(ends), max(ends)
        # Crests of sin(x + shift) at pi/2 - shift + 2k pi, troughs at -pi/2 - shift + 2k pi.
        crest = math.pi / 2 - shift
        if crest + 2.0 * math.pi * math.ceil((a0 - crest) / (2.0 * math.pi)) <= a1:
            hi = 1.0
        trough = -math.pi / 2 - shift
        if trough + 2.0 * math.pi * math.ceil((a0 - trough) / (2.0 * math.pi)) <= a1:
            lo = -1.0
        return (lo, hi)

    return image


def _even(f: Callable[[float], float]) -> Image:
    """The image of an even function increasing in |x| (cosh)."""

    def image(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
        (a0, a1) = ivs[0]
        top = f(max(abs(a0), abs(a1)))
        bottom = f(0.0) if a0 <= 0.0 <= a1 else f(min(abs(a0), abs(a1)))
        return (bottom, top)

    return image


def _relu(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
    (a0, a1) = ivs[0]
    return (a0, a1) if a0 > 0.0 else (0.0, 0.0)


def _leaky_relu(ivs: Sequence[Interval], consts: tuple[Any, ...]) -> Interval:
    (a0, a1) = ivs[0]
    slope = consts[0]
    return (a0, a1) if a0 > 0.0 else hull(slope * a0, slope * a1)


def _power_const_pieces(consts: tuple[Any, ...]) -> tuple[Pieces, ...]:
    if not consts:
        return (POSITIVE,)  # valid whatever the exponent
    c = consts[0]
    if c.is_integer():
        return (ANY,) if c >= 0.0 else (NONZERO,)
    return (POSITIVE,)  # a negative base needs an integer exponent


def _power_const(ivs: Sequence[Interval], consts: tuple[Any, ...]) -> Interval | None:
    (a0, a1) = ivs[0]
    c = consts[0]
    if c > 0.0 and max(abs(a0), abs(a1)) ** c > CAP:
        return None  # the power could leave the safe range (checked before computing it)
    if c < 0.0 and min(abs(a0), abs(a1)) ** c > CAP:
        return None  # the pieces keep 0 out, but a base near it still gives a huge power
    ends = [a0**c, a1**c]
    if a0 < 0.0 < a1:
        ends.append(0.0)  # x ** 2 dips to 0 inside the interval
    return hull(*ends)


def _power(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval | None:
    # x ** y = exp(y * log x) with x > 0: bound the exponent before computing the power.
    (a0, a1), exponent = ivs
    lo, hi = _mul([exponent, (math.log(a0), math.log(a1))])
    if hi > LOG_CAP:
        return None
    return (math.exp(lo), math.exp(hi))


def _hypot(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
    (a0, a1), (b0, b1) = ivs
    big = math.hypot(max(abs(a0), abs(a1)), max(abs(b0), abs(b1)))
    return (0.0, big)


def _extremum(pick: Callable[[float, float], float]) -> Image:
    def image(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
        (a0, a1), (b0, b1) = ivs
        return (pick(a0, b0), pick(a1, b1))

    return image


CLAMP_BOUNDS: Final = ((-1.0, 1.0), (0.0, 1.0), (-0.5, 0.5), (-2.0, 0.0), (0.25, 3.0))


def _clamp_pieces(consts: tuple[Any, ...]) -> tuple[Pieces, ...]:
    # Off the two kinks, at low and at high; with no constants given, off every sample's.
    kinks = sorted(set(consts or [b for pair in CLAMP_BOUNDS for b in pair]))
    edges = [-CAP, *(k for kink in kinks for k in (kink - MARGIN, kink + MARGIN)), CAP]
    return (tuple((edges[i], edges[i + 1]) for i in range(0, len(edges), 2)),)


def _clamp(ivs: Sequence[Interval], consts: tuple[Any, ...]) -> Interval:
    (a0, a1) = ivs[0]
    low, high = consts
    return (min(max(a0, low), high), min(max(a1, low), high))


def _step(f: Callable[..., float]) -> Image:
    def image(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
        (a0, a1) = ivs[0]
        return (f(a0, *consts), f(a1, *consts))

    return image


def _sign(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
    (a0, _) = ivs[0]
    return (1.0, 1.0) if a0 > 0.0 else (-1.0, -1.0)  # the pieces keep 0 outside


def _dot(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
    n = len(ivs) // 2
    return _add([_mul([ivs[i], ivs[n + i]]) for i in range(n)])


def _logsumexp(ivs: Sequence[Interval], consts: tuple[Any, ...] = ()) -> Interval:
    return (max(a for a, _ in ivs), max(b for _, b in ivs) + math.log(len(ivs)))


def _log_softmax(ivs: Sequence[Interval], consts: tuple[Any, ...]) -> Interval:
    (index,) = consts
    lowest_lse = max(a for a, _ in ivs)
    highest_lse = max(b for _, b in ivs) + math.log(len(ivs))
    return (ivs[index][0] - highest_lse, min(0.0, ivs[index][1] - lowest_lse))


# ---------------------------------------------------------------------------------------------
# Oracles written with mpmath (mp) and torch (t), independent of rules.py
# ---------------------------------------------------------------------------------------------


def _same(pieces: Pieces, n: int = 1) -> Callable[[tuple[Any, ...]], tuple[Pieces, ...]]:
    return lambda consts: (pieces,) * n


def _power_slope(mp: Any, x: Any, c: Any) -> Any:
    return 0 if c == 0 else c * mp.power(x, c - 1)


def _indicator(condition: bool) -> int:
    return 1 if condition else 0


def _softmax(mp: Any, xs: Sequence[Any]) -> list[Any]:
    top = max(xs)
    weights = [mp.exp(x - top) for x in xs]
    total = mp.fsum(weights)
    return [w / total for w in weights]


def _mp_logsumexp(mp: Any, xs: Sequence[Any]) -> Any:
    top = max(xs)
    return top + mp.log(mp.fsum(mp.exp(x - top) for x in xs))


def _t_stack(t: Any, xs: Sequence[Any]) -> Any:
    return t.stack([t.as_tensor(x, dtype=t.float64) for x in xs])


def _t_dot(t: Any, operands: Sequence[Any]) -> Any:
    n = len(operands) // 2
    return (_t_stack(t, operands[:n]) * _t_stack(t, operands[n:])).sum()


def _mp_dot(mp: Any, operands: Sequence[Any]) -> Any:
    n = len(operands) // 2
    return mp.fsum(w * x for w, x in zip(operands[:n], operands[n:], strict=True))


def _mp_dot_partials(mp: Any, operands: Sequence[Any]) -> list[Any]:
    n = len(operands) // 2
    return [*operands[n:], *operands[:n]]


def _mp_round(mp: Any, x: Any, ndigits: int) -> Any:
    scale = mp.mpf(10) ** ndigits
    return mp.nint(x * scale) / scale  # nint rounds halves to even, as Python does


DOMAINS: Final[dict[str, Domain]] = {
    "add": Domain(
        _same(ANY, 2),
        _add,
        reference=lambda mp, x, y: x + y,
        partials=lambda mp, x, y: [1, 1],
        torch=lambda t, x, y: x + y,
        constant_ok=(True, True),
    ),
    "sub": Domain(
        _same(ANY, 2),
        _sub,
        reference=lambda mp, x, y: x - y,
        partials=lambda mp, x, y: [1, -1],
        torch=lambda t, x, y: x - y,
        constant_ok=(True, True),
    ),
    "neg": Domain(
        _same(ANY),
        _neg,
        reference=lambda mp, x: -x,
        partials=lambda mp, x: [-1],
        torch=lambda t, x: -x,
    ),
    "mul": Domain(
        _same(ANY, 2),
        _mul,
        reference=lambda mp, x, y: x * y,
        partials=lambda mp, x, y: [y, x],
        torch=lambda t, x, y: x * y,
        constant_ok=(True, True),
    ),
    "div": Domain(
        lambda consts: (ANY, NONZERO),
        _div,
        reference=lambda mp, x, y: x / y,
        partials=lambda mp, x, y: [1 / y, -x / y**2],
        torch=lambda t, x, y: x / y,
        constant_ok=(True, True),
    ),
    "pow_const": Domain(
        _power_const_pieces,
        _power_const,
        reference=lambda mp, x, c: mp.power(x, c),
        partials=lambda mp, x, c: [_power_slope(mp, x, c)],
        torch=lambda t, x, c: x**c,
        consts=(
            (2.0,),
            (3.0,),
            (-1.0,),
            (0.5,),
            (1.5,),
            (-2.0,),
            (0.0,),
            (1.0,),
            (4.0,),
            (-0.5,),
            (-0.0,),
            (2.5,),
            (-1.5,),
        ),
        ranges=((-3.0, 3.0),),
    ),
    "pow": Domain(
        lambda consts: (POSITIVE, ((-4.0, 4.0),)),
        _power,
        reference=lambda mp, x, y: mp.power(x, y),
        partials=lambda mp, x, y: [_power_slope(mp, x, y), mp.power(x, y) * mp.log(x)],
        torch=lambda t, x, y: x**y,
        # A constant exponent would make the engine's `x ** c`: that is pow_const, not pow.
        constant_ok=(True, False),
        notes="torch 2.13's double backward is wrong at an exponent of exactly 0",
    ),
    "abs": Domain(
        _same(NONZERO),
        _abs,
        reference=lambda mp, x: abs(x),
        partials=lambda mp, x: [mp.sign(x)],
        torch=lambda t, x: t.abs(x),
    ),
    "exp": Domain(
        _same(((-CAP, LOG_CAP),)),
        _increasing(math.exp),
        reference=lambda mp, x: mp.exp(x),
        partials=lambda mp, x: [mp.exp(x)],
        torch=lambda t, x: t.exp(x),
    ),
    "expm1": Domain(
        _same(((-CAP, math.log1p(CAP)),)),
        _increasing(math.expm1),
        reference=lambda mp, x: mp.expm1(x),
        partials=lambda mp, x: [mp.exp(x)],
        torch=lambda t, x: t.expm1(x),
    ),
    "log": Domain(
        _same(POSITIVE),
        _increasing(math.log),
        reference=lambda mp, x: mp.log(x),
        partials=lambda mp, x: [1 / x],
        torch=lambda t, x: t.log(x),
    ),
    "log2": Domain(
        _same(POSITIVE),
        _increasing(math.log2),
        reference=lambda mp, x: mp.log(x, 2),
        partials=lambda mp, x: [1 / (x * mp.log(2))],
        torch=lambda t, x: t.log2(x),
    ),
    "log10": Domain(
        _same(POSITIVE),
        _increasing(math.log10),
        reference=lambda mp, x: mp.log10(x),
        partials=lambda mp, x: [1 / (x * mp.log(10))],
        torch=lambda t, x: t.log10(x),
    ),
    "log1p": Domain(
        _same(((-1.0 + MARGIN, CAP),)),
        _increasing(math.log1p),
        reference=lambda mp, x: mp.log1p(x),
        partials=lambda mp, x: [1 / (1 + x)],
        torch=lambda t, x: t.log1p(x),
    ),
    "sqrt": Domain(
        _same(POSITIVE),
        _increasing(math.sqrt),
        reference=lambda mp, x: mp.sqrt(x),
        partials=lambda mp, x: [1 / (2 * mp.sqrt(x))],
        torch=lambda t, x: t.sqrt(x),
    ),
    "sin": Domain(
        _same(ANY),
        _wave(0.0),
        reference=lambda mp, x: mp.sin(x),
        partials=lambda mp, x: [mp.cos(x)],
        torch=lambda t, x: t.sin(x),
    ),
    "cos": Domain(
        _same(ANY),
        _wave(math.pi / 2),
        reference=lambda mp, x: mp.cos(x),
        partials=lambda mp, x: [-mp.sin(x)],
        torch=lambda t, x: t.cos(x),
    ),
    "tan": Domain(
        # One branch, away from the poles at ±pi/2: tan(1.5) is about 14.
        _same(((-1.5, 1.5),)),
        _increasing(math.tan),
        reference=lambda mp, x: mp.tan(x),
        partials=lambda mp, x: [mp.sec(x) ** 2],
        torch=lambda t, x: t.tan(x),
    ),
    "asin": Domain(
        _same(UNIT),
        _increasing(math.asin),
        reference=lambda mp, x: mp.asin(x),
        partials=lambda mp, x: [1 / mp.sqrt(1 - x**2)],
        torch=lambda t, x: t.asin(x),
    ),
    "acos": Domain(
        _same(UNIT),
        _decreasing(math.acos),
        reference=lambda mp, x: mp.acos(x),
        partials=lambda mp, x: [-1 / mp.sqrt(1 - x**2)],
        torch=lambda t, x: t.acos(x),
    ),
    "atan": Domain(
        _same(ANY),
        _increasing(math.atan),
        reference=lambda mp, x: mp.atan(x),
        partials=lambda mp, x: [1 / (1 + x**2)],
        torch=lambda t, x: t.atan(x),
    ),
    "atan2": Domain(
        # y off 0: away from the origin and from the cut along the negative x axis.
        lambda consts: (NONZERO, ANY),
        _bounded(-math.pi, math.pi),
        reference=lambda mp, y, x: mp.atan2(y, x),
        partials=lambda mp, y, x: [x / (x**2 + y**2), -y / (x**2 + y**2)],
        torch=lambda t, y, x: t.atan2(y, x),
        constant_ok=(True, True),
    ),
    "hypot": Domain(
        lambda consts: (NONZERO, ANY),
        _hypot,
        reference=lambda mp, x, y: mp.hypot(x, y),
        partials=lambda mp, x, y: [x / mp.hypot(x, y), y / mp.hypot(x, y)],
        torch=lambda t, x, y: t.hypot(x, y),
        constant_ok=(True, True),
    ),
    "sinh": Domain(
        _same(((-5.0, 5.0),)),
        _increasing(math.sinh),
        reference=lambda mp, x: mp.sinh(x),
        partials=lambda mp, x: [mp.cosh(x)],
        torch=lambda t, x: t.sinh(x),
    ),
    "cosh": Domain(
        _same(((-5.0, 5.0),)),
        _even(math.cosh),
        reference=lambda mp, x: mp.cosh(x),
        partials=lambda mp, x: [mp.sinh(x)],
        torch=lambda t, x: t.cosh(x),
    ),
    "tanh": Domain(
        _same(ANY),
        _increasing(math.tanh),
        reference=lambda mp, x: mp.tanh(x),
        partials=lambda mp, x: [mp.sech(x) ** 2],
        torch=lambda t, x: t.tanh(x),
    ),
    "sigmoid": Domain(
        _same(ANY),
        _increasing(lambda x: 1.0 / (1.0 + math.exp(-x))),
        reference=lambda mp, x: 1 / (1 + mp.exp(-x)),
        partials=lambda mp, x: [mp.exp(-x) / (1 + mp.exp(-x)) ** 2],
        torch=lambda t, x: t.sigmoid(x),
    ),
    "softplus": Domain(
        _same(ANY),
        _increasing(lambda x: math.log1p(math.exp(x))),
        reference=lambda mp, x: mp.log(1 + mp.exp(x)),
        partials=lambda mp, x: [1 / (1 + mp.exp(-x))],
        # torch switches to x itself above `threshold`; ours is exact there, so move it away.
        torch=lambda t, x: t.nn.functional.softplus(x, beta=1.0, threshold=1000.0),
    ),
    "relu": Domain(
        _same(NONZERO),
        _relu,
        reference=lambda mp, x: x if x > 0 else mp.mpf(0),
        partials=lambda mp, x: [_indicator(x > 0)],
        torch=lambda t, x: t.relu(x),
    ),
    "leaky_relu": Domain(
        _same(NONZERO),
        _leaky_relu,
        reference=lambda mp, x, slope: x if x > 0 else slope * x,
        partials=lambda mp, x, slope: [1 if x > 0 else slope],
        torch=lambda t, x, slope: t.nn.functional.leaky_relu(x, negative_slope=slope),
        consts=((0.1,), (0.01,), (0.2,), (0.5,), (0.0,), (1.0,)),
        ranges=((0.0, 1.0),),
    ),
    "maximum": Domain(
        _same(ANY, 2),
        _extremum(max),
        reference=lambda mp, x, y: max(x, y),
        partials=lambda mp, x, y: [_indicator(x > y), _indicator(y > x)],
        torch=lambda t, x, y: t.maximum(x, y),
        constant_ok=(True, True),
        apart=True,
    ),
    "minimum": Domain(
        _same(ANY, 2),
        _extremum(min),
        reference=lambda mp, x, y: min(x, y),
        partials=lambda mp, x, y: [_indicator(x < y), _indicator(y < x)],
        torch=lambda t, x, y: t.minimum(x, y),
        constant_ok=(True, True),
        apart=True,
    ),
    "clamp": Domain(
        _clamp_pieces,
        _clamp,
        reference=lambda mp, x, low, high: min(max(x, mp.mpf(low)), mp.mpf(high)),
        partials=lambda mp, x, low, high: [_indicator(low <= x <= high)],
        torch=lambda t, x, low, high: t.clamp(x, low, high),
        consts=CLAMP_BOUNDS,
    ),
    "sign": Domain(
        _same(NONZERO),
        _sign,
        reference=lambda mp, x: mp.sign(x),
        partials=lambda mp, x: [0],
        torch=lambda t, x: t.sign(x),
    ),
    "floor": Domain(
        _same(BETWEEN_INTEGERS),
        _step(math.floor),
        reference=lambda mp, x: mp.floor(x),
        partials=lambda mp, x: [0],
        torch=lambda t, x: t.floor(x),
    ),
    "ceil": Domain(
        _same(BETWEEN_INTEGERS),
        _step(math.ceil),
        reference=lambda mp, x: mp.ceil(x),
        partials=lambda mp, x: [0],
        torch=lambda t, x: t.ceil(x),
    ),
    "round": Domain(
        _same(OFF_HALVES),
        _step(lambda x, ndigits: float(round(x, ndigits))),
        reference=_mp_round,
        partials=lambda mp, x, ndigits: [0],
        torch=lambda t, x, ndigits: t.round(x, decimals=ndigits),
        consts=((0,),),
    ),
    "sum": Domain(
        _same(ANY),
        _add,
        reference=lambda mp, xs: mp.fsum(xs),
        partials=lambda mp, xs: [1] * len(xs),
        torch=lambda t, xs: _t_stack(t, xs).sum(),
        constant_ok=(True,),
        counts=(1, 5),
    ),
    "dot": Domain(
        _same(ANY),
        _dot,
        reference=_mp_dot,
        partials=_mp_dot_partials,
        torch=_t_dot,
        constant_ok=(True,),
        counts=(1, 3),  # pairs (w, x)
    ),
    "logsumexp": Domain(
        _same(((-CAP, LOG_CAP),)),
        _logsumexp,
        reference=_mp_logsumexp,
        partials=_softmax,
        torch=lambda t, xs: t.logsumexp(_t_stack(t, xs), 0),
        counts=(1, 4),
    ),
    "log_softmax": Domain(
        _same(((-CAP / 2, CAP / 2),)),
        _log_softmax,
        reference=lambda mp, xs, index: xs[index] - _mp_logsumexp(mp, xs),
        partials=lambda mp, xs, index: [
            _indicator(i == index) - s for i, s in enumerate(_softmax(mp, xs))
        ],
        torch=lambda t, xs, index: t.log_softmax(_t_stack(t, xs), 0)[index],
        consts=((0,), (1,), (2,), (3,)),  # the index: drawn below the number of inputs
        counts=(1, 4),
    ),
}


def call(
    oracle: Callable[..., Any], module: Any, name: str, inputs: Sequence[Any], consts: Sequence[Any]
) -> Any:
    """An oracle of the operation ``name`` applied as its rule is: inputs one by one, or as one
    sequence for an n-ary operation, then the constants; ``module`` is mpmath or torch."""
    from autograd_lite.rules import OPERATIONS, VARIADIC  # the table, for each op's arity

    if OPERATIONS[name].arity == VARIADIC:
        return oracle(module, list(inputs), *consts)
    return oracle(module, *inputs, *consts)
