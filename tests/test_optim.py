"""Tests of autograd_lite.optim: updates against reference formulas, closed forms and torch.optim.

Gradients are set by hand (no engine involved), so each test sees exactly the optimizer. The
references are the published algorithms written out in plain Python; torch.optim is a second,
independent oracle, run step by step on the same gradients (missing gradients included). With
CI (or PYTEST_TORCH) set, a missing torch fails those tests instead of skipping them.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import random
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_lite import Value
from autograd_lite.optim import SGD, Adam, Optimizer

REQUIRED = bool(os.environ.get("CI") or os.environ.get("PYTEST_TORCH"))


def _import_torch() -> Any:
    # importlib rather than `import torch`: mypy would otherwise type-check all of torch.
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


TORCH = _import_torch()


@pytest.fixture(scope="module")
def torch() -> Any:
    """The torch module; missing torch fails in CI and skips elsewhere."""
    if TORCH is None:
        msg = "PyTorch is not installed (.venv/bin/pip install torch==2.13.0)"
        if REQUIRED:
            pytest.fail(f"{msg}: CI runs the torch.optim oracle, it must not be skipped")
        pytest.skip(msg)
    return TORCH


def _any(x: object) -> Any:
    """A value of a type the annotations refuse, on purpose (a None grad, a bad argument)."""
    return x


Grads = list[list[float | None]]
Config = dict[str, Any]

START = [0.5, -1.5, 2.0]
STEPS = 6


def _gradients() -> Grads:
    """A short fixed sequence of gradients; one step is all zeros (PyTorch still updates then)."""
    rng = random.Random(1)
    grads: Grads = [[rng.uniform(-2.0, 2.0) for _ in START] for _ in range(STEPS)]
    grads[3] = [0.0, 0.0, 0.0]
    return grads


def _long_gradients(seed: int, n_params: int = 5, steps: int = 60) -> Grads:
    """Many steps of gradients over six decades, with missing ones (None) on some steps.

    Parameter 0 always has a gradient; the last one has none for its first 10 steps (it starts
    late, as a newly unfrozen layer does); step 7 is all zeros and step 11 all None.
    """
    rng = random.Random(seed)
    grads: Grads = []
    for step in range(steps):
        row: list[float | None] = []
        for i in range(n_params):
            if (i > 0 and rng.random() < 0.2) or (i == n_params - 1 and step < 10):
                row.append(None)
            else:
                row.append(rng.choice([-1.0, 1.0]) * 10.0 ** rng.uniform(-3.0, 3.0))
        grads.append(row)
    if steps > 11:
        grads[7] = [0.0] * n_params
        grads[11] = [None] * n_params
    return grads


def _halving(step: int) -> float:
    return 0.5 ** (step // 2)


def _warm_then_decay(step: int) -> float:
    return min(1.0, (step + 1) / 5) * 0.97**step


def _set_grads(params: Sequence[Value], grads: Sequence[float | None]) -> None:
    for p, g in zip(params, grads, strict=True):
        p.grad = _any(g)


# ---------------------------------------------------------------------------------------------
# References: the published algorithms, step by step, in plain floats
# ---------------------------------------------------------------------------------------------


def _sgd_reference(config: Config, start: list[float], grads: Grads) -> list[list[float]]:
    """PyTorch's documented SGD: a buffer starts at its parameter's first gradient."""
    lr, mu = config["lr"], config.get("momentum", 0.0)
    dampening, nesterov = config.get("dampening", 0.0), config.get("nesterov", False)
    wd, maximize = config.get("weight_decay", 0.0), config.get("maximize", False)
    schedule = config.get("lr_schedule") or (lambda step: 1.0)
    params = list(start)
    buffers: list[float | None] = [None] * len(start)
    history = []
    for t, row in enumerate(grads):
        for i, g in enumerate(row):
            if g is None:
                continue
            d = -g if maximize else g
            if wd:
                d = d + wd * params[i]
            if mu:
                b = buffers[i]
                b = d if b is None else mu * b + (1 - dampening) * d
                buffers[i] = b
                d = d + mu * b if nesterov else b
            params[i] -= lr * schedule(t) * d
        history.append(list(params))
    return history


def _adam_reference(config: Config, start: list[float], grads: Grads) -> list[list[float]]:
    """Kingma & Ba's Algorithm 1 (AMSGrad: Reddi et al.), with each parameter's own t."""
    lr = config.get("lr", 1e-3)
    beta1, beta2 = config.get("betas", (0.9, 0.999))
    eps, wd = config.get("eps", 1e-8), config.get("weight_decay", 0.0)
    decoupled, amsgrad = config.get("decoupled", False), config.get("amsgrad", False)
    maximize = config.get("maximize", False)
    schedule = config.get("lr_schedule") or (lambda step: 1.0)
    n = len(start)
    params, m, v, v_max, t = list(start), [0.0] * n, [0.0] * n, [0.0] * n, [0] * n
    history = []
    for step, row in enumerate(grads):
        lr_t = lr * schedule(step)
        for i, g in enumerate(row):
            if g is None:
                continue
            g = -g if maximize else g
            t[i] += 1
            if decoupled:
                params[i] -= lr_t * wd * params[i]
            else:
                g = g + wd * params[i]
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            v_max[i] = max(v_max[i], v[i])
            m_hat = m[i] / (1 - beta1 ** t[i])
            v_hat = (v_max[i] if amsgrad else v[i]) / (1 - beta2 ** t[i])
            params[i] -= lr_t * m_hat / (math.sqrt(v_hat) + eps)
        history.append(list(params))
    return history


def _make(kind: str, params: list[Value], config: Config) -> Optimizer:
    return SGD(params, **config) if kind == "SGD" else Adam(params, **config)


def _run(kind: str, config: Config, start: list[float], grads: Grads) -> list[list[float]]:
    """Our optimizer over the gradients: every parameter's value after every step."""
    params = [Value(x) for x in start]
    optimizer = _make(kind, params, config)
    history = []
    for row in grads:
        _set_grads(params, row)
        optimizer.step()
        history.append([p.data for p in params])
    assert optimizer.step_count == len(grads)
    return history


CONFIGS: list[tuple[str, Config]] = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.2, "momentum": 0.5, "lr_schedule": _halving}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 1.0, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.1, "maximize": True}),
    (
        "SGD",
        {
            "lr": 0.05,
            "momentum": 0.7,
            "dampening": 0.1,
            "weight_decay": 0.02,
            "maximize": True,
            "lr_schedule": _warm_then_decay,
        },
    ),
    ("SGD", {"lr": 0.02, "momentum": 0.95, "nesterov": True, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.1, "betas": (0.8, 0.99)}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled": True}),
    ("Adam", {"lr": 0.05, "eps": 1e-3, "lr_schedule": _halving}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.5, "decoupled": True, "lr_schedule": _halving}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.02, "amsgrad": True, "weight_decay": 0.1}),
    (
        "Adam",
        {
            "lr": 0.03,
            "betas": (0.5, 0.9),
            "amsgrad": True,
            "decoupled": True,
            "weight_decay": 0.2,
            "maximize": True,
            "lr_schedule": _warm_then_decay,
        },
    ),
    ("Adam", {"lr": 0.05, "maximize": True}),
    ("Adam", {"lr": 0.05, "maximize": True, "weight_decay": 0.1, "eps": 1e-6}),
]
CONFIG_IDS = [f"{kind}-{i}" for i, (kind, _) in enumerate(CONFIGS)]


# Rounding differs between implementations (torch fuses multiply-adds, the references group
# terms as the papers write them), and near a cancellation the difference is large relative to
# the result. So values agree to TOLERANCE relative to the largest magnitude that slot (one
# parameter, or one buffer entry) has had so far: measured, the worst is about 1.3e-15.
TOLERANCE = 1e-13


class Agreement:
    """Compares two runs value by value, each slot against its own largest magnitude so far."""

    def __init__(self) -> None:
        self.scale: dict[object, float] = {}

    def close(self, slot: object, a: float, b: float) -> bool:
        """Equal within tolerance; NaN matches NaN and an infinity the same infinity."""
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if math.isinf(a) or math.isinf(b):
            return a == b
        scale = max(self.scale.get(slot, 0.0), abs(a), abs(b))
        self.scale[slot] = scale
        return abs(a - b) <= TOLERANCE * scale


def _assert_histories_agree(
    start: list[float], got: list[list[float]], expected: list[list[float]], what: str
) -> None:
    agreement = Agreement()
    agreement.scale = {i: abs(x) for i, x in enumerate(start)}
    for step, (row, reference) in enumerate(zip(got, expected, strict=True)):
        for i, (a, b) in enumerate(zip(row, reference, strict=True)):
            assert agreement.close(i, a, b), (
                f"{what}: step {step + 1}, parameter {i}: got {a!r}, formula {b!r}"
            )


@pytest.mark.parametrize(("kind", "config"), CONFIGS, ids=CONFIG_IDS)
def test_updates_match_the_published_algorithm(kind: str, config: Config) -> None:
    """Every parameter after every step equals the reference algorithm's, missing grads too."""
    for start, grads in [(START, _gradients()), ([0.3, -0.7, 1.1, 0.0, -2.0], _long_gradients(3))]:
        reference = _sgd_reference if kind == "SGD" else _adam_reference
        expected = reference(config, start, grads)
        _assert_histories_agree(start, _run(kind, config, start, grads), expected, kind)


# ---------------------------------------------------------------------------------------------
# torch.optim, step by step: parameters and every buffer
# ---------------------------------------------------------------------------------------------


def _torch_optimizer(torch: Any, kind: str, tensors: list[Any], config: Config) -> Any:
    options = {k: v for k, v in config.items() if k not in ("lr_schedule", "decoupled")}
    if kind == "SGD":
        return torch.optim.SGD(tensors, **options)
    if config.get("decoupled"):
        # AdamW's default weight_decay is 0.01, ours 0: always say it.
        return torch.optim.AdamW(tensors, **{"weight_decay": 0.0, **options})
    return torch.optim.Adam(tensors, **options)


def _torch_state(torch: Any, kind: str, optimizer: Any, tensors: list[Any]) -> dict[str, list[Any]]:
    """torch's per-parameter state, laid out like our state_dict()'s lists (None: not started)."""

    def entry(t: Any, key: str) -> Any:
        value = optimizer.state[t].get(key) if t in optimizer.state else None
        return None if value is None else float(value.item())

    if kind == "SGD":
        return {"momentum_buffers": [entry(t, "momentum_buffer") for t in tensors]}
    keys = ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if optimizer.defaults["amsgrad"] else [])
    state = {key: [entry(t, key) or 0.0 for t in tensors] for key in keys}
    state["steps"] = [int(entry(t, "step") or 0) for t in tensors]
    return state


def _compare_with_torch(
    torch: Any, kind: str, config: Config, start: list[float], grads: Grads
) -> int:
    """Run ours and torch.optim side by side; check parameters and state after every step."""
    params = [Value(x) for x in start]
    ours = _make(kind, params, config)
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in start]
    theirs = _torch_optimizer(torch, kind, tensors, config)
    schedule = config.get("lr_schedule")
    scheduler = torch.optim.lr_scheduler.LambdaLR(theirs, schedule) if schedule else None
    agreement = Agreement()
    agreement.scale = {("data", i): abs(x) for i, x in enumerate(start)}
    for step, row in enumerate(grads):
        _set_grads(params, row)
        for tensor, g in zip(tensors, row, strict=True):
            tensor.grad = None if g is None else torch.tensor(g, dtype=torch.float64)
        ours.step()
        theirs.step()
        if scheduler is not None:
            scheduler.step()
        where = f"{kind} {config}, step {step + 1}"
        for i, (p, t) in enumerate(zip(params, tensors, strict=True)):
            a, b = p.data, t.item()
            assert agreement.close(("data", i), a, b), f"{where}, parameter {i}: {a!r} vs {b!r}"
        state = ours.state_dict()["state"]
        for key, expected in _torch_state(torch, kind, theirs, tensors).items():
            for i, (a, b) in enumerate(zip(state[key], expected, strict=True)):
                agree = a is b is None or (
                    a is not None and b is not None and agreement.close((key, i), a, b)
                )
                assert agree, f"{where}, {key}[{i}]: ours {a!r}, torch {b!r}"
    return len(grads)


@pytest.mark.parametrize(("kind", "config"), CONFIGS, ids=CONFIG_IDS)
def test_every_step_and_buffer_matches_torch_optim(torch: Any, kind: str, config: Config) -> None:
    """60 steps over 5 parameters, some gradients None: parameters and buffers equal torch's."""
    _compare_with_torch(torch, kind, config, START, _gradients())
    for seed in (3, 4):
        _compare_with_torch(torch, kind, config, [0.3, -0.7, 1.1, 0.0, -2.0], _long_gradients(seed))


@st.composite
def sgd_configs(draw: st.DrawFn) -> Config:
    """Any SGD configuration torch accepts and we do (Nesterov needs momentum, no dampening)."""
    momentum = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99]))
    nesterov = momentum > 0 and draw(st.booleans())
    return {
        "lr": draw(st.sampled_from([1e-3, 0.01, 0.1, 0.5])),
        "momentum": momentum,
        "dampening": 0.0 if nesterov else draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])),
        "nesterov": nesterov,
        "weight_decay": draw(st.sampled_from([0.0, 1e-4, 0.1])),
        "maximize": draw(st.booleans()),
        "lr_schedule": draw(st.sampled_from([None, _halving, _warm_then_decay])),
    }


@st.composite
def adam_configs(draw: st.DrawFn) -> Config:
    """Any Adam/AdamW configuration, AMSGrad and maximize included."""
    return {
        "lr": draw(st.sampled_from([1e-3, 0.01, 0.1])),
        "betas": (draw(st.sampled_from([0.0, 0.5, 0.9])), draw(st.sampled_from([0.5, 0.99]))),
        "eps": draw(st.sampled_from([1e-8, 1e-3])),
        "weight_decay": draw(st.sampled_from([0.0, 0.01, 0.3])),
        "decoupled": draw(st.booleans()),
        "amsgrad": draw(st.booleans()),
        "maximize": draw(st.booleans()),
        "lr_schedule": draw(st.sampled_from([None, _halving, _warm_then_decay])),
    }


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(sgd_configs().map(lambda c: ("SGD", c)), adam_configs().map(lambda c: ("Adam", c))),
    st.integers(0, 2**32 - 1),
)
def test_random_configurations_match_torch_optim(
    seed_config: tuple[str, Config], seed: int
) -> None:
    """Random hyperparameters and gradient sequences (with None): 30 steps equal to torch's."""
    if TORCH is None:
        if REQUIRED:
            pytest.fail("PyTorch is not installed: CI runs the torch.optim oracle")
        pytest.skip("PyTorch is not installed")
    kind, config = seed_config
    config = {k: v for k, v in config.items() if v is not None}
    grads = _long_gradients(seed, n_params=4, steps=30)
    _compare_with_torch(TORCH, kind, config, [1.0, -0.25, 0.0, 3.0], grads)


@pytest.mark.parametrize(("kind", "config"), CONFIGS, ids=CONFIG_IDS)
def test_nan_and_infinite_gradients_propagate_as_in_torch(
    torch: Any, kind: str, config: Config
) -> None:
    """NaN, infinite and overflowing gradients are used as torch.optim uses them: same results."""
    grads: Grads = [[1.0, 2.0, -1.0], [math.nan, 1.0, math.inf], [1.0, -math.inf, 0.5], [1.0] * 3]
    _compare_with_torch(torch, kind, config, START, grads)
    rng = random.Random(8)
    specials = [math.nan, math.inf, -math.inf, 1e200, -1e200, 1e-300, 0.0, -0.0]
    for _ in range(5):
        grads = [
            [rng.choice(specials) if rng.random() < 0.15 else rng.uniform(-3, 3) for _ in START]
            for _ in range(12)
        ]
        _compare_with_torch(torch, kind, config, START, grads)


# ---------------------------------------------------------------------------------------------
# Closed forms and exact properties
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


def test_dampening_scales_every_gradient_but_the_first_into_the_buffer() -> None:
    """b_1 = g and b_k = mu b_(k-1) + (1 - d) g, a geometric series with a different first term."""
    lr, mu, d, g = 0.1, 0.8, 0.25, 1.5
    p = Value(0.0)
    optimizer = SGD([p], lr=lr, momentum=mu, dampening=d)
    expected = 0.0
    for k in range(1, 12):
        p.grad = g
        optimizer.step()
        buffer = mu ** (k - 1) * g + (1 - d) * g * (1 - mu ** (k - 1)) / (1 - mu)
        expected -= lr * buffer
        assert optimizer.state_dict()["state"]["momentum_buffers"][0] == pytest.approx(buffer)
        assert p.data == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize(("kind", "config"), CONFIGS, ids=CONFIG_IDS)
def test_maximize_is_minimizing_the_negated_gradient_bit_for_bit(kind: str, config: Config) -> None:
    """maximize=True on g and maximize=False on -g give bitwise the same run, as in torch."""
    grads = _long_gradients(5)
    negated = [[None if g is None else -g for g in row] for row in grads]
    flipped = {**config, "maximize": not config.get("maximize", False)}
    start = [0.3, -0.7, 1.1, 0.0, -2.0]
    a = _run(kind, config, start, grads)
    b = _run(kind, flipped, start, negated)
    assert [[x.hex() for x in row] for row in a] == [[x.hex() for x in row] for row in b]


def test_adam_bias_correction_makes_every_step_lr_under_a_constant_gradient() -> None:
    """m_hat = g and v_hat = g**2 exactly, so each step moves lr * g / (|g| + eps)."""
    lr, eps = 0.01, 1e-8
    grads = [3.0, -0.002, 50.0]
    params = [Value(0.0) for _ in grads]
    optimizer = Adam(params, lr=lr, eps=eps)
    for t in range(1, 8):
        _set_grads(params, grads)
        optimizer.step()
        for p, g in zip(params, grads, strict=True):
            assert p.data == pytest.approx(-t * lr * g / (abs(g) + eps), rel=1e-12)


def test_adam_counts_steps_once_per_step_not_once_per_parameter() -> None:
    """After one step, the first and the tenth parameter moved alike; step_count is 1."""
    params = [Value(1.0) for _ in range(10)]
    optimizer = Adam(params, lr=0.1)
    _set_grads(params, [2.0] * 10)
    optimizer.step()
    assert optimizer.step_count == 1
    # With t counted per parameter the tenth would see 1 - beta1**10 and move about 0.1 * 0.65.
    assert len({p.data for p in params}) == 1
    assert params[-1].data == pytest.approx(1.0 - 0.1 * 2.0 / (2.0 + 1e-8), rel=1e-15)


@pytest.mark.parametrize("decoupled", [False, True])
def test_a_parameter_that_starts_late_gets_the_bias_correction_of_its_own_first_step(
    decoupled: bool,
) -> None:
    """Skipped for 5 steps, then a gradient: it moves lr * g / (|g| + eps), a first step's size."""
    late, busy = Value(1.0), Value(1.0)
    optimizer = Adam([busy, late], lr=0.1, weight_decay=0.5 if decoupled else 0.0, decoupled=True)
    for _ in range(5):
        _set_grads([busy, late], [1.0, None])
        optimizer.step()
    assert late.data == 1.0  # not even decayed: a skipped parameter is left alone
    _set_grads([busy, late], [1.0, 3.0])
    optimizer.step()
    decayed = 1.0 - 0.1 * 0.5 if decoupled else 1.0
    # With one t for all (t = 6) the step would be 0.1 * (0.1 / 0.47) / (sqrt(0.001 / 0.006)):
    # about 0.052 instead of 0.1.
    assert late.data == pytest.approx(decayed - 0.1 * 3.0 / (3.0 + 1e-8), rel=1e-14)
    assert optimizer.state_dict()["state"]["steps"] == [6, 1]


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
        lambda ps: Adam(ps, lr=0.1, amsgrad=True, weight_decay=0.1, decoupled=True),
    ],
    ids=["SGD", "Adam"],
)
def test_a_parameter_whose_grad_is_none_is_skipped_with_its_state(
    make: Callable[[list[Value]], Optimizer],
) -> None:
    """A None gradient: that parameter and its buffers stay bitwise; the others move."""
    params = [Value(1.0), Value(-2.0), Value(3.0)]
    optimizer = make(params)
    _set_grads(params, [0.5, 0.25, -1.0])
    optimizer.step()
    before = optimizer.state_dict()["state"]
    data = [p.data for p in params]
    _set_grads(params, [0.5, None, -1.0])
    optimizer.step()
    after = optimizer.state_dict()["state"]
    assert params[1].data == data[1]
    assert params[0].data != data[0]
    assert params[2].data != data[2]
    for key, values in after.items():
        assert values[1] == before[key][1], key
        assert values[0] != before[key][0], key
    assert optimizer.step_count == 2


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_a_step_where_no_parameter_has_a_gradient_moves_nothing_but_the_clock(kind: str) -> None:
    """Every grad None: nothing moves, the state is as it was, step_count and schedule advance."""
    calls: list[int] = []

    def schedule(step: int) -> float:
        calls.append(step)
        return 1.0

    params = [Value(1.0), Value(2.0)]
    optimizer = _make(kind, params, {"lr": 0.1, "lr_schedule": schedule})
    before = optimizer.state_dict()
    _set_grads(params, [None, None])
    optimizer.step()
    assert [p.data for p in params] == [1.0, 2.0]
    after = optimizer.state_dict()
    assert after["state"] == before["state"]
    assert (after["step_count"], calls) == (1, [0])


def test_amsgrad_keeps_the_running_maximum_of_the_second_moment() -> None:
    """max_exp_avg_sq never decreases and equals the largest exp_avg_sq seen so far."""
    params = [Value(0.0), Value(0.0)]
    optimizer = Adam(params, lr=0.01, betas=(0.9, 0.9), amsgrad=True)
    seen = [0.0, 0.0]
    for row in [[5.0, 0.1], [0.1, 0.1], [0.1, 4.0], [0.0, 0.0], [3.0, 0.1]]:
        _set_grads(params, row)
        optimizer.step()
        state = optimizer.state_dict()["state"]
        seen = [max(s, v) for s, v in zip(seen, state["exp_avg_sq"], strict=True)]
        assert state["max_exp_avg_sq"] == seen
    assert state["max_exp_avg_sq"] != state["exp_avg_sq"]


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


def test_an_int_gradient_is_read_as_a_float() -> None:
    """A gradient set by hand as an int works like the same float."""
    w = Value(1.0)
    w.grad = 2
    Adam([w], lr=0.1).step()
    assert w.data == 1.0 - 0.1 * 2.0 / (2.0 + 1e-8)


# ---------------------------------------------------------------------------------------------
# A step that fails changes nothing
# ---------------------------------------------------------------------------------------------

FAILING = [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("Adam", {"lr": 0.1, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.1, "amsgrad": True, "decoupled": True, "weight_decay": 0.1}),
]


def _snapshot(params: list[Value], optimizer: Optimizer) -> tuple[list[str], str]:
    return [p.data.hex() for p in params], json.dumps(optimizer.state_dict())


def _thirteen(kind: str, config: Config) -> tuple[list[Value], Optimizer]:
    """Thirteen labelled parameters after two good steps (so that every buffer has started)."""
    params = [Value(0.1 * i - 0.5, label=f"layer.{i}") for i in range(13)]
    optimizer = _make(kind, params, config)
    for k in range(2):
        _set_grads(params, [0.3 * (i - 6) + k for i in range(13)])
        optimizer.step()
    return params, optimizer


@pytest.mark.parametrize(("kind", "config"), FAILING)
@pytest.mark.parametrize(
    ("bad", "error", "shown"),
    [
        ("0.5", TypeError, r"must be a real number, got str: '0\.5'"),
        (True, TypeError, r"must be a real number, got bool: True"),
        ([1.0], TypeError, r"must be a real number, got list: \[1\.0\]"),
        (10**400, ValueError, r"must fit in a float"),
    ],
)
def test_a_bad_gradient_raises_before_any_parameter_or_buffer_moves(
    kind: str, config: Config, bad: object, error: type[Exception], shown: str
) -> None:
    """The issue's case: parameter 6 of 13 is bad; the error names it; nothing has changed."""
    params, optimizer = _thirteen(kind, config)
    before = _snapshot(params, optimizer)
    grads: list[float | None] = [0.5] * 13
    grads[2] = None
    _set_grads(params, grads)
    params[6].grad = _any(bad)
    pattern = rf"{kind}\.step\(\) parameter 6 \(layer\.6\) gradient {shown}"
    with pytest.raises(error, match=pattern):
        optimizer.step()
    assert _snapshot(params, optimizer) == before
    assert optimizer.step_count == 2


@pytest.mark.parametrize(("kind", "config"), FAILING)
@pytest.mark.parametrize(
    ("multiplier", "error", "pattern"),
    [
        (-0.5, ValueError, r"lr_schedule\(2\) result must be >= 0\.0, got -0\.5"),
        (math.nan, ValueError, r"lr_schedule\(2\) result must be finite, got nan"),
        (math.inf, ValueError, r"lr_schedule\(2\) result must be finite, got inf"),
        ("1", TypeError, r"lr_schedule\(2\) result must be a real number, got str: '1'"),
        (False, TypeError, r"lr_schedule\(2\) result must be a real number, got bool: False"),
        (1e308, ValueError, r"lr_schedule\(2\): lr 10\.0 times the multiplier 1e\+308 overflows"),
        (KeyError("boom"), KeyError, r"boom"),
    ],
)
def test_a_bad_schedule_raises_before_anything_changes(
    kind: str, config: Config, multiplier: object, error: type[Exception], pattern: str
) -> None:
    """A schedule that returns a bad multiplier, or raises, leaves everything as it was."""

    def schedule(step: int) -> float:
        if step < 2:
            return 1.0
        if isinstance(multiplier, Exception):
            raise multiplier
        result: float = _any(multiplier)
        return result

    params, optimizer = _thirteen(kind, {**config, "lr_schedule": schedule, "lr": 10.0})
    before = _snapshot(params, optimizer)
    _set_grads(params, [1.0] * 13)
    with pytest.raises(error, match=pattern):
        optimizer.step()
    assert _snapshot(params, optimizer) == before
    assert optimizer.step_count == 2


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


def test_zero_grad_resets_the_parameters() -> None:
    """zero_grad() sets every parameter's gradient to 0.0, a None one included."""
    params = [Value(1.0), Value(2.0)]
    _set_grads(params, [5.0, None])
    SGD(params, lr=0.1).zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


@pytest.mark.parametrize(
    ("make", "error", "pattern"),
    [
        (lambda p: SGD(p, lr=-0.1), ValueError, r"SGD\(\) lr must be >= 0\.0, got -0\.1"),
        (lambda p: SGD(p, lr=math.nan), ValueError, r"SGD\(\) lr must be finite, got nan"),
        (lambda p: SGD(p, lr=_any("0.1")), TypeError, r"SGD\(\) lr must be a real number, got str"),
        (lambda p: SGD(p, lr=True), TypeError, r"SGD\(\) lr must be a real number, got bool"),
        (lambda p: SGD(p, lr=0.1, momentum=1.0), ValueError, r"momentum must be < 1\.0, got 1\.0"),
        (lambda p: SGD(p, lr=0.1, momentum=-0.1), ValueError, r"momentum must be >= 0\.0"),
        (
            lambda p: SGD(p, lr=0.1, nesterov=True),
            ValueError,
            r"SGD\(\) nesterov=True needs a momentum > 0 and dampening 0, got momentum 0\.0",
        ),
        (
            lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True, dampening=0.1),
            ValueError,
            r"nesterov=True needs a momentum > 0 and dampening 0, .*dampening 0\.1",
        ),
        (
            lambda p: SGD(p, lr=0.1, nesterov=_any(1)),
            TypeError,
            r"SGD\(\) nesterov must be True or False, got int: 1",
        ),
        (lambda p: SGD(p, lr=0.1, weight_decay=-1), ValueError, r"weight_decay must be >= 0\.0"),
        (lambda p: SGD(p, lr=0.1, dampening=1.5), ValueError, r"dampening must be <= 1\.0"),
        (lambda p: SGD(p, lr=0.1, dampening=_any(None)), TypeError, r"dampening must be a real"),
        (lambda p: SGD(p, lr=0.1, maximize=_any("no")), TypeError, r"maximize must be True or"),
        (
            lambda p: SGD(p, lr=0.1, lr_schedule=_any(0.5)),
            TypeError,
            r"lr_schedule must be a callable",
        ),
        (lambda p: Adam(p, betas=_any((0.9,))), ValueError, r"betas must be a pair"),
        (lambda p: Adam(p, betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be < 1\.0"),
        (lambda p: Adam(p, betas=(_any(True), 0.9)), TypeError, r"betas\[0\] must be a real"),
        (lambda p: Adam(p, eps=0.0), ValueError, r"Adam\(\) eps must be > 0\.0, got 0\.0"),
        (lambda p: Adam(p, decoupled=_any("yes")), TypeError, r"decoupled must be True or False"),
        (lambda p: Adam(p, amsgrad=_any(1)), TypeError, r"Adam\(\) amsgrad must be True or False"),
        (lambda p: Adam(p, maximize=_any(0)), TypeError, r"Adam\(\) maximize must be True or"),
        (lambda p: Adam([]), ValueError, r"Adam\(\) got an empty parameter list"),
        (lambda p: Adam([*p, p[0]]), ValueError, r"got parameter 2 \(w\) more than once"),
        (
            lambda p: Adam(_any([1.0])),
            TypeError,
            r"parameters must be Values, got float: 1\.0 at index 0",
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


@pytest.mark.parametrize(("kind", "config"), CONFIGS, ids=CONFIG_IDS)
def test_state_dict_resumes_training_bitwise(kind: str, config: Config) -> None:
    """Stop mid-run, save through JSON, restore in a fresh optimizer: the same trajectory.

    The fresh optimizer is made as `checkpoint` makes one, ``type(params, lr=0.0)``: every
    hyperparameter and buffer comes from the state.
    """
    grads = _long_gradients(6, n_params=4, steps=24)
    params = [Value(x) for x in [0.3, -0.7, 1.1, 0.0]]
    original = _make(kind, params, config)
    for row in grads[:13]:
        _set_grads(params, row)
        original.step()
    state = json.loads(json.dumps(original.state_dict()))
    twins = [Value(p.data) for p in params]
    copy = _make(kind, twins, {"lr": 0.0, "lr_schedule": config.get("lr_schedule")})
    copy.load_state_dict(state)
    assert copy.state_dict() == original.state_dict()
    for row in grads[13:]:
        for group in (params, twins):
            _set_grads(group, row)
        original.step()
        copy.step()
        assert [p.data.hex() for p in twins] == [p.data.hex() for p in params]


def _old_format(state: dict[str, Any]) -> dict[str, Any]:
    """The state as the version before dampening, maximize, amsgrad and Adam's steps wrote it."""
    old: dict[str, Any] = json.loads(json.dumps(state))
    for key in ("dampening", "maximize", "amsgrad"):
        old["hyperparameters"].pop(key, None)
    for key in ("steps", "max_exp_avg_sq"):
        old["state"].pop(key, None)
    return old


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
        ("SGD", {"lr": 0.1}),
        ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled": True}),
    ],
)
def test_a_state_saved_by_the_previous_version_still_loads(kind: str, config: Config) -> None:
    """Old keys only (every parameter stepped every time then): training resumes bitwise."""
    grads = _long_gradients(7, n_params=3, steps=10)
    full = [[1.0 if g is None else g for g in row] for row in grads]
    params = [Value(x) for x in START]
    original = _make(kind, params, config)
    for row in full[:4]:
        _set_grads(params, row)
        original.step()
    old = _old_format(original.state_dict())
    if kind == "SGD" and config.get("momentum"):
        assert set(old["hyperparameters"]) == {"lr", "momentum", "nesterov", "weight_decay"}
    twins = [Value(p.data) for p in params]
    copy = _make(kind, twins, {"lr": 0.0})
    copy.load_state_dict(old)
    assert copy.state_dict() == original.state_dict()
    for row in full[4:]:
        for group in (params, twins):
            _set_grads(group, row)
        original.step()
        copy.step()
    assert [p.data.hex() for p in twins] == [p.data.hex() for p in params]


def test_an_old_sgd_state_from_before_the_first_step_loads() -> None:
    """The previous version wrote momentum_buffers None before the first step."""
    optimizer = SGD([Value(1.0), Value(2.0)], lr=0.3, momentum=0.5)
    optimizer.load_state_dict(
        {
            "type": "SGD",
            "step_count": 0,
            "hyperparameters": {"lr": 0.1, "momentum": 0.9, "nesterov": False, "weight_decay": 0},
            "state": {"momentum_buffers": None},
        }
    )
    assert optimizer.state_dict()["state"]["momentum_buffers"] == [None, None]
    assert (optimizer.lr, optimizer.momentum, optimizer.dampening) == (0.1, 0.9, 0.0)


def _sgd_state() -> dict[str, Any]:
    optimizer = SGD([Value(1.0), Value(2.0)], lr=0.1, momentum=0.9)
    _set_grads(optimizer.params, [1.0, None])
    optimizer.step()
    return optimizer.state_dict()


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (lambda s: s.update(type="Adam"), r"got the state of a 'Adam' optimizer"),
        (lambda s: s.update(step_count=-1), r"step_count must be an int >= 0, got int: -1"),
        (lambda s: s.update(step_count=1.5), r"step_count must be an int, got float: 1\.5"),
        (lambda s: s.update(step_count=True), r"step_count must be an int, got bool"),
        (lambda s: s.pop("state"), r"needs exactly the keys"),
        (lambda s: s["hyperparameters"].update(lr=-1.0), r"lr must be >= 0\.0"),
        (lambda s: s["hyperparameters"].update(momentum=2.0), r"momentum must be < 1\.0"),
        (lambda s: s["hyperparameters"].update(dampening=-1), r"dampening must be >= 0\.0"),
        (lambda s: s["hyperparameters"].update(maximize=1), r"maximize must be True or False"),
        (
            lambda s: s["hyperparameters"].update(nesterov=True, dampening=0.5),
            r"nesterov=True needs a momentum > 0 and dampening 0",
        ),
        (lambda s: s["hyperparameters"].pop("nesterov"), r"hyperparameters needs exactly"),
        # Half old, half new is neither version's state.
        (lambda s: s["hyperparameters"].pop("maximize"), r"\(or the older \['lr', 'momentum'"),
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
        (lambda s: s["state"].update(max_exp_avg_sq=[0.1, -1.0]), r"max_exp_avg_sq\[1\] must"),
        (lambda s: s["state"].update(max_exp_avg_sq=[0.1]), r"max_exp_avg_sq must be a list"),
        (lambda s: s["state"].update(steps=[1, 4]), r"steps\[1\] must be an int <= 3, got int: 4"),
        (lambda s: s["state"].update(steps=[1, -1]), r"steps\[1\] must be an int >= 0"),
        (lambda s: s["state"].update(steps=[1, 1.0]), r"steps\[1\] must be an int, got float"),
        (lambda s: s["state"].update(steps=3), r"steps must be a list of 2 numbers.*got int"),
        (lambda s: s["state"].pop("steps"), r"state needs exactly the keys"),
        (lambda s: s["hyperparameters"].update(betas=[0.9]), r"betas must be a pair"),
        (lambda s: s["hyperparameters"].update(eps=0), r"eps must be > 0\.0"),
        (lambda s: s["hyperparameters"].update(decoupled=0), r"decoupled must be True or False"),
        (lambda s: s["hyperparameters"].update(amsgrad=None), r"amsgrad must be True or False"),
    ],
)
def test_a_bad_adam_state_raises_and_changes_nothing(
    change: Callable[[dict[str, Any]], object], pattern: str
) -> None:
    """Every malformed Adam state is rejected before the optimizer changes."""
    source = Adam([Value(1.0), Value(2.0)], lr=0.1, amsgrad=True)
    rows: Grads = [[1.0, 1.0], [1.0, None], [1.0, 2.0]]
    for row in rows:
        _set_grads(source.params, row)
        source.step()
    state = source.state_dict()
    change(state)
    optimizer = Adam([Value(1.0), Value(2.0)])
    before = optimizer.state_dict()
    with pytest.raises((ValueError, TypeError), match=pattern):
        optimizer.load_state_dict(state)
    assert optimizer.state_dict() == before


def test_the_state_dict_says_every_new_option_and_buffer() -> None:
    """dampening, maximize, amsgrad, per-parameter steps and AMSGrad's maximum are all saved."""
    sgd = SGD([Value(1.0)], lr=0.1, momentum=0.9, dampening=0.2, maximize=True).state_dict()
    assert sgd["hyperparameters"] == {
        "lr": 0.1,
        "momentum": 0.9,
        "dampening": 0.2,
        "nesterov": False,
        "weight_decay": 0.0,
        "maximize": True,
    }
    assert sgd["state"] == {"momentum_buffers": [None]}
    params = [Value(1.0), Value(1.0)]
    adam = Adam(params, amsgrad=True, maximize=True)
    _set_grads(params, [2.0, None])
    adam.step()
    state = adam.state_dict()
    assert state["hyperparameters"]["amsgrad"] is state["hyperparameters"]["maximize"] is True
    assert state["state"]["steps"] == [1, 0]
    assert state["state"]["max_exp_avg_sq"] == state["state"]["exp_avg_sq"]
    assert Adam([Value(1.0)]).state_dict()["state"]["max_exp_avg_sq"] is None
