"""Copying and pickling graphs of Values without recursion, however deep they are.

``copy.deepcopy`` and ``pickle`` recurse into an object's parts: a chain of Values failed at
depth ~99 (deepcopy) and ~198 (pickle), and pickle could crash the interpreter with a raised
recursion limit. Here a node's ancestors are copied, or pickled, before it, in topological
order, so each step refers only to nodes already done. Operations of the table are pickled by
name and constants and found again when loaded. Nothing here knows any calculus.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from autograd_lite.engine import (
    _OPS,
    CONSTANT,
    LEAF,
    Op,
    Value,
    _depth_first_order,
    _new_value,
    _op_with,
)
from autograd_lite.rules import OPERATIONS, Num

__all__ = ["deep", "reduce", "restore", "shallow"]


def shallow(node: Value) -> Value:
    """A new node with the same fields: the same parents, not copies of them."""
    return restore(
        node._data, node.grad, node.label, node._operation, node._parents, node._partials
    )


def restore(
    data: float,
    grad: float | Value,
    label: str,
    op: Op | str | tuple[str, tuple[Any, ...]],
    parents: tuple[Value, ...],
    partials: tuple[Num, ...],
) -> Value:
    """A node from its fields (the inverse of __reduce__ and the step of a copy)."""
    node: Value = _new_value(Value)
    node._data = data
    node.grad = grad
    node.label = label
    node._parents = parents
    node._partials = partials
    node._operation = _op_from(op)
    return node


def _op_state(op: Op) -> Op | str | tuple[str, tuple[Any, ...]]:
    """An Op as pickle sees it: a table operation by its name (and constants), found again
    when loaded; a user's primitive as itself (its rule is pickled by reference)."""
    if op is LEAF:
        return ""
    if op is CONSTANT:
        return "const"
    if OPERATIONS.get(op.name) is not op.operation:
        return op
    return (op.name, op.args) if op.args else op.name


def _op_from(state: Op | str | tuple[str, tuple[Any, ...]]) -> Op:
    if isinstance(state, Op):
        return state
    if state == "":
        return LEAF
    if state == "const":
        return CONSTANT
    if isinstance(state, tuple):
        name, args = state
        return _op_with(OPERATIONS[name], tuple(args))
    return _OPS[state]


# Nodes whose pickling has been arranged by a root being pickled: each is reduced shallowly
# (its parents are pickled before it). Per thread; each entry says which root arranged it.
_ARRANGED = threading.local()


def _arranged() -> dict[int, int]:
    table: dict[int, int] | None = getattr(_ARRANGED, "table", None)
    if table is None:
        table = _ARRANGED.table = {}
    return table


def _nothing() -> None:
    return None


class _Arranged:
    """The last argument of a pickled root: when pickle reaches it, the root's nodes are done."""

    def __init__(self, token: int) -> None:
        self.token = token

    def __reduce__(self) -> tuple[Any, ...]:
        table = _arranged()
        for key in [key for key, token in table.items() if token == self.token]:
            del table[key]  # memoized earlier in the same pickle: never reduced by this root
        return (_nothing, ())


def reduce(node: Value) -> tuple[Any, ...]:
    """Pickle a node so that no graph depth ever recurses: ancestors first, in order."""
    fields = (
        node._data,
        node.grad,
        node.label,
        _op_state(node._operation),
        node._parents,
        node._partials,
    )
    table = _arranged()
    if table.pop(id(node), None) is not None or not node._parents:
        return (restore, fields)  # its parents are pickled before it, or it has none
    ancestors = _depth_first_order(node)[:-1]
    token = id(ancestors)
    for ancestor in ancestors:
        if ancestor._parents:
            table.setdefault(id(ancestor), token)
    return (_restore_after, (ancestors, *fields, _Arranged(token)))


def _restore_after(ancestors: list[Value], *fields: Any) -> Value:
    """Unpickle a root: its ancestors are already rebuilt, in order, without recursion."""
    return restore(*fields[:6])


def deep(root: Value, memo: dict[int, Any]) -> Value:
    """copy.deepcopy of a node and its ancestors, in topological order."""
    copies: dict[int, Any] = memo
    for node in _depth_first_order(root):
        if id(node) in copies:
            continue
        grad = node.grad if type(node.grad) is float else copy.deepcopy(node.grad, memo)
        copied = restore(
            node._data,
            grad,
            node.label,
            node._operation,
            tuple(copies[id(parent)] for parent in node._parents),
            tuple(p if type(p) is float else copy.deepcopy(p, memo) for p in node._partials),
        )
        copies[id(node)] = copied
    return copies[id(root)]  # type: ignore[no-any-return]
