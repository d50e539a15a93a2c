"""Drawing computation graphs: a `Value` and everything it was computed from, with Graphviz.

One walk and one set of labelling rules produce the DOT statements; `to_dot` joins them into text
(no `graphviz` package and no `dot` program needed), `draw_dot` hands the same statements to a
`graphviz.Digraph` (displays inline in Jupyter, scaled to fit), and `render` writes a file
atomically. Every run of `dot` is bounded by a timeout. This module reads graphs and never
changes them; it holds no calculus.
"""

from __future__ import annotations

import functools
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, TypedDict, Unpack

from autograd_lite._atomic import write_atomically
from autograd_lite._checks import choice, flag, integer, real, shown
from autograd_lite._sweep_page import MAX_SWEEP_NODES, SweepPage
from autograd_lite.engine import Value
from autograd_lite.sweeps import backward_sweep, forward_sweep

if TYPE_CHECKING:
    import os

    import graphviz

__all__ = [
    "DOT_TIMEOUT",
    "MAX_NODES",
    "MAX_SWEEP_NODES",
    "DrawOptions",
    "GraphTooLargeError",
    "GraphvizNotFoundError",
    "LayoutTimeoutError",
    "NamedParameters",
    "SweepPage",
    "draw_dot",
    "render",
    "sweep_page",
    "to_dot",
]

# Above this many Values a drawing is unreadable, and `dot` takes seconds to lay it out
# (about 2,000 record nodes to SVG take 1.2 s here): refuse early rather than hang.
MAX_NODES: Final = 1000
# `dot`'s layout time depends on the graph's shape, not only its size (641 Values took 135 s
# here, 953 ran past 30 minutes): only a timeout on the process bounds it.
DOT_TIMEOUT: Final = 30.0

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
    """Rendering needs Graphviz's ``dot`` program, and none on PATH can be run."""


class LayoutTimeoutError(RuntimeError):
    """Graphviz's ``dot`` did not finish within the timeout and was stopped."""


class NamedParameters(Protocol):
    """Anything with ``named_parameters()``: a model from ``autograd_lite.nn``, for example."""

    def named_parameters(self) -> Iterable[tuple[str, Value]]: ...


Params = NamedParameters | Mapping[str, Value]


class DrawOptions(TypedDict, total=False):
    """The drawing options `to_dot`, `draw_dot` and `render` take as keyword arguments.

    Defaults and checks live in one place, `_Options`:

    - ``rankdir``: layout direction, "LR" (default, left to right), "RL", "TB" or "BT".
    - ``max_nodes``: the most Values to draw (default `MAX_NODES`); a larger graph raises
      `GraphTooLargeError` at once (None: no limit).
    - ``show_ops``: True (default) draws an oval per operation; False draws edges straight from
      inputs to results, and each result's record names its op.
    - ``params``: a model with ``named_parameters()``, or a mapping of names to Values: those
      Values are drawn as parameters, with their names.
    - ``cluster``: True (default) groups named parameters in boxes by layer and neuron.
    - ``grad_color``: colour the fills by gradient; None (default) does when any gradient is not
      0.
    - ``precision``: significant digits shown for numbers (default 4, at most 17).
    - ``edge_partials``: label every edge with its local derivative d(result)/d(input), from
      ``node.partials`` (default False).
    """

    rankdir: str
    max_nodes: int | None
    show_ops: bool
    params: Params | None
    cluster: bool
    grad_color: bool | None
    precision: int
    edge_partials: bool


@dataclass(frozen=True)
class _Options:
    """The drawing options with their defaults, checked once per call."""

    rankdir: str = "LR"
    max_nodes: int | None = MAX_NODES
    show_ops: bool = True
    params: Params | None = None
    cluster: bool = True
    grad_color: bool | None = None
    precision: int = 4
    edge_partials: bool = False

    @classmethod
    def checked(cls, caller: str, options: Mapping[str, object]) -> _Options:
        """The options a call was given, each checked, with defaults for the others."""
        known = [field.name for field in fields(cls)]
        unknown = [name for name in options if name not in known]
        if unknown:
            msg = (
                f"{caller} got an unknown option {unknown[0]!r}; "
                f"the drawing options are {', '.join(known)}"
            )
            raise TypeError(msg)
        made = cls(**options)  # type: ignore[arg-type]  # each value is checked just below
        choice(made.rankdir, RANKDIRS, f"{caller} rankdir")
        if made.max_nodes is not None:
            integer(made.max_nodes, f"{caller} max_nodes", low=1)
        flag(made.show_ops, f"{caller} show_ops")
        flag(made.cluster, f"{caller} cluster")
        if made.grad_color is not None:
            flag(made.grad_color, f"{caller} grad_color")
        integer(made.precision, f"{caller} precision", low=1, high=17)
        flag(made.edge_partials, f"{caller} edge_partials")
        return made


# ---------------------------------------------------------------------------------------------
# Looks: one place for every colour and line style
# ---------------------------------------------------------------------------------------------

# The border tells what a Value is (always); the fill shows its gradient after backward(), and a
# pale tint of its kind before. Node and edge defaults go in the graph header.
FONT: Final = "Helvetica,Arial,sans-serif"
GRAPH_ATTR: Final = {"fontname": FONT, "fontsize": "11", "nodesep": "0.25", "ranksep": "0.35"}
NODE_ATTR: Final = {"fontname": FONT, "fontsize": "11"}
EDGE_ATTR: Final = {"arrowsize": "0.6", "color": "gray40"}
# Edge labels: the local derivative along the edge, and the operand's position at its head.
PARTIAL_ATTR: Final = {"fontsize": "9", "fontcolor": "#1f4e79"}
POSITION_ATTR: Final = {"labelfontsize": "9", "labelfontcolor": "gray25", "labeldistance": "1.3"}

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

# Shown inline (Jupyter), a drawing is scaled down to fit this box, in points (10 x 15 inches);
# files keep their full size. The SVG keeps its viewBox, so the browser can zoom in again.
DISPLAY_WIDTH: Final = 720.0
DISPLAY_HEIGHT: Final = 1080.0

# Operations whose operands can be swapped: their edges need no position labels. Every other
# operation with two or more inputs (a - b, a / b, a ** b, a custom primitive) numbers them.
COMMUTATIVE: Final = frozenset({"+", "*", "add", "mul", "sum", "hypot", "maximum", "minimum"})


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def to_dot(root: Value, **options: Unpack[DrawOptions]) -> str:
    """The DOT text of root's computation graph; needs neither `graphviz` nor `dot`.

    Options are those of `DrawOptions`. The text is deterministic: the same graph gives the
    same text in any process, so it can be compared, stored and diffed.

    >>> x = Value(2.0, label="x")
    >>> text = to_dot(x * x)
    >>> text.count("v0 -> op1")  # x * x: two edges into the one "*" node
    2
    """
    return _layout(root, _Options.checked("to_dot()", options), "to_dot()").source()


def draw_dot(
    root: Value,
    *,
    format: str = "svg",
    timeout: float | None = DOT_TIMEOUT,
    **options: Unpack[DrawOptions],
) -> graphviz.Digraph:
    """root's computation graph as a `graphviz.Digraph` (shown inline by Jupyter).

    Every Value is a record ``label | data | grad``, every operation an oval named by its op;
    the inputs of an operation whose operands cannot be swapped (``a - b``, ``a / b``,
    ``a ** b``) are numbered at the arrowheads. Borders tell parameters, inputs, constants and
    the output apart; after ``backward()`` the fill shows each gradient (blue positive, red
    negative, stronger for larger magnitudes).

    Args:
        format: the output format for ``.pipe()`` and ``.render()``, "svg" by default.
        timeout: the most seconds ``.pipe()`` and Jupyter's display let `dot` run before
            raising `LayoutTimeoutError` (None: no limit).
        options: the drawing options of `DrawOptions` (``rankdir``, ``max_nodes``,
            ``show_ops``, ``params``, ``cluster``, ``grad_color``, ``precision``,
            ``edge_partials``).

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
    checked = _Options.checked("draw_dot()", options)
    seconds = _timeout(timeout, "draw_dot()")
    digraph_class = _digraph_class()
    drawing = _layout(root, checked, "draw_dot()")
    graph = digraph_class(
        name=drawing.name,
        graph_attr=drawing.graph_attr,
        node_attr=NODE_ATTR,
        edge_attr=EDGE_ATTR,
        body=drawing.body,
        format=format,
    )
    graph.timeout = seconds
    graph.size_note = drawing.size_note()
    return graph


def render(
    root: Value,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    timeout: float | None = DOT_TIMEOUT,
    **options: Unpack[DrawOptions],
) -> Path:
    """Draw root's graph into the file at path, atomically, and return the path.

    The format comes from ``format`` or else the path's suffix (``.svg``, ``.png``, ``.pdf``,
    ...); a path without a suffix gets ``.svg``. ``.dot`` and ``.gv`` write DOT text, which needs
    no Graphviz at all. The file is replaced in one step: if anything fails, an existing file
    keeps its content (a symbolic link is written through). ``timeout`` bounds `dot`'s layout,
    in seconds (None: no limit); other options are those of `DrawOptions`.

    Raises:
        GraphvizNotFoundError: the `dot` program is missing (the message says how to install it).
        LayoutTimeoutError: `dot` ran past the timeout (the message says how to draw less).
        ValueError: ``format`` disagrees with the path's suffix.
    """
    checked = _Options.checked("render()", options)
    seconds = _timeout(timeout, "render()")
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
    drawing = _layout(root, checked, "render()")
    if format in ("dot", "gv"):
        write_atomically(target, drawing.source().encode("utf-8"))
        return target
    if format not in _graphviz().FORMATS:
        msg = (
            f"render() cannot write the format {format!r} (from {str(target)!r}): "
            "use .svg, .png or .pdf, or .dot for DOT text"
        )
        raise ValueError(msg)
    picture = _run_dot(drawing.source().encode("utf-8"), format, seconds, drawing.size_note())
    write_atomically(target, picture)
    return target


def sweep_page(
    root: Value,
    *,
    forward: Value | None = None,
    max_nodes: int | None = MAX_SWEEP_NODES,
    title: str | None = None,
) -> SweepPage:
    """A self-contained HTML page that steps through root's backward sweep, one node a frame.

    Frame 0 shows the forward values; each next frame visits one node in the order
    ``backward()`` does, with its gradient, each input edge's local derivative and contribution
    (partial × upstream), and every gradient accumulated so far. With ``forward=x`` (a Value
    root depends on, usually an input) the page steps through the forward sweep instead:
    tangents d(node)/d(x) flowing from x to root, as `jvp` computes them. The numbers are the
    engine's, bit for bit (`autograd_lite.sweeps`); no ``.grad`` changes. The graph is laid
    out here, without Graphviz. In Jupyter the page shows inline; ``.save(path)`` writes it,
    ``.save_frames(folder)`` writes one SVG per frame.

    Raises:
        GraphTooLargeError: root's graph has more than ``max_nodes`` Values (default
            `MAX_SWEEP_NODES`, 300: the page grows with the square of the graph).
        ValueError: ``forward`` is not a node of root's graph.

    >>> from autograd_lite import Value
    >>> x, w = Value(0.5, label="x"), Value(-1.5, label="w")
    >>> page = sweep_page((x * w).tanh())
    >>> page.frames  # frame 0, then one per Value: x, w, x*w, tanh
    5
    >>> page.html.count('data-frame="')
    5
    """
    if not isinstance(root, Value):
        msg = f"sweep_page() needs a Value to sweep, got {shown(root)}"
        raise TypeError(msg)
    if forward is not None and not isinstance(forward, Value):
        msg = f"sweep_page() forward must be a Value of the graph or None, got {shown(forward)}"
        raise TypeError(msg)
    if max_nodes is not None:
        integer(max_nodes, "sweep_page() max_nodes", low=1)
    if title is not None and not isinstance(title, str):
        msg = f"sweep_page() title must be a str or None, got {shown(title)}"
        raise TypeError(msg)
    try:
        _walk(root, max_nodes, "sweep_page()")
    except GraphTooLargeError:
        msg = (
            f"sweep_page() found more than max_nodes={max_nodes} Values in this graph and "
            "stopped counting: the page has a frame per Value, each showing the sums so far, "
            "so it grows with the square of the graph, and nobody steps through that many "
            "frames. Step through a smaller graph (one neuron, one example), or pass a larger "
            "max_nodes (None for no limit)."
        )
        raise GraphTooLargeError(msg) from None
    name = root.label or "the output"
    if forward is None:
        sweep = backward_sweep(root)
        heading = f"Backward sweep of {name}"
    else:
        sweep = forward_sweep(root, forward)
        heading = f"Forward sweep of {name} from {forward.label or 'the seed'}"
    return SweepPage(sweep, heading if title is None else title, COMMUTATIVE)


def _timeout(timeout: float | None, caller: str) -> float | None:
    if timeout is None:
        return None
    return real(timeout, f"{caller} timeout", low=0.0, low_open=True)


def _op_label(node: Value) -> str:
    """The text of a node's operation oval (and of ``y = op`` in a compact record)."""
    # micrograd's display label ("+", "*", "**2", "tanh"), which learners know from its lecture.
    return node._op


# ---------------------------------------------------------------------------------------------
# The walk and the labels, shared by to_dot, draw_dot and render
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Drawing:
    """DOT statements laid out the way `graphviz.Digraph` prints them."""

    name: str
    graph_attr: dict[str, str]
    body: list[str]
    values: int
    edges: int

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

    def size_note(self) -> str:
        """How big the graph is, for a message about its layout."""
        return f"{self.values} Values, {self.edges} edges"


def _layout(root: Value, options: _Options, caller: str) -> _Drawing:
    """Walk the graph once, and write one statement per node and edge."""
    if not isinstance(root, Value):
        msg = f"{caller} needs a Value to draw, got {shown(root)}"
        raise TypeError(msg)
    names = _parameter_names(options.params, caller)
    order = _walk(root, options.max_nodes, caller)
    precision = options.precision

    # Stable ids from the walk order, never id(): the same graph gives the same text anywhere.
    ids = {node: f"v{i}" for i, node in enumerate(order)}
    grads = [_number(node.grad) for node in order]
    grad_color = options.grad_color
    if grad_color is None:
        grad_color = any(g != 0.0 for g in grads)
    scale = max((abs(g) for g in grads if math.isfinite(g)), default=0.0)
    # Records lay their fields across the rank direction; braces turn them the other way, so
    # that label | data | grad always reads as one row.
    horizontal = options.rankdir in ("LR", "RL")

    # Attribute text shared by many nodes, written once (a 100,000-node chain notices).
    kind_attrs = {
        kind: _body_attrs({"shape": "record", "style": "filled", **border})
        for kind, border in KIND_BORDER.items()
    }
    op_attrs = _body_attrs(OP_ATTR)
    partial_attrs = _body_attrs(PARTIAL_ATTR)
    position_attrs = _body_attrs(POSITION_ATTR)
    clusters = _Clusters()
    nodes: list[str] = []
    edges: list[str] = []
    for node, grad in zip(order, grads):
        node_id = ids[node]
        name = names.get(node)
        kind = _kind(node, root, name)
        path = _cluster_path(name) if (options.cluster and name is not None) else ()
        title = node.label if name is None else name
        if path:
            title = title[len(path[-1]) + 1 :]  # inside the box named layers.0 ... neurons.3: w.1
        if not options.show_ops and node.parents:
            op = _op_label(node)
            title = f"{title} = {op}" if title else op
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
        head = node_id
        if options.show_ops:
            head = f"op{node_id[1:]}"
            nodes.append(f'\t{head} [label="{_escape(_op_label(node))}" {op_attrs}]\n')
        numbered = len(node.parents) > 1 and node.op not in COMMUTATIVE
        # One edge per parent, duplicates included: a * a draws two arrows, each with its own
        # partial (both 2a), and a / a two numbered ones.
        for i, parent in enumerate(node.parents):
            attrs = []
            if numbered:
                attrs.append(f'headlabel="{i + 1}" {position_attrs}')
            if options.edge_partials:
                partial = _number(node.partials[i])
                attrs.append(f'label="∂ {partial:.{precision}g}" {partial_attrs}')
            suffix = f" [{' '.join(attrs)}]" if attrs else ""
            edges.append(f"\t{ids[parent]} -> {head}{suffix}\n")
        if options.show_ops:
            edges.append(f"\t{head} -> {node_id}\n")

    graph_attr = {"rankdir": options.rankdir, **GRAPH_ATTR}
    body = [*clusters.statements(), *nodes, *edges]
    return _Drawing("autograd", graph_attr, body, len(order), len(edges))


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
# graphviz.escape() only doubles backslashes, so it is not enough here. A newline breaks the line;
# every other control character is shown as its Python escape (\t, \r, \x00): SVG (XML) cannot
# hold most of them, and one that vanished would make two different labels look alike.
_ESCAPES: Final = (
    {ord(c): "\\" + c for c in '\\{}|<>"'}
    | {code: "\\\\" + repr(chr(code))[2:-1] for code in [*range(0x20), *range(0x7F, 0xA0)]}
    | {ord("\n"): "\\n"}
)
# Lone surrogates (undecodable bytes from a terminal) and U+FFFE/U+FFFF cannot be written in
# UTF-8 XML either.
_UNWRITABLE: Final = re.compile("[\ud800-\udfff\ufffe\uffff]")


def _escape(text: str) -> str:
    """text for a label, shown as written: a newline breaks the line, other controls show."""
    text = text.translate(_ESCAPES)
    if _UNWRITABLE.search(text):
        text = _UNWRITABLE.sub(lambda match: f"\\\\u{ord(match.group()):04x}", text)
    return text


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
# Running dot, with a timeout; graphviz, imported only when draw_dot() runs
# ---------------------------------------------------------------------------------------------


def _run_dot(
    source: bytes,
    format: str,
    timeout: float | None,
    size_note: str = "",
    *,
    engine: str = "dot",
    renderer: str | None = None,
    formatter: str | None = None,
    neato_no_op: bool | int | None = None,
    quiet: bool = False,
) -> bytes:
    """The picture `dot` makes of the DOT source; a process past the timeout is killed."""
    output_format = ":".join(part for part in (format, renderer, formatter) if part)
    command = ["dot", f"-K{engine}", f"-T{output_format}"]
    if neato_no_op:
        command.append(f"-n{int(neato_no_op)}")
    try:
        done = subprocess.run(command, input=source, capture_output=True, timeout=timeout)
    except FileNotFoundError as exc:
        raise GraphvizNotFoundError(INSTALL_GRAPHVIZ + DOT_TEXT_HINT) from exc
    except OSError as exc:  # a `dot` on PATH that cannot be run (no execute permission, say)
        raise GraphvizNotFoundError(_cannot_run(exc) + DOT_TEXT_HINT) from exc
    except subprocess.TimeoutExpired as exc:
        graph = f"this graph ({size_note})" if size_note else "this graph"
        msg = (
            f"Graphviz's dot did not finish laying out {graph} within {timeout:g} s, and was "
            "stopped. Its layout time grows fast with size and crossing edges. Draw a smaller "
            "part of the graph (fewer nodes, or a lower max_nodes), draw it without operation "
            "nodes (show_ops=False; --no-ops on the command line), or write DOT text, which "
            "needs no layout (to_dot(root), or a .dot file); or allow more time (timeout=, "
            "--timeout)."
        )
        raise LayoutTimeoutError(msg) from exc
    if not quiet and done.stderr:
        sys.stderr.write(done.stderr.decode("utf-8", "replace"))
    if done.returncode != 0:
        import graphviz

        raise graphviz.CalledProcessError(
            done.returncode, command, output=done.stdout, stderr=done.stderr
        )
    return done.stdout


_SVG_SIZE: Final = re.compile(r'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"')


def _fit(svg: str) -> str:
    """The SVG scaled down to fit DISPLAY_WIDTH x DISPLAY_HEIGHT points, if it is larger."""
    match = _SVG_SIZE.search(svg)
    if match is None:
        return svg
    width, height = float(match.group(1)), float(match.group(2))
    scale = min(1.0, DISPLAY_WIDTH / width, DISPLAY_HEIGHT / height) if width and height else 1.0
    if scale == 1.0:
        return svg
    # The viewBox stays: the same picture, drawn smaller, that a browser can still zoom into.
    fitted = f'<svg width="{width * scale:.2f}pt" height="{height * scale:.2f}pt"'
    return svg[: match.start()] + fitted + svg[match.end() :]


@contextmanager
def _explain_missing_dot() -> Iterator[None]:
    """Turn graphviz's bare "failed to execute 'dot'" into how to install Graphviz."""
    import graphviz

    try:
        yield
    except graphviz.ExecutableNotFound as exc:
        raise GraphvizNotFoundError(INSTALL_GRAPHVIZ + DOT_TEXT_HINT) from exc
    except OSError as exc:
        # graphviz turns only "not found" into its own error; a `dot` that cannot be started
        # comes through as the OSError of starting it (other OSErrors, such as a file that
        # cannot be written, are not about `dot` and pass unchanged).
        if exc.filename is None or Path(os.fsdecode(exc.filename)).name != "dot":
            raise
        raise GraphvizNotFoundError(_cannot_run(exc) + DOT_TEXT_HINT) from exc


def _cannot_run(exc: OSError) -> str:
    """What to say when a `dot` is on PATH but starting it failed."""
    found = shutil.which("dot", mode=os.F_OK) or "dot"  # F_OK: it exists, runnable or not
    reason = exc.strerror or type(exc).__name__
    return (
        f"Graphviz's `dot` program was found ({found}) but could not be run: {reason}. "
        "Check its permissions, or reinstall Graphviz with your system's package manager "
        "(`sudo apt-get install --reinstall graphviz` on Debian/Ubuntu)."
    )


def _graphviz() -> Any:
    """The graphviz package, or an ImportError that says how to install it."""
    try:
        import graphviz
    except ImportError as exc:
        raise ImportError(INSTALL_PACKAGE) from exc
    return graphviz


@functools.cache
def _digraph_class() -> Any:
    """A graphviz.Digraph whose pipe() and display are bounded in time and explain problems."""
    _graphviz()  # an ImportError that names the `viz` extra, if the package is missing
    import graphviz

    # graphviz ships no type information: mypy sees its classes as Any, and strict mode
    # refuses to subclass Any without this ignore.
    class Digraph(graphviz.Digraph):  # type: ignore[misc]
        """graphviz.Digraph: pipe() and Jupyter's display stop `dot` after ``timeout`` seconds.

        Shown inline, a large drawing is scaled down to fit the notebook. render() and view()
        are graphviz's own (unbounded): for files, prefer `autograd_lite.viz.render`.
        """

        timeout: float | None = DOT_TIMEOUT
        size_note: str = ""

        def pipe(
            self,
            format: str | None = None,
            renderer: str | None = None,
            formatter: str | None = None,
            neato_no_op: bool | int | None = None,
            quiet: bool = False,
            *,
            engine: str | None = None,
            encoding: str | None = None,
        ) -> bytes | str:
            data = _run_dot(
                self.source.encode(self.encoding),
                format or self.format,
                self.timeout,
                self.size_note,
                engine=engine or self.engine,
                renderer=renderer,
                formatter=formatter,
                neato_no_op=neato_no_op,
                quiet=quiet,
            )
            return data if encoding is None else data.decode(encoding)

        def render(self, *args: Any, **kwargs: Any) -> Any:
            with _explain_missing_dot():
                return super().render(*args, **kwargs)

        def _repr_image_svg_xml(self) -> str:
            """What Jupyter shows: the SVG, scaled down to fit when it is large."""
            svg = self.pipe(format="svg", encoding="utf-8")
            assert isinstance(svg, str)  # pipe() decodes when given an encoding
            return _fit(svg)

        _repr_svg_ = _repr_image_svg_xml  # the name older IPython front ends look for

    Digraph.__module__ = __name__
    Digraph.__qualname__ = "Digraph"
    return Digraph
