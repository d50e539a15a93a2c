"""What every demo shares: its command line, its output folder, progress bars and plotting.

The demos' optional dependencies (matplotlib, tqdm, scikit-learn, graphviz) are imported here,
lazily, so that a missing one stops the demo with a message naming the `demos` extra instead of
a traceback. Nothing here knows any calculus.
"""

from __future__ import annotations

import argparse
import importlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parent.parent
# Git-ignored (/out/ in .gitignore): pictures are products of a run, not sources.
OUT_ROOT = REPO_ROOT / "out"
FAST_ENV = "AUTOGRAD_LITE_FAST"
INSTALL_HINT = "pip install -e '.[demos]'  (or: make demo, which installs it)"

T = TypeVar("T")


@dataclass(frozen=True)
class Options:
    """How a demo was asked to run."""

    fast: bool
    out: Path


def parse_options(name: str, description: str, argv: Sequence[str] | None) -> Options:
    """Read --fast and --out (or AUTOGRAD_LITE_FAST=1); create out/<name>/ and return both."""
    parser = argparse.ArgumentParser(prog=f"demos/{name}.py", description=description)
    parser.add_argument(
        "--fast",
        action="store_true",
        help=f"fewer steps, for tests (also: {FAST_ENV}=1)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT_ROOT / name,
        help=f"folder for the pictures (default: out/{name}/ at the repo root)",
    )
    args = parser.parse_args(argv)
    fast = bool(args.fast) or os.environ.get(FAST_ENV, "") not in ("", "0")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return Options(fast=fast, out=out)


def require(module: str, purpose: str) -> Any:
    """Import an optional dependency, or exit with a message saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        msg = f"this demo needs {top} ({purpose}); it comes with the `demos` extra: {INSTALL_HINT}"
        raise SystemExit(msg) from None


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend: files only, no display needed."""
    matplotlib = require("matplotlib", "plots")
    matplotlib.use("Agg")
    return require("matplotlib.pyplot", "plots")


def progress(iterable: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """A progress bar on a terminal; silent when output is piped or captured (CI logs)."""
    tqdm = require("tqdm", "progress bars").tqdm
    # disable=None: tqdm turns itself off when stderr is not a terminal.
    bar: Iterator[T] = tqdm(iterable, desc=desc, total=total, disable=None, leave=False)
    return bar


def counter(total: int, desc: str) -> Any:
    """A progress bar to .update() by hand, for loops that are not a for over an iterable."""
    tqdm = require("tqdm", "progress bars").tqdm
    return tqdm(total=total, desc=desc, disable=None, leave=False)


def save_figure(fig: Any, path: Path) -> Path:
    """Write a matplotlib figure, close it, and say where it went."""
    fig.savefig(path, dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    print(f"  wrote {shown(path)}")
    return path


def shown(path: Path) -> str:
    """A path as the reader would type it: relative to the repo when it lies inside."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def render_graph(root: Any, path: Path, **options: Any) -> Path:
    """Draw root's graph as SVG at path; without Graphviz's `dot` program, write DOT text.

    Options go to `autograd_lite.viz.render` (for example ``params=model``). The DOT fallback
    can be drawn later by any DOT viewer, or by `dot -Tsvg file.dot`.
    """
    require("graphviz", "graph drawings")
    from autograd_lite import viz

    try:
        written = viz.render(root, path.with_suffix(".svg"), **options)
    except viz.GraphvizNotFoundError:
        print("  Graphviz's `dot` program is missing (apt install graphviz): writing DOT text")
        written = viz.render(root, path.with_suffix(".dot"), **options)
    print(f"  wrote {shown(written)}")
    return written


def op_label(node: Any) -> str:
    """The short name of the operation that made a node ("*", "tanh"), for printing.

    The one place the demos read it: the engine's naming of operations is changing (``op``
    becomes "mul", ``_op`` micrograd's display string "*").
    """
    label = getattr(node, "_op", None)
    return label if isinstance(label, str) else str(node.op)


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    """Rows as a plain-text table with right-aligned columns."""
    cells = [[str(h) for h in header], *[[_cell(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) >= 1e-4 or value == 0.0 else f"{value:.3e}"
    return str(value)
