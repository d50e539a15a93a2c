"""Writing a traced graph as the source of one Python function: forward, then backward.

The forward part is each node's code from its rule (`_code.template`), in topological order;
the backward part is the chain rule written out: each gradient is one sum whose terms come in
exactly the order in which ``Value.backward()`` adds them, so that every float is the same.
When the graph is one subgraph repeated per element of a batch argument (a training step), that
subgraph is written once, as the body of a loop (`_loops` finds it and checks the order).
"""

from __future__ import annotations

import builtins
import itertools
import re
import sys
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final

from autograd_lite import engine
from autograd_lite._compile import _code, _loops
from autograd_lite._compile._graph import INPUT, PARAMETER, Graph
from autograd_lite.engine import Op, Value

__all__ = ["Source", "write"]

# Terms per statement: a sum of a thousand terms is a thousand nested nodes for Python's
# compiler, which recurses on them; a longer sum continues in the next statement.
TERMS_PER_LINE: Final = 64
# A graph up to this many nodes gets a comment per node naming its operation.
COMMENTED_NODES: Final = 20_000
# Up to this many parameters, the code says which is which by their labels.
LABELLED_PARAMETERS: Final = 32
# Straight code for more operations than this takes Python's compiler gigabytes (about 4.5 kB
# per operation at its peak): such a graph, unless it makes a loop, is not written at all.
MAX_STRAIGHT_OPERATIONS: Final = 200_000


class TooLarge(Exception):
    """The graph has no loop and too many operations to write as straight code."""


# The templates made so far, by operation (an Op, hashed by identity) and number of inputs.
# Bounded: engine Ops with constants can be made without end (one per distinct constant).
_TEMPLATES: Final[dict[tuple[Op, int], _code.Template]] = {}
_TEMPLATE_LIMIT: Final = 4096


def _template(op: Op, n: int) -> _code.Template:
    found = _TEMPLATES.get((op, n))
    if found is None:
        if len(_TEMPLATES) >= _TEMPLATE_LIMIT:
            _TEMPLATES.clear()
        found = _TEMPLATES[(op, n)] = _code.template(op, n)
    return found


def _grads(params: Sequence[Value]) -> list[float]:
    """Each parameter's gradient as a float, as backward() reads it (a Value gives its number)."""
    grads = list(map(_GRAD, params))
    if set(map(type, grads)) <= {float}:
        return grads
    return [g if type(g) is float else engine._number(g) for g in grads]


def _set_grads(params: Sequence[Value], grads: Sequence[float]) -> None:
    """Write each parameter's new gradient."""
    for p, g in zip(params, grads, strict=True):
        p.grad = g


_GRAD: Final = attrgetter("grad")
_DATA: Final = attrgetter("_data")


@dataclass
class Source:
    """The generated function's source, the names it needs, and what it is made of."""

    text: str
    names: dict[str, Any]
    params: tuple[Value, ...]
    inputs: int
    operations: int
    fallbacks: int  # nodes whose rule is called on floats (the code arithmetic could not run it)
    lines: int
    loop: str  # how many times the loop body runs, and how big it is; "" without a loop


@dataclass
class Arguments:
    """How the generated function reads its arguments (see `_compile.Compiled._trace`)."""

    patterns: Sequence[str]  # one unpacking target per positional argument
    keywords: Sequence[tuple[str, str]]  # (name, target) per keyword argument
    converted: Sequence[int]  # inputs read through float()
    count: int  # how many inputs
    shapes: Sequence[Any]  # each positional argument's structure
    keyword_shapes: Sequence[tuple[str, Any]]


class _Sequences:
    """Tuples of names, made once where all their items exist, and reused."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.made: dict[tuple[str, ...], str] = {}

    def name(self, items: tuple[str, ...], lines: list[str], indent: str) -> str:
        found = self.made.get(items)
        if found is None:
            found = self.made[items] = f"{self.prefix}{len(self.made)}"
            lines.append(f"{indent}{found} = {_tuple(items)}")
        return found


class _Writer:
    """The state of writing one function: each node's name and its local derivatives' code."""

    def __init__(self, graph: Graph, wanted: Sequence[int]) -> None:
        self.graph = graph
        self.ops = graph.ops
        self.parents = graph.parents
        n = len(graph.ops)
        self.commented = n <= COMMENTED_NODES
        self.params = sorted(i for i, leaf in graph.leaves.items() if leaf.kind == PARAMETER)
        self.param_number = {i: k for k, i in enumerate(self.params)}
        self.wanted = {k: j for j, k in enumerate(wanted)}
        self.n_wanted = len(wanted)
        self.names: dict[str, Any] = {"GRADS": _grads, "SET_GRADS": _set_grads, "DATA": _DATA}
        self.text: list[str] = [""] * n  # each node's value as code: a name or a number
        self.partials: list[list[tuple[str, int]]] = [[] for _ in range(n)]
        self.operations = 0
        self.fallbacks = 0
        for i, leaf in graph.leaves.items():
            if leaf.kind == INPUT:
                self.text[i] = f"x{leaf.input}"
            elif leaf.kind == PARAMETER:
                self.text[i] = f"p{self.param_number[i]}"
            else:
                self.text[i] = _code.literal(leaf.number)
                self.names.update(_code.constants_used(self.text[i]))
        self.needs = self._needs()

    def _needs(self) -> list[bool]:
        """Whether each node's gradient is needed: it leads to a parameter or a wanted input."""
        needs = [False] * len(self.ops)
        for i, leaf in self.graph.leaves.items():
            needs[i] = leaf.kind == PARAMETER or (leaf.kind == INPUT and leaf.input in self.wanted)
        for i in range(self.graph.swept):
            if self.ops[i] is not None:
                needs[i] = any(needs[p] for p in self.parents[i])
        return needs

    def node(
        self,
        i: int,
        inputs: list[str],
        number: str,
        lines: list[str],
        indent: str,
        sequences: _Sequences,
        sequence_lines: list[str] | None = None,
        shared: _Sequences | None = None,
        local: set[str] | None = None,
    ) -> str:
        """Write node i's forward code with its inputs' names; return its value's name.

        ``number`` names its variables (v{number}, d{number}_k). A tuple of inputs is made
        once in ``sequences``; in a loop's body a tuple of names that are all defined outside
        the body (none in ``local``) is made once before the loop, in ``shared``.
        """
        op = self.ops[i]
        assert op is not None
        self.operations += 1
        made = _template(op, len(inputs))
        fields: dict[str, str] = {"N": number}
        for k, indices in enumerate(made.sequences):
            items = tuple([inputs[j] for j in indices])
            if shared is not None and local is not None and not local.intersection(items):
                assert sequence_lines is not None
                fields[f"s{k}"] = shared.name(items, sequence_lines, "    ")
            else:
                fields[f"s{k}"] = sequences.name(items, lines, indent)
        block = made.block.format(*inputs, **fields)
        self.names.update(made.names)
        self.fallbacks += made.fallback
        node_lines = block.split("\n")
        if self.commented:
            node_lines[0] += f"  # {_comment(op)}"
        lines.extend(indent + line for line in node_lines)
        self.partials[i] = [
            (inputs[entry], _code.ATOM)
            if isinstance(entry, int)
            else (entry[0].replace("{N}", number), entry[1])
            for entry in made.partials
        ]
        return f"v{number}"


def write(graph: Graph, arguments: Arguments, wanted: Sequence[int], title: str) -> Source:
    """The source of ``replay(args, kwargs, P)`` for the graph.

    ``wanted`` lists the inputs whose gradients the function returns (for value_and_grad);
    ``P`` is the tuple of parameters (the graph's leaves that others hold), read afresh and
    given their gradients, accumulated as backward() accumulates them.
    """
    writer = _Writer(graph, wanted)
    plan = _loops.plan(graph, writer.needs, arguments)
    lines = ["def replay(args, kwargs, P):", f"    # {_escaped(title)}"]
    if plan is None:
        operations = sum(op is not None for op in graph.ops)
        if operations > MAX_STRAIGHT_OPERATIONS:
            msg = f"{operations} operations without a loop"
            raise TooLarge(msg)
        _straight(writer, arguments, lines)
        loop = ""
    else:
        _rolled(writer, arguments, plan, lines)
        loop = f"{len(plan.units)} × {len(plan.units[0])} nodes"
    source = "\n".join(lines) + "\n"
    values = [graph.leaves[i].value for i in writer.params]
    return Source(
        source,
        writer.names,
        tuple(v for v in values if v is not None),
        arguments.count,
        writer.operations,
        writer.fallbacks,
        len(lines),
        loop,
    )


def _header(writer: _Writer, arguments: Arguments, lines: list[str], skip: set[int | str]) -> None:
    """Unpack the arguments (but those in skip) and read the parameters."""
    patterns = ["_" if i in skip else p for i, p in enumerate(arguments.patterns)]
    if patterns and any(p != "_" for p in patterns):
        lines.append(f"    {_targets(patterns)} = args")
    for key, target in arguments.keywords:
        if key not in skip:
            lines.append(f"    {target} = kwargs[{key!r}]")
    for k in arguments.converted:
        lines.append(f"    x{k} = float(x{k})")
    if writer.params:
        leaves = writer.graph.leaves
        held = [leaves[i].value for i in writer.params]
        labels = [v.label if v is not None else "" for v in held]
        named = ""
        if len(labels) <= LABELLED_PARAMETERS and any(labels):
            named = " (" + ", ".join(f"p{k}: {label!r}" for k, label in enumerate(labels) if label)
            named += ")"
        lines.append(f"    # the parameters' numbers, read afresh{named}")
        lines.append(f"    {_targets([writer.text[i] for i in writer.params])} = map(DATA, P)")


def _footer(writer: _Writer, lines: list[str], grads: Sequence[str], wanted: Sequence[str]) -> None:
    graph = writer.graph
    if writer.params and grads:
        lines.append(f"    SET_GRADS(P, {_tuple(grads)})")
    root = graph.root
    out = writer.text[root] if root >= 0 else _code.literal(graph.output)
    writer.names.update(_code.constants_used(out))
    outputs = [writer.text[i] for i in graph.extra]
    lines.append(f"    return {out}, {_tuple(wanted)}, {_tuple(outputs)}")


# ---------------------------------------------------------------------------------------------
# Straight-line code: one line per node, then one sum per gradient
# ---------------------------------------------------------------------------------------------


def _straight(writer: _Writer, arguments: Arguments, lines: list[str]) -> None:
    graph = writer.graph
    ops, parents, text = writer.ops, writer.parents, writer.text
    _header(writer, arguments, lines, set())
    lines.append(
        "    # forward: each node's value and local derivatives, as its rule computes them"
    )
    sequences = _Sequences("s")
    for i, op in enumerate(ops):
        if op is not None:
            text[i] = writer.node(
                i, [text[p] for p in parents[i]], str(i), lines, "    ", sequences
            )
    root = graph.root
    needs = writer.needs
    param_grads: list[str] = []
    wanted_grads = ["0.0"] * writer.n_wanted
    if root >= 0 and needs[root]:
        terms: list[list[tuple[str, str]]] = [[] for _ in ops]
        grad_of: dict[int, str] = {}
        lines.append("    # backward: each gradient is one sum, in the order backward() adds it")
        if ops[root] is not None:
            grad_of[root] = f"g{root}"
            lines.append(f"    g{root} = 1.0")
        for i in range(root, -1, -1):
            if ops[i] is None or not needs[i]:
                continue
            if i != root:
                grad_of[i] = _gradient(lines, "    ", f"g{i}", "0.0", terms[i], non_leaf=True)
            for k, parent in enumerate(parents[i]):
                if needs[parent]:
                    terms[parent].append((_factor(writer.partials[i][k]), grad_of[i]))
        param_grads, wanted_grads = _leaf_gradients(writer, lines, terms, {})
    _footer(writer, lines, param_grads, wanted_grads)


def _leaf_gradients(
    writer: _Writer,
    lines: list[str],
    terms: list[list[tuple[str, str]]],
    started: dict[int, str],
    read: bool = True,
) -> tuple[list[str], list[str]]:
    """Each parameter's and wanted input's sum: from its sum so far (``started``), else from
    its .grad (a parameter) or 0.0 (an input), then its remaining terms."""
    graph = writer.graph
    root = graph.root
    if writer.params and read:
        lines.append(f"    {_targets([f'sp{k}' for k in range(len(writer.params))])} = GRADS(P)")
    param_grads = []
    for k, i in enumerate(writer.params):
        seeded = terms[i] if i != root else [("", "1.0")]
        start = started.get(i, f"sp{k}")
        param_grads.append(_gradient(lines, "    ", f"gp{k}", start, seeded, non_leaf=False))
    wanted_grads = ["0.0"] * writer.n_wanted
    for i, leaf in graph.leaves.items():
        if leaf.kind == INPUT and leaf.input in writer.wanted:
            seeded = terms[i] if i != root else [("", "1.0")]
            j = writer.wanted[leaf.input]
            start = started.get(i, "0.0")
            wanted_grads[j] = _gradient(lines, "    ", f"gx{j}", start, seeded, non_leaf=False)
    return param_grads, wanted_grads


# ---------------------------------------------------------------------------------------------
# A loop over the units of a batch
# ---------------------------------------------------------------------------------------------


def _rolled(writer: _Writer, arguments: Arguments, plan: _loops.Plan, lines: list[str]) -> None:
    """The graph with its repeated subgraph written once, as a loop's body (see `_loops`).

    Forward: the nodes that depend on no example, the loop over the units (each keeps what
    its backward needs in R), then the nodes after it. Backward, in the schedule `_loops`
    checked: the nodes after the loop, the units' bodies (the last unit first) adding to the
    gradients of what feeds them, then the nodes before the loop and the leaves.
    """
    graph = writer.graph
    ops, parents, text, needs = writer.ops, writer.parents, writer.text, writer.needs
    body = plan.units[0]
    in_body = plan.unit_of  # node -> (unit, place in the body)
    outside = [i for i in range(len(ops)) if ops[i] is not None and i not in in_body]
    skip: set[int | str] = set() if plan.inputs_outside else set(plan.sources)
    _header(writer, arguments, lines, skip)

    # -- forward, the body first written on its own ---------------------------------------------
    lines.append(
        "    # forward: each node's value and local derivatives, as its rule computes them"
    )
    sequences = _Sequences("s")
    for i in outside:
        if plan.depends[i] == _loops.NONE:
            text[i] = writer.node(
                i, [text[p] for p in parents[i]], str(i), lines, "    ", sequences
            )
    position = {leaf.input: i for i, leaf in graph.leaves.items() if leaf.kind == INPUT}
    body_text = {position[k]: f"xb{slot}" for slot, k in enumerate(plan.slots[0]) if k in position}
    local = set(body_text.values())  # the names the body defines (and its inputs)
    loop_lines: list[str] = []
    body_sequences = _Sequences("sb")
    for t, i in enumerate(body):
        inputs = [body_text.get(p, text[p]) for p in parents[i]]
        body_text[i] = writer.node(
            i, inputs, f"b{t}", loop_lines, "        ", body_sequences, lines, sequences, local
        )
        local.add(body_text[i])
        local.update(_NAME.findall(" ".join(factor for factor, _ in writer.partials[i])))
    # After the loop, each unit's values that later code reads have their own names.
    post: list[str] = []
    if plan.outputs:
        rows = [_row([f"v{unit[t]}" for t in plan.outputs]) for unit in plan.units]
        post.append(f"    {_targets(rows)} = O")
        for unit in plan.units:
            for t in plan.outputs:
                text[unit[t]] = f"v{unit[t]}"
    for i in outside:
        if plan.depends[i] != _loops.NONE:
            text[i] = writer.node(i, [text[p] for p in parents[i]], str(i), post, "    ", sequences)

    # -- backward, phase A: the nodes after the loop that do not feed it -----------------------
    root = graph.root
    terms: list[list[tuple[str, str]]] = [[] for _ in ops]
    grad_of: dict[int, str] = {}
    back: list[str] = []
    if ops[root] is not None:
        grad_of[root] = f"g{root}"
        back.append(f"    g{root} = 1.0")
    for i in range(root, -1, -1):
        if ops[i] is None or not needs[i] or i in in_body or plan.feeds_body[i]:
            continue
        if i != root:
            grad_of[i] = _gradient(back, "    ", f"g{i}", "0.0", terms[i], non_leaf=True)
        for k, parent in enumerate(parents[i]):
            if needs[parent]:
                terms[parent].append((_factor(writer.partials[i][k]), grad_of[i]))
    # Each body node's gradient starts, in each unit, with the part phase A gave it.
    after: dict[int, str] = {}
    after_rows: list[list[str]] = [[] for _ in plan.units]
    for t in range(len(body)):
        if needs[body[t]] and any(terms[unit[t]] for unit in plan.units):
            after[t] = f"gab{t}"
            for j, unit in enumerate(plan.units):
                node = unit[t]
                part = _gradient(back, "    ", f"ga{node}", "0.0", terms[node], non_leaf=True)
                after_rows[j].append(part)
    # What the bodies add to: parameters, wanted inputs, nodes before the loop. Each sum
    # starts with the terms phase A gave it, and goes on in the loop.
    if writer.params:
        back.append(f"    {_targets([f'sp{k}' for k in range(len(writer.params))])} = GRADS(P)")
    accumulator: dict[int, str] = {}
    targets = {p for i in body for p in parents[i] if needs[p] and p not in in_body}
    for p in sorted(targets, reverse=True):
        leaf = graph.leaves.get(p)
        if p in writer.param_number:
            name, start = f"gp{writer.param_number[p]}", f"sp{writer.param_number[p]}"
        elif leaf is not None:
            name, start = f"gx{writer.wanted[leaf.input]}", "0.0"
        else:
            name, start = f"g{p}", "0.0"
        accumulator[p] = _gradient(back, "    ", name, start, terms[p], non_leaf=False)
        if accumulator[p] != name:
            back.append(f"    {name} = {accumulator[p]}")
            accumulator[p] = name
        terms[p] = []

    # -- phase B: each unit's body, the last unit first ------------------------------------------
    inner: list[list[tuple[str, str]]] = [[] for _ in body]
    loop_back: list[str] = []
    pushed: dict[str, list[tuple[str, str]]] = {}  # each unit's terms of each outside sum
    for t in range(len(body) - 1, -1, -1):
        i = body[t]
        if not needs[i]:
            continue
        start = after.get(t, "0.0")
        grad = _gradient(loop_back, "        ", f"gb{t}", start, inner[t], start == "0.0")
        for k, parent in enumerate(parents[i]):
            if not needs[parent]:
                continue
            factor = _factor(writer.partials[i][k])
            if parent in in_body:
                inner[in_body[parent][1]].append((factor, grad))
            else:
                pushed.setdefault(accumulator[parent], []).append((factor, grad))
    # A sum that gets one term per unit is done after the loop, over columns of the units'
    # numbers, in C; one with several terms per unit adds them in the loop.
    columns: dict[str, tuple[str, str]] = {}
    for name, unit_terms in pushed.items():
        factor, grad = unit_terms[0]
        if len(unit_terms) == 1 and (factor == "1.0" or _WORD.fullmatch(factor)):
            columns[name] = (factor, grad)
        else:
            written = [g if f == "1.0" else f"{f} * {g}" for f, g in unit_terms]
            for first in range(0, len(written), TERMS_PER_LINE):
                chunk = written[first : first + TERMS_PER_LINE]
                loop_back.append(f"        {name} = {' + '.join([name, *chunk])}")
    column_names: dict[str, str] = {}  # a per-unit number -> its column
    for factor, grad in columns.values():
        for item in (factor, grad):
            if item in local or item.startswith("gb") or item.startswith("gab"):
                column_names.setdefault(item, f"c{len(column_names)}")
    if column_names:
        loop_back.append(f"        B.append({_tuple(list(column_names))})")
    kept = [name for name in _first_uses(loop_back) if name in local]
    sums: list[str] = []
    if column_names:
        sums.append(f"    {_targets(list(column_names.values()))} = zip(*B)")
        writer.names.update({"SUM": _SEQUENTIAL_SUM, "repeat": itertools.repeat})
    for name, (factor, grad) in columns.items():
        upstream = column_names.get(grad, grad)
        if factor == "1.0":
            terms_code = upstream
        else:
            left = column_names.get(factor, f"repeat({factor})")
            terms_code = f"map(mul, {left}, {upstream})"
        sums.append(f"    {name} = SUM({terms_code}, {name})")

    # -- the code, in its order ------------------------------------------------------------------
    if kept:
        lines.append("    R = []  # what each unit's backward needs from its forward")
    if column_names:
        lines.append("    B = []  # each unit's numbers for the sums done after the loop")
    if plan.outputs:
        lines.append("    O = []  # each unit's values that the code after the loop reads")
    lines.append(f"    for {plan.target('xb')} in {plan.iterable()}:")
    lines += loop_lines
    if kept:
        lines.append(f"        R.append({_row(kept)})")
    if plan.outputs:
        lines.append(f"        O.append({_row([body_text[body[t]] for t in plan.outputs])})")
    lines += post
    lines.append("    # backward: each gradient is one sum, in the order backward() adds it")
    lines += back
    if loop_back:
        loops = []
        if kept:
            loops.append((_row(kept), "reversed(R)"))
        if after:
            lines.append(f"    GA = [{', '.join(_row(row) for row in after_rows)}]")
            loops.append((_row([after[t] for t in sorted(after)]), "reversed(GA)"))
        if len(loops) == 1:
            lines.append(f"    for {loops[0][0]} in {loops[0][1]}:")
        elif loops:
            target = ", ".join(t for t, _ in loops)
            lines.append(f"    for {target} in zip({', '.join(s for _, s in loops)}):")
        else:
            lines.append(f"    for _ in range({len(plan.units)}):")
        lines += loop_back
        lines += sums

    # -- phase C: the nodes before the loop, then the leaves ------------------------------------
    started: dict[int, str] = {}
    for i in range(root, -1, -1):
        if not needs[i] or i in in_body or not plan.feeds_body[i]:
            continue
        if ops[i] is None:
            if i in accumulator:
                started[i] = accumulator[i]
            continue
        start = accumulator.get(i, "0.0")
        grad_of[i] = _gradient(lines, "    ", f"g{i}", start, terms[i], i not in accumulator)
        for k, parent in enumerate(parents[i]):
            if needs[parent]:
                terms[parent].append((_factor(writer.partials[i][k]), grad_of[i]))
    param_grads, wanted_grads = _leaf_gradients(writer, lines, terms, started, read=False)
    _footer(writer, lines, param_grads, wanted_grads)


def _row(items: Sequence[str]) -> str:
    """One item as itself, several as a tuple: what a loop appends and unpacks per unit."""
    return items[0] if len(items) == 1 else _tuple(items)


_NAME: Final = re.compile(r"\b[vdt]b\d+(?:_\d+)?\b")
_WORD: Final = re.compile(r"\w+|[\d.e+-]+|\(-[\d.e+-]+\)")


def _sequential_sum(terms: Iterable[float], start: float) -> float:
    """start + t1 + t2 + ..., added left to right, in C."""
    return deque(itertools.accumulate(terms, initial=start), maxlen=1)[0]


# sum() adds floats left to right up to Python 3.11; from 3.12 on it compensates its rounding
# (a better sum, but not the one backward() makes), so the loop's sums use accumulate() there.
_SEQUENTIAL_SUM: Final[Callable[[Iterable[float], float], float]] = (
    builtins.sum if sys.version_info < (3, 12) else _sequential_sum
)
_ANY_NAME: Final = re.compile(r"\b[A-Za-z_]\w*\b")


def _first_uses(lines: Sequence[str]) -> list[str]:
    """Every name the lines read, in order of first use."""
    seen: dict[str, None] = {}
    for line in lines:
        target, equals, expression = line.partition(" = ")
        for name in _ANY_NAME.findall(expression if equals else target):
            seen.setdefault(name, None)
    return list(seen)


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _comment(op: Op) -> str:
    label = op.label
    text = op.name if label in (op.name, op.operation.symbol) else f"{op.name} {label}"
    return _escaped(text)


def _escaped(text: str) -> str:
    """Text for a comment of the code: a newline in a label must not end the comment."""
    return repr(text)[1:-1]


def _targets(names: Sequence[str]) -> str:
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def _tuple(items: Sequence[str]) -> str:
    if not items:
        return "()"
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _factor(partial: tuple[str, int]) -> str:
    """A local derivative as the left factor of ``partial * upstream``."""
    text, precedence = partial
    return text if precedence >= _code.PRODUCT else f"({text})"


def _gradient(
    lines: list[str],
    indent: str,
    name: str,
    start: str,
    terms: list[tuple[str, str]],
    non_leaf: bool,
) -> str:
    """Write ``name = start + partial * upstream + ...``; return what holds the gradient.

    backward() sets a non-leaf's gradient to 0.0 and adds each term to it, so its sum starts
    from 0.0; a leaf's starts from its gradient so far. One term whose local derivative is 1.0
    needs nothing written: the upstream gradient is the sum (0.0 + g is g, since a non-leaf's
    gradient is never -0.0).
    """
    if non_leaf and len(terms) == 1 and terms[0][0] == "1.0":
        return terms[0][1]
    written = [g if f in ("1.0", "") else f"{f} * {g}" for f, g in terms]
    if non_leaf and start == "0.0" and terms and terms[0][0] == "1.0":
        start, written = written[0], written[1:]  # 0.0 + g is g: g is never -0.0
    if not written:
        return start
    head = start
    for first in range(0, max(len(written), 1), TERMS_PER_LINE):
        chunk = written[first : first + TERMS_PER_LINE]
        lines.append(f"{indent}{name} = {' + '.join([head, *chunk])}")
        head = name
    return name
