"""Finding a loop in a traced graph: the same subgraph once per element of a batch argument.

A training step computes the same thing for every example of its batch, so its graph is one
subgraph per example (a *unit*: the nodes that depend on that example's numbers and on no
other's), all alike: the same operations, wired alike, reading the same parameters. `plan` finds
the units, keeps the longest stretch they share (a loss that differs per label is left to
straight code), and checks that running them as a loop adds every gradient's terms in the very
order ``backward()`` adds them; if anything does not fit, there is no plan and the code stays
straight. Nothing here writes code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from autograd_lite._compile import _code, _graph
from autograd_lite._compile._graph import CONSTANT, INPUT, Graph

if TYPE_CHECKING:
    from autograd_lite._compile._source import Arguments

__all__ = ["MULTI", "NONE", "Plan", "plan"]

# A node that depends on no example's numbers, and one that depends on several.
NONE: Final = -1
MULTI: Final = -2
# Fewer units than this, or a smaller body, and a loop is not worth its bookkeeping.
MIN_UNITS: Final = 4
MIN_BODY: Final = 4


@dataclass
class Plan:
    """How to write a graph as a loop over the units of a batch.

    ``units[j]`` lists unit j's body nodes (the shared stretch), in order; ``unit_of`` maps a
    body node to (unit, place). ``slots[j]`` are unit j's inputs in the order the loop reads
    them. ``depends[i]`` is NONE, MULTI or the unit node i depends on; ``feeds_body[i]`` says
    whether node i, outside the body, is an ancestor of it (its gradient is complete only
    after the loop). ``outputs`` are the places in the body whose values code after the loop
    reads. ``sources`` name the grouped arguments, ``patterns`` unpack one element of each.
    """

    units: list[list[int]]
    unit_of: dict[int, tuple[int, int]]
    slots: list[list[int]]
    depends: list[int]
    feeds_body: list[bool]
    outputs: list[int]
    sources: list[int | str]
    patterns: list[str]
    inputs_outside: bool

    def target(self, prefix: str) -> str:
        """The loop's target: one element of each grouped argument, unpacked."""
        if len(self.patterns) == 1:
            return self.patterns[0]
        return f"({', '.join(self.patterns)})"

    def iterable(self) -> str:
        """What the loop runs over: the grouped arguments, side by side."""
        sources = [f"args[{s}]" if isinstance(s, int) else f"kwargs[{s!r}]" for s in self.sources]
        return sources[0] if len(sources) == 1 else f"zip({', '.join(sources)})"


def plan(graph: Graph, needs: Sequence[bool], arguments: Arguments) -> Plan | None:
    """A loop for the graph, or None when it has none (or one would change an order)."""
    groups = _groups(arguments)
    if groups is None:
        return None
    sources, slots, patterns = groups
    unit_of_input = {k: j for j, unit_slots in enumerate(slots) for k in unit_slots}
    ops, parents = graph.ops, graph.parents
    n = len(ops)
    depends = [NONE] * n
    input_number = {i: leaf.input for i, leaf in graph.leaves.items() if leaf.kind == INPUT}
    for i in range(n):
        if ops[i] is None:
            depends[i] = unit_of_input.get(input_number.get(i, -1), NONE)
            continue
        seen = NONE
        for p in parents[i]:
            d = depends[p]
            if d in (NONE, seen):
                continue
            if seen == NONE and d != MULTI:
                seen = d
            else:
                seen = MULTI
                break
        depends[i] = seen
    count = len(slots)
    members: list[list[int]] = [[] for _ in range(count)]
    for i in range(graph.swept):
        if ops[i] is not None and depends[i] >= 0:
            members[depends[i]].append(i)
    if any(not m for m in members):
        return None
    # The longest stretch that every unit shares: the same operations, wired alike.
    first = _signatures(graph, members[0], slots[0], len(members[0]))
    shared = len(first)
    for j in range(1, count):
        if shared < MIN_BODY:
            return None
        other = _signatures(graph, members[j], slots[j], shared)
        same = 0
        while same < len(other) and other[same] == first[same]:
            same += 1
        shared = same
    if shared < MIN_BODY:
        return None
    units = [m[:shared] for m in members]
    unit_of = {i: (j, t) for j, unit in enumerate(units) for t, i in enumerate(unit)}
    if graph.root in unit_of:
        return None
    feeds_body = [False] * n
    for i in range(n - 1, -1, -1):
        if i in unit_of or feeds_body[i]:
            for p in parents[i]:
                if p not in unit_of:
                    feeds_body[p] = True
    # What feeds the body is computed before the loop: it may not depend on any example (but
    # an example's own inputs, which the loop reads).
    if any(feeds_body[i] and depends[i] != NONE and ops[i] is not None for i in range(n)):
        return None
    # The places in the body whose values code after the loop reads, or that f returns in aux.
    outputs = sorted(
        {
            unit_of[p][1]
            for i in range(n)
            if ops[i] is not None and i not in unit_of
            for p in parents[i]
            if p in unit_of
        }
        | {unit_of[i][1] for i in graph.extra if i in unit_of}
    )
    group_inputs = set(unit_of_input)
    inputs_outside = any(
        p in input_number and input_number[p] in group_inputs
        for i in range(n)
        if ops[i] is not None and i not in unit_of
        for p in parents[i]
    ) or any(input_number.get(i, -1) in group_inputs for i in [graph.root, *graph.extra])
    made = Plan(
        units,
        unit_of,
        slots,
        depends,
        feeds_body,
        outputs,
        sources,
        patterns,
        inputs_outside,
    )
    return made if _keeps_order(graph, needs, made) else None


def _signatures(
    graph: Graph, members: list[int], slots: list[int], limit: int
) -> list[tuple[Any, ...]]:
    """The first ``limit`` members' operations and where each of their inputs comes from,
    relative to the unit: one of its nodes, one of its inputs, a number, or a shared node."""
    place = {i: t for t, i in enumerate(members)}
    slot = {k: s for s, k in enumerate(slots)}
    leaves = graph.leaves
    out = []
    for i in members[:limit]:
        op = graph.ops[i]
        assert op is not None
        refs: list[Any] = []
        for p in graph.parents[i]:
            t = place.get(p)
            if t is not None:
                refs.append(t)
                continue
            leaf = leaves.get(p)
            if leaf is not None and leaf.kind == INPUT and leaf.input in slot:
                refs.append(("input", slot[leaf.input]))
            elif leaf is not None and leaf.kind == CONSTANT:
                refs.append(("number", _code.literal(leaf.number)))
            else:
                refs.append(("shared", p))
        out.append((op.rule, repr(op.args) if op.args else "", tuple(refs)))
    return out


def _keeps_order(graph: Graph, needs: Sequence[bool], made: Plan) -> bool:
    """Whether the loop's schedule adds every gradient's terms in backward()'s order.

    backward() visits nodes from the root down; the loop's code first does the nodes after the
    loop that do not feed it (in that order), then each unit's body, the last unit first, then
    the nodes before the loop. Each gradient's terms, in backward()'s order, must already be
    in the order of that schedule.
    """
    ops, parents = graph.ops, graph.parents
    units = len(made.units)
    last: dict[int, tuple[int, int, int]] = {}  # node -> the schedule key of its last term
    for child in range(graph.root, -1, -1):
        if ops[child] is None or not needs[child]:
            continue
        where = made.unit_of.get(child)
        if where is not None:
            key = (1, units - 1 - where[0], -child)
        elif made.feeds_body[child]:
            key = (2, 0, -child)
        else:
            key = (0, 0, -child)
        for p in parents[child]:
            if not needs[p]:
                continue
            previous = last.get(p)
            if previous is not None and previous > key:
                return False
            last[p] = key
    return True


def _groups(arguments: Arguments) -> tuple[list[int | str], list[list[int]], list[str]] | None:
    """The batch arguments: the ones whose elements (examples) hold inputs, all as many.

    Returns the arguments (positions and keyword names), each unit's inputs in reading order,
    and the unpacking target of one element of each argument, in the loop's names (xb0, ...).
    """
    entries: list[tuple[int | str, Any, int]] = []
    first = 0
    for i, s in enumerate(arguments.shapes):
        entries.append((i, s, first))
        first += _count(s)
    for name, s in arguments.keyword_shapes:
        entries.append((name, s, first))
        first += _count(s)
    candidates: list[tuple[int | str, list[Any], int]] = []
    for source, s, start in entries:
        elements = _elements(s)
        if elements is None or len(elements) < MIN_UNITS or not _count(s):
            continue
        erased = {_erased(e) for e in elements}
        if len(erased) != 1 or _converts(elements[0]):
            continue
        candidates.append((source, elements, start))
    if not candidates:
        return None
    inputs_by_length: Counter[int] = Counter()
    for _, elements, _ in candidates:
        inputs_by_length[len(elements)] += sum(_count(e) for e in elements)
    length = max(inputs_by_length, key=lambda k: (inputs_by_length[k], k))
    chosen = [c for c in candidates if len(c[1]) == length]
    slots: list[list[int]] = [[] for _ in range(length)]
    patterns: list[str] = []
    slot = 0
    for _, elements, start in chosen:
        width = _count(elements[0])
        names = [f"xb{slot + k}" for k in range(width)]
        text, _, _ = _graph.pattern(elements[0], names, 0)
        patterns.append(text)
        for j in range(length):
            slots[j].extend(range(start + j * width, start + (j + 1) * width))
        slot += width
    return [c[0] for c in chosen], slots, patterns


def _elements(s: Any) -> list[Any] | None:
    """The structures of the elements of a list or tuple argument, else None."""
    if s == _graph.FLOAT:
        return None
    kind = s[0]
    if kind in (_graph.FLOAT_LIST, _graph.FLOAT_TUPLE):
        return [_graph.FLOAT] * s[1]
    if kind in (_graph.LIST, _graph.TUPLE):
        return list(s[1])
    return None


def _erased(s: Any) -> Any:
    """A structure with the values of its fixed entries forgotten: what the loop unpacks."""
    if s == _graph.FLOAT:
        return s
    kind = s[0]
    if kind == _graph.STATIC:
        return (_graph.STATIC,)
    if kind in (_graph.LIST, _graph.TUPLE):
        return (kind, tuple(_erased(inner) for inner in s[1]))
    return s


def _converts(s: Any) -> bool:
    """Whether a structure holds an input read through float()."""
    if s == _graph.FLOAT:
        return False
    kind = s[0]
    if kind == _graph.CONVERTED:
        return True
    if kind in (_graph.LIST, _graph.TUPLE):
        return any(_converts(inner) for inner in s[1])
    return False


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
