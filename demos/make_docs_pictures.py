"""Make the pictures in docs/images/ (for docs/how-backprop-works.md and the README), or check them.

Every picture is drawn by a demo, or from the docs page's own worked example, so it shows what
the text beside it says. A graph is committed twice: its DOT text (``.dot``, exact and
diffable, made without any tools) and the SVG that Graphviz's `dot` draws from it, which
records the DOT text's digest. A plot is a PNG that records a fingerprint of what it shows:
its words and the numbers it was given (see `_common.fingerprint`).

    python demos/make_docs_pictures.py            rewrite docs/images/
    python demos/make_docs_pictures.py --check    make them afresh in a temporary folder and
                                                  compare: exit status 1 if any is stale

The check compares what is the same on every machine: the DOT text, the digest each SVG
records, each PNG's fingerprint. Where the drawing tools are the versions that drew the
committed files (`dot` for SVG, matplotlib for PNG), it also compares the files byte for byte.
Without `dot`, graphs are written as DOT text only, and the message says how to get pictures.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mazur
import momentum
import moons
from _common import (
    FINGERPRINT_KEY,
    INSTALL_DOT,
    REPO_ROOT,
    dot_digest,
    png_text,
    render_graph,
    shown,
    svg_stamp,
)

DOCS_IMAGES = REPO_ROOT / "docs" / "images"
DOC = REPO_ROOT / "docs" / "how-backprop-works.md"
COMMAND = "python demos/make_docs_pictures.py"


# ---------------------------------------------------------------------------------------------
# The pictures: each job makes some of them into a folder, and names the files it makes
# ---------------------------------------------------------------------------------------------


def neuron_pictures(out: Path) -> None:
    """The docs page's neuron, from its own worked example: after forward, then after backward."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    example = next(b for b in blocks if "E.backward()" in b)
    names: dict[str, Any] = {}
    exec(compile(example, str(DOC), "exec"), names)
    error, net, o = names["E"], names["net"], names["o"]
    params = {name: names[name] for name in ("w1", "w2", "b")}
    for node, label in ((net, "net"), (o, "o"), (error, "E")):
        node.label = label
    error.zero_grad()  # the example ran backward(): clear the graph for the forward picture
    render_graph(error, out / "neuron_forward", params=params)
    error.backward()
    render_graph(error, out / "neuron_backward", params=params)


def demo_pictures(
    main: Callable[[Sequence[str]], object], keep: dict[str, str]
) -> Callable[[Path], None]:
    """A job that runs a demo in a scratch folder and keeps some of its pictures, renamed."""

    def job(out: Path) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            main(["--out", scratch])
            for made, name in keep.items():
                suffixes = (".png",) if made.endswith(".png") else (".dot", ".svg")
                for suffix in suffixes:
                    source = Path(scratch, made).with_suffix(suffix)
                    if source.exists():  # no .svg without `dot`
                        shutil.copyfile(source, (out / name).with_suffix(suffix))

    return job


# name of each picture in docs/images/ (a graph: its .dot and .svg) -> the job that makes it
JOBS: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "neuron": (neuron_pictures, ("neuron_forward.svg", "neuron_backward.svg")),
    "mazur": (
        demo_pictures(
            mazur.main, {"network.svg": "mazur_network.svg", "error.png": "mazur_error.png"}
        ),
        ("mazur_network.svg", "mazur_error.png"),
    ),
    "momentum": (
        demo_pictures(
            momentum.main,
            {"optimizers.png": "momentum_optimizers.png", "rules.png": "momentum_rules.png"},
        ),
        ("momentum_optimizers.png", "momentum_rules.png"),
    ),
    "moons": (
        demo_pictures(moons.main, {"decision_boundary.png": "moons_decision_boundary.png"}),
        ("moons_decision_boundary.png",),
    ),
}


def picture_files() -> list[str]:
    """Every file the jobs make, graphs as their .dot and their .svg."""
    files = []
    for _, names in JOBS.values():
        for name in names:
            files += (
                [name] if name.endswith(".png") else [str(Path(name).with_suffix(".dot")), name]
            )
    return files


def make_all(out: Path) -> list[Path]:
    """Make every picture into out; return the files written (without `dot`: no .svg)."""
    out.mkdir(parents=True, exist_ok=True)
    for job, _ in JOBS.values():
        with contextlib.redirect_stdout(io.StringIO()):  # the demos' own printout
            job(out)
    return [out / name for name in picture_files() if (out / name).exists()]


# ---------------------------------------------------------------------------------------------
# Comparing fresh pictures with the committed ones
# ---------------------------------------------------------------------------------------------


@dataclass
class Comparison:
    """What a check found: stale pictures (problems), and what it could not compare (notes)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    compared_bytes: list[str] = field(default_factory=list)


def dot_version() -> str | None:
    """The installed Graphviz version ("2.43.0"), or None without `dot`."""
    try:
        done = subprocess.run(
            ["dot", "-V"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:  # missing, or not runnable
        return None
    found = re.search(r"version (\S+)", done.stderr + done.stdout)
    return found.group(1) if found else None


def svg_dot_version(svg: str) -> str | None:
    """The Graphviz version an SVG names as its maker."""
    found = re.search(r"Generated by graphviz version (\S+)", svg)
    return found.group(1) if found else None


def compare(fresh: Path, committed: Path) -> Comparison:
    """Compare the pictures made into fresh with those in committed."""
    result = Comparison()
    installed_dot = dot_version()
    for name in picture_files():
        old, new = committed / name, fresh / name
        if not old.exists():
            result.problems.append(f"docs/images/{name} is missing")
            continue
        if name.endswith(".dot"):
            if old.read_text(encoding="utf-8") != new.read_text(encoding="utf-8"):
                result.problems.append(f"docs/images/{name}: the graph the code draws has changed")
        elif name.endswith(".svg"):
            _compare_svg(name, old, new, installed_dot, committed, result)
        else:
            _compare_png(name, old, new, result)
    return result


def _compare_svg(
    name: str, old: Path, new: Path, installed_dot: str | None, committed: Path, result: Comparison
) -> None:
    svg = old.read_text(encoding="utf-8")
    source = committed / Path(name).with_suffix(".dot")
    if source.exists() and svg_stamp(svg) != dot_digest(source.read_text(encoding="utf-8")):
        result.problems.append(f"docs/images/{name} was not drawn from {source.name}")
    made_by = svg_dot_version(svg)
    if installed_dot is None:
        result.notes.append(f"{name}: not redrawn (no `dot` here; {INSTALL_DOT})")
    elif made_by != installed_dot:
        result.notes.append(
            f"{name}: drawn by Graphviz {made_by}, this is {installed_dot}: compared its DOT only"
        )
    elif new.read_bytes() != old.read_bytes():
        result.problems.append(f"docs/images/{name}: dot {installed_dot} draws it differently")
    else:
        result.compared_bytes.append(name)


def _compare_png(name: str, old: Path, new: Path, result: Comparison) -> None:
    old_text, new_text = png_text(old), png_text(new)
    if old_text.get(FINGERPRINT_KEY) != new_text.get(FINGERPRINT_KEY):
        result.problems.append(f"docs/images/{name}: what the picture shows has changed")
    elif old_text.get("Software") != new_text.get("Software"):
        result.notes.append(
            f"{name}: drawn by {old_text.get('Software')}, this is {new_text.get('Software')}: "
            "compared its fingerprint only"
        )
    elif old.read_bytes() != new.read_bytes():
        result.problems.append(f"docs/images/{name}: the same matplotlib draws it differently")
    else:
        result.compared_bytes.append(name)


def check(committed: Path = DOCS_IMAGES) -> Comparison:
    """Make every picture in a temporary folder and compare it with the committed one."""
    with tempfile.TemporaryDirectory() as fresh:
        make_all(Path(fresh))
        return compare(Path(fresh), committed)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the docs' pictures, or check them (exit status 1 when any is stale)."""
    parser = argparse.ArgumentParser(prog="demos/make_docs_pictures.py", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument(
        "--out", type=Path, default=DOCS_IMAGES, help="folder to write (default: docs/images/)"
    )
    args = parser.parse_args(argv)
    if args.check:
        result = check(args.out)
        for note in result.notes:
            print(f"note: {note}")
        for problem in result.problems:
            print(f"stale: {problem}")
        if result.problems:
            print(f"Run `{COMMAND}` and commit docs/images/.")
            return 1
        print(
            f"docs pictures are up to date ({len(picture_files())} files; "
            f"{len(result.compared_bytes)} compared byte for byte)"
        )
        return 0
    written = make_all(args.out)
    for path in written:
        print(f"wrote {shown(path)}")
    if dot_version() is None:
        print(
            "Graphviz's `dot` program is missing: the graphs were written as DOT text only.\n"
            f"For their SVG pictures, {INSTALL_DOT}, and run this again."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
