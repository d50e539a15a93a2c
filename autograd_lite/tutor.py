"""The checker of docs/build-your-own.md: is a learner's own engine right, exercise by exercise?

``python -m autograd_lite.tutor start`` writes the chapter's starter file, ``my_engine.py``
(shipped inside the package, so a pip-installed learner has it too), and
``python -m autograd_lite.tutor check my_engine.py`` checks each exercise against oracles that are
not the learner's code (``math``, gradcheck's central differences, this engine, ``optim.SGD``) on
cases hypothesis draws, derandomized, and shows the smallest that fails. Every mistake gets a
message, never a bare traceback. Checking needs hypothesis (the ``testing`` extra), not Graphviz.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.resources
import math
import operator
import os
import signal
import sys
import textwrap
import threading
import tokenize
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from autograd_lite._atomic import write_atomically
from autograd_lite._checks import flag
from autograd_lite.engine import Value, primitive

__all__ = [
    "EXERCISES",
    "Exercise",
    "Outcome",
    "Report",
    "check",
    "main",
    "start",
]

PROGRAM = "python -m autograd_lite.tutor"
CHAPTER = "docs/build-your-own.md"
STARTER = "my_engine.py"  # the name `start` gives the starter file, as the chapter does
# The starter, as package data: the same text as docs/build-your-own/my_engine.py (a test keeps
# them equal). Not a .py file, so that no tool takes it for a module of the package.
STARTER_DATA = "_tutor_files/my_engine.py.txt"
EXAMPLES = 100  # hypothesis examples per check
TIME_LIMIT = 10.0  # seconds that any one call into the learner's code may take
CHAIN = 5_000  # steps of y = y * a + b in the deep chain: 10,000 operations
CHAIN_A, CHAIN_B = 0.9999, 0.0001
RECURSION_LIMIT = 1_000  # Python's default, for the deep-chain checks
SMALLEST = "Smallest failing case:"
# How the checker calls each function, as the starter defines it.
SIGNATURES = {
    "exp_rule": "(x)",
    "tanh_rule": "(x)",
    "div_rule": "(x, y)",
    "topological_order": "(root)",
    "backward": "(root)",
    "sgd_step": "(params, lr)",
    "momentum_step": "(params, velocity, lr, beta)",
}
MAZUR_ERROR = "0.298371109"  # Matt Mazur's published total error, before any update
MAZUR_W5 = "0.35891648"  # and his w5 after the first update


class _Failure(Exception):
    """A check failed; the message says how, for the learner."""


# A BaseException, so that a learner's `except Exception:` cannot swallow it.
class _TimeUp(BaseException):
    """The learner's code ran past the time limit."""


# ---------------------------------------------------------------------------------------------
# The exercises and the report
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exercise:
    """One exercise of the chapter: its number, the function the learner writes, and what for."""

    number: str
    name: str
    what: str


EXERCISES: tuple[Exercise, ...] = (
    Exercise("1a", "exp_rule", "the rule for e ** x"),
    Exercise("1b", "tanh_rule", "the rule for tanh(x)"),
    Exercise("1c", "div_rule", "the rule for x / y"),
    Exercise("2", "topological_order", "every node after its parents, without recursion"),
    Exercise("3", "backward", "the sweep: parent.grad += partial * upstream"),
    Exercise("4", "momentum_step", "one heavy-ball step"),
)


@dataclass
class Outcome:
    """The result of one check: "passed", "failed", "todo" (not written yet) or "skipped"."""

    number: str  # the exercise's number, "" for a check that is not an exercise
    name: str
    status: str
    summary: str
    details: list[str] = field(default_factory=list)


_MARKS = {"passed": "passed ", "failed": "FAILED ", "todo": "to do  ", "skipped": "skipped"}


@dataclass
class Report:
    """Everything the checker found about one file."""

    path: str
    outcomes: list[Outcome] = field(default_factory=list)
    load_error: str | None = None

    @property
    def passed(self) -> bool:
        """True when the file loaded and every check run passed."""
        return self.load_error is None and all(o.status == "passed" for o in self.outcomes)

    def text(self) -> str:
        """The report as the command prints it."""
        lines = [f"Checking {self.path} against the exercises of {CHAPTER}", ""]
        if self.load_error is not None:
            return "\n".join(lines + _wrapped(self.load_error, ""))
        lines[-1:] = [
            "(cases drawn by hypothesis, derandomized: every run tries the same ones;",
            " a failing case is shrunk to the smallest that still fails)",
            "",
        ]
        width = max(len(o.name) for o in self.outcomes)
        for o in self.outcomes:
            head = f"  {_MARKS[o.status]}  {o.number:<3} {o.name:<{width}}  "
            lines += textwrap.wrap(
                head + o.summary, width=100, subsequent_indent=" " * len(head)
            ) or [head]
            for detail in o.details:
                lines += _wrapped(detail, "      ")
            if o.details:
                lines.append("")
        if lines[-1]:
            lines.append("")
        lines.append(self._verdict())
        return "\n".join(lines)

    def _verdict(self) -> str:
        exercises = [o for o in self.outcomes if o.number]
        if self.passed:
            whole = (
                " Well done: that is a whole engine." if len(exercises) == len(EXERCISES) else ""
            )
            return f"All {len(exercises)} exercises checked pass.{whole}"
        counts = {s: sum(o.status == s for o in exercises) for s in ("passed", "failed", "todo")}
        tally = f"{counts['passed']} passed, {counts['failed']} failed, {counts['todo']} to do."
        failed = next((o for o in self.outcomes if o.status == "failed"), None)
        if failed is not None:
            again = f"then run `{PROGRAM} check {self.path}` again."
            if not failed.number:
                return f"Fix {failed.name} first, {again}"
            return f"{tally} Fix exercise {failed.number} ({failed.name}) first, {again}"
        todo = next(o for o in self.outcomes if o.status == "todo")
        what = next(e.what for e in EXERCISES if e.name == todo.name)
        return f"{tally} Next: exercise {todo.number}, {todo.name}, {what} (see {CHAPTER})."


def _wrapped(text: str, indent: str, width: int = 100) -> list[str]:
    """Lines of text wrapped to width; a continuation is indented two more than its line."""
    lines = []
    for line in text.splitlines():
        own = line[: len(line) - len(line.lstrip())]
        pieces = textwrap.wrap(
            line,
            width=width,
            initial_indent=indent,
            subsequent_indent=indent + own + "  ",
            break_on_hyphens=False,
            break_long_words=False,
        )
        lines += pieces or [""]
    return lines


# ---------------------------------------------------------------------------------------------
# Loading the learner's file, and calling into it
# ---------------------------------------------------------------------------------------------


def _starter_text() -> str:
    """The starter file's text, from the package's own data (it works from a wheel, or a zip)."""
    return (
        importlib.resources.files("autograd_lite")
        .joinpath(STARTER_DATA)
        .read_text(encoding="utf-8")
    )


def start(path: str | os.PathLike[str] = STARTER, *, force: bool = False) -> Path:
    """Write the chapter's starter file at path (a folder gets a my_engine.py) and return it.

    Raises:
        FileExistsError: the file is there already, and ``force`` is not set (nothing changes).
        FileNotFoundError: the folder to write into does not exist.
    """
    flag(force, "start() force")
    target = Path(path)
    if target.is_dir():
        target = target / STARTER
    text = _starter_text()
    if force:
        write_atomically(target, text.encode("utf-8"))
    else:
        with target.open("x", encoding="utf-8", newline="") as f:  # "x": never overwrite
            f.write(text)
    return target


def _load(path: Path, time_limit: float) -> ModuleType | str:
    """The learner's module, or a message saying why it does not load."""
    shown = str(path)
    if not path.exists():
        return (
            f"There is no file {shown!r}. To begin the exercises, write the starter file there:"
            f"\n  {PROGRAM} start {shown}"
        )
    if path.is_dir():
        found = sorted(p.name for p in path.glob("*.py"))
        listed = f" It holds {', '.join(found)}." if found else ""
        return f"{shown} is a folder; give the checker your Python file.{listed}"
    try:
        with tokenize.open(path) as f:  # honours a coding declaration; UTF-8 by default
            source = f.read()
    except UnicodeDecodeError as error:
        raw = path.read_bytes()
        line = raw[: error.start].count(b"\n") + 1
        byte = raw[error.start : error.start + 1].hex()
        return (
            f"{shown}, line {line}: the byte 0x{byte} is not {error.encoding} text. Save the file"
            " as UTF-8 (a setting of your editor), or delete the character."
        )
    except SyntaxError as error:  # a coding declaration naming an unknown encoding
        return f"{shown} cannot be read as Python text: {error.msg}."
    except OSError as error:
        return f"{shown} cannot be read: {error.strerror or error}."
    try:
        code = compile(source, shown, "exec")
    except SyntaxError as error:
        return _syntax_message(error, shown)
    except (ValueError, UnicodeError) as error:  # null bytes, lone surrogates
        return f"{shown} cannot be compiled as Python: {error}."
    module = ModuleType("_tutor_learner")
    module.__file__ = shown
    sys.modules["_tutor_learner"] = module  # dataclasses and the like look their module up
    try:
        with _time_limit(time_limit):
            exec(code, module.__dict__)
    except _TimeUp:
        return (
            f"Loading {shown} did not finish within {time_limit:g} s: an endless loop at top level?"
        )
    except SystemExit:
        return f"{shown} called exit() while it was loading; the checker needs it to finish."
    except Exception as error:
        return f"Loading {shown} raised an error, so nothing could be checked.\n" + _explain(
            error, shown
        )
    finally:
        sys.modules.pop("_tutor_learner", None)
    return module


def _syntax_message(error: SyntaxError, shown: str) -> str:
    """A syntax error as Python shows it, without the traceback around it."""
    where = f"{shown}, line {error.lineno}" if error.lineno else shown
    lines = [f"{where}: {type(error).__name__}: {error.msg}"]
    if error.text:
        text = error.text.rstrip("\n")
        stripped = text.lstrip()
        lines.append(f"    {stripped}")
        if error.offset:
            column = max(error.offset - 1 - (len(text) - len(stripped)), 0)
            lines.append("    " + " " * column + "^")
    lines.append("Fix it and run the checker again (Python stops at the first syntax error).")
    return "\n".join(lines)


def _explain(error: BaseException, shown: str) -> str:
    """An exception raised in the learner's code: its type, message, and where in their file."""
    lines = [f"  {type(error).__name__}: {error}"]
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == shown]
    for frame in frames[-3:]:
        code = (frame.line or "").strip()
        lines.append(f"  at {shown}, line {frame.lineno}, in {frame.name}: {code}")
    if isinstance(error, RecursionError):
        lines.append(
            "  (a function that calls itself too deeply: Python allows about 1,000 levels)"
        )
    return "\n".join(lines)


class _NotWritten(Exception):  # not an error: the exercise is still to do
    """The learner's function raised NotImplementedError, as the starter's TODOs do."""


class _Learner:
    """The learner's module, with every call into it guarded: time-limited, errors explained."""

    def __init__(self, module: ModuleType, shown: str, time_limit: float) -> None:
        self.module = module
        self.shown = shown
        self.time_limit = time_limit

    def has(self, name: str) -> bool:
        """Whether the learner's file defines name as something callable."""
        return callable(getattr(self.module, name, None))

    def missing(self, name: str) -> str:
        """Why a name the checker needs is not usable."""
        found = getattr(self.module, name, None)
        if found is not None:
            return f"`{name}` in {self.shown} is a {type(found).__name__}, not a function."
        names = [n for n in vars(self.module) if not n.startswith("__")]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you rename it to `{close[0]}`?" if close else ""
        return f"{self.shown} has no `{name}`: the checker calls it by that name.{hint}"

    def call(self, name: str, *args: Any, probe: bool = False) -> Any:
        """Call the learner's function; any error becomes a _Failure that explains it.

        With ``probe``, NotImplementedError becomes _NotWritten: the exercise is still to do.
        """
        function = getattr(self.module, name)
        try:
            return self._run(lambda: function(*args), f"your {name}", probe)
        except _Failure as failure:
            text = str(failure)
            if "TypeError" in text and f"{self.shown}, line" not in text and name in SIGNATURES:
                text += (
                    f"\n  (the checker calls it as {name}{SIGNATURES[name]}, as the starter has it)"
                )
            raise _Failure(text) from None

    def build(self, make: Callable[[], Any], what: str) -> Any:
        """Run code of ours that builds a graph with the learner's Value; errors explained."""
        return self._run(make, f"building {what} with your Value", probe=False)

    def _run(self, run: Callable[[], Any], who: str, probe: bool) -> Any:
        try:
            with _time_limit(self.time_limit):
                return run()
        except _TimeUp:
            msg = (
                f"{who} did not finish within {self.time_limit:g} s: an endless loop, or a very"
                " slow search (`node in some_list` is slow on a big graph: use a set)"
            )
            raise _Failure(msg) from None
        except NotImplementedError as error:
            if probe:
                raise _NotWritten from None
            raise _Failure(f"{who} raised NotImplementedError: {error}") from None
        except (Exception, SystemExit) as error:
            raise _Failure(f"{who} raised an error:\n" + _explain(error, self.shown)) from None


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise _TimeUp after so many seconds (in the main thread, where the platform allows)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _case(described: str) -> Iterator[None]:
    """Name the case in front of a failure's message, unless the message names it already."""
    try:
        yield
    except _Failure as failure:
        text = str(failure)
        if text.startswith(SMALLEST):
            raise
        raise _Failure(f"{described}\n  " + text.replace("\n", "\n  ")) from None


def _probe(
    number: str, name: str, attempt: Callable[[], object], borrowed: str = ""
) -> Outcome | None:
    """Call an exercise once on a small case: an Outcome if it is not written or fails at once."""
    try:
        attempt()
    except _NotWritten:
        return Outcome(number, name, "todo", "not written yet (it raises NotImplementedError)")
    except _Failure as failure:
        text = str(failure)
        summary = "does not finish" if "did not finish" in text else "raises an error"
        return Outcome(number, name, "failed", summary + borrowed, [text])
    return None


def _summary(message: str, wrong: str) -> str:
    """A failure's one-word summary: it raised, did not finish, or gave wrong results."""
    if "did not finish within" in message:
        return "does not finish"
    if "raised an error" in message:
        return "raises an error"
    return wrong


# ---------------------------------------------------------------------------------------------
# Searching for the smallest failing case
# ---------------------------------------------------------------------------------------------


def _smallest_failure(test: Callable[[Any], None], strategy: Any, examples: int) -> str | None:
    """Run test on examples drawn from strategy; the message of the smallest failure, or None."""
    from hypothesis import HealthCheck, Verbosity, given, settings
    from hypothesis.errors import HypothesisException

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def search(example: Any) -> None:
        test(example)

    try:
        search()
    except _Failure as failure:
        return str(failure)
    except HypothesisException as error:
        return (
            "your code gave different answers when run twice on the same case (does it keep"
            f" some state between calls?); hypothesis said: {type(error).__name__}: {error}"
        )
    except Exception as error:  # an unexpected value from the learner's code tripped the check
        return (
            "the checker could not compare your results (they are of an unexpected kind):"
            f" {type(error).__name__}: {error}"
        )
    return None


# ---------------------------------------------------------------------------------------------
# Hints: what a wrong number's relation to the right one suggests
# ---------------------------------------------------------------------------------------------


def _ratio_hint(yours: float, right: float) -> str:
    if right == 0.0 or not math.isfinite(yours):
        return ""
    if math.isclose(yours, -right, rel_tol=1e-6):
        return "It has the opposite sign."
    if math.isclose(yours, 2.0 * right, rel_tol=1e-6):
        return "It is twice the right value: something is counted twice."
    if math.isclose(yours, 0.5 * right, rel_tol=1e-6):
        return "It is half the right value: one of two equal contributions is lost."
    return ""


def _rule_hint(yours: float, right: float, inputs: tuple[float, ...]) -> str:
    hint = _ratio_hint(yours, right)
    if not hint and any(yours == x for x in inputs) and yours != right:
        hint = "It equals an input: a derivative is a function of the input, not the input."
    return hint


def _gradient_hint(yours: float, right: float) -> str:
    hint = _ratio_hint(yours, right)
    if hint:
        return hint
    if yours == 0.0:
        return "It is 0: no gradient reached it."
    if abs(yours) > abs(right):
        return "It is too large: some contribution is counted more than once."
    return "It is too small: some contribution is lost."


SWEEP_ADVICE = (
    "A node's gradient is the sum over every way it reaches out: accumulate with +=, and let a"
    " node pass its gradient on only once it is complete, visiting the nodes once each, in"
    " reversed topological order."
)


# ---------------------------------------------------------------------------------------------
# Exercise 1: rules
# ---------------------------------------------------------------------------------------------


def _real(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _shape_problem(name: str, arity: int, args: tuple[float, ...], result: object) -> str | None:
    """What is wrong with the shape of a rule's result, or None."""
    call = f"{name}({', '.join(repr(a) for a in args)})"
    partials = "(d/dx,)" if arity == 1 else "(d/dx, d/dy)"
    needed = f"(value, {partials})"
    if result is None:
        return f"{call} returned None: did you forget `return`? A rule returns {needed}."
    if _real(result):
        return f"{call} returned the number {result!r}; a rule returns a pair {needed}."
    if not isinstance(result, tuple | list) or len(result) != 2:
        return f"{call} returned {result!r}; a rule returns a pair {needed}."
    value, given = result
    if not _real(value):
        return f"{call} returned the value {value!r}; the value must be a float."
    if _real(given):
        return (
            f"{call} returned ({value!r}, {given!r}): the partials must be a tuple even for one"
            f" input, ({given!r},) with its comma."
        )
    if not isinstance(given, tuple | list):
        return f"{call} returned the partials {given!r}; they must be a tuple of floats."
    if len(given) != arity:
        return (
            f"{call} returned {len(given)} partial(s); it needs {arity}, one per input, in the"
            f" order of the inputs: {partials}."
        )
    if not all(_real(p) for p in given):
        return f"{call} returned the partials {given!r}; each must be a float."
    if not all(math.isfinite(float(v)) for v in (value, *given)):
        return f"{call} returned {result!r}: not every number is finite."
    return None


@dataclass(frozen=True)
class _RuleSpec:
    """What the checker knows about a rule: its arity, the true function and derivative."""

    name: str
    number: str
    arity: int
    op: str  # our name of the op, for its domain in the strategies' table
    value: Callable[..., float]
    derivative: Callable[..., tuple[float, ...]]
    formula: str


_RULES = {
    spec.name: spec
    for spec in (
        _RuleSpec(
            "exp_rule", "1a", 1, "exp", math.exp, lambda x: (math.exp(x),), "d/dx e**x = e**x"
        ),
        _RuleSpec(
            "tanh_rule",
            "1b",
            1,
            "tanh",
            math.tanh,
            lambda x: (1.0 - math.tanh(x) ** 2,),
            "d/dx tanh(x) = 1 - tanh(x)**2",
        ),
        _RuleSpec(
            "div_rule",
            "1c",
            2,
            "div",
            operator.truediv,
            lambda x, y: (1.0 / y, -x / (y * y)),
            "d/dx (x/y) = 1/y, d/dy (x/y) = -x/y**2",
        ),
    )
}


def _check_rule(learner: _Learner, spec: _RuleSpec, examples: int) -> Outcome:
    from hypothesis import strategies as st

    from autograd_lite.testing import GradcheckError, gradcheck
    from autograd_lite.testing.strategies import domain

    name, number = spec.name, spec.number
    sample = (0.5,) if spec.arity == 1 else (1.5, -0.75)
    first: list[object] = []
    early = _probe(number, name, lambda: first.append(learner.call(name, *sample, probe=True)))
    if early is not None:
        return early
    problem = _shape_problem(name, spec.arity, sample, first[0])
    if problem is not None:
        return Outcome(number, name, "failed", "returns the wrong shape", [problem])

    def as_operation(m: object, *xs: float) -> tuple[float, tuple[float, ...]]:
        value, partials = learner.call(name, *xs)
        return value, tuple(partials)

    operation = primitive(as_operation, name=name)

    def test(args: tuple[float, ...]) -> None:
        call = f"{name}({', '.join(repr(a) for a in args)})"
        with _case(f"{SMALLEST} {call}"):
            result = learner.call(name, *args)
            problem = _shape_problem(name, spec.arity, args, result)
            if problem is not None:
                raise _Failure(problem)
            value, partials = result
            right_value = spec.value(*args)
            if not math.isclose(value, right_value, rel_tol=1e-7, abs_tol=1e-12):
                hint = _ratio_hint(value, right_value)
                raise _Failure(f"your value {value!r}, the right one {right_value!r}. {hint}")
            try:
                gradcheck(operation, list(args))
            except GradcheckError as error:
                raise _Failure(_rule_report(spec, args, value, partials, error)) from None

    strategy = st.tuples(*(domain(_op_spec(spec.op), i) for i in range(spec.arity)))
    message = _smallest_failure(test, strategy, examples)
    if message is not None:
        return Outcome(number, name, "failed", _summary(message, "wrong"), [message])
    return Outcome(number, name, "passed", f"value and derivative right at {examples} points")


def _rule_report(
    spec: _RuleSpec,
    args: tuple[float, ...],
    value: float,
    partials: Sequence[float],
    error: Exception,
) -> str:
    """A rule's wrong derivative: each partial against the right one, then gradcheck's report."""
    call = f"{spec.name}({', '.join(repr(a) for a in args)})"
    lines = [f"{SMALLEST} {call} (its value, {value!r}, is right)"]
    for i, (yours, right) in enumerate(zip(partials, spec.derivative(*args), strict=True)):
        wrong = not math.isclose(yours, right, rel_tol=1e-6, abs_tol=1e-9)
        lines.append(
            f"  your d/d{'xy'[i]}: {yours!r}, right: {right!r}" + ("   <-- wrong" if wrong else "")
        )
        hint = _rule_hint(yours, right, args) if wrong else ""
        if hint:
            lines.append(f"    {hint}")
    lines.append(f"  ({spec.formula})")
    lines.append(
        "gradcheck's report (your rule as an operation of autograd_lite: 'analytic' is your"
        " partial, 'numeric' the slope of your value by central differences):"
    )
    lines += ["  " + line for line in str(error).splitlines()]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Graphs: random expressions built with the learner's Value
# ---------------------------------------------------------------------------------------------

# The ops of the graph checks, by our name -> (the names the strategies' table may use for it,
# the symbol printed, how the learner's Value computes it).
_GRAPH_OPS: dict[str, tuple[tuple[str, ...], str, Callable[..., Any]]] = {
    "add": (("+", "add"), "+", operator.add),
    "sub": (("-", "sub"), "-", operator.sub),
    "mul": (("*", "mul"), "*", operator.mul),
    "div": (("/", "div"), "/", operator.truediv),
    "neg": (("neg",), "-", operator.neg),
    "exp": (("exp",), "exp", lambda x: x.exp()),
    "tanh": (("tanh",), "tanh", lambda x: x.tanh()),
    "relu": (("relu",), "relu", lambda x: x.relu()),
}
_RULE_OF_OP = {"exp": "exp_rule", "tanh": "tanh_rule", "div": "div_rule"}


def _op_spec(ours: str) -> Any:
    """The strategies' OpSpec for one of our op names (whatever that table calls it)."""
    from autograd_lite.testing.strategies import OPS

    for name in _GRAPH_OPS[ours][0]:
        if name in OPS:
            return OPS[name]
    msg = f"tutor: the strategies have no operation for {ours!r}"
    raise LookupError(msg)


def _ours(spec_name: str) -> str:
    return next(ours for ours, (names, _, _) in _GRAPH_OPS.items() if spec_name in names)


def _step_texts(case: Any) -> list[str]:
    """Each step of an expression as math over x0, x1, ... and earlier steps t0, t1, ..."""
    texts = []
    for step in case.expr.steps:
        ours = _ours(step.op.name)
        symbol = _GRAPH_OPS[ours][1]
        args = [
            (f"x{a[1]}" if a[0] == "x" else f"t{a[1]}") if isinstance(a, tuple) else repr(a)
            for a in step.args
        ]
        if ours == "neg":
            texts.append(f"-{args[0]}")
        elif len(args) == 2 and not symbol.isalpha():
            texts.append(f"{args[0]} {symbol} {args[1]}")
        else:
            texts.append(f"{symbol}({', '.join(args)})")
    return texts


def _describe(case: Any) -> str:
    """A case as its steps and its point: what a learner can rebuild by hand."""
    texts = _step_texts(case)
    lines = [f"t{j} = {t}" for j, t in enumerate(texts[:-1])] + [f"out = {texts[-1]}"]
    point = ", ".join(f"x{i} = {x!r}" for i, x in enumerate(case.inputs))
    return f"{SMALLEST} " + "; ".join(lines) + f"  at {point}"


class _Graph:
    """One expression built with the learner's Value: its inputs, each step's node, names."""

    def __init__(self, learner: _Learner, case: Any, point: Sequence[float] | None = None) -> None:
        from autograd_lite.testing.strategies import evaluate

        value_class = learner.module.Value
        numbers = case.inputs if point is None else point
        self.steps: list[Any] = []
        self.texts = _step_texts(case)
        self.inputs = learner.build(lambda: [value_class(x) for x in numbers], "the inputs")
        backend = {
            name: self._recorder(function)
            for names, _, function in _GRAPH_OPS.values()
            for name in names
        }
        self.out = learner.build(
            lambda: evaluate(case.expr, self.inputs, backend=backend), "the case's graph"
        )

    def _recorder(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def record(*args: Any) -> Any:
            result = function(*args)
            self.steps.append(result)
            return result

        return record

    def name(self, node: object) -> str:
        """How messages name a node: x0, t2 = exp(x0), out = ..., or what it is."""
        for i, x in enumerate(self.inputs):
            if x is node:
                return f"x{i}"
        for j, step in enumerate(self.steps):
            if step is node:
                label = "out" if j == len(self.steps) - 1 else f"t{j}"
                return f"{label} = {self.texts[j]}"
        data = getattr(node, "data", None)
        parents = getattr(node, "parents", ())
        return f"the constant {data!r}" if not parents else f"a node with data {data!r}"


def _reachable(root: object) -> list[object]:
    """Every node root depends on, root included, found without recursion (by identity)."""
    seen = {id(root)}
    nodes = [root]
    stack = [root]
    while stack:
        for parent in getattr(stack.pop(), "parents", ()):
            if id(parent) not in seen:
                seen.add(id(parent))
                nodes.append(parent)
                stack.append(parent)
    return nodes


def _order_problem(order: object, root: object, name: Callable[[object], str]) -> str | None:
    """What is wrong with a topological order of root's graph, or None."""
    if not isinstance(order, list | tuple):
        if order is None:
            return (
                "topological_order returned None; it must return a list (did you forget"
                " `return order`?)."
            )
        return f"topological_order returned a {type(order).__name__}; it must return a list."
    nodes = _reachable(root)
    wanted = {id(n) for n in nodes}
    position: dict[int, int] = {}
    for k, node in enumerate(order):
        if not hasattr(node, "parents"):
            return f"the order holds a {type(node).__name__} at position {k}, which is not a node."
        if id(node) in position:
            return (
                f"the order lists {name(node)} twice (positions {position[id(node)]} and {k}): each"
                " node must appear once. Keep a set of the nodes already visited."
            )
        if id(node) not in wanted:
            return f"the order holds {name(node)}, which the root does not depend on."
        position[id(node)] = k
    for node in nodes:
        if id(node) not in position:
            return f"the order leaves out {name(node)}, which the root depends on."
    for node in order:
        for parent in node.parents:
            if position[id(parent)] > position[id(node)]:
                return (
                    f"the order puts {name(node)} (position {position[id(node)]}) before its parent"
                    f" {name(parent)} (position {position[id(parent)]}): every node must come after"
                    " all of its parents. Add a node to the order only once its parents are in it."
                )
    return None


def _graph_ops(passing_rules: set[str]) -> tuple[list[Any], str]:
    """The ops the graph checks may use (not those whose rule is wrong), and a note saying so."""
    left_out = [rule for rule in _RULE_OF_OP.values() if rule not in passing_rules]
    ops = [_op_spec(ours) for ours in _GRAPH_OPS if _RULE_OF_OP.get(ours) not in left_out]
    note = f" (without {', '.join(left_out)}: not right yet)" if left_out else ""
    return ops, note


def _first_case() -> Any:
    """A small fixed case, for the first call that tells whether an exercise is written."""
    from autograd_lite.testing.strategies import Case, Expr, Step

    steps = [
        Step(_op_spec("mul"), (("x", 0), ("x", 1))),
        Step(_op_spec("add"), (("t", 0), ("x", 0))),
    ]
    return Case(Expr(2, steps, [(0.5, 2.0), (0.5, 2.0)]), [1.5, 0.5])


def _chain(learner: _Learner) -> tuple[Any, Any]:
    """x and y = (...(x * a + b) * a + b ...) of 2·CHAIN operations, with the learner's Value."""
    value_class = learner.module.Value

    def make() -> tuple[Any, Any]:
        x = value_class(1.0)
        y = x
        for _ in range(CHAIN):
            y = y * CHAIN_A + CHAIN_B
        return x, y

    pair: tuple[Any, Any] = learner.build(make, f"a chain of {2 * CHAIN:,} operations")
    return pair


@contextmanager
def _default_recursion_limit() -> Iterator[None]:
    """Python's default recursion limit for the deep-chain checks, whatever the learner set."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(RECURSION_LIMIT)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def _deep(learner: _Learner, name: str, root: Any, advice: str) -> Any:
    """Call name(root) on the deep chain; a RecursionError gets the advice in front."""
    try:
        with _default_recursion_limit():
            return learner.call(name, root)
    except _Failure as failure:
        text = str(failure)
        if "RecursionError" in text:
            text = (
                f"On a chain {2 * CHAIN:,} operations deep your {name} failed with RecursionError:"
                f" it calls itself once per node, and Python allows about {RECURSION_LIMIT:,}"
                f" nested calls. {advice}\n{text}"
            )
        raise _Failure(text) from None


# ---------------------------------------------------------------------------------------------
# Exercise 2: the topological order
# ---------------------------------------------------------------------------------------------


def _check_order(learner: _Learner, passing_rules: set[str], examples: int) -> Outcome:
    from autograd_lite.testing.strategies import cases

    name, number = "topological_order", "2"
    ops, note = _graph_ops(passing_rules)
    early = _probe(
        number, name, lambda: learner.call(name, _Graph(learner, _first_case()).out, probe=True)
    )
    if early is not None:
        return early

    def test(case: Any) -> None:
        with _case(_describe(case)):
            graph = _Graph(learner, case)
            problem = _order_problem(learner.call(name, graph.out), graph.out, graph.name)
            if problem is not None:
                raise _Failure(problem)

    message = _smallest_failure(test, cases(ops), examples)
    if message is not None:
        return Outcome(number, name, "failed", _summary(message, "wrong order"), [message])
    try:
        x, y = _chain(learner)
        advice = (
            "Walk the graph with an explicit stack instead (a list you push nodes onto and pop"
            " them from), as step 3 of the chapter shows."
        )
        problem = _order_problem(
            _deep(learner, name, y, advice), y, lambda n: "x" if n is x else "a node"
        )
    except _Failure as failure:
        return Outcome(number, name, "failed", "fails on a deep graph", [str(failure)])
    if problem is not None:
        return Outcome(number, name, "failed", "wrong on a deep graph", [problem])
    return Outcome(
        number,
        name,
        "passed",
        f"right on {examples} random graphs with shared nodes{note}, and on a chain"
        f" {2 * CHAIN:,} operations deep",
    )


# ---------------------------------------------------------------------------------------------
# Exercise 3: the sweep
# ---------------------------------------------------------------------------------------------


def _reference_order(root: Any) -> list[Any]:
    """A topological order of the learner's graph: the checker's own, without recursion."""
    order: list[Any] = []
    visited = {id(root)}
    stack: list[tuple[Any, Iterator[Any]]] = [(root, iter(root.parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if id(parent) not in visited:
                visited.add(id(parent))
                stack.append((parent, iter(parent.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


@contextmanager
def _our_order(learner: _Learner, use: bool) -> Iterator[None]:
    """While the sweep is checked, stand in for a topological_order that is not right yet."""
    if not use:
        yield
        return
    had = getattr(learner.module, "topological_order", None)
    setattr(learner.module, "topological_order", _reference_order)  # noqa: B010  # for mypy
    try:
        yield
    finally:
        setattr(learner.module, "topological_order", had)  # noqa: B010


def _engine_gradients(case: Any) -> tuple[list[float], list[float]]:
    """The gradients of the inputs and of every step's node, by this library's engine."""
    from autograd_lite.testing.strategies import evaluate

    inputs = [Value(x) for x in case.inputs]
    steps: list[Value] = []

    def recorder(function: Callable[..., Value]) -> Callable[..., Value]:
        def record(*args: Any) -> Value:
            result = function(*args)
            steps.append(result)
            return result

        return record

    backend = {step.op.name: recorder(step.op.on_values) for step in case.expr.steps}
    out = evaluate(case.expr, inputs, backend=backend)
    out.backward()
    return [float(x.grad) for x in inputs], [float(s.grad) for s in steps]


def _gradient_problem(yours: object, right: float, who: str) -> str | None:
    """What is wrong with one node's gradient, or None."""
    short = who.split(" = ")[0]
    if not _real(yours):
        return f"{who}: its grad is {yours!r}, not a number."
    assert isinstance(yours, int | float)
    if math.isclose(yours, right, rel_tol=1e-7, abs_tol=1e-9):
        return None
    hint = _gradient_hint(yours, right)
    return f"{who}: its grad is {yours!r}; d(out)/d({short}) is {right!r}. {hint}"


def _check_backward(
    learner: _Learner, passing_rules: set[str], order_ok: bool, examples: int
) -> Outcome:
    from autograd_lite.testing import GradcheckError, gradcheck
    from autograd_lite.testing.strategies import cases

    name, number = "backward", "3"
    ops, note = _graph_ops(passing_rules)
    borrowed = (
        "" if order_ok else " (with the checker's own topological_order: yours is not right yet)"
    )
    with _our_order(learner, not order_ok):
        early = _probe(
            number,
            name,
            lambda: learner.call(name, _Graph(learner, _first_case()).out, probe=True),
            borrowed,
        )
        if early is not None:
            return early

        def gradients(case: Any) -> None:
            with _case(_describe(case)):
                graph = _Graph(learner, case)
                learner.call(name, graph.out)
                root_grad = getattr(graph.out, "grad", None)
                if root_grad != 1.0:
                    raise _Failure(
                        f"out's grad is {root_grad!r} after backward(out); d(out)/d(out) is 1:"
                        " start the sweep from root.grad = 1."
                    )
                inputs_right, steps_right = _engine_gradients(case)

                def forward_and_backward(m: object, *xs: float) -> tuple[float, tuple[float, ...]]:
                    again = _Graph(learner, case, xs)
                    learner.call(name, again.out)
                    return again.out.data, tuple(x.grad for x in again.inputs)

                try:
                    gradcheck(
                        primitive(forward_and_backward, name="your_backward"), list(case.inputs)
                    )
                except GradcheckError as error:
                    lines = []
                    for i, (x, right) in enumerate(zip(graph.inputs, inputs_right, strict=True)):
                        lines.append(_gradient_problem(x.grad, right, f"x{i}") or f"x{i}: right")
                    lines.append(SWEEP_ADVICE)
                    lines.append(
                        "gradcheck's report ('analytic' is your gradient, 'numeric' the slope of"
                        " your forward pass by central differences):"
                    )
                    lines += ["  " + line for line in str(error).splitlines()]
                    raise _Failure("\n".join(lines)) from None
                for node, right in zip(graph.steps, steps_right, strict=True):
                    problem = _gradient_problem(
                        getattr(node, "grad", None), right, graph.name(node)
                    )
                    if problem is not None:
                        raise _Failure(
                            f"The inputs' gradients are right, but not every node's: {problem}"
                            "\nAfter backward(root), every node's grad must be d(root)/d(node)."
                        )

        def twice(case: Any) -> None:
            with _case(_describe(case)):
                graph = _Graph(learner, case)
                learner.call(name, graph.out)
                first = [x.grad for x in graph.inputs]
                learner.call(name, graph.out)
                again = [x.grad for x in graph.inputs]
                if again != first:
                    raise _Failure(
                        f"A second backward(out) on the same graph changed the inputs' gradients"
                        f" from {first!r} to {again!r}: it added onto what the first call left."
                        " Set every node's grad to 0 at the start of backward()."
                    )

        for test, summary in ((gradients, "wrong gradients"), (twice, "wrong on a second call")):
            message = _smallest_failure(test, cases(ops), examples)
            if message is not None:
                return Outcome(
                    number, name, "failed", _summary(message, summary) + borrowed, [message]
                )
        try:
            x, y = _chain(learner)
            _deep(learner, name, y, "Loop over the reversed topological order instead.")
        except _Failure as failure:
            return Outcome(
                number, name, "failed", "fails on a deep graph" + borrowed, [str(failure)]
            )
    right = CHAIN_A**CHAIN
    if not (_real(x.grad) and math.isclose(x.grad, right, rel_tol=1e-9)):
        problem = (
            f"On the chain y = (...(x * {CHAIN_A} + {CHAIN_B})...) of {2 * CHAIN:,} operations,"
            f" x.grad is {x.grad!r}; dy/dx = {CHAIN_A}**{CHAIN} = {right!r}."
        )
        return Outcome(number, name, "failed", "wrong on a deep graph" + borrowed, [problem])
    return Outcome(
        number,
        name,
        "passed",
        f"right on {examples} random graphs with shared nodes{note} (every node's grad; the"
        f" inputs' by gradcheck), on a second call, and on a {2 * CHAIN:,}-operation chain"
        + borrowed,
    )


# ---------------------------------------------------------------------------------------------
# Exercise 4: momentum
# ---------------------------------------------------------------------------------------------


def _check_momentum(learner: _Learner, examples: int) -> Outcome:
    from hypothesis import strategies as st

    from autograd_lite.optim import SGD

    name, number = "momentum_step", "4"
    value_class = learner.module.Value

    def attempt() -> None:
        params = learner.build(lambda: [value_class(1.0)], "a parameter")
        params[0].grad = 0.5
        learner.call(name, params, [0.0], 0.1, 0.9, probe=True)

    early = _probe(number, name, attempt)
    if early is not None:
        return early
    numbers = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)
    problems = st.integers(1, 3).flatmap(
        lambda n: st.tuples(
            st.lists(numbers, min_size=n, max_size=n),
            st.lists(st.lists(numbers, min_size=n, max_size=n), min_size=1, max_size=4),
            st.floats(0.01, 1.0),
            st.sampled_from([0.9, 0.5, 0.0, 0.99]) | st.floats(0.0, 0.99),
        )
    )

    def test(problem: tuple[list[float], list[list[float]], float, float]) -> None:
        start, grads, lr, beta = problem
        described = (
            f"{SMALLEST} lr = {lr!r}, beta = {beta!r}, parameters starting at {start!r} with"
            f" velocity {[0.0] * len(start)!r}, gradients {grads!r} (one list per step)"
        )
        with _case(described):
            params = learner.build(lambda: [value_class(x) for x in start], "parameters")
            velocity = [0.0] * len(start)
            reference = [Value(x) for x in start]
            optimizer = SGD(reference, lr=lr, momentum=beta)
            for step, g in enumerate(grads, start=1):
                before, velocity_before = [p.data for p in params], list(velocity)
                for p, r, gi in zip(params, reference, g, strict=True):
                    p.grad = r.grad = gi
                returned = learner.call(name, params, velocity, lr, beta)
                optimizer.step()
                if (
                    velocity == velocity_before
                    and isinstance(returned, list)
                    and returned != velocity
                ):
                    raise _Failure(
                        "momentum_step returned a new list instead of updating velocity in place"
                        " (velocity[i] = ...): the next step would not see it."
                    )
                for i, (p, r) in enumerate(zip(params, reference, strict=True)):
                    if not (
                        _real(p.data) and math.isclose(p.data, r.data, rel_tol=1e-9, abs_tol=1e-12)
                    ):
                        raise _Failure(
                            _momentum_report(
                                step,
                                i,
                                p.data,
                                r.data,
                                before[i],
                                velocity_before[i],
                                g[i],
                                lr,
                                beta,
                            )
                        )

    message = _smallest_failure(test, problems, examples)
    if message is not None:
        return Outcome(number, name, "failed", _summary(message, "wrong steps"), [message])
    return Outcome(
        number, name, "passed", f"the steps of optim.SGD(momentum=beta) on {examples} problems"
    )


def _momentum_report(
    step: int,
    i: int,
    yours: object,
    right: float,
    before: float,
    velocity: float,
    grad: float,
    lr: float,
    beta: float,
) -> str:
    """One wrong heavy-ball step, with the right one worked out."""
    v = beta * velocity + grad
    lines = [
        f"after step {step}, parameter {i} is {yours!r}; the heavy ball gives {right!r}:",
        f"  velocity = beta·velocity + grad = {beta!r}·{velocity!r} + {grad!r} = {v!r}",
        f"  data − lr·velocity = {before!r} − {lr!r}·{v!r} = {right!r}",
    ]
    if yours == before and grad != 0.0:
        lines.append(
            "Your parameter did not move. With the velocity starting at 0, a rule that multiplies"
            " (beta·velocity·grad) keeps it 0 for ever: momentum adds the gradient to the decayed"
            " velocity."
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# All together: Matt Mazur's worked example, and the Value the checks build with
# ---------------------------------------------------------------------------------------------


def _check_mazur(learner: _Learner) -> Outcome:
    """Train Mazur's 2-2-2 network one step with the learner's engine; his numbers must come out."""
    name = "Mazur's example"
    value_class = learner.module.Value

    def make() -> tuple[Any, list[Any]]:
        w = [value_class(x) for x in (0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55)]
        b1, b2 = value_class(0.35), value_class(0.60)

        def sigmoid(z: Any) -> Any:
            return 1 / (1 + (-z).exp())

        h1 = sigmoid(w[0] * 0.05 + w[1] * 0.10 + b1)
        h2 = sigmoid(w[2] * 0.05 + w[3] * 0.10 + b1)
        o1 = sigmoid(w[4] * h1 + w[5] * h2 + b2)
        o2 = sigmoid(w[6] * h1 + w[7] * h2 + b2)
        return 0.5 * (0.01 - o1) ** 2 + 0.5 * (0.99 - o2) ** 2, w

    try:
        error, weights = learner.build(make, "Mazur's 2-2-2 network")
        learner.call("backward", error)
        if not learner.has("sgd_step"):
            raise _Failure(learner.missing("sgd_step"))
        learner.call("sgd_step", weights, 0.5)
    except _Failure as failure:
        return Outcome("", name, "failed", "does not run", [str(failure)])
    e, w5 = error.data, weights[4].data
    if (
        not (_real(e) and _real(w5))
        or round(e, 9) != float(MAZUR_ERROR)
        or round(w5, 8) != float(MAZUR_W5)
    ):
        return Outcome(
            "",
            name,
            "failed",
            "gives other numbers",
            [
                f"Your engine gives E = {e!r} (published: {MAZUR_ERROR}) and, after one update with"
                f" sgd_step(weights, 0.5), w5 = {w5!r} (published: {MAZUR_W5})."
            ],
        )
    return Outcome(
        "", name, "passed", f"your engine gives his numbers: E = {e:.9f}, then w5 = {w5:.8f}"
    )


def _value_problem(learner: _Learner) -> str | None:
    """What keeps the checker from building graphs with the learner's Value, or None."""
    if not learner.has("Value"):
        return learner.missing("Value")
    value_class = learner.module.Value
    try:
        x = learner.build(lambda: value_class(2.0), "Value(2.0)")
        y = learner.build(lambda: x * 3.0, "Value(2.0) * 3.0")
    except _Failure as failure:
        return str(failure)
    for attribute in ("data", "grad", "parents", "partials"):
        for node, called in ((x, "Value(2.0)"), (y, "Value(2.0) * 3.0")):
            if not hasattr(node, attribute):
                return (
                    f"{called} has no attribute `{attribute}`: the checker reads a node's data,"
                    " grad, parents and partials (step 1 of the chapter)."
                )
    if x.data != 2.0 or x.grad != 0.0 or tuple(x.parents) != ():
        return "Value(2.0) should have data 2.0, grad 0.0 and no parents."
    if len(y.parents) != 2 or y.parents[0] is not x or len(y.partials) != 2:
        return (
            "Value(2.0) * 3.0 should have two parents, the Value(2.0) first, and two partials;"
            f" it has parents {list(y.parents)!r} and partials {list(y.partials)!r}."
        )
    return None


# ---------------------------------------------------------------------------------------------
# The whole check, and the command line
# ---------------------------------------------------------------------------------------------


def _select(only: Sequence[str] | None) -> list[Exercise]:
    """The exercises named by numbers ("1a", or "1" for all of 1) or function names."""
    if not only:
        return list(EXERCISES)
    chosen: list[Exercise] = []
    for word in only:
        found = [
            e for e in EXERCISES if word in (e.number, e.name) or e.number.rstrip("abc") == word
        ]
        if not found:
            known = ", ".join(f"{e.number} ({e.name})" for e in EXERCISES)
            msg = f"no exercise {word!r}; the exercises are {known}"
            raise ValueError(msg)
        chosen += [e for e in found if e not in chosen]
    return [e for e in EXERCISES if e in chosen]


def check(
    path: str | os.PathLike[str],
    *,
    only: Sequence[str] | None = None,
    examples: int = EXAMPLES,
    time_limit: float = TIME_LIMIT,
) -> Report:
    """Check a learner's engine, exercise by exercise (``only``: numbers or function names)."""
    chosen = _select(only)
    shown = os.fspath(path)
    report = Report(shown)
    loaded = _load(Path(path), time_limit)
    if isinstance(loaded, str):
        report.load_error = loaded
        return report
    learner = _Learner(loaded, shown, time_limit)
    value_problem = _value_problem(learner)
    if value_problem is not None:
        report.outcomes.append(
            Outcome("", "Value", "failed", "cannot build graphs", [value_problem])
        )
    rules: dict[str, bool] = {}  # rule name -> passes
    order_ok: bool | None = None
    for exercise in chosen:
        if not learner.has(exercise.name):
            outcome = Outcome(
                exercise.number,
                exercise.name,
                "failed",
                "missing",
                [learner.missing(exercise.name)],
            )
        elif exercise.name in _RULES:
            outcome = _check_rule(learner, _RULES[exercise.name], examples)
            rules[exercise.name] = outcome.status == "passed"
        elif value_problem is not None:
            outcome = Outcome(
                exercise.number, exercise.name, "skipped", "needs a Value the checker can use"
            )
        elif exercise.name == "topological_order":
            outcome = _check_order(learner, _passing(learner, rules, examples), examples)
            order_ok = outcome.status == "passed"
        elif exercise.name == "backward":
            if order_ok is None:  # not checked in this run (--only): find out quietly
                order_ok = learner.has("topological_order") and (
                    _check_order(learner, set(), examples).status == "passed"
                )
            outcome = _check_backward(
                learner, _passing(learner, rules, examples), order_ok, examples
            )
        else:
            outcome = _check_momentum(learner, examples)
        report.outcomes.append(outcome)
    if len(chosen) == len(EXERCISES):
        if all(o.status == "passed" for o in report.outcomes):
            report.outcomes.append(_check_mazur(learner))
        else:
            report.outcomes.append(
                Outcome("", "Mazur's example", "skipped", "once every exercise passes")
            )
    return report


def _passing(learner: _Learner, rules: dict[str, bool], examples: int) -> set[str]:
    """The rules that pass; those not checked in this run (--only) are checked quietly."""
    for name, spec in _RULES.items():
        if name not in rules:
            rules[name] = (
                learner.has(name) and _check_rule(learner, spec, examples).status == "passed"
            )
    return {name for name, ok in rules.items() if ok}


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``start [PATH] [--force]``, and
    ``check FILE [--only EXERCISE] [--examples N] [--time-limit S]``."""
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description=(
            f"Build your own engine with {CHAPTER}: `start` writes the starter file, `check` "
            "checks your engine, exercise by exercise."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{start,check}")
    starting = commands.add_parser(
        "start", help=f"write the starter file, {STARTER}, to begin the chapter's exercises"
    )
    starting.add_argument(
        "path",
        nargs="?",
        default=STARTER,
        help=f"where to write it (default {STARTER}; a folder gets a {STARTER} inside)",
    )
    starting.add_argument("--force", action="store_true", help="overwrite a file already there")
    checking = commands.add_parser("check", help="check your engine, such as my_engine.py")
    checking.add_argument(
        "file", help=f"your engine: the starter file, as `{PROGRAM} start` writes it, filled in"
    )
    checking.add_argument(
        "--only",
        action="append",
        metavar="EXERCISE",
        help="check only this exercise: a number (1a, 1, 2, ...) or a name (tanh_rule); repeatable",
    )
    checking.add_argument(
        "--examples", type=int, default=EXAMPLES, help=f"cases per check (default {EXAMPLES})"
    )
    checking.add_argument(
        "--time-limit",
        type=float,
        default=TIME_LIMIT,
        metavar="SECONDS",
        help=f"longest any one call into your code may take (default {TIME_LIMIT:g})",
    )
    args = parser.parse_args(argv)
    if args.command == "start":
        return _start(args.path, args.force)
    if args.examples < 1:
        parser.error(f"--examples needs a positive number, got {args.examples}")
    if not (args.time_limit > 0 and math.isfinite(args.time_limit)):
        parser.error(f"--time-limit needs a positive number of seconds, got {args.time_limit}")
    try:
        import hypothesis  # noqa: F401  # the checker draws its cases with it
    except ImportError:
        print(
            f"{PROGRAM}: the checker needs hypothesis: pip install 'autograd-lite[testing]'",
            file=sys.stderr,
        )
        return 2
    try:
        report = check(
            args.file, only=args.only, examples=args.examples, time_limit=args.time_limit
        )
    except ValueError as error:
        parser.error(str(error))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug of the checker's own: say so, and where, in one message
        where = traceback.extract_tb(error.__traceback__)[-1]
        print(
            f"{PROGRAM}: the checker itself failed, not your code ({type(error).__name__}:"
            f" {error}, at {Path(where.filename).name} line {where.lineno}). Please report it.",
            file=sys.stderr,
        )
        return 3
    print(report.text())
    if report.load_error is not None and not Path(args.file).is_file():
        return 2
    return 0 if report.passed else 1


def _start(path: str, force: bool) -> int:
    """`start`: write the starter file and say what to do next (status 2 when it cannot)."""
    target = Path(path) / STARTER if Path(path).is_dir() else Path(path)
    try:
        start(target, force=force)
    except FileExistsError:
        print(
            f"{PROGRAM} start: {target} is there already, and is left as it is: check it with"
            f" `{PROGRAM} check {target}`, or start over with `{PROGRAM} start {target} --force`"
            " (which overwrites it).",
            file=sys.stderr,
        )
        return 2
    except FileNotFoundError:
        print(
            f"{PROGRAM} start: cannot write {target}: there is no folder {target.parent}.",
            file=sys.stderr,
        )
        return 2
    except OSError as error:
        reason = error.strerror or str(error)
        print(f"{PROGRAM} start: cannot write {target}: {reason}.", file=sys.stderr)
        return 2
    first = EXERCISES[0]
    print(
        f"wrote {target}: the starter of {CHAPTER}, with its {len(EXERCISES)} exercises to do.\n"
        f"Write {first.name} first (exercise {first.number}, {first.what}), then check it:\n"
        f"  {PROGRAM} check {target}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
