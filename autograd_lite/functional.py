"""Derivatives of Python functions, in the habits of JAX, HIPS autograd and PyTorch.

`grad(f)` returns a new function that computes the gradient of `f`; it never touches the `.grad`
of anybody's Values. Nest it for higher derivatives: `grad(grad(f))`. `jvp` runs forward
accumulation on the same recorded graph; `jacfwd` and `jacrev` build Jacobians from forward and
reverse sweeps; `gradients` is `torch.autograd.grad`. This module only arranges sweeps of the
engine: it holds no calculus of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any, Final, NamedTuple

from autograd_lite import _checks
from autograd_lite.engine import (
    LEAF,
    Value,
    _depth_first_order,
    _tangents,
    _tangents_building_graph,
    dot,
)

__all__ = [
    "Transform",
    "grad",
    "gradients",
    "hessian",
    "hvp",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "value_and_grad",
]

Scalar = float | int
Grad = float | Value
ArgNums = int | Sequence[int]


class Transform(NamedTuple):
    """What a function made by `grad` or `value_and_grad` is: the transform and its arguments."""

    kind: str
    function: Callable[..., Any]
    argnums: ArgNums
    has_aux: bool


# How many of our functions are evaluating their function right now. Inside one, a nested
# grad() must return a graph even when called with plain floats: its function may use the outer
# call's variables (grad(lambda x: x * grad(lambda y: x * y)(3.0))), and the outer call
# differentiates through the answer.
_DEPTH: Final = ContextVar("autograd_lite_grad_depth", default=0)


# ---------------------------------------------------------------------------------------------
# Reverse sweeps that leave everybody's .grad as it was
# ---------------------------------------------------------------------------------------------


def _gradients(root: Value, wrt: Sequence[Value], create_graph: bool) -> list[Grad]:
    """d(root)/d(w) for each w in wrt, leaving every .grad in the graph as it was."""
    order = _depth_first_order(root)
    touched = [*order, *wrt]
    saved = [node.grad for node in touched]
    try:
        for w in wrt:
            w.grad = 0.0  # a leaf accumulates: start it from zero
        root.backward(create_graph=create_graph)
        return [w.grad for w in wrt]
    finally:
        for node, g in zip(touched, saved, strict=True):
            node.grad = g


def _reaches_outside(root: Value, own: Sequence[Value]) -> bool:
    """Whether root depends on a leaf Value that is neither one of own nor a constant.

    Such a leaf (a model's parameter, a Value the function closes over) may be differentiated
    by the caller through our answer, so the answer must keep its graph.
    """
    return _order_reaches_outside(_depth_first_order(root), own)


def _argnums(argnums: object, n_args: int, where: str) -> list[int]:
    """The positions to differentiate, checked against the number of arguments."""
    nums = [argnums] if isinstance(argnums, int) and not isinstance(argnums, bool) else argnums
    if not isinstance(nums, Sequence) or isinstance(nums, str):
        msg = f"{where} argnums must be an int or a sequence of ints, got {_checks.shown(argnums)}"
        raise TypeError(msg)
    checked = []
    for i in nums:
        i = _checks.integer(i, f"{where} argnums entry")
        if not -n_args <= i < n_args:
            msg = f"{where} argnums {i} is out of range for a call with {n_args} arguments"
            raise IndexError(msg)
        checked.append(i % n_args)
    return checked


def _prepare(args: tuple[Any, ...], nums: Sequence[int]) -> list[Any]:
    """Give each differentiated argument a node of its own."""
    call_args = list(args)
    for i in nums:
        if isinstance(args[i], Value):
            # A new node that stays connected to the caller's graph: the same Value passed in
            # two positions must still give two separate partial derivatives.
            call_args[i] = args[i] * 1.0
        else:
            call_args[i] = Value(args[i])
    return call_args


def _call(f: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """f(*args, **kwargs), with nested grads told that we differentiate through them."""
    token = _DEPTH.set(_DEPTH.get() + 1)
    try:
        return f(*args, **kwargs)
    finally:
        _DEPTH.reset(token)


def _must_keep_graph(args: tuple[Any, ...], nums: Sequence[int]) -> bool:
    # When the caller hands us Values, or calls us from inside another grad(), it may
    # differentiate our answer: keep the graph.
    return _DEPTH.get() > 0 or any(isinstance(args[i], Value) for i in nums)


# ---------------------------------------------------------------------------------------------
# grad and value_and_grad
# ---------------------------------------------------------------------------------------------


def value_and_grad(
    f: Callable[..., Any], argnums: ArgNums = 0, *, has_aux: bool = False
) -> Callable[..., tuple[Any, Any]]:
    """A function returning ``(f(*args), gradient)``; the gradient is a tuple if argnums is.

    Keyword arguments go to ``f`` untouched and are not differentiated. With ``has_aux=True``,
    ``f`` returns ``(output, aux)`` and the function returns ``((value, aux), gradient)``, aux
    as f gave it (JAX's contract). Called with floats, it returns floats; when the answer
    depends on Values the caller may differentiate (Values passed in, a model's parameters, a
    Value ``f`` closes over, or a call from inside another ``grad``), it returns Values whose
    graphs reach them.

    >>> f = lambda x, y: x * y + y
    >>> value_and_grad(f, argnums=(0, 1))(2.0, 3.0)
    (9.0, (3.0, 3.0))
    """
    if not callable(f):
        msg = f"value_and_grad() needs a function, got {_checks.shown(f)}"
        raise TypeError(msg)
    _checks.flag(has_aux, "value_and_grad() has_aux")

    def wrapper(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        nums = _argnums(argnums, len(args), "grad()")
        call_args = _prepare(args, nums)
        wrt = [call_args[i] for i in nums]
        result = _call(f, call_args, kwargs)
        aux: Any = None
        if has_aux:
            if not (isinstance(result, tuple) and len(result) == 2):
                msg = (
                    "grad(has_aux=True) needs a function returning (output, aux), got "
                    f"{_checks.shown(result)}"
                )
                raise TypeError(msg)
            result, aux = result
        if isinstance(result, Value):
            keep = _must_keep_graph(args, nums) or _reaches_outside(result, wrt)
            grads = _gradients(result, wrt, keep)
            value: Grad = result if keep else result.data
        elif _checks.is_number(result):
            grads = [0.0] * len(wrt)  # a constant function
            value = float(result)
        else:
            got = _checks.shown(result)
            msg = f"grad() needs a function returning a Value or a number, got {got}"
            raise TypeError(msg)
        gradient = grads[0] if isinstance(argnums, int) else tuple(grads)
        return ((value, aux), gradient) if has_aux else (value, gradient)

    # What autograd_lite.compile reads to compile the transform rather than trace through it.
    wrapper.transform = Transform("value_and_grad", f, argnums, has_aux)  # type: ignore[attr-defined]
    return wrapper


def grad(
    f: Callable[..., Any], argnums: ArgNums = 0, *, has_aux: bool = False
) -> Callable[..., Any]:
    """A function returning the gradient of f with respect to the chosen arguments.

    With ``has_aux=True`` it returns ``(gradient, aux)``, as in JAX.

    >>> from autograd_lite import grad
    >>> d2 = grad(grad(lambda x: x ** 3))
    >>> d2(2.0)
    12.0
    """
    both = value_and_grad(f, argnums, has_aux=has_aux)

    def gradient(*args: Any, **kwargs: Any) -> Any:
        value, g = both(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    gradient.transform = Transform("grad", f, argnums, has_aux)  # type: ignore[attr-defined]
    return gradient


# ---------------------------------------------------------------------------------------------
# torch.autograd.grad
# ---------------------------------------------------------------------------------------------


def gradients(
    outputs: Value | Sequence[Value],
    inputs: Value | Sequence[Value],
    grad_outputs: float | Value | Sequence[float | Value] | None = None,
    *,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> list[Grad | None]:
    """The gradients of outputs with respect to inputs, returned rather than put in ``.grad``.

    ``torch.autograd.grad``'s habit: ``sum_i grad_outputs[i] * d outputs[i] / d input`` for
    each input (grad_outputs defaults to 1 for each output), one list entry per input, and no
    ``.grad`` anywhere changes. An input the outputs do not depend on is an error, unless
    ``allow_unused=True``: then its entry is None. With ``create_graph=True`` the gradients
    are Values that can be differentiated again.

    >>> x, y = Value(2.0), Value(3.0)
    >>> gradients([x * y, x + y], [x, y])
    [4.0, 3.0]
    """
    outs = [outputs] if isinstance(outputs, Value) else list(outputs)
    ins = [inputs] if isinstance(inputs, Value) else list(inputs)
    for what, items in (("outputs", outs), ("inputs", ins)):
        if not items:
            msg = f"gradients() needs at least one Value in {what}"
            raise ValueError(msg)
        for i, item in enumerate(items):
            if not isinstance(item, Value):
                msg = f"gradients() {what} must be Values, got {_checks.shown(item)} at {i}"
                raise TypeError(msg)
    _checks.flag(create_graph, "gradients() create_graph")
    _checks.flag(allow_unused, "gradients() allow_unused")
    if grad_outputs is None:
        seeds: list[float | Value] = [1.0] * len(outs)
    elif isinstance(grad_outputs, Value) or _checks.is_number(grad_outputs):
        seeds = [grad_outputs]  # type: ignore[list-item]  # checked to be a Value or a number
    else:
        seeds = list(grad_outputs)  # type: ignore[arg-type]  # a sequence, or TypeError here
    if len(seeds) != len(outs):
        msg = f"gradients() needs one grad_output per output: {len(outs)} outputs, {len(seeds)}"
        raise ValueError(msg)
    seeds = [
        s if isinstance(s, Value) else _checks.real(s, "gradients() grad_outputs entry")
        for s in seeds
    ]
    # One root, sum_i seed_i * output_i, and one sweep: its gradient is what torch sums.
    root = outs[0] * seeds[0] if len(outs) == 1 else dot(seeds, outs)
    reached = {id(node) for node in _depth_first_order(root)}
    unused = [i for i, x in enumerate(ins) if id(x) not in reached]
    if unused and not allow_unused:
        i = unused[0]
        msg = (
            f"gradients(): input {i} ({ins[i]!r}) is not used by the outputs; pass "
            "allow_unused=True to get None for it"
        )
        raise ValueError(msg)
    used = [x for i, x in enumerate(ins) if i not in unused]
    found = iter(_gradients(root, used, create_graph) if used else [])
    return [None if i in unused else next(found) for i in range(len(ins))]


# ---------------------------------------------------------------------------------------------
# Forward accumulation: jvp, and Jacobians both ways
# ---------------------------------------------------------------------------------------------


def _outputs(result: Any, where: str) -> tuple[list[Value | float], bool]:
    """f's result as a list of outputs, and whether it was a single one."""
    if isinstance(result, Value) or _checks.is_number(result):
        return [result], True
    if isinstance(result, list | tuple) and all(
        isinstance(r, Value) or _checks.is_number(r) for r in result
    ):
        return list(result), False
    got = _checks.shown(result)
    msg = f"{where} needs a function returning a Value or a list of Values, got {got}"
    raise TypeError(msg)


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(f(*primals), J @ tangents)``: one forward sweep for a directional derivative.

    JAX's habit: ``primals`` and ``tangents`` are sequences of the same length, one number per
    argument of ``f``. The forward sweep uses the local derivatives the graph recorded, the
    same numbers the backward sweep multiplies, summed from the inputs towards the output. For a
    function returning a list, both results are lists.

    >>> jvp(lambda x, y: x * y, (2.0, 3.0), (1.0, 0.0))
    (6.0, 3.0)
    """
    if not isinstance(primals, Sequence) or not isinstance(tangents, Sequence):
        msg = "jvp() needs primals and tangents as sequences, as in jvp(f, (x,), (1.0,))"
        raise TypeError(msg)
    if len(primals) != len(tangents):
        msg = f"jvp() needs one tangent per primal: {len(primals)} primals, {len(tangents)}"
        raise ValueError(msg)
    for t in tangents:
        if not isinstance(t, Value):
            _checks.real(t, "jvp() tangent")
    args = tuple(primals)
    nums = list(range(len(args)))
    xs = _prepare(args, nums)
    result = _call(f, xs, {})
    outs, single = _outputs(result, "jvp()")
    order = _joint_order(outs)
    keep = (
        _must_keep_graph(args, nums)
        or any(isinstance(t, Value) for t in tangents)
        or _order_reaches_outside(order, xs)
    )
    values, derivatives = _forward(order, outs, dict(zip(xs, tangents, strict=True)), keep)
    return (values[0], derivatives[0]) if single else (values, derivatives)


def _joint_order(outs: Sequence[Value | float]) -> list[Value]:
    """Every node the outputs depend on, each after its parents: one order for all of them."""
    order: list[Value] = []
    seen: set[int] = set()
    for root in outs:
        if isinstance(root, Value):
            for node in _depth_first_order(root):
                if id(node) not in seen:
                    seen.add(id(node))
                    order.append(node)
    return order


def _order_reaches_outside(order: Sequence[Value], own: Sequence[Value]) -> bool:
    ours = {id(v) for v in own}
    return any(
        node._operation is LEAF and id(node) not in ours for node in order if not node._parents
    )


def _forward(
    order: list[Value], outs: Sequence[Value | float], seeds: dict[Value, Any], keep: bool
) -> tuple[list[Any], list[Any]]:
    """Each output's value and tangent from one forward sweep over their joint order."""
    tangent = (_tangents_building_graph if keep else _tangents)(order, seeds)
    values: list[Any] = []
    derivatives: list[Any] = []
    for o in outs:
        if isinstance(o, Value):
            values.append(o if keep else o.data)
            t = tangent.get(o, 0.0)
            derivatives.append(t if keep or not isinstance(t, Value) else t.data)
        else:
            values.append(float(o))
            derivatives.append(0.0)
    return values, derivatives


def _jacobian_shape(rows: list[list[Any]], single_out: bool, single_in: bool) -> Any:
    """rows[i][j] = d out_i / d x_j, shaped like JAX's: scalars where f's shapes are scalars."""
    if single_out and single_in:
        return rows[0][0]
    if single_out:
        return rows[0]
    if single_in:
        return [row[0] for row in rows]
    return rows


def jacfwd(f: Callable[..., Any], argnums: ArgNums = 0) -> Callable[..., Any]:
    """A function returning the Jacobian of f, one forward sweep per differentiated input.

    ``J[i][j] = d out_i / d args[argnums[j]]``; a single output gives one row, a single int
    argnums one column, both a number. The graph is recorded once and swept forward once per
    input: cheap when there are few inputs and many outputs.

    >>> jacfwd(lambda x: [x * x, 3 * x])(2.0)
    [4.0, 3.0]
    """

    def jacobian_fn(*args: Any) -> Any:
        nums = _argnums(argnums, len(args), "jacfwd()")
        xs = _prepare(args, nums)
        outs, single = _outputs(_call(f, xs, {}), "jacfwd()")
        order = _joint_order(outs)  # recorded once, swept once per input
        keep = _must_keep_graph(args, nums) or _order_reaches_outside(order, [xs[i] for i in nums])
        columns = [_forward(order, outs, {xs[i]: 1.0}, keep)[1] for i in nums]
        rows = [[column[k] for column in columns] for k in range(len(outs))]
        return _jacobian_shape(rows, single, isinstance(argnums, int))

    return jacobian_fn


def jacrev(f: Callable[..., Any], argnums: ArgNums = 0) -> Callable[..., Any]:
    """A function returning the Jacobian of f, one reverse sweep per output.

    Shaped as `jacfwd`'s. The graph is recorded once and swept backward once per output: cheap
    when there are few outputs and many inputs, as with the loss of a network.

    >>> jacrev(lambda x, y: x * y, argnums=(0, 1))(2.0, 3.0)
    [3.0, 2.0]
    """

    def jacobian_fn(*args: Any) -> Any:
        nums = _argnums(argnums, len(args), "jacrev()")
        xs = _prepare(args, nums)
        wrt = [xs[i] for i in nums]
        outs, single = _outputs(_call(f, xs, {}), "jacrev()")
        rows: list[list[Any]] = []
        for o in outs:
            if not isinstance(o, Value):
                rows.append([0.0] * len(wrt))
                continue
            keep = _must_keep_graph(args, nums) or _reaches_outside(o, wrt)
            grads = _gradients(o, wrt, keep)
            rows.append([g if keep or not isinstance(g, Value) else g.data for g in grads])
        return _jacobian_shape(rows, single, isinstance(argnums, int))

    return jacobian_fn


def jacobian(
    f: Callable[..., Any], argnums: ArgNums = 0, *, mode: str = "reverse"
) -> Callable[..., Any]:
    """The Jacobian of f by reverse sweeps (``mode="reverse"``, the default) or forward ones.

    >>> jacobian(lambda x, y: [x + y, x * y], argnums=(0, 1))(2.0, 3.0)
    [[1.0, 1.0], [3.0, 2.0]]
    """
    _checks.choice(mode, ("reverse", "forward"), "jacobian() mode")
    return jacrev(f, argnums) if mode == "reverse" else jacfwd(f, argnums)


# ---------------------------------------------------------------------------------------------
# Second derivatives
# ---------------------------------------------------------------------------------------------


def hessian(f: Callable[..., Any]) -> Callable[..., list[list[Any]]]:
    """A function returning the matrix of second derivatives of f over all its arguments.

    >>> hessian(lambda x, y: x * x * y)(1.0, 2.0)
    [[4.0, 2.0], [2.0, 0.0]]
    """

    def matrix(*args: Any) -> list[list[Any]]:
        nums = list(range(len(args)))
        xs = _prepare(args, nums)
        out = _call(f, xs, {})
        if not isinstance(out, Value):
            return [[0.0] * len(xs) for _ in xs]
        keep = _must_keep_graph(args, nums) or _reaches_outside(out, xs)
        rows: list[list[Any]] = []
        for g in _gradients(out, xs, create_graph=True):
            if isinstance(g, Value):
                rows.append([h if keep else float(h) for h in _gradients(g, xs, create_graph=keep)])
            else:
                rows.append([0.0] * len(xs))  # this partial does not depend on any input
        return rows

    return matrix


def hvp(f: Callable[..., Any]) -> Callable[..., list[Any]]:
    """A function ``(args, v) -> H(args) @ v``: one Hessian-vector product, two sweeps.

    >>> hvp(lambda x, y: x * x * y)([1.0, 2.0], [1.0, 0.0])
    [4.0, 2.0]
    """

    def product(args: Sequence[Any], v: Sequence[Any]) -> list[Any]:
        if len(args) != len(v):
            msg = f"hvp() needs a vector as long as the arguments: {len(args)} != {len(v)}"
            raise ValueError(msg)
        nums = list(range(len(args)))
        xs = _prepare(tuple(args), nums)
        out = _call(f, xs, {})
        if not isinstance(out, Value):
            return [0.0] * len(xs)
        keep = _must_keep_graph(tuple(args), nums) or _reaches_outside(out, xs)
        grads = _gradients(out, xs, create_graph=True)
        # d/dx (g . v) = H v, since v does not depend on x.
        g_dot_v: Value | float = 0.0
        for g, vi in zip(grads, v, strict=True):
            g_dot_v = g_dot_v + g * vi
        if not isinstance(g_dot_v, Value):
            return [0.0] * len(xs)
        return [h if keep else float(h) for h in _gradients(g_dot_v, xs, create_graph=keep)]

    return product
