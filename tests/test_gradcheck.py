"""`autograd_lite.testing.gradcheck`: it passes correct gradients and catches wrong ones.

Wrong derivatives are planted with `autograd_lite.primitive` (a wrong sign, a missing factor);
the error must show the numbers a user needs to see. Also: no gradients left behind, the
documented behaviour at kinks, bad arguments, and the core working without hypothesis.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_lite as al
from autograd_lite import Value, primitive
from autograd_lite.rules import Math, Num, RuleResult
from autograd_lite.testing import (
    CI_PROFILE,
    DEV_PROFILE,
    GradcheckError,
    gradcheck,
    settings_profile,
)
from autograd_lite.testing.strategies import OPS, Case, arguments, cases


@primitive
def wrong_sign_tanh(m: Math, x: Num) -> RuleResult:
    """tanh with the sign of its derivative flipped."""
    out = m.tanh(x)
    return out, (-(1.0 - out * out),)


@primitive
def sin_of_double(m: Math, x: Num) -> RuleResult:
    """sin(2x) whose derivative forgets the chain rule's factor 2."""
    return m.sin(2.0 * x), (m.cos(2.0 * x),)


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=25)
@given(data=st.data())
def test_gradcheck_passes_every_op(name: str, data: st.DataObject) -> None:
    """Every built-in op passes gradcheck inside its domain."""
    inputs, consts = data.draw(arguments(name), label="inputs, consts")
    spec = OPS[name]
    assert gradcheck(lambda *xs: spec.on_values(*xs, *consts), inputs)


@settings(max_examples=60)
@given(case=cases(shared=True, max_steps=10))
def test_gradcheck_passes_random_expressions(case: Case) -> None:
    """Random DAGs over every op pass gradcheck at points their strategies draw."""
    assert gradcheck(case.expr, case.inputs)


def _numbers(message: str, line: int) -> dict[str, float]:
    """The name=number pairs on one line of a GradcheckError message."""
    text = message.splitlines()[line]
    return {k: float(v) for k, v in re.findall(r"(\w+)=(-?[\d.e+-]+|inf|nan)", text)}


def test_gradcheck_catches_a_wrong_sign_and_shows_the_numbers() -> None:
    """A flipped sign fails, with the input, the engine's and the true slope on its line."""
    x, y = 0.5, 2.0
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda a, b: wrong_sign_tanh(a) * b, [x, y])
    message = str(caught.value)
    assert message.startswith("gradcheck(): the engine's gradient disagrees")
    assert "for 1 of 2 inputs" in message
    first, second = _numbers(message, 1), _numbers(message, 2)
    slope = (1 - math.tanh(x) ** 2) * y
    assert first["value"] == x
    assert first["analytic"] == pytest.approx(-slope, rel=1e-12)
    assert first["numeric"] == pytest.approx(slope, rel=1e-6)
    assert first["difference"] == pytest.approx(2 * slope, rel=1e-2)
    assert first["allowed"] == pytest.approx(1e-5 + 1e-3 * slope, rel=1e-2)
    assert message.splitlines()[1].endswith("MISMATCH")
    assert second["value"] == y
    assert not message.splitlines()[2].endswith("MISMATCH")


def test_gradcheck_catches_a_missing_factor() -> None:
    """A derivative missing the chain rule's factor 2 is off by half, and says so."""
    x = 0.3
    assert not gradcheck(sin_of_double, [x], raise_exception=False)
    with pytest.raises(GradcheckError) as caught:
        gradcheck(sin_of_double, [x])
    numbers = _numbers(str(caught.value), 1)
    assert numbers["analytic"] == pytest.approx(math.cos(2 * x), rel=1e-12)
    assert numbers["numeric"] == pytest.approx(2 * math.cos(2 * x), rel=1e-6)


@settings(max_examples=40)
@given(x=st.floats(-3.0, 3.0).filter(lambda x: abs(x) > 0.05))
def test_gradcheck_catches_the_wrong_sign_wherever_the_slope_is_not_tiny(x: float) -> None:
    """The planted bug is caught at every point where tanh's slope exceeds the tolerance."""
    assert not gradcheck(wrong_sign_tanh, [x], raise_exception=False)


def test_gradcheck_is_an_assertion_error() -> None:
    """pytest reports a failed gradcheck as a test failure, not an error."""
    assert issubclass(GradcheckError, AssertionError)


def test_gradcheck_leaves_no_gradients_behind() -> None:
    """The caller's inputs and the parameters f closes over keep their .grad."""
    x = Value(0.5)
    x.grad = 7.0
    w = Value(-1.5)

    def f(a: Value) -> Value:
        return (a * w).tanh()

    assert gradcheck(f, [x])
    assert x.grad == 7.0
    assert w.grad == 0.0
    assert gradcheck(lambda a, b: a * b, [x, w])
    assert (x.grad, w.grad) == (7.0, 0.0)


def test_gradcheck_accepts_numbers_and_constant_functions() -> None:
    """Ints and Values are inputs too; a function that ignores its input has slope 0."""
    assert gradcheck(lambda a: a * a, [3])
    assert gradcheck(lambda a, b: a + 1.0, [Value(1.0), 2.0])
    assert gradcheck(lambda a: 5.0, [1.0])


def test_gradcheck_at_kinks_follows_the_documentation() -> None:
    """At relu's kink the engine's subgradient 0 differs from the differences' 0.5; abs agrees."""
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda a: a.relu(), [0.0])
    numbers = _numbers(str(caught.value), 1)
    assert (numbers["analytic"], numbers["numeric"]) == (0.0, 0.5)
    assert gradcheck(lambda a: abs(a), [0.0])  # subgradient 0 and symmetric differences agree
    assert gradcheck(lambda a: a.relu(), [1e-3])  # away from the kink by more than eps


def test_gradcheck_reports_a_domain_error_near_the_edge() -> None:
    """A function undefined within eps of the point fails with a note saying why."""
    with pytest.raises(ValueError, match="sqrt") as caught:
        gradcheck(lambda a: a.sqrt(), [0.0])
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "gradcheck(): raised while evaluating f with input 0 moved to" in notes


@pytest.mark.parametrize(
    ("inputs", "kwargs", "error", "pattern"),
    [
        ([], {}, ValueError, r"gradcheck\(\) needs at least one input"),
        ([math.nan], {}, ValueError, r"gradcheck\(\) needs finite inputs, got nan"),
        ([math.inf], {}, ValueError, r"gradcheck\(\) needs finite inputs, got inf"),
        (["1.0"], {}, TypeError, r"needs real numbers or Values, got str .1.0. at input 0"),
        ([1.0], {"eps": 0.0}, ValueError, r"gradcheck\(\) needs a positive, finite step"),
        ([1.0], {"eps": -1e-6}, ValueError, r"gradcheck\(\) needs a positive, finite step"),
    ],
)
def test_gradcheck_rejects_bad_arguments(
    inputs: list[object], kwargs: dict[str, float], error: type[Exception], pattern: str
) -> None:
    """Bad inputs raise an error that names gradcheck() and shows the value."""
    with pytest.raises(error, match=pattern):
        gradcheck(lambda *xs: al.sum(xs), inputs, **kwargs)  # type: ignore[arg-type]


def test_gradcheck_works_without_hypothesis() -> None:
    """The core imports neither hypothesis nor mpmath: users need no extra to call it."""
    code = (
        "import sys\n"
        "sys.modules['hypothesis'] = None\n"
        "sys.modules['mpmath'] = None\n"
        "from autograd_lite.testing import gradcheck, gradgradcheck\n"
        "print(gradcheck(lambda x: x.tanh(), [0.5]), gradgradcheck(lambda x: x.sin(), [0.5]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True True"


def test_settings_profiles_extend_hypothesis_ci_profile() -> None:
    """The CI profile keeps hypothesis's ci settings, derandomized with no deadline."""
    from hypothesis import settings as hypothesis_settings

    assert settings_profile(ci=True) == CI_PROFILE
    assert settings_profile(ci=False) == DEV_PROFILE
    ci = hypothesis_settings.get_profile(CI_PROFILE)
    parent = hypothesis_settings.get_profile("ci")
    assert ci.derandomize and ci.deadline is None and ci.database is None
    assert ci.print_blob == parent.print_blob
    assert ci.suppress_health_check == parent.suppress_health_check
    assert hypothesis_settings.get_profile(DEV_PROFILE).deadline is None
