"""What second derivatives cost the first-order path: the engine against a float-only table.

Every rule in autograd_lite.rules is written once over an arithmetic `m`, so that the same rule
rebuilds its partials as a graph for second derivatives. The forward pass pays for that by
passing `m` (FLOATS) and calling through it. This script times, in one process and
interleaved, the engine's own operations against copies that differ only in calling a
float-only rule, the table a first-order-only engine would have. Run:
``python bench/first_order_cost.py [--quick]``.
"""

from __future__ import annotations

import argparse
import math
import operator
import timeit
from collections.abc import Callable

from autograd_lite import Value, dot
from autograd_lite.engine import _DOT, _MUL, _TANH, _as_value, _as_values, _data, _node


def _tanh_rule(x: float) -> tuple[float, tuple[float]]:
    out = math.tanh(x)
    return out, (1.0 - out * out,)


def _mul_rule(x: float, y: float) -> tuple[float, tuple[float, float]]:
    return x * y, (y, x)


def _dot_rule(*operands: float) -> tuple[float, tuple[float, ...]]:
    n = len(operands) // 2
    ws, xs = operands[:n], operands[n:]
    return math.fsum(map(operator.mul, ws, xs)), (*xs, *ws)


def tanh_first_order(x: Value) -> Value:
    """Value.tanh with a float-only rule."""
    out, partials = _tanh_rule(x.data)
    return _node(out, (x,), partials, _TANH)


def mul_first_order(x: Value, other: Value | float) -> Value:
    """Value.__mul__ with a float-only rule (the same operand checks)."""
    y = other if isinstance(other, Value) else _as_value(other)
    if y is None:
        raise TypeError(other)
    out, partials = _mul_rule(x.data, y.data)
    return _node(out, (x, y), partials, _MUL)


def dot_first_order(ws: list[Value], xs: list[Value]) -> Value:
    """autograd_lite.dot with a float-only rule (the same checks)."""
    if len(ws) != len(xs):
        raise ValueError((len(ws), len(xs)))
    parents = _as_values((*ws, *xs), "dot()")
    out, partials = _dot_rule(*map(_data, parents))
    return _node(out, parents, partials, _DOT)


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Print one row per operation: both timings and their ratio; return the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (for CI)")
    args = parser.parse_args(argv)
    repeats, number = (3, 2_000) if args.quick else (15, 50_000)

    x, y = Value(0.3), Value(0.7)
    ws = [Value(0.1 * i) for i in range(16)]
    hs = [Value(0.2 * i) for i in range(16)]
    cases: list[tuple[str, Callable[[], Value], Callable[[], Value]]] = [
        ("tanh", lambda: x.tanh(), lambda: tanh_first_order(x)),
        ("x * y", lambda: x * y, lambda: mul_first_order(x, y)),
        ("dot, 16 + 16 inputs", lambda: dot(ws, hs), lambda: dot_first_order(ws, hs)),
    ]
    # Same result from both, so the comparison is of like with like.
    for name, engine_op, float_only_op in cases:
        a, b = engine_op(), float_only_op()
        assert (a.data, a.partials) == (b.data, b.partials), name

    print("| operation | engine (one table over m) | float-only table | ratio |")
    print("| --- | ---: | ---: | ---: |")
    ratios: dict[str, float] = {}
    for name, engine_op, float_only_op in cases:
        engine_times, float_times = [], []
        for _ in range(repeats):  # interleaved, best of each
            engine_times.append(timeit.timeit(engine_op, number=number))
            float_times.append(timeit.timeit(float_only_op, number=number))
        best_engine, best_float = min(engine_times) / number, min(float_times) / number
        ratios[name] = best_engine / best_float
        print(
            f"| {name} | {best_engine * 1e9:.0f} ns | {best_float * 1e9:.0f} ns "
            f"| {ratios[name]:.2f} |"
        )
    return ratios


if __name__ == "__main__":
    main()
