"""Optimizers that update parameters from their gradients: `SGD` (momentum, Nesterov) and `Adam`.

They follow PyTorch's update rules and habits: `zero_grad()` before each backward pass, `step()`
after it, weight decay, a learning-rate schedule hook and a JSON-friendly `state_dict()`. They
read `.grad` and write `.data` only: no graph is built and no derivative is computed here.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from autograd_lite.engine import Value, zero_grad

__all__ = ["SGD", "Adam", "Optimizer", "Schedule"]

# step -> multiplier of the base lr; the step is the number of step() calls made before this one.
Schedule = Callable[[int], float]


def _real(x: object, name: str, where: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        msg = f"{where} {name} must be a real number, got {type(x).__name__}: {x!r}"
        raise TypeError(msg)
    value = float(x)
    if not math.isfinite(value):
        msg = f"{where} {name} must be finite, got {value!r}"
        raise ValueError(msg)
    return value


def _at_least_zero(x: object, name: str, where: str) -> float:
    value = _real(x, name, where)
    if value < 0.0:
        msg = f"{where} {name} must be >= 0, got {value!r}"
        raise ValueError(msg)
    return value


def _in_unit_interval(x: object, name: str, where: str) -> float:
    """A decay rate: 0 <= x < 1 (at 1 the average would never forget its start)."""
    value = _real(x, name, where)
    if not 0.0 <= value < 1.0:
        msg = f"{where} {name} must be in [0, 1), got {value!r}"
        raise ValueError(msg)
    return value


def _flag(x: object, name: str, where: str) -> bool:
    if not isinstance(x, bool):
        msg = f"{where} {name} must be True or False, got {x!r}"
        raise TypeError(msg)
    return x


def _float_list(x: object, n: int, name: str, where: str, *, minimum: float | None) -> list[float]:
    """A list of n finite floats (>= minimum when given), as found in a state dict."""
    if not isinstance(x, list | tuple) or len(x) != n:
        size = len(x) if isinstance(x, list | tuple) else type(x).__name__
        msg = f"{where} {name} must be a list of {n} numbers, one per parameter, got {size}"
        raise ValueError(msg)
    out = [_real(v, f"{name}[{i}]", where) for i, v in enumerate(x)]
    if minimum is not None:
        for i, v in enumerate(out):
            if v < minimum:
                msg = f"{where} {name}[{i}] must be >= {minimum}, got {v!r}"
                raise ValueError(msg)
    return out


class Optimizer:
    """What every optimizer shares: its parameters, base lr, schedule and step counter."""

    def __init__(self, params: Iterable[Value], lr: float, lr_schedule: Schedule | None) -> None:
        where = f"{type(self).__name__}()"
        if isinstance(params, Value):
            msg = f"{where} needs an iterable of parameters (model.parameters()), got one Value"
            raise TypeError(msg)
        self.params: list[Value] = list(params)
        if not self.params:
            msg = f"{where} got an empty parameter list"
            raise ValueError(msg)
        seen: set[int] = set()
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                msg = f"{where} parameters must be Values, got {type(p).__name__} at index {i}"
                raise TypeError(msg)
            if id(p) in seen:
                # It would be updated twice per step.
                msg = f"{where} got parameter {i} ({p.label or 'unlabelled'}) more than once"
                raise ValueError(msg)
            seen.add(id(p))
        self.lr = _at_least_zero(lr, "lr", where)
        if lr_schedule is not None and not callable(lr_schedule):
            msg = f"{where} lr_schedule must be a callable step -> multiplier, got {lr_schedule!r}"
            raise TypeError(msg)
        self.lr_schedule = lr_schedule
        self.step_count = 0

    def current_lr(self) -> float:
        """The learning rate the next `step()` will use: lr * lr_schedule(step_count)."""
        if self.lr_schedule is None:
            return self.lr
        factor = self.lr_schedule(self.step_count)
        where = f"{type(self).__name__} lr_schedule({self.step_count})"
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
            msg = f"{where} must return a real multiplier, got {type(factor).__name__}: {factor!r}"
            raise TypeError(msg)
        if not math.isfinite(factor) or factor < 0:
            msg = f"{where} must return a finite multiplier >= 0, got {factor!r}"
            raise ValueError(msg)
        return self.lr * float(factor)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0."""
        zero_grad(self.params)

    def step(self) -> None:
        """Update every parameter once from its current gradient."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, step count and per-parameter state, as JSON-friendly values."""
        raise NotImplementedError

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what `state_dict()` returned; all or nothing, checked before anything changes."""
        raise NotImplementedError

    def _check_header(self, state: object) -> Mapping[str, Any]:
        """The parts every state dict has, checked: type name, step count, keys."""
        where = f"{type(self).__name__}.load_state_dict()"
        if not isinstance(state, Mapping):
            msg = f"{where} needs a mapping, got {type(state).__name__}"
            raise TypeError(msg)
        expected = {"type", "step_count", "hyperparameters", "state"}
        if set(state) != expected:
            msg = f"{where} needs exactly the keys {sorted(expected)}, got {sorted(state)}"
            raise ValueError(msg)
        if state["type"] != type(self).__name__:
            msg = f"{where} got the state of a {state['type']!r} optimizer"
            raise ValueError(msg)
        count = state["step_count"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            msg = f"{where} step_count must be an int >= 0, got {count!r}"
            raise ValueError(msg)
        for key in ("hyperparameters", "state"):
            if not isinstance(state[key], Mapping):
                msg = f"{where} {key} must be a mapping, got {type(state[key]).__name__}"
                raise ValueError(msg)
        return state


def _keys(d: Mapping[str, Any], expected: set[str], what: str, where: str) -> None:
    if set(d) != expected:
        msg = f"{where} {what} needs exactly the keys {sorted(expected)}, got {sorted(d)}"
        raise ValueError(msg)


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay.

    Per parameter, as in PyTorch (``b`` starts as the first ``g``)::

        g = grad + weight_decay * p
        b = momentum * b + g                           (when momentum > 0)
        g = g + momentum * b if nesterov else b
        p = p - lr_t * g,   lr_t = lr * lr_schedule(step_count)

    >>> w = Value(1.0)
    >>> opt = SGD([w], lr=0.1)
    >>> (w * w).backward()
    >>> opt.step()
    >>> w.data
    0.8
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        lr_schedule: Schedule | None = None,
    ) -> None:
        super().__init__(params, lr, lr_schedule)
        self.momentum = _in_unit_interval(momentum, "momentum", "SGD()")
        self.nesterov = _flag(nesterov, "nesterov", "SGD()")
        if self.nesterov and self.momentum == 0.0:
            msg = "SGD() nesterov=True needs a momentum > 0"
            raise ValueError(msg)
        self.weight_decay = _at_least_zero(weight_decay, "weight_decay", "SGD()")
        # None until the first step: PyTorch starts each buffer at the first gradient, not at 0.
        self._buffers: list[float] | None = None

    def step(self) -> None:
        """Update every parameter once from its current gradient."""
        lr = self.current_lr()  # may raise: do it before anything changes
        momentum, nesterov, weight_decay = self.momentum, self.nesterov, self.weight_decay
        if momentum == 0.0:
            for p in self.params:
                p.data -= lr * (float(p.grad) + weight_decay * p.data)
        else:
            first = self._buffers is None
            buffers = [0.0] * len(self.params) if self._buffers is None else self._buffers
            for i, p in enumerate(self.params):
                g = float(p.grad) + weight_decay * p.data
                b = g if first else momentum * buffers[i] + g
                buffers[i] = b
                g = g + momentum * b if nesterov else b
                p.data -= lr * g
            self._buffers = buffers
        self.step_count += 1

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, step count and momentum buffers (None before the first step)."""
        return {
            "type": "SGD",
            "step_count": self.step_count,
            "hyperparameters": {
                "lr": self.lr,
                "momentum": self.momentum,
                "nesterov": self.nesterov,
                "weight_decay": self.weight_decay,
            },
            "state": {"momentum_buffers": None if self._buffers is None else list(self._buffers)},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore hyperparameters, step count and buffers; all or nothing (lr_schedule stays)."""
        where = "SGD.load_state_dict()"
        state = self._check_header(state)
        hyper = state["hyperparameters"]
        _keys(hyper, {"lr", "momentum", "nesterov", "weight_decay"}, "hyperparameters", where)
        lr = _at_least_zero(hyper["lr"], "lr", where)
        momentum = _in_unit_interval(hyper["momentum"], "momentum", where)
        nesterov = _flag(hyper["nesterov"], "nesterov", where)
        if nesterov and momentum == 0.0:
            msg = f"{where} nesterov=True needs a momentum > 0"
            raise ValueError(msg)
        weight_decay = _at_least_zero(hyper["weight_decay"], "weight_decay", where)
        inner = state["state"]
        _keys(inner, {"momentum_buffers"}, "state", where)
        raw = inner["momentum_buffers"]
        buffers = (
            None
            if raw is None
            else _float_list(raw, len(self.params), "momentum_buffers", where, minimum=None)
        )
        # Everything is checked: only now change the optimizer.
        self.lr, self.momentum, self.nesterov = lr, momentum, nesterov
        self.weight_decay = weight_decay
        self._buffers = buffers
        self.step_count = state["step_count"]


class Adam(Optimizer):
    """Adam, or AdamW with ``decoupled=True``, with bias correction counted per `step()`.

    Per parameter, as in PyTorch, with t the number of this step (1 on the first)::

        g = grad + weight_decay * p                   (Adam: decay as an L2 gradient)
        p = p * (1 - lr_t * weight_decay)             (AdamW: decay apart from the gradient)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        p = p - lr_t * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)

    >>> w = Value(1.0)
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).backward()
    >>> opt.step()
    >>> round(w.data, 6)
    0.9
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
        lr_schedule: Schedule | None = None,
    ) -> None:
        super().__init__(params, lr, lr_schedule)
        self.betas = _betas(betas, "Adam()")
        self.eps = _positive_eps(eps, "Adam()")
        self.weight_decay = _at_least_zero(weight_decay, "weight_decay", "Adam()")
        self.decoupled = _flag(decoupled, "decoupled", "Adam()")
        self._exp_avg = [0.0] * len(self.params)
        self._exp_avg_sq = [0.0] * len(self.params)

    def step(self) -> None:
        """Update every parameter once from its current gradient."""
        lr = self.current_lr()  # may raise: do it before anything changes
        beta1, beta2 = self.betas
        eps, weight_decay, decoupled = self.eps, self.weight_decay, self.decoupled
        # One t for all parameters: counting per parameter is a known bug of small libraries.
        t = self.step_count + 1
        correction1 = 1.0 - beta1**t
        correction2_sqrt = math.sqrt(1.0 - beta2**t)
        step_size = lr / correction1
        exp_avg, exp_avg_sq = self._exp_avg, self._exp_avg_sq
        for i, p in enumerate(self.params):
            g = float(p.grad)
            if weight_decay != 0.0:
                if decoupled:
                    p.data *= 1.0 - lr * weight_decay
                else:
                    g += weight_decay * p.data
            m = beta1 * exp_avg[i] + (1.0 - beta1) * g
            v = beta2 * exp_avg_sq[i] + (1.0 - beta2) * g * g
            exp_avg[i] = m
            exp_avg_sq[i] = v
            p.data -= step_size * (m / (math.sqrt(v) / correction2_sqrt + eps))
        self.step_count = t

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, step count and both moment estimates per parameter."""
        return {
            "type": "Adam",
            "step_count": self.step_count,
            "hyperparameters": {
                "lr": self.lr,
                "betas": list(self.betas),
                "eps": self.eps,
                "weight_decay": self.weight_decay,
                "decoupled": self.decoupled,
            },
            "state": {"exp_avg": list(self._exp_avg), "exp_avg_sq": list(self._exp_avg_sq)},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore hyperparameters, step count and moments; all or nothing (lr_schedule stays)."""
        where = "Adam.load_state_dict()"
        state = self._check_header(state)
        hyper = state["hyperparameters"]
        keys = {"lr", "betas", "eps", "weight_decay", "decoupled"}
        _keys(hyper, keys, "hyperparameters", where)
        lr = _at_least_zero(hyper["lr"], "lr", where)
        betas = _betas(hyper["betas"], where)
        eps = _positive_eps(hyper["eps"], where)
        weight_decay = _at_least_zero(hyper["weight_decay"], "weight_decay", where)
        decoupled = _flag(hyper["decoupled"], "decoupled", where)
        inner = state["state"]
        _keys(inner, {"exp_avg", "exp_avg_sq"}, "state", where)
        n = len(self.params)
        exp_avg = _float_list(inner["exp_avg"], n, "exp_avg", where, minimum=None)
        exp_avg_sq = _float_list(inner["exp_avg_sq"], n, "exp_avg_sq", where, minimum=0.0)
        # Everything is checked: only now change the optimizer.
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay, self.decoupled = weight_decay, decoupled
        self._exp_avg, self._exp_avg_sq = exp_avg, exp_avg_sq
        self.step_count = state["step_count"]


def _betas(betas: object, where: str) -> tuple[float, float]:
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        msg = f"{where} betas must be a pair (beta1, beta2), got {betas!r}"
        raise ValueError(msg)
    return (
        _in_unit_interval(betas[0], "betas[0]", where),
        _in_unit_interval(betas[1], "betas[1]", where),
    )


def _positive_eps(eps: object, where: str) -> float:
    value = _real(eps, "eps", where)
    if value <= 0.0:
        # eps = 0 would divide 0 by 0 for a parameter whose gradients have all been 0.
        msg = f"{where} eps must be > 0, got {value!r}"
        raise ValueError(msg)
    return value
