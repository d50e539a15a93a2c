"""The pictures in docs/images/ are the ones the code draws today, with and without `dot`.

`demos/make_docs_pictures.py` makes every picture of docs/how-backprop-works.md (and the
README's decision boundary). These tests remake them and compare: the DOT text of each graph
exactly; the digest each SVG records of the DOT it was drawn from; each PNG's fingerprint of
what it shows; and, where the drawing tools are the versions that drew the committed files,
every file byte for byte. A run without Graphviz's `dot` must still work, and say how to get
the SVG pictures.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "demos"))  # the demos are scripts, not a package

import _common  # noqa: E402
import make_docs_pictures  # noqa: E402

DOCS_IMAGES = REPO / "docs" / "images"
DOC = REPO / "docs" / "how-backprop-works.md"
SCRIPT = REPO / "demos" / "make_docs_pictures.py"


@pytest.fixture(scope="module")
def comparison() -> make_docs_pictures.Comparison:
    """The pictures made afresh, compared with the committed ones (one run for the module)."""
    return make_docs_pictures.check(DOCS_IMAGES)


def test_committed_pictures_are_the_ones_the_code_draws(
    comparison: make_docs_pictures.Comparison,
) -> None:
    """No committed picture is stale; if one is, the message says which and how to remake it."""
    assert not comparison.problems, (
        "\n".join(comparison.problems)
        + f"\nRun `{make_docs_pictures.COMMAND}` and commit docs/images/."
    )


def test_pictures_are_compared_byte_for_byte_where_the_tools_match(
    comparison: make_docs_pictures.Comparison,
) -> None:
    """With the tools that drew the committed files, every SVG and PNG is compared whole;
    with others, the check says what it compared instead."""
    files = make_docs_pictures.picture_files()
    pictures = [name for name in files if not name.endswith(".dot")]
    noted = [note.split(":")[0] for note in comparison.notes]
    assert sorted(comparison.compared_bytes + noted) == sorted(pictures)
    installed = make_docs_pictures.dot_version()
    for name in pictures:
        if name.endswith(".svg"):
            svg = (DOCS_IMAGES / name).read_text(encoding="utf-8")
            drawn_by = make_docs_pictures.svg_dot_version(svg)
            assert (name in comparison.compared_bytes) == (drawn_by == installed), name


def test_without_dot_graphs_are_written_as_dot_text(tmp_path: Path) -> None:
    """With no `dot` on PATH the script still succeeds: DOT text equal to the committed, every
    plot, no SVG, and a message saying how to get the pictures."""
    empty = tmp_path / "bin"
    empty.mkdir()
    out = tmp_path / "images"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(empty)},
        cwd=tmp_path,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Graphviz's `dot` program is missing" in done.stdout
    assert "sudo apt-get install graphviz" in done.stdout
    assert "Traceback" not in done.stderr
    assert not list(out.glob("*.svg"))
    for name in make_docs_pictures.picture_files():
        if name.endswith(".dot"):
            assert (out / name).read_text() == (DOCS_IMAGES / name).read_text(), name
        elif name.endswith(".png"):
            made = _common.png_text(out / name)[_common.FINGERPRINT_KEY]
            assert made == _common.png_text(DOCS_IMAGES / name)[_common.FINGERPRINT_KEY], name


def test_a_stale_picture_is_reported(tmp_path: Path) -> None:
    """A changed graph, an SVG not drawn from its DOT, a plot that shows other numbers: each is
    found (the committed files stand in for the fresh ones, which the tests above compared)."""
    committed = tmp_path / "committed"
    shutil.copytree(DOCS_IMAGES, committed)
    dot = committed / "neuron_backward.dot"
    dot.write_text(dot.read_text().replace("grad -0.1185", "grad -0.1186"))
    svg = committed / "mazur_network.svg"
    svg.write_text(re.sub(r"sha256 [0-9a-f]{64}", "sha256 " + "0" * 64, svg.read_text()))
    png = committed / "mazur_error.png"
    data = png.read_bytes()
    fingerprint = _common.png_text(png)[_common.FINGERPRINT_KEY].encode()
    png.write_bytes(data.replace(fingerprint, fingerprint[::-1]))
    problems = make_docs_pictures.compare(DOCS_IMAGES, committed).problems
    assert any("neuron_backward.dot: the graph the code draws has changed" in p for p in problems)
    assert any("mazur_network.svg was not drawn from mazur_network.dot" in p for p in problems)
    assert any("mazur_error.png: what the picture shows has changed" in p for p in problems)
    # A changed DOT also leaves its SVG stale; an SVG edited by hand also differs byte for byte.
    stale = {p.split(":")[0].split()[0].removeprefix("docs/images/") for p in problems}
    assert stale == {
        "neuron_backward.dot",
        "neuron_backward.svg",
        "mazur_network.svg",
        "mazur_error.png",
    }, problems


def test_docs_page_shows_every_picture_the_script_makes() -> None:
    """Every picture the page shows is made by the script, and every one it makes is shown by
    the page (the README uses the decision boundary too)."""
    text = DOC.read_text(encoding="utf-8")
    # Sections 6 and 7 show the pictures of demos/paths.py and demos/forward_vs_reverse.py,
    # which tests/test_sweeps.py remakes and checks.
    own = text[: text.index("## 6. ")] + text[text.index("## 8. ") :]
    shown = re.findall(r"!\[.*?\]\(images/([\w.]+)\)", own)
    made = [n for n in make_docs_pictures.picture_files() if not n.endswith(".dot")]
    assert sorted(shown) == sorted(made)
    for name in shown:
        assert (DOCS_IMAGES / name).is_file(), name


def test_svg_records_the_dot_it_was_drawn_from() -> None:
    """Each committed SVG carries the digest of the committed DOT text beside it."""
    for name in make_docs_pictures.picture_files():
        if name.endswith(".svg"):
            svg = (DOCS_IMAGES / name).read_text(encoding="utf-8")
            dot = (DOCS_IMAGES / name).with_suffix(".dot").read_text(encoding="utf-8")
            assert _common.svg_stamp(svg) == _common.dot_digest(dot), name


def test_fingerprint_follows_what_a_plot_says() -> None:
    """The fingerprint changes with a plotted number or a word, not with matplotlib's own
    geometry: a contour over the same grid, at any resolution of its own, leaves it alone."""
    plt = _common.pyplot()

    def figure(ys: list[float], title: str) -> str:
        fig, ax = plt.subplots()
        ax.plot([0.0, 1.0, 2.0], ys, label="line")
        ax.set_title(title)
        ax.legend()
        digest = _common.fingerprint(fig)
        plt.close(fig)
        return digest

    base = figure([1.0, 2.0, 3.0], "a")
    assert figure([1.0, 2.0, 3.0], "a") == base
    assert figure([1.0, 2.0, 3.0000001], "a") == base  # beyond 6 significant digits
    assert figure([1.0, 2.0, 3.1], "a") != base
    assert figure([1.0, 2.0, 3.0], "b") != base
