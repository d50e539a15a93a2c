"""What every demo shares: its command line, output folder, progress bars, plots and drawings.

The demos' optional dependencies (matplotlib, tqdm, scikit-learn) are imported here, lazily, so
that a missing one stops the demo with a message naming the `demos` extra. Pictures record what
they show (a PNG's fingerprint, an SVG's DOT digest) so tests can tell a stale one. No calculus.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import re
import struct
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parent.parent
# Git-ignored (/out/ in .gitignore): pictures are products of a run, not sources.
OUT_ROOT = REPO_ROOT / "out"
FAST_ENV = "AUTOGRAD_LITE_FAST"
INSTALL_HINT = "pip install -e '.[demos]'  (or: make demo, which installs it)"
INSTALL_DOT = (
    "install Graphviz (sudo apt-get install graphviz, brew install graphviz, "
    "or conda install -c conda-forge graphviz)"
)
DOT_TIMEOUT = 120  # seconds: dot's layout time depends on the graph's shape, not only its size
# What a picture records about where it came from (PNG metadata, SVG comment).
SOURCE_NOTE = "autograd_lite demos (python demos/make_docs_pictures.py remakes the docs' pictures)"
FINGERPRINT_KEY = "Fingerprint"
SVG_STAMP = "autograd_lite: drawn by dot from DOT text with sha256"

T = TypeVar("T")
_TOLD_ABOUT_DOT: list[bool] = []  # the missing `dot` is explained once per run, not per graph


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
    """Write a matplotlib figure stamped with what it shows, close it, and say where it went."""
    metadata = (
        {"Source": SOURCE_NOTE, FINGERPRINT_KEY: fingerprint(fig)}
        if path.suffix == ".png"
        else None
    )
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata=metadata)
    pyplot().close(fig)
    print(f"  wrote {shown(path)}")
    return path


def fingerprint(fig: Any) -> str:
    """A digest of what a figure says: its words and the numbers it was given to plot.

    Lines, scatter points and images count, and every title, label, tick scale and legend
    entry; geometry that matplotlib derives itself (contour paths, tick positions, layout) does
    not, so the digest is the same under any matplotlib version. Numbers are rounded to 6
    significant digits: the last bits of a float may differ between C libraries.
    """
    said: list[object] = [getattr(fig, "_suptitle", None) and fig._suptitle.get_text()]
    for ax in fig.axes:
        said.append([ax.get_title(), ax.get_xlabel(), ax.get_ylabel()])
        said.append([ax.get_xscale(), ax.get_yscale()])
        said.append([text.get_text() for text in ax.texts])
        legend = ax.get_legend()
        said.append([t.get_text() for t in legend.get_texts()] if legend is not None else [])
        for line in ax.get_lines():
            said.append([line.get_label(), _rounded(line.get_xydata())])
        for collection in ax.collections:
            offsets = collection.get_offsets() if hasattr(collection, "get_offsets") else []
            said.append([type(collection).__name__, _rounded(offsets)])
        for image in ax.get_images():
            said.append(["image", _rounded(image.get_array())])
    text = json.dumps(said, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _rounded(array: Any) -> Any:
    """Nested lists of numbers rounded to 6 significant digits (strings, for NaN and ±inf)."""
    if hasattr(array, "tolist"):
        array = array.tolist()
    if isinstance(array, list | tuple):
        return [_rounded(x) for x in array]
    if isinstance(array, float | int):
        return f"{float(array):.6g}"
    return str(array)


def png_text(path: Path) -> dict[str, str]:
    """The tEXt entries of a PNG file (where matplotlib writes its metadata)."""
    data = path.read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        msg = f"{shown(path)} is not a PNG file"
        raise ValueError(msg)
    entries: dict[str, str] = {}
    at = 8
    while at + 8 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        body = data[at + 8 : at + 8 + length]
        if kind == b"tEXt" and b"\x00" in body:
            key, _, value = body.partition(b"\x00")
            entries[key.decode("latin-1")] = value.decode("latin-1")
        if kind == b"IEND":
            break
        at += 12 + length
    return entries


def shown(path: Path) -> str:
    """A path as the reader would type it: relative to the repo when it lies inside."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def render_graph(root: Any, path: Path, **options: Any) -> Path:
    """Draw root's graph: its DOT text at path.dot and, with Graphviz's `dot`, a path.svg.

    Options go to `autograd_lite.viz.to_dot` (for example ``params=model``). The SVG records
    the digest of the DOT text it was drawn from, so a test can tell whether it is stale.
    Without `dot`, only the DOT text is written, and the message says how to get pictures.
    """
    from autograd_lite import viz

    text = viz.to_dot(root, **options)
    dot_path = path.with_suffix(".dot")
    dot_path.write_text(text, encoding="utf-8")
    try:
        svg = draw_svg(text)
    except OSError as exc:  # no `dot` on PATH, or one that cannot be run
        if not _TOLD_ABOUT_DOT:
            problem = (
                "is missing"
                if isinstance(exc, FileNotFoundError)
                else f"could not be run ({exc.strerror or type(exc).__name__})"
            )
            print(
                f"  Graphviz's `dot` program {problem}, so graphs are written as DOT text only.\n"
                f"  For pictures: {INSTALL_DOT}, then run this again\n"
                f"  (or draw one yourself: dot -Tsvg {shown(dot_path)} "
                f"-o {shown(path.with_suffix('.svg'))})."
            )
            _TOLD_ABOUT_DOT.append(True)
        print(f"  wrote {shown(dot_path)}")
        return dot_path
    svg_path = path.with_suffix(".svg")
    svg_path.write_text(svg, encoding="utf-8")
    print(f"  wrote {shown(svg_path)} (and its DOT text, {dot_path.name})")
    return svg_path


def draw_svg(dot_text: str) -> str:
    """SVG drawn by Graphviz's `dot` from DOT text, stamped with the text's digest.

    Raises FileNotFoundError when `dot` is not installed, another OSError when it cannot be run.
    """
    done = subprocess.run(
        ["dot", "-Tsvg"],
        input=dot_text,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=DOT_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        msg = f"dot could not draw the graph: {done.stderr.strip()}"
        raise RuntimeError(msg)
    stamp = f"<!-- {SVG_STAMP} {dot_digest(dot_text)} -->\n"
    svg = done.stdout
    at = svg.find("<svg")
    return svg[:at] + stamp + svg[at:] if at >= 0 else svg


def dot_digest(dot_text: str) -> str:
    """The sha256 of DOT text, as recorded in the SVG drawn from it."""
    return hashlib.sha256(dot_text.encode("utf-8")).hexdigest()


def svg_stamp(svg_text: str) -> str | None:
    """The digest of the DOT text an SVG was drawn from (None: not drawn by render_graph)."""
    found = re.search(rf"<!-- {re.escape(SVG_STAMP)} ([0-9a-f]{{64}}) -->", svg_text)
    return found.group(1) if found else None


# The learning path, in order: what to read or run after `make demo`. An entry whose path does not
# exist (yet) is left out: the notebooks join once demos/notebooks/ is there.
LEARNING_PATH: tuple[tuple[str, str, str], ...] = (
    ("read", "docs/how-backprop-works.md", "how backward() got those gradients, with pictures"),
    ("run", "demos/single_neuron.py", "one neuron's backward pass, every number printed"),
    ("run", "demos/mazur.py", "Matt Mazur's step-by-step example, number by number"),
    ("run", "demos/backprop_by_hand.py", "the textbook's layer-by-layer δ beside backward()"),
    ("run", "demos/momentum.py", "plain descent, momentum and Adam in a narrow valley"),
    ("open", "demos/notebooks/", "the notebooks: the same tour, cell by cell"),
    ("build", "docs/build-your-own.md", "your own engine in about 100 lines, with a checker"),
)


def next_steps() -> str:
    """What to read or run next, as lines to print (only the steps whose files exist)."""
    lines = ["What next:"]
    for verb, path, why in LEARNING_PATH:
        if not (REPO_ROOT / path).exists():
            continue
        command = f"python {path}" if verb == "run" else path
        lines.append(f"  {verb:<5} {command:<34} {why}")
    lines.append("  (the other demos: python demos/digits.py, regression.py, newton.py)")
    return "\n".join(lines)


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
