"""The graph machinery: `Value` nodes, the operations on them, and the sweeps of the chain rule.

A `Value` records its parents and, at forward time, the local derivative of itself with respect
to each parent, as numbers. `backward()` orders the graph with an iterative topological sort and
applies the chain rule from the output back to the leaves; `jvp` (in `functional`) sums the same
local derivatives forward. No calculus lives here: every formula comes from the operation table
in `autograd_lite.rules`, and every operation of `Value` is made from its entry there.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import repeat
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Final, cast

from autograd_lite import _checks, rules
from autograd_lite.rules import FLOATS, OPERATIONS, VARIADIC, Num, Operation

__all__ = [
    "Op",
    "RemovableHandle",
    "Value",
    "atan2",
    "dot",
    "enable_grad",
    "hypot",
    "is_grad_enabled",
    "log_softmax",
    "logsumexp",
    "maximum",
    "minimum",
    "no_grad",
    "primitive",
    "set_grad_enabled",
    "topological_order",
    "zero_grad",
    # not "sum": `from autograd_lite.engine import *` must not replace the built-in sum()
]

Scalar = float | int


class Value:
    """One float in a computation graph, with its gradient.

    >>> x = Value(2.0, label="x")
    >>> y = x * x + 3 * x
    >>> y.backward()
    >>> x.grad
    7.0
    """

    # __weakref__: hooks and anomaly records refer to nodes without keeping them alive.
    __slots__ = ("__weakref__", "_data", "_operation", "_parents", "_partials", "grad", "label")

    _data: float
    grad: float | Value
    label: str
    _parents: tuple[Value, ...]
    _partials: tuple[Num, ...]
    _operation: Op

    def __init__(self, data: float, label: str = "") -> None:
        self._data = data if type(data) is float else _checks.real(data, "Value()")
        if type(label) is not str:
            msg = f"Value() label must be a str, got {_checks.shown(label)}"
            raise TypeError(msg)
        self.grad = 0.0
        self.label = label
        # Tuples, not sets: `a * a` needs two edges, and order keeps sweeps deterministic.
        self._parents = ()
        self._partials = ()
        self._operation = LEAF

    @property
    def data(self) -> float:
        """The number this node holds."""
        return self._data

    @data.setter
    def data(self, value: float | Value) -> None:
        # A Value assigned here gives its number (PyTorch's `.data` habit): so `p.data -= lr *
        # p.grad` stays a float even when the gradient is a Value, after create_graph=True.
        if type(value) is not float:
            value = value._data if isinstance(value, Value) else _checks.real(value, "Value.data")
        self._data = value

    # -- the operations: each one calls its rule and records a node ------------------------------

    def __add__(self, other: Value | Scalar) -> Value:
        # The worked example; every operation of a Value follows this same pattern.
        y = other if isinstance(other, Value) else _as_value(other, ADD)
        if y is None:
            return NotImplemented  # not a number: let Python raise its usual TypeError
        out, partials = rules.add(FLOATS, self._data, y._data)  # the value and d/dx, d/dy
        return _node(out, (self, y), partials, ADD)

    def __mul__(self, other: Value | Scalar) -> Value:
        y = other if isinstance(other, Value) else _as_value(other, MUL)
        if y is None:
            return NotImplemented
        out, partials = rules.mul(FLOATS, self._data, y._data)
        return _node(out, (self, y), partials, MUL)

    # Every other operation is made the same way from its entry in the operation table, by
    # `_install()` at the end of this module; `help(Value.tanh)` shows its rule's docstring.
    # Their signatures are declared here for type checkers and editors.
    if TYPE_CHECKING:

        def __radd__(self, other: Value | Scalar) -> Value: ...
        def __sub__(self, other: Value | Scalar) -> Value: ...
        def __rsub__(self, other: Value | Scalar) -> Value: ...
        def __rmul__(self, other: Value | Scalar) -> Value: ...
        def __truediv__(self, other: Value | Scalar) -> Value: ...
        def __rtruediv__(self, other: Value | Scalar) -> Value: ...
        def __pow__(self, other: Value | Scalar) -> Value: ...
        def __rpow__(self, other: Value | Scalar) -> Value: ...
        def __neg__(self) -> Value: ...
        def __abs__(self) -> Value: ...
        def __floor__(self) -> Value: ...
        def __ceil__(self) -> Value: ...
        def __round__(self, ndigits: int | None = None) -> Value: ...
        def abs(self) -> Value: ...
        def exp(self) -> Value: ...
        def expm1(self) -> Value: ...
        def log(self) -> Value: ...
        def log2(self) -> Value: ...
        def log10(self) -> Value: ...
        def log1p(self) -> Value: ...
        def sqrt(self) -> Value: ...
        def sin(self) -> Value: ...
        def cos(self) -> Value: ...
        def tan(self) -> Value: ...
        def asin(self) -> Value: ...
        def acos(self) -> Value: ...
        def atan(self) -> Value: ...
        def atan2(self, other: Value | Scalar) -> Value: ...
        def hypot(self, other: Value | Scalar) -> Value: ...
        def sinh(self) -> Value: ...
        def cosh(self) -> Value: ...
        def tanh(self) -> Value: ...
        def sigmoid(self) -> Value: ...
        def softplus(self) -> Value: ...
        def relu(self) -> Value: ...
        def leaky_relu(self, slope: float = 0.01) -> Value: ...
        def maximum(self, other: Value | Scalar) -> Value: ...
        def minimum(self, other: Value | Scalar) -> Value: ...
        def clamp(self, low: float, high: float) -> Value: ...
        def sign(self) -> Value: ...
        def floor(self) -> Value: ...
        def ceil(self) -> Value: ...
        def round(self, ndigits: int = 0) -> Value: ...

    def __pos__(self) -> Value:
        return self

    # -- gradients ------------------------------------------------------------------------------

    def backward(self, grad: float = 1.0, *, create_graph: bool = False) -> None:
        """Compute d(self)/d(node) for every node of the graph into ``node.grad``.

        Leaves accumulate (``+=``) across calls, as in PyTorch; every other node's gradient is
        recomputed from zero by each call. With ``create_graph=True`` every gradient that
        depends on an input is a new Value with a graph of its own, so it can be differentiated
        again (under ``no_grad()`` those graphs are not recorded, as in PyTorch).

        >>> a = Value(2.0)
        >>> c = 3 * (a * a)
        >>> c.backward()
        >>> c.backward()
        >>> a.grad
        24.0
        """
        seed = grad if type(grad) is float else _checks.real(grad, "backward() grad")
        _checks.flag(create_graph, "backward() create_graph")
        order = _depth_first_order(self)
        for node in order:
            if node._parents:
                node.grad = 0.0  # never stale, never double-counted
            elif type(node.grad) is not float:
                # Left by an earlier create_graph=True sweep: keep the number, drop the graph.
                node.grad = _number(node.grad)
        if self._parents:
            self.grad = seed
        else:
            self.grad += seed
        if _HOOKS or _anomaly.on:
            _sweep_watched(order, create_graph)
        elif create_graph:
            _sweep_building_graph(order)
        else:
            _sweep(order)

    def zero_grad(self) -> None:
        """Set the gradient of every node in this graph to 0."""
        for node in _depth_first_order(self):
            node.grad = 0.0

    def register_hook(
        self, hook: Callable[[float | Value], float | Value | None]
    ) -> RemovableHandle:
        """Call ``hook(grad)`` when this node's gradient is complete in a backward sweep.

        The hook may return a replacement gradient (or None to keep it); several hooks run in
        the order they were registered, each given what the previous one returned. On a leaf
        the hook sees this sweep's gradient, before it is added to ``.grad``, as in PyTorch.

        >>> x = Value(3.0)
        >>> handle = x.register_hook(lambda g: 2 * g)
        >>> (x * x).backward()
        >>> x.grad
        12.0
        >>> handle.remove()
        """
        if not callable(hook):
            msg = f"register_hook() needs a callable hook(grad), got {_checks.shown(hook)}"
            raise TypeError(msg)
        return RemovableHandle(self, hook)

    def detach(self) -> Value:
        """A new leaf with the same data and no history."""
        return Value(self._data, self.label)

    # -- inspection -----------------------------------------------------------------------------

    @property
    def parents(self) -> tuple[Value, ...]:
        """The inputs this node was computed from, in order (empty for a leaf)."""
        return self._parents

    @property
    def partials(self) -> tuple[Num, ...]:
        """The local derivative of this node with respect to each parent, in parent order."""
        return self._partials

    @property
    def op(self) -> str:
        """The name of the operation that made this node ("" for a leaf, "const" for a number)."""
        return self._operation.name

    @property
    def is_leaf(self) -> bool:
        """True for a node with no parents: an input, a parameter or a constant."""
        return not self._parents

    # micrograd's names, so that its lecture's helper code (trace(), draw_dot()) runs unchanged.
    @property
    def _prev(self) -> set[Value]:
        """micrograd's name for the set of parents."""
        return set(self._parents)

    @property
    def _op(self) -> str:
        """micrograd's name for the operation, as drawn: ``"+"``, ``"**2"``, ``""`` for a leaf."""
        return self._operation.label

    # -- a Value as a number --------------------------------------------------------------------

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self._data!r}, grad={self.grad!r}{label})"

    def __float__(self) -> float:
        return self._data

    def __format__(self, spec: str) -> str:
        return format(self._data, spec) if spec else repr(self)

    def __bool__(self) -> bool:
        return self._data != 0.0

    # Comparisons compare data, as floats do, and give a bool: max(a, b), sorted() and `if x >
    # 0:` work. Hashing stays identity, so sets and dicts of Values hold nodes: to ask whether
    # two names are one node, use `is`.
    def __eq__(self, other: object) -> bool:
        y = _number_or_none(other)
        return NotImplemented if y is None else self._data == y

    def __ne__(self, other: object) -> bool:
        y = _number_or_none(other)
        return NotImplemented if y is None else self._data != y

    def __lt__(self, other: Value | Scalar) -> bool:
        y = _number_or_none(other)
        return NotImplemented if y is None else self._data < y

    def __le__(self, other: Value | Scalar) -> bool:
        y = _number_or_none(other)
        return NotImplemented if y is None else self._data <= y

    def __gt__(self, other: Value | Scalar) -> bool:
        y = _number_or_none(other)
        return NotImplemented if y is None else self._data > y

    def __ge__(self, other: Value | Scalar) -> bool:
        y = _number_or_none(other)
        return NotImplemented if y is None else self._data >= y

    __hash__ = object.__hash__

    # -- copying and pickling, without recursion ------------------------------------------------

    # Imported on use: copying and pickling are plumbing a reader of the engine can skip.
    def __copy__(self) -> Value:
        """A new node with the same data, gradient, label, parents and local derivatives."""
        from autograd_lite import _copying

        return _copying.shallow(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> Value:
        """A copy of the node and of everything it was computed from, made without recursion."""
        from autograd_lite import _copying

        return _copying.deep(self, memo)

    def __reduce__(self) -> tuple[Any, ...]:
        from autograd_lite import _copying

        return _copying.reduce(self)


# ---------------------------------------------------------------------------------------------
# The backward sweep: a topological order, then the chain rule from the output back
# ---------------------------------------------------------------------------------------------


def topological_order(root: Value) -> list[Value]:
    """Every node that root depends on, each after all of its parents; root comes last."""
    if not isinstance(root, Value):
        msg = f"topological_order() needs a Value, got {_checks.shown(root)}"
        raise TypeError(msg)
    return _depth_first_order(root)


def _depth_first_order(root: Value) -> list[Value]:
    order: list[Value] = []
    visited: set[Value] = set()
    # Depth-first without recursion: a stack of nodes to visit, and beside it whether each
    # entry's parents are all finished, so that it can be finished too. Parents go on the stack
    # first one on top, so they are visited in order, as a recursive search would visit them.
    # The stacks hold nodes and bools only: nothing the garbage collector tracks piles up, so
    # it sleeps through the sort even of a graph a million nodes deep.
    nodes = [root]
    parents_done = [False]
    while nodes:
        node = nodes.pop()
        if parents_done.pop():
            order.append(node)  # after every one of its parents
        elif node not in visited:  # not a second entry of a node visited since
            visited.add(node)
            nodes.append(node)
            parents_done.append(True)
            for parent in reversed(node._parents):
                if parent not in visited:
                    if parent._parents:
                        nodes.append(parent)
                        parents_done.append(False)
                    else:
                        visited.add(parent)
                        order.append(parent)  # a leaf is finished as soon as it is found
    return order


def _sweep(order: list[Value]) -> None:
    """Reverse accumulation: each node, last to first, pushes its gradient to its parents."""
    for node in reversed(order):
        upstream = node.grad
        for parent, partial in zip(node._parents, node._partials):
            parent.grad += partial * upstream


def _tangents(order: list[Value], seeds: dict[Value, Num]) -> dict[Value, Num]:
    """Forward accumulation: each node, first to last, pulls its tangent from its parents.

    The same local derivatives as `_sweep`, summed in the other direction: the tangent of a node
    is the sum over its parents of partial * tangent(parent). Nodes that depend on no seed get
    no entry (their tangent is 0).
    """
    tangent = dict(seeds)
    for node in order:
        total: Num = None
        for parent, partial in zip(node._parents, node._partials):
            incoming = tangent.get(parent)
            if incoming is not None:
                contribution = partial * incoming
                total = contribution if total is None else total + contribution
        if total is not None:
            tangent[node] = total
    return tangent


def _sweep_building_graph(order: list[Value]) -> None:
    """The chain rule with partials rebuilt as Values, so gradients are graphs too."""
    for node in reversed(order):
        if node._parents:
            _push_building_graph(node, node.grad)


def _push_building_graph(node: Value, upstream: Num) -> None:
    _, partials = node._operation.run(VALUES, node._parents)
    for parent, partial in zip(node._parents, partials):
        # A partial of exactly 1.0 passes the upstream gradient on without a node. A partial
        # that is a Value is always multiplied, even by 1.0: it may be a node of the forward
        # graph (d/dx x*y = y), and a gradient must never be the very node an optimizer is about
        # to update.
        is_one = type(partial) is float and partial == 1.0
        contribution = upstream if is_one else partial * upstream
        previous = parent.grad
        if type(previous) is float and previous == 0.0:
            parent.grad = contribution
        else:
            parent.grad = previous + contribution


def _tangents_building_graph(order: list[Value], seeds: dict[Value, Num]) -> dict[Value, Num]:
    """Forward accumulation with partials rebuilt as Values, so tangents are graphs too."""
    tangent = dict(seeds)
    for node in order:
        if not node._parents or not any(parent in tangent for parent in node._parents):
            continue
        _, partials = node._operation.run(VALUES, node._parents)
        total: Num = None
        for parent, partial in zip(node._parents, partials):
            incoming = tangent.get(parent)
            if incoming is not None:
                contribution = partial * incoming
                total = contribution if total is None else total + contribution
        tangent[node] = total
    return tangent


def _sweep_watched(order: list[Value], create_graph: bool) -> None:
    """The sweep with hooks called and, in anomaly mode, every gradient checked."""
    hooked = {node: hooks for node in order if (hooks := _hooks_of(node))}
    # A leaf's hooks see this sweep's gradient alone, as in PyTorch: set it aside meanwhile.
    earlier = {}
    for node in hooked:
        if not node._parents and node is not order[-1]:
            earlier[node] = node.grad
            node.grad = 0.0
    for node in reversed(order):
        if node in hooked:
            node.grad = _run_hooks(hooked[node], node.grad)
            if node in earlier:
                node.grad = earlier[node] + node.grad
        upstream = node.grad
        if not node._parents:
            continue
        if _anomaly.on:
            _anomaly.check_gradient(node, upstream)
            _anomaly.check_contribution(node, upstream)
        if create_graph:
            _push_building_graph(node, upstream)
        else:
            for parent, partial in zip(node._parents, node._partials):
                parent.grad += partial * upstream
    if _anomaly.on:
        for node in order:
            if not node._parents:
                _anomaly.check_gradient(node, node.grad)


def _number(x: float | Value) -> float:
    return x._data if isinstance(x, Value) else float(x)


# ---------------------------------------------------------------------------------------------
# Hooks
# ---------------------------------------------------------------------------------------------


class _NodeMap:
    """A mapping from nodes to anything, by identity, that never keeps a node alive.

    Not a WeakKeyDictionary: that compares its keys with ==, which for Values compares data, and
    a node holding NaN would never find itself (NaN != NaN).
    """

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[Value], Any]] = {}

    def _forget(self, key: int) -> Callable[[weakref.ref[Value]], None]:
        def forget(ref: weakref.ref[Value]) -> None:
            entry = self._entries.get(key)
            if entry is not None and entry[0] is ref:
                del self._entries[key]

        return forget

    def get(self, node: Value) -> Any:
        """What node maps to, or None."""
        entry = self._entries.get(id(node))
        return entry[1] if entry is not None and entry[0]() is node else None

    def set(self, node: Value, value: Any) -> None:
        """Map node to value (weakly: the entry goes when the node does)."""
        self._entries[id(node)] = (weakref.ref(node, self._forget(id(node))), value)

    def pop(self, node: Value) -> None:
        """Forget node's entry, if it has one."""
        if self.get(node) is not None:
            del self._entries[id(node)]

    def __len__(self) -> int:
        return len(self._entries)


# Each hooked node's hooks, in order, held weakly: a hook never keeps its node alive. Empty,
# the backward sweep costs nothing more than one truth test.
_HOOKS: Final = _NodeMap()


def _hooks_of(node: Value) -> list[Callable[..., Any]] | None:
    hooks: list[Callable[..., Any]] | None = _HOOKS.get(node)
    return hooks


def _run_hooks(hooks: list[Callable[..., Any]], grad: Num) -> Num:
    for hook in list(hooks):
        replacement = hook(grad)
        if replacement is not None:
            if not isinstance(replacement, Value):
                replacement = _checks.real(replacement, f"the hook {hook!r} returned a value that")
            grad = replacement
    return grad


class RemovableHandle:
    """What `Value.register_hook` returns: ``handle.remove()`` takes the hook off again."""

    __slots__ = ("_hook", "_node")

    def __init__(self, node: Value, hook: Callable[..., Any]) -> None:
        self._node = weakref.ref(node)
        self._hook = hook
        hooks = _HOOKS.get(node)
        if hooks is None:
            hooks = []
            _HOOKS.set(node, hooks)
        hooks.append(hook)

    def remove(self) -> None:
        """Take the hook off its node (again is harmless)."""
        node = self._node()
        hooks = None if node is None else _HOOKS.get(node)
        if node is None or hooks is None:
            return
        for i, hook in enumerate(hooks):
            if hook is self._hook:
                del hooks[i]
                break
        if not hooks:
            _HOOKS.pop(node)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


# ---------------------------------------------------------------------------------------------
# Operations as a node records them
# ---------------------------------------------------------------------------------------------


class Op:
    """An operation as a node records it: its table entry, its rule and its constant arguments."""

    __slots__ = ("args", "label", "name", "operation", "rule", "variadic")

    def __init__(self, operation: Operation, args: tuple[Any, ...] = ()) -> None:
        self.operation = operation
        self.name = operation.name
        self.rule = operation.rule
        self.args = args
        self.variadic = operation.arity == VARIADIC
        self.label = operation.label(args)

    def run(self, m: Any, inputs: Sequence[Num]) -> tuple[Num, tuple[Num, ...]]:
        """The rule applied to inputs with this op's constants, over the arithmetic m."""
        if self.variadic:
            return self.rule(m, inputs, *self.args)
        return self.rule(m, *inputs, *self.args)

    def __repr__(self) -> str:
        return f"Op({self.name!r}{''.join(f', {a!r}' for a in self.args)})"


def _leaf_rule(m: object, *inputs: Num) -> tuple[Num, tuple[Num, ...]]:
    msg = "a leaf has no rule: it was not computed from anything"
    raise TypeError(msg)


def _leaf_op(name: str) -> Op:
    """The Op of a leaf: it has a name but no rule, and draws with no op at all (micrograd's)."""
    entry = Operation(_leaf_rule, method=False)
    entry.name = name
    entry.symbol = ""
    return Op(entry)


# A user's input or parameter; a number that entered an expression.
LEAF: Final = _leaf_op("")
CONSTANT: Final = _leaf_op("const")

# One shared Op for each operation without constant arguments.
_OPS: Final = {name: Op(entry) for name, entry in OPERATIONS.items() if not entry.params}
ADD: Final = _OPS["add"]
MUL: Final = _OPS["mul"]


# The Ops with constant arguments made so far, by operation and arguments. A zero is keyed by
# its repr: -0.0 == 0.0, but x ** -0.0 and x ** 0.0 are different operations (their slopes'
# signs differ). Bounded, so that a stream of distinct constants cannot grow it forever.
_BOUND: Final[dict[tuple[Any, ...], Op]] = {}
_BOUND_LIMIT: Final = 4096


def _op_with(entry: Operation, args: tuple[Any, ...]) -> Op:
    """The Op for entry with these constant arguments, made once per distinct arguments."""
    if len(args) == 1:
        key: tuple[Any, ...] = (entry.name, args[0] if args[0] else repr(args[0]))
    else:
        key = (entry.name, *[a if a else repr(a) for a in args])
    op = _BOUND.get(key)
    if op is None:
        if len(_BOUND) >= _BOUND_LIMIT:
            _BOUND.clear()
        op = _BOUND[key] = Op(entry, args)
    return op


# ---------------------------------------------------------------------------------------------
# Building nodes
# ---------------------------------------------------------------------------------------------

_new_value: Final = object.__new__
_data: Final = attrgetter("_data")


def _node(data: float, parents: tuple[Value, ...], partials: tuple[Num, ...], op: Op) -> Value:
    """Make a result node; under no_grad() it is a constant with no history."""
    node: Value = _new_value(Value)
    node._data = data
    node.grad = 0.0
    node.label = ""
    if _GRAD_ENABLED.get():
        node._parents = parents
        node._partials = partials
        node._operation = op
    else:
        node._parents = ()
        node._partials = ()
        node._operation = CONSTANT
    return node


def _constant(x: float) -> Value:
    """A number that entered an expression, as a leaf node."""
    return _node(x, (), (), CONSTANT)


def _number_or_none(x: object) -> Any:
    """x's number if it is a Value or a real number (not a bool), else None."""
    if isinstance(x, Value):
        return x._data
    # Any real number as it is: Python compares a float with an int (even 10**400) exactly.
    return x if _is_number(x) else None


def _is_number(x: object) -> bool:
    return type(x) is float or type(x) is int or _checks.is_number(x)


def _as_value(x: object, op: Op) -> Value | None:
    """x as a node: real numbers become constants, anything else None (for NotImplemented)."""
    if type(x) is float:
        return _constant(x)
    if not _is_number(x):
        return None
    return _constant(_float(x, op.operation))


def _float(x: Any, entry: Operation) -> float:
    """A number given to an operation, as a float; one beyond the float range is named."""
    if type(x) is float:
        return x
    if type(x) is int and -_INT_LIMIT < x < _INT_LIMIT:
        return float(x)  # the common case of 2 * x, quickly
    return _checks.real(x, f"{entry.name}() operand")


_INT_LIMIT: Final = 2**1000  # below 2**1024 every int is a finite float


def _as_values(items: tuple[object, ...], where: str) -> tuple[Value, ...]:
    """items as nodes; the common case, all Values already, costs one quick pass."""
    # map() runs the check in C: a generator here would cost more than the dot product itself.
    if all(map(isinstance, items, repeat(Value))):
        return items  # type: ignore[return-value]  # every item was checked to be a Value
    nodes = []
    for i, x in enumerate(items):
        if isinstance(x, Value):
            nodes.append(x)
        elif _is_number(x):
            nodes.append(_constant(_checks.real(x, f"{where} input {i}")))
        else:
            msg = f"{where} needs Values or real numbers, got {_checks.shown(x)} at input {i}"
            raise TypeError(msg)
    return tuple(nodes)


def _apply(op: Op, parents: tuple[Value, ...]) -> Value:
    """Run op's rule on the parents' data and record the result as a node."""
    out, partials = op.run(FLOATS, list(map(_data, parents)))
    return _node(out, parents, partials, op)


# ---------------------------------------------------------------------------------------------
# Making Value's methods and the package's functions from the operation table
# ---------------------------------------------------------------------------------------------


# Python's NotImplemented, which an operator returns for an operand it does not know; typed as
# the Value it returns otherwise, as Python's own dunder methods are.
_UNSUPPORTED: Final = cast("Value", NotImplemented)


def _unary(op: Op) -> Callable[[Value], Value]:
    rule = op.rule

    def method(self: Value) -> Value:
        out, partials = rule(FLOATS, self._data)
        return _node(out, (self,), partials, op)

    return method


def _binary(op: Op) -> Callable[[Value, Value | Scalar], Value]:
    rule = op.rule

    def method(self: Value, other: Value | Scalar) -> Value:
        y = other if isinstance(other, Value) else _as_value(other, op)
        if y is None:
            return _UNSUPPORTED
        out, partials = rule(FLOATS, self._data, y._data)
        return _node(out, (self, y), partials, op)

    return method


def _reflected(op: Op) -> Callable[[Value, Value | Scalar], Value]:
    rule = op.rule

    def method(self: Value, other: Value | Scalar) -> Value:
        x = _as_value(other, op)  # other is never a Value here: Python tried its own first
        if x is None:
            return _UNSUPPORTED
        out, partials = rule(FLOATS, x._data, self._data)
        return _node(out, (x, self), partials, op)

    return method


def _with_params(entry: Operation) -> Callable[..., Value]:
    """A method ``x.name(*params)`` for an operation with constant arguments (leaky_relu)."""
    n_params = len(entry.params)
    n_required = n_params - len(entry.defaults)
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for i, name in enumerate(entry.params):
        j = i - n_required
        default = entry.defaults[j] if j >= 0 else inspect.Parameter.empty
        parameters.append(
            inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)
        )
    signature = inspect.Signature(parameters, return_annotation="Value")

    defaults = entry.defaults
    name = entry.name
    rule = entry.rule

    def general(self: Value, *args: Any, **kwargs: Any) -> Value:
        if kwargs or len(args) != n_params:
            args = _bind(signature, entry, defaults, n_required, self, args, kwargs)
        args = _constant_args(entry, args)
        op = _op_with(entry, args)
        out, partials = rule(FLOATS, self._data, *args)
        return _node(out, (self,), partials, op)

    fallback: Any = defaults[0] if defaults else _MISSING

    def quick(self: Value, value: Any = _MISSING, **kwargs: Any) -> Value:
        # One float constant (leaky_relu's slope): the common case; a keyword goes the
        # general way.
        if value is _MISSING and not kwargs:
            value = fallback
        if kwargs or type(value) is not float:
            given = () if value is _MISSING else (value,)
            return general(self, *given, **kwargs)
        op = _BOUND.get((name, value)) if value else None
        if op is None:
            op = _op_with(entry, (value,))
        out, partials = rule(FLOATS, self._data, value)
        return _node(out, (self,), partials, op)

    method = quick if n_params == 1 and name != "round" else general

    method.__signature__ = signature  # type: ignore[attr-defined]  # read by help() and inspect
    return method


_MISSING: Final = object()  # an argument left out, where there is no default


def _bind(
    signature: inspect.Signature,
    entry: Operation,
    defaults: tuple[Any, ...],
    n_required: int,
    self: Value,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[Any, ...]:
    """The constant arguments of a call given with keywords or left to their defaults."""
    if not kwargs and n_required <= len(args) < len(entry.params):
        return (*args, *defaults[len(args) - n_required :])
    try:
        call = signature.bind(self, *args, **kwargs)
    except TypeError as error:
        msg = f"{entry.name}(): {error}"
        raise TypeError(msg) from None
    call.apply_defaults()
    return tuple(call.arguments.values())[1:]


def _constant_args(entry: Operation, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """The constant arguments of one call, checked: numbers, in range for the operation."""
    where = f"{entry.name}()"
    checked: list[Any] = []
    for name, value in zip(entry.params, args):
        if name in ("ndigits", "index"):
            checked.append(_checks.integer(value, f"{where} {name}"))
        else:
            checked.append(_checks.real(value, f"{where} {name}"))
    if entry.name == "clamp" and checked[0] > checked[1]:
        msg = f"clamp() needs low <= high, got low={checked[0]!r} and high={checked[1]!r}"
        raise ValueError(msg)
    return tuple(checked)


def _name_it(function: Callable[..., Any], entry: Operation, name: str, owner: str) -> None:
    function.__name__ = name
    function.__qualname__ = f"{owner}.{name}" if owner else name
    function.__module__ = __name__
    function.__doc__ = entry.doc


def _install() -> None:
    """Give Value a method per operation, and the module a function per n-ary operation."""
    for name, entry in OPERATIONS.items():
        if entry.params:
            if entry.arity == 1:
                method = _with_params(entry)
                if entry.method:
                    _name_it(method, entry, name, "Value")
                    setattr(Value, name, method)
            continue
        op = _OPS[name]
        if entry.arity == 1:
            method = _unary(op)
            if entry.method:
                _name_it(method, entry, name, "Value")
                setattr(Value, name, method)
            if entry.operator:
                operator_method = _unary(op)
                _name_it(operator_method, entry, entry.operator, "Value")
                setattr(Value, entry.operator, operator_method)
        elif entry.arity == 2:
            if entry.operator and entry.operator not in vars(Value):
                binary = _binary(op)
                _name_it(binary, entry, entry.operator, "Value")
                setattr(Value, entry.operator, binary)
            if entry.reflected:
                reflected = _reflected(op)
                _name_it(reflected, entry, entry.reflected, "Value")
                setattr(Value, entry.reflected, reflected)
            if entry.method:
                method = _binary(op)
                _name_it(method, entry, name, "Value")
                setattr(Value, name, method)


def _power(self: Value, other: Value | Scalar) -> Value:
    if isinstance(other, Value):
        both = _OPS["pow"]
        out, partials = both.rule(FLOATS, self._data, other._data)
        return _node(out, (self, other), partials, both)
    if not _is_number(other):
        return _UNSUPPORTED
    # A constant exponent is an argument of the operation, not a node: x ** 2 has one input.
    exponent = _float(other, _POW_CONST)
    op: Op | None = _BOUND.get(("pow_const", exponent)) if exponent else None  # a zero: signed
    if op is None:
        op = _op_with(_POW_CONST, (exponent,))
    out, partials = op.rule(FLOATS, self._data, exponent)
    return _node(out, (self,), partials, op)


_POW_CONST: Final = OPERATIONS["pow_const"]


def _round(self: Value, ndigits: int | None = None) -> Value:
    return self.round(0 if ndigits is None else ndigits)


_install()
Value.__pow__ = _power  # type: ignore[method-assign]  # two operations behind one operator
_name_it(_power, OPERATIONS["pow_const"], "__pow__", "Value")
_power.__doc__ = "self ** other: x ** c for a number c, x ** y (both differentiated) for a Value."
Value.__round__ = _round  # type: ignore[method-assign]  # round(x) and round(x, n)
_name_it(_round, OPERATIONS["round"], "__round__", "Value")


def _binary_function(entry: Operation) -> Callable[[Value | Scalar, Value | Scalar], Value]:
    op = _OPS[entry.name]

    def function(x: Value | Scalar, y: Value | Scalar) -> Value:
        return _apply(op, _as_values((x, y), f"{entry.name}()"))

    _name_it(function, entry, entry.name, "")
    return function


maximum: Final = _binary_function(OPERATIONS["maximum"])
minimum: Final = _binary_function(OPERATIONS["minimum"])
atan2: Final = _binary_function(OPERATIONS["atan2"])
hypot: Final = _binary_function(OPERATIONS["hypot"])


def sum(values: Iterable[Value | Scalar]) -> Value:
    """The sum of values as one node with one edge per input (Python's sum() makes n nodes)."""
    parents = _as_values(tuple(values), "sum()")
    if not parents:
        return _constant(0.0)
    return _apply(_OPS["sum"], parents)


def dot(ws: Sequence[Value | Scalar], xs: Sequence[Value | Scalar]) -> Value:
    """w1*x1 + ... + wn*xn as one node with one edge per input."""
    if len(ws) != len(xs):
        msg = f"dot() needs two sequences of the same length, got {len(ws)} and {len(xs)}"
        raise ValueError(msg)
    parents = _as_values((*ws, *xs), "dot()")
    if not parents:
        return _constant(0.0)
    return _apply(_OPS["dot"], parents)


def logsumexp(values: Iterable[Value | Scalar]) -> Value:
    """log(sum(exp(v))) as one node, without overflow for any finite inputs."""
    parents = _as_values(tuple(values), "logsumexp()")
    if not parents:
        msg = "logsumexp() needs at least one input"
        raise ValueError(msg)
    return _apply(_OPS["logsumexp"], parents)


def log_softmax(values: Iterable[Value | Scalar], index: int) -> Value:
    """log(softmax(values)[index]) as one node, without overflow or cancellation."""
    parents = _as_values(tuple(values), "log_softmax()")
    if not parents:
        msg = "log_softmax() needs at least one input"
        raise ValueError(msg)
    index = _checks.integer(index, "log_softmax() index", low=0, high=len(parents) - 1)
    return _apply(_op_with(OPERATIONS["log_softmax"], (index,)), parents)


def primitive(rule: rules.Rule, *, name: str | None = None) -> Callable[..., Value]:
    """Turn a rule ``rule(m, *inputs) -> (out, partials)`` into an operation on Values.

    Write the rule with ``+ - * /`` and the functions of ``m`` (``m.exp``, ``m.log``, ...), the
    way every built-in rule in ``autograd_lite.rules`` is written: then the same rule serves
    the forward pass on floats and second derivatives on Values.

    >>> @primitive
    ... def cube(m, x):
    ...     return x * x * x, (3 * x * x,)
    >>> x = Value(2.0)
    >>> y = cube(x)
    >>> y.backward()
    >>> (y.data, x.grad)
    (8.0, 12.0)
    """
    entry = Operation(rule, method=False)
    if name is not None:
        entry.name = entry.symbol = name
    op = Op(entry)
    op.variadic = False  # a user's rule takes its inputs one by one

    def apply(*inputs: Value | Scalar) -> Value:
        parents = _as_values(inputs, f"{op.name}()")
        out, partials = rule(FLOATS, *map(_data, parents))
        out = _checks.real(out, f"{op.name}() rule's output")
        if len(partials) != len(parents):
            msg = (
                f"{op.name}() rule returned {len(partials)} partials for "
                f"{len(parents)} inputs; it needs one per input"
            )
            raise ValueError(msg)
        partials = tuple(_checks.real(p, f"{op.name}() rule's partial") for p in partials)
        return _node(out, parents, partials, op)

    apply.__name__ = op.name
    apply.__qualname__ = op.name
    apply.__doc__ = rule.__doc__
    apply.__wrapped__ = rule  # type: ignore[attr-defined]  # inspect.signature follows it
    return apply


def zero_grad(values: Iterable[Value]) -> None:
    """Set the gradient of each given Value (for example a model's parameters) to 0."""
    for value in values:
        value.grad = 0.0


# ---------------------------------------------------------------------------------------------
# Recording on and off
# ---------------------------------------------------------------------------------------------

# A context variable is per thread (and per asyncio task), so no_grad() in one thread never
# switches off recording in another; reading it is cheaper than a threading.local.
_GRAD_ENABLED: Final = ContextVar("autograd_lite_grad_enabled", default=True)


class set_grad_enabled:  # a function to its callers, as in PyTorch
    """Switch recording on or off in this thread: as a call, or as a ``with`` block.

    >>> _ = set_grad_enabled(False)
    >>> (Value(2.0) * 3).is_leaf
    True
    >>> _ = set_grad_enabled(True)
    >>> with set_grad_enabled(False):
    ...     y = Value(2.0) * 3
    >>> y.is_leaf
    True
    """

    def __init__(self, mode: bool) -> None:
        self._previous = _GRAD_ENABLED.get()
        _GRAD_ENABLED.set(_checks.flag(mode, "set_grad_enabled() mode"))

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        _GRAD_ENABLED.set(self._previous)


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside this block, results are constants with no history (nestable, per thread).

    >>> w = Value(3.0)
    >>> with no_grad():
    ...     y = w * 2
    >>> y.is_leaf
    True
    """
    token = _GRAD_ENABLED.set(False)
    try:
        yield
    finally:
        _GRAD_ENABLED.reset(token)


@contextmanager
def enable_grad() -> Iterator[None]:
    """Inside this block operations record their history, even within ``no_grad()``."""
    token = _GRAD_ENABLED.set(True)
    try:
        yield
    finally:
        _GRAD_ENABLED.reset(token)


def is_grad_enabled() -> bool:
    """Whether operations in this thread record their history."""
    return _GRAD_ENABLED.get()


# ---------------------------------------------------------------------------------------------
# Anomaly mode (switched on by functional.detect_anomaly; its checks live there)
# ---------------------------------------------------------------------------------------------


class _Anomaly:
    """Whether anomaly mode is on, and what it does: set by ``detect_anomaly()``."""

    on = False

    def check_gradient(self, node: Value, grad: Num) -> None:  # replaced when switched on
        pass

    def check_contribution(self, node: Value, upstream: Num) -> None:  # replaced when on
        pass


_anomaly: Final = _Anomaly()


# ---------------------------------------------------------------------------------------------
# The rules' arithmetic on Values (second and higher derivatives)
# ---------------------------------------------------------------------------------------------


def _value_functions() -> dict[str, Callable[..., Any]]:
    """Each function of FLOATS as the operation of the same name on Values."""
    special: dict[str, Callable[..., Any]] = {
        "div": lambda x, y: x / y,
        "pow": lambda x, y: x**y,
        "ieee_pow": lambda x, y: x**y,
        "sum": sum,
        "dot": dot,
        "logsumexp": logsumexp,
        "log_softmax": log_softmax,
        "atan2": atan2,
        "hypot": hypot,
        "round": lambda x, ndigits: Value.round(x, ndigits),
    }
    functions: dict[str, Callable[..., Any]] = {}
    for name in vars(FLOATS):
        function = special.get(name) or getattr(Value, name, None)
        if function is None:
            msg = f"the operation {name!r} has a float function but no operation on Values"
            raise AssertionError(msg)
        functions[name] = function
    return functions


# The rules' arithmetic on Values: a rule run with it builds its partials as a graph.
VALUES: Final = rules._Functions(_value_functions())
