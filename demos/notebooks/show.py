"""What the notebooks use to show things: graphs and plots that `run.py` can compare.

`graph(root)` shows a computation graph as a picture where Graphviz's `dot` is installed, and as
DOT text (saying how to get pictures) where it is not; either way the output carries the exact
DOT text. `figure(fig)` shows a matplotlib figure as a PNG stamped with a fingerprint of what it
shows (its words and numbers, as the docs' pictures are); `svg(text)` shows SVG text as it is.
No calculus here.
"""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path
from typing import Any, Unpack

DEMOS = Path(__file__).resolve().parent.parent
if str(DEMOS) not in sys.path:
    sys.path.insert(0, str(DEMOS))  # the demos' shared helpers: demos/ is not a package

import _common  # noqa: E402

from autograd_lite import Value  # noqa: E402
from autograd_lite.viz import DrawOptions, to_dot  # noqa: E402

__all__ = ["DOT_MIME", "NO_DOT", "Graph", "Picture", "Svg", "figure", "graph", "svg"]

# The registered media type of DOT text: where run.py finds a graph's exact text in an output.
DOT_MIME = "text/vnd.graphviz"
# The first line of a graph shown as text (a DOT comment, so the text stays valid DOT).
NO_DOT = (
    "// Graphviz's `dot` program is not installed, so this graph is shown as DOT text. For a "
    f"picture, {_common.INSTALL_DOT}, and run the notebook again (or paste the text into any "
    "Graphviz viewer)."
)
PNG_DPI = 100
SOURCE_NOTE = (
    "autograd_lite notebooks (python demos/notebooks/run.py --write remakes their outputs)"
)


class Graph:
    """A computation graph as a notebook shows it: an SVG picture, or DOT text without `dot`."""

    def __init__(self, dot_text: str, svg: str | None) -> None:
        self.dot_text = dot_text
        self.svg = svg  # drawn by `dot`, stamped with the digest of dot_text; None without it

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        """Jupyter's view: the picture when there is one, with the DOT text beside it."""
        if self.svg is None:
            return {"text/plain": f"{NO_DOT}\n{self.dot_text}", DOT_MIME: self.dot_text}
        return {"image/svg+xml": self.svg, "text/plain": self.dot_text, DOT_MIME: self.dot_text}

    def __repr__(self) -> str:
        return self.dot_text


def graph(root: Value, **options: Unpack[DrawOptions]) -> Graph:
    """root's computation graph, drawn by `dot` when it is installed (options: `to_dot`'s)."""
    text = to_dot(root, **options)
    try:
        svg: str | None = _common.draw_svg(text)
    except FileNotFoundError:  # no `dot`: the text alone, which says how to get pictures
        svg = None
    return Graph(text, svg)


class Svg:
    """An SVG picture shown as written (IPython's own SVG re-serializes it, differently in
    different Pythons)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        """Jupyter's view: the SVG text itself."""
        return {"image/svg+xml": self.text, "text/plain": "<SVG picture>"}

    def __repr__(self) -> str:
        return "<SVG picture>"


def svg(text: str) -> Svg:
    """SVG text (a sweep page's frame, say), to show as a picture."""
    return Svg(text)


class Picture:
    """A matplotlib figure as PNG bytes that record a fingerprint of what the figure shows."""

    def __init__(self, png: bytes, title: str) -> None:
        self.png = png
        self.title = title

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        """Jupyter's view: the PNG, base64-encoded as notebooks store images."""
        return {
            "image/png": base64.b64encode(self.png).decode("ascii"),
            "text/plain": f"<picture: {self.title}>",
        }

    def __repr__(self) -> str:
        return f"<picture: {self.title}>"


def figure(fig: Any) -> Picture:
    """The figure as a stamped PNG; the figure is closed (so Jupyter does not show it twice)."""
    import matplotlib.pyplot as plt

    title = fig._suptitle.get_text() if fig._suptitle is not None else ""
    if not title and fig.axes:
        title = fig.axes[0].get_title()
    metadata = {"Source": SOURCE_NOTE, _common.FINGERPRINT_KEY: _common.fingerprint(fig)}
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PNG_DPI, bbox_inches="tight", metadata=metadata)
    plt.close(fig)
    return Picture(buffer.getvalue(), title)
