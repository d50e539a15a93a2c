"""The command line and its safe expression parser.

`python -m autograd_lite graph` is run both in-process (`main(argv)`) and as a real subprocess.
Gradients printed or built from parsed text are checked against mpmath's high-precision
numerical derivatives of the same formula written by hand, never against the engine itself.
"""

from __future__ import annotations

import doctest
import math
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite
import autograd_lite.expr
from autograd_lite import Value, topological_order
from autograd_lite.cli import PROG, main
from autograd_lite.expr import FUNCTIONS, ExpressionError, parse, parse_binding

SVG = "{http://www.w3.org/2000/svg}"
REPO = Path(__file__).resolve().parent.parent
mpmath.mp.dps = 40


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m autograd_lite ...` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "autograd_lite", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )


def printed(stdout: str) -> dict[str, float]:
    """The `name = number` lines the graph command prints, as numbers."""
    found = {}
    for line in stdout.splitlines():
        match = re.fullmatch(r"(f|df/d\w+) = (\S+)", line)
        if match:
            found[match.group(1)] = float(match.group(2))
    return found


def numeric_gradient(
    f: Callable[..., mpmath.mpf], point: dict[str, float]
) -> dict[str, mpmath.mpf]:
    """Each partial derivative of f at point, by mpmath's high-precision differences."""
    names = list(point)
    grads = {}
    for i, name in enumerate(names):
        order = tuple(1 if j == i else 0 for j in range(len(names)))
        grads[name] = mpmath.diff(f, [mpmath.mpf(point[n]) for n in names], order)
    return grads


# ---------------------------------------------------------------------------------------------
# The graph command, good input
# ---------------------------------------------------------------------------------------------


@pytest.mark.dot  # it writes an SVG
def test_graph_command_prints_value_and_gradients_and_draws(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's command: tanh(x*w + b) prints closed-form numbers and writes an SVG."""
    out = tmp_path / "graph.svg"
    status = main(["graph", "tanh(x*w + b)", "x=0.5", "w=-1.5", "b=0.1", "-o", str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert captured.err == ""
    numbers = printed(captured.out)
    y = math.tanh(0.5 * -1.5 + 0.1)
    slope = 1.0 - y * y  # d tanh(n)/dn
    expected = {"f": y, "df/dx": slope * -1.5, "df/dw": slope * 0.5, "df/db": slope}
    assert numbers.keys() == expected.keys()
    for key, value in expected.items():
        assert numbers[key] == pytest.approx(value, rel=1e-5), key
    assert f"wrote {out}" in captured.out

    svg = ET.parse(out).getroot()
    titles = [g.findtext(f"{SVG}title") for g in svg.iter(f"{SVG}g") if g.get("class") == "node"]
    values = [t for t in titles if t and t.startswith("v")]
    ops = [t for t in titles if t and t.startswith("op")]
    assert (len(values), len(ops)) == (6, 3)  # x, w, b, x*w, x*w + b, tanh(...)
    shown = {t.text for t in svg.iter(f"{SVG}text")}
    assert {"x", "w", "b", "x*w", "x*w + b", "tanh(x*w + b)", "tanh"} <= shown


@pytest.mark.dot  # it writes an SVG
def test_graph_command_in_a_subprocess(tmp_path: Path) -> None:
    """`python -m autograd_lite graph` runs as a program, with bindings before and after -o."""
    out = tmp_path / "neuron.svg"
    done = run_cli(
        "graph",
        "tanh(x1*w1 + x2*w2 + b)",
        "x1=2",
        "x2=0",
        "-o",
        str(out),
        "w1=-3",
        "w2=1",
        "b=6.8813735870195432",
        "--params",
        "w1,w2,b",
    )
    assert done.returncode == 0, done.stderr
    numbers = printed(done.stdout)
    assert numbers["f"] == pytest.approx(math.sqrt(0.5), rel=1e-5)
    # 1 - tanh^2 = 0.5 at this point; the gradients are 0.5 times the other factor.
    expected = {"df/dx1": -1.5, "df/dx2": 0.5, "df/dw1": 1.0, "df/dw2": 0.0, "df/db": 0.5}
    for key, value in expected.items():
        assert numbers[key] == pytest.approx(value, rel=1e-5, abs=1e-12), key
    assert ET.parse(out).getroot().tag == f"{SVG}svg"


def test_graph_command_writes_dot_text_without_graphviz(tmp_path: Path) -> None:
    """With an empty PATH, -o x.dot still works, and an SVG fails with install advice."""
    env = {**os.environ, "PATH": ""}
    dot = tmp_path / "g.dot"
    done = run_cli("graph", "log(x) / x", "x=2", "-o", str(dot), env=env)
    assert done.returncode == 0, done.stderr
    assert dot.read_text(encoding="utf-8").startswith("digraph autograd {")

    svg = tmp_path / "g.svg"
    done = run_cli("graph", "log(x) / x", "x=2", "-o", str(svg), env=env)
    assert done.returncode == 1
    for hint in ("apt-get install graphviz", "brew install graphviz", "conda install", ".dot"):
        assert hint in done.stderr
    assert not svg.exists() and "wrote" not in done.stdout
    # The numbers were computed before drawing: they are printed all the same.
    numbers = printed(done.stdout)
    assert numbers["f"] == pytest.approx(math.log(2) / 2, rel=1e-5)
    assert numbers["df/dx"] == pytest.approx((1 - math.log(2)) / 4, rel=1e-5)  # (1 - ln x)/x²


def test_graph_options_reach_the_drawing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--no-ops, --rankdir and --params change the DOT text the command writes."""
    out = tmp_path / "g.dot"
    argv = ["graph", "-o", str(out), "--no-ops", "--rankdir", "TB", "--params", "w"]
    assert main([*argv, "--", "-w*x", "w=2", "x=3"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "rankdir=TB" in text and not re.search(r"\bop\d+\b", text)
    assert re.search(r'label="-w\*x = [^"|]+ \|', text)  # the record names its op
    assert main(["graph", "-o", str(out), "--partials", "x*y", "x=2", "y=3"]) == 0
    assert re.findall(r'label="∂ ([0-9.]+)"', out.read_text(encoding="utf-8")) == ["3", "2"]
    assert main(["graph", "x*x", "x=3", "-o", str(out)]) == 0
    assert text != out.read_text(encoding="utf-8")
    capsys.readouterr()


# ---------------------------------------------------------------------------------------------
# The graph command, bad input: exit status 2 and a pointer at the problem
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message", "pointer"),
    [
        (["tanh(x*w + bb)", "x=1", "w=2"], "no value for 'bb'", "           ^^"),
        (["tanh(x*w", "x=1", "w=2"], "'(' was never closed", "    ^"),
        (["x +* 2", "x=1"], "invalid syntax", "   ^"),
        (["x.__class__", "x=1"], "attribute access (.) is not allowed", "^^^^^^^^^^^"),
        (["__import__('os').getcwd()"], "attribute access (.) is not allowed", "^" * 23),
        (["open('f')", "x=1"], "unknown function 'open'", "^^^^"),
        (["tanhh(x)", "x=1"], "did you mean tanh?", "^^^^^"),
        (["x // 2", "x=1"], "the operator // is not supported", "^^^^^^"),
        (["log(x)", "x=-1"], "log() needs a positive input, got -1.0", "^^^^^^"),
        (["x / (y - y)", "x=1", "y=2"], "division by zero", "^^^^^^^^^^^"),
        (["x * 2", "x=1", "z=3"], "'z' is given a value, but the expression has no 'z'", ""),
        (["x * 2", "x=abc"], "x= needs a number, got 'abc'", "  ^^^"),
        (["x * 2", "x=1", "x=2"], "x is given twice", ""),
        (["2 * 3"], "no variables", ""),
        (["x * 2", "x"], "expected NAME=NUMBER", ""),
        (["x", "x=1", "--params", "w"], "--params names 'w'", ""),
    ],
)
def test_bad_input_exits_2_pointing_at_the_problem(
    argv: list[str], message: str, pointer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each mistake prints one error naming it, with carets under the culprit, and exits 2."""
    status = main(["graph", *argv, "-o", "never-written.svg"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    first, *rest = captured.err.splitlines()
    assert first.startswith("python -m autograd_lite graph: error: ")
    assert message in first
    if pointer:
        assert rest[1] == "  " + pointer, captured.err
    assert not Path("never-written.svg").exists()


def test_bad_expression_in_a_subprocess() -> None:
    """As a program, a bad expression exits 2 with the expression and a caret on stderr."""
    done = run_cli("graph", "tanh(x*w + 2**)", "x=1", "w=2", "-o", "never-written.svg")
    assert done.returncode == 2
    assert "invalid syntax" in done.stderr
    assert "  tanh(x*w + 2**)\n" in done.stderr and "^" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    "argv",
    [[], ["nonsense"], ["graph"], ["graph", "x", "x=1", "--bogus"], ["graph", "x", "--rankdir=UP"]],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Missing command, unknown command or option, bad choice: argparse's usage error, status 2."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_too_many_nodes_for_max_nodes(capsys: pytest.CaptureFixture[str]) -> None:
    """--max-nodes smaller than the graph: a clear error, status 2, no file."""
    status = main(["graph", "x*y + y", "x=1", "y=2", "--max-nodes", "3", "-o", "never.svg"])
    assert status == 2
    assert "more than --max-nodes=3" in capsys.readouterr().err
    assert not Path("never.svg").exists()


# ---------------------------------------------------------------------------------------------
# The parser: gradients through the parsed graph, against mpmath
# ---------------------------------------------------------------------------------------------


def _sigmoid(x: mpmath.mpf) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-x))


# Each expression, its formula written by hand for mpmath, and a point off every kink.
ORACLE_CASES: list[tuple[str, Callable[..., mpmath.mpf], dict[str, float]]] = [
    ("tanh(x*w + b)", lambda x, w, b: mpmath.tanh(x * w + b), {"x": 0.5, "w": -1.5, "b": 0.1}),
    (
        "log(x) / x + sqrt(x) * sin(w) - cos(x*w)",
        lambda x, w: mpmath.log(x) / x + mpmath.sqrt(x) * mpmath.sin(w) - mpmath.cos(x * w),
        {"x": 1.7, "w": 0.4},
    ),
    (
        "sigmoid(x) * softplus(w) - relu(x - w) + leaky_relu(w - 2, 0.2) + abs(x)",
        lambda x, w: (
            _sigmoid(x) * mpmath.log(1 + mpmath.exp(w)) - max(x - w, 0) + 0.2 * (w - 2) + abs(x)
        ),
        {"x": 1.3, "w": 0.6},
    ),
    (
        "dot([w1, w2], [x, 2]) ** 2 + sum(x, w1, 3) - exp(-x) + log1p(w2)",
        lambda w1, w2, x: (
            (w1 * x + w2 * 2) ** 2 + (x + w1 + 3) - mpmath.exp(-x) + mpmath.log(1 + w2)
        ),
        {"w1": 0.3, "w2": -0.7, "x": 1.1},
    ),
    (
        "2 ** x - x ** 3 / (1 + w*w) + x ** w - -x",
        lambda x, w: 2**x - x**3 / (1 + w * w) + x**w + x,
        {"x": 1.4, "w": -0.8},
    ),
]


@pytest.mark.parametrize(("text", "formula", "point"), ORACLE_CASES)
def test_parsed_gradients_match_mpmath(
    text: str, formula: Callable[..., mpmath.mpf], point: dict[str, float]
) -> None:
    """The graph built from the text has mpmath's value and partial derivatives."""
    expression = parse(text)
    assert set(expression.names) == set(point)
    leaves = {name: Value(value, label=name) for name, value in point.items()}
    y = expression.evaluate(leaves)
    y.backward()
    value = formula(*[mpmath.mpf(point[n]) for n in point])
    assert y.data == pytest.approx(float(value), rel=1e-12)
    for name, numeric in numeric_gradient(formula, point).items():
        analytic = leaves[name].grad
        assert analytic == pytest.approx(float(numeric), rel=1e-9, abs=1e-12), (
            f"{text}: d/d{name} analytic {analytic!r} numeric {float(numeric)!r}"
        )


def test_precedence_follows_python() -> None:
    """-x**2 is -(x**2), ** binds right to left, - and / associate to the left."""
    x, y, z = 3.0, 2.0, 0.5
    cases = {
        "-x**2": -(x**2),
        "x**y**z": x ** (y**z),
        "x - y - z": (x - y) - z,
        "x / y / z": (x / y) / z,
        "2*x**-1": 2 * x**-1,
        "+x - -y": x + y,
    }
    for text, expected in cases.items():
        expression = parse(text)
        values = {name: {"x": x, "y": y, "z": z}[name] for name in expression.names}
        assert expression.evaluate(values).data == expected, text


def test_numbers_alone_fold_into_one_constant() -> None:
    """x * (2 + 3) has a single constant node 5, not the 2, the 3 and a sum."""
    y = parse("x * (2 + 3) + exp(0)").evaluate({"x": 1.0})
    nodes = topological_order(y)
    constants = sorted(node.data for node in nodes if node.op == "const")
    assert constants == [1.0, 5.0]
    a, b = Value(1.0), Value(2.0)
    assert [node.op for node in nodes if node.parents] == [(a * b).op, (a + b).op]


def test_names_are_listed_in_order_of_appearance() -> None:
    """Expression.names: each variable once, where it first appears; function names excluded."""
    assert parse("tanh(w*x + b) * x + exp(w)").names == ("w", "x", "b")


def test_labels_name_each_piece_of_the_expression() -> None:
    """evaluate(labels=True) labels results by their text; +x leaves x's own label alone."""
    y = parse("tanh(x*w + 1) + +x").evaluate({"x": 2.0, "w": 3.0}, labels=True)
    # Computed nodes in the sweep's order; leaves (x, w, the constant 1) by their labels.
    order = topological_order(y)
    assert [n.label for n in order if not n.is_leaf] == [
        "x*w",
        "x*w + 1",
        "tanh(x*w + 1)",
        "tanh(x*w + 1) + +x",
    ]
    assert sorted(n.label for n in order if n.is_leaf) == ["", "w", "x"]
    unlabelled = Value(2.0)
    parse("+x * 2").evaluate({"x": unlabelled}, labels=True)
    assert unlabelled.label == ""  # +x is x itself, not a new node to name
    long = parse("x + x + x + x + x + x + x + x + x").evaluate({"x": 1.0}, labels=True)
    assert long.label == "x + x + x + x + x + x +…" and len(long.label) == 24


def test_evaluation_is_iterative() -> None:
    """A 900-term sum (as deep as Python's own parser allows here) evaluates without recursion."""
    text = " + ".join(["x"] * 900)
    y = parse(text).evaluate({"x": 1.0})
    y.backward()
    assert y.data == 900.0


def test_absurd_nesting_is_a_clear_error() -> None:
    """Nesting beyond Python's parser gives ExpressionError, not a RecursionError."""
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse(" + ".join(["x"] * 20_000))
    with pytest.raises(ExpressionError, match="too many nested parentheses"):
        parse("(" * 500 + "x" + ")" * 500)


@pytest.mark.parametrize(
    ("text", "message", "column", "width"),
    [
        ("x if x else 1", "if/else is not allowed", 0, 13),
        ("x < 1", "a comparison is not allowed", 0, 5),
        ("x and 1", "and/or is not allowed", 0, 7),
        ("lambda: x", "lambda is not allowed", 0, 9),
        ("x[0]", "indexing ([]) is not allowed", 0, 4),
        ("(x, 1)", "a tuple is not allowed", 0, 6),
        ("'text' * x", "only real numbers are allowed as constants, got 'text'", 0, 6),
        ("1j * x", "got 1j", 0, 2),
        ("True * x", "got True", 0, 4),
        ("1e999 * x", "too large for a float", 0, 5),
        ("x @ x", "the operator @ is not supported", 0, 5),
        ("~x", "the operator ~ is not supported", 0, 2),
        ("exp + x", "exp is a function: call it, as in exp(x)", 0, 3),
        ("x.exp()", "attribute access (.) is not allowed", 0, 5),
        ("exp(x, 2)", "exp() takes 1 argument, got 2", 0, 9),
        ("exp(x=1)", "exp() takes no keyword arguments", 6, 1),
        ("leaky_relu(x, x)", "slope must be a number", 0, 16),
        ("leaky_relu()", "takes 1 to 2 arguments", 0, 12),
        ("sum()", "sum() needs at least 1 argument", 0, 5),
        ("dot(x, x)", "dot() takes two lists", 0, 9),
        ("dot([x], [x, x])", "got 1 and 2", 0, 16),
        ("[x] * 2", "a list is only allowed as an argument of dot()", 0, 3),
        ("exp(*x)", "unpacking (*) is not allowed", 4, 2),
        ("(y := x)", "assignment (:=) is not allowed", 1, 6),
        ("[x for x in y]", "a comprehension is not allowed", 0, 14),
        ("x ++ ", "invalid syntax", 5, 1),
        ("   x * ", "invalid syntax", 7, 1),
        ("", "the expression is empty", None, 1),
        ("x\n+ 1", "on one line", None, 1),
        ("é * x + é(x)", "unknown function 'é'", 8, 1),
    ],
)
def test_whitelist_refuses_everything_else(
    text: str, message: str, column: int | None, width: int
) -> None:
    """Anything but numbers, names, + - * / **, unary +/- and known calls: error with a column."""
    with pytest.raises(ExpressionError) as info:
        expression = parse(text)
        expression.evaluate(dict.fromkeys(expression.names, 1.0))
    error = info.value
    assert message in str(error)
    assert (error.column, error.width) == (column, width), error.pointer()


def test_every_function_is_callable_from_text() -> None:
    """Each name in FUNCTIONS builds the op of the same name."""
    for name in FUNCTIONS:
        # The first call form this function accepts (one input; an input and constants; lists).
        forms = [f"{name}(x)", f"{name}(x, 0.25)", f"{name}(x, 0.25, 0.75)", f"{name}([x], [x])"]
        forms.append(f"{name}([x], 0)")
        for text in forms:
            try:
                y = parse(text).evaluate({"x": 0.5})
            except ExpressionError:
                continue
            assert isinstance(y, Value) and y.op == name, (text, y)
            break
        else:
            pytest.fail(f"{name}: none of {forms} is accepted")


def test_bindings() -> None:
    """NAME=NUMBER parses; anything else is an ExpressionError that says what is expected."""
    assert parse_binding("x=0.5") == ("x", 0.5)
    assert parse_binding("w_2=-1e-3") == ("w_2", -0.001)
    for bad in ("x", "=1", "2x=1", "x-y=1", "if=1"):
        with pytest.raises(ExpressionError, match="expected NAME=NUMBER"):
            parse_binding(bad)
    with pytest.raises(ExpressionError, match="'exp' is a function name"):
        parse_binding("exp=1")
    with pytest.raises(ExpressionError, match="x= needs a number, got '1,5'"):
        parse_binding("x=1,5")


def test_parse_never_runs_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Text that would write a file under eval() is refused and writes nothing."""
    monkeypatch.chdir(tmp_path)
    attacks = [
        "open('pwned', 'w').write('x')",
        "__import__('pathlib').Path('pwned').touch()",
        "().__class__.__bases__[0].__subclasses__()",
        "exp(open('pwned', 'w'))",
    ]
    for text in attacks:
        with pytest.raises(ExpressionError):
            parse(text).evaluate({})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.dot  # it redraws the README's SVG
def test_readme_picture_is_what_its_command_draws(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/images/neuron.svg shows the very labels its recorded command draws today."""
    committed = REPO / "docs" / "images" / "neuron.svg"
    fresh = tmp_path / "neuron.svg"
    argv = ["graph", "tanh(x1*w1 + x2*w2 + b)", "x1=2", "x2=0", "w1=-3", "w2=1"]
    argv += ["b=6.8813735870195432", "--params", "w1,w2,b", "--rankdir", "TB", "-o", str(fresh)]
    assert main(argv) == 0
    printed_now = capsys.readouterr().out.replace(str(fresh), "docs/images/neuron.svg")

    def shown(path: Path) -> list[str]:
        # Text and colours, not coordinates: those may differ between Graphviz versions.
        root = ET.parse(path).getroot()
        words = [t.text or "" for t in root.iter(f"{SVG}text")]
        fills = [p.get("fill", "") for p in root.iter(f"{SVG}polygon")]
        return sorted(words) + sorted(fills)

    assert shown(committed) == shown(fresh)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "--params w1,w2,b --rankdir TB -o docs/images/neuron.svg" in readme
    assert f"```text\n{printed_now}```" in readme  # the output the README shows


def test_readme_error_example_is_what_the_command_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README's example of a mistake shows exactly what the command writes to stderr."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```text\n\$ python -m autograd_lite (.*?)\n(.*?)```", readme, re.S)
    assert example is not None
    command, shown = example.groups()
    assert command == 'graph "tanh(x*w + bb)" x=0.5 w=-1.5'
    assert main(["graph", "tanh(x*w + bb)", "x=0.5", "w=-1.5"]) == 2
    assert capsys.readouterr().err == shown


def test_docstring_examples_run() -> None:
    """The examples in the parser's docstrings are true."""
    result = doctest.testmod(autograd_lite.expr)
    assert result.failed == 0 and result.attempted >= 2


def test_without_the_graphviz_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No graphviz package: an SVG fails naming the `viz` extra (status 1); .dot still works."""
    from autograd_lite.viz import _digraph_class

    _digraph_class.cache_clear()
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    try:
        assert main(["graph", "x*x", "x=3", "-o", str(tmp_path / "g.svg")]) == 1
        captured = capsys.readouterr()
        assert "pip install 'autograd-lite[viz]'" in captured.err and "-o graph.dot" in captured.err
        assert main(["graph", "x*x", "x=3", "-o", str(tmp_path / "g.dot")]) == 0
        assert (tmp_path / "g.dot").exists() and not (tmp_path / "g.svg").exists()
    finally:
        _digraph_class.cache_clear()


# ---------------------------------------------------------------------------------------------
# The program's name and version; hostile input; failures to draw
# ---------------------------------------------------------------------------------------------


def test_version_has_one_source(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the program's name and autograd_lite.__version__."""
    with pytest.raises(SystemExit) as info:
        main(["--version"], prog="autograd-lite")
    assert info.value.code == 0
    assert capsys.readouterr().out == f"autograd-lite {autograd_lite.__version__}\n"


def test_the_console_script_names_itself() -> None:
    """Run as `autograd-lite`, usage and errors say autograd-lite, not python -m ..."""
    script = Path(sys.executable).with_name("autograd-lite")
    if script.exists():  # installed: the entry point itself
        command = [str(script)]
    else:  # a checkout run without installing: what the entry point does
        code = "import sys; from autograd_lite.cli import main; sys.exit(main())"
        command = [sys.executable, "-c", code]
        pytest.importorskip("autograd_lite")  # keeps the skip honest if even that is missing
    env = {**os.environ}
    done = subprocess.run([*command, "graph"], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2
    name = "autograd-lite" if script.exists() else PROG
    assert f"usage: {name} graph" in done.stderr
    version = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    assert version.stdout == f"{name} {autograd_lite.__version__}\n"
    module = run_cli("graph", "x +", "x=1")
    assert module.stderr.startswith("python -m autograd_lite graph: error: ")


def test_undecodable_bytes_get_a_message_not_a_traceback() -> None:
    """Bytes that are not UTF-8 (x\\xff) in the expression or a binding: status 2, a pointer."""
    for argv in ([b"graph", b"x\xff", b"x=1"], [b"graph", b"x*2", b"x=1\xfe"]):
        done = subprocess.run(
            [sys.executable, "-m", "autograd_lite", *argv],
            capture_output=True,
            cwd=REPO,
            timeout=60,
        )
        stderr = done.stderr.decode("utf-8", "backslashreplace")
        assert done.returncode == 2, stderr
        assert "Traceback" not in stderr
        assert "is not text in this terminal's encoding" in stderr
        assert done.stdout == b""


# The pieces fuzzed command lines are made of: valid, hostile and odd.
TOKENS = [
    "graph",
    "x",
    "y",
    "x=1",
    "y=-2.5",
    "x=0",
    "x=1e308",
    "y=nan",
    "x=abc",
    "=",
    "x=",
    "tanh(x)",
    "x*y",
    "x/y",
    "log(x)",
    "x**y",
    "(",
    ")",
    "x +",
    "-x",
    "--",
    "-o",
    "g.dot",
    "g.svg",
    "g.xyz",
    "--params",
    "x",
    "x,y",
    "--rankdir",
    "TB",
    "UP",
    "--no-ops",
    "--partials",
    "--max-nodes",
    "2",
    "0",
    "-1",
    "--timeout",
    "0",
    "1e-9",
    "inf",
    "--version",
    "--help",
    "x\udcff",
    "\x00",
    "é",
    "𝑥",
    "exp(exp(exp(x)))",
    "x" * 300,
    "((((((x))))))",
    "__import__('os')",
    "x.y",
    "[x]",
    "dot([x],[y])",
    "sum()",
    "1" * 400,
    "x=" + "9" * 400,
]


# What the command line gets from arbitrary bytes: Python decodes argv with surrogateescape.
ARGV_BYTES = st.binary(max_size=8).map(os.fsdecode)
PIECES = st.sampled_from(TOKENS) | ARGV_BYTES | st.text(max_size=6)


@settings(max_examples=500, deadline=None)
@given(argv=st.tuples(PIECES, st.lists(PIECES, max_size=6)).map(lambda t: [t[0], *t[1]]))
def test_fuzzed_command_lines_never_raise(argv: list[str]) -> None:
    """Any argument list: exit status 0, 1 or 2 with a message, never a traceback."""
    import io

    def stream(errors: str) -> io.TextIOWrapper:
        return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors=errors)

    # As Python sets them up in a UTF-8 terminal: stdout cannot print a lone surrogate,
    # stderr escapes it.
    out, err = stream("strict"), stream("backslashreplace")
    with tempfile.TemporaryDirectory() as folder:
        old = os.getcwd()
        os.chdir(folder)
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        try:
            status = main(["graph", *argv])
        except SystemExit as exit:  # argparse: usage errors, --help and --version
            status = exit.code if isinstance(exit.code, int) else 2
        finally:
            sys.stdout, sys.stderr = saved
            os.chdir(old)
    assert status in (0, 1, 2)
    for written in (out, err):
        written.flush()
    if status != 0:
        assert err.buffer.getvalue(), argv  # type: ignore[attr-defined]


def test_a_drawing_that_times_out_still_prints_the_gradients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A layout past --timeout: status 1, the numbers on stdout, the hint on stderr."""
    folder = tmp_path / "bin"
    folder.mkdir()
    fake = folder / "dot"
    fake.write_text("#!/bin/sh\nexec sleep 60\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "g.svg"
    status = main(["graph", "x * y", "x=2", "y=3", "-o", str(out), "--timeout", "0.5"])
    captured = capsys.readouterr()
    assert status == 1
    assert printed(captured.out) == {"f": 6.0, "df/dx": 3.0, "df/dy": 2.0}
    assert "within 0.5 s" in captured.err and "--no-ops" in captured.err
    assert not out.exists()


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_a_bad_timeout_is_a_usage_error(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--timeout takes a positive number of seconds."""
    with pytest.raises(SystemExit) as info:
        main(["graph", "x", "x=1", "--timeout", value, "-o", "never-written.dot"])
    assert info.value.code == 2
    assert "--timeout" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# The sweep command: the grammar and the messages of `graph`, and a page
# ---------------------------------------------------------------------------------------------


def frame_numbers(page: Path) -> list[int]:
    """The data-frame numbers of a sweep page, in order."""
    text = page.read_text(encoding="utf-8")
    return [int(k) for k in re.findall(r'<section class="frame" data-frame="(\d+)"', text)]


def test_sweep_command_prints_the_gradients_and_writes_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """sweep prints what graph prints (closed-form numbers) and writes a page, a frame per Value."""
    out = tmp_path / "sweep.html"
    status = main(["sweep", "tanh(x*w + b)", "x=0.5", "w=-1.5", "b=0.1", "-o", str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert captured.err == ""
    y = math.tanh(0.5 * -1.5 + 0.1)
    slope = 1.0 - y * y
    expected = {"f": y, "df/dx": slope * -1.5, "df/dw": slope * 0.5, "df/db": slope}
    numbers = printed(captured.out)
    assert numbers.keys() == expected.keys()
    for key, value in expected.items():
        assert numbers[key] == pytest.approx(value, rel=1e-5), key
    assert f"wrote {out}: the backward sweep in 7 frames (6 Values, 5 multiply-adds)" in (
        captured.out
    )
    assert frame_numbers(out) == list(range(7))  # x, w, x*w, b, x*w + b, tanh
    assert "Backward sweep of f = tanh(x*w + b)" in out.read_text(encoding="utf-8")


def test_sweep_forward_prints_one_derivative(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--forward w: the derivative with respect to w alone, from a forward sweep's page."""
    out = tmp_path / "forward.html"
    argv = ["sweep", "x / y - x", "x=1", "y=2", "--forward", "y", "-o", str(out)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert printed(captured.out) == {"f": -0.5, "df/dy": pytest.approx(-0.25)}  # -x / y²
    assert "the forward sweep in 5 frames (4 Values, 2 multiply-adds)" in captured.out
    text = out.read_text(encoding="utf-8")
    assert "Forward sweep of f = x / y - x, from y" in text


def test_sweep_frames_are_svg_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--frames DIR writes one SVG per frame (DIR is created), each a valid SVG document."""
    folder = tmp_path / "slides" / "frames"
    argv = ["sweep", "x*x", "x=3", "-o", str(tmp_path / "s.html"), "--frames", str(folder)]
    assert main(argv) == 0
    assert f"wrote 3 frames to {folder} (frame-000.svg to frame-002.svg)" in capsys.readouterr().out
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == ["frame-000.svg", "frame-001.svg", "frame-002.svg"]
    for f in files:
        assert ET.parse(f).getroot().tag == f"{SVG}svg"


def test_sweep_in_a_subprocess(tmp_path: Path) -> None:
    """As a program: bindings after -o, the page written, nothing on stderr."""
    out = tmp_path / "neuron.html"
    done = run_cli("sweep", "tanh(x1*w1 + x2*w2 + b)", "x1=2", "x2=0", "-o", str(out), "w1=-3",
                   "w2=1", "b=6.8813735870195432")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert printed(done.stdout)["df/dw1"] == pytest.approx(1.0, rel=1e-5)  # 0.5 * x1
    assert frame_numbers(out) == list(range(11))


# The mistakes of test_bad_input_exits_2_pointing_at_the_problem, and two of sweep's own options.
SWEEP_MISTAKES = [
    ["tanh(x*w + bb)", "x=1", "w=2"],
    ["tanh(x*w", "x=1", "w=2"],
    ["x +* 2", "x=1"],
    ["x.__class__", "x=1"],
    ["__import__('os').getcwd()"],
    ["open('f')", "x=1"],
    ["tanhh(x)", "x=1"],
    ["x // 2", "x=1"],
    ["log(x)", "x=-1"],
    ["x / (y - y)", "x=1", "y=2"],
    ["x * 2", "x=1", "z=3"],
    ["x * 2", "x=abc"],
    ["x * 2", "x=1", "x=2"],
    ["2 * 3"],
    ["x * 2", "x"],
]


@pytest.mark.parametrize("argv", SWEEP_MISTAKES)
def test_sweep_gets_what_graph_gives_bad_input(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Each mistake: the same message and pointer as graph's, status 2, no page."""
    assert main(["graph", *argv, "-o", "never-written.svg"]) == 2
    from_graph = capsys.readouterr()
    assert main(["sweep", *argv, "-o", "never-written.html"]) == 2
    from_sweep = capsys.readouterr()
    assert from_sweep.out == from_graph.out == ""
    assert from_sweep.err == from_graph.err.replace(f"{PROG} graph:", f"{PROG} sweep:", 1)
    assert from_sweep.err.startswith(f"{PROG} sweep: error: ")
    assert not Path("never-written.html").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["x*y", "x=1", "y=2", "--forward", "z"], "--forward names 'z', which is not a variable"),
        (["x*y", "x=1", "y=2", "-o", "s.svg"], "-o needs a file name ending in .html, got 's.svg'"),
        (["x*y", "x=1", "y=2", "--forward", "x\udcff"], "is not text in this terminal's encoding"),
    ],
)
def test_sweep_options_are_checked(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--forward must name a variable given a value; -o must name an HTML page."""
    assert main(["sweep", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert not Path("s.svg").exists() and not Path("sweep.html").exists()


def test_sweep_refuses_a_graph_too_large(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """More Values than --max-nodes: the numbers, then a message and status 2, no page."""
    out = tmp_path / "big.html"
    text = " + ".join(["x"] * 400)  # 400 Values: past the default limit of 300
    assert main(["sweep", text, "x=1", "-o", str(out)]) == 2
    captured = capsys.readouterr()
    assert printed(captured.out)["df/dx"] == 400.0
    assert "more than --max-nodes=300 values" in captured.err
    assert not out.exists()
    assert main(["sweep", "tanh(x)", "x=1", "--max-nodes", "1", "-o", str(out)]) == 2
    assert "more than --max-nodes=1" in capsys.readouterr().err
    assert main(["sweep", text, "x=1", "--max-nodes", "500", "-o", str(out)]) == 0
    assert len(frame_numbers(out)) == 401
    capsys.readouterr()


def test_sweep_that_cannot_write_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A page or a frame folder that cannot be written: status 1, the numbers printed before."""
    missing = tmp_path / "no" / "such" / "folder" / "s.html"
    assert main(["sweep", "x * x", "x=3", "-o", str(missing)]) == 1
    captured = capsys.readouterr()
    assert printed(captured.out)["df/dx"] == 6.0
    assert f"cannot write the page {str(missing)!r}: No such file or directory" in captured.err
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    argv = ["sweep", "x * x", "x=3", "-o", str(tmp_path / "s.html"), "--frames", str(blocker)]
    assert main(argv) == 1
    assert f"cannot write the frames into {str(blocker)!r}" in capsys.readouterr().err


@settings(max_examples=200, deadline=None)
@given(
    argv=st.lists(PIECES | st.sampled_from(["--forward", "--frames", "f", "s.html"]), max_size=7)
)
def test_fuzzed_sweep_command_lines_never_raise(argv: list[str]) -> None:
    """Any argument list after `sweep`: status 0, 1 or 2 with a message, never a traceback."""
    import io

    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
    with tempfile.TemporaryDirectory() as folder:
        old = os.getcwd()
        os.chdir(folder)
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        try:
            status = main(["sweep", *argv])
        except SystemExit as exit:  # argparse: usage errors, --help and --version
            status = exit.code if isinstance(exit.code, int) else 2
        finally:
            sys.stdout, sys.stderr = saved
            os.chdir(old)
    assert status in (0, 1, 2)
    err.flush()
    if status != 0:
        assert err.buffer.getvalue(), argv
