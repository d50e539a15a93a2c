"""The rules' third arithmetic: numbers that are pieces of Python code, and the code of a node.

Run with a `Writer` as its ``m``, a rule of ``autograd_lite.rules`` computes nothing: its inputs
are names, ``x + y`` is the text ``x + y``, ``m.exp(x)`` writes a call of ``exp``, and each
comparison is a condition whose outcome the writer chooses. Running the rule once per path
through its comparisons gives every branch, and `template` turns those runs into the code of one
node: an if/else chain computing the node's value and local derivatives with exactly the float
operations the rule performs on floats. No derivative is written here: they all come from rules.
"""

from __future__ import annotations

import itertools
import math
import operator
import re
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from autograd_lite import _checks
from autograd_lite.engine import Op
from autograd_lite.rules import FLOATS, OPERATIONS

__all__ = [
    "ATOM",
    "PRODUCT",
    "Template",
    "Unsupported",
    "constants_used",
    "literal",
    "rule_caller",
    "template",
]

# Python's precedence, as far as the rules need it: an atom (a name, a call, a positive
# number), -x, x * y and x / y, x + y and x - y, a comparison.
ATOM: Final = 6
UNARY: Final = 5
PRODUCT: Final = 4
SUM: Final = 3
COMPARISON: Final = 1

# More paths through one rule than this, and its nodes call the rule on floats instead.
MAX_PATHS: Final = 64

# FLOATS functions with a faster twin that gives the same float wherever the twin does not
# raise: math.exp raises OverflowError where FLOATS.exp raises its own, math.sin raises for an
# infinity where FLOATS.sin returns NaN. A replay that raises is done again in graph mode, so a
# twin's error never reaches anyone: graph mode's result, or its error, does.
FAST: Final[dict[str, Callable[..., Any]]] = {
    "exp": math.exp,
    "expm1": math.expm1,
    "log": math.log,
    "log2": math.log2,
    "log10": math.log10,
    "log1p": math.log1p,
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "sinh": math.sinh,
    "cosh": math.cosh,
    # x ** y where that is a float; math.pow raises where FLOATS.pow raises or would return a
    # complex number, and where FLOATS.ieee_pow returns an infinity (graph mode then gives it).
    "pow": math.pow,
    "ieee_pow": math.pow,
}

# What the inline forms of a few calls need: fsum(map(mul, ws, xs)) is FLOATS.dot, and
# fsum(xs) FLOATS.sum, wherever math.fsum does not raise (an infinity, an overflow).
INLINE_NAMES: Final[dict[str, Any]] = {"fsum": math.fsum, "map": map, "mul": operator.mul}


class Unsupported(TypeError):
    """A rule did something the code arithmetic cannot write: its nodes call the rule instead."""


# ---------------------------------------------------------------------------------------------
# Numbers as code
# ---------------------------------------------------------------------------------------------


def literal(x: float | int) -> str:
    """A number as an atom of Python source that evaluates to exactly it (-0.0 and NaNs too)."""
    text, precedence = _number(x)
    return text if precedence == ATOM else f"({text})"


def _number(x: float | int) -> tuple[str, int]:
    """A number as Python source, and its precedence (a negative number is -x)."""
    if type(x) is int:
        return repr(x), ATOM if x >= 0 else UNARY
    x = float(x)
    if math.isfinite(x):
        text = repr(x)
        return text, UNARY if text.startswith("-") else ATOM
    if math.isinf(x):
        return ("INF", ATOM) if x > 0.0 else ("-INF", UNARY)
    (bits,) = struct.unpack("<Q", struct.pack("<d", x))
    # repr() forgets a NaN's bits; the name keeps them.
    return ("NAN" if bits == _NAN_BITS else f"NAN_{bits:016x}"), ATOM


(_NAN_BITS,) = struct.unpack("<Q", struct.pack("<d", math.nan))


def constants_used(text: str) -> dict[str, float]:
    """The names of non-finite numbers in a piece of code, with the floats they stand for."""
    names: dict[str, float] = {}
    for match in _CONSTANT_NAME.finditer(text):
        name, bits = match.group(0), match.group(1)
        if name == "INF":
            names[name] = math.inf
        elif bits is None:
            names[name] = math.nan
        else:
            names[name] = struct.unpack("<d", struct.pack("<Q", int(bits, 16)))[0]
    return names


_CONSTANT_NAME: Final = re.compile(r"\b(?:INF|NAN(?:_([0-9a-f]{16}))?)\b")


class Code:
    """A number that is a Python expression: what a rule computes with when it writes code."""

    __slots__ = ("precedence", "run", "text")

    def __init__(self, run: _Run, text: str, precedence: int = ATOM) -> None:
        self.run = run
        self.text = text
        self.precedence = precedence

    def __repr__(self) -> str:
        return f"Code({self.text!r})"

    def wrapped(self, precedence: int) -> str:
        """The text, in parentheses if it binds less tightly than ``precedence`` needs."""
        return self.text if self.precedence >= precedence else f"({self.text})"

    # -- arithmetic: each operation writes itself, its operands in the rule's order -------------

    def _binary(self, other: object, symbol: str, precedence: int, reflected: bool) -> Code:
        y = self.run.operand(other)
        left, right = (y, self) if reflected else (self, y)
        # The right operand keeps its parentheses for + and * too: float arithmetic is not
        # associative, and x + (y + z) must stay what the rule computed.
        text = f"{left.wrapped(precedence)} {symbol} {right.wrapped(precedence + 1)}"
        return Code(self.run, text, precedence)

    def __add__(self, other: object) -> Code:
        return self._binary(other, "+", SUM, False)

    def __radd__(self, other: object) -> Code:
        return self._binary(other, "+", SUM, True)

    def __sub__(self, other: object) -> Code:
        return self._binary(other, "-", SUM, False)

    def __rsub__(self, other: object) -> Code:
        return self._binary(other, "-", SUM, True)

    def __mul__(self, other: object) -> Code:
        return self._binary(other, "*", PRODUCT, False)

    def __rmul__(self, other: object) -> Code:
        return self._binary(other, "*", PRODUCT, True)

    def __truediv__(self, other: object) -> Code:
        return self._binary(other, "/", PRODUCT, False)

    def __rtruediv__(self, other: object) -> Code:
        return self._binary(other, "/", PRODUCT, True)

    def __neg__(self) -> Code:
        return Code(self.run, f"-{self.wrapped(UNARY)}", UNARY)

    def __pos__(self) -> Code:
        return Code(self.run, f"+{self.wrapped(UNARY)}", UNARY)

    # -- comparisons: conditions the writer decides, once each way ------------------------------

    def _compare(self, other: object, symbol: str) -> bool:
        y = self.run.operand(other)
        text = f"{self.wrapped(SUM)} {symbol} {y.wrapped(SUM)}"
        return self.run.decide(text)

    def __lt__(self, other: object) -> bool:
        return self._compare(other, "<")

    def __le__(self, other: object) -> bool:
        return self._compare(other, "<=")

    def __gt__(self, other: object) -> bool:
        return self._compare(other, ">")

    def __ge__(self, other: object) -> bool:
        return self._compare(other, ">=")

    def __eq__(self, other: object) -> bool:  # a condition to decide, as for floats
        return self._compare(other, "==")

    def __ne__(self, other: object) -> bool:
        return self._compare(other, "!=")

    def __bool__(self) -> bool:
        return self.run.decide(self.text)  # `if x:` means x != 0 for a float, and in the code

    __hash__ = object.__hash__

    def __float__(self) -> float:
        msg = "a number of the code arithmetic has no value yet"
        raise Unsupported(msg)


class Inputs(tuple[Code, ...]):
    """The inputs of an n-ary rule: Codes that remember which inputs they are, sliced or not."""

    indices: tuple[int, ...]

    def __new__(cls, items: Sequence[Code], indices: tuple[int, ...]) -> Inputs:
        made = super().__new__(cls, items)
        made.indices = indices
        return made

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return Inputs(tuple.__getitem__(self, key), self.indices[key])
        return tuple.__getitem__(self, key)


# ---------------------------------------------------------------------------------------------
# One run of a rule
# ---------------------------------------------------------------------------------------------


@dataclass
class _Call:
    """A call the rule made, ``name = expression``; its name is chosen when it is written out."""

    ordinal: int
    expression: str
    token: str
    name: str = ""


class _Run:
    """One run of a rule along one path: the calls it made and the conditions it met."""

    def __init__(self, choices: list[bool], sequences: list[tuple[int, ...]]) -> None:
        self.choices = choices  # the decisions to take, in order; a new one is appended
        self.decided = 0
        self.events: list[_Call | tuple[str, bool]] = []
        self.calls: list[_Call] = []
        self.sequences = sequences  # shared by every run of the rule: {s0} means one thing
        self.functions: set[str] = set()
        self.asked: list[tuple[str, bool]] = []

    def operand(self, x: object) -> Code:
        if isinstance(x, Code):
            return x
        if type(x) is float or type(x) is int:
            text, precedence = _number(x)
            return Code(self, text, precedence)
        msg = f"the code arithmetic cannot compute with {_checks.shown(x)}"
        raise Unsupported(msg)

    def decide(self, condition: str) -> bool:
        for asked, answer in self.asked:
            if asked == condition:
                return answer  # the same comparison again: its outcome is known on this path
        if self.decided == len(self.choices):
            if len(self.choices) >= MAX_PATHS:
                msg = "too many comparisons in one rule"
                raise Unsupported(msg)
            self.choices.append(True)
        choice = self.choices[self.decided]
        self.decided += 1
        self.events.append((condition, choice))
        self.asked.append((condition, choice))
        return choice

    def argument(self, x: object) -> str:
        """A call's argument as text: a number, an expression, or a sequence of them."""
        if isinstance(x, Inputs):
            if x.indices not in self.sequences:
                self.sequences.append(x.indices)
            return f"{{s{self.sequences.index(x.indices)}}}"
        if isinstance(x, list | tuple):
            items = [self.argument(item) for item in x]
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        return self.operand(x).text

    def call(self, name: str, args: tuple[Any, ...]) -> Code:
        short = _short_sum(name, args)
        if short is not None:
            return self._made(short)
        texts = [self.argument(a) for a in args]
        if name == "dot" and len(texts) == 2:
            expression = f"fsum(map(mul, {texts[0]}, {texts[1]}))"
        elif name == "sum" and len(texts) == 1:
            expression = f"fsum({texts[0]})"
        elif name == "div" and len(texts) == 2:
            left, right = (self.operand(a) for a in args)
            expression = f"{left.wrapped(PRODUCT)} / {right.wrapped(PRODUCT + 1)}"
        elif name in ("pow", "ieee_pow") and len(texts) == 2 and _whole(args[1]):
            # A whole exponent: x ** c is never complex, so it is FLOATS.pow (and ieee_pow)
            # wherever it does not raise (0.0 ** -1.0, an overflow).
            base = self.operand(args[0]).wrapped(ATOM)
            expression = f"{base} ** {self.operand(args[1]).wrapped(UNARY)}"
        else:
            expression = f"{name}({', '.join(texts)})"
            self.functions.add(name)
        return self._made(expression)

    def _made(self, expression: str) -> Code:
        made = _Call(len(self.calls), expression, f"\x01{len(self.calls)}\x02")
        self.calls.append(made)
        self.events.append(made)
        return Code(self, made.token)


def _short_sum(name: str, args: tuple[Any, ...]) -> str | None:
    """FLOATS.dot or FLOATS.sum of one or two terms, written out: ``0.0 + a * b + c * d``.

    math.fsum of one or two numbers is their IEEE sum, from 0.0 (a sum of zeros is +0.0), and
    where it raises (inf - inf, an overflow) FLOATS falls back to that very sum, left to right.
    """
    if name == "dot" and len(args) == 2 and all(isinstance(a, Inputs) for a in args):
        ws, xs = args
        if len(ws) != len(xs) or not 1 <= len(ws) <= 2:
            return None
        terms = [f"{w.wrapped(PRODUCT)} * {x.wrapped(PRODUCT + 1)}" for w, x in zip(ws, xs)]
    elif name == "sum" and len(args) == 1 and isinstance(args[0], Inputs):
        if not 1 <= len(args[0]) <= 2:
            return None
        terms = [x.wrapped(SUM + 1) for x in args[0]]
    else:
        return None
    return " + ".join(["0.0", *terms])


def _whole(x: object) -> bool:
    return type(x) is float and math.isfinite(x) and x.is_integer()


class Writer:
    """The ``m`` of a rule that writes code: ``m.exp(x)`` writes a call of ``exp``."""

    def __init__(self, run: _Run) -> None:
        self._run = run

    def __getattr__(self, name: str) -> Callable[..., Code]:
        if name.startswith("_") or not hasattr(FLOATS, name):
            msg = f"the rules' arithmetic has no function {name!r}"
            raise AttributeError(msg)
        run = self._run

        def call(*args: Any) -> Code:
            return run.call(name, args)

        return call


# ---------------------------------------------------------------------------------------------
# Every path through a rule, and the code of one node
# ---------------------------------------------------------------------------------------------


@dataclass
class Template:
    """The code of one node of an operation, with holes for the names of a particular node.

    ``block`` is a ``str.format`` pattern of one or more lines that assigns ``v{N}`` (the
    value) and each ``d{N}_k`` (a local derivative that differs between branches); ``{i}`` is
    input i and ``{sK}`` the tuple of the inputs listed in ``sequences[K]``. Each entry of
    ``partials`` is an input's index (the derivative is that input) or ``(pattern,
    precedence)`` of an expression valid after the block. ``names`` are what the code calls.
    """

    block: str
    partials: tuple[int | tuple[str, int], ...]
    sequences: tuple[tuple[int, ...], ...]
    names: dict[str, Any] = field(default_factory=dict)
    fallback: bool = False


@dataclass
class _Path:
    """One complete run of a rule: its events, then its value and local derivatives."""

    run: _Run
    out: tuple[str, int]
    partials: list[tuple[str, int]]


def template(op: Op, n_inputs: int) -> Template:
    """The code of a node of op with n_inputs inputs, written by op's own rule."""
    try:
        return _template(op, n_inputs)
    except Exception:  # whatever the rule could not do with Codes: call it on floats instead
        return _fallback(op, n_inputs)


def _paths(op: Op, n_inputs: int) -> list[_Path]:
    """Run op's rule once along each path through its comparisons."""
    # A user's primitive() checks its rule's numbers; a rule of the table gives floats.
    checked = OPERATIONS.get(op.name) is not op.operation
    sequences: list[tuple[int, ...]] = []
    paths: list[_Path] = []
    pending: list[list[bool]] = [[]]
    while pending:
        choices = pending.pop()
        fixed = len(choices)
        run = _Run(choices, sequences)
        placeholders = [Code(run, f"{{{i}}}") for i in range(n_inputs)]
        inputs: Sequence[Code] = (
            Inputs(placeholders, tuple(range(n_inputs))) if op.variadic else placeholders
        )
        out, partials = op.run(Writer(run), inputs)
        if not isinstance(partials, Sequence) or len(partials) != n_inputs:
            msg = "a rule must give one local derivative per input"
            raise Unsupported(msg)
        paths.append(
            _Path(run, _output(run, out, checked), [_output(run, d, checked) for d in partials])
        )
        if len(paths) > MAX_PATHS:
            msg = "too many paths through one rule"
            raise Unsupported(msg)
        # Each decision this run took on its own could have gone the other way.
        for i in range(fixed, len(run.choices)):
            pending.append([*run.choices[:i], not run.choices[i]])
    return paths


def _output(run: _Run, x: object, checked: bool) -> tuple[str, int]:
    """A value or derivative the rule returned, as text and precedence."""
    if isinstance(x, Code):
        return x.text, x.precedence
    if type(x) is float or (checked and _checks.is_number(x)):
        return _number(_checks.real(x, "a rule's result"))  # what primitive() stores
    msg = f"a rule returned {_checks.shown(x)} where a number belongs"
    raise Unsupported(msg)


def _template(op: Op, n_inputs: int) -> Template:
    paths = _paths(op, n_inputs)
    _name_calls(paths)
    rendered = _merged([_render(p) for p in paths])
    shared = _shared_partials(rendered)
    for path in rendered:
        tail = path.segments[-1]
        if path.out[0] != "v{N}":
            tail.append(f"v{{N}} = {path.out[0]}")
        for k, (text, _) in enumerate(path.partials):
            if shared[k] is None:
                tail.append(f"d{{N}}_{k} = {text}")
    block = "\n".join(_tree(rendered, 0, "", False))
    partials: list[int | tuple[str, int]] = []
    for k, common in enumerate(shared):
        if common is None:
            partials.append((f"d{{N}}_{k}", ATOM))
        elif _is_placeholder(common[0]):
            partials.append(int(common[0][1:-1]))
        else:
            partials.append(common)
    names: dict[str, Any] = dict(INLINE_NAMES)
    for p in paths:
        for name in p.run.functions:
            names[name] = FAST.get(name, getattr(FLOATS, name))
    names.update(constants_used(block))
    for entry in partials:
        if isinstance(entry, tuple):
            names.update(constants_used(entry[0]))
    return Template(block, tuple(partials), tuple(paths[0].run.sequences), names)


@dataclass
class _Rendered:
    """A path written out: its decisions, the lines before, between and after them, results."""

    decisions: list[tuple[str, bool]]
    segments: list[list[str]]  # one more than the decisions
    out: tuple[str, int]
    partials: list[tuple[str, int]]


def _render(path: _Path) -> _Rendered:
    run = path.run
    decisions: list[tuple[str, bool]] = []
    segments: list[list[str]] = [[]]
    for event in run.events:
        if isinstance(event, tuple):
            decisions.append((_resolve(run, event[0]), event[1]))
            segments.append([])
        else:
            name = event.name or _temporary(event)
            segments[-1].append(f"{name} = {_resolve(run, event.expression)}")
    out = (_resolve(run, path.out[0]), path.out[1])
    partials = [(_resolve(run, text), precedence) for text, precedence in path.partials]
    return _Rendered(decisions, segments, out, partials)


def _merged(paths: list[_Rendered]) -> list[_Rendered]:
    """The paths with every comparison that changes nothing dropped (x == 0.0 for x ** 2)."""
    changed = True
    while changed:
        changed = False
        by_decisions = {tuple(p.decisions): p for p in paths}
        for p in paths:
            if not p.decisions:
                continue
            condition, choice = p.decisions[-1]
            other = by_decisions.get((*p.decisions[:-1], (condition, not choice)))
            if (
                other is not None
                and other.segments[-1] == p.segments[-1]
                and other.out == p.out
                and other.partials == p.partials
            ):
                merged = _Rendered(
                    p.decisions[:-1],
                    [*p.segments[:-2], p.segments[-2] + p.segments[-1]],
                    p.out,
                    p.partials,
                )
                paths = [q for q in paths if q is not p and q is not other] + [merged]
                changed = True
                break
    return paths


_MARK: Final = "\x00"


def _is_placeholder(text: str) -> bool:
    return text.startswith("{") and text.endswith("}") and text[1:-1].isdigit()


def _temporary(call: _Call) -> str:
    return f"t{{N}}_{call.ordinal}"


def _name_calls(paths: list[_Path]) -> None:
    """Name v{N} (d{N}_k) the call that is the node's value (a derivative) where it is made."""
    targets = [("v{N}", [p.out[0] for p in paths])]
    targets += [
        (f"d{{N}}_{k}", [p.partials[k][0] for p in paths]) for k in range(len(paths[0].partials))
    ]
    for name, texts in targets:
        # The same call on every path (exp: v = exp(x); sqrt, before its comparison).
        for ordinal, made in enumerate(paths[0].run.calls):
            if all(text == made.token for text in texts) and not made.name:
                for p in paths:
                    p.run.calls[ordinal].name = name
                break
        else:
            if name != "v{N}":
                continue
            # The value: on each path, a call made after its last condition is that path's own.
            for p, text in zip(paths, texts, strict=True):
                for event in reversed(p.run.events):
                    if isinstance(event, tuple):
                        break
                    if event.token == text and not event.name:
                        event.name = name
                        break


def _shared_partials(paths: list[_Rendered]) -> list[tuple[str, int] | None]:
    """Each local derivative that is one expression on every path, else None (a variable).

    Such a derivative is written where the backward sweep multiplies it: an input, a number,
    the node's value, or an expression of them. One with a division stays in the forward code,
    where graph mode computes it (1.0 / y could raise), and so does one that uses a temporary
    made after a comparison (it may not exist after the block).
    """
    before_any_condition = {line.split(" = ", 1)[0] for line in paths[0].segments[0]}
    shared: list[tuple[str, int] | None] = []
    for k in range(len(paths[0].partials)):
        texts = {p.partials[k] for p in paths}
        if len(texts) != 1:
            shared.append(None)
            continue
        ((text, precedence),) = texts
        temporaries = set(_TEMPORARY.findall(text))
        if "/" in text or not temporaries <= before_any_condition:
            shared.append(None)
        else:
            shared.append((text, precedence))
    return shared


_TEMPORARY: Final = re.compile(r"t\{N\}_\d+")


def _resolve(run: _Run, text: str) -> str:
    """Replace each call's token by the call's name."""
    if "\x01" not in text:
        return text
    for made in run.calls:
        if made.token in text:
            text = text.replace(made.token, made.name or _temporary(made))
    return text


def _tree(paths: list[_Rendered], depth: int, indent: str, chained: bool) -> Iterator[str]:
    """The lines of the paths that share their first ``depth`` decisions, as if/elif/else.

    ``chained``: this is an else-branch; if it is nothing but another comparison, it is
    written as ``elif``.
    """
    lines = paths[0].segments[depth]  # every path here has these lines before its next test
    if depth == len(paths[0].decisions):
        yield from (indent + line for line in lines)
        return
    condition = paths[0].decisions[depth][0]
    true = [p for p in paths if p.decisions[depth][1]]
    false = [p for p in paths if not p.decisions[depth][1]]
    if chained and not lines:
        head = f"{indent[:-4]}elif {condition}:"
        inner = indent
    else:
        yield from (indent + line for line in lines)
        head = f"{indent}if {condition}:"
        inner = indent + "    "
    yield head
    yield from list(_tree(true, depth + 1, inner, False)) or [inner + "pass"]
    false_lines = list(_tree(false, depth + 1, inner, True))
    if false_lines and false_lines[0].startswith(f"{inner[:-4]}elif "):
        yield from false_lines
    else:
        yield f"{inner[:-4]}else:"
        yield from false_lines or [inner + "pass"]


_SERIAL: Final = itertools.count()


def _fallback(op: Op, n_inputs: int) -> Template:
    """The code of a node whose rule the code arithmetic cannot run: a call of the rule."""
    name = f"RULE_{next(_SERIAL)}"
    inputs = ", ".join(f"{{{i}}}" for i in range(n_inputs))
    block = f"v{{N}}, d{{N}} = {name}({inputs})"
    partials: tuple[tuple[str, int], ...] = tuple((f"d{{N}}[{k}]", ATOM) for k in range(n_inputs))
    return Template(block, partials, (), {name: rule_caller(op, n_inputs)}, fallback=True)


def rule_caller(op: Op, n_inputs: int) -> Callable[..., tuple[float, tuple[float, ...]]]:
    """op's rule on floats, its numbers checked as `primitive` checks them."""
    checked = OPERATIONS.get(op.name) is not op.operation
    where = op.name

    def call(*inputs: float) -> tuple[float, tuple[float, ...]]:
        out, partials = op.run(FLOATS, list(inputs))
        if not checked:
            return out, tuple(partials)
        out = _checks.real(out, f"{where}() rule's output")
        if len(partials) != n_inputs:
            msg = (
                f"{where}() rule returned {len(partials)} partials for {n_inputs} inputs; it "
                "needs one per input"
            )
            raise ValueError(msg)
        return out, tuple(_checks.real(p, f"{where}() rule's partial") for p in partials)

    return call
