"""The build-your-own checker: the reference solutions pass, planted mistakes are caught.

Each planted mistake is the reference solution with one small change, the kind a learner makes
(a wrong sign, a recursive or wrong-order sort, a sweep that counts twice, momentum that
multiplies): the checker must fail it, name the exercise, and show the smallest failing case
with a readable message. Every mistake in a learner's file (missing, not Python, a missing
function, a wrong shape, an exception, an endless loop) gets a message and never a traceback.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograd_lite import tutor

REPO = Path(__file__).resolve().parent.parent
FOLDER = REPO / "docs" / "build-your-own"
SOLUTION = FOLDER / "solution.py"
STARTER = FOLDER / "my_engine.py"
SOLUTION_TEXT = SOLUTION.read_text(encoding="utf-8")
LINE_OF_DIV = SOLUTION_TEXT.splitlines().index("def div_rule(x, y):") + 1
# A planted mistake is caught within the first few cases; the reference solution and the
# command line keep the checker's own number (tutor.EXAMPLES), as a learner runs it.
FEW = 25


def planted(tmp_path: Path, old: str, new: str, name: str = "my_engine.py") -> Path:
    """The reference solution with one change, written to tmp_path."""
    assert old in SOLUTION_TEXT, f"the solution no longer contains {old!r}"
    path = tmp_path / name
    path.write_text(SOLUTION_TEXT.replace(old, new, 1), encoding="utf-8")
    return path


def replaced_function(tmp_path: Path, name: str, new: str) -> Path:
    """The reference solution with one top-level function replaced by new source."""
    tree = ast.parse(SOLUTION_TEXT)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    lines = SOLUTION_TEXT.splitlines(keepends=True)
    assert node.end_lineno is not None
    old = "".join(lines[node.lineno - 1 : node.end_lineno])
    return planted(tmp_path, old, new)


def said(text: str) -> str:
    """Text with every run of whitespace made one space: wrapping must not matter."""
    return " ".join(text.split())


def outcome(report: tutor.Report, name: str) -> tutor.Outcome:
    """The outcome of one exercise (or check) by its name."""
    return next(o for o in report.outcomes if o.name == name)


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """The command line in this process: its exit status and everything it printed."""
    status = tutor.main(argv)
    captured = capsys.readouterr()
    return status, captured.out + captured.err


# ---------------------------------------------------------------------------------------------
# The reference solution, the starter and the chapter
# ---------------------------------------------------------------------------------------------


def test_reference_solution_passes_every_exercise() -> None:
    """The solution passes all six exercises and reproduces Mazur's numbers."""
    report = tutor.check(SOLUTION)
    assert report.passed, report.text()
    assert [o.name for o in report.outcomes] == [
        *(e.name for e in tutor.EXERCISES),
        "Mazur's example",
    ]
    assert all(o.status == "passed" for o in report.outcomes)
    text = said(report.text())
    assert "All 6 exercises checked pass." in text
    assert "E = 0.298371109, then w5 =" in text and "0.35891648" in text


def test_command_passes_the_solution_and_fails_the_starter() -> None:
    """`python -m autograd_lite.tutor check FILE` exits 0 for the solution, 1 for the starter."""
    for path, status in ((SOLUTION, 0), (STARTER, 1)):
        done = subprocess.run(
            [sys.executable, "-m", "autograd_lite.tutor", "check", str(path)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=300,
            check=False,
        )
        assert done.returncode == status, done.stdout + done.stderr
        assert done.stderr == ""
        assert "Traceback" not in done.stdout
    assert "6 to do. Next: exercise 1a, exp_rule" in done.stdout


def test_starter_lists_every_exercise_as_to_do() -> None:
    """The starter loads, and each exercise is reported as not written yet, not as an error."""
    report = tutor.check(STARTER)
    statuses = {o.name: o.status for o in report.outcomes}
    assert statuses == {**{e.name: "todo" for e in tutor.EXERCISES}, "Mazur's example": "skipped"}
    assert not report.passed


def test_starter_is_the_solution_with_the_exercises_cut_out() -> None:
    """Outside the exercises' bodies the starter is the solution, statement for statement; each
    exercise keeps its signature and docstring and raises NotImplementedError."""
    exercises = {e.name for e in tutor.EXERCISES}
    starter = {
        n.name: n for n in ast.parse(STARTER.read_text(encoding="utf-8")).body if hasattr(n, "name")
    }
    solution = {n.name: n for n in ast.parse(SOLUTION_TEXT).body if hasattr(n, "name")}
    assert starter.keys() == solution.keys()
    for name, node in solution.items():
        mine = starter[name]
        if name not in exercises:
            assert ast.dump(mine) == ast.dump(node), name
            continue
        assert isinstance(mine, ast.FunctionDef) and isinstance(node, ast.FunctionDef)
        assert ast.dump(mine.args) == ast.dump(node.args), name
        assert ast.get_docstring(mine) == ast.get_docstring(node), name
        assert ast.get_docstring(node), f"{name} needs a docstring saying what it must do"
        raises = mine.body[-1]
        assert isinstance(raises, ast.Raise) and "NotImplementedError" in ast.unparse(raises), name
        assert len(mine.body) == 2, f"{name}: the starter holds only the docstring and the raise"
    assert "TODO" in STARTER.read_text(encoding="utf-8")


def test_solution_is_about_a_hundred_lines() -> None:
    """The engine the chapter grows stays small: about a hundred lines of code."""
    code = [
        line
        for line in SOLUTION_TEXT.splitlines()
        if line.strip() and not line.strip().startswith(("#", '"""'))
    ]
    assert 70 <= len(code) <= 130, len(code)


CHAPTER = REPO / "docs" / "build-your-own.md"


def chapter_blocks(kind: str) -> list[str]:
    """The chapter's fenced code blocks of one kind (python, text, sh)."""
    text = CHAPTER.read_text(encoding="utf-8")
    return re.findall(rf"```{kind}\n(.*?)```", text, flags=re.DOTALL)


def test_chapter_shows_the_solution_verbatim() -> None:
    """Every piece of engine the chapter shows is in the starter or the solution, as written."""
    quoted = [b for b in chapter_blocks("python") if not b.startswith("from my_engine import")]
    assert len(quoted) >= 6
    starter = STARTER.read_text(encoding="utf-8")
    for block in quoted:
        for piece in re.split(r"\n\n\n+", block.strip()):
            assert piece in SOLUTION_TEXT or piece in starter, f"not in the engine:\n{piece}"


def test_chapter_program_prints_what_it_says(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The chapter's Mazur program, run on the reference solution, prints the text below it."""
    import importlib.util

    programs = [b for b in chapter_blocks("python") if b.startswith("from my_engine import")]
    assert len(programs) == 1
    spec = importlib.util.spec_from_file_location("my_engine", SOLUTION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "my_engine", module)
    exec(compile(programs[0], str(CHAPTER), "exec"), {})
    printed = capsys.readouterr().out
    text = CHAPTER.read_text(encoding="utf-8")
    after = text.split(programs[0], 1)[1]
    shown = re.search(r"```text\n(.*?)```", after, flags=re.DOTALL)
    assert shown is not None
    assert printed == shown.group(1)
    assert printed.strip() == f"E = {tutor.MAZUR_ERROR}, w5 = {tutor.MAZUR_W5}"


def rounded(text: str) -> str:
    """Long decimals cut to 6 significant digits: the last bits of a float vary by platform."""
    return re.sub(r"\d+\.\d{7,}", lambda m: f"{float(m.group()):.6g}", said(text))


def test_chapter_shows_the_checker_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checker's output quoted in the chapter is what it prints today for that mistake."""
    text = CHAPTER.read_text(encoding="utf-8")
    marker = "<!-- checker output: tanh_rule with the sign of its derivative flipped -->"
    assert marker in text
    shown = re.search(r"```text\n(.*?)```", text.split(marker, 1)[1], flags=re.DOTALL)
    assert shown is not None
    planted(tmp_path, "(1.0 - out * out,)", "(out * out - 1.0,)")
    monkeypatch.chdir(tmp_path)
    report = tutor.check("my_engine.py", only=["1b"])
    assert rounded(report.text()) == rounded(shown.group(1))


def test_chapter_points_at_files_that_exist() -> None:
    """The starter, the solution and the checker command the chapter names are all there."""
    chapter = CHAPTER.read_text(encoding="utf-8")
    assert "python -m autograd_lite.tutor check my_engine.py" in chapter
    for path in ("docs/build-your-own/my_engine.py", "docs/build-your-own/solution.py"):
        assert path in chapter
        assert (REPO / path).is_file()
    headed = re.findall(r"\*\*Exercises? ([^*]+)\.\*\*", chapter)
    numbers = {n for heading in headed for n in re.findall(r"\d[a-c]?", heading)}
    assert numbers == {e.number for e in tutor.EXERCISES}


# ---------------------------------------------------------------------------------------------
# Planted mistakes: each is caught, with the smallest case and a readable message
# ---------------------------------------------------------------------------------------------

RECURSIVE_SORT = """def topological_order(root):
    order = []
    visited = set()

    def visit(node):
        if node not in visited:
            visited.add(node)
            for parent in node.parents:
                visit(parent)
            order.append(node)

    visit(root)
    return order
"""

PRE_ORDER_SORT = """def topological_order(root):
    order = []
    visited = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node not in visited:
            visited.add(node)
            order.append(node)
            stack.extend(node.parents)
    order.reverse()
    return order
"""

SORT_WITHOUT_VISITED = """def topological_order(root):
    order = []
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        else:
            stack.append((node, True))
            for parent in node.parents:
                stack.append((parent, False))
    return order
"""

PATHS_SWEEP = """def backward(root):
    for node in topological_order(root):
        node.grad = 0.0
    root.grad = 1.0
    push(root)


def push(node):
    for parent, partial in zip(node.parents, node.partials):
        parent.grad += partial * node.grad
        push(parent)
"""


def test_wrong_sign_in_a_rule_is_caught(tmp_path: Path) -> None:
    """tanh's derivative written as tanh² − 1: caught at the smallest point, 0.0."""
    path = planted(tmp_path, "(1.0 - out * out,)", "(out * out - 1.0,)")
    report = tutor.check(path, only=["1b"], examples=FEW)
    result = outcome(report, "tanh_rule")
    assert result.status == "failed"
    text = said(report.text())
    assert "Smallest failing case: tanh_rule(0.0)" in text
    assert "your d/dx: -1.0, right: 1.0 <-- wrong" in text
    assert "It has the opposite sign." in text
    assert "gradcheck(): the engine's gradient disagrees" in text
    assert "Fix exercise 1b (tanh_rule) first" in text


def test_wrong_sign_of_the_divisor_partial_is_caught(tmp_path: Path) -> None:
    """d/dy (x/y) written as +x/y²: the message marks d/dy, not d/dx."""
    path = planted(tmp_path, "-x / (y * y)", "x / (y * y)")
    text = said(tutor.check(path, only=["div_rule"], examples=FEW).text())
    assert "Smallest failing case: div_rule(" in text
    assert re.search(r"your d/dy: \S+, right: \S+ <-- wrong", text)
    assert not re.search(r"your d/dx: \S+, right: \S+ <-- wrong", text)


def test_exp_rule_returning_its_input_as_the_derivative_is_caught(tmp_path: Path) -> None:
    """The ports' classic: exp's local derivative must be the output, not x."""
    path = planted(tmp_path, "    return out, (out,)", "    return out, (x,)")
    report = tutor.check(path, only=["exp_rule"], examples=FEW)
    assert outcome(report, "exp_rule").status == "failed"
    assert "<-- wrong" in report.text()


def test_recursive_sort_is_caught_on_a_deep_graph(tmp_path: Path) -> None:
    """Right on small graphs, a recursive sort fails on the 10,000-operation chain, and the
    message says why and what to do instead."""
    path = replaced_function(tmp_path, "topological_order", RECURSIVE_SORT)
    report = tutor.check(path, only=["2"], examples=FEW)
    result = outcome(report, "topological_order")
    assert result.status == "failed" and result.summary == "fails on a deep graph"
    text = said(report.text())
    assert "RecursionError" in text and "explicit stack" in text
    assert "in visit: visit(parent)" in text  # the learner's own line


def test_wrong_order_sort_is_caught(tmp_path: Path) -> None:
    """A pre-order walk puts a node before its parent: the smallest graph shows it."""
    path = replaced_function(tmp_path, "topological_order", PRE_ORDER_SORT)
    text = said(tutor.check(path, only=["2"], examples=FEW).text())
    assert "wrong order" in text
    assert "before its parent" in text
    assert "Smallest failing case: " in text


def test_sort_that_lists_shared_nodes_twice_is_caught(tmp_path: Path) -> None:
    """Without a visited set, x0 + x0 lists x0 twice."""
    path = replaced_function(tmp_path, "topological_order", SORT_WITHOUT_VISITED)
    text = said(tutor.check(path, only=["2"], examples=FEW).text())
    assert "Smallest failing case: out = x0 + x0 at x0 = " in text
    assert "lists x0 twice" in text and "Keep a set" in text


def test_double_counting_sweep_is_caught(tmp_path: Path) -> None:
    """A sweep that pushes along every path, each time with the node's running total, counts
    shared nodes more than once: caught on the smallest graph with a shared node."""
    path = replaced_function(tmp_path, "backward", PATHS_SWEEP)
    report = tutor.check(path, only=["3"], examples=FEW)
    result = outcome(report, "backward")
    assert result.status == "failed" and result.summary == "wrong gradients"
    text = said(report.text())
    assert "Smallest failing case: t0 = " in text and "out = t0 + t0" in text
    assert "It is too large: some contribution is counted more than once." in text
    assert "MISMATCH" in text


def test_sweep_that_overwrites_instead_of_adding_is_caught(tmp_path: Path) -> None:
    """`parent.grad = ...` loses one of the two edges of x0 + x0: half the right gradient."""
    path = planted(
        tmp_path, "parent.grad += partial * node.grad", "parent.grad = partial * node.grad"
    )
    text = said(tutor.check(path, only=["backward"], examples=FEW).text())
    assert "Smallest failing case: out = x0 + x0" in text
    assert "It is half the right value" in text


def test_sweep_that_does_not_start_afresh_is_caught(tmp_path: Path) -> None:
    """Without resetting the gradients, a second backward() adds onto the first one's."""
    path = planted(
        tmp_path,
        "node.grad = 0.0  # every gradient starts afresh",
        "pass  # no fresh start",
    )
    report = tutor.check(path, only=["3"], examples=FEW)
    assert outcome(report, "backward").summary == "wrong on a second call"
    assert "A second backward(out) on the same graph changed" in said(report.text())


def test_sweep_in_forward_order_is_caught(tmp_path: Path) -> None:
    """Walking the order forwards passes gradients on before they are complete."""
    path = planted(tmp_path, "for node in reversed(order):", "for node in order:")
    assert outcome(tutor.check(path, only=["3"], examples=FEW), "backward").status == "failed"


def test_momentum_that_multiplies_is_caught(tmp_path: Path) -> None:
    """The Q&A rule's mistake, velocity = beta·velocity·grad: the parameter never moves, and the
    message works the right step out."""
    path = planted(
        tmp_path,
        "velocity[i] = beta * velocity[i] + p.grad",
        "velocity[i] = beta * velocity[i] * p.grad",
    )
    report = tutor.check(path, only=["4"], examples=FEW)
    result = outcome(report, "momentum_step")
    assert result.status == "failed"
    text = said(report.text())
    assert "Smallest failing case: lr = " in text
    assert "velocity = beta·velocity + grad" in text
    assert "Your parameter did not move" in text and "multiplies" in text


def test_momentum_that_returns_a_new_list_is_caught(tmp_path: Path) -> None:
    """Velocity must be updated in place, or the next step starts from zero again."""
    path = replaced_function(
        tmp_path,
        "momentum_step",
        """def momentum_step(params, velocity, lr, beta):
    new = [beta * v + p.grad for v, p in zip(velocity, params)]
    for p, v in zip(params, new):
        p.data -= lr * v
    return new
""",
    )
    assert "instead of updating velocity in place" in said(
        tutor.check(path, only=["4"], examples=FEW).text()
    )


def test_failures_are_reproducible(tmp_path: Path) -> None:
    """Derandomized: two runs on the same file print the same report, case for case."""
    path = replaced_function(tmp_path, "topological_order", PRE_ORDER_SORT)
    assert (
        tutor.check(path, only=["2"], examples=FEW).text()
        == tutor.check(path, only=["2"], examples=FEW).text()
    )


def test_sweep_is_checked_even_when_the_sort_is_wrong(tmp_path: Path) -> None:
    """With a wrong sort the checker lends its own, so a right sweep still passes (and says so)."""
    path = replaced_function(tmp_path, "topological_order", PRE_ORDER_SORT)
    report = tutor.check(path, examples=FEW)
    assert outcome(report, "topological_order").status == "failed"
    backward = outcome(report, "backward")
    assert backward.status == "passed", report.text()
    assert "the checker's own topological_order" in backward.summary
    assert outcome(report, "Mazur's example").status == "skipped"


def test_graph_checks_leave_out_a_rule_that_is_wrong(tmp_path: Path) -> None:
    """A wrong exp rule fails exercise 1a only; the sort and the sweep are checked without exp."""
    path = planted(tmp_path, "    return out, (out,)", "    return out, (2 * out,)")
    report = tutor.check(path, examples=FEW)
    assert outcome(report, "exp_rule").status == "failed"
    for name in ("topological_order", "backward"):
        assert outcome(report, name).status == "passed"
        assert "without exp_rule" in outcome(report, name).summary


# ---------------------------------------------------------------------------------------------
# A learner's other mistakes: a message each, never a bare traceback
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "only", "expected"),
    [
        pytest.param(
            "    return out, (out,)",
            "    return out",
            "1a",
            "exp_rule(0.5) returned the number 1.6487212707001282; a rule returns a pair",
            id="rule-returns-a-number",
        ),
        pytest.param(
            "    return out, (out,)",
            "    return out, out",
            "1a",
            "the partials must be a tuple even for one input, (1.6487212707001282,) with its comma",
            id="partials-not-a-tuple",
        ),
        pytest.param(
            "return x / y, (1.0 / y, -x / (y * y))",
            "return x / y, (1.0 / y,)",
            "1c",
            "returned 1 partial(s); it needs 2, one per input",
            id="too-few-partials",
        ),
        pytest.param(
            "    return out, (out,)",
            "    out, (out,)",
            "1a",
            "exp_rule(0.5) returned None: did you forget `return`?",
            id="no-return",
        ),
        pytest.param(
            "    return out, (out,)",
            "    return out, (out * x / x,)",
            "1a",
            "Smallest failing case: exp_rule(0.0)",
            id="exception-inside-a-rule",
        ),
        pytest.param(
            "    return order\n",
            "",
            "2",
            "topological_order returned None; it must return a list (did you forget",
            id="sort-returns-nothing",
        ),
        pytest.param(
            "    return order\n",
            "    yield from order\n",
            "2",
            "topological_order returned a generator; it must return a list.",
            id="sort-returns-a-generator",
        ),
        pytest.param(
            "def momentum_step(params, velocity, lr, beta):",
            "def momentum_step(params, velocity, lr):\n    beta = 0.9",
            "4",
            "(the checker calls it as momentum_step(params, velocity, lr, beta), as the starter",
            id="wrong-signature",
        ),
        pytest.param(
            '    def exp(self):\n        return apply("exp", exp_rule, self)\n',
            "",
            "2",
            "AttributeError: 'Value' object has no attribute 'exp'",
            id="value-without-an-operator",
        ),
        pytest.param(
            "def tanh_rule(x):",
            "def tanhrule(x):",
            "1b",
            "has no `tanh_rule`: the checker calls it by that name. Did you rename it to"
            " `tanhrule`?",
            id="missing-function",
        ),
        pytest.param(
            "        self.parents = tuple(parents)",
            "        self.inputs = tuple(parents)",
            "2",
            "has no attribute `parents`: the checker reads a node's data, grad, parents and",
            id="value-renamed-parents",
        ),
    ],
)
def test_learner_mistakes_get_a_message(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    only: str,
    expected: str,
) -> None:
    """A wrong shape, a missing function or an exception: a message naming it, exit status 1."""
    path = planted(tmp_path, old, new)
    status, printed = run_main(["check", str(path), "--only", only], capsys)
    assert status == 1
    assert expected in said(printed), printed
    assert "Traceback" not in printed


@pytest.mark.parametrize(
    ("change", "expected", "status"),
    [
        pytest.param(
            ("def div_rule(x, y):", "def div_rule(x, y)"),
            [f"line {LINE_OF_DIV}: SyntaxError: expected ':'", "def div_rule(x, y)", "^"],
            1,
            id="syntax-error",
        ),
        pytest.param(
            ("import math", "import maths"),
            ["raised an error, so nothing could be checked", "ModuleNotFoundError", "line 7"],
            1,
            id="error-at-import",
        ),
        pytest.param(
            ("import math", "import math\nimport sys\nsys.exit(3)"),
            ["called exit() while it was loading"],
            1,
            id="exit-at-import",
        ),
        pytest.param(
            ("import math", "import math\nwhile True:\n    pass"),
            ["did not finish within 0.5 s: an endless loop at top level?"],
            1,
            id="endless-loop-at-import",
        ),
        pytest.param(
            ("def tanh_rule(x):\n", "def tanh_rule(x):\n    while True:\n        pass\n"),
            ["tanh_rule does not finish", "did not finish within 0.5 s: an endless loop"],
            1,
            id="endless-loop-in-a-rule",
        ),
    ],
)
def test_files_that_do_not_load_or_do_not_finish_get_a_message(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: tuple[str, str],
    expected: list[str],
    status: int,
) -> None:
    """Syntax errors, errors and exits at import, endless loops: each is told, with its line."""
    path = planted(tmp_path, *change)
    got, printed = run_main(["check", str(path), "--only", "1b", "--time-limit", "0.5"], capsys)
    assert got == status, printed
    for phrase in expected:
        assert phrase in said(printed), printed
    assert "Traceback" not in printed


def test_missing_file_says_how_to_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No such file: exit status 2, and the command that writes the starter there."""
    path = tmp_path / "my_engine.py"
    status, printed = run_main(["check", str(path)], capsys)
    assert status == 2
    assert "There is no file" in printed
    assert f"python -m autograd_lite.tutor start {path}" in said(printed)


# ---------------------------------------------------------------------------------------------
# `start`: the starter file, for a learner who has only the installed package
# ---------------------------------------------------------------------------------------------

PACKAGED_STARTER = REPO / "autograd_lite" / "_tutor_files" / "my_engine.py.txt"


def test_packaged_starter_is_the_chapters() -> None:
    """The starter shipped inside the package is docs/build-your-own/my_engine.py, byte for
    byte."""
    assert PACKAGED_STARTER.read_bytes() == STARTER.read_bytes(), (
        "the packaged starter differs from the chapter's: "
        "cp docs/build-your-own/my_engine.py autograd_lite/_tutor_files/my_engine.py.txt"
    )


def test_start_writes_the_starter_and_says_what_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`start` writes my_engine.py where the learner is (or at the path given, or into the folder
    given), the checker then finds every exercise to do, and the message names the next command."""
    monkeypatch.chdir(tmp_path)
    status, printed = run_main(["start"], capsys)
    assert status == 0, printed
    assert (tmp_path / "my_engine.py").read_bytes() == STARTER.read_bytes()
    assert "Write exp_rule first (exercise 1a" in printed
    assert printed.rstrip().endswith("python -m autograd_lite.tutor check my_engine.py")
    statuses = {o.name: o.status for o in tutor.check("my_engine.py").outcomes}
    assert statuses == {**{e.name: "todo" for e in tutor.EXERCISES}, "Mazur's example": "skipped"}

    (tmp_path / "work").mkdir()
    for argument, written in (("engine.py", "engine.py"), ("work", "work/my_engine.py")):
        status, printed = run_main(["start", argument], capsys)
        assert status == 0, printed
        assert (tmp_path / written).read_bytes() == STARTER.read_bytes()
        assert f"check {Path(written)}" in printed


def test_start_never_overwrites_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file already there is left alone (exit status 2, and how to check it or start over);
    --force replaces it; a folder that does not exist is named."""
    path = tmp_path / "my_engine.py"
    path.write_text("my work\n", encoding="utf-8")
    status, printed = run_main(["start", str(path)], capsys)
    assert status == 2
    assert path.read_text(encoding="utf-8") == "my work\n"
    assert "is there already, and is left as it is" in printed
    assert f"start {path} --force" in printed
    with pytest.raises(FileExistsError):
        tutor.start(path)
    status, printed = run_main(["start", str(path), "--force"], capsys)
    assert status == 0, printed
    assert path.read_bytes() == STARTER.read_bytes()
    status, printed = run_main(["start", str(tmp_path / "nowhere" / "my_engine.py")], capsys)
    assert status == 2
    assert f"there is no folder {tmp_path / 'nowhere'}" in printed
    assert "Traceback" not in printed
    with pytest.raises(TypeError, match="start\\(\\) force"):
        tutor.start(path, force=1)  # type: ignore[arg-type]


def test_the_wheel_ships_the_starter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The wheel holds the starter, and `start` works from the wheel alone: no checkout, no
    site-packages (the learner who ran pip install has it)."""
    hatchling = pytest.importorskip("hatchling.build", reason="the dev group installs hatchling")
    monkeypatch.chdir(REPO)  # hatchling builds the project it is run in
    wheel = tmp_path / hatchling.build_wheel(str(tmp_path))
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("autograd_lite/_tutor_files/my_engine.py.txt") == STARTER.read_bytes()
    learner = tmp_path / "learner"
    learner.mkdir()
    done = subprocess.run(
        [sys.executable, "-S", "-m", "autograd_lite.tutor", "start"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(wheel)},
        cwd=learner,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (learner / "my_engine.py").read_bytes() == STARTER.read_bytes()


def test_folder_and_undecodable_file_get_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder names the Python files in it; bytes that are not UTF-8 name their line."""
    (tmp_path / "engine.py").write_text("x = 1\n", encoding="utf-8")
    status, printed = run_main(["check", str(tmp_path)], capsys)
    assert status == 2 and "is a folder" in printed and "engine.py" in printed
    bad = tmp_path / "bad.py"
    bad.write_bytes(SOLUTION_TEXT.encode() + b"# caf\xe9\n")
    status, printed = run_main(["check", str(bad)], capsys)
    assert status == 1
    lines = SOLUTION_TEXT.count("\n") + 1
    assert f"line {lines}: the byte 0xe9 is not utf-8 text" in said(printed)
    assert "Traceback" not in printed


def test_unknown_exercise_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """--only with a name that is no exercise: argparse's usage message, exit status 2."""
    with pytest.raises(SystemExit) as stopped:
        tutor.main(["check", str(SOLUTION), "--only", "5"])
    assert stopped.value.code == 2
    assert "no exercise '5'; the exercises are 1a (exp_rule)" in capsys.readouterr().err


def test_checker_needs_neither_graphviz_nor_dot(tmp_path: Path) -> None:
    """With the graphviz package unimportable and no `dot` on PATH, the checker still works."""
    script = (
        "import sys; sys.modules['graphviz'] = None\n"
        "from autograd_lite.tutor import main\n"
        f"sys.exit(main(['check', {str(SOLUTION)!r}, '--only', '1a', '--only', '3']))\n"
    )
    env = {**os.environ, "PATH": str(tmp_path)}  # an empty folder: no dot to find
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All 2 exercises checked pass." in done.stdout


def test_a_fault_of_the_checker_is_told_as_such(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Even a bug in the checker itself gives one message, not a traceback: exit status 3."""

    def broken(*args: object, **kwargs: object) -> tutor.Report:
        raise LookupError("planted")

    monkeypatch.setattr(tutor, "check", broken)
    status, printed = run_main(["check", str(SOLUTION)], capsys)
    assert status == 3
    assert "the checker itself failed, not your code (LookupError: planted" in printed
    assert "Traceback" not in printed
