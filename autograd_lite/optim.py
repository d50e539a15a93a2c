"""Optimizers that update parameters from their gradients: `SGD` (momentum, Nesterov) and `Adam`.

They follow torch.optim's update rules and habits: `zero_grad()` before each backward pass,
`step()` after it, weight decay, `maximize`, a parameter whose ``.grad`` is None skipped, a
learning-rate schedule hook and a JSON-friendly `state_dict()`. They read ``.grad`` and write
``.data`` only: no graph is built and no derivative is computed here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from autograd_lite._checks import flag, integer, real, shown
from autograd_lite.engine import Value, zero_grad

__all__ = ["SGD", "Adam", "Optimizer", "Schedule"]

# step -> multiplier of the base lr; the step is the number of step() calls made before this one.
Schedule = Callable[[int], float]

# The keys of each state dict: the current ones, and those written before dampening, maximize,
# amsgrad and per-parameter Adam steps existed (such states still load, with the defaults).
_HEADER: Final = {"type", "step_count", "hyperparameters", "state"}
_SGD_HYPERPARAMETERS: Final = {
    "lr",
    "momentum",
    "dampening",
    "nesterov",
    "weight_decay",
    "maximize",
}
_SGD_HYPERPARAMETERS_V0: Final = {"lr", "momentum", "nesterov", "weight_decay"}
_ADAM_HYPERPARAMETERS: Final = {
    "lr",
    "betas",
    "eps",
    "weight_decay",
    "decoupled",
    "amsgrad",
    "maximize",
}
_ADAM_HYPERPARAMETERS_V0: Final = {"lr", "betas", "eps", "weight_decay", "decoupled"}
_ADAM_STATE: Final = {"steps", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
_ADAM_STATE_V0: Final = {"exp_avg", "exp_avg_sq"}


class Optimizer:
    """What every optimizer shares: its parameters, base lr, schedule and step counter.

    `step()` is all or nothing: the schedule, every gradient and every new value are checked
    and computed before the first parameter or buffer changes, so a step that raises leaves the
    optimizer and the model exactly as they were. A parameter whose ``.grad`` is None (PyTorch's
    ``set_to_none`` habit) is skipped, as torch.optim does: it does not move, and its buffers
    and step count stay as they are. NaN and infinite gradients are used as given, as
    torch.optim does (the parameter becomes NaN or infinite); anything else that is not a number
    raises an error that names the optimizer, the parameter (index and label) and the value.
    """

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
                msg = f"{where} parameters must be Values, got {shown(p)} at index {i}"
                raise TypeError(msg)
            if id(p) in seen:
                # It would be updated twice per step.
                msg = f"{where} got parameter {i} ({p.label or 'unlabelled'}) more than once"
                raise ValueError(msg)
            seen.add(id(p))
        self.lr = _lr(lr, where)
        if lr_schedule is not None and not callable(lr_schedule):
            msg = f"{where} lr_schedule must be a callable step -> multiplier, got {lr_schedule!r}"
            raise TypeError(msg)
        self.lr_schedule = lr_schedule
        self.step_count = 0

    def current_lr(self) -> float:
        """The learning rate the next `step()` will use: lr * lr_schedule(step_count)."""
        if self.lr_schedule is None:
            return self.lr
        where = f"{type(self).__name__} lr_schedule({self.step_count})"
        factor = real(self.lr_schedule(self.step_count), f"{where} result", finite=True, low=0.0)
        lr = self.lr * factor
        if not math.isfinite(lr):
            msg = f"{where}: lr {self.lr!r} times the multiplier {factor!r} overflows"
            raise ValueError(msg)
        return lr

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0."""
        zero_grad(self.params)

    def step(self) -> None:
        """Update every parameter that has a gradient once; all or nothing."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, step count and per-parameter state, as JSON-friendly values."""
        raise NotImplementedError

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what `state_dict()` returned; all or nothing, checked before anything changes."""
        raise NotImplementedError

    def _gradients(self) -> list[float | None]:
        """Every parameter's gradient as a float, or None for one to skip; checked, not applied."""
        grads: list[float | None] = []
        for i, p in enumerate(self.params):
            g = p.grad
            if type(g) is float:  # the common case first: the sweep leaves floats
                grads.append(g)
            elif g is None:
                grads.append(None)
            elif isinstance(g, Value):  # left by backward(create_graph=True): use its number
                grads.append(g.data)
            else:
                label = p.label or "unlabelled"
                where = f"{type(self).__name__}.step() parameter {i} ({label}) gradient"
                grads.append(real(g, where))
        return grads

    def _check_header(
        self, state: object, hyperparameters: Sequence[set[str]]
    ) -> Mapping[str, Any]:
        """The parts every state dict has, checked: type name, step count, keys."""
        where = f"{type(self).__name__}.load_state_dict()"
        if not isinstance(state, Mapping):
            msg = f"{where} needs a mapping, got {type(state).__name__}"
            raise TypeError(msg)
        _keys(state, [_HEADER], where)
        if state["type"] != type(self).__name__:
            msg = f"{where} got the state of a {state['type']!r} optimizer"
            raise ValueError(msg)
        integer(state["step_count"], f"{where} step_count", low=0)
        for key in ("hyperparameters", "state"):
            if not isinstance(state[key], Mapping):
                msg = f"{where} {key} must be a mapping, got {type(state[key]).__name__}"
                raise ValueError(msg)
        _keys(state["hyperparameters"], hyperparameters, f"{where} hyperparameters")
        return state


def _keys(d: Mapping[str, Any], accepted: Sequence[set[str]], where: str) -> None:
    """Refuse a mapping whose keys are not exactly one of the accepted sets (newest first)."""
    if set(d) not in accepted:
        older = "".join(f" (or the older {sorted(keys)})" for keys in accepted[1:])
        msg = f"{where} needs exactly the keys {sorted(accepted[0])}{older}, got {sorted(d)}"
        raise ValueError(msg)


def _lr(x: object, where: str) -> float:
    return real(x, f"{where} lr", finite=True, low=0.0)


def _decay_rate(x: object, where: str) -> float:
    """A decay rate: 0 <= x < 1 (at 1 an average would never forget its start)."""
    return real(x, where, finite=True, low=0.0, high=1.0, high_open=True)


def _sized(x: object, n: int, name: str, where: str) -> list[object] | tuple[object, ...]:
    """x itself, if it is a list (or tuple) of n entries, one per parameter, as in a state."""
    if not isinstance(x, list | tuple) or len(x) != n:
        size = len(x) if isinstance(x, list | tuple) else type(x).__name__
        msg = f"{where} {name} must be a list of {n} numbers, one per parameter, got {size}"
        raise ValueError(msg)
    return x


def _floats(x: object, n: int, name: str, where: str, *, low: float | None = None) -> list[float]:
    """A list of n finite floats (>= low when given), as found in a state dict."""
    entries = _sized(x, n, name, where)
    return [real(v, f"{where} {name}[{i}]", finite=True, low=low) for i, v in enumerate(entries)]


def _lerp(start: float, end: float, weight: float) -> float:
    """start + weight * (end - start), grouped as torch.lerp groups it for each half of weights.

    The same average as (1 - weight) * start + weight * end, with torch's infinities: an
    infinite average that meets a finite gradient becomes NaN (inf - inf), as in torch.
    """
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


def _maximum(a: float, b: float) -> float:
    """The larger of a and b, NaN if either is NaN (torch.maximum; Python's max() is not)."""
    return a if a >= b or a != a else b


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (Nesterov, dampening) and weight decay.

    Per parameter that has a gradient, as in torch.optim.SGD (``b`` starts as that parameter's
    first ``g``, undampened)::

        g = -grad if maximize else grad
        g = g + weight_decay * p
        b = momentum * b + (1 - dampening) * g        (when momentum > 0)
        g = g + momentum * b if nesterov else b
        p = p - lr_t * g,   lr_t = lr * lr_schedule(step_count)

    ``maximize=True`` climbs instead of descending (gradient ascent); ``dampening`` in [0, 1]
    scales down the gradient's share of the momentum buffer (Nesterov needs dampening 0).

    >>> w = Value(1.0)
    >>> opt = SGD([w], lr=0.1)
    >>> (w * w).backward()
    >>> opt.step()
    >>> w.data
    0.8

    Gradient ascent on -(w - 2)**2 walks up to its peak at 2:

    >>> w = Value(0.0)
    >>> opt = SGD([w], lr=0.25, maximize=True)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     (-((w - 2) ** 2)).backward()
    ...     opt.step()
    >>> w.data
    1.75
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        lr_schedule: Schedule | None = None,
        *,
        dampening: float = 0.0,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, lr_schedule)
        where = "SGD()"
        self.momentum, self.dampening, self.nesterov, self.weight_decay, self.maximize = (
            _sgd_hyperparameters(momentum, dampening, nesterov, weight_decay, maximize, where)
        )
        # One buffer per parameter, None until that parameter's first step with a gradient:
        # PyTorch starts each buffer at the first gradient, not at 0.
        self._buffers: list[float | None] = [None] * len(self.params)

    def step(self) -> None:
        """Update every parameter that has a gradient once; all or nothing."""
        lr = self.current_lr()  # may raise: do it before anything changes
        grads = self._gradients()  # may raise too
        momentum, dampening, nesterov = self.momentum, self.dampening, self.nesterov
        weight_decay, maximize = self.weight_decay, self.maximize
        buffers = list(self._buffers)
        moved: list[tuple[Value, float]] = []
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            if g is None:
                continue
            if maximize:
                g = -g
            if weight_decay != 0.0:  # as torch: 0 * p would turn an infinite p into NaN
                g = g + weight_decay * p.data
            if momentum != 0.0:
                b = buffers[i]
                b = g if b is None else momentum * b + (1.0 - dampening) * g
                buffers[i] = b
                g = g + momentum * b if nesterov else b
            moved.append((p, p.data - lr * g))
        # Everything is computed: only now change the parameters and buffers.
        for p, x in moved:
            p.data = x
        self._buffers = buffers
        self.step_count += 1

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, step count and momentum buffers (None for a parameter not yet moved)."""
        return {
            "type": "SGD",
            "step_count": self.step_count,
            "hyperparameters": {
                "lr": self.lr,
                "momentum": self.momentum,
                "dampening": self.dampening,
                "nesterov": self.nesterov,
                "weight_decay": self.weight_decay,
                "maximize": self.maximize,
            },
            "state": {"momentum_buffers": list(self._buffers)},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore hyperparameters, step count and buffers; all or nothing (lr_schedule stays).

        States saved before ``dampening`` and ``maximize`` existed load with their defaults.
        """
        where = "SGD.load_state_dict()"
        accepted = [_SGD_HYPERPARAMETERS, _SGD_HYPERPARAMETERS_V0]
        state = self._check_header(state, accepted)
        hyper = state["hyperparameters"]
        lr = _lr(hyper["lr"], where)
        checked = _sgd_hyperparameters(
            hyper["momentum"],
            hyper.get("dampening", 0.0),
            hyper["nesterov"],
            hyper["weight_decay"],
            hyper.get("maximize", False),
            where,
        )
        inner = state["state"]
        _keys(inner, [{"momentum_buffers"}], f"{where} state")
        raw = inner["momentum_buffers"]
        n = len(self.params)
        # None for the whole list: a state saved before the first step by an older version.
        buffers: list[float | None] = [None] * n
        if raw is not None:
            entries = _sized(raw, n, "momentum_buffers", where)
            buffers = [
                None if b is None else real(b, f"{where} momentum_buffers[{i}]", finite=True)
                for i, b in enumerate(entries)
            ]
        # Everything is checked: only now change the optimizer.
        self.lr = lr
        self.momentum, self.dampening, self.nesterov, self.weight_decay, self.maximize = checked
        self._buffers = buffers
        self.step_count = state["step_count"]


def _sgd_hyperparameters(
    momentum: object,
    dampening: object,
    nesterov: object,
    weight_decay: object,
    maximize: object,
    where: str,
) -> tuple[float, float, bool, float, bool]:
    """SGD's hyperparameters checked: momentum, dampening, nesterov, weight_decay, maximize."""
    checked_momentum = _decay_rate(momentum, f"{where} momentum")
    checked_dampening = real(dampening, f"{where} dampening", finite=True, low=0.0, high=1.0)
    checked_nesterov = flag(nesterov, f"{where} nesterov")
    if checked_nesterov and (checked_momentum == 0.0 or checked_dampening != 0.0):
        msg = (
            f"{where} nesterov=True needs a momentum > 0 and dampening 0, "
            f"got momentum {checked_momentum!r} and dampening {checked_dampening!r}"
        )
        raise ValueError(msg)
    checked_weight_decay = real(weight_decay, f"{where} weight_decay", finite=True, low=0.0)
    checked_maximize = flag(maximize, f"{where} maximize")
    return (
        checked_momentum,
        checked_dampening,
        checked_nesterov,
        checked_weight_decay,
        checked_maximize,
    )


class Adam(Optimizer):
    """Adam, or AdamW with ``decoupled=True``, with AMSGrad and maximize options.

    Per parameter that has a gradient, as in torch.optim.Adam, with t that parameter's own
    step count (1 on its first step with a gradient; a parameter skipped by a None gradient
    does not count the steps it missed)::

        g = -grad if maximize else grad
        g = g + weight_decay * p                      (Adam: decay as an L2 gradient)
        p = p * (1 - lr_t * weight_decay)             (AdamW: decay apart from the gradient)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = max(v_max, v)                         (amsgrad; without it v_max is v)
        p = p - lr_t * (m / (1 - beta1**t)) / (sqrt(v_max / (1 - beta2**t)) + eps)

    with lr_t = lr * lr_schedule(step_count). With ``amsgrad=True`` the denominator uses the
    largest second moment seen so far, so one large gradient keeps later steps short (Reddi et
    al., 2018); ``maximize=True`` climbs instead of descending.

    >>> w = Value(1.0)
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).backward()
    >>> opt.step()
    >>> round(w.data, 6)
    0.9

    After one large gradient, AMSGrad's steps stay shorter than Adam's:

    >>> steps = {}
    >>> for amsgrad in (False, True):
    ...     w = Value(0.0)
    ...     opt = Adam([w], lr=0.1, betas=(0.0, 0.5), amsgrad=amsgrad)
    ...     for g in (10.0, 1.0, 1.0):
    ...         w.grad = g
    ...         opt.step()
    ...     steps[amsgrad] = round(w.data, 4)
    >>> steps
    {False: -0.1428, True: -0.1255}
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
        *,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, lr_schedule)
        where = "Adam()"
        self.betas, self.eps, self.weight_decay, self.decoupled, self.amsgrad, self.maximize = (
            _adam_hyperparameters(betas, eps, weight_decay, decoupled, amsgrad, maximize, where)
        )
        n = len(self.params)
        # Per parameter, as torch keeps them: a parameter skipped by a None gradient keeps its
        # own count for the bias correction (counting once per parameter *per step* is right;
        # once per parameter visited within a step is a known bug of small libraries).
        self._steps = [0] * n
        self._exp_avg = [0.0] * n
        self._exp_avg_sq = [0.0] * n
        self._max_exp_avg_sq = [0.0] * n

    def step(self) -> None:
        """Update every parameter that has a gradient once; all or nothing."""
        lr = self.current_lr()  # may raise: do it before anything changes
        grads = self._gradients()  # may raise too
        beta1, beta2 = self.betas
        eps, weight_decay, decoupled = self.eps, self.weight_decay, self.decoupled
        amsgrad, maximize = self.amsgrad, self.maximize
        steps, exp_avg, exp_avg_sq = list(self._steps), list(self._exp_avg), list(self._exp_avg_sq)
        max_exp_avg_sq = list(self._max_exp_avg_sq)
        moved: list[tuple[Value, float]] = []
        last_t, step_size, correction2_sqrt = 0, 0.0, 0.0
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            if g is None:
                continue
            if maximize:
                g = -g
            t = steps[i] + 1
            steps[i] = t
            if t != last_t:  # usually one t for every parameter: compute the corrections once
                last_t = t
                step_size = lr / (1.0 - beta1**t)
                correction2_sqrt = math.sqrt(1.0 - beta2**t)
            x = p.data
            if weight_decay != 0.0:
                if decoupled:
                    x *= 1.0 - lr * weight_decay
                else:
                    g += weight_decay * x
            m = _lerp(exp_avg[i], g, 1.0 - beta1)  # beta1 * m + (1 - beta1) * g
            v = beta2 * exp_avg_sq[i] + (1.0 - beta2) * g * g  # g * g: g**2 raises on overflow
            exp_avg[i] = m
            exp_avg_sq[i] = v
            if amsgrad:
                v = _maximum(max_exp_avg_sq[i], v)
                max_exp_avg_sq[i] = v
            moved.append((p, x - step_size * (m / (math.sqrt(v) / correction2_sqrt + eps))))
        # Everything is computed: only now change the parameters and the state.
        for p, x in moved:
            p.data = x
        self._steps, self._exp_avg, self._exp_avg_sq = steps, exp_avg, exp_avg_sq
        self._max_exp_avg_sq = max_exp_avg_sq
        self.step_count += 1

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, step count, and per parameter its step count and moment estimates.

        ``max_exp_avg_sq`` (AMSGrad's running maximum) is None when ``amsgrad`` is off.
        """
        return {
            "type": "Adam",
            "step_count": self.step_count,
            "hyperparameters": {
                "lr": self.lr,
                "betas": list(self.betas),
                "eps": self.eps,
                "weight_decay": self.weight_decay,
                "decoupled": self.decoupled,
                "amsgrad": self.amsgrad,
                "maximize": self.maximize,
            },
            "state": {
                "steps": list(self._steps),
                "exp_avg": list(self._exp_avg),
                "exp_avg_sq": list(self._exp_avg_sq),
                "max_exp_avg_sq": list(self._max_exp_avg_sq) if self.amsgrad else None,
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore hyperparameters, step count and moments; all or nothing (lr_schedule stays).

        States saved before ``amsgrad``, ``maximize`` and per-parameter steps existed load with
        the defaults, every parameter having taken every step (as those versions did).
        """
        where = "Adam.load_state_dict()"
        state = self._check_header(state, [_ADAM_HYPERPARAMETERS, _ADAM_HYPERPARAMETERS_V0])
        hyper = state["hyperparameters"]
        lr = _lr(hyper["lr"], where)
        checked = _adam_hyperparameters(
            hyper["betas"],
            hyper["eps"],
            hyper["weight_decay"],
            hyper["decoupled"],
            hyper.get("amsgrad", False),
            hyper.get("maximize", False),
            where,
        )
        inner = state["state"]
        _keys(inner, [_ADAM_STATE, _ADAM_STATE_V0], f"{where} state")
        n = len(self.params)
        step_count: int = state["step_count"]
        raw_steps = _sized(inner.get("steps", [step_count] * n), n, "steps", where)
        # No parameter can have taken more steps than the optimizer.
        steps = [
            integer(s, f"{where} steps[{i}]", low=0, high=step_count)
            for i, s in enumerate(raw_steps)
        ]
        exp_avg = _floats(inner["exp_avg"], n, "exp_avg", where)
        exp_avg_sq = _floats(inner["exp_avg_sq"], n, "exp_avg_sq", where, low=0.0)
        raw_max = inner.get("max_exp_avg_sq")
        max_exp_avg_sq = (
            [0.0] * n if raw_max is None else _floats(raw_max, n, "max_exp_avg_sq", where, low=0.0)
        )
        # Everything is checked: only now change the optimizer.
        self.lr = lr
        self.betas, self.eps, self.weight_decay, self.decoupled, self.amsgrad, self.maximize = (
            checked
        )
        self._steps = steps
        self._exp_avg, self._exp_avg_sq, self._max_exp_avg_sq = exp_avg, exp_avg_sq, max_exp_avg_sq
        self.step_count = step_count


def _adam_hyperparameters(
    betas: object,
    eps: object,
    weight_decay: object,
    decoupled: object,
    amsgrad: object,
    maximize: object,
    where: str,
) -> tuple[tuple[float, float], float, float, bool, bool, bool]:
    """Adam's hyperparameters checked: betas, eps, weight_decay, decoupled, amsgrad, maximize."""
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        msg = f"{where} betas must be a pair (beta1, beta2), got {shown(betas)}"
        raise ValueError(msg)
    checked_betas = (
        _decay_rate(betas[0], f"{where} betas[0]"),
        _decay_rate(betas[1], f"{where} betas[1]"),
    )
    # eps = 0 would divide 0 by 0 for a parameter whose gradients have all been 0.
    checked_eps = real(eps, f"{where} eps", finite=True, low=0.0, low_open=True)
    checked_weight_decay = real(weight_decay, f"{where} weight_decay", finite=True, low=0.0)
    return (
        checked_betas,
        checked_eps,
        checked_weight_decay,
        flag(decoupled, f"{where} decoupled"),
        flag(amsgrad, f"{where} amsgrad"),
        flag(maximize, f"{where} maximize"),
    )
