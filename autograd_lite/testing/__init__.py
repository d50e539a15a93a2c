"""Gradient checks for users and for our own tests: `gradcheck` and `gradgradcheck`.

Both compare the engine's derivatives of a scalar function with central finite differences and
report, input by input, the numbers that disagree. This module needs nothing beyond the engine;
the hypothesis strategies live in `autograd_lite.testing.strategies` (the `testing` extra).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Sequence

from autograd_lite.engine import Value, no_grad
from autograd_lite.functional import hessian, value_and_grad

__all__ = [
    "CI_PROFILE",
    "DEV_PROFILE",
    "GradcheckError",
    "gradcheck",
    "gradgradcheck",
    "settings_profile",
]

Scalar = float | int
Function = Callable[..., Value | Scalar]

CI_PROFILE = "autograd_lite-ci"
DEV_PROFILE = "autograd_lite-dev"
# Examples per test on a developer's machine: quick, and CI covers the full default.
DEV_EXAMPLES = 50


class GradcheckError(AssertionError):
    """The engine's derivatives disagree with finite differences (an AssertionError for pytest)."""


def _as_floats(inputs: Sequence[Value | Scalar], where: str) -> list[float]:
    """The inputs as plain floats: a check must never differentiate the caller's own Values."""
    if len(inputs) == 0:
        msg = f"{where} needs at least one input, got none"
        raise ValueError(msg)
    points: list[float] = []
    for i, x in enumerate(inputs):
        number = x.data if isinstance(x, Value) else x
        if not isinstance(number, numbers.Real):
            msg = f"{where} needs real numbers or Values, got {type(x).__name__} {x!r} at input {i}"
            raise TypeError(msg)
        if not math.isfinite(number):
            msg = f"{where} needs finite inputs, got {number!r} at input {i}"
            raise ValueError(msg)
        points.append(float(number))
    return points


def _check_step(eps: float, where: str) -> None:
    if not (math.isfinite(eps) and eps > 0.0):
        msg = f"{where} needs a positive, finite step eps, got {eps!r}"
        raise ValueError(msg)


def _evaluate(f: Function, point: Sequence[float], moved: int, where: str) -> float:
    """f at a point as a float, with no graph recorded (finite differences need no gradients)."""
    try:
        with no_grad():
            out = f(*[Value(x) for x in point])
    except (ArithmeticError, ValueError) as error:
        error.add_note(
            f"{where}: raised while evaluating f with input {moved} moved to {point[moved]!r} "
            "for finite differences; f must be defined within eps of the point"
        )
        raise
    return out.data if isinstance(out, Value) else float(out)


def _gradient(f: Function, point: Sequence[float]) -> list[float]:
    """The engine's gradient of f at point, as floats, touching no one's .grad."""
    _, grads = value_and_grad(f, argnums=tuple(range(len(point))))(*point)
    return [float(g) for g in grads]


def _central_difference(
    f: Function, point: Sequence[float], i: int, eps: float, where: str
) -> float:
    """(f(x + eps e_i) - f(x - eps e_i)) / (2 eps), evaluated without recording a graph."""
    up = list(point)
    down = list(point)
    up[i] += eps
    down[i] -= eps
    # Divide by the step actually taken: x + eps and x - eps are rounded to floats.
    return (_evaluate(f, up, i, where) - _evaluate(f, down, i, where)) / (up[i] - down[i])


def _gradient_difference(
    f: Function, point: Sequence[float], j: int, eps: float, where: str
) -> list[float]:
    """(grad f(x + eps e_j) - grad f(x - eps e_j)) / (2 eps): one column of the Hessian."""
    up = list(point)
    down = list(point)
    up[j] += eps
    down[j] -= eps
    try:
        above = _gradient(f, up)
        below = _gradient(f, down)
    except (ArithmeticError, ValueError) as error:
        error.add_note(
            f"{where}: raised while evaluating the gradient with input {j} moved by {eps!r} "
            "for finite differences; f must be defined within eps of the point"
        )
        raise
    step = up[j] - down[j]
    return [(a - b) / step for a, b in zip(above, below, strict=True)]


def _within(analytic: float, numeric: float, atol: float, rtol: float) -> tuple[float, float, bool]:
    """The difference, the allowed tolerance, and whether the pair passes (NaN never passes)."""
    difference = abs(analytic - numeric)
    allowed = atol + rtol * abs(numeric)
    return difference, allowed, difference <= allowed


def _report(title: str, lines: list[str]) -> str:
    return "\n".join([title, *lines])


def gradcheck(
    f: Function,
    inputs: Sequence[Value | Scalar],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check the engine's gradient of a scalar function against central finite differences.

    ``f`` takes one Value per input and returns a scalar Value. For each input ``x_i`` the
    numeric slope is ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``; the check passes when
    ``|analytic - numeric| <= atol + rtol * |numeric|`` for every input. ``f`` runs on fresh
    Values made from the inputs' numbers, and any gradient f's graph held before is restored,
    so the caller's Values keep the ``.grad`` they had.

    Kinks: at a point where f is not differentiable (``relu`` or ``abs`` at 0) the engine
    returns a subgradient (0 for both) while central differences return the average of the two
    one-sided slopes (0.5 for ``relu``), and within ``eps`` of a kink the differences straddle
    it. Check such functions away from their kinks.

    Raises:
        GradcheckError: on a mismatch (unless ``raise_exception=False``, which returns False),
            with one line per input: its value, analytic, numeric, difference and allowed.

    >>> from autograd_lite.testing import gradcheck
    >>> gradcheck(lambda x, y: (x * y).tanh(), [0.5, -1.5])
    True
    """
    where = "gradcheck()"
    _check_step(eps, where)
    point = _as_floats(inputs, where)
    analytic = _gradient(f, point)
    lines = []
    failures = 0
    for i, x in enumerate(point):
        numeric = _central_difference(f, point, i, eps, where)
        difference, allowed, ok = _within(analytic[i], numeric, atol, rtol)
        failures += not ok
        lines.append(
            f"  input {i}: value={x!r} analytic={analytic[i]!r} numeric={numeric!r} "
            f"difference={difference:.3g} allowed={allowed:.3g}{'' if ok else '  <-- MISMATCH'}"
        )
    if failures == 0:
        return True
    if raise_exception:
        title = (
            f"{where}: the engine's gradient disagrees with central differences "
            f"(eps={eps:g}, atol={atol:g}, rtol={rtol:g}) for {failures} of {len(point)} inputs:"
        )
        raise GradcheckError(_report(title, lines))
    return False


def gradgradcheck(
    f: Function,
    inputs: Sequence[Value | Scalar],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check the engine's second derivatives against finite differences of its gradient.

    The analytic Hessian comes from ``autograd_lite.hessian`` (a backward sweep with
    ``create_graph=True``, differentiated again); column j of the numeric one is
    ``(grad f(x + eps e_j) - grad f(x - eps e_j)) / (2 eps)``. Every entry must satisfy
    ``|analytic - numeric| <= atol + rtol * |numeric|``. Kinks as in :func:`gradcheck`.

    Raises:
        GradcheckError: on a mismatch (unless ``raise_exception=False``), with the point and
            one line per entry d2f/dxi dxj: analytic, numeric, difference and allowed.

    >>> from autograd_lite.testing import gradgradcheck
    >>> gradgradcheck(lambda x, y: x.sin() * y ** 3, [0.5, -1.5])
    True
    """
    where = "gradgradcheck()"
    _check_step(eps, where)
    point = _as_floats(inputs, where)
    analytic = hessian(f)(*point)
    n = len(point)
    lines = []
    failures = 0
    columns = [_gradient_difference(f, point, j, eps, where) for j in range(n)]
    for i in range(n):
        for j in range(n):
            numeric = columns[j][i]
            difference, allowed, ok = _within(analytic[i][j], numeric, atol, rtol)
            failures += not ok
            lines.append(
                f"  d2f/dx{i}dx{j}: analytic={analytic[i][j]!r} numeric={numeric!r} "
                f"difference={difference:.3g} allowed={allowed:.3g}"
                f"{'' if ok else '  <-- MISMATCH'}"
            )
    if failures == 0:
        return True
    if raise_exception:
        title = (
            f"{where}: the engine's second derivatives at {point!r} disagree with differences "
            f"of its gradient (eps={eps:g}, atol={atol:g}, rtol={rtol:g}) for {failures} of "
            f"{n * n} entries:"
        )
        raise GradcheckError(_report(title, lines))
    return False


def settings_profile(*, ci: bool | None = None) -> str:
    """Register autograd_lite's hypothesis profiles and return the name that fits this run.

    ``"autograd_lite-ci"`` (chosen when the ``CI`` environment variable is set) extends
    hypothesis's own ``"ci"`` profile: derandomized, no deadline, no example database.
    ``"autograd_lite-dev"`` is for a developer's machine: random, no deadline (oracle checks in
    high precision are slow on a busy machine), a modest number of examples, and no example
    database either, so that a failure is never replayed run after run: it is reproduced on
    purpose, with ``pytest --hypothesis-seed=N`` or the ``@reproduce_failure`` blob it prints.
    Load it yourself; nothing here loads itself into pytest::

        from hypothesis import settings
        settings.load_profile(settings_profile())

    Needs hypothesis 6.116 or later (the first with a ``"ci"`` profile to extend).
    """
    # Imported here: gradcheck and gradgradcheck must work without hypothesis installed.
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        CI_PROFILE,
        parent=settings.get_profile("ci"),
        derandomize=True,
        deadline=None,
        database=None,
    )
    settings.register_profile(
        DEV_PROFILE,
        # An explicit parent: otherwise it would inherit whatever profile is loaded right now.
        parent=settings.get_profile("default"),
        deadline=None,
        max_examples=DEV_EXAMPLES,
        # The local database replays every failure it ever saw until .hypothesis/ is deleted.
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    if ci is None:
        ci = bool(os.environ.get("CI"))
    return CI_PROFILE if ci else DEV_PROFILE
