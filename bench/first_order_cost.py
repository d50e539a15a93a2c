"""What second derivatives cost the first-order path: rules over `m` against float-only rules.

Every rule in autograd_lite.rules is written once over an arithmetic `m`, so that the same rule
rebuilds its partials as a graph for second derivatives (and writes code for the compiler). The
forward pass pays for that by passing `m` (FLOATS) and calling its functions through it. This
script times, in one process and interleaved, each engine rule against a float-only copy of the
same formula, the rule a first-order-only engine would have, and sets the difference beside the
time of the whole operation (making its node included). Only public names are used. Run:
``python bench/first_order_cost.py [--quick]``.
"""

from __future__ import annotations

import argparse
import math
import operator
import timeit
from collections.abc import Callable
from typing import Any

from autograd_lite import Value, dot, rules
from autograd_lite.rules import FLOATS

__all__ = ["main"]


def _tanh_rule(x: float) -> tuple[float, tuple[float]]:
    out = math.tanh(x)
    return out, (1.0 - out * out,)


def _mul_rule(x: float, y: float) -> tuple[float, tuple[float, float]]:
    return x * y, (y, x)


def _dot_rule(operands: list[float]) -> tuple[float, tuple[float, ...]]:
    n = len(operands) // 2
    ws, xs = operands[:n], operands[n:]
    return math.fsum(map(operator.mul, ws, xs)), (*xs, *ws)


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Print one row per operation; return, per operation, the share of its time the table costs."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (for CI)")
    args = parser.parse_args(argv)
    repeats, number = (3, 2_000) if args.quick else (15, 50_000)

    x, y = Value(0.3), Value(0.7)
    ws = [Value(0.1 * i) for i in range(16)]
    hs = [Value(0.2 * i) for i in range(16)]
    operands = [v.data for v in (*ws, *hs)]
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any], Callable[[], Any]]] = [
        ("tanh", lambda: x.tanh(), lambda: rules.tanh(FLOATS, 0.3), lambda: _tanh_rule(0.3)),
        ("x * y", lambda: x * y, lambda: rules.mul(FLOATS, 0.3, 0.7), lambda: _mul_rule(0.3, 0.7)),
        (
            "dot, 16 + 16 inputs",
            lambda: dot(ws, hs),
            lambda: rules.dot(FLOATS, operands),
            lambda: _dot_rule(operands),
        ),
    ]
    # The same numbers from both rules, so the comparison is of like with like.
    for name, _, table_rule, float_rule in cases:
        assert table_rule() == float_rule(), name

    print("| operation | whole operation | rule over m | float-only rule | table's share |")
    print("| --- | ---: | ---: | ---: | ---: |")
    shares: dict[str, float] = {}
    for name, whole, table_rule, float_rule in cases:
        times: dict[str, list[float]] = {"whole": [], "table": [], "float": []}
        for _ in range(repeats):  # interleaved, best of each
            times["whole"].append(timeit.timeit(whole, number=number))
            times["table"].append(timeit.timeit(table_rule, number=number))
            times["float"].append(timeit.timeit(float_rule, number=number))
        best = {key: min(values) / number for key, values in times.items()}
        shares[name] = (best["table"] - best["float"]) / best["whole"]
        print(
            f"| {name} | {best['whole'] * 1e9:.0f} ns | {best['table'] * 1e9:.0f} ns "
            f"| {best['float'] * 1e9:.0f} ns | {shares[name]:+.1%} |"
        )
    return shares


if __name__ == "__main__":
    main()
