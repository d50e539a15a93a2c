"""Tracing: the structure of a call's arguments, and the graph a call records, kept as numbers.

`shape` says what a call's arguments look like (which positions hold floats, how lists nest,
the values of the other arguments), which decides whether a trace can be replayed. `record`
turns the graph of one traced call into a `Graph` that holds no node of it: operations and
parent positions, and for each leaf whether it is an input, a Value someone else holds (a
parameter, read afresh at every call) or a number nobody else can see (a constant).
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from autograd_lite import _checks, engine
from autograd_lite.engine import Op, Value

__all__ = ["CONSTANT", "INPUT", "PARAMETER", "Graph", "Leaf", "record", "shape", "values"]

# A float argument; a float of another type (numpy's float64) or an int that is differentiated,
# both passed through float() at every call.
FLOAT: Final = "f"
CONVERTED: Final = "c"
# A list or tuple of floats only, by its length (most arguments: one check in C).
FLOAT_LIST: Final = "L"
FLOAT_TUPLE: Final = "T"
LIST: Final = "l"
TUPLE: Final = "t"
# Any other argument is part of the structure by its value: an int, a str, a bool, None.
STATIC: Final = "="
# Short forms of the two usual batch arguments, so that looking a call up costs little: n
# elements of one structure (rows of floats), and a list of ints (class labels). `expanded`
# turns them into the general form.
UNIFORM: Final = "U"
INTS: Final = "I"
STATIC_TYPES: Final = (int, str, bool, type(None))

_FLOATS_ONLY: Final = frozenset({float})


def shape(x: object, where: str, convert: bool = False) -> Any:
    """x's structure: nesting, lengths, which entries are floats, and the value of the rest."""
    kind = type(x)
    if kind is float:
        return FLOAT
    if kind is list or kind is tuple:
        items: Sequence[Any] = x  # type: ignore[assignment]  # a list or tuple, checked above
        types = set(map(type, items))
        if types == _FLOATS_ONLY:
            return (FLOAT_LIST if kind is list else FLOAT_TUPLE, len(items))
        fast = _common_shapes(items, types, convert)
        if fast is not None:
            return (LIST if kind is list else TUPLE, fast)
        return (
            LIST if kind is list else TUPLE,
            tuple(shape(item, f"{where}[{i}]", convert) for i, item in enumerate(items)),
        )
    if isinstance(x, float) or (convert and kind is int):
        return (CONVERTED, kind)
    if kind in STATIC_TYPES:
        return (STATIC, kind, x)
    if isinstance(x, Value):
        msg = (
            f"compile() calls take numbers, not Values: {where} is {x!r}. Pass its number "
            "(.data); a Value that the function reaches by itself, such as a model's "
            "parameter, is read afresh at every call"
        )
        raise TypeError(msg)
    msg = (
        f"compile() traces functions of floats (or lists and tuples of them, nested) and of "
        f"ints, strs, bools and None, which are fixed per trace: {where} is {_checks.shown(x)}. "
        "Let the function reach other objects itself (a closure, a default argument)"
    )
    raise TypeError(msg)


_ROW_KINDS: Final[dict[type, str]] = {list: FLOAT_LIST, tuple: FLOAT_TUPLE}


def _common_shapes(items: Sequence[Any], types: set[type], convert: bool) -> Any:
    """The short structure of the two usual arguments, found in C: rows of floats (a batch)
    and ints (class labels); None for anything else, which is looked at item by item."""
    if len(types) == 1 and types <= {list, tuple}:
        widths = set(map(len, items))
        if (
            len(widths) == 1
            and set(map(type, itertools.chain.from_iterable(items))) <= _FLOATS_ONLY
        ):
            (kind,) = types
            return (UNIFORM, len(items), (_ROW_KINDS[kind], widths.pop()))
        return None
    if types == {int} and not convert:
        return (INTS, tuple(items))
    return None


def expanded(s: Any) -> Any:
    """A structure in its general form (the short forms of `shape` spelt out)."""
    if s == FLOAT:
        return s
    kind = s[0]
    if kind in (LIST, TUPLE):
        inner = s[1]
        if isinstance(inner, tuple) and len(inner) == 3 and inner[0] == UNIFORM:
            return (kind, (expanded(inner[2]),) * inner[1])
        if isinstance(inner, tuple) and len(inner) == 2 and inner[0] == INTS:
            return (kind, tuple((STATIC, int, v) for v in inner[1]))
        return (kind, tuple(expanded(item) for item in inner))
    return s


def values(x: object, s: Any, inputs: list[Value]) -> Any:
    """x with every float of its structure s replaced by a new leaf Value, appended to inputs."""
    if s == FLOAT or (type(s) is tuple and s[0] == CONVERTED):
        leaf = Value(float(x))  # type: ignore[arg-type]  # a number, by its shape
        inputs.append(leaf)
        return leaf
    kind = s[0]
    items: Sequence[Any] = x  # type: ignore[assignment]  # a list or tuple, by its shape
    if kind in (FLOAT_LIST, FLOAT_TUPLE):
        made = []
        for item in items:
            leaf = Value(item)
            inputs.append(leaf)
            made.append(leaf)
    elif kind in (LIST, TUPLE):
        made = [values(item, inner, inputs) for item, inner in zip(items, s[1], strict=True)]
    else:
        return x  # a static argument, as it is
    return made if kind in (FLOAT_LIST, LIST) else tuple(made)


def pattern(s: Any, names: Sequence[str], start: int) -> tuple[str, int, list[int]]:
    """The unpacking target for an argument of structure s, e.g. ``(x0, (x1, x2))``.

    Returns the text, the next input number, and the inputs that need float() at each call.
    """
    if s == FLOAT:
        return names[start], start + 1, []
    kind = s[0]
    if kind == CONVERTED:
        return names[start], start + 1, [start]
    if kind == STATIC:
        return "_", start, []
    if kind in (FLOAT_LIST, FLOAT_TUPLE):
        count = s[1]
        parts = list(names[start : start + count])
        converted: list[int] = []
        start += count
    else:
        parts = []
        converted = []
        for inner in s[1]:
            text, start, more = pattern(inner, names, start)
            parts.append(text)
            converted += more
    if all(part == "_" for part in parts):
        return "_", start, converted  # nothing to read in it
    return (f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"), start, converted


def described(s: Any) -> str:
    """A structure as a reader says it: ``list[100 × list[2 floats]]``, ``tuple[float, int 3]``."""
    if s == FLOAT:
        return "float"
    kind = s[0]
    if kind == CONVERTED:
        return f"{s[1].__name__} (as a float)"
    if kind == STATIC:
        return f"{s[1].__name__} {s[2]!r}"
    if kind in (FLOAT_LIST, FLOAT_TUPLE):
        name = "list" if kind == FLOAT_LIST else "tuple"
        return f"{name}[{s[1]} float{'s' if s[1] != 1 else ''}]"
    name = "list" if kind == LIST else "tuple"
    items = [described(inner) for inner in s[1]]
    runs: list[str] = []  # equal neighbours said once, with their count
    for item, group in itertools.groupby(items):
        count = len(list(group))
        runs.append(item if count == 1 else f"{count} × {item}")
    if len(runs) > 12:
        runs = [*runs[:10], f"… {len(runs) - 10} more"]
    return f"{name}[{', '.join(runs)}]"


# ---------------------------------------------------------------------------------------------
# The recorded graph, without its nodes
# ---------------------------------------------------------------------------------------------

INPUT: Final = "input"
PARAMETER: Final = "parameter"
CONSTANT: Final = "constant"


@dataclass
class Leaf:
    """A leaf of the graph: an input (its number), a parameter (the Value) or a constant."""

    kind: str
    input: int = -1
    value: Value | None = None
    number: float = 0.0


@dataclass
class Graph:
    """A traced graph as positions: node i's operation and the positions of its parents.

    Nodes are in the order of ``engine.topological_order(root)`` (the order every backward
    sweep uses), then any node only ``extra`` outputs need. ``ops[i]`` is None for a leaf.
    """

    ops: list[Op | None]
    parents: list[tuple[int, ...]]
    leaves: dict[int, Leaf]
    root: int  # -1 when the output is a number
    output: float = 0.0  # that number
    extra: list[int] = field(default_factory=list)
    swept: int = 0  # how many nodes the backward sweep visits (the root's graph)


def record(
    root: Value | None, extra: Sequence[Value], inputs: Sequence[Value]
) -> tuple[Graph, list[tuple[int, weakref.ref[Value], float, bool]]]:
    """The graph of root (and of the extra outputs) as positions, and the leaves to classify.

    Each leaf that is not an input comes back as (position, weak reference, number, whether it
    is a constant node): once the caller has dropped the graph, the leaves still alive are
    held by someone else (parameters); the others were made by the function and nobody can see
    them again (constants).
    """
    order: list[Value] = engine._depth_first_order(root) if root is not None else []
    swept = len(order)
    position: dict[Value, int] = {node: i for i, node in enumerate(order)}
    for output in extra:
        if output not in position:
            for node in engine._depth_first_order(output):
                if node not in position:
                    position[node] = len(order)
                    order.append(node)
    if len(engine._HOOKS):
        hooked = [node for node in order if engine._hooks_of(node)]
        if hooked:
            msg = (
                f"compile() cannot replay hooks: {hooked[0]!r} has one (Value.register_hook). "
                "Remove it, or call the function without compile()"
            )
            raise RuntimeError(msg)
    own = {id(v): k for k, v in enumerate(inputs)}
    ops: list[Op | None] = []
    parents: list[tuple[int, ...]] = []
    leaves: dict[int, Leaf] = {}
    candidates: list[tuple[int, weakref.ref[Value], float, bool]] = []
    for i, node in enumerate(order):
        if node._parents:
            ops.append(node._operation)
            parents.append(tuple([position[p] for p in node._parents]))
            continue
        ops.append(None)
        parents.append(())
        k = own.get(id(node))
        if k is not None and inputs[k] is node:
            leaves[i] = Leaf(INPUT, input=k)
        else:
            constant = node._operation is engine.CONSTANT
            candidates.append((i, weakref.ref(node), node._data, constant))
    graph = Graph(
        ops,
        parents,
        leaves,
        position[root] if root is not None else -1,
        extra=[position[v] for v in extra],
        swept=swept,
    )
    return graph, candidates
