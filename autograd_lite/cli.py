"""The command line: ``python -m autograd_lite <command> ...``.

One subcommand so far, ``graph``: parse an expression safely (`autograd_lite.expr`), run it
forward and backward, print the value and gradients, and draw the graph (`autograd_lite.viz`).
Add a command by writing ``_add_<name>(subparsers)`` and a ``_run_<name>(args)``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from typing import TextIO

from autograd_lite.engine import Value
from autograd_lite.expr import FUNCTIONS, ExpressionError, parse, parse_binding
from autograd_lite.viz import (
    INSTALL_GRAPHVIZ,
    MAX_NODES,
    RANKDIRS,
    GraphTooLargeError,
    GraphvizNotFoundError,
    render,
)

PROG = "python -m autograd_lite"

# Exit statuses: 2 for a bad command line or expression (as argparse), 1 for a failure to draw.
USAGE_ERROR = 2
FAILURE = 1

GRAPH_EPILOG = f"""\
functions: {", ".join(FUNCTIONS)}
  leaky_relu(x, slope), sum(a, b, ...), dot([w1, w2], [x1, x2])

examples:
  {PROG} graph "tanh(x*w + b)" x=0.5 w=-1.5 b=0.1 -o graph.svg
  {PROG} graph "tanh(x1*w1 + x2*w2 + b)" x1=2 x2=0 w1=-3 w2=1 b=6.88 --params w1,w2,b
  {PROG} graph "log(x) / x" x=2 -o graph.dot     (DOT text: needs no Graphviz)

An expression that starts with "-" goes after "--", options before it:
  {PROG} graph -o graph.svg -- "-x*y" x=1 y=2
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with argv (default: sys.argv[1:]); return the exit status."""
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    # argparse stops collecting positionals at the first option, so NAME=VALUE bindings given
    # after -o arrive here; anything else is a genuine mistake.
    unknown = [arg for arg in extra if arg.startswith("-") or "=" not in arg]
    if unknown or (extra and args.command != "graph"):
        parser.error(f"unrecognized arguments: {' '.join(unknown or extra)}")
    if args.command == "graph":
        return _run_graph(args, [*args.bindings, *extra], sys.stdout, sys.stderr)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover (argparse checks)
    return USAGE_ERROR  # pragma: no cover


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="autograd_lite: a scalar reverse-mode autodiff engine, from the shell.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_graph(subparsers)
    return parser


def _add_graph(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
        "--max-nodes",
        type=int,
        default=MAX_NODES,
        help=f"refuse to draw more Values than this (default {MAX_NODES})",
    )


def _run_graph(args: argparse.Namespace, bindings: list[str], out: TextIO, err: TextIO) -> int:
    """The graph command: parse, bind, forward, backward, print, draw."""
    text: str = args.expression
    try:
        expression = parse(text)
        values: dict[str, float] = {}
        for binding in bindings:
            name, value = parse_binding(binding)
            if name in values:
                raise ExpressionError(f"{name} is given twice", binding)
            values[name] = value
        params = [name.strip() for name in args.params.split(",") if name.strip()]
        for name in params:
            if name not in values:
                msg = f"--params names {name!r}, which is not a variable given a value"
                raise ExpressionError(msg, args.params)
        leaves = {name: Value(value, label=name) for name, value in values.items()}
        output = expression.evaluate(leaves, labels=True)
    except ExpressionError as exc:
        _report(err, str(exc), exc.pointer())
        return USAGE_ERROR

    output.backward()
    try:
        path = render(
            output,
            args.output,
            rankdir=args.rankdir,
            show_ops=not args.no_ops,
            max_nodes=args.max_nodes,
            params={name: leaves[name] for name in params},
        )
    except ImportError as exc:  # the graphviz package is missing: the message names the extra
        _report(err, f"{exc}; or write DOT text, which needs nothing extra: -o graph.dot")
        return FAILURE
    except GraphvizNotFoundError:
        _report(err, INSTALL_GRAPHVIZ + " Or write DOT text, which needs no Graphviz: -o graph.dot")
        return FAILURE
    except GraphTooLargeError:
        msg = f"the graph has more than --max-nodes={args.max_nodes} values; pass a larger one"
        _report(err, msg)
        return USAGE_ERROR
    except ValueError as exc:  # an output suffix that is no format Graphviz knows
        _report(err, str(exc))
        return USAGE_ERROR
    except (OSError, subprocess.CalledProcessError) as exc:  # cannot write the file, dot failed
        _report(err, str(exc))
        return FAILURE
    out.write(f"f = {text.strip()}\n")
    out.write(f"f = {output.data:.6g}\n")
    for name, leaf in leaves.items():
        out.write(f"df/d{name} = {float(leaf.grad):.6g}\n")
    out.write(f"wrote {path}\n")
    return 0


def _report(err: TextIO, message: str, pointer: str = "") -> None:
    err.write(f"{PROG} graph: error: {message}\n")
    if pointer:
        err.write("".join(f"  {line}\n" for line in pointer.splitlines()))


__all__ = ["main"]
