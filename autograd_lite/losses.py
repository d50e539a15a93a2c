"""Loss functions built from engine operations: MSE, hinge, BCE on logits, cross-entropy, L2.

Each returns one `Value` made of ordinary engine nodes, so its gradient comes from the engine's
backward sweep: no calculus here. `mse`, `hinge` and `bce_with_logits` take one output and one
target, or two equally long lists (then they average). The logit losses never overflow or
cancel for any finite logit (tested at ±1e4).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from autograd_lite import _checks
from autograd_lite.engine import Value, dot, log_softmax
from autograd_lite.engine import sum as value_sum

__all__ = ["bce_with_logits", "cross_entropy", "hinge", "l2_penalty", "mse"]

Input = Value | float


def _as_value(x: object, where: str, i: int) -> Value:
    if isinstance(x, Value):
        return x
    if not _checks.is_number(x):
        msg = f"{where} needs Values or real numbers, got {_checks.shown(x)} at index {i}"
        raise TypeError(msg)
    return Value(_checks.real(x, f"{where} output {i}"))


def _as_float(x: object, where: str, i: int) -> float:
    if isinstance(x, Value):
        msg = f"{where} targets must be numbers, not Values (index {i}): use .data"
        raise TypeError(msg)
    if not _checks.is_number(x):
        msg = f"{where} targets must be real numbers, got {_checks.shown(x)} at index {i}"
        raise TypeError(msg)
    return _checks.real(x, f"{where} target {i}")


def _pairs(
    outputs: Input | Sequence[Input], targets: float | Sequence[float], where: str
) -> tuple[list[Value], list[float]]:
    """Outputs as Values and targets as floats, one each or two lists of the same length."""
    xs: object = [outputs] if isinstance(outputs, Value | numbers.Real) else outputs
    ts: object = [targets] if isinstance(targets, numbers.Real) else targets
    if isinstance(xs, str | bytes) or not isinstance(xs, Sequence):
        msg = f"{where} needs a Value or a sequence of them, got {type(outputs).__name__}"
        raise TypeError(msg)
    if isinstance(ts, str | bytes) or not isinstance(ts, Sequence):
        msg = (
            f"{where} needs a number or a sequence of numbers as targets, "
            f"got {type(targets).__name__}"
        )
        raise TypeError(msg)
    if len(xs) != len(ts):
        msg = (
            f"{where} needs as many targets as outputs, got {len(xs)} outputs and {len(ts)} targets"
        )
        raise ValueError(msg)
    if not xs:
        msg = f"{where} needs at least one output (the mean of nothing is undefined)"
        raise ValueError(msg)
    values = [_as_value(x, where, i) for i, x in enumerate(xs)]
    floats = [_as_float(t, where, i) for i, t in enumerate(ts)]
    return values, floats


def mse(preds: Input | Sequence[Input], targets: float | Sequence[float]) -> Value:
    """Mean squared error, mean of (pred - target)**2, for one prediction or a list of them.

    >>> mse([Value(1.0), Value(3.0)], [0.0, 1.0]).data
    2.5
    """
    values, floats = _pairs(preds, targets, "mse()")
    errors = [v - t for v, t in zip(values, floats)]
    # dot(e, e): one node for the sum of squares; each error has two edges into it.
    return dot(errors, errors) / len(errors)


def hinge(scores: Input | Sequence[Input], labels: float | Sequence[float]) -> Value:
    """Mean hinge (max-margin) loss, mean of relu(1 - y*s), for labels y of -1 or +1.

    >>> hinge([Value(2.0), Value(0.5)], [1, -1]).data
    0.75
    """
    values, ys = _pairs(scores, labels, "hinge()")
    margins: list[Value] = []
    for i, (s, y) in enumerate(zip(values, ys)):
        # 1 - y*s written without a multiplication node: y is exactly +1 or -1.
        if y == 1.0:
            margins.append((1.0 - s).relu())
        elif y == -1.0:
            margins.append((1.0 + s).relu())
        else:
            msg = f"hinge() needs labels -1 or +1, got {y!r} at index {i}"
            raise ValueError(msg)
    return value_sum(margins) / len(margins)


def bce_with_logits(logits: Input | Sequence[Input], targets: float | Sequence[float]) -> Value:
    """Mean binary cross-entropy of sigmoid(logit) against targets in [0, 1], stable for any logit.

    The loss of one logit z with target t is ``-t log σ(z) - (1-t) log(1 - σ(z))``, computed as
    ``t softplus(-z) + (1-t) softplus(z)``: both terms are non-negative, so nothing cancels,
    and softplus never overflows. Targets may be soft (any value in [0, 1]).

    >>> round(bce_with_logits(Value(0.0), 1.0).data, 6)
    0.693147
    """
    values, floats = _pairs(logits, targets, "bce_with_logits()")
    terms: list[Value] = []
    for i, (z, t) in enumerate(zip(values, floats)):
        if not 0.0 <= t <= 1.0:
            msg = f"bce_with_logits() needs targets in [0, 1], got {t!r} at index {i}"
            raise ValueError(msg)
        # The hard labels get one node each, and a tiny loss keeps its relative precision.
        if t == 1.0:
            terms.append((-z).softplus())
        elif t == 0.0:
            terms.append(z.softplus())
        else:
            terms.append(t * (-z).softplus() + (1.0 - t) * z.softplus())
    return value_sum(terms) / len(terms)


def cross_entropy(logits: Sequence[Input], target: int | Sequence[Input]) -> Value:
    """Softmax cross-entropy of one example, against a class index or class probabilities.

    With an int ``target``: ``-log softmax(logits)[target]``, one `log_softmax` node, negated.
    Its float function computes ``log1p(sum over i != k of exp(z_i - m)) + (m - z_target)``
    with ``m`` the largest logit (at ``k``): every exponent is <= 0, so nothing overflows, and
    a tiny loss keeps its digits. Its local derivatives are ``softmax - onehot``.

    With a sequence ``target`` of one number per logit (a one-hot vector, or smoothed labels),
    as PyTorch's ``cross_entropy`` takes class probabilities: ``-sum over k of target[k] *
    log softmax(logits)[k]``, one `log_softmax` node per class. The numbers may be Values: a
    function given to `autograd_lite.compile` receives its arguments as Values while it is
    traced, and an int label is a constant of the trace (a batch with other labels is traced
    anew), where one-hot floats passed as an argument are data that every replay reads.

    For a batch, average the per-example losses (``autograd_lite.sum(losses) / n``).

    >>> round(cross_entropy([Value(1.0), Value(2.0), Value(3.0)], 2).data, 6)
    0.407606
    >>> round(cross_entropy([Value(1.0), Value(2.0), Value(3.0)], [0.0, 0.0, 1.0]).data, 6)
    0.407606
    """
    if isinstance(logits, Value | numbers.Real | str | bytes) or not isinstance(logits, Sequence):
        msg = f"cross_entropy() needs a sequence of logits, got {type(logits).__name__}"
        raise TypeError(msg)
    if not logits:
        msg = "cross_entropy() needs at least one logit"
        raise ValueError(msg)
    probabilities = _probabilities(target, len(logits))
    index = -1
    if probabilities is None:
        if isinstance(target, bool) or not isinstance(target, numbers.Integral):
            msg = (
                "cross_entropy() needs an int target class or a sequence of class "
                f"probabilities, got {_checks.shown(target)}"
            )
            raise TypeError(msg)
        index = int(target)
        if not 0 <= index < len(logits):
            msg = f"cross_entropy() target {index} is out of range for {len(logits)} logits"
            raise ValueError(msg)
    zs = [_as_value(z, "cross_entropy()", i) for i, z in enumerate(logits)]
    datas = [z.data for z in zs]
    if not all(math.isfinite(x) for x in datas):
        msg = f"cross_entropy() needs finite logits, got {datas!r}"
        raise ValueError(msg)
    # One log_softmax node per class used: its float function shifts by the largest logit
    # inside, so that a trace or a compiled replay never bakes in the shift of the data it
    # first saw.
    if probabilities is None:
        return -log_softmax(zs, index)
    # Every class, also those whose probability is 0 now: skipping them would be a branch on
    # the data, which a trace would bake in (the next batch's one-hot vectors differ).
    return -value_sum([t * log_softmax(zs, k) for k, t in enumerate(probabilities)])


def _probabilities(target: object, n: int) -> list[Input] | None:
    """A probability target checked against n logits; None for anything that is not a sequence."""
    if isinstance(target, str | bytes) or not isinstance(target, Sequence):
        return None
    if len(target) != n:
        msg = f"cross_entropy() needs one target probability per logit: {len(target)} for {n}"
        raise ValueError(msg)
    checked: list[Input] = []
    for k, t in enumerate(target):
        if isinstance(t, Value):
            number = t.data
        elif _checks.is_number(t):
            number = t = _checks.real(t, f"cross_entropy() target probability {k}")
        else:
            msg = (
                "cross_entropy() target probabilities must be real numbers or Values, "
                f"got {_checks.shown(t)} at index {k}"
            )
            raise TypeError(msg)
        if not math.isfinite(number):
            msg = f"cross_entropy() target probability {k} must be finite, got {number!r}"
            raise ValueError(msg)
        checked.append(t)
    return checked


def l2_penalty(params: Sequence[Value], lam: float) -> Value:
    """The weight-decay term lam * sum(p**2) over the parameters, as one dot node.

    >>> l2_penalty([Value(1.0), Value(-2.0)], 0.5).data
    2.5
    """
    lam = _checks.real(lam, "l2_penalty() lam", finite=True, low=0.0)
    ps = list(params)
    for i, p in enumerate(ps):
        if not isinstance(p, Value):
            msg = f"l2_penalty() needs Values (parameters), got {type(p).__name__} at index {i}"
            raise TypeError(msg)
    return dot(ps, ps) * lam
