"""Tests of autograd_lite.optim: updates against reference formulas, closed forms and PyTorch.

Gradients are set by hand (no engine involved), so each test sees exactly the optimizer. The
references are the published algorithms written out in plain Python; PyTorch, when installed
(always in CI: with CI set, a missing torch is an error), is a second, independent oracle.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import random
from collections.abc import Callable
from typing import Any

import pytest

from autograd_lite import Value
from autograd_lite.optim import SGD, Adam, Optimizer


def _import_torch() -> Any:
    try:
        # importlib keeps mypy from type-checking all of torch.
        return importlib.import_module("torch")
    except ImportError:
        # CI runs the torch oracle: there a missing torch is an error, never a silent skip.
        if os.environ.get("CI") or os.environ.get("PYTEST_TORCH"):
            raise
        return None


TORCH = _import_torch()
ORACLES = ["formula", "torch"]


def _bad(x: object) -> Any:
    """An argument of the wrong type, on purpose (keeps mypy quiet in error tests)."""
    return x


START = [0.5, -1.5, 2.0]
STEPS = 6


def _gradients() -> list[list[float]]:
    """A fixed sequence of gradients; one step is all zeros (PyTorch still updates then)."""
    rng = random.Random(1)
    grads = [[rng.uniform(-2.0, 2.0) for _ in START] for _ in range(STEPS)]
    grads[3] = [0.0, 0.0, 0.0]
    return grads


def _halving(step: int) -> float:
    return 0.5 ** (step // 2)


# ---------------------------------------------------------------------------------------------
# References: the published algorithms, step by step, in plain floats
# ---------------------------------------------------------------------------------------------


def _sgd_reference(config: dict[str, Any]) -> list[list[float]]:
    """PyTorch's documented SGD: buffer starts at the first gradient; Nesterov looks ahead."""
    lr, mu = config["lr"], config.get("momentum", 0.0)
    nesterov, wd = config.get("nesterov", False), config.get("weight_decay", 0.0)
    schedule = config.get("lr_schedule") or (lambda step: 1.0)
    params, buffers, history = list(START), [0.0] * len(START), []
    for t, grads in enumerate(_gradients()):
        for i, g in enumerate(grads):
            d = g + wd * params[i]
            if mu:
                buffers[i] = d if t == 0 else mu * buffers[i] + d
                d = d + mu * buffers[i] if nesterov else buffers[i]
            params[i] -= lr * schedule(t) * d
        history.append(list(params))
    return history


def _adam_reference(config: dict[str, Any]) -> list[list[float]]:
    """Kingma & Ba's Algorithm 1, with L2 in the gradient (Adam) or apart from it (AdamW)."""
    lr = config.get("lr", 1e-3)
    beta1, beta2 = config.get("betas", (0.9, 0.999))
    eps, wd = config.get("eps", 1e-8), config.get("weight_decay", 0.0)
    decoupled = config.get("decoupled", False)
    schedule = config.get("lr_schedule") or (lambda step: 1.0)
    params, m, v, history = list(START), [0.0] * len(START), [0.0] * len(START), []
    for step, grads in enumerate(_gradients()):
        t = step + 1
        lr_t = lr * schedule(step)
        for i, g in enumerate(grads):
            if decoupled:
                params[i] -= lr_t * wd * params[i]
            else:
                g = g + wd * params[i]
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            m_hat = m[i] / (1 - beta1**t)
            v_hat = v[i] / (1 - beta2**t)
            params[i] -= lr_t * m_hat / (math.sqrt(v_hat) + eps)
        history.append(list(params))
    return history


def _torch_reference(kind: str, config: dict[str, Any]) -> list[list[float]]:
    """The same run with torch.optim on float64 tensors (LambdaLR for the schedule)."""
    torch = TORCH
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in START]
    options = {k: v for k, v in config.items() if k not in ("lr_schedule", "decoupled")}
    if kind == "SGD":
        optimizer = torch.optim.SGD(tensors, **options)
    elif config.get("decoupled"):
        optimizer = torch.optim.AdamW(tensors, **options)
    else:
        optimizer = torch.optim.Adam(tensors, **options)
    schedule = config.get("lr_schedule")
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule) if schedule else None
    history = []
    for grads in _gradients():
        for tensor, g in zip(tensors, grads, strict=True):
            tensor.grad = torch.tensor(g, dtype=torch.float64)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        history.append([float(t.item()) for t in tensors])
    return history


def _run(kind: str, config: dict[str, Any]) -> tuple[list[list[float]], Optimizer]:
    params = [Value(x) for x in START]
    optimizer: Optimizer = SGD(params, **config) if kind == "SGD" else Adam(params, **config)
    history = []
    for grads in _gradients():
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        optimizer.step()
        history.append([p.data for p in params])
    return history, optimizer


CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.2, "momentum": 0.5, "lr_schedule": _halving}),
    ("Adam", {}),
    ("Adam", {"lr": 0.1, "betas": (0.8, 0.99)}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled": True}),
    ("Adam", {"lr": 0.05, "eps": 1e-3, "lr_schedule": _halving}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.5, "decoupled": True, "lr_schedule": _halving}),
]


@pytest.mark.parametrize("oracle", ORACLES)
@pytest.mark.parametrize(("kind", "config"), CONFIGS)
def test_updates_match_the_reference_over_several_steps(
    kind: str, config: dict[str, Any], oracle: str
) -> None:
    """Every parameter after every step equals the reference algorithm's (to 1e-13)."""
    if oracle == "torch" and TORCH is None:
        pytest.skip("torch is not installed (in CI it must be, and this cannot skip)")
    got, optimizer = _run(kind, config)
    if oracle == "torch":
        expected = _torch_reference(kind, config)
    else:
        expected = _sgd_reference(config) if kind == "SGD" else _adam_reference(config)
    for step, (row, reference) in enumerate(zip(got, expected, strict=True)):
        for i, (a, b) in enumerate(zip(row, reference, strict=True)):
            assert a == pytest.approx(b, rel=1e-13, abs=1e-15), (
                f"{kind} {config}: step {step + 1}, parameter {i}: got {a!r}, {oracle} {b!r}"
            )
    assert optimizer.step_count == STEPS


# ---------------------------------------------------------------------------------------------
# Closed forms for a constant gradient
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_under_a_constant_gradient_follows_the_geometric_series(nesterov: bool) -> None:
    """With gradient g every step, the buffer after k steps is g (1 - mu^k) / (1 - mu)."""
    lr, mu, g = 0.1, 0.9, 0.7
    p = Value(0.0)
    optimizer = SGD([p], lr=lr, momentum=mu, nesterov=nesterov)
    expected = 0.0
    for k in range(1, 11):
        p.grad = g
        optimizer.step()
        buffer = g * (1 - mu**k) / (1 - mu)
        expected -= lr * (g + mu * buffer if nesterov else buffer)
        assert p.data == pytest.approx(expected, rel=1e-13)


def test_adam_bias_correction_makes_every_step_lr_under_a_constant_gradient() -> None:
    """m_hat = g and v_hat = g**2 exactly, so each step moves lr * g / (|g| + eps)."""
    lr, eps = 0.01, 1e-8
    grads = [3.0, -0.002, 50.0]
    params = [Value(0.0) for _ in grads]
    optimizer = Adam(params, lr=lr, eps=eps)
    for t in range(1, 8):
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        optimizer.step()
        for p, g in zip(params, grads, strict=True):
            assert p.data == pytest.approx(-t * lr * g / (abs(g) + eps), rel=1e-12)


def test_adam_counts_steps_once_per_step_not_once_per_parameter() -> None:
    """After one step, the first and the tenth parameter moved alike; step_count is 1."""
    params = [Value(1.0) for _ in range(10)]
    optimizer = Adam(params, lr=0.1)
    for p in params:
        p.grad = 2.0
    optimizer.step()
    assert optimizer.step_count == 1
    # With t counted per parameter the tenth would see 1 - beta1**10 and move about 0.1 * 0.65.
    assert len({p.data for p in params}) == 1
    assert params[-1].data == pytest.approx(1.0 - 0.1 * 2.0 / (2.0 + 1e-8), rel=1e-15)


def test_sgd_weight_decay_acts_even_when_the_gradient_is_zero() -> None:
    """PyTorch semantics: a zero gradient is still a step (decay and momentum continue)."""
    p = Value(2.0)
    optimizer = SGD([p], lr=0.1, weight_decay=0.5)
    optimizer.step()
    assert p.data == pytest.approx(2.0 - 0.1 * 0.5 * 2.0, rel=1e-15)


def test_a_gradient_that_is_a_value_is_read_as_its_number() -> None:
    """After backward(create_graph=True) .grad is a Value; step() uses its data."""
    w = Value(3.0)
    (w * w).backward(create_graph=True)
    assert isinstance(w.grad, Value)
    SGD([w], lr=0.1).step()
    assert w.data == pytest.approx(3.0 - 0.1 * 6.0, rel=1e-15)


# ---------------------------------------------------------------------------------------------
# Schedules, zero_grad, validation
# ---------------------------------------------------------------------------------------------


def test_the_schedule_is_a_multiplier_called_with_the_steps_taken_so_far() -> None:
    """lr_schedule(0) on the first step, then 1, 2, ...; current_lr() says what is next."""
    calls: list[int] = []

    def schedule(step: int) -> float:
        calls.append(step)
        return 1.0 / (step + 1)

    p = Value(0.0)
    optimizer = SGD([p], lr=0.6, lr_schedule=schedule)
    for _ in range(3):
        p.grad = 1.0
        optimizer.step()
    assert calls == [0, 1, 2]
    assert p.data == pytest.approx(-0.6 * (1 + 1 / 2 + 1 / 3), rel=1e-15)
    assert optimizer.current_lr() == pytest.approx(0.6 / 4)


@pytest.mark.parametrize("bad", [-0.5, math.nan, math.inf, "1"])
def test_a_bad_schedule_value_raises_before_anything_changes(bad: object) -> None:
    """A schedule returning a negative, non-finite or non-number multiplier changes nothing."""
    p = Value(1.0)
    optimizer = Adam([p], lr=0.1, lr_schedule=lambda step: bad)  # type: ignore[arg-type, return-value]
    p.grad = 1.0
    with pytest.raises((ValueError, TypeError), match=r"Adam lr_schedule\(0\) must return"):
        optimizer.step()
    assert (p.data, optimizer.step_count) == (1.0, 0)
    assert optimizer.state_dict()["state"]["exp_avg"] == [0.0]


def test_zero_grad_resets_the_parameters() -> None:
    """zero_grad() sets every parameter's gradient to 0.0."""
    params = [Value(1.0), Value(2.0)]
    for p in params:
        p.grad = 5.0
    SGD(params, lr=0.1).zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


@pytest.mark.parametrize(
    ("make", "error", "pattern"),
    [
        (lambda p: SGD(p, lr=-0.1), ValueError, r"SGD\(\) lr must be >= 0, got -0.1"),
        (lambda p: SGD(p, lr=math.nan), ValueError, r"SGD\(\) lr must be finite, got nan"),
        (lambda p: SGD(p, lr=_bad("0.1")), TypeError, r"SGD\(\) lr must be a real number, got str"),
        (lambda p: SGD(p, lr=True), TypeError, r"lr must be a real number, got bool"),
        (lambda p: SGD(p, lr=0.1, momentum=1.0), ValueError, r"momentum must be in \[0, 1\)"),
        (lambda p: SGD(p, lr=0.1, momentum=-0.1), ValueError, r"momentum must be in \[0, 1\)"),
        (lambda p: SGD(p, lr=0.1, nesterov=True), ValueError, r"nesterov=True needs a momentum"),
        (lambda p: SGD(p, lr=0.1, nesterov=_bad(1)), TypeError, r"nesterov must be True or False"),
        (lambda p: SGD(p, lr=0.1, weight_decay=-1), ValueError, r"weight_decay must be >= 0"),
        (
            lambda p: SGD(p, lr=0.1, lr_schedule=_bad(0.5)),
            TypeError,
            r"lr_schedule must be a callable",
        ),
        (lambda p: Adam(p, betas=_bad((0.9,))), ValueError, r"betas must be a pair"),
        (lambda p: Adam(p, betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be in \[0, 1\)"),
        (lambda p: Adam(p, eps=0.0), ValueError, r"Adam\(\) eps must be > 0, got 0.0"),
        (lambda p: Adam(p, decoupled=_bad("yes")), TypeError, r"decoupled must be True or False"),
        (lambda p: Adam([]), ValueError, r"Adam\(\) got an empty parameter list"),
        (lambda p: Adam([*p, p[0]]), ValueError, r"got parameter 2 \(w\) more than once"),
        (
            lambda p: Adam(_bad([1.0])),
            TypeError,
            r"parameters must be Values, got float at index 0",
        ),
        (lambda p: Adam(p[0]), TypeError, r"needs an iterable of parameters"),
    ],
)
def test_bad_hyperparameters_raise_clear_errors(
    make: Callable[[list[Value]], object], error: type[Exception], pattern: str
) -> None:
    """Each bad argument is named, with its value."""
    with pytest.raises(error, match=pattern):
        make([Value(1.0, label="w"), Value(2.0)])


# ---------------------------------------------------------------------------------------------
# State dicts
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "config"), CONFIGS)
def test_state_dict_resumes_training_bitwise(kind: str, config: dict[str, Any]) -> None:
    """Stop after 3 steps, save through JSON, restore in a fresh optimizer: same trajectory."""
    grads = _gradients()
    params = [Value(x) for x in START]
    make = SGD if kind == "SGD" else Adam
    original = make(params, **config)
    for g in grads[:3]:
        for p, gi in zip(params, g, strict=True):
            p.grad = gi
        original.step()
    state = json.loads(json.dumps(original.state_dict()))
    twins = [Value(p.data) for p in params]
    options: dict[str, Any] = (
        {"lr": 0.5} if kind == "SGD" else {}
    )  # deliberately different: the state wins
    copy = make(twins, **options, lr_schedule=config.get("lr_schedule"))
    copy.load_state_dict(state)
    assert copy.state_dict() == original.state_dict()
    for g in grads[3:]:
        for group in (params, twins):
            for p, gi in zip(group, g, strict=True):
                p.grad = gi
        original.step()
        copy.step()
        assert [p.data.hex() for p in twins] == [p.data.hex() for p in params]


def _sgd_state() -> dict[str, Any]:
    optimizer = SGD([Value(1.0), Value(2.0)], lr=0.1, momentum=0.9)
    optimizer.params[0].grad = 1.0
    optimizer.step()
    return optimizer.state_dict()


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (lambda s: s.update(type="Adam"), r"got the state of a 'Adam' optimizer"),
        (lambda s: s.update(step_count=-1), r"step_count must be an int >= 0"),
        (lambda s: s.update(step_count=1.5), r"step_count must be an int >= 0"),
        (lambda s: s.pop("state"), r"needs exactly the keys"),
        (lambda s: s["hyperparameters"].update(lr=-1.0), r"lr must be >= 0"),
        (lambda s: s["hyperparameters"].update(momentum=2.0), r"momentum must be in"),
        (lambda s: s["hyperparameters"].pop("nesterov"), r"hyperparameters needs exactly"),
        (lambda s: s["state"].update(momentum_buffers=[1.0]), r"a list of 2 numbers.*got 1"),
        (lambda s: s["state"].update(momentum_buffers=[1.0, "x"]), r"momentum_buffers\[1\]"),
        (lambda s: s["state"].update(momentum_buffers=[1.0, math.nan]), r"must be finite"),
        (lambda s: s.update(state=[]), r"state must be a mapping"),
    ],
)
def test_a_bad_sgd_state_raises_and_changes_nothing(
    change: Callable[[dict[str, Any]], object], pattern: str
) -> None:
    """Every malformed SGD state is rejected before the optimizer changes."""
    optimizer = SGD([Value(1.0), Value(2.0)], lr=0.3, momentum=0.5)
    before = optimizer.state_dict()
    state = _sgd_state()
    change(state)
    with pytest.raises((ValueError, TypeError), match=pattern):
        optimizer.load_state_dict(state)
    assert optimizer.state_dict() == before


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (lambda s: s["state"].update(exp_avg_sq=[0.1, -0.1]), r"exp_avg_sq\[1\] must be >= 0"),
        (lambda s: s["state"].update(exp_avg=None), r"exp_avg must be a list of 2 numbers"),
        (lambda s: s["hyperparameters"].update(betas=[0.9]), r"betas must be a pair"),
        (lambda s: s["hyperparameters"].update(eps=0), r"eps must be > 0"),
        (lambda s: s["hyperparameters"].update(decoupled=0), r"decoupled must be True or False"),
    ],
)
def test_a_bad_adam_state_raises_and_changes_nothing(
    change: Callable[[dict[str, Any]], object], pattern: str
) -> None:
    """Every malformed Adam state is rejected before the optimizer changes."""
    source = Adam([Value(1.0), Value(2.0)], lr=0.1)
    for p in source.params:
        p.grad = 1.0
    source.step()
    state = source.state_dict()
    change(state)
    optimizer = Adam([Value(1.0), Value(2.0)])
    before = optimizer.state_dict()
    with pytest.raises((ValueError, TypeError), match=pattern):
        optimizer.load_state_dict(state)
    assert optimizer.state_dict() == before
