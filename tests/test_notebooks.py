"""The notebooks in demos/notebooks/ run from scratch, and their committed outputs are fresh.

Every notebook is executed in a fresh kernel of this Python (nbclient, ipykernel); a cell that
raises fails the run. The committed outputs are compared with the fresh ones as
`demos/notebooks/run.py` compares them: text exactly (memory addresses aside), each graph's DOT
text, each plot's fingerprint, and the pictures byte for byte where the drawing tools are the
versions that made the committed ones. The notebooks also run without Graphviz's `dot` and
without a network, and then show DOT text that says how to get pictures.
"""

from __future__ import annotations

import base64
import copy
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FOLDER = REPO / "demos" / "notebooks"
IN_CI = bool(os.environ.get("CI"))
INSTALL = "pip install -e . --group demos  (nbclient, nbformat and ipykernel)"

try:
    import nbformat
    from nbformat import NotebookNode
except ImportError:  # pragma: no cover - the demos group brings it
    if IN_CI:
        raise
    pytest.skip(
        f"the notebook tests need nbformat and nbclient: {INSTALL}", allow_module_level=True
    )

sys.path.insert(0, str(FOLDER))  # run.py and show.py are scripts beside the notebooks
sys.path.insert(0, str(FOLDER.parent))  # and the demos' shared helpers

import _common  # noqa: E402
import run  # noqa: E402
import show  # noqa: E402

NAMES = [path.name for path in run.notebooks()]


def files_here() -> set[str]:
    """The files of demos/notebooks/ (bytecode caches aside, which Python writes where it may)."""
    return {
        p.relative_to(FOLDER).as_posix()
        for p in FOLDER.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@dataclass
class Runs:
    """Every notebook run afresh (or the error it stopped with)."""

    notebooks: dict[str, NotebookNode]
    errors: dict[str, str]


@dataclass
class AllRuns:
    """The notebooks run as on this machine and as on a bare one, and their folder around it."""

    here: Runs  # with `dot` where this machine has it
    bare: Runs  # without `dot`
    files_before: set[str]
    files_after: set[str]


@pytest.fixture(scope="module")
def runs() -> AllRuns:
    """Every notebook run from scratch twice, offline, two at a time: with `dot` where this
    machine has it, and without."""
    paths = run.notebooks()
    has_dot = run.dot_version() is not None
    jobs = [(path, dot, True) for dot in (has_dot, False) for path in paths]
    before = files_here()
    results = run.execute_all(jobs)
    after = files_here()
    made = []
    for half in (results[: len(paths)], results[len(paths) :]):
        notebooks = {
            p.name: r for p, r in zip(paths, half, strict=True) if not isinstance(r, Exception)
        }
        errors = {
            p.name: str(r) for p, r in zip(paths, half, strict=True) if isinstance(r, Exception)
        }
        made.append(Runs(notebooks, errors))
    return AllRuns(made[0], made[1], before, after)


@pytest.fixture(scope="module")
def fresh(runs: AllRuns) -> Runs:
    """Each notebook run once from scratch, with `dot` where this machine has it."""
    return runs.here


@pytest.fixture(scope="module")
def bare(runs: AllRuns) -> Runs:
    """Each notebook run once as on a learner's machine without `dot` and without a network."""
    return runs.bare


def committed(name: str) -> NotebookNode:
    """The notebook as committed."""
    return run.read(FOLDER / name)


# nbformat's constructors have no annotations: typed here, once.
def new_notebook(cells: list[NotebookNode]) -> NotebookNode:
    """A notebook of these cells."""
    notebook: NotebookNode = nbformat.v4.new_notebook(cells=cells)  # type: ignore[no-untyped-call]
    return notebook


def new_code_cell(source: str, outputs: list[NotebookNode] | None = None) -> NotebookNode:
    """A code cell, with these outputs."""
    made = nbformat.v4.new_code_cell(source, outputs=outputs or [])  # type: ignore[no-untyped-call]
    cell: NotebookNode = made
    return cell


def new_output(kind: str, **fields: object) -> NotebookNode:
    """An output of a code cell: "stream", "error", ..."""
    output: NotebookNode = nbformat.v4.new_output(kind, **fields)  # type: ignore[no-untyped-call]
    return output


def outputs(notebook: NotebookNode) -> Iterator[NotebookNode]:
    """Every output of every code cell."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            yield from cell.outputs


def graph_outputs(notebook: NotebookNode) -> list[NotebookNode]:
    """The outputs that show a computation graph (show.graph's)."""
    return [o for o in outputs(notebook) if show.DOT_MIME in o.get("data", {})]


def png_outputs(notebook: NotebookNode) -> list[NotebookNode]:
    """The outputs that show a plot."""
    return [o for o in outputs(notebook) if "image/png" in o.get("data", {})]


# ---------------------------------------------------------------------------------------------
# From scratch, and not stale
# ---------------------------------------------------------------------------------------------


def test_there_are_the_notebooks_of_the_tour() -> None:
    """The tour starts with 00-start-here and has a notebook for each of its subjects."""
    assert NAMES == [
        "00-start-here.ipynb",
        "01-mazur-by-hand.ipynb",
        "02-neuron-mlp-moons.ipynb",
        "03-the-sweep-step-by-step.ipynb",
        "04-forward-vs-reverse.ipynb",
        "05-gradcheck-your-own-op.ipynb",
    ]


def test_every_notebook_runs_from_scratch_without_an_error(fresh: Runs) -> None:
    """Each notebook runs from its first cell to its last in a fresh kernel; none raises."""
    assert not fresh.errors, "\n\n".join(fresh.errors.values())
    assert sorted(fresh.notebooks) == NAMES


def test_committed_outputs_are_those_of_a_fresh_run(fresh: Runs) -> None:
    """No committed output is stale; if one is, the message says where and how to refresh."""
    found = run.Comparison()
    for name, notebook in fresh.notebooks.items():
        found.add(run.compare(name, committed(name), notebook))
    assert not found.problems, (
        "\n".join(found.problems) + f"\nRun `{run.COMMAND}` and commit demos/notebooks/."
    )


def test_pictures_are_compared_byte_for_byte_where_the_tools_match(fresh: Runs) -> None:
    """Every picture is compared whole where the tool that drew it is the one installed, and
    otherwise the comparison says what it compared instead."""
    found = run.Comparison()
    pictures = 0
    for name, notebook in fresh.notebooks.items():
        found.add(run.compare(name, committed(name), notebook))
        pictures += len(graph_outputs(committed(name))) + len(png_outputs(committed(name)))
    assert pictures >= 6
    assert found.compared_bytes + len(found.notes) == pictures, found.notes
    installed = run.dot_version()
    for name in NAMES:
        for output in graph_outputs(committed(name)):
            made_by = run._svg_maker(run._joined(output.data["image/svg+xml"]))
            if made_by != installed:
                assert any(f"drawn by {made_by}" in n or "no `dot`" in n for n in found.notes)


def test_committed_outputs_are_those_of_a_machine_with_dot() -> None:
    """Every committed graph is a picture drawn by `dot` from the DOT text beside it."""
    graphs = 0
    for name in NAMES:
        for output in graph_outputs(committed(name)):
            graphs += 1
            svg = run._joined(output.data["image/svg+xml"])
            dot_text = run._joined(output.data[show.DOT_MIME])
            assert _common.svg_stamp(svg) == _common.dot_digest(dot_text), name
            assert run._joined(output.data["text/plain"]) == dot_text
    assert graphs >= 5


def test_committed_notebooks_are_tidy() -> None:
    """Valid nbformat, run top to bottom (execution counts 1, 2, ...), no error outputs, and
    metadata that names no Python version."""
    for name in NAMES:
        notebook = committed(name)
        nbformat.validate(notebook)
        counts = [c.execution_count for c in notebook.cells if c.cell_type == "code"]
        assert counts == list(range(1, len(counts) + 1)), name
        assert not any(o.output_type == "error" for o in outputs(notebook)), name
        assert notebook.metadata == {
            "kernelspec": run.KERNELSPEC,
            "language_info": run.LANGUAGE_INFO,
        }, name


def test_notebooks_write_no_files(runs: AllRuns) -> None:
    """A run leaves the notebooks' folder as it found it: no pictures or data written there."""
    assert runs.files_after == runs.files_before


# ---------------------------------------------------------------------------------------------
# Without dot, and without a network
# ---------------------------------------------------------------------------------------------


def test_notebooks_run_without_dot_and_offline(bare: Runs) -> None:
    """Without `dot` and any network every notebook still runs, and what it shows is the
    committed notebook's, graphs as their DOT text."""
    assert not bare.errors, "\n\n".join(bare.errors.values())
    found = run.Comparison()
    for name, notebook in bare.notebooks.items():
        found.add(run.compare(name, committed(name), notebook))
    assert not found.problems, "\n".join(found.problems)
    graphs = sum(len(graph_outputs(committed(name))) for name in NAMES)
    assert sum("graph not redrawn (no `dot` here)" in note for note in found.notes) == graphs


def test_without_dot_a_graph_is_dot_text_that_says_how_to_get_pictures(bare: Runs) -> None:
    """A graph shown without `dot` is its DOT text, whose first line (a DOT comment) says how
    to install Graphviz; no picture is faked."""
    shown = 0
    for name, notebook in bare.notebooks.items():
        for output in graph_outputs(notebook):
            shown += 1
            text = run._joined(output.data["text/plain"])
            first, _, rest = text.partition("\n")
            assert first == show.NO_DOT
            assert "sudo apt-get install graphviz" in first
            assert rest == run._joined(output.data[show.DOT_MIME])
            assert rest.startswith("digraph")
            assert "image/svg+xml" not in output.data, name
    assert shown >= 5


def test_the_kernel_is_this_python_whatever_kernels_are_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel runs sys.executable even when the only installed kernel spec named python3
    points at no Python at all; the offline guard is installed in that kernel."""
    specs = tmp_path / "data" / "kernels" / "python3"
    specs.mkdir(parents=True)
    (specs / "kernel.json").write_text(
        '{"argv": ["/nonexistent/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],'
        ' "display_name": "broken", "language": "python"}',
        encoding="utf-8",
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "data"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    notebook = new_notebook(
        [
            new_code_cell("import socket, sys\nprint(sys.executable)"),
            new_code_cell("print(socket.getaddrinfo.__name__)"),
        ]
    )
    path = tmp_path / "probe.ipynb"
    run.write(path, notebook)
    ran = run.execute(path, offline=True)
    printed = [run._joined(c.outputs[0].text).strip() for c in ran.cells]
    assert printed == [sys.executable, "_local_getaddrinfo"]


def test_the_offline_guard_refuses_other_machines() -> None:
    """The guard refuses a connection or a name lookup for any other machine before anything is
    sent (here the real socket functions are stand-ins that only record a call)."""
    script = (
        "import socket\n"
        "calls = []\n"
        "socket.socket.connect = lambda self, address: calls.append(address)\n"
        "socket.getaddrinfo = lambda *args, **kwargs: calls.append(args) or []\n"
        f"exec({run.OFFLINE_STARTUP!r})\n"
        "refused = []\n"
        "for attempt in (\n"
        "    lambda: socket.getaddrinfo('example.org', 80),\n"
        "    lambda: socket.socket().connect(('192.0.2.1', 80)),\n"
        "):\n"
        "    try:\n"
        "        attempt()\n"
        "    except OSError as error:\n"
        "        refused.append(str(error))\n"
        "socket.socket().connect(('127.0.0.1', 9))  # allowed: this machine (a stand-in call)\n"
        "print(len(refused), calls)\n"
        "print(refused[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    counted, message = done.stdout.splitlines()
    assert counted == "2 [('127.0.0.1', 9)]"
    assert message == "the notebook tried to reach 'example.org': the notebooks must run offline"


def test_write_refuses_without_dot(tmp_path: Path) -> None:
    """`run.py --write` on a machine without `dot` refuses, saying why and how to get it: the
    committed outputs are those of a machine with it."""
    empty = tmp_path / "bin"
    empty.mkdir()
    before = {name: (FOLDER / name).read_bytes() for name in NAMES}
    done = subprocess.run(
        [sys.executable, str(FOLDER / "run.py"), "--write"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(empty)},
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "sudo apt-get install graphviz" in done.stderr
    assert run.COMMAND in done.stderr
    assert {name: (FOLDER / name).read_bytes() for name in NAMES} == before


# ---------------------------------------------------------------------------------------------
# What the comparison catches
# ---------------------------------------------------------------------------------------------


def test_a_stale_output_is_reported(fresh: Runs) -> None:
    """A changed number, a graph whose picture is not drawn from its DOT, a plot that shows
    something else, a missing output and an error output are each found and located."""
    mazur = copy.deepcopy(committed("01-mazur-by-hand.ipynb"))
    cells = [c for c in mazur.cells if c.cell_type == "code"]
    printed = cells[1].outputs[0]
    printed.text = run._joined(printed.text).replace("0.298371108760", "0.298371108761")
    (graph,) = graph_outputs(mazur)
    svg = run._joined(graph.data["image/svg+xml"])
    graph.data["image/svg+xml"] = re.sub(r"sha256 [0-9a-f]{64}", "sha256 " + "0" * 64, svg)
    cells[-1].outputs = []
    cells[2].outputs.append(new_output("error", ename="ValueError", evalue="planted", traceback=[]))
    problems = run.compare("01", mazur, fresh.notebooks["01-mazur-by-hand.ipynb"]).problems
    assert len(problems) == 4, problems
    assert (
        "01, code cell 2 (`def agrees(published, ours):`), output 1: stdout has changed"
        in (problems[0])
    )
    assert "-   E_total  published  0.298371109  ours 0.298371108761  agrees" in problems[0]
    assert (
        "code cell 3" in problems[1]
        and "shows stdout, error; a fresh run shows stdout" in (problems[1])
    )
    assert "its picture was not drawn from its DOT text" in problems[2]
    assert "shows nothing; a fresh run shows stdout" in problems[3]

    moons = copy.deepcopy(committed("02-neuron-mlp-moons.ipynb"))
    (plot,) = png_outputs(moons)
    png = base64.b64decode(run._joined(plot.data["image/png"]))
    key = run._png_text(png)[_common.FINGERPRINT_KEY].encode("ascii")
    plot.data["image/png"] = base64.b64encode(png.replace(key, key[::-1])).decode("ascii")
    problems = run.compare("02", moons, fresh.notebooks["02-neuron-mlp-moons.ipynb"]).problems
    assert (
        len(problems) == 1 and "what the plot shows (its fingerprint) has changed" in (problems[0])
    )


def test_addresses_and_the_splitting_of_printed_text_are_not_compared() -> None:
    """What differs between any two runs is left out: a memory address, and where the kernel
    happened to split a cell's printed text into messages."""
    one = new_code_cell(
        "print(object())", [new_output("stream", name="stdout", text="<object at 0x7f3a2c>\n")]
    )
    other = copy.deepcopy(one)
    other.outputs = [
        new_output("stream", name="stdout", text="<object "),
        new_output("stream", name="stdout", text="at 0x55e0d1>\n"),
    ]
    a, b = new_notebook([one]), new_notebook([other])
    assert run.compare("x", a, b).problems == []
    other.outputs[1].text = "at 0x55e0d1>!\n"
    assert len(run.compare("x", a, b).problems) == 1


# ---------------------------------------------------------------------------------------------
# What each notebook says
# ---------------------------------------------------------------------------------------------


def markdown(notebook: NotebookNode) -> list[str]:
    """The text of every markdown cell."""
    return [c.source for c in notebook.cells if c.cell_type == "markdown"]


def test_each_notebook_says_what_it_shows_and_what_comes_next() -> None:
    """Each opens with a title and a paragraph on what it shows, and each but the last ends by
    pointing at the next one."""
    for k, name in enumerate(NAMES):
        notebook = committed(name)
        first = notebook.cells[0]
        assert first.cell_type == "markdown", name
        title, _, body = first.source.partition("\n")
        assert title.startswith("# ") and len(body.split()) >= 40, name
        last = markdown(notebook)[-1]
        if k + 1 < len(NAMES):
            following = NAMES[k + 1]
            assert "**Next:**" in last and f"({following})" in last, name


def test_start_here_lists_the_tour_in_order() -> None:
    """00-start-here's table links every other notebook, in order, and says how to run them
    and what happens without `dot`."""
    text = "\n".join(markdown(committed(NAMES[0])))
    linked = re.findall(r"\]\((\d\d-[\w-]+\.ipynb)\)", text.split("## ")[0])
    assert linked == NAMES[1:]
    assert "python demos/notebooks/run.py" in text
    assert "sudo apt-get install graphviz" in text


def test_notebooks_name_only_files_that_exist() -> None:
    """Every repository file a notebook's text names is there."""
    for name in NAMES:
        notebook = committed(name)
        text = "\n".join(c.source for c in notebook.cells)
        for path in re.findall(r"`((?:docs|demos|autograd_lite)/[\w./-]+)`", text):
            assert (REPO / path).exists(), f"{name} names {path}"


def printed(notebook: NotebookNode) -> str:
    """Everything a notebook's cells printed, as one text."""
    return "".join(run._joined(o.text) for o in outputs(notebook) if o.output_type == "stream")


def test_the_sweep_quoted_in_start_here_is_the_engines() -> None:
    """The loop 00-start-here quotes as backward()'s is the engine's `_sweep`, line for line."""
    text = "\n".join(markdown(committed(NAMES[0])))
    (quoted,) = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    engine = (REPO / "autograd_lite" / "engine.py").read_text(encoding="utf-8")
    body = engine.split("def _sweep(order: list[Value]) -> None:\n", 1)[1]
    assert textwrap.indent(quoted, "    ") in body


def test_what_the_text_says_about_the_numbers_is_what_they_print() -> None:
    """Where a notebook's text states a number or a comparison, its printed numbers agree."""
    mazur = committed("01-mazur-by-hand.ipynb")
    said, shown = " ".join("\n".join(markdown(mazur)).split()), printed(mazur)
    assert "give 0.291027774 (as ours do)" in said
    assert "after 1 update:       published 0.291027924,  ours 0.291027774" in shown
    assert "0.0000351085, which is our error after **9,999** updates" in said
    assert "after 9,999 updates:                           ours 0.0000351085" in shown
    assert shown.count("agrees") == 4 + 1 + 4 + 8 and "DIFFERS" not in shown

    counts = printed(committed("04-forward-vs-reverse.ipynb"))
    found = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) multiply-adds", counts)]
    network_reverse, network_forward, chain_forward, chain_reverse = found
    assert network_forward > 4 * network_reverse  # "several times more"
    assert chain_reverse > 10 * chain_forward  # forward wins
    assert "same derivatives: True" in counts

    moons = printed(committed("02-neuron-mlp-moons.ipynb"))
    assert moons.rstrip().endswith("accuracy 100%")
