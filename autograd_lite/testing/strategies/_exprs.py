"""Expressions as descriptions: `Expr`, `Step`, `Case`; running, describing and generating them.

Expressions are generated as *descriptions* (a small list-of-steps IR), not as Values: the same
description runs on Values, on plain floats and on mpmath numbers, and a failing case shrinks to
something readable such as ``Case('tanh(x0)', x0=1.0)``. Generation keeps every step inside its
op's domain by interval arithmetic, for every point of the inputs' boxes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, TypeAlias

from hypothesis import reject
from hypothesis import strategies as st

from autograd_lite.engine import Value
from autograd_lite.testing._domains import CAP, MARGIN, PAD, Interval, Pieces
from autograd_lite.testing.strategies._ops import (
    OPS,
    OpSpec,
    bounded_floats,
    draw_consts,
    draw_count,
    spec_of,
)

__all__ = [
    "Arg",
    "Case",
    "Expr",
    "Step",
    "cases",
    "dags",
    "describe",
    "evaluate",
    "expressions",
    "points",
]

# The boxes an input's value is drawn from (the first is where shrinking goes). The narrow last
# one lies between two integers, where floor, ceil and round are smooth.
BOXES: tuple[tuple[float, float], ...] = ((0.5, 2.0), (-2.0, -0.5), (-1.0, 1.0), (0.1, 0.4))
# Numbers that appear as constants inside expressions.
CONSTANTS: tuple[float, ...] = (2.0, 0.5, -1.0, 3.0, -0.25)

# An argument of a step: ("x", i) is input i, ("t", j) the result of step j, a float a constant.
Arg: TypeAlias = tuple[str, int] | float


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
    if op.name == "pow_const":
        return f"{wrap(operands[0])} ** {step.consts[0]!r}", False
    if op.symbol:
        left, right = operands
        return f"{wrap(left)} {op.symbol} {wrap(right)}", False
    texts = [text for text, _ in operands]
    if op.name == "dot":
        n = len(texts) // 2
        return f"dot([{', '.join(texts[:n])}], [{', '.join(texts[n:])}])", True
    if op.arity == 0 and step.consts:  # an n-ary op with constants: its inputs as a list
        return f"{op.name}([{', '.join(texts)}], {', '.join(map(repr, step.consts))})", True
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
    count = draw_count(draw, spec)
    consts = draw_consts(draw, spec, count)
    if consts is None:
        return last
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
        if spec.apart and chosen:
            # A tie is maximum's kink: keep the two operands' ranges MARGIN apart.
            first = chosen[0].interval
            fits = [
                c
                for c in fits
                if c.interval[0] > first[1] + MARGIN or c.interval[1] < first[0] - MARGIN
            ]
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
    specs = tuple(OPS.values()) if ops is None else tuple(spec_of(op) for op in ops)
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
    >>> @given(cases(["tanh", "mul", "add"]))
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
