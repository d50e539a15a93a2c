"""The graph machinery: `Value` nodes, primitive operations on them, and the backward sweep.

A `Value` records its parents and, at forward time, the local derivative of itself with respect
to each parent, as numbers. `backward()` orders the graph with an iterative topological sort and
applies the chain rule from the output back to the leaves. No calculus lives here: every formula
comes from `autograd_lite.rules`.
"""

from __future__ import annotations

import gc
import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache, update_wrapper
from itertools import repeat
from operator import attrgetter
from typing import Final

from autograd_lite import rules
from autograd_lite.rules import FLOATS, Num, Rule

Scalar = float | int


class Op:
    """A primitive operation: its name, its rule, and any constant arguments of the rule."""

    __slots__ = ("args", "name", "rule")

    def __init__(self, name: str, rule: Rule, args: tuple[float, ...] = ()) -> None:
        self.name = name
        self.rule = rule
        self.args = args

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


def _leaf_rule(m: object, *inputs: Num) -> tuple[Num, tuple[Num, ...]]:
    msg = "a leaf has no rule: it was not computed from anything"
    raise TypeError(msg)


# Leaves: a user's input or parameter, or a number that entered an expression.
LEAF: Final = Op("", _leaf_rule)
CONSTANT: Final = Op("const", _leaf_rule)

_ADD: Final = Op("+", rules.add)
_SUB: Final = Op("-", rules.sub)
_MUL: Final = Op("*", rules.mul)
_DIV: Final = Op("/", rules.div)
_NEG: Final = Op("neg", rules.neg)
_POW: Final = Op("pow", rules.power)
_ABS: Final = Op("abs", rules.absolute)
_EXP: Final = Op("exp", rules.exp)
_LOG: Final = Op("log", rules.log)
_LOG1P: Final = Op("log1p", rules.log1p)
_SQRT: Final = Op("sqrt", rules.sqrt)
_SIN: Final = Op("sin", rules.sin)
_COS: Final = Op("cos", rules.cos)
_TANH: Final = Op("tanh", rules.tanh)
_SIGMOID: Final = Op("sigmoid", rules.sigmoid)
_SOFTPLUS: Final = Op("softplus", rules.softplus)
_RELU: Final = Op("relu", rules.relu)
_SUM: Final = Op("sum", rules.add_n)
_DOT: Final = Op("dot", rules.dot)


# An operation with a constant argument is one Op per constant, made once and shared.
@lru_cache(maxsize=256)
def _power_op(c: float) -> Op:
    return Op(f"**{c:g}", rules.power_const, (c,))


@lru_cache(maxsize=256)
def _leaky_relu_op(slope: float) -> Op:
    return Op("leaky_relu", rules.leaky_relu, (slope,))


# A context variable is per thread (and per asyncio task), so no_grad() in one thread never
# switches off recording in another; reading it is cheaper than a threading.local.
_GRAD_ENABLED: Final = ContextVar("autograd_lite_grad_enabled", default=True)


class Value:
    """One float in a computation graph, with its gradient.

    >>> x = Value(2.0, label="x")
    >>> y = x * x + 3 * x
    >>> y.backward()
    >>> x.grad
    7.0
    """

    __slots__ = ("_op", "_parents", "_partials", "data", "grad", "label")

    data: float
    grad: float | Value
    label: str
    _parents: tuple[Value, ...]
    _partials: tuple[Num, ...]
    _op: Op

    def __init__(self, data: float, label: str = "") -> None:
        if type(data) is not float:
            data = _real_or_raise(data, "Value()")
        self.data = data
        self.grad = 0.0
        self.label = label
        # Tuples, not sets: `a * a` needs two edges, and order keeps sweeps deterministic.
        self._parents = ()
        self._partials = ()
        self._op = LEAF

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
        return self._op.name

    @property
    def is_leaf(self) -> bool:
        """True for a node with no parents: an input, a parameter or a constant."""
        return not self._parents

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def __float__(self) -> float:
        return self.data

    def __format__(self, spec: str) -> str:
        return format(self.data, spec) if spec else repr(self)

    # -- arithmetic: each operator calls its rule directly (the hot path) and records a node ----

    def __add__(self, other: Value | Scalar) -> Value:
        y = other if isinstance(other, Value) else _as_value(other)
        if y is None:
            return NotImplemented
        out, partials = rules.add(FLOATS, self.data, y.data)
        return _node(out, (self, y), partials, _ADD)

    def __radd__(self, other: Value | Scalar) -> Value:
        x = other if isinstance(other, Value) else _as_value(other)
        if x is None:
            return NotImplemented
        out, partials = rules.add(FLOATS, x.data, self.data)
        return _node(out, (x, self), partials, _ADD)

    def __sub__(self, other: Value | Scalar) -> Value:
        y = other if isinstance(other, Value) else _as_value(other)
        if y is None:
            return NotImplemented
        out, partials = rules.sub(FLOATS, self.data, y.data)
        return _node(out, (self, y), partials, _SUB)

    def __rsub__(self, other: Value | Scalar) -> Value:
        x = other if isinstance(other, Value) else _as_value(other)
        if x is None:
            return NotImplemented
        out, partials = rules.sub(FLOATS, x.data, self.data)
        return _node(out, (x, self), partials, _SUB)

    def __mul__(self, other: Value | Scalar) -> Value:
        y = other if isinstance(other, Value) else _as_value(other)
        if y is None:
            return NotImplemented
        out, partials = rules.mul(FLOATS, self.data, y.data)
        return _node(out, (self, y), partials, _MUL)

    def __rmul__(self, other: Value | Scalar) -> Value:
        x = other if isinstance(other, Value) else _as_value(other)
        if x is None:
            return NotImplemented
        out, partials = rules.mul(FLOATS, x.data, self.data)
        return _node(out, (x, self), partials, _MUL)

    def __truediv__(self, other: Value | Scalar) -> Value:
        y = other if isinstance(other, Value) else _as_value(other)
        if y is None:
            return NotImplemented
        out, partials = rules.div(FLOATS, self.data, y.data)
        return _node(out, (self, y), partials, _DIV)

    def __rtruediv__(self, other: Value | Scalar) -> Value:
        x = other if isinstance(other, Value) else _as_value(other)
        if x is None:
            return NotImplemented
        out, partials = rules.div(FLOATS, x.data, self.data)
        return _node(out, (x, self), partials, _DIV)

    def __pow__(self, other: Value | Scalar) -> Value:
        if isinstance(other, Value):
            out, partials = rules.power(FLOATS, self.data, other.data)
            return _node(out, (self, other), partials, _POW)
        if not _is_real(other):
            return NotImplemented
        # A constant exponent is an argument of the operation, not a node: x ** 2 has one input.
        c = float(other)
        out, partials = rules.power_const(FLOATS, self.data, c)
        return _node(out, (self,), partials, _power_op(c))

    def __rpow__(self, other: Value | Scalar) -> Value:
        base = _as_value(other)
        if base is None:
            return NotImplemented
        out, partials = rules.power(FLOATS, base.data, self.data)
        return _node(out, (base, self), partials, _POW)

    def __neg__(self) -> Value:
        out, partials = rules.neg(FLOATS, self.data)
        return _node(out, (self,), partials, _NEG)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        out, partials = rules.absolute(FLOATS, self.data)
        return _node(out, (self,), partials, _ABS)

    # -- functions ------------------------------------------------------------------------------

    def exp(self) -> Value:
        """e ** self."""
        out, partials = rules.exp(FLOATS, self.data)
        return _node(out, (self,), partials, _EXP)

    def log(self) -> Value:
        """Natural logarithm; raises ValueError for an input <= 0."""
        out, partials = rules.log(FLOATS, self.data)
        return _node(out, (self,), partials, _LOG)

    def log1p(self) -> Value:
        """log(1 + self), accurate near 0; raises ValueError for an input <= -1."""
        out, partials = rules.log1p(FLOATS, self.data)
        return _node(out, (self,), partials, _LOG1P)

    def sqrt(self) -> Value:
        """Square root; raises ValueError for a negative input."""
        out, partials = rules.sqrt(FLOATS, self.data)
        return _node(out, (self,), partials, _SQRT)

    def sin(self) -> Value:
        """Sine (radians)."""
        out, partials = rules.sin(FLOATS, self.data)
        return _node(out, (self,), partials, _SIN)

    def cos(self) -> Value:
        """Cosine (radians)."""
        out, partials = rules.cos(FLOATS, self.data)
        return _node(out, (self,), partials, _COS)

    def tanh(self) -> Value:
        """Hyperbolic tangent."""
        out, partials = rules.tanh(FLOATS, self.data)
        return _node(out, (self,), partials, _TANH)

    def sigmoid(self) -> Value:
        """Logistic sigmoid, stable for any finite input."""
        out, partials = rules.sigmoid(FLOATS, self.data)
        return _node(out, (self,), partials, _SIGMOID)

    def softplus(self) -> Value:
        """log(1 + e ** self), stable for any finite input."""
        out, partials = rules.softplus(FLOATS, self.data)
        return _node(out, (self,), partials, _SOFTPLUS)

    def relu(self) -> Value:
        """max(self, 0); its derivative at 0 is taken to be 0."""
        out, partials = rules.relu(FLOATS, self.data)
        return _node(out, (self,), partials, _RELU)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """self for a positive input, slope * self otherwise."""
        if type(slope) is not float:
            slope = _real_or_raise(slope, "leaky_relu() slope")
        out, partials = rules.leaky_relu(FLOATS, self.data, slope)
        return _node(out, (self,), partials, _leaky_relu_op(slope))

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
        seed = _real_or_raise(grad, "backward() grad")
        with _gc_paused():
            order = _depth_first_order(self)
            for node in order:
                if node._parents:
                    node.grad = 0.0  # never stale, never double-counted
                elif isinstance(node.grad, Value):
                    # Left by an earlier create_graph=True sweep: keep the number, drop the graph.
                    node.grad = node.grad.data
            if self._parents:
                self.grad = seed
            else:
                self.grad += seed
            if create_graph:
                _sweep_building_graph(order)
            else:
                _sweep(order)

    def zero_grad(self) -> None:
        """Set the gradient of every node in this graph to 0."""
        for node in topological_order(self):
            node.grad = 0.0

    def detach(self) -> Value:
        """A new leaf with the same data and no history."""
        return Value(self.data, self.label)


# ---------------------------------------------------------------------------------------------
# Building nodes
# ---------------------------------------------------------------------------------------------

_new_value: Final = object.__new__
_data: Final = attrgetter("data")


def _node(data: float, parents: tuple[Value, ...], partials: tuple[Num, ...], op: Op) -> Value:
    """Make a result node; under no_grad() it is a constant with no history."""
    node: Value = _new_value(Value)
    node.data = data
    node.grad = 0.0
    node.label = ""
    if _GRAD_ENABLED.get():
        node._parents = parents
        node._partials = partials
        node._op = op
    else:
        node._parents = ()
        node._partials = ()
        node._op = CONSTANT
    return node


def _constant(x: float) -> Value:
    """A number that entered an expression, as a leaf node."""
    return _node(x, (), (), CONSTANT)


def _is_real(x: object) -> bool:
    return isinstance(x, numbers.Real)


def _real_or_raise(x: object, where: str) -> float:
    """x as a float, or a TypeError that names where it was given."""
    if isinstance(x, Value):
        msg = f"{where} needs a real number, got a Value (use .data, or .detach() for a leaf)"
        raise TypeError(msg)
    if not isinstance(x, numbers.Real):
        msg = f"{where} needs a real number, got {type(x).__name__}: {x!r}"
        raise TypeError(msg)
    return float(x)


def _as_value(x: object) -> Value | None:
    """x as a node: Values pass through, real numbers become constants, anything else None."""
    if isinstance(x, Value):
        return x
    if type(x) is float or type(x) is int or isinstance(x, numbers.Real):
        return _constant(float(x))
    return None


def _as_value_or_raise(x: object, where: str) -> Value:
    node = _as_value(x)
    if node is None:
        msg = f"{where} needs Values or real numbers, got {type(x).__name__}: {x!r}"
        raise TypeError(msg)
    return node


def _as_values(items: tuple[object, ...], where: str) -> tuple[Value, ...]:
    """items as nodes; the common case, all Values already, costs one quick pass."""
    # map() runs the check in C: a generator here would cost more than the dot product itself.
    if all(map(isinstance, items, repeat(Value))):
        return items  # type: ignore[return-value]  # every item was checked to be a Value
    return tuple(_as_value_or_raise(x, where) for x in items)


def _apply(op: Op, parents: tuple[Value, ...]) -> Value:
    """Run op's rule on the parents' data and record the result as a node."""
    out, partials = op.rule(FLOATS, *map(_data, parents), *op.args)
    return _node(out, parents, partials, op)


def primitive(rule: Rule, *, name: str | None = None) -> Callable[..., Value]:
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
    op = Op(name or str(getattr(rule, "__name__", "primitive")), rule)

    def apply(*inputs: Value | Scalar) -> Value:
        parents = _as_values(inputs, f"{op.name}()")
        out, partials = rule(FLOATS, *map(_data, parents))
        out = _real_or_raise(out, f"{op.name}() rule's output")
        if len(partials) != len(parents):
            msg = (
                f"{op.name}() rule returned {len(partials)} partials for "
                f"{len(parents)} inputs; it needs one per input"
            )
            raise ValueError(msg)
        partials = tuple(_real_or_raise(p, f"{op.name}() rule's partial") for p in partials)
        return _node(out, parents, partials, op)

    update_wrapper(apply, rule)
    return apply


def sum(values: Iterable[Value | Scalar]) -> Value:
    """The sum of values as one node with one edge per input (Python's sum() makes n nodes)."""
    parents = _as_values(tuple(values), "sum()")
    if not parents:
        return _constant(0.0)
    return _apply(_SUM, parents)


def dot(ws: Sequence[Value | Scalar], xs: Sequence[Value | Scalar]) -> Value:
    """w1*x1 + ... + wn*xn as one node with one edge per input."""
    if len(ws) != len(xs):
        msg = f"dot() needs two sequences of the same length, got {len(ws)} and {len(xs)}"
        raise ValueError(msg)
    parents = _as_values((*ws, *xs), "dot()")
    if not parents:
        return _constant(0.0)
    return _apply(_DOT, parents)


# ---------------------------------------------------------------------------------------------
# Walking the graph
# ---------------------------------------------------------------------------------------------


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a walk over a graph.

    Walking a graph allocates one small object per node, and the collector would rescan the
    whole graph again and again (it doubled the time of a deep backward sweep, measured). Our
    graphs hold no reference cycles, so there is nothing for it to find meanwhile.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def topological_order(root: Value) -> list[Value]:
    """Every node that root depends on, each after all of its parents; root comes last."""
    with _gc_paused():
        return _depth_first_order(root)


def _depth_first_order(root: Value) -> list[Value]:
    order: list[Value] = []
    visited = {root}
    # Depth-first without recursion: a stack of the nodes being visited, and beside it an
    # iterator over each one's parents that remembers how far the visit has got.
    nodes = [root]
    unvisited_parents = [iter(root._parents)]
    while nodes:
        for parent in unvisited_parents[-1]:
            if parent not in visited:
                visited.add(parent)
                if not parent._parents:
                    order.append(parent)  # a leaf is finished as soon as it is found
                    continue
                nodes.append(parent)
                unvisited_parents.append(iter(parent._parents))
                break
        else:
            unvisited_parents.pop()
            order.append(nodes.pop())
    return order


def _sweep(order: list[Value]) -> None:
    """The chain rule, from the output back to the leaves: the whole of backpropagation."""
    for node in reversed(order):
        upstream = node.grad
        for parent, partial in zip(node._parents, node._partials):
            parent.grad += partial * upstream


def _sweep_building_graph(order: list[Value]) -> None:
    """The chain rule with partials rebuilt as Values, so gradients are graphs too."""
    for node in reversed(order):
        if not node._parents:
            continue
        upstream = node.grad
        _, partials = node._op.rule(VALUES, *node._parents, *node._op.args)
        for parent, partial in zip(node._parents, partials):
            # A partial of exactly 1.0 passes the upstream gradient on without a node. A partial
            # that is a Value is always multiplied, even by 1.0: it may be a node of the forward
            # graph (d/dx x*y = y), and a gradient must never be the very node an optimizer
            # is about to update.
            is_one = type(partial) is float and partial == 1.0
            contribution = upstream if is_one else partial * upstream
            previous = parent.grad
            if type(previous) is float and previous == 0.0:
                parent.grad = contribution
            else:
                parent.grad = previous + contribution


def zero_grad(values: Iterable[Value]) -> None:
    """Set the gradient of each given Value (for example a model's parameters) to 0."""
    for value in values:
        value.grad = 0.0


# ---------------------------------------------------------------------------------------------
# Recording on and off
# ---------------------------------------------------------------------------------------------


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


def is_grad_enabled() -> bool:
    """Whether operations in this thread record their history."""
    return _GRAD_ENABLED.get()


# ---------------------------------------------------------------------------------------------
# The rules' arithmetic on Values (second and higher derivatives)
# ---------------------------------------------------------------------------------------------


def _value_pow(x: Num, y: Num) -> Num:
    return x**y


class ValueMath:
    """The functions of rules.Math on Values: a rule run with these builds a graph."""

    exp = staticmethod(Value.exp)
    log = staticmethod(Value.log)
    log1p = staticmethod(Value.log1p)
    sqrt = staticmethod(Value.sqrt)
    pow = staticmethod(_value_pow)
    sin = staticmethod(Value.sin)
    cos = staticmethod(Value.cos)
    tanh = staticmethod(Value.tanh)
    sigmoid = staticmethod(Value.sigmoid)
    softplus = staticmethod(Value.softplus)
    sum = staticmethod(sum)
    dot = staticmethod(dot)


VALUES: Final = ValueMath()

__all__ = [
    "CONSTANT",
    "LEAF",
    "VALUES",
    "Op",
    "Value",
    "ValueMath",
    "dot",
    "is_grad_enabled",
    "no_grad",
    "primitive",
    "sum",
    "topological_order",
    "zero_grad",
]
