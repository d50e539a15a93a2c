"""Drawing computation graphs: a `Value` and everything it was computed from, with Graphviz.

One walk and one set of labelling rules produce the DOT statements; `to_dot` joins them into text
(no `graphviz` package and no `dot` program needed), `draw_dot` hands the same statements to a
`graphviz.Digraph` (displays inline in Jupyter), and `render` writes a file. This module reads
graphs and never changes them; it holds no calculus.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from autograd_lite.engine import Value

if TYPE_CHECKING:
    import os

    import graphviz

# Above this many Values a drawing is unreadable, and `dot` takes seconds to lay it out
# (about 2,000 record nodes to SVG take 1.2 s here): refuse early rather than hang.
MAX_NODES: Final = 1000

RANKDIRS: Final = ("LR", "RL", "TB", "BT")

INSTALL_GRAPHVIZ: Final = (
    "Graphviz's `dot` program is needed to render drawings, and it was not found on PATH. "
    "Install it with your system's package manager: `sudo apt-get install graphviz` "
    "(Debian/Ubuntu), `brew install graphviz` (macOS) or `conda install -c conda-forge "
    "graphviz`."
)
DOT_TEXT_HINT: Final = (
    " Or write DOT text, which needs no Graphviz: to_dot(root) or render(root, 'graph.dot')."
)

INSTALL_PACKAGE: Final = (
    "draw_dot() needs the `graphviz` Python package: pip install 'autograd-lite[viz]' "
    "(to_dot() needs nothing extra)"
)


class GraphTooLargeError(ValueError):
    """The graph has more Values than the drawing's ``max_nodes`` allows."""


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs Graphviz's ``dot`` program, and it is not installed (or not on PATH)."""


class NamedParameters(Protocol):
    """Anything with ``named_parameters()``: a model from ``autograd_lite.nn``, for example."""

    def named_parameters(self) -> Iterable[tuple[str, Value]]: ...


Params = NamedParameters | Mapping[str, Value]


# ---------------------------------------------------------------------------------------------
# Looks: one place for every colour and line style
# ---------------------------------------------------------------------------------------------

# The border tells what a Value is (always); the fill shows its gradient after backward(), and a
# pale tint of its kind before. Node and edge defaults go in the graph header.
FONT: Final = "Helvetica,Arial,sans-serif"
GRAPH_ATTR: Final = {"fontname": FONT, "fontsize": "11", "nodesep": "0.25", "ranksep": "0.35"}
NODE_ATTR: Final = {"fontname": FONT, "fontsize": "11"}
EDGE_ATTR: Final = {"arrowsize": "0.6", "color": "gray40"}

KIND_BORDER: Final = {
    "output": {"color": "black", "penwidth": "3"},
    "parameter": {"color": "#6a3d9a", "penwidth": "2"},
    "input": {"color": "#b8860b", "penwidth": "2"},
    "constant": {"color": "gray55", "fontcolor": "gray30", "style": "filled,dashed"},
    "value": {"color": "gray35"},
}
KIND_TINT: Final = {
    "output": "#e5f2e5",
    "parameter": "#efe6f7",
    "input": "#fff4d6",
    "constant": "#f2f2f2",
    "value": "#ffffff",
}
OP_ATTR: Final = {
    "shape": "ellipse",
    "style": "filled",
    "fillcolor": "#f4f4f4",
    "color": "gray60",
    "fontsize": "10",
    "margin": "0.02,0.01",
    "height": "0.3",
}
CLUSTER_ATTR: Final = {"style": "rounded,dashed", "color": "#6a3d9a", "fontcolor": "#6a3d9a"}

NEGATIVE_RGB: Final = (0xD6, 0x60, 0x4D)  # red: increasing this Value decreases the output
POSITIVE_RGB: Final = (0x43, 0x93, 0xC3)  # blue: increasing it increases the output
NAN_FILL: Final = "#bdbdbd"


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def to_dot(
    root: Value,
    *,
    rankdir: str = "LR",
    max_nodes: int | None = MAX_NODES,
    show_ops: bool = True,
    params: Params | None = None,
    cluster: bool = True,
    grad_color: bool | None = None,
    precision: int = 4,
) -> str:
    """The DOT text of root's computation graph; needs neither `graphviz` nor `dot`.

    Options are those of `draw_dot`. The text is deterministic: the same graph gives the same
    text in any process, so it can be compared, stored and diffed.

    >>> x = Value(2.0, label="x")
    >>> text = to_dot(x * x)
    >>> text.count("v0 -> op1")  # x * x: two edges into the one "*" node
    2
    """
    drawing = _layout(
        root, "to_dot()", rankdir, max_nodes, show_ops, params, cluster, grad_color, precision
    )
    return drawing.source()


def draw_dot(
    root: Value,
    *,
    rankdir: str = "LR",
    format: str = "svg",
    max_nodes: int | None = MAX_NODES,
    show_ops: bool = True,
    params: Params | None = None,
    cluster: bool = True,
    grad_color: bool | None = None,
    precision: int = 4,
) -> graphviz.Digraph:
    """root's computation graph as a `graphviz.Digraph` (shown inline by Jupyter).

    Every Value is a record ``label | data | grad``, every operation an oval named by its op.
    Borders tell parameters, inputs, constants and the output apart; after ``backward()`` the
    fill shows each gradient (blue positive, red negative, stronger for larger magnitudes).

    Args:
        rankdir: layout direction, "LR" (left to right), "RL", "TB" or "BT".
        format: the output format for ``.render()`` and ``.pipe()``, "svg" by default.
        max_nodes: the most Values to draw; a larger graph raises `GraphTooLargeError`
            (None: no limit).
        show_ops: False draws no op nodes: edges go straight from inputs to results, and each
            result's record names its op.
        params: a model with ``named_parameters()``, or a mapping of names to Values: those
            Values are drawn as parameters, with their names.
        cluster: group named parameters in boxes by layer and neuron (``layers.0.neurons.3``).
        grad_color: colour the fills by gradient; None (default) does when any gradient is not 0.
        precision: significant digits shown for data and grad.

    Raises:
        ImportError: the `graphviz` package is missing (``pip install 'autograd-lite[viz]'``).
        GraphTooLargeError: the graph has more than ``max_nodes`` Values.

    >>> from autograd_lite import Value
    >>> x, w = Value(0.5, label="x"), Value(-1.5, label="w")
    >>> y = (x * w).tanh()
    >>> y.backward()
    >>> graph = draw_dot(y)  # in Jupyter, the last expression `graph` shows the picture
    >>> graph.format
    'svg'
    """
    digraph_class = _digraph_class()
    drawing = _layout(
        root, "draw_dot()", rankdir, max_nodes, show_ops, params, cluster, grad_color, precision
    )
    return digraph_class(
        name=drawing.name,
        graph_attr=drawing.graph_attr,
        node_attr=NODE_ATTR,
        edge_attr=EDGE_ATTR,
        body=drawing.body,
        format=format,
    )


def render(
    root: Value,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    rankdir: str = "LR",
    max_nodes: int | None = MAX_NODES,
    show_ops: bool = True,
    params: Params | None = None,
    cluster: bool = True,
    grad_color: bool | None = None,
    precision: int = 4,
) -> Path:
    """Draw root's graph into the file at path and return the path.

    The format comes from ``format`` or else the path's suffix (``.svg``, ``.png``, ``.pdf``,
    ...); a path without a suffix gets ``.svg``. ``.dot`` and ``.gv`` write DOT text, which needs
    no Graphviz at all. Other options are those of `draw_dot`.

    Raises:
        GraphvizNotFoundError: the `dot` program is missing (the message says how to install it).
        ValueError: ``format`` disagrees with the path's suffix.
    """
    target = Path(path)
    suffix = target.suffix[1:].lower()
    if format is None:
        format = suffix or "svg"
    elif suffix and suffix != format.lower():
        msg = f"render() got format={format!r} for a path ending in .{suffix}: {str(target)!r}"
        raise ValueError(msg)
    format = format.lower()
    if not suffix:
        target = target.with_name(f"{target.name}.{format}")
    options: dict[str, Any] = {
        "rankdir": rankdir,
        "max_nodes": max_nodes,
        "show_ops": show_ops,
        "params": params,
        "cluster": cluster,
        "grad_color": grad_color,
        "precision": precision,
    }
    if format in ("dot", "gv"):
        target.write_text(to_dot(root, **options), encoding="utf-8")
        return target
    if format not in _graphviz().FORMATS:
        msg = (
            f"render() cannot write the format {format!r} (from {str(target)!r}): "
            "use .svg, .png or .pdf, or .dot for DOT text"
        )
        raise ValueError(msg)
    picture = draw_dot(root, format=format, **options).pipe(format=format)
    target.write_bytes(picture)
    return target


# ---------------------------------------------------------------------------------------------
# The walk and the labels, shared by to_dot and draw_dot
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Drawing:
    """DOT statements laid out the way `graphviz.Digraph` prints them."""

    name: str
    graph_attr: dict[str, str]
    body: list[str]

    def source(self) -> str:
        """The whole DOT text, byte for byte what ``graphviz.Digraph(...).source`` would be."""
        lines = [f"digraph {self.name} {{\n"]
        for keyword, attrs in (
            ("graph", self.graph_attr),
            ("node", NODE_ATTR),
            ("edge", EDGE_ATTR),
        ):
            lines.append(f"\t{keyword} [{_header_attrs(attrs)}]\n")
        lines.extend(self.body)
        lines.append("}\n")
        return "".join(lines)


def _layout(
    root: Value,
    caller: str,
    rankdir: str,
    max_nodes: int | None,
    show_ops: bool,
    params: Params | None,
    cluster: bool,
    grad_color: bool | None,
    precision: int,
) -> _Drawing:
    """Check the options, walk the graph once, and write one statement per node and edge."""
    if not isinstance(root, Value):
        msg = f"{caller} needs a Value to draw, got {type(root).__name__}: {root!r}"
        raise TypeError(msg)
    if rankdir not in RANKDIRS:
        msg = f"{caller} rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}"
        raise ValueError(msg)
    if max_nodes is not None and (
        isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1
    ):
        msg = f"{caller} max_nodes must be a positive int or None, got {max_nodes!r}"
        raise ValueError(msg)
    if isinstance(precision, bool) or not isinstance(precision, int) or not 1 <= precision <= 17:
        msg = f"{caller} precision must be an int from 1 to 17, got {precision!r}"
        raise ValueError(msg)
    names = _parameter_names(params, caller)
    order = _walk(root, max_nodes, caller)

    # Stable ids from the walk order, never id(): the same graph gives the same text anywhere.
    ids = {node: f"v{i}" for i, node in enumerate(order)}
    grads = [_number(node.grad) for node in order]
    if grad_color is None:
        grad_color = any(g != 0.0 for g in grads)
    scale = max((abs(g) for g in grads if math.isfinite(g)), default=0.0)
    # Records lay their fields across the rank direction; braces turn them the other way, so
    # that label | data | grad always reads as one row.
    horizontal = rankdir in ("LR", "RL")

    # Attribute text shared by many nodes, written once (a 100,000-node chain notices).
    kind_attrs = {
        kind: _body_attrs({"shape": "record", "style": "filled", **border})
        for kind, border in KIND_BORDER.items()
    }
    op_attrs = _body_attrs(OP_ATTR)
    clusters = _Clusters()
    nodes: list[str] = []
    edges: list[str] = []
    for node, grad in zip(order, grads):
        node_id = ids[node]
        name = names.get(node)
        kind = _kind(node, root, name)
        path = _cluster_path(name) if (cluster and name is not None) else ()
        title = node.label if name is None else name
        if path:
            title = title[len(path[-1]) + 1 :]  # inside the box named layers.0 ... neurons.3: w.1
        if not show_ops and node.parents:
            title = f"{title} = {node.op}" if title else node.op
        # Numbers need no escaping; a title may hold anything.
        label = f"{_escape(title)} | data {node.data:.{precision}g} | grad {grad:.{precision}g}"
        if horizontal:
            label = f"{{ {label} }}"
        fill = _grad_fill(grad, scale) if grad_color else KIND_TINT[kind]
        statement = f'\t{node_id} [label="{label}" {kind_attrs[kind]} fillcolor="{fill}"]\n'
        if path:
            clusters.add(path, statement)
        else:
            nodes.append(statement)

        if not node.parents:
            continue
        if show_ops:
            op_id = f"op{node_id[1:]}"
            nodes.append(f'\t{op_id} [label="{_escape(node.op)}" {op_attrs}]\n')
            # One edge per parent, duplicates included: a * a draws two arrows.
            edges.extend(f"\t{ids[parent]} -> {op_id}\n" for parent in node.parents)
            edges.append(f"\t{op_id} -> {node_id}\n")
        else:
            edges.extend(f"\t{ids[parent]} -> {node_id}\n" for parent in node.parents)

    graph_attr = {"rankdir": rankdir, **GRAPH_ATTR}
    return _Drawing("autograd", graph_attr, [*clusters.statements(), *nodes, *edges])


def _walk(root: Value, max_nodes: int | None, caller: str) -> list[Value]:
    """Every Value root depends on, parents before children, root last; stops past max_nodes."""
    order: list[Value] = []
    visited = {root}
    # Depth-first with an explicit stack of (node, iterator over its parents): no recursion, so
    # a 100,000-step chain is as easy as a short one.
    stack: list[tuple[Value, Iterator[Value]]] = [(root, iter(root.parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent not in visited:
                visited.add(parent)
                if max_nodes is not None and len(visited) > max_nodes:
                    msg = (
                        f"{caller} found more than max_nodes={max_nodes} Values in this graph "
                        "and stopped counting: a drawing that large is unreadable and slow to "
                        "lay out. Draw a smaller part of it, or pass a larger max_nodes "
                        "(None for no limit)."
                    )
                    raise GraphTooLargeError(msg)
                stack.append((parent, iter(parent.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _parameter_names(params: Params | None, caller: str) -> dict[Value, str]:
    """Each named parameter's name, from a model's named_parameters() or a mapping."""
    if params is None:
        return {}
    pairs: Iterable[object]
    if isinstance(params, Mapping):
        pairs = params.items()
    elif callable(getattr(params, "named_parameters", None)):
        pairs = params.named_parameters()
    else:
        msg = (
            f"{caller} params must be a model with named_parameters() or a mapping of names to "
            f"Values, got {type(params).__name__}: {params!r}"
        )
        raise TypeError(msg)
    names: dict[Value, str] = {}
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            msg = f"{caller} params needs (name, Value) pairs, got {pair!r}"
            raise TypeError(msg)
        name, value = pair
        if not isinstance(name, str) or not isinstance(value, Value):
            msg = f"{caller} params needs (name, Value) pairs, got ({name!r}, {value!r})"
            raise TypeError(msg)
        names.setdefault(value, name)  # a shared parameter keeps its first name
    return names


def _kind(node: Value, root: Value, name: str | None) -> str:
    """What a Value is, for its border: output, parameter, input, constant or value."""
    if node is root:
        return "output"
    if name is not None:
        return "parameter"
    if node.op == "const":
        return "constant"
    if node.is_leaf:
        return "input"
    return "value"


def _number(x: float | Value) -> float:
    """A gradient as a float (after backward(create_graph=True) it is a Value)."""
    return x.data if isinstance(x, Value) else float(x)


def _grad_fill(grad: float, scale: float) -> str:
    """White for 0, blue for positive, red for negative; stronger for larger |grad|."""
    if math.isnan(grad):
        return NAN_FILL
    if grad == 0.0:
        return "#ffffff"
    # scale, the largest finite |grad|, is not 0 here unless grad is infinite.
    strength = 1.0 if math.isinf(grad) else abs(grad) / scale
    # The square root lifts small gradients into sight: 1% of the largest still shows a tint.
    strength = math.sqrt(strength)
    rgb = POSITIVE_RGB if grad > 0 else NEGATIVE_RGB
    mixed = (round(255 + (c - 255) * strength) for c in rgb)
    return "#" + "".join(f"{c:02x}" for c in mixed)


# ---------------------------------------------------------------------------------------------
# Clusters: named parameters grouped by the numbered parts of their names
# ---------------------------------------------------------------------------------------------


def _cluster_path(name: str) -> tuple[str, ...]:
    """The groups a parameter belongs to, outermost first, from its dotted name.

    A group ends at a number followed by an attribute: ``layers.0.neurons.3.w.1`` belongs to
    ``layers.0`` and ``layers.0.neurons.3``; ``w.1`` (a lone neuron's weight) to none.
    """
    parts = name.split(".")
    last = -1
    for i in range(len(parts) - 1):
        if parts[i].isdigit() and not parts[i + 1].isdigit():
            last = i
    return tuple(".".join(parts[: i + 1]) for i in range(last + 1) if parts[i].isdigit())


class _Clusters:
    """Nested ``subgraph cluster_N`` blocks, numbered in order of first appearance."""

    def __init__(self) -> None:
        self._members: dict[str, list[str]] = {}
        self._children: dict[str, list[str]] = {"": []}

    def add(self, path: tuple[str, ...], statement: str) -> None:
        parent = ""
        for prefix in path:
            if prefix not in self._members:
                self._members[prefix] = []
                self._children[prefix] = []
                self._children[parent].append(prefix)
            parent = prefix
        self._members[path[-1]].append(statement)

    def statements(self) -> list[str]:
        numbers = {prefix: i for i, prefix in enumerate(self._members)}
        out: list[str] = []
        # A pre-order walk with an explicit stack; None marks where a block closes.
        stack: list[tuple[str, str] | None] = [("", c) for c in reversed(self._children[""])]
        while stack:
            item = stack.pop()
            if item is None:
                out.append("\t}\n")
                continue
            parent, prefix = item
            caption = prefix[len(parent) + 1 :] if parent else prefix
            out.append(f"\tsubgraph cluster_{numbers[prefix]} {{\n")
            attrs = {"label": _escape(caption), **CLUSTER_ATTR}
            out.append(f"\t\tgraph [{_body_attrs(attrs)}]\n")
            out.extend("\t" + statement for statement in self._members[prefix])
            stack.append(None)
            stack.extend((prefix, child) for child in reversed(self._children[prefix]))
        return out


# ---------------------------------------------------------------------------------------------
# DOT syntax
# ---------------------------------------------------------------------------------------------

# Inside a record label, { } | < > split or name fields, and a backslash starts an escape
# (\n, \l, \N ...); the quote ends the DOT string. A backslash before each shows it as written.
# graphviz.escape() only doubles backslashes, so it is not enough here.
_ESCAPES: Final = {ord(c): "\\" + c for c in '\\{}|<>"'} | {ord("\n"): "\\n", ord("\r"): ""}


def _escape(text: str) -> str:
    """text for a label, shown as written: a newline breaks the line, a carriage return goes."""
    return text.translate(_ESCAPES)


# The DOT identifiers that need no quotes: graphviz.quoting.ID, and not a keyword.
_PLAIN_ID: Final = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*|-?(\.[0-9]+|[0-9]+(\.[0-9]*)?))$")
_KEYWORDS: Final = frozenset({"node", "edge", "graph", "digraph", "subgraph", "strict"})


def _header_attrs(attrs: Mapping[str, str]) -> str:
    """Attributes sorted and quoted the way graphviz.Digraph writes its graph_attr."""
    parts = []
    for key, value in sorted(attrs.items()):  # graphviz sorts a plain dict's attributes
        plain = _PLAIN_ID.match(value) and value.lower() not in _KEYWORDS
        parts.append(f"{key}={value}" if plain else f'{key}="{value}"')
    return " ".join(parts)


def _body_attrs(attrs: Mapping[str, str]) -> str:
    """Attributes of one statement; every value quoted (labels arrive escaped already)."""
    return " ".join(f'{key}="{value}"' for key, value in attrs.items())


# ---------------------------------------------------------------------------------------------
# graphviz, imported only when draw_dot() runs
# ---------------------------------------------------------------------------------------------


@contextmanager
def _explain_missing_dot() -> Iterator[None]:
    """Turn graphviz's bare "failed to execute 'dot'" into how to install Graphviz."""
    import graphviz

    try:
        yield
    except graphviz.ExecutableNotFound as exc:
        raise GraphvizNotFoundError(INSTALL_GRAPHVIZ + DOT_TEXT_HINT) from exc


def _graphviz() -> Any:
    """The graphviz package, or an ImportError that says how to install it."""
    try:
        import graphviz
    except ImportError as exc:
        raise ImportError(INSTALL_PACKAGE) from exc
    return graphviz


@functools.cache
def _digraph_class() -> Any:
    """A graphviz.Digraph whose rendering explains how to install a missing `dot` program."""
    _graphviz()  # an ImportError that names the `viz` extra, if the package is missing
    import graphviz

    # graphviz ships no type information: mypy sees its classes as Any, and strict mode
    # refuses to subclass Any without this ignore.
    class Digraph(graphviz.Digraph):  # type: ignore[misc]
        """graphviz.Digraph; render(), pipe(), view() and Jupyter explain a missing `dot`."""

        def pipe(self, *args: Any, **kwargs: Any) -> Any:
            with _explain_missing_dot():
                return super().pipe(*args, **kwargs)

        def render(self, *args: Any, **kwargs: Any) -> Any:
            with _explain_missing_dot():
                return super().render(*args, **kwargs)

    Digraph.__module__ = __name__
    Digraph.__qualname__ = "Digraph"
    return Digraph


__all__ = [
    "MAX_NODES",
    "GraphTooLargeError",
    "GraphvizNotFoundError",
    "NamedParameters",
    "draw_dot",
    "render",
    "to_dot",
]
