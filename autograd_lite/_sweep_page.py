"""The sweep page: one recorded `Sweep` as a self-contained HTML page, stepped frame by frame.

The graph is laid out here, in Python (layers by topological depth, no Graphviz), and drawn once
as inline SVG; each frame is an element with a ``data-frame`` number that shows the graph again
(an SVG ``<use>`` of the one drawing) with that step's highlights and sums, beside a caption with
its numbers. A small inline script moves between frames. Every text is escaped. The numbers all
come from the `Sweep` (`autograd_lite.sweeps`); this module only arranges and draws them.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from autograd_lite._atomic import write_atomically
from autograd_lite.engine import Value
from autograd_lite.sweeps import BACKWARD, Frame, Sweep

__all__ = ["MAX_SWEEP_NODES", "SweepPage"]

# One frame per Value, and each frame shows the sum at every node reached so far: the page grows
# with the square of the graph (about 2 MB at 300 Values, a few hundred frames to click through).
# Past that nobody steps through it, and the page gets slow to open: refuse.
MAX_SWEEP_NODES: Final = 300

# Geometry, in SVG pixels.
BOX_WIDTH: Final = 168.0
LINE: Final = 14.0  # the height of one line of text in a box
BOX_HEIGHT: Final = 4 * LINE + 8  # header, label, data, gradient or tangent
PORT_GAP: Final = 13.0  # between the arrival points of a node's operands on its left side
COLUMN_GAP: Final = 150.0  # between layers: room for the edge labels
ROW_GAP: Final = 18.0
MARGIN: Final = 16.0
LABEL_CHARS: Final = 22  # what fits on a line of a box at this font size

SLIDE_HEADING: Final = 28.0  # the line above the graph in a frame's SVG file

# How many significant digits are shown: in the boxes, and in the captions' tables (every
# number's full repr is in its tooltip).
BOX_DIGITS: Final = 4
TABLE_DIGITS: Final = 6

# Passes of the barycentre heuristic that orders each layer to reduce edge crossings.
ORDER_PASSES: Final = 4

_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _shown(text: str) -> str:
    """text as written, with every character HTML/SVG cannot hold shown as its escape."""
    text = _CONTROL.sub(lambda match: repr(match.group())[1:-1], text)
    return html.escape(text, quote=True)


def _clipped(text: str, chars: int = LABEL_CHARS) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _number(x: float | None, digits: int) -> str:
    return "·" if x is None else f"{x:.{digits}g}"


def _exact(x: float | None) -> str:
    return "none" if x is None else repr(x)


def _px(x: float) -> str:
    """A coordinate as SVG text: at most one decimal, the same on every machine."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


# ---------------------------------------------------------------------------------------------
# Layout: layers by topological depth, ordered by barycentres, boxes stacked without overlap
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Where every node's box is (top-left corner and height) and the size of the picture."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    height: tuple[float, ...]
    width: float
    total_height: float

    def port(self, node: int, operand: int, operands: int) -> tuple[float, float]:
        """Where the edge of one operand arrives: the box's left side, operands top to bottom."""
        return self.x[node], self.y[node] + self.height[node] * (operand + 1) / (operands + 1)

    def exit(self, node: int) -> tuple[float, float]:
        """Where a node's outgoing edges leave: the middle of its right side."""
        return self.x[node] + BOX_WIDTH, self.y[node] + self.height[node] / 2


def _lay_out(nodes: Sequence[Value]) -> _Layout:
    """A layered left-to-right layout of the nodes (given in topological order)."""
    index = {node: i for i, node in enumerate(nodes)}
    parents = [[index[p] for p in node.parents] for node in nodes]
    children: list[list[int]] = [[] for _ in nodes]
    # Where each edge arrives, as a fraction of its child's height less a half: the first
    # operand's edge arrives above the second's, so the first operand is best drawn above.
    arrivals: list[list[tuple[int, float]]] = [[] for _ in nodes]
    for i, ps in enumerate(parents):
        for operand, p in enumerate(ps):
            children[p].append(i)
            arrivals[p].append((i, (operand + 1) / (len(ps) + 1) - 0.5))
    # An operation sits one layer past its deepest input; a leaf just before its first user.
    depth = [0] * len(nodes)
    for i, ps in enumerate(parents):
        if ps:
            depth[i] = 1 + max(depth[p] for p in ps)
    for i, ps in enumerate(parents):
        if not ps and children[i]:
            depth[i] = max(0, min(depth[c] for c in children[i]) - 1)
    layers: list[list[int]] = [[] for _ in range(max(depth) + 1)]
    for i in range(len(nodes)):
        layers[depth[i]].append(i)
    layers = [layer for layer in layers if layer]
    heights = [max(BOX_HEIGHT, PORT_GAP * (len(ps) + 1)) for ps in parents]

    # Order each layer by the mean position of its neighbours in the layer before (then after),
    # a few times over; ties keep the topological order, so the result is deterministic.
    rank = [0.0] * len(nodes)
    for layer in layers:
        for r, i in enumerate(layer):
            rank[i] = float(r)
    for sweep in range(ORDER_PASSES):
        from_parents = sweep % 2 == 0
        sequence = layers if from_parents else layers[::-1]
        for layer in sequence:
            keyed = []
            for i in layer:
                if from_parents:
                    near = [rank[p] for p in parents[i]]
                else:
                    near = [rank[c] + offset for c, offset in arrivals[i]]
                centre = sum(near) / len(near) if near else rank[i]
                keyed.append((centre, rank[i], i))
            keyed.sort()
            layer[:] = [i for _, _, i in keyed]
            for r, i in enumerate(layer):
                rank[i] = float(r)

    # Stack each layer's boxes; centre the layers on the tallest one.
    y = [0.0] * len(nodes)
    column_heights = []
    for layer in layers:
        top = 0.0
        for i in layer:
            y[i] = top
            top += heights[i] + ROW_GAP
        column_heights.append(top - ROW_GAP)
    tallest = max(column_heights)
    x = [0.0] * len(nodes)
    for column, layer in enumerate(layers):
        shift = MARGIN + (tallest - column_heights[column]) / 2
        for i in layer:
            y[i] += shift
            x[i] = MARGIN + column * (BOX_WIDTH + COLUMN_GAP)
    width = 2 * MARGIN + len(layers) * BOX_WIDTH + (len(layers) - 1) * COLUMN_GAP
    return _Layout(tuple(x), tuple(y), tuple(heights), width, tallest + 2 * MARGIN)


# ---------------------------------------------------------------------------------------------
# Drawing: the graph once, and each frame's highlights over it
# ---------------------------------------------------------------------------------------------

STYLE: Final = """\
.sweep { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
  sans-serif; font-size: 11px; }
.sweep .box { fill: none; stroke: #8c8c8c; stroke-width: 1; }
.sweep .box.output { stroke: #000000; stroke-width: 2.5; }
.sweep .box.seed { stroke: #1b7f4b; stroke-width: 2.5; }
.sweep .box.constant { fill: #e8e8e8; fill-opacity: 0.5; stroke-dasharray: 4 2; }
.sweep .box.input { fill: #ffe9a8; fill-opacity: 0.35; stroke: #b8860b; }
.sweep .head { fill: #6b6b6b; font-size: 10px; }
.sweep .name { font-weight: 600; }
.sweep .data { fill: #333333; }
.sweep .edge { fill: none; stroke: #a0a0a0; stroke-width: 1; }
.sweep .partial { fill: #1f4e79; font-size: 9px; text-anchor: end; }
.sweep .halo { paint-order: stroke; stroke: #ffffff; stroke-width: 3px;
  stroke-linejoin: round; }
.sweep .sum { font-weight: 600; }
.sweep .sum.done { fill: #1f4e79; }
.sweep .sum.pending { fill: #c05800; font-style: italic; }
.sweep .sum.none { fill: #9a9a9a; font-weight: 400; }
.sweep .sum.forward { fill: #1b7f4b; }
.sweep .done-box { fill: #dbe9f6; stroke: none; }
.sweep .done-box.forward { fill: #d9f0e3; }
.sweep .pending-box { fill: #ffe7cc; stroke: #e08a2e; stroke-width: 3; }
.sweep .none-box { fill: #f4f4f4; stroke: none; }
.sweep .current { fill: none; stroke: #d62728; stroke-width: 3.5; }
.sweep .active { fill: none; stroke: #d62728; stroke-width: 2.5; }
.sweep .skipped { fill: none; stroke: #bbbbbb; stroke-width: 2; stroke-dasharray: 3 3; }
.sweep .flow { fill: #b01e1e; font-size: 10px; font-weight: 600; }
.sweep .heading { font-size: 13px; font-weight: 600; fill: #1a1a1a; }
"""

PAGE_STYLE: Final = """\
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  margin: 0; color: #1a1a1a; background: #fafafa; }
header { position: fixed; top: 0; left: 0; right: 0; height: 84px; box-sizing: border-box;
  z-index: 2; background: #fafafa; padding: 8px 16px; overflow: hidden; }
header h1 { font-size: 17px; margin: 0 0 4px 0; }
header h1, header p { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
header p { margin: 2px 0; font-size: 13px; color: #444444; }
.controls { display: flex; gap: 10px; align-items: center; margin-top: 6px; font-size: 14px; }
.controls button { font-size: 14px; padding: 3px 12px; }
.controls kbd { border: 1px solid #bbbbbb; border-radius: 3px; padding: 0 4px; font-size: 12px; }
[hidden] { display: none !important; }
.caption { position: fixed; top: 84px; left: 0; right: 0; height: 236px; box-sizing: border-box;
  z-index: 2; overflow: auto; padding: 4px 16px; background: #fafafa; font-size: 14px;
  border-bottom: 1px solid #dddddd; }
.caption h2 { font-size: 15px; margin: 4px 0; }
.caption p { margin: 4px 0; max-width: 70em; }
.caption table { border-collapse: collapse; margin: 6px 0; font-size: 13px; }
.caption th, .caption td { border: 1px solid #d0d0d0; padding: 2px 8px; text-align: left; }
.caption td.num { text-align: right; font-variant-numeric: tabular-nums; }
.caption .skip { color: #888888; }
main { position: relative; margin-top: 328px; padding: 0 16px 16px 16px; width: max-content; }
.picture { display: block; background: #ffffff; border: 1px solid #e0e0e0; }
/* Each frame's marks lie over the one drawing of the graph, at the same place. */
.marks { position: absolute; top: 1px; left: 17px; pointer-events: none; }
.marks .done-box, .marks .pending-box, .marks .none-box { mix-blend-mode: multiply; }
.marks .current { scroll-margin: 340px 48px 48px 48px; }
"""

SCRIPT: Final = """\
(function () {
  "use strict";
  var frames = document.querySelectorAll("[data-frame]");
  var prev = document.getElementById("prev");
  var next = document.getElementById("next");
  var position = document.getElementById("position");
  var current = 0;
  function show(k) {
    frames[current].hidden = true;
    current = Math.max(0, Math.min(frames.length - 1, k));
    frames[current].hidden = false;
    // The view stays where it is, unless the node visited now is out of sight.
    var mark = frames[current].querySelector(".current");
    if (mark !== null) {
      mark.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
    position.textContent = "frame " + current + " of " + (frames.length - 1);
    prev.disabled = current === 0;
    next.disabled = current === frames.length - 1;
  }
  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (event.key === "ArrowRight") { show(current + 1); event.preventDefault(); }
    else if (event.key === "ArrowLeft") { show(current - 1); event.preventDefault(); }
    else if (event.key === "Home") { show(0); event.preventDefault(); }
    else if (event.key === "End") { show(frames.length - 1); event.preventDefault(); }
  });
  show(0);
})();
"""


class _Drawer:
    """Draws one sweep's graph and frames: the names, the layout and the SVG text."""

    def __init__(self, sweep: Sweep, commutative: frozenset[str]) -> None:
        self.sweep = sweep
        self.forward = sweep.mode != BACKWARD
        self.layout = _lay_out(sweep.nodes)
        self.nodes = sweep.nodes
        root = len(sweep.nodes) - 1
        self.numbered = [
            len(node.parents) > 1 and node.op not in commutative and node._op not in commutative
            for node in sweep.nodes
        ]
        self.kinds = [_kind(node, i, root, sweep) for i, node in enumerate(sweep.nodes)]
        self.sum_name = "tangent" if self.forward else "grad"

    # -- names ----------------------------------------------------------------------------------

    def operation(self, i: int) -> str:
        """What made node i: its op as micrograd draws it, or input / constant."""
        node = self.nodes[i]
        if node.op == "const":
            return "const"
        if not node.parents:
            return "input"
        return node._op or node.op

    def name(self, i: int) -> str:
        """The node's label, or else what made it."""
        node = self.nodes[i]
        if node.label:
            return node.label
        if node.op == "const":
            return f"{node.data:.{BOX_DIGITS}g}"
        return self.operation(i)

    def reference(self, i: int) -> str:
        """The node as the captions name it: ``[i] name`` (escaped HTML)."""
        return f'<span class="ref">[{i}] {_shown(_clipped(self.name(i), 40))}</span>'

    # -- the graph, drawn once ------------------------------------------------------------------

    def graph(self) -> str:
        """The SVG elements of the whole graph: edges under boxes, with local derivatives."""
        layout = self.layout
        out: list[str] = ['<g class="edges">']
        for i, node in enumerate(self.nodes):
            operands = len(node.parents)
            for operand, parent in enumerate(node.parents):
                j = self.sweep.index[parent]
                out.append(f'<path class="edge" d="{self._edge_path(j, i, operand)}"/>')
        out.append('</g><g class="boxes">')
        for i, node in enumerate(self.nodes):
            x, y, h = layout.x[i], layout.y[i], layout.height[i]
            full = _shown(self.name(i))
            out.append(f'<g class="node" data-node="{i}"><title>[{i}] {full}</title>')
            out.append(
                f'<rect class="box {self.kinds[i]}" x="{_px(x)}" y="{_px(y)}" '
                f'width="{_px(BOX_WIDTH)}" height="{_px(h)}" rx="5"/>'
            )
            labelled = bool(node.label) or not node.parents
            head = f"[{i}] {self.operation(i)}" if labelled else f"[{i}]"
            if self.kinds[i] == "output":
                head += " · output"
            elif self.kinds[i] == "seed":
                head += " · seed"
            out.append(self._text(x + 8, y + LINE, "head", _clipped(head, 28)))
            out.append(self._text(x + 8, y + 2 * LINE, "name", _clipped(self.name(i))))
            data = f"data {_number(node.data, BOX_DIGITS)}"
            out.append(self._text(x + 8, y + 3 * LINE, "data", data))
            out.append("</g>")
        out.append('</g><g class="partials">')
        for i, node in enumerate(self.nodes):
            operands = len(node.parents)
            for operand, partial in enumerate(node.partials):
                px, py = layout.port(i, operand, operands)
                label = f"∂ {_number(partial, BOX_DIGITS)}"
                if self.numbered[i]:
                    # Which operand the edge is, where the order matters (a - b, a / b).
                    label = f"#{operand + 1} {label}"
                out.append(self._text(px - 5, py - 2, "partial halo", label))
        out.append("</g>")
        return "".join(out)

    def _edge_path(self, parent: int, child: int, operand: int) -> str:
        x0, y0 = self.layout.exit(parent)
        x1, y1 = self.layout.port(child, operand, len(self.nodes[child].parents))
        bend = max(30.0, (x1 - x0) / 2)
        return (
            f"M{_px(x0)},{_px(y0)} C{_px(x0 + bend)},{_px(y0)} "
            f"{_px(x1 - bend)},{_px(y1)} {_px(x1)},{_px(y1)}"
        )

    def _label_point(self, parent: int, child: int, operand: int) -> tuple[float, float]:
        """Where an edge's label starts: just past the parent, on the side the edge leaves."""
        x0, y0 = self.layout.exit(parent)
        _, y1 = self.layout.port(child, operand, len(self.nodes[child].parents))
        # Above an edge that goes down or level, below one that goes up: clear of the curve.
        return x0 + 6, (y0 - 5 if y1 >= y0 else y0 + 12)

    @staticmethod
    def _text(x: float, y: float, cls: str, text: str) -> str:
        return f'<text class="{cls}" x="{_px(x)}" y="{_px(y)}">{_shown(text)}</text>'

    # -- one frame's highlights -----------------------------------------------------------------

    def under(self, k: int, sums: Sequence[float | None], visited: Sequence[bool]) -> str:
        """Frame k's tints, drawn under the graph: done, pending (backward), and untouched."""
        groups: dict[str, list[str]] = {}
        for i in range(len(self.nodes)):
            if visited[i]:
                state = "done" if sums[i] is not None else "none"
            elif sums[i] is not None:
                state = "done" if self.forward else "pending"
            else:
                continue
            # A <use> of the node's shape (in `shapes`): a tint costs a few bytes a frame.
            groups.setdefault(state, []).append(f'<use href="#box-{i}"/>')
        extra = " forward" if self.forward else ""
        return "".join(
            f'<g class="{state}-box{extra}">{"".join(uses)}</g>' for state, uses in groups.items()
        )

    def shapes(self) -> str:
        """Every node's box outline, by id, for the frames' tints to <use>."""
        layout = self.layout
        return "".join(
            f'<rect id="box-{i}" x="{_px(layout.x[i])}" y="{_px(layout.y[i])}" '
            f'width="{_px(BOX_WIDTH)}" height="{_px(layout.height[i])}" rx="5"/>'
            for i in range(len(self.nodes))
        )

    def over(self, k: int, sums: Sequence[float | None], visited: Sequence[bool]) -> str:
        """Frame k's marks over the graph: the sums so far and the current step."""
        layout = self.layout
        groups: dict[str, list[str]] = {}
        for i in range(len(self.nodes)):
            text = self._sum_text(i, sums[i], visited[i])
            if text is not None:
                cls, words = text
                x, y = _px(layout.x[i] + 8), _px(layout.y[i] + 4 * LINE)
                groups.setdefault(cls, []).append(
                    f'<text x="{x}" y="{y}" data-node="{i}">{_shown(words)}</text>'
                )
        out = [f'<g class="{cls}">{"".join(texts)}</g>' for cls, texts in groups.items()]
        if k > 0:
            out.extend(self._current(self.sweep.frames[k - 1]))
        return "".join(out)

    def _sum_text(self, i: int, value: float | None, visited: bool) -> tuple[str, str] | None:
        if self.forward:
            if value is not None:
                return "sum forward", f"tangent {_number(value, BOX_DIGITS)}"
            if visited:
                return "sum none", "tangent 0 (no path)"
            return None
        if value is None:
            return None
        if visited:
            return "sum done", f"grad {_number(value, BOX_DIGITS)}"
        return "sum pending", f"grad so far {_number(value, BOX_DIGITS)}"

    def _current(self, frame: Frame) -> list[str]:
        layout = self.layout
        i = frame.node
        node = self.nodes[i]
        out: list[str] = []
        by_operand = {step.operand: step for step in frame.steps}
        for operand, parent in enumerate(node.parents):
            j = self.sweep.index[parent]
            step = by_operand.get(operand)
            cls = "active" if step is not None else "skipped"
            out.append(f'<path class="{cls}" d="{self._edge_path(j, i, operand)}"/>')
        seen: dict[int, int] = {}
        for step in frame.steps:
            mx, my = self._label_point(step.parent, step.child, step.operand)
            # a * a: two steps leave the same parent; stack their labels.
            nth = seen[step.parent] = seen.get(step.parent, -1) + 1
            my -= 12 * nth
            words = (
                f"{_number(step.partial, BOX_DIGITS)} × {_number(step.upstream, BOX_DIGITS)}"
                f" = {_number(step.contribution, BOX_DIGITS)}"
            )
            out.append(
                f'<text class="flow halo" x="{_px(mx)}" y="{_px(my)}">{_shown(words)}</text>'
            )
        out.append(
            f'<rect class="current" x="{_px(layout.x[i] - 3)}" y="{_px(layout.y[i] - 3)}" '
            f'width="{_px(BOX_WIDTH + 6)}" height="{_px(layout.height[i] + 6)}" rx="7"/>'
        )
        return out

    # -- captions -------------------------------------------------------------------------------

    def summary(self, k: int) -> str:
        """Frame k in one line (plain text): what a slide of it is about."""
        if k == 0:
            return "frame 0: the forward values"
        frame = self.sweep.frames[k - 1]
        n = len(frame.steps)
        madds = f"{n} multiply-add{'s' if n != 1 else ''}"
        value = 0.0 if frame.upstream is None else frame.upstream
        what = "tangent" if self.forward else "grad"
        name = _clipped(self.name(frame.node), 40)
        return (
            f"step {k} of {len(self.nodes)}: [{frame.node}] {name}, "
            f"{what} {_number(value, TABLE_DIGITS)}, {madds}"
        )

    def caption(self, k: int, sums: Sequence[float | None]) -> str:
        """The text beside frame k: what happens at this step, with its numbers."""
        if k == 0:
            return self._first_caption(sums)
        frame = self.sweep.frames[k - 1]
        parts = [
            self._backward_caption(frame) if not self.forward else self._forward_caption(frame)
        ]
        if k == len(self.sweep.frames):
            parts.append(self._last_caption())
        return "".join(parts)

    def _first_caption(self, sums: Sequence[float | None]) -> str:
        sweep = self.sweep
        n = len(sweep.frames)
        seed = sweep.seed
        seed_value = sums[seed]
        if self.forward:
            intro = (
                f"<p>The forward pass has run: every node holds its value (its <i>data</i>). "
                f"The forward sweep visits the {n} nodes in the same order, inputs first, and "
                f"gives each one its tangent d(node)/d({_shown(self.name(seed))}): the sum over "
                f"its inputs of local derivative × the input's tangent. It starts from the seed "
                f'{self.reference(seed)} with tangent <b class="upstream" '
                f'title="{_exact(seed_value)}">{_number(seed_value, TABLE_DIGITS)}</b>.</p>'
            )
        else:
            intro = (
                f"<p>The forward pass has run: every node holds its value (its <i>data</i>) and "
                f"the local derivative of itself with respect to each input (the ∂ on each "
                f"edge). The backward sweep visits the {n} nodes from the output back, each "
                f"after every node that uses it, and pushes its gradient to its inputs. It "
                f'starts at the output {self.reference(seed)} with the seed <b class="upstream" '
                f'title="{_exact(seed_value)}">{_number(seed_value, TABLE_DIGITS)}</b>.</p>'
            )
        rows = []
        for i, node in enumerate(sweep.nodes):
            rows.append(
                f'<tr data-node="{i}"><td>{self.reference(i)}</td>'
                f"<td>{_shown(self.operation(i))}</td>"
                f'<td class="num data" title="{_exact(node.data)}">'
                f"{_number(node.data, TABLE_DIGITS)}</td></tr>"
            )
        table = (
            "<table><thead><tr><th>node</th><th>made by</th><th>data</th></tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table>"
        )
        return f"<h2>Frame 0: the forward values</h2>{intro}{table}"

    def _cell(self, x: float | None, cls: str) -> str:
        return f'<td class="num {cls}" title="{_exact(x)}">{_number(x, TABLE_DIGITS)}</td>'

    def _backward_caption(self, frame: Frame) -> str:
        i = frame.node
        k = len(self.nodes) - i
        g = f'<b class="upstream" title="{_exact(frame.upstream)}">'
        g += f"{_number(frame.upstream, TABLE_DIGITS)}</b>"
        head = f"<h2>Step {k} of {len(self.nodes)}: {self.reference(i)}</h2>"
        if i == self.sweep.seed:
            said = f"<p>The output: its gradient d(output)/d(output) is the seed, grad = {g}.</p>"
        else:
            said = (
                "<p>Every node that uses it has been visited, so its gradient is complete: "
                f"grad = {g}.</p>"
            )
        if not frame.steps:
            return head + said + "<p>It is a leaf: it has no inputs to pass anything to.</p>"
        said += (
            "<p>It passes its gradient back along each input edge: the contribution is the "
            "edge's local derivative ∂ × its upstream gradient, added to the input's "
            f"gradient. {len(frame.steps)} multiply-add{'s' if len(frame.steps) != 1 else ''}."
            "</p>"
        )
        rows = []
        for step in frame.steps:
            rows.append(
                f'<tr class="step" data-operand="{step.operand}" data-parent="{step.parent}">'
                f"<td>{step.operand + 1}</td><td>{self.reference(step.parent)}</td>"
                + self._cell(step.partial, "partial")
                + self._cell(step.upstream, "incoming")
                + self._cell(step.contribution, "contribution")
                + self._cell(step.total, "total")
                + "</tr>"
            )
        table = (
            "<table><thead><tr><th>operand</th><th>input</th><th>local derivative ∂</th>"
            "<th>× upstream grad</th><th>= contribution</th><th>input's grad so far</th>"
            "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        )
        return head + said + table

    def _forward_caption(self, frame: Frame) -> str:
        i = frame.node
        node = self.nodes[i]
        head = f"<h2>Step {i + 1} of {len(self.nodes)}: {self.reference(i)}</h2>"
        # A node that depends on no seed has tangent 0, which the engine does not store.
        shown = "0" if frame.upstream is None else _number(frame.upstream, TABLE_DIGITS)
        tangent = f'<b class="upstream" title="{_exact(frame.upstream)}">{shown}</b>'
        if i == self.sweep.seed:
            return head + f"<p>The seed: its tangent is given, tangent = {tangent}.</p>"
        if not node.parents:
            return head + (
                f"<p>An input other than the seed: tangent = {tangent}, and the engine stores "
                "none.</p>"
            )
        by_operand = {step.operand: step for step in frame.steps}
        rows = []
        for operand, parent in enumerate(node.parents):
            j = self.sweep.index[parent]
            step = by_operand.get(operand)
            start = f'<tr class="{"step" if step else "skip"}" data-operand="{operand}" '
            start += f'data-parent="{j}"><td>{operand + 1}</td><td>{self.reference(j)}</td>'
            if step is None:
                rows.append(
                    start + '<td colspan="4" class="skip">no tangent (does not depend on the '
                    "seed): skipped, no multiply-add</td></tr>"
                )
                continue
            rows.append(
                start
                + self._cell(step.upstream, "incoming")
                + self._cell(step.partial, "partial")
                + self._cell(step.contribution, "contribution")
                + self._cell(step.total, "total")
                + "</tr>"
            )
        table = (
            "<table><thead><tr><th>operand</th><th>input</th><th>input's tangent</th>"
            "<th>× local derivative ∂</th><th>= contribution</th><th>tangent so far</th>"
            "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        )
        if frame.steps:
            said = (
                "<p>Its tangent is the sum over its inputs of the input's tangent × the edge's "
                f"local derivative ∂: tangent = {tangent}. {len(frame.steps)} "
                f"multiply-add{'s' if len(frame.steps) != 1 else ''}.</p>"
            )
        else:
            said = (
                "<p>None of its inputs has a tangent: it does not depend on the seed, "
                f"tangent = {tangent}, and the engine stores none.</p>"
            )
        return head + said + table

    def _last_caption(self) -> str:
        sweep = self.sweep
        madds = sweep.multiply_adds
        edges = sum(len(node.parents) for node in sweep.nodes)
        if self.forward:
            root = len(sweep.nodes) - 1
            value = sweep.results[root]
            shown = 0.0 if value is None else value
            return (
                f"<p><b>Done.</b> {madds} multiply-adds, one for each edge whose input has a "
                f"tangent (the sweep looked at all {edges} edges). The output's tangent is "
                f"d({_shown(self.name(root))})/d({_shown(self.name(sweep.seed))}) = "
                f'<b class="result" title="{_exact(shown)}">{_number(shown, TABLE_DIGITS)}</b>: '
                "one column of the Jacobian. Another input needs another forward sweep.</p>"
            )
        rows = []
        for i, node in enumerate(sweep.nodes):
            if not node.parents and node.op != "const":
                rows.append(
                    f'<tr data-node="{i}"><td>{self.reference(i)}</td>'
                    + self._cell(sweep.results[i], "result")
                    + "</tr>"
                )
        table = (
            "<table><thead><tr><th>input</th><th>gradient</th></tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table>"
            if rows
            else ""
        )
        return (
            f"<p><b>Done.</b> {madds} multiply-adds, one per edge: the gradient of the output "
            f"with respect to every node, from one sweep.</p>{table}"
        )


def _kind(node: Value, i: int, root: int, sweep: Sweep) -> str:
    """What a node is, for its border: output, seed (of a forward sweep), constant, input, value."""
    if i == root:
        return "output"
    if sweep.mode != BACKWARD and i == sweep.seed:
        return "seed"
    if node.op == "const":
        return "constant"
    if not node.parents:
        return "input"
    return "value"


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------


class SweepPage:
    """A sweep as a self-contained HTML page, one frame per node; Jupyter shows it inline.

    ``html`` is the page (no network, no external script or font); ``frames`` counts its
    frames, frame 0 being the forward values; `frame_svg` draws one frame as a standalone SVG.
    """

    def __init__(self, sweep: Sweep, title: str, commutative: frozenset[str]) -> None:
        self.sweep = sweep
        self.title = title
        self._drawer = _Drawer(sweep, commutative)
        self._sums = list(sweep.sums())
        visited = [False] * len(sweep.nodes)
        self._visited: list[tuple[bool, ...]] = [tuple(visited)]
        for frame in sweep.frames:
            visited[frame.node] = True
            self._visited.append(tuple(visited))
        self.html = self._page()

    @property
    def frames(self) -> int:
        """How many frames the page has: one per node, and frame 0."""
        return len(self.sweep.frames) + 1

    def _svg_open(self, extra: str = "", attributes: str = "") -> str:
        layout = self._drawer.layout
        w, h = _px(layout.width), _px(layout.total_height)
        return (
            f'<svg {attributes}class="sweep{extra}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
            'xmlns="http://www.w3.org/2000/svg" role="img">'
        )

    def frame_svg(self, k: int) -> str:
        """Frame k as a standalone SVG file's text (for slides): the graph and its marks."""
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < self.frames:
            last = self.frames - 1
            msg = f"SweepPage.frame_svg() needs a frame number from 0 to {last}, got {k!r}"
            raise ValueError(msg)
        layout = self._drawer.layout
        w, h = _px(layout.width), _px(layout.total_height + SLIDE_HEADING)
        heading = f"{self.title} · {self._drawer.summary(k)}"
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg class="sweep" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
            'xmlns="http://www.w3.org/2000/svg" role="img">'
            f"<title>{_shown(heading)}</title>"
            f"<style>{STYLE}</style>"
            '<rect width="100%" height="100%" fill="#ffffff"/>'
            f'<text class="heading" x="{_px(MARGIN)}" y="20">{_shown(heading)}</text>'
            # A slide says which step it shows; the graph sits below that line.
            f'<g transform="translate(0,{_px(SLIDE_HEADING)})">'
            f"<defs>{self._drawer.shapes()}</defs>"
            + self._drawer.under(k, self._sums[k], self._visited[k])
            + f'<g class="sweep">{self._drawer.graph()}</g>'
            + self._drawer.over(k, self._sums[k], self._visited[k])
            + "</g></svg>\n"
        )

    def _page(self) -> str:
        drawer = self._drawer
        sweep = self.sweep
        edges = sum(len(node.parents) for node in sweep.nodes)
        if drawer.forward:
            what = (
                f"Forward accumulation from {_shown(drawer.name(sweep.seed))}: tangents flow "
                "from the inputs to the output."
            )
        else:
            what = "Reverse accumulation: gradients flow from the output back to the inputs."
        summary = (
            f"{len(sweep.nodes)} Values, {edges} edges; this sweep does {sweep.multiply_adds} "
            "multiply-adds (local derivative × upstream)."
        )
        frames = []
        for k in range(self.frames):
            hidden = "" if k == 0 else " hidden"
            node = f' data-node="{sweep.frames[k - 1].node}"' if k > 0 else ""
            frames.append(
                f'<section class="frame" data-frame="{k}"{node}{hidden}>'
                f'<div class="caption">{drawer.caption(k, self._sums[k])}</div>'
                + self._svg_open(" marks")
                + drawer.under(k, self._sums[k], self._visited[k])
                + drawer.over(k, self._sums[k], self._visited[k])
                + "</svg></section>"
            )
        # The graph, drawn once under whichever frame is shown; each frame adds its marks.
        picture = (
            self._svg_open(" picture", 'id="graph" ')
            + f"<defs>{drawer.shapes()}</defs>{drawer.graph()}</svg>"
        )
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_shown(self.title)}</title>"
            f"<style>{PAGE_STYLE}{STYLE}</style></head><body>"
            f"<header><h1>{_shown(self.title)}</h1><p>{what} {summary}</p>"
            '<div class="controls"><button id="prev" type="button">◀ previous</button>'
            '<span id="position" aria-live="polite">frame 0 of '
            f"{self.frames - 1}</span>"
            '<button id="next" type="button">next ▶</button>'
            "<span>or the <kbd>←</kbd> <kbd>→</kbd> keys</span></div></header>"
            f"<main>{picture}{''.join(frames)}</main>"
            f"<script>{SCRIPT}</script></body></html>\n"
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the page to path atomically and return the path."""
        target = Path(path)
        write_atomically(target, self.html.encode("utf-8"))
        return target

    def save_frames(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write every frame as ``frame-000.svg``, ``frame-001.svg``, ... into folder."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        digits = max(3, len(str(self.frames - 1)))
        written = []
        for k in range(self.frames):
            path = out / f"frame-{k:0{digits}d}.svg"
            write_atomically(path, self.frame_svg(k).encode("utf-8"))
            written.append(path)
        return written

    def _repr_html_(self) -> str:
        """What Jupyter shows: the page in an iframe of its own (its ids and keys stay apart)."""
        height = min(900, int(self._drawer.layout.total_height) + 360)
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
            f'style="width: 100%; height: {height}px; border: 1px solid #dddddd;" '
            f'title="{_shown(self.title)}"></iframe>'
        )

    def __repr__(self) -> str:
        return f"<SweepPage {self.sweep.mode}: {self.frames} frames, {self.title!r}>"
