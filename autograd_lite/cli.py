"""The command line: ``autograd-lite <command> ...`` or ``python -m autograd_lite <command> ...``.

Two subcommands: ``graph`` parses an expression safely (`autograd_lite.expr`), runs it forward
and backward, prints the value and gradients, and draws the graph (`autograd_lite.viz`);
``sweep`` does the same parsing and writes a page that steps through the backward (or forward)
sweep, node by node (`autograd_lite.viz.sweep_page`). Add a command by writing
``_add_<name>(subparsers)``, which ends with ``parser.set_defaults(run=_run_<name>)``, and
``_run_<name>(args, io) -> int``, then listing ``_add_<name>`` in `COMMANDS`. Every input gets
a message and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TextIO

from autograd_lite.engine import Value
from autograd_lite.expr import FUNCTIONS, ExpressionError, parse, parse_binding
from autograd_lite.sweeps import backward_sweep, forward_sweep
from autograd_lite.viz import (
    DOT_TIMEOUT,
    INSTALL_GRAPHVIZ,
    MAX_NODES,
    MAX_SWEEP_NODES,
    RANKDIRS,
    GraphTooLargeError,
    GraphvizNotFoundError,
    LayoutTimeoutError,
    render,
    sweep_page,
)

__all__ = ["PROG", "main"]

PROG: Final = "python -m autograd_lite"

# Exit statuses: 2 for a bad command line or expression (as argparse), 1 for a failure to draw.
USAGE_ERROR: Final = 2
FAILURE: Final = 1
INTERRUPTED: Final = 130  # what a shell reports for Ctrl-C

Subparsers = argparse._SubParsersAction  # argparse names no public type for it


@dataclass(frozen=True)
class _IO:
    """Where a command writes, and the name it calls itself in messages."""

    out: TextIO
    err: TextIO
    prog: str

    def say(self, text: str) -> None:
        """Write a line to out, escaping what its encoding cannot show."""
        _write(self.out, text + "\n")

    def error(self, command: str, message: str, pointer: str = "") -> None:
        """Write ``PROG COMMAND: error: message`` to err, then the pointer lines, indented."""
        _write(self.err, f"{self.prog} {command}: error: {message}\n")
        if pointer:
            _write(self.err, "".join(f"  {line}\n" for line in pointer.splitlines()))


def _write(stream: TextIO, text: str) -> None:
    """Write text; characters the stream's encoding lacks (a lone surrogate) come out escaped."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Run the command line with argv (default: sys.argv[1:]); return the exit status.

    ``prog`` is the name shown in usage and messages: by default the program's own name
    (``autograd-lite`` for the console script) when argv comes from the command line, and
    ``python -m autograd_lite`` when argv is given.
    """
    if prog is None:
        prog = _program_name() if argv is None else PROG
    io = _IO(sys.stdout, sys.stderr, prog)
    try:
        return _main(argv, io)
    except KeyboardInterrupt:
        _write(io.err, f"{prog}: interrupted\n")
        return INTERRUPTED


def _program_name() -> str:
    """The name this process was started as: the console script's, or `python -m ...`."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if not name or name in ("__main__.py", "-c"):
        return PROG
    return name


def _main(argv: Sequence[str] | None, io: _IO) -> int:
    parser = _parser(io.prog)
    args, extra = parser.parse_known_args(argv)
    # argparse stops collecting positionals at the first option, so NAME=VALUE bindings given
    # after -o arrive here; anything else is a genuine mistake.
    unknown = [arg for arg in extra if arg.startswith("-") or "=" not in arg]
    takes_bindings = hasattr(args, "bindings")
    if unknown or (extra and not takes_bindings):
        parser.error(f"unrecognized arguments: {' '.join(unknown or extra)}")
    if takes_bindings:
        args.bindings = [*args.bindings, *extra]
    run: Callable[[argparse.Namespace, _IO], int] = args.run
    return run(args, io)


def _parser(prog: str) -> argparse.ArgumentParser:
    from autograd_lite import __version__

    parser = argparse.ArgumentParser(
        prog=prog,
        description="autograd_lite: a scalar reverse-mode autodiff engine, from the shell.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(subparsers)
    return parser


# ---------------------------------------------------------------------------------------------
# graph
# ---------------------------------------------------------------------------------------------


# argparse fills in %(prog)s: the subcommand's own name, as in "autograd-lite graph".
GRAPH_EPILOG: Final = f"""\
functions: {", ".join(FUNCTIONS)}
  leaky_relu(x, slope), sum(a, b, ...), dot([w1, w2], [x1, x2])

examples:
  %(prog)s "tanh(x*w + b)" x=0.5 w=-1.5 b=0.1 -o graph.svg
  %(prog)s "tanh(x1*w1 + x2*w2 + b)" x1=2 x2=0 w1=-3 w2=1 b=6.88 --params w1,w2,b
  %(prog)s "x / y" x=1 y=2 --partials      (each edge shows its local derivative)
  %(prog)s "log(x) / x" x=2 -o graph.dot     (DOT text: needs no Graphviz)

An expression that starts with "-" goes after "--", options before it:
  %(prog)s -o graph.svg -- "-x*y" x=1 y=2
"""


def _positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {text!r}")
    return value


def _seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0.0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _add_graph(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    graph = subparsers.add_parser(
        "graph",
        help="differentiate an expression and draw its computation graph",
        description=(
            "Evaluate EXPRESSION at the given values, run backward(), print the value and the "
            "gradient of every variable, and draw the graph with data and gradients."
        ),
        epilog=GRAPH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    graph.add_argument("expression", help='for example "tanh(x*w + b)"')
    graph.add_argument("bindings", nargs="*", metavar="NAME=VALUE", help="a value per variable")
    graph.add_argument(
        "-o",
        "--output",
        default="graph.svg",
        help="the file to write; its suffix picks the format: .svg (default graph.svg), .png, "
        ".pdf, or .dot for DOT text",
    )
    graph.add_argument(
        "--params",
        default="",
        metavar="NAMES",
        help="comma-separated variables to draw as parameters (weights), e.g. w1,w2,b",
    )
    graph.add_argument("--rankdir", default="LR", choices=RANKDIRS, help="layout direction")
    graph.add_argument(
        "--no-ops", action="store_true", help="no operation nodes: a more compact drawing"
    )
    graph.add_argument(
        "--partials",
        action="store_true",
        help="label every edge with its local derivative d(result)/d(input)",
    )
    graph.add_argument(
        "--max-nodes",
        type=_positive_int,
        default=MAX_NODES,
        help=f"refuse to draw more Values than this (default {MAX_NODES})",
    )
    graph.add_argument(
        "--timeout",
        type=_seconds,
        default=DOT_TIMEOUT,
        metavar="SECONDS",
        help=f"stop Graphviz's layout after this long (default {DOT_TIMEOUT:g})",
    )
    graph.set_defaults(run=_run_graph)


def _run_graph(args: argparse.Namespace, io: _IO) -> int:
    """The graph command: parse, bind, forward, backward, print, draw."""
    params = [name.strip() for name in args.params.split(",") if name.strip()]
    evaluated = _evaluate(args, io, "graph", [("--params", args.params, params)])
    if evaluated is None:
        return USAGE_ERROR
    output, leaves = evaluated
    output.backward()
    # The numbers first: a drawing that fails must not take the computed gradients with it.
    io.say(f"f = {args.expression.strip()}")
    io.say(f"f = {output.data:.6g}")
    for name, leaf in leaves.items():
        io.say(f"df/d{name} = {float(leaf.grad):.6g}")
    return _draw(args, io, output, {name: leaves[name] for name in params})


def _evaluate(
    args: argparse.Namespace,
    io: _IO,
    command: str,
    named: Sequence[tuple[str, str, Sequence[str]]],
) -> tuple[Value, dict[str, Value]] | None:
    """Parse args.expression, bind args.bindings and evaluate: the output and its leaves.

    ``named`` lists options that name variables, as (option, its text, the names it gives):
    each name must be a variable given a value. A mistake is reported (``command: error:``,
    with a pointer) and gives None.
    """
    text: str = args.expression
    try:
        for argument in [text, *args.bindings, *(option_text for _, option_text, _ in named)]:
            _check_text(argument)
        expression = parse(text)
        values: dict[str, float] = {}
        for binding in args.bindings:
            name, value = parse_binding(binding)
            if name in values:
                raise ExpressionError(f"{name} is given twice", binding)
            values[name] = value
        for option, option_text, names in named:
            for name in names:
                if name not in values:
                    msg = f"{option} names {name!r}, which is not a variable given a value"
                    raise ExpressionError(msg, option_text)
        leaves = {name: Value(value, label=name) for name, value in values.items()}
        output = expression.evaluate(leaves, labels=True)
    except ExpressionError as exc:
        io.error(command, str(exc), exc.pointer())
        return None
    except (ArithmeticError, ValueError, TypeError, RecursionError, MemoryError) as exc:
        # The parser names every mistake it knows; anything else is still the input's fault.
        io.error(command, f"cannot evaluate this expression ({type(exc).__name__}: {exc})")
        return None
    return output, leaves


def _check_text(argument: str) -> None:
    """Refuse text that holds bytes the terminal could not decode (they arrive as surrogates)."""
    for column, char in enumerate(argument):
        if "\ud800" <= char <= "\udfff":
            shown = char.encode("utf-8", "surrogateescape")
            msg = (
                f"the argument holds the byte {shown!r}, which is not text in this terminal's "
                "encoding; use letters, digits and operators"
            )
            raise ExpressionError(msg, argument, column)


def _draw(args: argparse.Namespace, io: _IO, output: Value, params: dict[str, Value]) -> int:
    """Draw the graph into args.output; on failure, say why and how else to get a drawing."""
    dot_text = "or write DOT text, which needs no Graphviz: -o graph.dot"
    try:
        path = render(
            output,
            args.output,
            rankdir=args.rankdir,
            show_ops=not args.no_ops,
            max_nodes=args.max_nodes,
            params=params,
            edge_partials=args.partials,
            timeout=args.timeout,
        )
    except ImportError as exc:  # the graphviz package is missing: the message names the extra
        io.error("graph", f"{exc}; {dot_text}")
        return FAILURE
    except GraphvizNotFoundError:
        io.error("graph", f"{INSTALL_GRAPHVIZ} Or {dot_text[3:]}")
        return FAILURE
    except LayoutTimeoutError as exc:
        io.error("graph", str(exc))
        return FAILURE
    except GraphTooLargeError:
        msg = f"the graph has more than --max-nodes={args.max_nodes} values; pass a larger one"
        io.error("graph", msg)
        return USAGE_ERROR
    except ValueError as exc:  # an output suffix that is no format Graphviz knows
        io.error("graph", str(exc))
        return USAGE_ERROR
    except (OSError, subprocess.CalledProcessError) as exc:  # cannot write the file, dot failed
        io.error("graph", str(exc))
        return FAILURE
    io.say(f"wrote {path}")
    return 0


# ---------------------------------------------------------------------------------------------
# sweep
# ---------------------------------------------------------------------------------------------


SWEEP_EPILOG: Final = f"""\
The expression and its values are written as for `graph` (functions: see its --help).

examples:
  %(prog)s "tanh(x*w + b)" x=0.5 w=-1.5 b=0.1 -o sweep.html
  %(prog)s "tanh(x*w + b)" x=0.5 w=-1.5 b=0.1 --forward w -o forward.html
  %(prog)s "x / y - x" x=1 y=2 --frames frames/      (also one SVG per frame, for slides)

Open the page in a browser: the buttons or the arrow keys step through the sweep, one node per
frame. A graph of more than --max-nodes Values (default {MAX_SWEEP_NODES}) is refused: the page
grows with the square of the graph.
"""

PAGE_SUFFIXES: Final = (".html", ".htm")


def _add_sweep(subparsers: Subparsers[argparse.ArgumentParser]) -> None:
    sweep = subparsers.add_parser(
        "sweep",
        help="write a page that steps through the backward (or forward) sweep, node by node",
        description=(
            "Evaluate EXPRESSION at the given values, print the value and the derivatives, and "
            "write a self-contained HTML page that steps through the chain rule's sweep: one "
            "frame per node, with each edge's local derivative, its contribution and the sums "
            "so far. Backward by default (every gradient); --forward NAME sweeps forward "
            "from NAME instead (the derivative with respect to NAME)."
        ),
        epilog=SWEEP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sweep.add_argument("expression", help='for example "tanh(x*w + b)"')
    sweep.add_argument("bindings", nargs="*", metavar="NAME=VALUE", help="a value per variable")
    sweep.add_argument(
        "-o", "--output", default="sweep.html", help="the page to write (default sweep.html)"
    )
    sweep.add_argument(
        "--forward",
        metavar="NAME",
        help="step through the forward sweep from this variable (tangents d(node)/d(NAME))",
    )
    sweep.add_argument(
        "--frames", metavar="DIR", help="also write every frame as an SVG file into DIR"
    )
    sweep.add_argument(
        "--max-nodes",
        type=_positive_int,
        default=MAX_SWEEP_NODES,
        metavar="N",
        help=f"refuse a graph of more Values than this (default {MAX_SWEEP_NODES})",
    )
    sweep.set_defaults(run=_run_sweep)


def _run_sweep(args: argparse.Namespace, io: _IO) -> int:
    """The sweep command: parse, bind, evaluate, sweep, print, write the page (and frames)."""
    forward: str | None = args.forward
    named = [] if forward is None else [("--forward", forward, [forward])]
    output_name: str = args.output
    if not output_name.lower().endswith(PAGE_SUFFIXES):
        msg = (
            f"the sweep is an HTML page: -o needs a file name ending in .html, got "
            f"{output_name!r} (for SVG pictures of the frames, add --frames DIR)"
        )
        io.error("sweep", msg)
        return USAGE_ERROR
    evaluated = _evaluate(args, io, "sweep", named)
    if evaluated is None:
        return USAGE_ERROR
    output, leaves = evaluated
    io.say(f"f = {args.expression.strip()}")
    io.say(f"f = {output.data:.6g}")
    # The numbers first, as `graph` prints them: a page that cannot be written keeps them.
    if forward is None:
        swept = backward_sweep(output)
        for name, leaf in leaves.items():
            io.say(f"df/d{name} = {swept.result(leaf):.6g}")
    else:
        swept = forward_sweep(output, leaves[forward])
        io.say(f"df/d{forward} = {swept.result(output):.6g}")
    try:
        page = sweep_page(
            output,
            forward=None if forward is None else leaves[forward],
            max_nodes=args.max_nodes,
            title=_sweep_title(args.expression.strip(), forward),
        )
    except GraphTooLargeError:
        msg = (
            f"the graph has more than --max-nodes={args.max_nodes} values: a page with a frame "
            "per value would be too large to step through; sweep a smaller expression, or pass "
            "a larger --max-nodes"
        )
        io.error("sweep", msg)
        return USAGE_ERROR
    try:
        path = page.save(output_name)
    except OSError as exc:
        io.error("sweep", f"cannot write the page {output_name!r}: {exc.strerror or exc}")
        return FAILURE
    try:
        frames = [] if args.frames is None else page.save_frames(args.frames)
    except OSError as exc:
        io.error("sweep", f"cannot write the frames into {args.frames!r}: {exc.strerror or exc}")
        return FAILURE
    mode = "forward" if forward else "backward"
    io.say(
        f"wrote {path}: the {mode} sweep in {page.frames} frames "
        f"({len(swept.nodes)} Values, {swept.multiply_adds} multiply-adds)"
    )
    if frames:
        io.say(
            f"wrote {len(frames)} frames to {args.frames} ({frames[0].name} to {frames[-1].name})"
        )
    return 0


def _sweep_title(text: str, forward: str | None) -> str:
    """The page's heading: which sweep, of what (a long expression shortened)."""
    shown = text if len(text) <= 120 else text[:119] + "…"
    if forward is None:
        return f"Backward sweep of f = {shown}"
    return f"Forward sweep of f = {shown}, from {forward}"


# Every subcommand, in the order `--help` lists them.
COMMANDS: Final[tuple[Callable[[Subparsers[argparse.ArgumentParser]], None], ...]] = (
    _add_graph,
    _add_sweep,
)
