"""Tests of autograd_lite.losses: values and gradients against closed forms and mpmath.

The oracle is each loss written out in mpmath at 50 digits, and mpmath's numerical derivative
of it: neither uses the engine. Logits go out to ±1e4, where a naive formula overflows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_lite import Value, topological_order
from autograd_lite.losses import bce_with_logits, cross_entropy, hinge, l2_penalty, mse
from autograd_lite.rules import OPERATIONS

DIGITS = 50
EXTREME = [1e4, -1e4, 800.0, -800.0, 40.0, -40.0, 0.0, 1e-8]


def _grads(loss: Value, xs: Sequence[Value]) -> list[float]:
    for x in xs:
        x.grad = 0.0
    loss.backward()
    return [float(x.grad) for x in xs]


def _close(
    got: float, exact: mpmath.mpf, what: str, *, rel: float = 1e-12, scale: float = 0.0
) -> None:
    """got equals the exact value to rel, relative to |exact| or to the given error scale."""
    tolerance = rel * max(abs(float(exact)), scale) + 1e-300
    assert abs(got - float(exact)) <= tolerance, (
        f"{what}: got {got!r}, exact {mpmath.nstr(exact, 20)}"
    )


def _close_to_numeric(got: float, numeric: mpmath.mpf, what: str, scale: float = 0.0) -> None:
    """got equals mpmath's numerical derivative, whose own absolute error is about 1e-30."""
    _close(got, numeric, what, rel=1e-10, scale=max(scale, 1e-20))


def _partial(f: Callable[[list[mpmath.mpf]], mpmath.mpf], xs: list[float], i: int) -> mpmath.mpf:
    """d f / d xs[i] by mpmath's numerical differentiation at 50 digits."""

    def along(t: mpmath.mpf) -> mpmath.mpf:
        point = [mpmath.mpf(x) for x in xs]
        point[i] = t
        return f(point)

    return mpmath.diff(along, mpmath.mpf(xs[i]))


def _built_from_engine_ops(loss: Value) -> bool:
    """Every node is a leaf, a constant or a built-in engine operation: no calculus of our own."""
    return all(
        node.op in OPERATIONS or node.op in ("", "const") for node in topological_order(loss)
    )


finite = st.floats(-100.0, 100.0, allow_nan=False)
logit = st.floats(-1e4, 1e4, allow_nan=False)


# ---------------------------------------------------------------------------------------------
# Mean squared error
# ---------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=6))
def test_mse_value_and_gradient(pairs: list[tuple[float, float]]) -> None:
    """mean (p - t)**2; d/dp_i = 2 (p_i - t_i) / n, and mpmath's derivative agrees."""
    ps, ts = [p for p, _ in pairs], [t for _, t in pairs]
    xs = [Value(p) for p in ps]
    loss = mse(xs, ts)
    grads = _grads(loss, xs)
    n = len(ps)
    with mpmath.workdps(DIGITS):

        def exact(point: list[mpmath.mpf]) -> mpmath.mpf:
            return mpmath.fsum((p - t) ** 2 for p, t in zip(point, ts, strict=True)) / n

        # Squares are summed without cancellation, the differences are one rounding each.
        _close(loss.data, exact([mpmath.mpf(p) for p in ps]), "mse", rel=1e-13)
        for i, (p, t) in enumerate(pairs):
            closed = 2 * (mpmath.mpf(p) - t) / n
            _close(grads[i], closed, f"d/dp{i}", scale=abs(2 * (p - t) / n))
            _close_to_numeric(grads[i], _partial(exact, ps, i), f"mpmath d/dp{i}")
    assert _built_from_engine_ops(loss)


def test_mse_takes_a_single_value_and_checks_lengths() -> None:
    """One prediction with one target works; mismatched or empty lists are errors."""
    x = Value(3.0)
    loss = mse(x, 1.0)
    loss.backward()
    assert (loss.data, x.grad) == (4.0, 4.0)
    with pytest.raises(ValueError, match=r"mse\(\) needs as many targets as outputs.*2.*1"):
        mse([Value(1.0), Value(2.0)], [1.0])
    with pytest.raises(ValueError, match="at least one output"):
        mse([], [])
    with pytest.raises(TypeError, match=r"mse\(\) targets must be numbers, not Values"):
        mse([Value(1.0)], [Value(1.0)])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"mse\(\) needs Values or real numbers, got str"):
        mse(["a"], [1.0])  # type: ignore[list-item]


# ---------------------------------------------------------------------------------------------
# Hinge
# ---------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-5, 5, allow_nan=False), st.sampled_from([-1, 1])),
        min_size=1,
        max_size=6,
    ).filter(lambda pairs: all(abs(1 - y * s) > 1e-6 for s, y in pairs))
)
def test_hinge_value_and_gradient(pairs: list[tuple[float, int]]) -> None:
    """mean relu(1 - y s); d/ds_i = -y_i / n inside the margin, else 0 (off the kink)."""
    ss, ys = [s for s, _ in pairs], [y for _, y in pairs]
    xs = [Value(s) for s in ss]
    loss = hinge(xs, ys)
    grads = _grads(loss, xs)
    n = len(ss)
    with mpmath.workdps(DIGITS):

        def exact(point: list[mpmath.mpf]) -> mpmath.mpf:
            return mpmath.fsum(max(1 - y * s, 0) for s, y in zip(point, ys, strict=True)) / n

        _close(loss.data, exact([mpmath.mpf(s) for s in ss]), "hinge", rel=1e-13)
        for i, (s, y) in enumerate(pairs):
            closed = -y / n if 1 - y * s > 0 else 0.0
            assert grads[i] == pytest.approx(closed, rel=1e-15)
            _close_to_numeric(grads[i], _partial(exact, ss, i), f"mpmath d/ds{i}")
    assert _built_from_engine_ops(loss)


def test_hinge_needs_labels_of_plus_or_minus_one() -> None:
    """A 0/1 label is a mistake worth naming (use datasets.signed_labels)."""
    with pytest.raises(ValueError, match=r"hinge\(\) needs labels -1 or \+1, got 0.0 at index 1"):
        hinge([Value(1.0), Value(2.0)], [1, 0])


# ---------------------------------------------------------------------------------------------
# Binary cross-entropy on logits
# ---------------------------------------------------------------------------------------------


def _bce_exact(point: list[mpmath.mpf], ts: list[float]) -> mpmath.mpf:
    # -t log σ(z) - (1 - t) log(1 - σ(z)), with -log σ(z) = log(1 + e^-z): 1 - σ(1e4) would
    # need 4,343 digits to be told apart from 0.
    terms = []
    for z, t in zip(point, ts, strict=True):
        terms.append(t * mpmath.log1p(mpmath.exp(-z)) + (1 - t) * mpmath.log1p(mpmath.exp(z)))
    return mpmath.fsum(terms) / len(ts)


def _check_bce(zs: list[float], ts: list[float]) -> None:
    xs = [Value(z) for z in zs]
    loss = bce_with_logits(xs, ts)
    grads = _grads(loss, xs)
    n = len(zs)
    with mpmath.workdps(DIGITS):
        _close(loss.data, _bce_exact([mpmath.mpf(z) for z in zs], ts), f"bce{zs, ts}")
        for i, (z, t) in enumerate(zip(zs, ts, strict=True)):
            # σ(z) - t, as (1 - t) σ(z) - t σ(-z): σ(z) - 1 would cancel 40 digits at z = 90.
            sig, sig_neg = 1 / (1 + mpmath.exp(-mpmath.mpf(z))), 1 / (1 + mpmath.exp(z))
            closed = ((1 - t) * sig - t * sig_neg) / n
            # Soft targets subtract two terms: the error is relative to their size.
            scale = float(((1 - t) * sig + t * sig_neg) / n)
            _close(grads[i], closed, f"d/dz{i} at {z}, t={t}", scale=scale)
            numeric = _partial(lambda p: _bce_exact(p, ts), zs, i)
            _close_to_numeric(grads[i], numeric, f"mpmath d/dz{i} at {z}", scale)
    assert _built_from_engine_ops(loss)


@pytest.mark.parametrize("z", EXTREME)
@pytest.mark.parametrize("t", [0.0, 1.0, 0.25])
def test_bce_with_logits_at_extreme_logits(z: float, t: float) -> None:
    """No overflow at ±1e4, and value and gradient keep their relative precision."""
    _check_bce([z], [t])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(logit, st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0, 1))),
        min_size=1,
        max_size=5,
    )
)
def test_bce_with_logits_value_and_gradient(pairs: list[tuple[float, float]]) -> None:
    """mean of the textbook BCE of sigmoid(z); d/dz_i = (sigmoid(z_i) - t_i) / n."""
    _check_bce([z for z, _ in pairs], [t for _, t in pairs])


def test_bce_with_logits_checks_targets() -> None:
    """Targets outside [0, 1] are named."""
    with pytest.raises(ValueError, match=r"targets in \[0, 1\], got -1.0 at index 0"):
        bce_with_logits([Value(0.0)], [-1])


# ---------------------------------------------------------------------------------------------
# Softmax cross-entropy
# ---------------------------------------------------------------------------------------------


def _cross_entropy_exact(point: list[mpmath.mpf], target: int) -> mpmath.mpf:
    # log sum e^z - z_t, rearranged so that 50 digits suffice: with m the largest logit (at k),
    # it is log1p(sum over i != k of e^(z_i - m)) + (m - z_t). Plain, it cancels: a loss of
    # e^-20000 would need 8,700 digits.
    k = max(range(len(point)), key=lambda i: point[i])
    m = point[k]
    rest = mpmath.fsum(mpmath.exp(z - m) for i, z in enumerate(point) if i != k)
    return mpmath.log1p(rest) + (m - point[target])


@settings(max_examples=20, deadline=None)
@given(st.data())
def test_the_cross_entropy_oracle_is_the_plain_formula(data: st.DataObject) -> None:
    """The rearranged oracle equals log sum exp(z) - z_target computed at 300 digits."""
    zs = data.draw(st.lists(st.floats(-50, 50), min_size=1, max_size=5))
    target = data.draw(st.integers(0, len(zs) - 1))
    with mpmath.workdps(300):
        point = [mpmath.mpf(z) for z in zs]
        plain = mpmath.log(mpmath.fsum(mpmath.exp(z) for z in point)) - point[target]
    with mpmath.workdps(DIGITS):
        oracle = _cross_entropy_exact([mpmath.mpf(z) for z in zs], target)
        assert abs(oracle - plain) <= mpmath.mpf(10) ** (10 - DIGITS) * (1 + abs(plain))


def _check_cross_entropy(zs: list[float], target: int) -> None:
    xs = [Value(z) for z in zs]
    loss = cross_entropy(xs, target)
    grads = _grads(loss, xs)
    with mpmath.workdps(DIGITS):
        point = [mpmath.mpf(z) for z in zs]
        _close(loss.data, _cross_entropy_exact(point, target), f"cross_entropy{zs, target}")
        m = max(point)
        total = mpmath.fsum(mpmath.exp(z - m) for z in point)
        for i in range(len(zs)):
            closed = mpmath.exp(point[i] - m) / total - (1 if i == target else 0)
            # softmax - 1 at the target loses digits below 1 ulp of 1.0: an absolute floor.
            _close(grads[i], closed, f"d/dz{i}", scale=1e-3)
            numeric = _partial(lambda p: _cross_entropy_exact(p, target), zs, i)
            _close_to_numeric(grads[i], numeric, f"mpmath d/dz{i}", scale=1e-3)
    assert _built_from_engine_ops(loss)


@pytest.mark.parametrize(
    ("zs", "target"),
    [
        ([1e4, -1e4], 0),
        ([1e4, -1e4], 1),
        ([-1e4, 1e4, 0.0], 0),
        ([-1e4, 1e4, 0.0], 2),
        ([1e4, 1e4], 1),
        ([-1e4, -1e4, -1e4], 2),
        ([40.0, 0.0], 0),  # a loss of 4e-18: log1p keeps it
        ([1.0, 2.0, 3.0], 2),
        ([7.5], 0),  # one class: loss 0, gradient 0
    ],
)
def test_cross_entropy_at_extreme_logits(zs: list[float], target: int) -> None:
    """No overflow at ±1e4; value and gradient match log-sum-exp and softmax - onehot."""
    _check_cross_entropy(zs, target)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_cross_entropy_value_and_gradient(data: st.DataObject) -> None:
    """log sum exp(z) - z_target, for random logits in [-1e4, 1e4]."""
    zs = data.draw(st.lists(st.one_of(logit, st.floats(-5, 5)), min_size=1, max_size=6))
    target = data.draw(st.integers(0, len(zs) - 1))
    _check_cross_entropy(zs, target)


def test_cross_entropy_bad_arguments() -> None:
    """Empty logits, a target out of range or not an int, and NaN logits are named."""
    with pytest.raises(ValueError, match="at least one logit"):
        cross_entropy([], 0)
    with pytest.raises(ValueError, match="target 2 is out of range for 2 logits"):
        cross_entropy([Value(0.0), Value(1.0)], 2)
    with pytest.raises(TypeError, match="needs an int target class or a sequence of class "):
        cross_entropy([Value(0.0), Value(1.0)], True)
    with pytest.raises(ValueError, match="needs finite logits"):
        cross_entropy([Value(0.0), Value(math.nan)], 0)
    with pytest.raises(TypeError, match="needs a sequence of logits"):
        cross_entropy(Value(1.0), 0)  # type: ignore[arg-type]


def _soft_cross_entropy_exact(point: list[mpmath.mpf], target: Sequence[mpmath.mpf]) -> mpmath.mpf:
    """-sum t_k log softmax(z)_k = sum t_k (log sum e^z - z_k), each term by the oracle above."""
    return mpmath.fsum(t * _cross_entropy_exact(point, k) for k, t in enumerate(target))


probability = st.floats(0.0, 1.0)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_cross_entropy_with_class_probabilities(data: st.DataObject) -> None:
    """-sum t_k log softmax(z)_k: value, d/dz = softmax * sum(t) - t, d/dt_k = -log softmax_k."""
    zs = data.draw(st.lists(st.one_of(logit, st.floats(-5, 5)), min_size=1, max_size=6))
    ts = data.draw(st.lists(probability, min_size=len(zs), max_size=len(zs)))
    xs, targets = [Value(z) for z in zs], [Value(t) for t in ts]
    loss = cross_entropy(xs, targets)
    grads = _grads(loss, [*xs, *targets])
    with mpmath.workdps(DIGITS):
        point, weights = [mpmath.mpf(z) for z in zs], [mpmath.mpf(t) for t in ts]
        exact = _soft_cross_entropy_exact(point, weights)
        scale = mpmath.fsum(abs(t * _cross_entropy_exact(point, k)) for k, t in enumerate(ts))
        # Each term is rounded once, then they are added: an error relative to their sizes.
        _close(loss.data, exact, f"cross_entropy{zs, ts}", scale=float(scale))
        m = max(point)
        total = mpmath.fsum(mpmath.exp(z - m) for z in point)
        for i in range(len(zs)):
            closed = mpmath.exp(point[i] - m) / total * mpmath.fsum(weights) - weights[i]
            _close(grads[i], closed, f"d/dz{i}", rel=1e-11, scale=len(zs) * 1e-3)
        for k in range(len(ts)):
            _close(grads[len(zs) + k], _cross_entropy_exact(point, k), f"d/dt{k}", scale=1e-3)
    assert _built_from_engine_ops(loss)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_one_hot_target_gives_the_int_targets_bits(data: st.DataObject) -> None:
    """One-hot floats give the class index's loss and gradients, bit for bit: the zero classes
    add only zeros."""
    zs = data.draw(st.lists(st.one_of(logit, st.floats(-5, 5)), min_size=1, max_size=6))
    target = data.draw(st.integers(0, len(zs) - 1))
    by_index, by_vector = [Value(z) for z in zs], [Value(z) for z in zs]
    one_hot = [1.0 if k == target else 0.0 for k in range(len(zs))]
    a, b = cross_entropy(by_index, target), cross_entropy(by_vector, one_hot)
    assert math.copysign(1.0, a.data) == math.copysign(1.0, b.data) and a.data == b.data
    assert _grads(a, by_index) == _grads(b, by_vector)


def test_cross_entropy_bad_probabilities() -> None:
    """A probability vector of the wrong length, a non-number in it, or a NaN is named."""
    zs = [Value(0.0), Value(1.0)]
    with pytest.raises(ValueError, match="one target probability per logit: 3 for 2"):
        cross_entropy(zs, [0.0, 0.5, 0.5])
    with pytest.raises(TypeError, match="real numbers or Values, got str: 'x' at index 1"):
        cross_entropy(zs, [0.0, "x"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="real numbers or Values, got bool: True at index 0"):
        cross_entropy(zs, [True, 0.0])
    with pytest.raises(ValueError, match="target probability 1 must be finite, got nan"):
        cross_entropy(zs, [0.0, Value(math.nan)])
    with pytest.raises(TypeError, match=r"or a sequence of class probabilities, got float: 1\.0"):
        cross_entropy(zs, 1.0)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# L2 penalty
# ---------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.lists(finite, min_size=1, max_size=8), st.floats(0, 10))
def test_l2_penalty_value_and_gradient(ps: list[float], lam: float) -> None:
    """lam * sum p**2 as one dot node; d/dp = 2 lam p."""
    xs = [Value(p) for p in ps]
    penalty = l2_penalty(xs, lam)
    grads = _grads(penalty, xs)
    with mpmath.workdps(DIGITS):
        _close(penalty.data, lam * mpmath.fsum(mpmath.mpf(p) ** 2 for p in ps), "l2", rel=1e-13)
    for g, p in zip(grads, ps, strict=True):
        assert g == pytest.approx(2 * lam * p, rel=1e-15, abs=1e-300)
    assert "dot" in [node.op for node in topological_order(penalty)]
    assert _built_from_engine_ops(penalty)


def test_l2_penalty_checks_lam_and_params() -> None:
    """A negative or non-finite lam, or a non-Value parameter, is named."""
    with pytest.raises(ValueError, match=r"l2_penalty\(\) lam must be >= 0.0, got -1.0"):
        l2_penalty([Value(1.0)], -1)
    with pytest.raises(ValueError, match=r"lam must be finite, got inf"):
        l2_penalty([Value(1.0)], math.inf)
    with pytest.raises(TypeError, match=r"lam must be a real number, got str"):
        l2_penalty([Value(1.0)], "0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs Values"):
        l2_penalty([1.0], 0.1)  # type: ignore[list-item]
    assert l2_penalty([], 0.5).data == 0.0
