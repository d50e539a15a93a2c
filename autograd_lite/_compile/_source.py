"""Writing a traced graph as the source of one Python function: forward, then backward.

The forward part is each node's code from its rule (`_code.template`), in topological order;
the backward part is the chain rule written out: each gradient is one sum, its terms in exactly
the order in which ``Value.backward()`` adds them, so that every float is the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final

from autograd_lite import engine
from autograd_lite._compile import _code
from autograd_lite._compile._graph import INPUT, PARAMETER, Graph
from autograd_lite.engine import Op, Value

__all__ = ["Source", "write"]

# Terms per statement: a sum of a thousand terms is a thousand nested nodes for Python's
# compiler, which recurses on them; a sum continues in the next statement instead.
TERMS_PER_LINE: Final = 64
# A graph up to this many nodes gets a comment per node naming its operation.
COMMENTED_NODES: Final = 20_000

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


def write(
    graph: Graph,
    arg_patterns: Sequence[str],
    kwarg_patterns: Sequence[tuple[str, str]],
    converted: Sequence[int],
    n_inputs: int,
    wanted: Sequence[int],
    title: str,
) -> Source:
    """The source of ``replay(args, kwargs, P)`` for the graph.

    ``wanted`` lists the inputs whose gradients the function returns (for value_and_grad);
    ``P`` is the tuple of parameters (the graph's leaves that others hold), read afresh and
    given their gradients, accumulated as backward() accumulates them.
    """
    ops = graph.ops
    parents = graph.parents
    n = len(ops)
    commented = n <= COMMENTED_NODES
    params = sorted(i for i, leaf in graph.leaves.items() if leaf.kind == PARAMETER)
    param_number = {i: k for k, i in enumerate(params)}
    wanted_set = {k: j for j, k in enumerate(wanted)}
    names: dict[str, Any] = {"GRADS": _grads, "SET_GRADS": _set_grads, "DATA": _DATA}
    text: list[str] = [""] * n  # each node's value as code: a name or a number
    for i, leaf in graph.leaves.items():
        if leaf.kind == INPUT:
            text[i] = f"x{leaf.input}"
        elif leaf.kind == PARAMETER:
            text[i] = f"p{param_number[i]}"
        else:
            text[i] = _code.literal(leaf.number)
            names.update(_code.constants_used(text[i]))

    lines: list[str] = ["def replay(args, kwargs, P):"]
    lines += [f"    # {line}" for line in title.splitlines()]
    if arg_patterns:
        joined = ", ".join(arg_patterns)
        lines.append(f"    {f'({joined},)' if len(arg_patterns) == 1 else f'({joined})'} = args")
    for key, target in kwarg_patterns:
        lines.append(f"    {target} = kwargs[{key!r}]")
    for k in converted:
        lines.append(f"    x{k} = float(x{k})")
    if params:
        lines.append("    # the parameters' numbers, read afresh")
        lines.append(f"    {_targets([text[i] for i in params])} = map(DATA, P)")

    # -- forward: one node after the other, each written by its rule -------------------------
    lines.append(
        "    # forward: each node's value and local derivatives, as its rule computes them"
    )
    partials: list[list[tuple[str, int]]] = [[] for _ in range(n)]
    sequences: dict[tuple[str, ...], str] = {}
    fallbacks = 0
    operations = 0
    for i in range(n):
        op = ops[i]
        if op is None:
            continue
        operations += 1
        inputs = [text[p] for p in parents[i]]
        made = _template(op, len(inputs))
        fields: dict[str, str] = {"N": str(i)}
        for k, indices in enumerate(made.sequences):
            items = tuple([inputs[j] for j in indices])
            name = sequences.get(items)
            if name is None:
                name = sequences[items] = f"s{len(sequences)}"
                lines.append(f"    {name} = {_tuple(items)}")
            fields[f"s{k}"] = name
        block = made.block.format(*inputs, **fields)
        names.update(made.names)
        fallbacks += made.fallback
        text[i] = f"v{i}"
        node_lines = block.split("\n")
        if commented:
            node_lines[0] += f"  # {_comment(op)}"
        lines.extend("    " + line for line in node_lines)
        partials[i] = [
            (inputs[entry], _code.ATOM)
            if isinstance(entry, int)
            else (entry[0].replace("{N}", str(i)), entry[1])
            for entry in made.partials
        ]

    # -- backward: the chain rule, in the order of backward()'s sweep -------------------------
    root = graph.root
    needs = [False] * n
    for i, leaf in graph.leaves.items():
        needs[i] = leaf.kind == PARAMETER or (leaf.kind == INPUT and leaf.input in wanted_set)
    for i in range(graph.swept):
        if ops[i] is not None:
            needs[i] = any(needs[p] for p in parents[i])
    outputs = [text[i] for i in graph.extra]
    grad_of: dict[int, str] = {}
    param_grads: list[str] = []
    wanted_grads = ["0.0"] * len(wanted)
    if root >= 0 and needs[root]:
        terms: list[list[tuple[str, str]]] = [[] for _ in range(n)]
        lines.append("    # backward: each gradient is one sum, in the order backward() adds it")
        if ops[root] is not None:
            grad_of[root] = f"g{root}"
            lines.append(f"    g{root} = 1.0")
        for i in range(root, -1, -1):
            op = ops[i]
            if op is None or not needs[i]:
                continue
            if i != root:
                grad_of[i] = _gradient(lines, f"g{i}", "0.0", terms[i], non_leaf=True)
            upstream = grad_of[i]
            for k, parent in enumerate(parents[i]):
                if needs[parent]:
                    terms[parent].append((_term(partials[i][k]), upstream))
        if params:
            lines.append(f"    {_targets([f'sp{k}' for k in range(len(params))])} = GRADS(P)")
        for k, i in enumerate(params):
            seeded = terms[i] if i != root else [("", "1.0")]
            param_grads.append(_gradient(lines, f"gp{k}", f"sp{k}", seeded, non_leaf=False))
        for i, leaf in graph.leaves.items():
            if leaf.kind == INPUT and leaf.input in wanted_set:
                seeded = terms[i] if i != root else [("", "1.0")]
                j = wanted_set[leaf.input]
                wanted_grads[j] = _gradient(lines, f"gx{j}", "0.0", seeded, non_leaf=False)
        if params:
            lines.append(f"    SET_GRADS(P, {_tuple(param_grads)})")
    out = text[root] if root >= 0 else _code.literal(graph.output)
    names.update(_code.constants_used(out))
    lines.append(f"    return {out}, {_tuple(wanted_grads)}, {_tuple(outputs)}")
    source = "\n".join(lines) + "\n"
    values = [graph.leaves[i].value for i in params]
    return Source(
        source,
        names,
        tuple(v for v in values if v is not None),
        n_inputs,
        operations,
        fallbacks,
        len(lines),
    )


def _comment(op: Op) -> str:
    label = op.label
    return op.name if label in (op.name, op.operation.symbol) else f"{op.name} {label}"


def _targets(names: Sequence[str]) -> str:
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def _tuple(items: Sequence[str]) -> str:
    if not items:
        return "()"
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _term(partial: tuple[str, int]) -> str:
    """A local derivative as the left factor of ``partial * upstream``."""
    text, precedence = partial
    return text if precedence >= _code.PRODUCT else f"({text})"


def _gradient(
    lines: list[str], name: str, start: str, terms: list[tuple[str, str]], non_leaf: bool
) -> str:
    """Write ``name = start + partial * upstream + ...``; return what holds the gradient.

    backward() sets a non-leaf's gradient to 0.0 and adds each term to it, so its sum starts
    from 0.0; a leaf's starts from its gradient so far. One term whose local derivative is 1.0
    adds nothing to write: the upstream gradient itself is the sum (0.0 + g is g, since a
    non-leaf's gradient is never -0.0).
    """
    if non_leaf and len(terms) == 1 and terms[0][0] == "1.0":
        return terms[0][1]
    written = [
        upstream if partial in ("1.0", "") else f"{partial} * {upstream}"
        for partial, upstream in terms
    ]
    if non_leaf and terms and terms[0][0] == "1.0":
        start, written = written[0], written[1:]  # 0.0 + g is g: g is never -0.0
    head = start
    for first in range(0, max(len(written), 1), TERMS_PER_LINE):
        chunk = written[first : first + TERMS_PER_LINE]
        lines.append(f"    {name} = {' + '.join([head, *chunk])}")
        head = name
    return name
