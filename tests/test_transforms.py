"""The habits JAX and PyTorch users bring: jvp and Jacobians, gradients(), has_aux, keywords,
grad inside ordinary autograd, set_grad_enabled, hooks and anomaly mode.

Closed forms and PyTorch (where its behaviour is the contract) are the oracles; forward and
reverse accumulation must give the same numbers, since they multiply the same stored local
derivatives.
"""

from __future__ import annotations

import gc
import math
import threading
import weakref
from typing import Any

import pytest

import autograd_lite as al
from autograd_lite import Value


def f(x: Any, y: Any) -> Any:
    """sin(x) * y + x * y**2, with closed-form derivatives below."""
    return x.sin() * y + x * y**2


def df(x: float, y: float) -> tuple[float, float]:
    return math.cos(x) * y + y**2, math.sin(x) + 2 * x * y


# --- forward accumulation ----------------------------------------------------------------------


def test_jvp_is_the_directional_derivative() -> None:
    """jvp(f, (x, y), (u, v)) = (f, grad f . (u, v)), in JAX's habit."""
    value, tangent = al.jvp(f, (0.7, -1.3), (2.0, 0.5))
    dx, dy = df(0.7, -1.3)
    assert value == pytest.approx(math.sin(0.7) * -1.3 + 0.7 * 1.69, rel=1e-15)
    assert tangent == pytest.approx(2.0 * dx + 0.5 * dy, rel=1e-14)
    assert type(value) is float and type(tangent) is float


def test_forward_and_reverse_agree_on_every_partial() -> None:
    """A forward sweep per input and one reverse sweep give the same gradient."""
    forward = al.jacfwd(f, argnums=(0, 1))(0.7, -1.3)
    reverse = al.jacrev(f, argnums=(0, 1))(0.7, -1.3)
    assert forward == pytest.approx(list(df(0.7, -1.3)), rel=1e-14)
    assert reverse == pytest.approx(forward, rel=1e-14)
    assert al.jacobian(f, argnums=(0, 1))(0.7, -1.3) == reverse
    assert al.jacobian(f, argnums=(0, 1), mode="forward")(0.7, -1.3) == forward


def test_jacobians_of_several_outputs_are_shaped_like_jax() -> None:
    """Rows are outputs, columns inputs; a single input or output drops its axis."""

    def g(x: Value, y: Value) -> list[Value]:
        return [x * y, x + y, x.exp()]

    expected = [[3.0, 2.0], [1.0, 1.0], [math.exp(2.0), 0.0]]
    for mode in ("forward", "reverse"):
        jac = al.jacobian(g, argnums=(0, 1), mode=mode)(2.0, 3.0)
        assert [len(row) for row in jac] == [2, 2, 2]
        for row, want in zip(jac, expected, strict=True):
            assert row == pytest.approx(want, rel=1e-15)
        column = al.jacobian(lambda x, y: [x * y, x + y, y.exp()], argnums=1, mode=mode)(2.0, 3.0)
        assert column == pytest.approx([2.0, 1.0, math.exp(3.0)], rel=1e-15)
    assert al.jacfwd(lambda x: x * x)(3.0) == 6.0


def test_a_jvp_of_a_grad_is_a_hessian_vector_product() -> None:
    """Forward over reverse: jvp(grad f, x, v) = H v, checked against hvp (reverse over reverse)."""
    point, v = (0.7, -1.3), (0.25, -2.0)
    _, forward_over_reverse = al.jvp(al.grad(f, argnums=(0, 1)), point, v)
    assert forward_over_reverse == pytest.approx(al.hvp(f)(list(point), list(v)), rel=1e-13)
    # ... and reverse over forward: the gradient of a directional derivative.
    directional = al.grad(lambda x, y: al.jvp(f, (x, y), v)[1], argnums=(0, 1))(*point)
    assert list(directional) == pytest.approx(forward_over_reverse, rel=1e-13)


def test_jvp_refuses_mismatched_tangents() -> None:
    """One tangent per primal, numbers only, each error naming the call."""
    with pytest.raises(ValueError, match=r"jvp\(\) needs one tangent per primal: 2 primals, 1"):
        al.jvp(f, (1.0, 2.0), (1.0,))
    with pytest.raises(TypeError, match=r"jvp\(\) tangent must be a real number, got str"):
        al.jvp(f, (1.0, 2.0), ("a", 1.0))
    with pytest.raises(TypeError, match=r"jvp\(\) needs primals and tangents as sequences"):
        al.jvp(f, 1.0, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"jacobian\(\) mode must be one of"):
        al.jacobian(f, mode="sideways")


# --- grad inside ordinary autograd ---------------------------------------------------------------


def test_a_top_level_grad_keeps_the_values_it_closes_over() -> None:
    """y = x * grad(t -> x t)(2) = x**2, so dy/dx = 2x (torch.func.grad inside autograd: 2)."""
    x = Value(1.0)
    inner = al.grad(lambda t: x * t)(2.0)
    assert isinstance(inner, Value) and inner.data == 1.0
    y = x * inner
    y.backward()
    assert x.grad == 2.0
    # With nothing from outside, the answer is still a plain float.
    assert type(al.grad(lambda t: t * t)(2.0)) is float


def test_hessian_and_hvp_stay_differentiable_in_what_they_reach() -> None:
    """d/dw of hessian(t -> w t**3)(1) = d/dw 6w = 6."""
    w = Value(2.0)
    ((h,),) = al.hessian(lambda t: w * t**3)(1.0)
    assert isinstance(h, Value) and h.data == 12.0
    h.backward()
    assert w.grad == 6.0
    (p,) = al.hvp(lambda t: w * t**3)([1.0], [0.5])
    assert isinstance(p, Value) and p.data == 6.0


def test_value_and_grad_passes_keywords_and_auxiliary_output() -> None:
    """Keywords reach f untouched; has_aux=True returns f's aux as it gave it (JAX's contract)."""

    def loss(w: Value, *, scale: float) -> tuple[Value, dict[str, float]]:
        out = w * w * scale
        return out, {"scale": scale, "w": w.data}

    (value, aux), g = al.value_and_grad(loss, has_aux=True)(3.0, scale=0.5)
    assert (value, g) == (4.5, 3.0) and aux == {"scale": 0.5, "w": 3.0}
    g2, aux2 = al.grad(loss, has_aux=True)(3.0, scale=2.0)
    assert g2 == 12.0 and aux2["scale"] == 2.0
    with pytest.raises(
        TypeError, match=r"has_aux=True\) needs a function returning \(output, aux\)"
    ):
        al.grad(lambda w: w * w, has_aux=True)(1.0)
    assert al.grad(lambda w, c=1.0: w * c)(2.0, c=5.0) == 5.0


def test_argnums_are_checked() -> None:
    """An argnums out of range or of the wrong type names the call."""
    with pytest.raises(IndexError, match="argnums 2 is out of range for a call with 2 arguments"):
        al.grad(f, argnums=2)(1.0, 2.0)
    with pytest.raises(TypeError, match="argnums entry must be an int, got bool"):
        al.grad(f, argnums=(True,))(1.0, 2.0)
    assert al.grad(lambda x, y: x * y * y, argnums=-1)(0.7, -1.3) == pytest.approx(2 * 0.7 * -1.3)


# --- gradients(): torch.autograd.grad ----------------------------------------------------------


def test_gradients_returns_and_touches_no_grad() -> None:
    """Several outputs, weighted by grad_outputs, summed; nobody's .grad changes."""
    x, y = Value(2.0), Value(3.0)
    x.grad = 10.0
    a, b = x * y, x + y
    assert al.gradients([a, b], [x, y]) == [4.0, 3.0]
    assert al.gradients([a, b], [x, y], grad_outputs=[2.0, -1.0]) == [5.0, 3.0]
    assert al.gradients(a, x) == [3.0]
    assert x.grad == 10.0 and y.grad == 0.0 and a.grad == 0.0


def test_gradients_of_an_intermediate_and_of_second_order() -> None:
    """Inputs may be intermediate nodes; create_graph=True gives differentiable gradients."""
    x = Value(1.5)
    h = x * x
    y = h.sin()
    (dh,) = al.gradients(y, [h])
    assert dh == pytest.approx(math.cos(2.25), rel=1e-15)
    (dx,) = al.gradients(y, [x], create_graph=True)
    assert isinstance(dx, Value)
    (ddx,) = al.gradients(dx, [x])
    # d2/dx2 sin(x**2) = 2 cos(x**2) - 4 x**2 sin(x**2)
    assert ddx == pytest.approx(2 * math.cos(2.25) - 4 * 2.25 * math.sin(2.25), rel=1e-13)


def test_gradients_refuses_an_unused_input_unless_allowed() -> None:
    """An input the outputs do not depend on is an error, or None with allow_unused=True."""
    x, z = Value(1.0), Value(2.0)
    y = x * 3
    with pytest.raises(
        ValueError, match=r"input 1 \(Value\(data=2\.0.*\) is not used by the outputs"
    ):
        al.gradients(y, [x, z])
    assert al.gradients(y, [x, z], allow_unused=True) == [3.0, None]
    with pytest.raises(ValueError, match="one grad_output per output: 1 outputs, 2"):
        al.gradients(y, [x], grad_outputs=[1.0, 2.0])
    with pytest.raises(TypeError, match=r"gradients\(\) inputs must be Values, got float"):
        al.gradients(y, [1.0])  # type: ignore[list-item]


# --- recording on and off ----------------------------------------------------------------------


def test_set_grad_enabled_as_a_call_and_a_block_and_enable_grad_inside_no_grad() -> None:
    """PyTorch's three habits: set_grad_enabled(flag), with set_grad_enabled(flag), enable_grad."""
    x = Value(2.0)
    with al.set_grad_enabled(False):
        assert (x * 2).is_leaf
        with al.enable_grad():
            assert not (x * 2).is_leaf
        assert (x * 2).is_leaf
    assert not (x * 2).is_leaf
    al.set_grad_enabled(False)
    try:
        assert (x * 2).is_leaf and not al.is_grad_enabled()
    finally:
        al.set_grad_enabled(True)
    with al.no_grad(), al.enable_grad():
        assert not (x * 2).is_leaf
    with pytest.raises(TypeError, match=r"set_grad_enabled\(\) mode must be True or False"):
        al.set_grad_enabled(0)


# --- hooks -----------------------------------------------------------------------------------


def test_a_hook_sees_the_complete_gradient_and_may_replace_it() -> None:
    """On an intermediate node the replacement flows on to the parents, as in PyTorch."""
    x = Value(3.0)
    h = x * x
    y = h * 2 + h
    seen: list[float] = []
    h.register_hook(lambda g: seen.append(float(g)))  # returns None: keep the gradient
    handle = h.register_hook(lambda g: g * 10)
    y.backward()
    assert seen == [3.0]  # 2 + 1, complete when the hook runs
    assert h.grad == 30.0 and x.grad == 30.0 * 6.0
    handle.remove()
    handle.remove()  # again is harmless
    y.backward()
    assert h.grad == 3.0 and x.grad == 180.0 + 18.0


def test_a_leaf_hook_sees_this_sweeps_gradient_before_it_accumulates() -> None:
    """PyTorch's habit: a leaf's hook gets this sweep's gradient; the result is added to .grad."""
    x = Value(2.0)
    x.grad = 100.0
    got: list[float] = []

    def hook(g: Any) -> Any:
        got.append(float(g))
        return g * 0.5

    with x.register_hook(hook):
        (x * x).backward()
    assert got == [4.0] and x.grad == 102.0
    (x * x).backward()
    assert got == [4.0] and x.grad == 106.0  # removed at the end of the with block


def test_hooks_run_with_create_graph_and_keep_no_node_alive() -> None:
    """Hooks see Value gradients under create_graph=True; a hooked node can still be freed."""
    x = Value(1.5)
    y = x**3
    y.register_hook(lambda g: g * 2)
    y.backward(create_graph=True)
    assert isinstance(x.grad, Value) and x.grad.data == pytest.approx(2 * 3 * 1.5**2)
    z = Value(1.0)
    z.register_hook(lambda g: None)
    ref = weakref.ref(z)
    del z
    gc.collect()
    assert ref() is None


def test_a_hook_must_be_callable_and_return_a_number() -> None:
    """A non-callable hook, or one that returns a string, is refused with its name."""
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"register_hook\(\) needs a callable hook\(grad\)"):
        x.register_hook(3.0)  # type: ignore[arg-type]
    wordy: Any = lambda g: "nope"  # noqa: E731  # typed Any: the type checker would refuse it
    with x.register_hook(wordy), pytest.raises(TypeError, match="the hook"):
        (x * 2).backward()


# --- anomaly mode ------------------------------------------------------------------------------


def test_anomaly_mode_names_the_operation_inputs_and_line_of_a_forward_nan() -> None:
    """inf - inf is NaN: the error names sub(), its inputs and this file's line."""
    x = Value(math.inf)
    with al.detect_anomaly(), pytest.raises(al.AnomalyError) as caught:
        y = x - x  # the line the error must name
    message = str(caught.value)
    assert "sub() produced nan from inputs (inf, inf)" in message
    assert (
        "test_transforms.py" in message and "y = x - x  # the line the error must name" in message
    )
    with al.detect_anomaly(), pytest.raises(al.AnomalyError, match=r"mul\(\) produced inf"):
        _ = Value(1e308) * 10.0
    y = x - x  # outside the block: IEEE NaN, no error
    assert math.isnan(y.data)


def test_anomaly_mode_catches_a_backward_step_that_makes_a_nan() -> None:
    """sqrt(0)'s slope is inf; times an upstream 0 it gives NaN: the step is named."""
    with al.detect_anomaly():
        x = Value(0.0)
        y = x.sqrt() * 0.0
        with pytest.raises(al.AnomalyError) as caught:
            y.backward()
    message = str(caught.value)
    assert "backward step of sqrt() with inputs (0.0,)" in message
    assert "local derivative inf times upstream gradient 0.0" in message
    assert "test_transforms.py" in message


def test_anomaly_mode_is_free_when_off_and_restored_after_errors() -> None:
    """Off, nodes are made by the engine's ordinary code; nesting and errors restore it."""
    import autograd_lite.engine as engine

    plain = engine._node
    with al.detect_anomaly():
        assert engine._node is not plain
        with al.detect_anomaly():
            pass
        assert engine._node is not plain
    assert engine._node is plain
    with pytest.raises(RuntimeError), al.detect_anomaly():
        raise RuntimeError("boom")
    assert engine._node is plain and not engine._anomaly.on
    assert math.isnan((Value(math.inf) - math.inf).data)


def test_anomaly_mode_across_threads_counts_every_user() -> None:
    """Two threads in anomaly mode at once: it ends when the last one leaves."""
    import autograd_lite.engine as engine

    plain = engine._node
    inside = threading.Barrier(2)
    done = threading.Event()

    def user() -> None:
        with al.detect_anomaly():
            inside.wait(10)
            done.wait(10)

    threads = [threading.Thread(target=user) for _ in range(2)]
    for t in threads:
        t.start()
    while not all(t.is_alive() for t in threads):
        pass
    done.set()
    for t in threads:
        t.join(10)
    assert engine._node is plain
