"""Run the notebooks from scratch, and check that their committed outputs are a fresh run's.

    python demos/notebooks/run.py                 run every notebook in a fresh kernel and
                                                  compare with its committed outputs: exit
                                                  status 1 if any is stale
    python demos/notebooks/run.py --write         run every notebook and write its outputs
    python demos/notebooks/run.py 01-mazur-by-hand.ipynb ...   only these notebooks

The kernel is this Python (``sys.executable``) with its ipykernel: no kernel spec needs to be
installed, and the notebooks import the autograd_lite this Python imports. A cell that raises
stops the run with the cell and its error. What is compared is what every fresh run gives, on
any machine: the text of each output (memory addresses left out; execution counts and timings
are not compared), each graph's DOT text, each plot's fingerprint of what it shows (see
`show.py`). Where the drawing tools are the versions that made the committed outputs (`dot` for
a graph's SVG, matplotlib for a plot's PNG) the pictures are also compared byte for byte. The
committed outputs are those of a machine with Graphviz's `dot`, so ``--write`` needs it.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import contextlib
import difflib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat import NotebookNode

FOLDER = Path(__file__).resolve().parent
REPO = FOLDER.parent.parent
DEMOS = FOLDER.parent
if str(DEMOS) not in sys.path:
    sys.path.insert(0, str(DEMOS))  # the demos' shared helpers: demos/ is not a package
if str(FOLDER) not in sys.path:
    sys.path.insert(0, str(FOLDER))

import _common  # noqa: E402
import show  # noqa: E402

__all__ = [
    "COMMAND",
    "Comparison",
    "NotebookError",
    "ThisPython",
    "compare",
    "dot_version",
    "execute",
    "execute_all",
    "main",
    "notebooks",
    "read",
    "write",
]

COMMAND = "python demos/notebooks/run.py --write"
CELL_TIMEOUT = 300  # seconds: far above any cell's need, only to stop a hung kernel
STARTUP_TIMEOUT = 120  # seconds for the kernel to start, on a busy machine
# What the committed notebooks say about their kernel: Jupyter's usual Python 3 kernel, so a
# learner's Jupyter opens them with its own Python. run.py itself always uses this Python.
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {"name": "python"}  # not the version: the same outputs come from any Python
ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{4,}\b")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
DIFF_LINES = 12  # of a mismatch, shown in its message
DIFF_WIDTH = 160  # characters of a line of it (an SVG or HTML page is one long line)
JOBS = 2  # notebooks run at once, each in its own kernel (a machine has 2 cores, or more)

# Installed as an IPython startup file when a run must prove the notebooks need no network: any
# connection to another machine fails, as on a learner's computer without one.
OFFLINE_STARTUP = '''"""Written by demos/notebooks/run.py: the notebook may reach no other host."""
import socket

_LOCAL = ("127.0.0.1", "::1", "localhost")
_connect, _connect_ex, _getaddrinfo = (
    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo
)


def _host(address):
    return address[0] if isinstance(address, tuple) else address


def _refuse(host):
    raise OSError(f"the notebook tried to reach {host!r}: the notebooks must run offline")


def _local_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and _host(address) not in _LOCAL:
        _refuse(_host(address))
    return _connect(self, address)


def _local_connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and _host(address) not in _LOCAL:
        _refuse(_host(address))
    return _connect_ex(self, address)


def _local_getaddrinfo(host, *args, **kwargs):
    if host not in _LOCAL and host is not None:
        _refuse(host)
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _local_connect
socket.socket.connect_ex = _local_connect_ex
socket.getaddrinfo = _local_getaddrinfo
'''


def read(path: Path) -> NotebookNode:
    """The notebook in a file, as nbformat version 4."""
    notebook: NotebookNode = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    return notebook


def notebooks() -> list[Path]:
    """The notebooks of demos/notebooks/, in the order a learner reads them."""
    return sorted(FOLDER.glob("*.ipynb"))


# ---------------------------------------------------------------------------------------------
# Running a notebook in a fresh kernel of this Python
# ---------------------------------------------------------------------------------------------


class ThisPython(KernelManager):
    """A kernel manager that always starts this Python's ipykernel, whatever specs exist."""

    @property
    def kernel_spec(self) -> KernelSpec:
        """This interpreter, as a kernel: no installed kernel spec is looked up."""
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name=KERNELSPEC["display_name"],
            language="python",
        )


class NotebookError(Exception):
    """A cell of a notebook raised an error (or the kernel could not run it)."""


@contextlib.contextmanager
def _kernel_env(*, dot: bool, offline: bool) -> Iterator[dict[str, str]]:
    """The environment of a fresh kernel: its own IPython folder, a fixed hash seed."""
    with tempfile.TemporaryDirectory(prefix="autograd_lite-ipython-") as ipython_dir:
        env = {
            **os.environ,
            "IPYTHONDIR": ipython_dir,  # no profile or history of the user's is read or written
            # hypothesis caches what it learns beside the code it runs: not in the repository
            "HYPOTHESIS_STORAGE_DIRECTORY": str(Path(ipython_dir, "hypothesis")),
            "PYTHONHASHSEED": "0",  # set and dict orders of strings: the same on every run
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # debugpy's warning about frozen modules
            "JUPYTER_PLATFORM_DIRS": "1",  # jupyter_core's warning about its future paths
        }
        if not dot:  # a PATH without Graphviz (the kernel is started by its full path)
            env["PATH"] = str(Path(ipython_dir, "no-dot"))
            Path(env["PATH"]).mkdir()
        if offline:
            startup = Path(ipython_dir, "profile_default", "startup")
            startup.mkdir(parents=True)
            (startup / "00-offline.py").write_text(OFFLINE_STARTUP, encoding="utf-8")
        yield env


def execute(path: Path, *, dot: bool = True, offline: bool = False) -> NotebookNode:
    """The notebook at path, run from its first cell in a fresh kernel, with its outputs.

    ``dot=False`` runs it as on a machine without Graphviz's `dot`; ``offline=True`` as on one
    without a network. Raises NotebookError, naming the cell, when a cell raises.
    """
    notebook = read(path)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        startup_timeout=STARTUP_TIMEOUT,
        kernel_manager_class=ThisPython,
        record_timing=False,
        coalesce_streams=True,  # the kernel splits printed text into messages by timing
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},  # cells run in the notebook's folder
    )
    with _kernel_env(dot=dot, offline=offline) as env:
        # The kernel's own log (ipykernel warns about its transport on every start) goes to a
        # file, which an error message quotes if the kernel dies.
        log_path = Path(env["IPYTHONDIR"], "kernel.log")
        with log_path.open("w", encoding="utf-8") as log:
            try:
                client.execute(env=env, stderr=log, stdout=log)
            except CellExecutionError as error:
                raise NotebookError(_failure(path, notebook, error)) from None
            except Exception as error:  # the kernel died, or did not start
                said = log_path.read_text(encoding="utf-8", errors="replace").strip()
                msg = f"{path.name}: the kernel failed: {type(error).__name__}: {error}"
                raise NotebookError(
                    msg + (f"\nThe kernel's log:\n{said}" if said else "")
                ) from error
    notebook.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
    return notebook


def execute_all(
    runs: Sequence[tuple[Path, bool, bool]], *, jobs: int = JOBS
) -> list[NotebookNode | NotebookError]:
    """Run each (path, dot, offline) as `execute` does, jobs at a time, each in its own kernel.

    Returns, in the order given, each executed notebook or the NotebookError it stopped with.
    """

    def one(job: tuple[Path, bool, bool]) -> NotebookNode | NotebookError:
        path, dot, offline = job
        try:
            return execute(path, dot=dot, offline=offline)
        except NotebookError as error:
            return error

    # Threads suffice: each kernel is a process of its own, and the threads only wait for them.
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, runs))


def _failure(path: Path, notebook: NotebookNode, error: CellExecutionError) -> str:
    """Which cell raised, its first line, and the error with its traceback (no colours)."""
    code = [c for c in notebook.cells if c.cell_type == "code"]
    failed = next(
        (i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs)),
        None,
    )
    where = "a cell" if failed is None else f"code cell {failed + 1} ({_first_line(code[failed])})"
    return f"{path.name}: {where} raised {error.ename}: {error.evalue}\n" + ANSI.sub("", str(error))


def _first_line(cell: NotebookNode) -> str:
    lines = [line for line in cell.source.splitlines() if line.strip()]
    first = lines[0].strip() if lines else ""
    return f"`{first[:60]}`"


def write(path: Path, notebook: NotebookNode) -> None:
    """Write an executed notebook over path (nbformat's layout, which is stable)."""
    nbformat.validate(notebook)
    text: str = nbformat.writes(notebook)  # type: ignore[no-untyped-call]
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Comparing a fresh run with the committed outputs
# ---------------------------------------------------------------------------------------------


@dataclass
class Comparison:
    """What a check found: stale outputs (problems), what it could not compare (notes)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    compared_bytes: int = 0  # pictures compared byte for byte

    def add(self, other: Comparison) -> None:
        """Take in another comparison's findings."""
        self.problems += other.problems
        self.notes += other.notes
        self.compared_bytes += other.compared_bytes


@dataclass(frozen=True)
class _Shown:
    """One output as compared: its kind, the text every run gives, a picture's exact bytes."""

    kind: str  # "stdout", "stderr", "text/plain", "text/html", "graph", "png", "error"
    text: str
    picture: bytes | None = None  # an SVG or PNG, compared only where made by the same tool
    made_by: str | None = None  # the tool and version that made the picture


def _normalized(text: str) -> str:
    """Text as every run prints it: memory addresses left out."""
    return ADDRESS.sub("0x…", text)


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _shown(output: NotebookNode) -> list[_Shown]:
    """What an output shows, as compared."""
    kind = output.output_type
    if kind == "stream":
        return [_Shown(output.name, _normalized(_joined(output.text)))]
    if kind == "error":
        return [_Shown("error", f"{output.ename}: {output.evalue}")]
    data = output.get("data", {})
    if show.DOT_MIME in data:
        svg = data.get("image/svg+xml")
        return [
            _Shown(
                "graph",
                _joined(data[show.DOT_MIME]),
                None if svg is None else _joined(svg).encode("utf-8"),
                None if svg is None else _svg_maker(_joined(svg)),
            )
        ]
    shown = []
    for mime in sorted(data):
        if mime == "image/png":
            png = base64.b64decode(_joined(data[mime]))
            text = _png_text(png)
            shown.append(
                _Shown(
                    "png",
                    text.get(_common.FINGERPRINT_KEY, "no fingerprint"),
                    png,
                    text.get("Software"),
                )
            )
        elif mime.startswith("text/"):
            shown.append(_Shown(mime, _normalized(_joined(data[mime]))))
        else:
            shown.append(_Shown(mime, _joined(data[mime])))
    return shown


def _all_shown(cell: NotebookNode) -> list[_Shown]:
    """What a cell's outputs show, printed text of one stream joined (as Jupyter shows it)."""
    shown: list[_Shown] = []
    for output in cell.outputs:
        for item in _shown(output):
            if shown and item.kind in ("stdout", "stderr") and shown[-1].kind == item.kind:
                shown[-1] = _Shown(item.kind, shown[-1].text + item.text)
            else:
                shown.append(item)
    return shown


def _png_text(png: bytes) -> dict[str, str]:
    """A PNG's tEXt entries (matplotlib's Software, our Fingerprint)."""
    with tempfile.NamedTemporaryFile(suffix=".png") as file:
        file.write(png)
        file.flush()
        return _common.png_text(Path(file.name))


def _svg_maker(svg: str) -> str | None:
    found = re.search(r"Generated by graphviz version (\S+)", svg)
    return f"Graphviz {found.group(1)}" if found else None


def dot_version() -> str | None:
    """The installed Graphviz, as an SVG names its maker ("Graphviz 2.43.0"); None: no `dot`."""
    try:
        done = subprocess.run(
            ["dot", "-V"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:  # missing, or not runnable
        return None
    found = re.search(r"version (\S+)", done.stderr + done.stdout)
    return f"Graphviz {found.group(1)}" if found else None


def _diff(old: str, new: str) -> str:
    """The difference, as a short unified diff; long lines clipped around where they differ."""
    at = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    line_start = max(old.rfind("\n", 0, at), new.rfind("\n", 0, at)) + 1
    # Keep the first difference in view: clip each line from shortly before it.
    skip = max(0, at - line_start - DIFF_WIDTH // 2)
    lines = list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), "committed", "fresh run", n=1, lineterm=""
        )
    )
    shown = []
    for line in lines[:DIFF_LINES]:
        if len(line) > DIFF_WIDTH:
            start = skip if line[:1] in "+- " and not line.startswith(("---", "+++")) else 0
            line = line[:1] + ("…" if start else "") + line[1 + start : start + DIFF_WIDTH] + "…"
        shown.append(line)
    if len(lines) > DIFF_LINES:
        shown.append("...")
    return "\n".join("    " + line for line in shown)


def compare(name: str, committed: NotebookNode, fresh: NotebookNode) -> Comparison:
    """Compare a notebook's committed outputs with those of a fresh run, cell by cell."""
    result = Comparison()
    old_cells, new_cells = committed.cells, fresh.cells
    if [c.source for c in old_cells] != [c.source for c in new_cells]:
        result.problems.append(f"{name}: the fresh run is of other cells than the committed ones")
        return result
    number = 0
    for old_cell, new_cell in zip(old_cells, new_cells, strict=True):
        if old_cell.cell_type != "code":
            continue
        number += 1
        where = f"{name}, code cell {number} ({_first_line(old_cell)})"
        old, new = _all_shown(old_cell), _all_shown(new_cell)
        if [s.kind for s in old] != [s.kind for s in new]:
            kinds = ", ".join(s.kind for s in old) or "nothing"
            fresh_kinds = ", ".join(s.kind for s in new) or "nothing"
            result.problems.append(f"{where}: shows {kinds}; a fresh run shows {fresh_kinds}")
            continue
        for k, (a, b) in enumerate(zip(old, new, strict=True), start=1):
            _compare_one(f"{where}, output {k}", a, b, result)
    return result


def _compare_one(where: str, old: _Shown, new: _Shown, result: Comparison) -> None:
    if old.kind == "error":
        result.problems.append(f"{where}: the committed notebook shows an error: {old.text}")
        return
    if old.text != new.text:
        what = {
            "graph": "the graph's DOT text",
            "png": "what the plot shows (its fingerprint)",
        }.get(old.kind, old.kind)
        result.problems.append(f"{where}: {what} has changed:\n{_diff(old.text, new.text)}")
        return
    if old.kind == "graph":
        _compare_graph(where, old, new, result)
    elif old.kind == "png" and old.picture is not None and new.picture is not None:
        _compare_picture(where, old, new, result)


def _compare_graph(where: str, old: _Shown, new: _Shown, result: Comparison) -> None:
    if old.picture is None:
        result.problems.append(
            f"{where}: committed as DOT text, without its picture; the committed outputs are "
            "those of a machine with Graphviz's dot"
        )
        return
    stamp = _common.svg_stamp(old.picture.decode("utf-8"))
    if stamp != _common.dot_digest(old.text):
        result.problems.append(f"{where}: its picture was not drawn from its DOT text")
    elif new.picture is None:
        result.notes.append(f"{where}: graph not redrawn (no `dot` here); compared its DOT text")
    else:
        _compare_picture(where, old, new, result)


def _compare_picture(where: str, old: _Shown, new: _Shown, result: Comparison) -> None:
    if old.made_by != new.made_by:
        result.notes.append(
            f"{where}: drawn by {old.made_by}, this is {new.made_by}: compared what it shows only"
        )
    elif old.picture != new.picture:
        result.problems.append(f"{where}: {new.made_by} draws it differently")
    else:
        result.compared_bytes += 1


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------


def _chosen(names: Sequence[str]) -> list[Path]:
    if not names:
        return notebooks()
    chosen = []
    for name in names:
        path = FOLDER / Path(name).name
        if path.suffix != ".ipynb" or not path.is_file():
            known = ", ".join(p.name for p in notebooks())
            msg = f"no notebook {name!r} in demos/notebooks/; the notebooks are {known}"
            raise SystemExit(f"demos/notebooks/run.py: error: {msg}")
        chosen.append(path)
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    """Check the notebooks (exit status 1 when any is stale), or write their outputs."""
    parser = argparse.ArgumentParser(
        prog="demos/notebooks/run.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--write", action="store_true", help="write fresh outputs into the files")
    parser.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="only these notebooks")
    args = parser.parse_args(argv)
    paths = _chosen(args.notebooks)
    has_dot = dot_version() is not None
    if args.write and not has_dot:
        print(
            "demos/notebooks/run.py: the committed outputs are those of a machine with "
            f"Graphviz's dot, which is missing here: {_common.INSTALL_DOT}, then run "
            f"`{COMMAND}` again.",
            file=sys.stderr,
        )
        return 2
    started = time.perf_counter()
    ran = execute_all([(path, has_dot, False) for path in paths])
    seconds = time.perf_counter() - started
    failed = [error for error in ran if isinstance(error, NotebookError)]
    for error in failed:
        print(f"error: {error}", file=sys.stderr)
    if failed:
        return 1
    result = Comparison()
    for path, fresh in zip(paths, ran, strict=True):
        assert not isinstance(fresh, NotebookError)  # every failure returned above
        if args.write:
            write(path, fresh)
            print(f"wrote {_common.shown(path)}")
        else:
            found = compare(path.name, read(path), fresh)
            print(f"{_common.shown(path)}: {'stale' if found.problems else 'up to date'}")
            result.add(found)
    print(f"({len(paths)} run in {seconds:.1f} s)")
    for note in result.notes:
        print(f"note: {note}")
    for problem in result.problems:
        print(f"stale: {problem}")
    if result.problems:
        print(f"Run `{COMMAND}` and commit demos/notebooks/.")
        return 1
    if not args.write:
        notebooks = "1 notebook is" if len(paths) == 1 else f"{len(paths)} notebooks are"
        print(f"{notebooks} up to date ({result.compared_bytes} pictures compared byte for byte)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
