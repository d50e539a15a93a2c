"""Anomaly mode: find the operation, and the line of your code, where a NaN or an inf was born.

Inside ``with detect_anomaly():`` every node remembers the line of user code that created it,
and a forward or backward step that makes a NaN (or an infinity out of finite numbers) raises
`AnomalyError` naming the operation, its inputs and that line. Outside it the engine runs its
ordinary code: switching the mode on swaps in a checking node constructor, so it costs nothing
while off. The mode is process-wide, as PyTorch's is. No calculus here.
"""

from __future__ import annotations

import linecache
import math
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from autograd_lite import engine
from autograd_lite.engine import Op, Value, _NodeMap

__all__ = ["AnomalyError", "detect_anomaly"]

_PACKAGE: Final = os.path.dirname(os.path.abspath(__file__))


class AnomalyError(ArithmeticError):
    """A forward or backward step produced NaN, or an infinity from finite numbers."""


# Where each node was made: weak keys, so the record never keeps a graph alive.
_SITES: Final = _NodeMap()
_LOCK: Final = threading.Lock()
_depth = 0
_plain_node = engine._node


def _user_site() -> tuple[str, int]:
    """The file and line of the innermost frame outside autograd_lite."""
    frame = sys._getframe(2)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame = frame.f_back  # type: ignore[assignment]  # None ends the loop
    if frame is None:
        return ("<unknown>", 0)
    return (frame.f_code.co_filename, frame.f_lineno)


def _where(node: Value) -> str:
    site = _SITES.get(node)
    if site is None:
        return "made outside detect_anomaly()"
    filename, line = site
    text = linecache.getline(filename, line).strip()
    return f"made at {filename}:{line}" + (f": {text}" if text else "")


def _is_bad(x: float, inputs: tuple[float, ...]) -> bool:
    """NaN, or an infinity although every input was finite."""
    if math.isnan(x):
        return not any(math.isnan(i) for i in inputs)
    return math.isinf(x) and all(math.isfinite(i) for i in inputs)


def _checked_node(
    data: float, parents: tuple[Value, ...], partials: tuple[Any, ...], op: Op
) -> Value:
    node = _plain_node(data, parents, partials, op)
    _SITES.set(node, _user_site())
    if parents:
        inputs = tuple(p._data for p in parents)
        if _is_bad(data, inputs):
            msg = (
                f"detect_anomaly: {op.name}() produced {data!r} from inputs {inputs!r} "
                f"({_where(node)})"
            )
            raise AnomalyError(msg)
    return node


def _check_gradient(node: Value, grad: Any) -> None:
    """Refuse a NaN reaching a node's gradient, naming the node whose backward step made it."""
    number = grad.data if isinstance(grad, Value) else float(grad)
    if not math.isnan(number):
        return
    # Find the consumer whose backward step made it: the node itself for its own gradient.
    msg = (
        f"detect_anomaly: the backward sweep produced a NaN gradient for a node of "
        f"{node.op or 'a leaf'}() with data {node.data!r} ({_where(node)})"
    )
    raise AnomalyError(msg)


def _check_contribution(node: Value, upstream: Any) -> None:
    """Refuse a backward step of node that turns finite numbers into NaN or inf."""
    up = upstream.data if isinstance(upstream, Value) else float(upstream)
    for partial in node._partials:
        contribution = partial * up
        if _is_bad(contribution, (partial, up)):
            inputs = tuple(p._data for p in node._parents)
            msg = (
                f"detect_anomaly: the backward step of {node.op}() with inputs {inputs!r} "
                f"produced {contribution!r} (local derivative {partial!r} times upstream "
                f"gradient {up!r}) ({_where(node)})"
            )
            raise AnomalyError(msg)


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Inside this block, a NaN or a new infinity raises `AnomalyError` where it was made.

    >>> from autograd_lite import Value
    >>> x = Value(1e308)
    >>> with detect_anomaly():  # doctest: +ELLIPSIS
    ...     y = x * 10.0
    Traceback (most recent call last):
    ...
    autograd_lite.anomaly.AnomalyError: detect_anomaly: mul() produced inf from inputs ...
    """
    global _depth
    with _LOCK:
        _depth += 1
        if _depth == 1:
            engine._node = _checked_node
            engine._anomaly.on = True
            engine._anomaly.check_gradient = _check_gradient  # type: ignore[method-assign]
            engine._anomaly.check_contribution = _check_contribution  # type: ignore[method-assign]
    try:
        yield
    finally:
        with _LOCK:
            _depth -= 1
            if _depth == 0:
                engine._node = _plain_node
                engine._anomaly.on = False
