"""The two sweeps of the chain rule, recorded step by step: which node, which edge, which numbers.

`backward_sweep(root)` replays the engine's reverse accumulation (`engine._sweep`) and
`forward_sweep(root, wrt)` its forward accumulation (`engine._tangents`): the same stored local
derivatives (``node.partials``), in the same order, with the same arithmetic, so every number
equals the engine's bit for bit. Each visit is kept as a `Frame` of `Step`s, and a sweep counts
its multiply-adds. Nothing here changes a ``.grad``, runs a hook, or knows any calculus.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

from autograd_lite import _checks
from autograd_lite.engine import Value, _depth_first_order

__all__ = ["BACKWARD", "FORWARD", "Frame", "Step", "Sweep", "backward_sweep", "forward_sweep"]

BACKWARD: Final = "backward"
FORWARD: Final = "forward"


class Step(NamedTuple):
    """One multiply-add of a sweep: the numbers that travel along one edge.

    The edge runs from ``parent`` into ``child`` (indices into `Sweep.nodes`), where the parent
    is operand number ``operand`` (0 for the first). ``contribution`` is ``partial * upstream``;
    ``total`` is the receiving node's sum once the contribution is added: the parent's gradient
    so far in a backward sweep, the child's tangent so far in a forward sweep.
    """

    parent: int
    child: int
    operand: int
    partial: float
    upstream: float  # backward: the child's gradient; forward: the parent's tangent
    contribution: float
    total: float


class Frame(NamedTuple):
    """One node's visit: its number, and the multiply-adds done while visiting it.

    ``upstream`` is the visited node's gradient in a backward sweep (complete when the sweep
    reaches it), or its tangent in a forward sweep (None when it depends on no seed, which the
    engine leaves out; its tangent is 0).
    """

    node: int
    upstream: float | None
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Sweep:
    """A whole sweep: the engine's topological order of the graph and one frame per node.

    ``index`` gives each node's position in ``nodes``. ``frames`` come in the order the sweep
    visits the nodes: ``nodes`` reversed for a backward sweep, ``nodes`` as they are for a
    forward one. ``seed`` is the index of the node the sweep
    starts from (the root backward, ``wrt`` forward), ``results`` each node's final gradient or
    tangent (None for a tangent the engine never computes).
    """

    mode: str
    nodes: tuple[Value, ...]
    index: Mapping[Value, int]
    frames: tuple[Frame, ...]
    seed: int
    results: tuple[float | None, ...]

    @property
    def multiply_adds(self) -> int:
        """How many ``partial * upstream`` products the sweep added up: one per step."""
        return sum(len(frame.steps) for frame in self.frames)

    def result(self, node: Value) -> float:
        """node's gradient (backward) or tangent (forward, 0.0 if it depends on no seed)."""
        i = self.index.get(node) if isinstance(node, Value) else None
        if i is not None:
            found = self.results[i]
            return 0.0 if found is None else found
        msg = f"Sweep.result() needs a node of the swept graph, got {_checks.shown(node)}"
        raise ValueError(msg)

    def sums(self) -> Iterator[tuple[float | None, ...]]:
        """Every node's sum so far, before the first frame and after each one (len(frames) + 1).

        Backward, a node's sum is its gradient accumulated so far (None: nothing has reached
        it yet); forward, its tangent (None: not computed yet, or never).
        """
        current: list[float | None] = [None] * len(self.nodes)
        current[self.seed] = self._seed_value()
        yield tuple(current)
        for frame in self.frames:
            for step in frame.steps:
                receiver = step.parent if self.mode == BACKWARD else step.child
                current[receiver] = step.total
            yield tuple(current)

    def _seed_value(self) -> float | None:
        """The number the sweep starts with at its seed node."""
        first = self.frames[0] if self.mode == BACKWARD else self.frames[self.seed]
        return first.upstream


# A Step or Frame made straight from its tuple of fields: three times quicker than calling the
# class (a NamedTuple's __new__ is Python code), and a sweep of a large graph makes a million.
_make: Final = tuple.__new__


# ---------------------------------------------------------------------------------------------
# The two sweeps, side by side: each loop is the engine's, with every step written down
# ---------------------------------------------------------------------------------------------


def backward_sweep(root: Value, grad: float = 1.0) -> Sweep:
    """Reverse accumulation from root, as ``root.backward(grad)`` does it, recorded.

    The gradients are those ``backward()`` leaves in a graph whose leaves start at 0; no
    ``.grad`` is touched.

    >>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    >>> sweep = backward_sweep(x * w)
    >>> sweep.result(x), sweep.result(w), sweep.multiply_adds
    (-3.0, 2.0, 2)
    """
    root = _root(root, "backward_sweep()")
    seed = grad if type(grad) is float else _checks.real(grad, "backward_sweep() grad")
    order = _depth_first_order(root)
    index = {node: i for i, node in enumerate(order)}
    grads: list[float] = [0.0] * len(order)
    # backward() sets an interior root's gradient and adds to a leaf's (0.0 + seed: -0.0 -> 0.0).
    grads[-1] = seed if root._parents else grads[-1] + seed
    frames: list[Frame] = []
    # engine._sweep:  for node in reversed(order):
    #                     upstream = node.grad
    #                     for parent, partial in zip(node._parents, node._partials):
    #                         parent.grad += partial * upstream
    for i in range(len(order) - 1, -1, -1):
        node = order[i]
        upstream = grads[i]
        steps: list[Step] = []
        for operand, (parent, partial) in enumerate(zip(node._parents, node._partials)):
            j = index[parent]
            contribution = partial * upstream
            grads[j] += contribution
            steps.append(_make(Step, (j, i, operand, partial, upstream, contribution, grads[j])))
        frames.append(_make(Frame, (i, upstream, tuple(steps))))
    # Every node of the order is an ancestor of root, so every gradient is set by now.
    return Sweep(BACKWARD, tuple(order), index, tuple(frames), len(order) - 1, tuple(grads))


def forward_sweep(roots: Value | Sequence[Value], wrt: Value, tangent: float = 1.0) -> Sweep:
    """Forward accumulation from wrt towards the roots, as `jvp` does it, recorded.

    The tangent of each node is d(node)/d(wrt) times ``tangent``: the sum over its parents of
    partial * tangent(parent), in parent order, exactly as ``engine._tangents`` adds it up.
    Several roots (a function's outputs) are swept together, in one order made of each root's
    in turn, as `jvp` does: each edge is visited once, however many outputs share it.

    >>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    >>> y = x * w
    >>> sweep = forward_sweep(y, x)
    >>> sweep.result(y), sweep.multiply_adds
    (-3.0, 1)
    """
    order = _joint_order(roots)
    if not isinstance(wrt, Value):
        msg = f"forward_sweep() needs a Value as wrt, got {_checks.shown(wrt)}"
        raise TypeError(msg)
    seed = tangent if type(tangent) is float else _checks.real(tangent, "forward_sweep() tangent")
    index = {node: i for i, node in enumerate(order)}
    start = index.get(wrt)
    if start is None:
        msg = (
            f"forward_sweep() needs wrt to be a node of the roots' graph; {_checks.shown(wrt)} "
            "is not one (no root depends on it)"
        )
        raise ValueError(msg)
    tangents: dict[Value, float] = {wrt: seed}
    frames: list[Frame] = []
    # engine._tangents:  for node in order:
    #                        for parent, partial in zip(node._parents, node._partials):
    #                            if parent has a tangent:
    #                                total += partial * tangent[parent]
    for i, node in enumerate(order):
        total: float | None = None
        steps: list[Step] = []
        for operand, (parent, partial) in enumerate(zip(node._parents, node._partials)):
            incoming = tangents.get(parent)
            if incoming is not None:
                contribution = partial * incoming
                # The first contribution is the total itself, not 0.0 + it, as in the engine.
                total = contribution if total is None else total + contribution
                step = (index[parent], i, operand, partial, incoming, contribution, total)
                steps.append(_make(Step, step))
        if total is not None:
            tangents[node] = total
        frames.append(_make(Frame, (i, tangents.get(node), tuple(steps))))
    results = tuple(tangents.get(node) for node in order)
    return Sweep(FORWARD, tuple(order), index, tuple(frames), start, results)


def _joint_order(roots: object) -> list[Value]:
    """The order a forward sweep visits: each root's topological order in turn, each node once
    (functional._forward's order for several outputs)."""
    if isinstance(roots, Value):
        return _depth_first_order(roots)
    if not isinstance(roots, Sequence) or isinstance(roots, str):
        msg = f"forward_sweep() needs a Value or a sequence of Values, got {_checks.shown(roots)}"
        raise TypeError(msg)
    if not roots:
        msg = "forward_sweep() needs at least one root to sweep"
        raise ValueError(msg)
    for i, root in enumerate(roots):
        if not isinstance(root, Value):
            msg = f"forward_sweep() roots must be Values, got {_checks.shown(root)} at {i}"
            raise TypeError(msg)
    order: list[Value] = []
    seen: set[Value] = set()
    for root in roots:
        for node in _depth_first_order(root):
            if node not in seen:
                seen.add(node)
                order.append(node)
    return order


def _root(root: object, caller: str) -> Value:
    if not isinstance(root, Value):
        msg = f"{caller} needs a Value to sweep, got {_checks.shown(root)}"
        raise TypeError(msg)
    return root
