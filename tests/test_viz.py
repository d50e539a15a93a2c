"""Graph drawing: rendered through the real `dot` program and read back as SVG, plus DOT text.

Counts and labels are checked in the SVG that Graphviz writes (parsed as XML), so a drawing that
`dot` lays out differently from what we meant fails here. Expected numbers come from the graph's
shape and closed-form derivatives, not from the code under test.
"""

from __future__ import annotations

import dataclasses
import doctest
import math
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import autograd_lite.viz
from autograd_lite import Value, primitive
from autograd_lite.viz import (
    DISPLAY_HEIGHT,
    DISPLAY_WIDTH,
    MAX_NODES,
    DrawOptions,
    GraphTooLargeError,
    GraphvizNotFoundError,
    LayoutTimeoutError,
    _cluster_path,
    _digraph_class,
    _escape,
    _op_label,
    _Options,
    draw_dot,
    render,
    to_dot,
)

SVG = "{http://www.w3.org/2000/svg}"
TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


# ---------------------------------------------------------------------------------------------
# Helpers: graphs to draw, and readers for SVG and DOT text
# ---------------------------------------------------------------------------------------------


def neuron() -> tuple[Value, dict[str, Value]]:
    """tanh(x1*w1 + x2*w2 + b) at micrograd's README point, after backward()."""
    leaves = {
        "x1": Value(2.0, label="x1"),
        "x2": Value(0.0, label="x2"),
        "w1": Value(-3.0, label="w1"),
        "w2": Value(1.0, label="w2"),
        "b": Value(6.8813735870195432, label="b"),
    }
    v = leaves
    y = (v["x1"] * v["w1"] + v["x2"] * v["w2"] + v["b"]).tanh()
    y.label = "y"
    y.backward()
    return y, leaves


class FakeModel:
    """A two-layer net by hand, exposing named_parameters() the way autograd_lite.nn does."""

    def __init__(self) -> None:
        self.params = {
            "layers.0.neurons.0.w.0": Value(0.5),
            "layers.0.neurons.0.b": Value(0.1),
            "layers.0.neurons.1.w.0": Value(-0.3),
            "layers.0.neurons.1.b": Value(0.2),
            "layers.1.neurons.0.w.0": Value(0.7),
            "layers.1.neurons.0.w.1": Value(-0.4),
            "layers.1.neurons.0.b": Value(0.0),
        }

    def named_parameters(self) -> list[tuple[str, Value]]:
        return list(self.params.items())

    def __call__(self, x: Value) -> Value:
        p = self.params
        h0 = (p["layers.0.neurons.0.w.0"] * x + p["layers.0.neurons.0.b"]).tanh()
        h1 = (p["layers.0.neurons.1.w.0"] * x + p["layers.0.neurons.1.b"]).tanh()
        return (
            p["layers.1.neurons.0.w.0"] * h0
            + p["layers.1.neurons.0.w.1"] * h1
            + p["layers.1.neurons.0.b"]
        )


def build_model_graph() -> tuple[Value, FakeModel]:
    """A model's output after backward(): the graph the determinism tests draw."""
    model = FakeModel()
    x = Value(1.5, label="x")
    y = model(x) * 2 - x**2
    y.backward()
    return y, model


def chain(length: int) -> Value:
    """x negated `length` times: length + 1 Values in one long line."""
    y = Value(1.0, label="x")
    for _ in range(length):
        y = -y
    return y


def svg_of(root: Value, **options: Any) -> ET.Element:
    """The drawing rendered by the real `dot` program, parsed as XML."""
    data = draw_dot(root, **options).pipe(format="svg")
    return ET.fromstring(data)


def groups(svg: ET.Element, kind: str) -> dict[str, ET.Element]:
    """SVG groups of one class ("node", "edge", "cluster"), by their <title>; repeats numbered."""
    found: dict[str, ET.Element] = {}
    for g in svg.iter(f"{SVG}g"):
        if g.get("class") == kind:
            title = g.findtext(f"{SVG}title")
            assert title is not None
            key, n = title, 1
            while key in found:
                n += 1
                key = f"{title}#{n}"
            found[key] = g
    return found


def texts(group: ET.Element) -> list[str]:
    """The strings drawn in one SVG group, in document order."""
    return [t.text or "" for t in group.iter(f"{SVG}text")]


def record_texts(svg: ET.Element) -> list[list[str]]:
    """The fields of every record node (3 fields: label | data | grad)."""
    return [texts(g) for g in groups(svg, "node").values() if len(texts(g)) == 3]


def dot_nodes(text: str) -> dict[str, dict[str, str]]:
    """Node statements of DOT text as {id: {attribute: value}} (values unescaped of nothing)."""
    nodes: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        match = re.fullmatch(r"\s*(v\d+|op\d+) \[(.*)\]", line)
        if match:
            attrs = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2)))
            nodes[match.group(1)] = attrs
    return nodes


def dot_edges(text: str) -> list[tuple[str, str]]:
    """Edge statements of DOT text, in order."""
    return re.findall(r"^\s*(\w+) -> (\w+)(?: \[.*\])?$", text, flags=re.MULTILINE)


def dot_edge_attrs(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """Edge statements of DOT text with their attributes, in order."""
    found = []
    for tail, head, attrs in re.findall(
        r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$", text, flags=re.MULTILINE
    ):
        found.append((tail, head, dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', attrs))))
    return found


def node_by_title(text: str, title: str) -> dict[str, str]:
    """The attributes of the one record whose first field is title."""
    hits = [a for a in dot_nodes(text).values() if a["label"].strip("{ }").split(" | ")[0] == title]
    assert len(hits) == 1, (title, hits)
    return hits[0]


def cluster_tree(text: str) -> dict[str, tuple[str, list[str]]]:
    """Each cluster of DOT text, by path of captions: (its parent, the titles of its records)."""
    tree: dict[str, tuple[str, list[str]]] = {}
    open_paths: list[str] = []
    for line in text.splitlines():
        caption = re.search(r'graph \[label="([^"]*)"', line)
        if line.strip().startswith("subgraph cluster_"):
            open_paths.append("?")
        elif caption and open_paths and open_paths[-1] == "?":
            parent = open_paths[-2] if len(open_paths) > 1 else ""
            path = f"{parent}/{caption.group(1)}" if parent else caption.group(1)
            open_paths[-1] = path
            tree[path] = (parent, [])
        elif line.strip() == "}" and open_paths:
            open_paths.pop()
        elif open_paths and (label := re.search(r'label="\{ ([^|]*) \|', line)):
            tree[open_paths[-1]][1].append(label.group(1))
    return tree


def rgb(fill: str) -> tuple[int, int, int]:
    assert re.fullmatch(r"#[0-9a-f]{6}", fill), fill
    return int(fill[1:3], 16), int(fill[3:5], 16), int(fill[5:7], 16)


# ---------------------------------------------------------------------------------------------
# Through the real `dot`: counts, labels, multi-edges
# ---------------------------------------------------------------------------------------------


@pytest.mark.dot
def test_neuron_svg_has_every_node_edge_and_label() -> None:
    """A neuron renders 10 Value records, 5 op nodes, 14 edges, with data and closed-form grads."""
    y, _ = neuron()
    svg = svg_of(y)
    nodes = groups(svg, "node")
    values = [n for n in nodes if n.startswith("v")]
    ops = [n for n in nodes if n.startswith("op")]
    # 5 leaves + x1*w1, x2*w2, their sum, + b, tanh; one op node for each of the last 5.
    assert (len(values), len(ops)) == (10, 5)
    # 2 inputs into each of the 4 binary ops, 1 into tanh, and 1 from every op to its result.
    assert len(groups(svg, "edge")) == 4 * 2 + 1 + 5

    out = math.tanh(2.0 * -3.0 + 0.0 * 1.0 + 6.8813735870195432)
    slope = 1.0 - out**2  # d tanh(n)/dn
    expected = {
        "x1": ("data 2", f"grad {slope * -3.0:.4g}"),
        "w1": ("data -3", f"grad {slope * 2.0:.4g}"),
        "x2": ("data 0", f"grad {slope * 1.0:.4g}"),
        "w2": ("data 1", f"grad {slope * 0.0:.4g}"),
        "b": ("data 6.881", f"grad {slope:.4g}"),
        "y": (f"data {out:.4g}", "grad 1"),
    }
    by_title = {fields[0]: tuple(fields[1:]) for fields in record_texts(svg)}
    for title, shown in expected.items():
        assert by_title[title] == shown, (title, by_title[title], shown)
    assert by_title["y"] == ("data 0.7071", "grad 1")  # sqrt(2)/2: the point was chosen for it
    op_labels = sorted(texts(nodes[op])[0] for op in ops)
    # Computed from the nodes: the op names are the engine's to choose.
    x1, w1 = Value(2.0), Value(-3.0)
    product = x1 * w1
    expected_ops = [_op_label(product), _op_label(product + w1), _op_label(product.tanh())]
    assert op_labels == sorted([expected_ops[0]] * 2 + [expected_ops[1]] * 2 + [expected_ops[2]])


@pytest.mark.dot
def test_square_draws_both_edges() -> None:
    """a * a shows two arrows from a into the one "*" node, in DOT and in the SVG."""
    a = Value(3.0, label="a")
    y = a * a
    y.backward()
    text = to_dot(y)
    assert dot_edges(text) == [("v0", "op1"), ("v0", "op1"), ("op1", "v1")]
    edges = groups(svg_of(y), "edge")
    assert sorted(edges) == ["op1->v1", "v0->op1", "v0->op1#2"]
    by_title = {fields[0]: fields[1:] for fields in record_texts(svg_of(y))}
    assert by_title["a"] == ["data 3", "grad 6"]  # d(a*a)/da = 2a


@pytest.mark.dot
def test_labels_with_record_syntax_render_as_written() -> None:
    """{ } | < > " and backslashes in labels, op names and cluster names come out verbatim."""
    nasty = 'we{ir}d|<x> "q" \\back\\slash\\'
    a = Value(1.0, label=nasty)
    b = Value(2.0, label="<b>")

    def odd_rule(m: object, x: float) -> tuple[float, tuple[float]]:
        return x, (1.0,)

    odd = primitive(odd_rule, name='op{|}<>"\\')
    y = odd(a * b)
    y.label = "\\N \\G \\l"  # Graphviz escapes that must not expand
    y.backward()
    params = {"lay{er}s.0.w": b}
    svg = svg_of(y, params=params)
    shown = {fields[0] for fields in record_texts(svg)}
    assert nasty in shown
    assert "\\N \\G \\l" in shown
    assert "w" in shown  # the parameter, named relative to its box
    all_texts = [t for g in groups(svg, "node").values() for t in texts(g)]
    assert _op_label(y) == 'op{|}<>"\\'
    assert _op_label(y) in all_texts
    captions = [texts(g) for g in groups(svg, "cluster").values()]
    assert captions == [["lay{er}s.0"]]


@pytest.mark.dot
def test_newline_in_label_is_a_line_break() -> None:
    """A label with a newline is drawn on two lines, not as a stray escape."""
    y = Value(1.0, label="first\nsecond") * 2
    svg = svg_of(y)
    all_texts = [t for g in groups(svg, "node").values() for t in texts(g)]
    assert "first" in all_texts and "second" in all_texts


def test_escape_backslashes_every_special_character() -> None:
    """_escape puts one backslash before each of \\ { } | < > " and nothing else."""
    assert _escape('a\\b{c}d|e<f>g"h') == 'a\\\\b\\{c\\}d\\|e\\<f\\>g\\"h'
    assert _escape("plain text 1.5") == "plain text 1.5"
    assert _escape("two\nlines") == "two\\nlines"


# ---------------------------------------------------------------------------------------------
# Deterministic text
# ---------------------------------------------------------------------------------------------


def test_to_dot_is_the_same_for_the_same_graph() -> None:
    """Twice on one graph, and on a second build of it, to_dot gives identical text."""
    y1, model1 = build_model_graph()
    y2, model2 = build_model_graph()
    first = to_dot(y1, params=model1)
    assert first == to_dot(y1, params=model1)
    assert first == to_dot(y2, params=model2)
    assert "subgraph cluster_0" in first


def test_to_dot_is_the_same_in_fresh_processes() -> None:
    """Fresh interpreters with different hash seeds write byte-identical DOT text."""
    y, model = build_model_graph()
    here = to_dot(y, params=model)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from test_viz import build_model_graph; from autograd_lite.viz import to_dot;"
        "y, model = build_model_graph(); sys.stdout.write(to_dot(y, params=model))"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", code, str(TESTS)],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            check=True,
        )
        assert done.stdout == here


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"rankdir": "TB", "show_ops": False},
        {"cluster": False, "grad_color": False, "precision": 6},
        {"rankdir": "BT", "grad_color": True},
    ],
)
def test_draw_dot_source_is_to_dot(options: dict[str, Any]) -> None:
    """draw_dot and to_dot share one layout: the Digraph's source is to_dot's text."""
    y, model = build_model_graph()
    assert draw_dot(y, params=model, **options).source == to_dot(y, params=model, **options)


# ---------------------------------------------------------------------------------------------
# Large graphs
# ---------------------------------------------------------------------------------------------


def test_hundred_thousand_node_chain_to_dot() -> None:
    """A 100,000-step chain becomes DOT text without a recursion error (the walk is iterative)."""
    length = 100_000
    y = chain(length)
    lines = to_dot(y, max_nodes=None).splitlines()
    edges = [line for line in lines if " -> " in line]
    nodes = [line for line in lines if line.startswith(("\tv", "\top")) and " -> " not in line]
    assert len(edges) == 2 * length  # into each neg node, and out of it
    assert edges[0] == "\tv0 -> op1" and edges[-1] == f"\top{length} -> v{length}"
    assert len(nodes) == (length + 1) + length  # every Value, and one op node per neg


def test_node_limit_raises_a_clear_error() -> None:
    """More Values than max_nodes: GraphTooLargeError naming the limit; exactly max_nodes: drawn."""
    y = chain(MAX_NODES)  # MAX_NODES + 1 Values
    for draw in (to_dot, draw_dot):
        with pytest.raises(GraphTooLargeError, match=f"more than max_nodes={MAX_NODES}"):
            draw(y)
    with pytest.raises(GraphTooLargeError, match="max_nodes=10 "):
        to_dot(y, max_nodes=10)
    assert to_dot(y, max_nodes=MAX_NODES + 1).count(" -> ") == 2 * MAX_NODES
    small = chain(4)  # 5 Values
    assert to_dot(small, max_nodes=5)
    with pytest.raises(GraphTooLargeError):
        to_dot(small, max_nodes=4)


def test_render_refuses_a_large_graph_before_writing(tmp_path: Path) -> None:
    """render() checks the limit before it creates the file."""
    target = tmp_path / "big.svg"
    with pytest.raises(GraphTooLargeError):
        render(chain(50), target, max_nodes=20)
    assert not target.exists()


# ---------------------------------------------------------------------------------------------
# Missing Graphviz
# ---------------------------------------------------------------------------------------------


def test_missing_dot_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With no `dot` on PATH, rendering explains apt/brew/conda; DOT text still works."""
    y, _ = neuron()
    monkeypatch.setenv("PATH", "")
    graph = draw_dot(y)  # building the Digraph needs no `dot`
    assert graph.source == to_dot(y)
    attempts: list[Callable[[], object]] = [
        lambda: render(y, tmp_path / "g.svg"),
        lambda: graph.pipe(),
        lambda: graph.render(tmp_path / "g", format="svg"),
        lambda: graph._repr_mimebundle_(),  # what Jupyter calls to show it inline
    ]
    for attempt in attempts:
        with pytest.raises(GraphvizNotFoundError) as info:
            attempt()
        message = str(info.value)
        for hint in ("apt-get install graphviz", "brew install graphviz", "conda install"):
            assert hint in message
    assert not (tmp_path / "g.svg").exists()
    written = render(y, tmp_path / "g.dot")
    assert written.read_text(encoding="utf-8") == to_dot(y)


def test_a_dot_that_cannot_be_run_is_named_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A `dot` on PATH without execute permission: every way of rendering says so, not a bare
    PermissionError; DOT text still works."""
    y, _ = neuron()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dot").write_text("#!/bin/sh\n", encoding="utf-8")
    (bin_dir / "dot").chmod(0o644)
    monkeypatch.setenv("PATH", str(bin_dir))
    graph = draw_dot(y)
    attempts: list[Callable[[], object]] = [
        lambda: render(y, tmp_path / "g.svg"),
        lambda: graph.pipe(),
        lambda: graph.render(tmp_path / "g", format="svg"),
        lambda: graph._repr_mimebundle_(),
    ]
    for attempt in attempts:
        with pytest.raises(GraphvizNotFoundError) as info:
            attempt()
        message = str(info.value)
        assert f"was found ({bin_dir / 'dot'}) but could not be run: Permission denied" in message
        assert "to_dot(root)" in message
    assert not (tmp_path / "g.svg").exists()
    assert render(y, tmp_path / "g.dot").read_text(encoding="utf-8") == to_dot(y)


def test_an_unwritable_output_is_not_blamed_on_dot(tmp_path: Path) -> None:
    """graphviz's render() writing into a missing folder fails as itself, not as `dot`."""
    y, _ = neuron()
    graph = draw_dot(y)
    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    with pytest.raises(OSError) as info:
        graph.render(blocked / "g", format="svg")  # a folder under a file cannot exist
    assert not isinstance(info.value, GraphvizNotFoundError)


def test_missing_graphviz_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the graphviz package, draw_dot says to install the `viz` extra; to_dot works."""
    y, _ = neuron()
    _digraph_class.cache_clear()
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    try:
        with pytest.raises(ImportError, match=r"pip install 'autograd-lite\[viz\]'"):
            draw_dot(y)
        assert to_dot(y).startswith("digraph autograd {")
    finally:
        _digraph_class.cache_clear()


# ---------------------------------------------------------------------------------------------
# Looks: kinds, gradient colours, compact drawings, layout direction
# ---------------------------------------------------------------------------------------------


def test_each_kind_of_value_has_its_own_border() -> None:
    """Output, parameter, input, constant and intermediate Values are drawn differently."""
    w = Value(0.5)
    x = Value(2.0, label="x")
    y = (w * x + 3).tanh()
    y.label = "y"
    text = to_dot(y, params={"w": w})
    nodes = dot_nodes(text).values()

    def look(attrs: dict[str, str]) -> tuple[str, str, str | None]:
        return attrs["color"], attrs["style"], attrs.get("penwidth")

    (constant,) = [a for a in nodes if "data 3 " in a.get("label", "")]
    (product,) = [a for a in nodes if "data 1 " in a.get("label", "")]
    looks = {
        "parameter": look(node_by_title(text, "w")),
        "input": look(node_by_title(text, "x")),
        "output": look(node_by_title(text, "y")),
        "constant": look(constant),
        "intermediate": look(product),
    }
    assert len(set(looks.values())) == 5, looks
    assert "dashed" in looks["constant"][1]
    assert looks["output"][2] == "3"  # the output stands out most


def test_gradient_colours_after_backward() -> None:
    """After backward: blue fill for a positive grad, red for negative, white for 0, by size."""
    a, b, c = Value(1.0, label="a"), Value(1.0, label="b"), Value(5.0, label="c")
    y = 3 * a - 0.5 * b + 0 * c
    y.label = "y"
    before = to_dot(y)
    y.backward()
    after = to_dot(y)
    # Before backward every grad is 0: fills tell kinds apart instead, and carry no gradient.
    assert node_by_title(before, "a")["fillcolor"] == node_by_title(before, "b")["fillcolor"]
    fa, fb, fc = (rgb(node_by_title(after, t)["fillcolor"]) for t in ("a", "b", "c"))
    assert fa[2] > fa[0]  # d y/d a = 3: blue
    assert fb[0] > fb[2]  # d y/d b = -0.5: red
    assert fc == (255, 255, 255)  # d y/d c = 0: white
    assert sum(fa) < sum(fb)  # the larger gradient has the stronger (darker) colour
    plain = to_dot(y, grad_color=False)
    assert node_by_title(plain, "a")["fillcolor"] == node_by_title(before, "a")["fillcolor"]


def test_gradient_colours_survive_nan_and_inf() -> None:
    """Infinite and NaN gradients get colours too, not a crash."""
    x = Value(0.0, label="x")
    y = x.sqrt()  # d sqrt(x)/dx at 0 is inf
    y.backward()
    fills = [a["fillcolor"] for a in dot_nodes(to_dot(y)).values() if "fillcolor" in a]
    assert all(re.fullmatch(r"#[0-9a-f]{6}", f) for f in fills)
    z = Value(math.nan, label="z") * 2
    z.backward()
    assert "#bdbdbd" in to_dot(z)  # the NaN-gradient grey


@pytest.mark.dot
def test_without_op_nodes_edges_go_straight_to_results() -> None:
    """show_ops=False: only Value records; each result names its op; a*a still has two edges."""
    a = Value(3.0, label="a")
    y = (a * a).tanh()
    text = to_dot(y, show_ops=False)
    assert dot_edges(text) == [("v0", "v1"), ("v0", "v1"), ("v1", "v2")]
    svg = svg_of(y, show_ops=False)
    assert len(groups(svg, "node")) == 3
    product = y.parents[0]
    assert [fields[0] for fields in record_texts(svg)] == ["a", _op_label(product), _op_label(y)]
    y.label = "y"
    assert node_by_title(to_dot(y, show_ops=False), f"y = {_op_label(y)}")


@pytest.mark.dot
@pytest.mark.parametrize("rankdir", ["TB", "BT", "RL"])
def test_every_direction_keeps_records_in_one_row(rankdir: str) -> None:
    """In any direction a record shows label, data and grad as three fields side by side."""
    y, _ = neuron()
    svg = svg_of(y, rankdir=rankdir)
    for g in groups(svg, "node").values():
        fields = g.findall(f"{SVG}text")
        if len(fields) == 3:
            heights = {field.get("y") for field in fields}
            assert len(heights) == 1, texts(g)  # one row: every field at the same height


def test_gradients_that_are_values_are_drawn_as_numbers() -> None:
    """After backward(create_graph=True) grads are Values; the drawing shows their data."""
    x = Value(3.0, label="x")
    y = x * x * x
    y.backward(create_graph=True)
    assert node_by_title(to_dot(y), "x")["label"] == "{ x | data 3 | grad 27 }"


# ---------------------------------------------------------------------------------------------
# Named parameters and clusters
# ---------------------------------------------------------------------------------------------


@pytest.mark.dot
def test_model_parameters_are_named_and_boxed_by_layer_and_neuron() -> None:
    """params=model: names from named_parameters(), nested boxes for layers and neurons."""
    y, model = build_model_graph()
    svg = svg_of(y, params=model)
    captions = sorted(texts(g)[0] for g in groups(svg, "cluster").values())
    assert captions == ["layers.0", "layers.1", "neurons.0", "neurons.0", "neurons.1"]
    titles = [fields[0] for fields in record_texts(svg)]
    assert sorted(t for t in titles if t.startswith(("w.", "b"))) == [
        "b",
        "b",
        "b",
        "w.0",
        "w.0",
        "w.0",
        "w.1",
    ]
    # Each neuron's box sits inside its layer's, and holds that neuron's parameters.
    assert cluster_tree(to_dot(y, params=model)) == {
        "layers.0": ("", []),
        "layers.0/neurons.0": ("layers.0", ["w.0", "b"]),
        "layers.0/neurons.1": ("layers.0", ["w.0", "b"]),
        "layers.1": ("", []),
        "layers.1/neurons.0": ("layers.1", ["w.0", "w.1", "b"]),
    }


@pytest.mark.dot
def test_parameters_without_clusters_keep_full_names() -> None:
    """cluster=False: no boxes, and each parameter shows its whole dotted name."""
    y, model = build_model_graph()
    svg = svg_of(y, params=model, cluster=False)
    assert groups(svg, "cluster") == {}
    titles = {fields[0] for fields in record_texts(svg)}
    assert set(model.params) <= titles


def test_params_as_a_mapping_and_extra_names_are_ignored() -> None:
    """A dict of names works like a model; a parameter outside the graph is simply not drawn."""
    w, b, unused = Value(2.0), Value(1.0), Value(9.0)
    x = Value(3.0, label="x")
    y = w * x + b
    text = to_dot(y, params={"weight": w, "bias": b, "unused": unused})
    assert node_by_title(text, "weight")["color"] == node_by_title(text, "bias")["color"]
    assert "unused" not in text and "data 9" not in text


def test_cluster_path_reads_numbered_parts() -> None:
    """Boxes come from the numbered parts of a name that are followed by an attribute."""
    assert _cluster_path("layers.0.neurons.3.w.1") == ("layers.0", "layers.0.neurons.3")
    assert _cluster_path("layers.0.neurons.3.b") == ("layers.0", "layers.0.neurons.3")
    assert _cluster_path("0.weight") == ("0",)
    assert _cluster_path("w.1") == ()
    assert _cluster_path("bias") == ()


# ---------------------------------------------------------------------------------------------
# Bad arguments
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"rankdir": "XY"}, ValueError, "rankdir must be one of 'LR', 'RL', 'TB', 'BT'; got str"),
        ({"max_nodes": 0}, ValueError, "max_nodes must be an int >= 1, got int: 0"),
        ({"max_nodes": True}, TypeError, "max_nodes must be an int, got bool: True"),
        ({"max_nodes": 2.5}, TypeError, "got float: 2.5"),
        ({"precision": 0}, ValueError, "precision must be an int >= 1, got int: 0"),
        ({"precision": 18}, ValueError, "precision must be an int <= 17, got int: 18"),
        ({"show_ops": 1}, TypeError, "show_ops must be True or False, got int: 1"),
        ({"edge_partials": "yes"}, TypeError, "edge_partials must be True or False"),
        ({"grad_color": 0}, TypeError, "grad_color must be True or False"),
        ({"rankdri": "TB"}, TypeError, "unknown option 'rankdri'; the drawing options are"),
        ({"params": [1, 2]}, TypeError, "a model with named_parameters() or a mapping"),
        ({"params": {"w": 2.0}}, TypeError, "(name, Value) pairs, got ('w', 2.0)"),
    ],
)
def test_bad_options_are_named(options: dict[str, Any], error: type, words: str) -> None:
    """Each bad option raises an error naming the function, the option and the value."""
    y, _ = neuron()
    draws: list[tuple[Callable[..., object], str]] = [
        (to_dot, "to_dot()"),
        (draw_dot, "draw_dot()"),
        (lambda y, **options: render(y, "never-written.dot", **options), "render()"),
    ]
    for draw, name in draws:
        with pytest.raises(error) as info:
            draw(y, **options)
        assert name in str(info.value) and words in str(info.value)


def test_drawing_something_that_is_not_a_value() -> None:
    """to_dot(3.0) is a TypeError that says what it got."""
    with pytest.raises(TypeError, match=r"to_dot\(\) needs a Value to draw, got float: 3\.0"):
        to_dot(3.0)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# render()
# ---------------------------------------------------------------------------------------------


@pytest.mark.dot
def test_render_picks_the_format_from_the_suffix(tmp_path: Path) -> None:
    """.svg writes SVG, .png writes PNG, no suffix adds .svg, .dot writes to_dot's text."""
    y, _ = neuron()
    svg = render(y, tmp_path / "a.svg")
    assert svg == tmp_path / "a.svg"
    assert ET.parse(svg).getroot().tag == f"{SVG}svg"
    png = render(y, tmp_path / "b.png")
    assert png.read_bytes().startswith(b"\x89PNG")
    bare = render(y, tmp_path / "c")
    assert bare == tmp_path / "c.svg" and bare.exists()
    upper = render(y, tmp_path / "B.SVG", format="SVG")
    assert ET.parse(upper).getroot().tag == f"{SVG}svg"
    named = render(y, str(tmp_path / "d"), format="pdf")
    assert named == tmp_path / "d.pdf" and named.read_bytes().startswith(b"%PDF")
    dot = render(y, tmp_path / "e.dot", show_ops=False)
    assert dot.read_text(encoding="utf-8") == to_dot(y, show_ops=False)


def test_render_refuses_mismatched_or_unknown_formats(tmp_path: Path) -> None:
    """A format that contradicts the suffix, or that Graphviz lacks, fails before writing."""
    y, _ = neuron()
    with pytest.raises(ValueError, match=r"format='png' for a path ending in \.svg"):
        render(y, tmp_path / "a.svg", format="png")
    with pytest.raises(ValueError, match="cannot write the format 'xyz'"):
        render(y, tmp_path / "a.xyz")
    assert list(tmp_path.iterdir()) == []


def test_docstring_examples_run() -> None:
    """The examples in viz's docstrings (draw_dot, to_dot) are true."""
    result = doctest.testmod(autograd_lite.viz)
    assert result.failed == 0 and result.attempted >= 5


def test_the_options_are_declared_once() -> None:
    """The public keyword arguments and the checked defaults list the same options."""
    assert list(DrawOptions.__annotations__) == [f.name for f in dataclasses.fields(_Options)]


# ---------------------------------------------------------------------------------------------
# Edge labels: local derivatives, and which operand is which
# ---------------------------------------------------------------------------------------------


def into(text: str, op_id: str) -> list[dict[str, str]]:
    """The attributes of the edges into one node, in order."""
    return [attrs for _, head, attrs in dot_edge_attrs(text) if head == op_id]


def test_edge_partials_are_the_local_derivatives() -> None:
    """edge_partials=True labels each edge with d(result)/d(input), in closed form."""
    x, w = Value(0.5, label="x"), Value(-1.5, label="w")
    y = (x * w).tanh()
    text = to_dot(y, edge_partials=True, precision=6)
    slope = 1.0 - math.tanh(0.5 * -1.5) ** 2  # d tanh(n)/dn
    labels = [
        attrs.get("label") for _, head, attrs in dot_edge_attrs(text) if head.startswith("op")
    ]
    # x * w: d/dx = w, d/dw = x; then tanh: 1 - tanh^2.
    assert labels == ["∂ -1.5", "∂ 0.5", f"∂ {slope:.6g}"]
    assert all("label" not in attrs for *_, attrs in dot_edge_attrs(to_dot(y)))  # off by default
    compact = to_dot(y, edge_partials=True, show_ops=False, precision=6)
    assert [a.get("label") for *_, a in dot_edge_attrs(compact)] == labels


def test_a_repeated_parent_draws_one_edge_per_use_with_its_partial() -> None:
    """a * a: two edges from a, each labelled with its own partial (a, the other factor)."""
    a = Value(3.0, label="a")
    text = to_dot(a * a, edge_partials=True)
    assert [attrs["label"] for attrs in into(text, "op1")] == ["∂ 3", "∂ 3"]


@pytest.mark.parametrize(
    ("make", "commutative"),
    [
        (lambda a, b: a - b, False),
        (lambda a, b: a / b, False),
        (lambda a, b: a**b, False),
        (lambda a, b: a + b, True),
        (lambda a, b: a * b, True),
    ],
    ids=["sub", "div", "pow", "add", "mul"],
)
def test_operands_of_non_commutative_ops_are_numbered(
    make: Callable[[Value, Value], Value], commutative: bool
) -> None:
    """a - b and b - a draw differently: each edge into the op says which operand it is."""
    a, b = Value(2.0, label="a"), Value(3.0, label="b")

    def positions(y: Value) -> dict[str, str]:
        """The operand number at the head of the edge from each of a and b into y's op."""
        text = to_dot(y)
        ids = {
            title: node_id
            for node_id, attrs in dot_nodes(text).items()
            if (title := attrs["label"].strip("{ }").split(" | ")[0]) in ("a", "b")
        }
        return {
            title: attrs.get("headlabel", "")
            for title, node_id in ids.items()
            for tail, head, attrs in dot_edge_attrs(text)
            if tail == node_id
        }

    if commutative:
        assert positions(make(a, b)) == positions(make(b, a)) == {"a": "", "b": ""}
    else:
        assert positions(make(a, b)) == {"a": "1", "b": "2"}
        assert positions(make(b, a)) == {"a": "2", "b": "1"}


@pytest.mark.dot
def test_edge_labels_reach_the_svg() -> None:
    """The partials and operand numbers are drawn by dot, as text on the edges."""
    a, b = Value(2.0, label="a"), Value(4.0, label="b")
    y = a / b
    svg = svg_of(y, edge_partials=True)
    edge_texts = sorted(t for g in groups(svg, "edge").values() for t in texts(g))
    # d(a/b)/da = 1/b = 0.25, d(a/b)/db = -a/b^2 = -0.125.
    assert edge_texts == sorted(["1", "2", "∂ 0.25", "∂ -0.125"])


# ---------------------------------------------------------------------------------------------
# Control characters, atomic files, timeouts, notebook display
# ---------------------------------------------------------------------------------------------

CONTROL_LABEL = "tab\there\rcr\x00nul\x1besc\x7fdel\x85nel\udcffbyte"


def test_control_characters_are_escaped_not_dropped() -> None:
    """Every control character shows as its escape; a lone surrogate too; newline breaks."""
    shown = _escape(CONTROL_LABEL)
    for escape in ("\\\\t", "\\\\r", "\\\\x00", "\\\\x1b", "\\\\x7f", "\\\\x85", "\\\\udcff"):
        assert escape in shown, escape
    assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) < 0xA0 for c in shown)
    assert _escape("a\nb") == "a\\nb"
    to_dot(Value(1.0, label=CONTROL_LABEL)).encode("utf-8")  # writable as UTF-8


@pytest.mark.dot
def test_control_characters_give_valid_svg_that_shows_them() -> None:
    """dot's SVG of such a label parses as XML and shows each escape, in order."""
    y = Value(1.0, label=CONTROL_LABEL) * 2
    svg = svg_of(y)  # ET.fromstring: invalid XML would raise here
    (title,) = [fields[0] for fields in record_texts(svg) if fields[0].startswith("tab")]
    assert title == "tab\\there\\rcr\\x00nul\\x1besc\\x7fdel\\x85nel\\udcffbyte"


def test_a_failed_render_keeps_the_existing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails midway leaves the old file whole, and no temporary file behind."""
    y, _ = neuron()
    target = tmp_path / "graph.dot"
    target.write_text("the previous drawing\n", encoding="utf-8")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        render(y, target)
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "the previous drawing\n"
    assert sorted(os.listdir(tmp_path)) == ["graph.dot"]
    render(y, target)
    assert target.read_text(encoding="utf-8") == to_dot(y)


@pytest.fixture
def slow_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `dot` on PATH that takes a minute, as the real one does on an unlucky graph."""
    folder = tmp_path / "bin"
    folder.mkdir()
    fake = folder / "dot"
    fake.write_text("#!/bin/sh\nexec sleep 60\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return tmp_path


def test_a_slow_layout_is_stopped_with_a_hint(slow_dot: Path) -> None:
    """render(), pipe() and Jupyter's display stop dot at the timeout and say what to do."""
    y, _ = neuron()
    target = slow_dot / "graph.svg"
    target.write_text("the previous drawing", encoding="utf-8")
    graph = draw_dot(y, timeout=0.5)
    attempts: list[Callable[[], object]] = [
        lambda: render(y, target, timeout=0.5),
        graph.pipe,
        graph._repr_mimebundle_,
    ]
    for attempt in attempts:
        started = time.monotonic()
        with pytest.raises(LayoutTimeoutError) as info:
            attempt()
        assert time.monotonic() - started < 10
        message = str(info.value)
        assert "within 0.5 s" in message and "10 Values" in message
        for hint in ("fewer nodes", "show_ops=False", "--no-ops", "to_dot(root)", ".dot"):
            assert hint in message
    assert target.read_text(encoding="utf-8") == "the previous drawing"


def test_the_timeout_is_checked() -> None:
    """A timeout must be a positive number of seconds, or None."""
    y, _ = neuron()
    with pytest.raises(ValueError, match=r"render\(\) timeout must be > 0.0, got 0.0"):
        render(y, "never-written.svg", timeout=0)
    with pytest.raises(TypeError, match=r"draw_dot\(\) timeout must be a real number"):
        draw_dot(y, timeout="5")  # type: ignore[arg-type]
    assert draw_dot(y, timeout=None).timeout is None


def _svg_size(svg: str) -> tuple[float, float, str]:
    match = re.search(r'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"\s+viewBox="([^"]*)"', svg)
    assert match, svg[:300]
    return float(match.group(1)), float(match.group(2)), match.group(3)


@pytest.mark.dot
def test_a_large_drawing_is_scaled_to_fit_a_notebook() -> None:
    """Inline display fits the box; files keep full size; a small drawing is not touched."""
    from autograd_lite.nn import MLP

    model = MLP(2, [16, 16, 1], seed=0)
    y = model([Value(0.5), Value(-1.0)])
    assert isinstance(y, Value)
    graph = draw_dot(y, params=model)
    full = graph.pipe(format="svg", encoding="utf-8")
    width, height, view = _svg_size(full)
    assert width > DISPLAY_WIDTH or height > DISPLAY_HEIGHT  # one forward pass is huge
    shown = graph._repr_mimebundle_()["image/svg+xml"]
    shown_width, shown_height, shown_view = _svg_size(shown)
    assert shown_width <= DISPLAY_WIDTH + 0.01 and shown_height <= DISPLAY_HEIGHT + 0.01
    assert shown_view == view  # the same picture, drawn smaller
    assert shown_width / shown_height == pytest.approx(width / height, rel=1e-3)
    small = draw_dot(Value(1.0, label="x") * 2)
    assert small._repr_mimebundle_()["image/svg+xml"] == small.pipe(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# sweep_page: the page that steps through a sweep (its own tests: tests/test_sweep_page.py)
# ---------------------------------------------------------------------------------------------


def test_sweep_page_is_public_and_needs_no_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    """sweep_page, SweepPage and MAX_SWEEP_NODES are in viz's __all__; the page is laid out
    without the graphviz package or the dot program."""
    for name in ("sweep_page", "SweepPage", "MAX_SWEEP_NODES"):
        assert name in autograd_lite.viz.__all__
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    monkeypatch.setenv("PATH", "")
    y, _ = neuron()
    page = autograd_lite.viz.sweep_page(y)
    assert isinstance(page, autograd_lite.viz.SweepPage)
    assert page.frames == 11 and page.html.count('data-frame="') == 11


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"max_nodes": 0}, ValueError, "sweep_page() max_nodes"),
        ({"max_nodes": True}, TypeError, "sweep_page() max_nodes"),
        ({"title": 3}, TypeError, "sweep_page() title must be a str or None, got int: 3"),
        ({"forward": "x1"}, TypeError, "sweep_page() forward must be a Value"),
        ({"forward": Value(1.0)}, ValueError, "forward_sweep() needs wrt to be a node"),
    ],
)
def test_sweep_page_checks_its_arguments(options: dict[str, Any], error: type, words: str) -> None:
    """Each bad argument is refused by name, before any work."""
    y, _ = neuron()
    with pytest.raises(error, match=re.escape(words)):
        autograd_lite.viz.sweep_page(y, **options)
    with pytest.raises(TypeError, match=re.escape("sweep_page() needs a Value to sweep, got")):
        autograd_lite.viz.sweep_page(2.0)  # type: ignore[arg-type]


def test_sweep_page_refuses_what_draw_dot_would_draw_but_nobody_steps_through() -> None:
    """The page's limit is its own (MAX_SWEEP_NODES), and its message speaks of frames."""
    y = chain(autograd_lite.viz.MAX_SWEEP_NODES)  # one Value more than the limit
    assert autograd_lite.viz.MAX_SWEEP_NODES < MAX_NODES
    to_dot(y)  # a drawing of it is fine
    with pytest.raises(GraphTooLargeError, match="the page has a frame per Value"):
        autograd_lite.viz.sweep_page(y)
