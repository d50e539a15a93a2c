"""Compile a function of floats: trace its graph once, then replay it as generated Python code.

`compile` owns tracing (one trace per structure of the arguments), the cache of traces, the
replay and the check against graph mode. The code of each node comes from its rule, run over the
code-writing arithmetic of `_code`; `_graph` records a traced graph without keeping it, and
`_source` writes the function. No derivative is written in this package.
"""

from __future__ import annotations

import builtins
import functools
import itertools
import linecache
import struct
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from autograd_lite import _checks, engine, functional
from autograd_lite._compile import _code, _graph, _source
from autograd_lite._compile._graph import CONSTANT, PARAMETER, Leaf
from autograd_lite.engine import Value

__all__ = ["Compiled", "ReplayMismatch", "Trace", "compile"]

# Traces kept per compiled function, the most recently used first: one per structure of the
# arguments, so that memory stays bounded however many structures a program calls it with.
MAX_TRACES: Final = 8
# And at most this much generated source in all (a trace keeps its code, about ten times this).
MAX_SOURCE_CHARS: Final = 32_000_000

_SERIAL: Final = itertools.count(1)
_GRAD: Final = _source._GRAD


class ReplayMismatch(AssertionError):
    """compile(check=True) found a call where the replay and graph mode differ."""


@dataclass
class Trace:
    """One structure of arguments of a compiled function: its generated code and its counts.

    ``seconds`` has the time spent tracing (calling the function on Values), writing the
    source and compiling it; ``replays`` counts the calls replayed, ``graph_mode_calls`` the
    calls that ran in graph mode instead (a replay that raised, anomaly mode, the check).
    """

    structure: str
    source: str
    nodes: int
    operations: int
    inputs: int
    parameters: int
    rule_calls: int  # nodes whose rule the code arithmetic could not run: called on floats
    loop: str  # "100 × 98 nodes": the body written once for each element of a batch, or ""
    seconds: dict[str, float]
    _replay: Callable[..., Any] | None = field(repr=False)  # None: graph mode (too large)
    _params: tuple[Value, ...] = field(repr=False)
    _signature: tuple[Any, ...] = field(repr=False)
    _aux: Any = field(repr=False)
    _wanted: tuple[int, ...] = field(repr=False)
    replays: int = 0
    graph_mode_calls: int = 0


class _Slot:
    """Where an output Value sat in the aux f returned: replaced by its number at each call."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


def _rebuild(template: Any, numbers: Sequence[float]) -> Any:
    """The aux structure with each Value's place filled with its number."""
    if isinstance(template, _Slot):
        return numbers[template.index]
    if isinstance(template, list):
        return [_rebuild(item, numbers) for item in template]
    if isinstance(template, tuple):
        return tuple(_rebuild(item, numbers) for item in template)
    if isinstance(template, dict):
        return {key: _rebuild(item, numbers) for key, item in template.items()}
    return template


def _slots(x: Any, found: list[Value]) -> Any:
    """x with each Value replaced by a `_Slot`, the Values appended to found, in order."""
    if isinstance(x, Value):
        found.append(x)
        return _Slot(len(found) - 1)
    if isinstance(x, list):
        return [_slots(item, found) for item in x]
    if isinstance(x, tuple):
        return tuple(_slots(item, found) for item in x)
    if isinstance(x, dict):
        return {key: _slots(item, found) for key, item in x.items()}
    return x


def _same(a: float, b: float) -> bool:
    """Whether two floats are the same: the same bits (-0.0 is not 0.0), or both NaN.

    Not a NaN's bits: CPython's own two ways of multiplying floats (the `*` of compiled code
    and float.__mul__) disagree on which NaN a product of two NaNs keeps, so graph mode itself
    gives either, depending on how warm its code is.
    """
    if a != a:
        return b != b
    return struct.pack("<d", a) == struct.pack("<d", b)


class Compiled:
    """A function compiled by `compile`: call it as you would call the function.

    ``source`` shows the code of the most recent call's trace; ``traces`` lists every trace
    kept (at most `MAX_TRACES`, the least recently used dropped first).
    """

    def __init__(self, f: Callable[..., Any], check: bool, has_aux: bool) -> None:
        functools.update_wrapper(self, f)  # f's name, docstring and signature
        self._f = f
        self._check = check
        transform = getattr(f, "transform", None)
        if isinstance(transform, functional.Transform):
            if has_aux:
                msg = (
                    f"compile(has_aux=True) of a {transform.kind}(): pass has_aux=True to "
                    f"{transform.kind}() instead, which says what its function returns"
                )
                raise TypeError(msg)
            self._kind = transform.kind
            self._function = transform.function
            self._argnums: functional.ArgNums | None = transform.argnums
            self._has_aux = transform.has_aux
        else:
            self._kind = ""
            self._function = f
            self._argnums = None
            self._has_aux = has_aux
        self._traces: OrderedDict[Any, Trace] = OrderedDict()
        self._last: Trace | None = None

    def __repr__(self) -> str:
        name = getattr(self._f, "__qualname__", repr(self._f))
        return f"<compiled {name}, {len(self._traces)} trace(s)>"

    @property
    def source(self) -> str:
        """The generated code of the most recently called trace."""
        if self._last is None:
            msg = (
                "nothing is compiled yet: the code is written at the first call, for the "
                "structure of its arguments"
            )
            raise RuntimeError(msg)
        return self._last.source

    @property
    def traces(self) -> list[Trace]:
        """Every trace kept, the most recently used last."""
        return list(self._traces.values())

    # -- calling ----------------------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._kind and functional._DEPTH.get() > 0:
            msg = (
                "a compiled grad() returns numbers and cannot be differentiated again: call "
                "it outside other grad()s, or use it uncompiled there"
            )
            raise RuntimeError(msg)
        key = self._key(args, kwargs)
        trace = self._traces.get(key)
        if trace is None:
            trace = self._trace(key, args, kwargs)
        else:
            self._traces.move_to_end(key)
        self._last = trace
        if len(engine._HOOKS) and any(engine._hooks_of(p) for p in trace._params):
            hooked = next(p for p in trace._params if engine._hooks_of(p))
            msg = (
                f"compile() cannot replay hooks: the parameter {hooked!r} has one "
                "(Value.register_hook). Remove it, or call the function without compile()"
            )
            raise RuntimeError(msg)
        if engine._anomaly.on or trace._replay is None:
            trace.graph_mode_calls += 1
            return self._graph_mode(key, args, kwargs)[0]  # anomaly mode checks every node
        if self._check:
            return self._checked(trace, key, args, kwargs)
        recording = engine.is_grad_enabled()
        saved = None if recording else list(map(_GRAD, trace._params))
        try:
            out, grads, extra = trace._replay(args, kwargs, trace._params)
        except (ArithmeticError, ValueError):
            # A float function refused a number (a domain error, an overflow): graph mode
            # raises the error it raises uncompiled, or computes what IEEE arithmetic gives.
            trace.graph_mode_calls += 1
            return self._graph_mode(key, args, kwargs)[0]
        finally:
            if saved is not None:
                _source._set_grads(trace._params, saved)  # under no_grad(), nothing learns
        trace.replays += 1
        return self._result(trace, out, grads, extra)

    def _key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        nums: set[int] = set()
        if self._argnums is not None:
            nums = set(functional._argnums(self._argnums, len(args), "grad()"))
        shapes = tuple(_graph.shape(a, f"argument {i}", i in nums) for i, a in enumerate(args))
        if not kwargs:
            return shapes, ()
        return shapes, tuple(
            sorted((name, _graph.shape(x, f"argument {name!r}")) for name, x in kwargs.items())
        )

    @staticmethod
    def _shapes(key: Any) -> tuple[tuple[Any, ...], tuple[tuple[str, Any], ...]]:
        """The structures of a call's arguments, in their general form."""
        positional = tuple(_graph.expanded(s) for s in key[0])
        return positional, tuple((name, _graph.expanded(s)) for name, s in key[1])

    def _result(self, trace: Trace, out: float, grads: Sequence[float], extra: Any) -> Any:
        aux = _rebuild(trace._aux, extra) if self._has_aux else None
        if not self._kind:
            return (out, aux) if self._has_aux else out
        picked = [grads[j] for j in trace._wanted]
        gradient = picked[0] if isinstance(self._argnums, int) else tuple(picked)
        if self._kind == "grad":
            return (gradient, aux) if self._has_aux else gradient
        return ((out, aux), gradient) if self._has_aux else (out, gradient)

    # -- tracing ----------------------------------------------------------------------------------

    def _call_on_values(
        self, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any], tracing: bool
    ) -> tuple[Any, list[Value]]:
        """The function called with a new leaf Value for each float of the arguments."""
        arg_shapes, kwarg_shapes = self._shapes(key)
        inputs: list[Value] = []
        if self._kind:
            nums = functional._argnums(self._argnums, len(args), "grad()")
            for i in nums:
                _checks.real(args[i], "Value()")  # what uncompiled value_and_grad refuses
        vargs = [_graph.values(a, s, inputs) for a, s in zip(args, arg_shapes, strict=True)]
        vkwargs = {name: _graph.values(kwargs[name], s, inputs) for name, s in kwarg_shapes}
        if not tracing:
            return self._function(*vargs, **vkwargs), inputs  # in the caller's grad mode
        with engine.enable_grad():
            if self._kind:
                result = functional._call(self._function, vargs, vkwargs)
            else:
                result = self._function(*vargs, **vkwargs)
        return result, inputs

    def _outputs(self, result: Any) -> tuple[Value | None, float, Any, list[Value]]:
        """What the function returned: the output, its number if not a Value, and any aux."""
        aux: Any = None
        extra: list[Value] = []
        if self._has_aux:
            if not (isinstance(result, tuple) and len(result) == 2):
                where = "grad" if self._kind else "compile"  # grad's words, uncompiled too
                msg = (
                    f"{where}(has_aux=True) needs a function returning (output, aux), got "
                    f"{_checks.shown(result)}"
                )
                raise TypeError(msg)
            result, aux = result
            aux = _slots(aux, extra)
        if isinstance(result, Value):
            return result, 0.0, aux, extra
        if _checks.is_number(result):
            return None, float(result), aux, extra
        got = _checks.shown(result)
        where = "grad()" if self._kind else "compile()"
        msg = f"{where} needs a function returning a Value or a number, got {got}"
        raise TypeError(msg)

    def _trace(self, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Trace:
        started = time.perf_counter()
        if engine._anomaly.on:
            msg = "compile() traces outside detect_anomaly(): call it once before switching it on"
            raise RuntimeError(msg)
        result, inputs = self._call_on_values(key, args, kwargs, tracing=True)
        root, number, aux, extra = self._outputs(result)
        del result
        graph, candidates = _graph.record(root, extra, inputs)
        graph.output = number
        signature = _signature(root) if self._check and root is not None else ()
        wanted: list[int] = []
        picks: list[int] = []
        if self._kind:
            nums = functional._argnums(self._argnums, len(args), "grad()")
            # Which input each differentiated argument became (a number: its only leaf).
            first = _first_inputs(self._shapes(key)[0])
            for i in nums:
                k = first[i]
                if k not in wanted:
                    wanted.append(k)
                picks.append(wanted.index(k))
        del root, extra, inputs
        # The graph is gone: a leaf still alive is held by someone else.
        for i, ref, data, constant in candidates:
            alive = ref()
            if alive is None:
                graph.leaves[i] = Leaf(CONSTANT, number=data)
            elif self._kind and not constant:
                msg = (
                    f"compile() of a {self._kind}() needs a function of its arguments alone: "
                    f"it reaches {alive!r}, a Value it did not make (a parameter?), and "
                    f"uncompiled {self._kind}() then returns graphs. Compile the function that "
                    "calls backward() instead, or pass the number in as an argument"
                )
                raise RuntimeError(msg)
            elif self._kind:
                graph.leaves[i] = Leaf(CONSTANT, number=alive._data)
            else:
                graph.leaves[i] = Leaf(PARAMETER, value=alive)
            del alive
        traced = time.perf_counter()
        arg_shapes, kwarg_shapes = self._shapes(key)
        names = [
            f"x{k}"
            for k in range(sum(_count(s) for s in (*arg_shapes, *(s for _, s in kwarg_shapes))))
        ]
        start = 0
        arg_patterns: list[str] = []
        converted: list[int] = []
        for s in arg_shapes:
            text, start, more = _graph.pattern(s, names, start)
            arg_patterns.append(text)
            converted += more
        kwarg_patterns: list[tuple[str, str]] = []
        for name, s in kwarg_shapes:
            text, start, more = _graph.pattern(s, names, start)
            if text != "_":
                kwarg_patterns.append((name, text))
            converted += more
        structure = ", ".join(
            [_graph.described(s) for s in arg_shapes]
            + [f"{name}={_graph.described(s)}" for name, s in kwarg_shapes]
        )
        title = f"{getattr(self._function, '__qualname__', 'f')}({structure})"
        arguments = _source.Arguments(
            arg_patterns, kwarg_patterns, converted, len(names), arg_shapes, kwarg_shapes
        )
        try:
            source = _source.write(graph, arguments, wanted, title)
        except _source.TooLarge as error:
            return self._uncompiled(key, structure, graph, error, started, traced)
        written = time.perf_counter()
        filename = f"<autograd_lite.compile #{next(_SERIAL)}>"
        code = builtins.compile(source.text, filename, "exec")
        namespace: dict[str, Any] = {"__builtins__": builtins, **source.names}
        exec(code, namespace)
        compiled = time.perf_counter()
        trace = Trace(
            structure=structure,
            source=source.text,
            nodes=len(graph.ops),
            operations=source.operations,
            inputs=source.inputs,
            parameters=len(source.params),
            rule_calls=source.fallbacks,
            loop=source.loop,
            seconds={
                "trace": traced - started,
                "write": written - traced,
                "compile": compiled - written,
            },
            _replay=namespace["replay"],
            _params=source.params,
            _signature=signature,
            _aux=aux,
            _wanted=tuple(picks),
        )
        # Tracebacks through the replay show its lines.
        lines = source.text.splitlines(keepends=True)
        linecache.cache[filename] = (len(source.text), None, lines, filename)
        weakref.finalize(trace, linecache.cache.pop, filename, None)
        self._traces[key] = trace
        while len(self._traces) > 1 and (
            len(self._traces) > MAX_TRACES
            or sum(len(t.source) for t in self._traces.values()) > MAX_SOURCE_CHARS
        ):
            self._traces.popitem(last=False)
        return trace

    def _uncompiled(
        self,
        key: Any,
        structure: str,
        graph: _graph.Graph,
        error: Exception,
        started: float,
        traced: float,
    ) -> Trace:
        """A trace whose calls run in graph mode: its graph is too large to write."""
        limit = _source.MAX_STRAIGHT_OPERATIONS
        note = (
            f"# Not compiled: {error} (compile() writes at most {limit:,} as straight code, "
            "which Python compiles with about 4.5 kB of memory per operation). Every call with "
            "this structure runs in graph mode.\n"
        )
        trace = Trace(
            structure=structure,
            source=note,
            nodes=len(graph.ops),
            operations=sum(op is not None for op in graph.ops),
            inputs=0,
            parameters=0,
            rule_calls=0,
            loop="",
            seconds={"trace": traced - started, "write": 0.0, "compile": 0.0},
            _replay=None,
            _params=(),
            _signature=(),
            _aux=None,
            _wanted=(),
        )
        self._traces[key] = trace
        while len(self._traces) > MAX_TRACES:
            self._traces.popitem(last=False)
        return trace

    # -- graph mode, and the check against it ---------------------------------------------------

    def _graph_mode(
        self, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Any, Any]:
        """The call without compile(): the function on Values, then backward()."""
        if self._kind:
            return self._f(*args, **kwargs), None
        result, _ = self._call_on_values(key, args, kwargs, tracing=False)
        root, number, aux, extra = self._outputs(result)
        del result
        if root is not None:
            root.backward()
            number = root.data
        if self._has_aux:  # each Value of the aux as its number, as a replay returns it
            return (number, _rebuild(aux, [v.data for v in extra])), root
        return number, root

    def _checked(
        self, trace: Trace, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        params = trace._params
        saved = [p.grad for p in params]
        assert trace._replay is not None  # a trace without code runs in graph mode before this
        try:
            out, grads, extra = trace._replay(args, kwargs, params)
        except (ArithmeticError, ValueError):
            for p, g in zip(params, saved, strict=True):
                p.grad = g
            trace.graph_mode_calls += 1
            return self._graph_mode(key, args, kwargs)[0]
        replayed = list(map(_GRAD, params))
        for p, g in zip(params, saved, strict=True):
            p.grad = g
        if not engine.is_grad_enabled():
            replayed = [g if type(g) is float else engine._number(g) for g in saved]
        compiled = self._result(trace, out, grads, extra)
        expected, graph = self._graph_mode(key, args, kwargs)
        trace.graph_mode_calls += 1
        recorded = engine.is_grad_enabled() and graph is not None and trace._signature
        if recorded and graph is not None and _signature(graph) != trace._signature:
            msg = (
                "compile(check=True): this call's graph differs from the traced one, so the "
                "function's graph depends on its numbers in Python (an `if` on a Value, "
                "float(), math.*, .data, or no_grad()); a trace cannot see that. Call it "
                "uncompiled, or write the choice with an operation (maximum, relu, clamp, ...)"
            )
            raise ReplayMismatch(msg)
        _compare(compiled, expected, "the output")
        for i, (p, g) in enumerate(zip(params, replayed, strict=True)):
            graph_grad = p.grad if type(p.grad) is float else engine._number(p.grad)
            if not _same(g, graph_grad):
                name = f" ({p.label})" if p.label else ""
                msg = (
                    f"compile(check=True): the gradient of parameter {i}{name} is {g!r} "
                    f"replayed and {graph_grad!r} in graph mode{_HINT}"
                )
                raise ReplayMismatch(msg)
        return compiled


_HINT: Final = (
    "; the function reads a number in Python that a trace fixes (.data, float(), math.*, an "
    "`if` on a Value, no_grad()): call it uncompiled, or compute that number with operations"
)


def _compare(compiled: Any, expected: Any, what: str) -> None:
    """Raise ReplayMismatch at the first number that differs between two results."""
    if isinstance(compiled, float) and isinstance(expected, float):
        if not _same(compiled, expected):
            msg = (
                f"compile(check=True): {what} is {compiled!r} replayed and {expected!r} in "
                f"graph mode{_HINT}"
            )
            raise ReplayMismatch(msg)
        return
    if isinstance(compiled, list | tuple) and isinstance(expected, list | tuple):
        if len(compiled) != len(expected):
            msg = (
                f"compile(check=True): {what} has {len(compiled)} entries replayed, "
                f"{len(expected)} in graph mode"
            )
            raise ReplayMismatch(msg)
        for i, (a, b) in enumerate(zip(compiled, expected, strict=True)):
            _compare(a, b, f"{what}[{i}]")
        return
    if isinstance(expected, Value) and isinstance(compiled, float):
        _compare(compiled, expected.data, what)
        return
    if compiled != expected:
        msg = f"compile(check=True): {what} is {compiled!r} replayed and {expected!r} in graph mode"
        raise ReplayMismatch(msg)


def _signature(root: Value) -> tuple[Any, ...]:
    """The shape of a graph: each node's operation and parents' positions, leaves as ''."""
    order = engine._depth_first_order(root)
    position = {node: i for i, node in enumerate(order)}
    return tuple(
        (node._operation.name, node._operation.args, tuple(position[p] for p in node._parents))
        if node._parents
        else (_code.literal(node._data) if node._operation is engine.CONSTANT else "")
        for node in order
    )


def _count(s: Any) -> int:
    """How many floats an argument of structure s holds."""
    if s == _graph.FLOAT:
        return 1
    kind = s[0]
    if kind == _graph.CONVERTED:
        return 1
    if kind == _graph.STATIC:
        return 0
    if kind in (_graph.FLOAT_LIST, _graph.FLOAT_TUPLE):
        return int(s[1])
    return sum(_count(inner) for inner in s[1])


def _first_inputs(shapes: Sequence[Any]) -> list[int]:
    """The number of the first input of each argument."""
    first = []
    start = 0
    for s in shapes:
        first.append(start)
        start += _count(s)
    return first


def compile(f: Callable[..., Any], *, check: bool = False, has_aux: bool = False) -> Compiled:
    """Compile f, a function of floats that builds a graph, into Python code that replays it.

    The first call with a given structure of arguments calls f on Values, a new leaf for each
    float argument, and writes the graph it records as one Python function: the forward pass
    and then the backward sweep, each node by its own rule. Every later call with that
    structure runs that code: it returns the output's number and adds to the ``.grad`` of
    each Value f reaches what ``f(*args).backward()`` adds, bit for bit.

    - Arguments: floats are the inputs, in lists and tuples nested as you like; ints, strs,
      bools and None are fixed per trace (another value is another trace, as is another
      length or nesting). At most `MAX_TRACES` traces are kept. Pass a batch as an argument:
      the same subgraph per example is then written once, as a loop.
    - Values f reaches: a leaf that someone else holds (a model's parameter) is read afresh at
      every call and gets its gradient; a Value f makes is a constant of the trace.
    - A trace records the graph, not the Python around it: a choice made in Python from a
      number (``if v > 0:``, ``float(v)``, ``math.exp(v)``, ``.data``, ``no_grad()`` inside
      f) is the first call's at every replay, and a Value computed before the call from
      parameters is recomputed, where graph mode would reuse its old number. Write such
      choices with operations (``relu``, ``maximum``, ``clamp``), or call f uncompiled;
      ``check=True`` also runs graph mode at each call and raises `ReplayMismatch` at the
      first difference, leaving ``.grad`` as graph mode leaves it.
    - A call whose replay raises (a domain error, an overflow) is done again in graph mode,
      which raises its usual error or computes what IEEE arithmetic gives. Hooks cannot be
      replayed (refused); under ``detect_anomaly()`` calls run in graph mode; under
      ``no_grad()`` a call returns its number and changes no gradient.
    - ``has_aux=True``: f returns ``(output, aux)``, and a call returns ``(number, aux)``
      with each Value inside aux (in lists, tuples and dicts) replaced by its number, as
      JAX's ``has_aux`` does; say, a loss and the scores it was computed from.
    - ``compile(grad(f))`` and ``compile(value_and_grad(f))`` return what they return, for a
      function of its arguments alone (one reaching a parameter makes them return graphs).

    ``step.source`` shows the code of the last call's trace; ``step.traces`` their sizes and
    times.

    >>> from autograd_lite import Value
    >>> w = Value(3.0)
    >>> step = compile(lambda x: (w * x).tanh())
    >>> step(0.5), w.grad
    (0.9051482536448664, 0.09035331946182429)
    >>> print(step.source.splitlines()[7])
        v3 = tanh(v2)  # tanh
    """
    if isinstance(f, Compiled):
        f = f._f
    if not callable(f):
        msg = f"compile() needs a function, got {_checks.shown(f)}"
        raise TypeError(msg)
    return Compiled(
        f, _checks.flag(check, "compile() check"), _checks.flag(has_aux, "compile() has_aux")
    )
