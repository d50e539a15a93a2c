"""Every demo runs in its fast mode, and what it claims is checked.

Each demo's `main()` returns what it measured; these tests assert the claims its printout makes
(accuracy reached, gradients agree, pictures written), and check the claims that rest on our
engine against oracles that do not (finite differences, closed forms). The docs page's code
and quoted source are checked against the real thing, so they cannot go stale.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMOS = REPO / "demos"
sys.path.insert(0, str(DEMOS))  # the demos are scripts, not a package: import them as such

import _common  # noqa: E402
import backprop_by_hand  # noqa: E402
import digits  # noqa: E402
import forward_vs_reverse  # noqa: E402
import mazur  # noqa: E402
import momentum  # noqa: E402
import moons  # noqa: E402
import newton  # noqa: E402
import paths  # noqa: E402
import regression  # noqa: E402
import single_neuron  # noqa: E402

import autograd_lite as ag  # noqa: E402
from autograd_lite import grad  # noqa: E402
from autograd_lite.losses import cross_entropy  # noqa: E402
from autograd_lite.nn import MLP  # noqa: E402
from autograd_lite.optim import Adam  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Demos whose SVG pictures are drawn in Python (the sweep pages' frames), not by Graphviz.
SVG_WITHOUT_DOT = frozenset({"forward_vs_reverse", "paths"})


def fast(out: Path) -> list[str]:
    """The command line of a fast run writing into out."""
    return ["--fast", "--out", str(out)]


DEMO_MODULES: dict[str, Any] = {
    "backprop_by_hand": backprop_by_hand,
    "digits": digits,
    "forward_vs_reverse": forward_vs_reverse,
    "mazur": mazur,
    "momentum": momentum,
    "moons": moons,
    "newton": newton,
    "paths": paths,
    "regression": regression,
    "single_neuron": single_neuron,
}


@dataclass(frozen=True)
class Run:
    """One fast run of a demo: what main() returned, what it printed, where it drew."""

    result: Any
    printed: str
    out: Path


_RUNS: dict[str, Run] = {}


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Run]:
    """Each demo run once, fast, for every test that asks about it (the demos are seeded)."""

    def run(name: str) -> Run:
        if name not in _RUNS:
            out = tmp_path_factory.mktemp(name)
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                result = DEMO_MODULES[name].main(fast(out))
            _RUNS[name] = Run(result, printed.getvalue(), out)
        return _RUNS[name]

    return run


def assert_pictures(paths: list[Path], out: Path) -> None:
    """Every picture lies in out, is non-empty, and is the format its name says."""
    assert paths, "the demo wrote no pictures"
    for path in paths:
        assert path.parent == out, path
        data = path.read_bytes()
        assert len(data) > 1000, f"{path} has only {len(data)} bytes"
        if path.suffix == ".png":
            assert data.startswith(PNG_MAGIC), path
        elif path.suffix == ".svg":
            assert b"<svg" in data[:2000], path
        else:
            pytest.fail(f"unexpected picture format: {path}")


# ---------------------------------------------------------------------------------------------
# The demos
# ---------------------------------------------------------------------------------------------


@pytest.mark.dot
def test_moons_reaches_full_training_accuracy(runs: Callable[[str], Run]) -> None:
    """The README's main job: MLP(2, [16, 16, 1]) classifies every training point."""
    ran = runs("moons")
    result, tmp_path = ran.result, ran.out
    assert result.accuracy == 1.0
    assert result.first_perfect_step is not None
    assert result.last_loss < result.first_loss / 10
    assert result.parameters == 337
    assert [p.name for p in result.pictures] == ["decision_boundary.png", "loss.png", "neuron.svg"]
    assert_pictures(result.pictures, tmp_path)
    svg = (tmp_path / "neuron.svg").read_text()
    assert "relu" in svg and "w·x + b" in svg
    # Trained compiled (its numbers are graph mode's: the docs' numbers are checked below),
    # and it says what compiling saved.
    said = " ".join(ran.printed.split())
    assert re.search(r"Compiled training: 100 steps in [\d.]+ s\. The first call recorded", said)
    assert re.search(r"took [\d.]+ ms, where the forward and backward pass alone take", said)


def test_backprop_by_hand_agrees_with_the_engine(runs: Callable[[str], Run]) -> None:
    """The layer-wise algorithm and backward() give the same gradients, and learn in lockstep."""
    ran = runs("backprop_by_hand")
    result, tmp_path = ran.result, ran.out
    assert result.max_gradient_difference < 1e-14
    assert result.max_weight_difference < 1e-12
    assert result.last_cost < result.first_cost / 2
    assert result.parameters == 4 * 4 + 2 * 5
    assert_pictures(result.pictures, tmp_path)


def test_backprop_by_hand_matches_finite_differences() -> None:
    """The hand-written gradients against central differences of the hand-written cost."""
    import random

    thetas, xs, ys = backprop_by_hand.make_problem(random.Random(backprop_by_hand.SEED))
    analytic = backprop_by_hand.gradients_by_hand(thetas, xs, ys)
    h = 1e-6
    for layer, theta in enumerate(thetas):
        for j, row in enumerate(theta):
            for i, original in enumerate(row):
                row[i] = original + h
                up = backprop_by_hand.cost_by_hand(thetas, xs, ys)
                row[i] = original - h
                down = backprop_by_hand.cost_by_hand(thetas, xs, ys)
                row[i] = original
                numeric = (up - down) / (2 * h)
                assert math.isclose(analytic[layer][j][i], numeric, abs_tol=1e-8), (
                    f"Θ({layer + 1})[{j},{i}]: analytic {analytic[layer][j][i]!r}, "
                    f"numeric {numeric!r}"
                )


def test_backprop_by_hand_deltas_are_the_pre_activation_gradients(
    runs: Callable[[str], Run],
) -> None:
    """Layer by layer, d(l) by hand equals the engine's gradient at each z(l) node (one example's
    cost), and in the batch cost those nodes hold d/m."""
    result = runs("backprop_by_hand").result
    assert result.max_delta_difference < 1e-14
    assert result.max_batch_delta_difference < 1e-14
    hand, engine = result.first_deltas
    assert [len(d) for d in hand] == [len(d) for d in engine] == [4, 2]
    assert hand == [pytest.approx(e, abs=1e-15) for e in engine]


def test_backprop_by_hand_deltas_match_finite_differences() -> None:
    """d(2) and d(3) of one example against central differences of its cost with respect to
    the pre-activations z(2), z(3), computed on plain floats (no engine)."""
    import random

    thetas, xs, ys = backprop_by_hand.make_problem(random.Random(backprop_by_hand.SEED))
    x, y = xs[0], ys[0]
    g = backprop_by_hand.g
    a1 = [1.0, *x]
    z2 = backprop_by_hand.matvec(thetas[0], a1)

    def cost_from_z2(z: list[float]) -> float:
        a2 = [1.0, *(g(v) for v in z)]
        return cost_from_z3(backprop_by_hand.matvec(thetas[1], a2))

    def cost_from_z3(z: list[float]) -> float:
        h = [g(v) for v in z]
        return -sum(yk * math.log(hk) + (1 - yk) * math.log(1 - hk) for hk, yk in zip(h, y))

    a2 = [1.0, *(g(v) for v in z2)]
    z3 = backprop_by_hand.matvec(thetas[1], a2)
    d2, d3 = backprop_by_hand.deltas_by_hand(thetas, backprop_by_hand.forward_by_hand(thetas, x), y)
    h = 1e-6
    for z, d, cost in ((z2, d2, cost_from_z2), (z3, d3, cost_from_z3)):
        for j in range(len(z)):
            up = [v + (h if i == j else 0.0) for i, v in enumerate(z)]
            down = [v - (h if i == j else 0.0) for i, v in enumerate(z)]
            numeric = (cost(up) - cost(down)) / (2 * h)
            assert d[j] == pytest.approx(numeric, abs=1e-8)


def mazur_by_hand(updates: int) -> tuple[list[float], list[float], list[float], float, float]:
    """Mazur's network on plain floats, with his formulas (an oracle that is not the engine):
    the errors after 0..updates updates, the first gradients, the weights after one update, and
    the final outputs."""
    w = [mazur.START[f"w{k}"] for k in range(1, 9)]
    i1, i2 = mazur.INPUTS
    t1, t2 = mazur.TARGETS
    errors: list[float] = []
    first: list[float] = []
    after_one: list[float] = []

    def sigma(z: float) -> float:
        return 1.0 / (1.0 + math.exp(-z))

    for k in range(updates + 1):
        h1 = sigma(w[0] * i1 + w[1] * i2 + mazur.B1)
        h2 = sigma(w[2] * i1 + w[3] * i2 + mazur.B1)
        o1 = sigma(w[4] * h1 + w[5] * h2 + mazur.B2)
        o2 = sigma(w[6] * h1 + w[7] * h2 + mazur.B2)
        errors.append(0.5 * (t1 - o1) ** 2 + 0.5 * (t2 - o2) ** 2)
        if k == updates:
            return errors, first, after_one, o1, o2
        d1, d2 = (o1 - t1) * o1 * (1 - o1), (o2 - t2) * o2 * (1 - o2)
        e1 = (d1 * w[4] + d2 * w[6]) * h1 * (1 - h1)
        e2 = (d1 * w[5] + d2 * w[7]) * h2 * (1 - h2)
        grads = [e1 * i1, e1 * i2, e2 * i1, e2 * i2, d1 * h1, d1 * h2, d2 * h1, d2 * h2]
        if k == 0:
            first = [d1, grads[4], d1 * w[4] + d2 * w[6], grads[0]]
        w = [wi - mazur.LEARNING_RATE * gi for wi, gi in zip(w, grads, strict=True)]
        if k == 0:
            after_one = list(w)
    raise AssertionError("unreachable")


@pytest.mark.dot
def test_mazur_reproduces_the_published_numbers(runs: Callable[[str], Run]) -> None:
    """Every number the demo prints is the hand-written float computation's, and it says which
    published numbers it reproduces (all but two) and how far the other two are."""
    ran = runs("mazur")
    result, tmp_path, printed = ran.result, ran.out, ran.printed
    errors, first, after_one, o1, o2 = mazur_by_hand(mazur.UPDATES)
    assert len(result.errors) == mazur.UPDATES + 1
    assert result.errors == pytest.approx(errors, rel=1e-12)
    assert list(result.backward.values()) == pytest.approx(first, rel=1e-12)
    assert list(result.updated.values()) == pytest.approx(after_one, rel=1e-12)
    assert result.final_outputs == pytest.approx((o1, o2), rel=1e-12)
    assert result.deltas_match_grads

    def row(name: str, published: str, ours: float) -> str:
        places = len(published.split(".")[1])
        line = f"{published:>13}  {ours:>20.12g}  equal to all {places} published decimals"
        assert line in printed, line
        return line

    row("E_total", "0.298371109", errors[0])
    for (name, published), ours in zip(mazur.PUBLISHED_BACKWARD.items(), first, strict=True):
        row(name, published, ours)
    for (name, published), ours in zip(mazur.PUBLISHED_UPDATED.items(), after_one, strict=True):
        row(name, published, ours)
    assert f"{after_one[4]:>20.12g}".strip() in printed  # w5 = 0.358916479718
    assert round(after_one[4], 8) == 0.35891648
    # The two published numbers the engine does not reproduce, and by how much.
    assert abs(errors[1] - 0.291027924) == pytest.approx(1.5e-7, abs=0.05e-7)
    assert f"engine {errors[1]:.12g} (differ by 1.5e-07)" in printed
    assert round(errors[mazur.UPDATES - 1], 10) == 0.0000351085  # after 9,999 updates
    assert round(errors[mazur.UPDATES], 10) != 0.0000351085
    assert f"engine {errors[mazur.UPDATES]:.6e}" in printed
    assert f"After 9,999 updates the engine's error is {errors[mazur.UPDATES - 1]:.6e}" in printed
    assert "equal to all 10 published decimals" in printed
    assert [p.name for p in result.pictures] == ["network.svg", "error.png"]
    assert_pictures(result.pictures, tmp_path)


def test_digits_learns_and_fails_on_inverted_digits(runs: Callable[[str], Run]) -> None:
    """Held-out accuracy far above chance; inverted digits fail unless trained on."""
    ran = runs("digits")
    result, tmp_path = ran.result, ran.out
    # Fast mode trains on 480 images for 60 steps; the full run reaches >= 95% (see report).
    assert result.test_accuracy >= 0.7
    assert result.inverted_accuracy <= 0.25
    assert result.augmented_inverted_accuracy >= 0.5
    assert result.augmented_accuracy >= 0.5
    assert result.augmented_inverted_accuracy > result.inverted_accuracy + 0.3
    total = sum(map(sum, result.confusion))
    assert total == result.test_size == 359
    right = sum(result.confusion[d][d] for d in range(10))
    assert right / total == pytest.approx(result.test_accuracy)
    assert_pictures(result.pictures, tmp_path)
    # Trained compiled, and it says what compiling saved.
    training = result.training
    assert training.steps == 2 * 30  # fast: 480 images in batches of 16, 2 epochs
    assert 0.0 < training.first_call < training.seconds and training.graph_mode > 0.0
    said = " ".join(ran.printed.split())
    assert f"Compiled training: {training.steps} steps in {training.seconds:.1f} s" in said
    assert re.search(r"took [\d.]+ ms, where one batch's forward and backward pass alone", said)


def test_digits_trains_compiled_as_in_graph_mode_with_int_labels() -> None:
    """The demo's compiled training, one-hot labels, moves every weight exactly as graph mode
    with int labels does: the same losses and weights, bit for bit."""
    train_set = digits.load(fast=True)[0][:96]
    compiled, by_hand = (
        MLP(64, [digits.HIDDEN, 10], activation=digits.ACTIVATION, returns=list, seed=0)
        for _ in range(2)
    )
    with contextlib.redirect_stderr(io.StringIO()):  # the progress bars
        losses = digits.train(compiled, train_set, 2, 16, desc="compiled").epoch_losses
    params = by_hand.parameters()
    total = 2 * len(train_set) // 16
    optimizer = Adam(params, lr=digits.LEARNING_RATE, lr_schedule=lambda k: 1.0 - 0.9 * k / total)
    rng = random.Random(digits.SEED)
    order = list(train_set)
    expected = []
    for _ in range(2):
        rng.shuffle(order)
        running = 0.0
        for start in range(0, len(order), 16):
            batch = order[start : start + 16]
            per = [cross_entropy(by_hand(image), label) for image, label in batch]
            loss = ag.sum(per) / len(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running += loss.data * len(batch)
        expected.append(running / len(order))
    assert losses == expected
    assert [p.data for p in compiled.parameters()] == [p.data for p in params]


def test_momentum_rule_is_sgd_and_beats_plain_descent(runs: Callable[[str], Run]) -> None:
    """The one-line rule equals optim.SGD; momentum converges first; too large a rate diverges."""
    ran = runs("momentum")
    result, tmp_path = ran.result, ran.out
    assert result.rule_vs_sgd < 1e-12
    plain, same, tuned, adam = result.steps.values()
    assert same is not None and tuned is not None
    assert plain is None or plain > 2 * same
    assert tuned < same
    assert result.diverged
    assert adam is None or adam > tuned
    assert [p.name for p in result.pictures] == ["optimizers.png", "rules.png"]
    assert_pictures(result.pictures, tmp_path)


def test_momentum_zigzag_is_what_the_text_says(runs: Callable[[str], Run]) -> None:
    """At one learning rate momentum zigzags narrower; the tuned heavy ball swings wider first,
    then shrinks by about √momentum per step; the printed numbers are the measured ones."""
    ran = runs("momentum")
    result, printed = ran.result, ran.printed
    plain, same, tuned = (result.swings[name] for name in list(result.swings)[:3])
    # The first step of momentum is a plain step (the velocity starts at 0).
    assert same[1] == pytest.approx(plain[1], rel=1e-12)
    for k in (5, 10, 20, 40):
        assert abs(same[k]) < abs(plain[k]) / 3, k
    assert abs(tuned[1]) > abs(plain[1]) * 1.5
    shrink = list(result.shrink.values())
    assert shrink[0] > 0.9  # plain descent: |1 − lr·curvature|
    assert shrink[1] == pytest.approx(math.sqrt(momentum.SAME_LR_MOMENTUM), abs=0.02)
    assert shrink[2] == pytest.approx(math.sqrt(result.momentum), abs=0.05)
    # The zigzag really is one: across the valley plain descent changes sign at every step.
    assert all(a * b < 0 for a, b in itertools.pairwise(plain[:30]))
    assert f"after 10 steps\nit is {abs(same[10]):.2g}" in printed
    assert f"plain descent {abs(plain[10]):.2g}" in printed


def test_momentum_rule_from_qa_diverges_and_heavy_ball_converges(
    runs: Callable[[str], Run],
) -> None:
    """`weight += main * alpha * momentum` diverges; adding with the raw gradient too; heavy ball
    converges (and is the same rule as optim.SGD, checked above)."""
    result = runs("momentum").result
    qa, raw, heavy = result.rules_diverged
    assert result.rules_diverged[qa] is not None
    assert result.rules_diverged[raw] is not None
    assert result.rules_diverged[heavy] is None and result.rules[heavy] is not None


def test_momentum_qa_rule_by_hand() -> None:
    """The Q&A rule's steps, on a 1-D bowl E = w²/2 by hand: 0 first, then −lr·α·g·g_previous."""
    assert momentum.qa_step(0.1, 0.5, 3.0, 0.0, 0.0) == 0.0
    assert momentum.qa_step(0.1, 0.5, 3.0, 2.0, 0.0) == pytest.approx(-0.3)
    assert momentum.qa_step(0.1, 0.5, -3.0, -2.0, 0.0) == pytest.approx(-0.3)  # uphill here
    assert momentum.heavy_ball_step(0.1, 0.5, 3.0, 9.0, -1.0) == pytest.approx(-0.8)
    assert momentum.raw_gradient_step(0.1, 0.5, 3.0, 2.0, 9.0) == pytest.approx(0.7)


def test_momentum_minimum_is_where_the_gradient_vanishes() -> None:
    """The closed-form least-squares answer is a stationary point of the engine's loss."""
    problem = momentum.make_problem()
    loss_grad = grad(lambda a, b: momentum.loss_of(problem, a, b), argnums=(0, 1))
    ga, gb = loss_grad(*problem.best)
    assert abs(ga) < 1e-12 and abs(gb) < 1e-12
    low, high = problem.curvatures
    assert 0 < low < high


def test_newton_converges_in_a_handful_of_steps(runs: Callable[[str], Run]) -> None:
    """Newton's method needs a few iterations where gradient descent needs thousands."""
    ran = runs("newton")
    result, tmp_path = ran.result, ran.out
    assert result.newton_1d_steps <= 8
    assert result.descent_1d_steps > 3 * result.newton_1d_steps
    assert result.newton_steps <= 10
    assert result.descent_steps > 100 * result.newton_steps
    assert result.hessian_asymmetry < 1e-12
    assert result.hessian_vs_differences < 1e-7
    assert result.hvp_vs_product < 1e-12
    assert len(result.eigenvalues) == 9
    assert [p.name for p in result.pictures] == ["convergence.png", "mlp_hessian.png"]
    assert_pictures(result.pictures, tmp_path)


def test_newton_hessian_of_rosenbrock_matches_the_closed_form() -> None:
    """hessian() at a point of Rosenbrock's function against its hand-derived Hessian."""
    from autograd_lite import hessian

    x, y = -1.2, 1.0
    expected = [[2 - 400 * (y - x * x) + 800 * x * x, -400 * x], [-400 * x, 200.0]]
    got = hessian(newton.rosenbrock)(x, y)
    for row, want in zip(got, expected, strict=True):
        assert row == pytest.approx(want, rel=1e-12)


def test_newton_solve_solves() -> None:
    """The demo's small linear solver, on a system that needs a row swap, and a singular one."""
    a = [[0.0, 2.0, 1.0], [1.0, 1.0, 0.0], [2.0, 0.0, 3.0]]
    assert newton.solve(a, [7.0, 3.0, 11.0]) == pytest.approx([1.0, 2.0, 3.0])
    with pytest.raises(ZeroDivisionError, match="column"):
        newton.solve([[1.0, 2.0], [2.0, 4.0]], [1.0, 2.0])


def test_regression_fit_improves(runs: Callable[[str], Run]) -> None:
    """The fit's error falls several-fold, on the samples and against the true curve."""
    ran = runs("regression")
    result, tmp_path = ran.result, ran.out
    assert result.last_loss < result.first_loss / 5
    assert result.true_error < 0.1
    assert_pictures(result.pictures, tmp_path)


@pytest.mark.dot
def test_single_neuron_delta_rule_is_the_gradient(runs: Callable[[str], Run]) -> None:
    """∂E/∂w from backward() equals −(t − o)·x, and both updates follow the same path."""
    ran = runs("single_neuron")
    result, tmp_path = ran.result, ran.out
    x1, x2, t = single_neuron.TUPLES[0]
    o = single_neuron.START[0] * x1 + single_neuron.START[1] * x2
    assert result.first_gradients == pytest.approx((-(t - o) * x1, -(t - o) * x2), abs=1e-15)
    assert result.first_gradients == result.first_by_hand
    assert result.max_update_difference <= 1e-12
    assert result.final_weights == pytest.approx((2.0, -3.0), abs=0.05)
    assert_pictures(result.pictures, tmp_path)
    # Graphviz writes a minus sign in SVG text as &#45;.
    before = (tmp_path / "before_backward.svg").read_text().replace("&#45;", "-")
    after = (tmp_path / "after_backward.svg").read_text().replace("&#45;", "-")
    assert "grad -2.445" not in before and "grad 0<" in before
    assert "grad -2.445" in after and "grad -0.652" in after


def test_single_neuron_numbers_can_be_told_apart() -> None:
    """In the first example no two numbers a learner traces by hand coincide (in size), and
    none is one of the structural constants ½, 1 or 2."""
    x1, x2, t = single_neuron.TUPLES[0]
    w1, w2 = single_neuron.START
    o = w1 * x1 + w2 * x2
    numbers = {
        "x1": x1,
        "x2": x2,
        "t": t,
        "w1": w1,
        "w2": w2,
        "η": single_neuron.ETA,
        "w1·x1": w1 * x1,
        "w2·x2": w2 * x2,
        "o": o,
        "t − o": t - o,
        "(t − o)²": (t - o) ** 2,
        "E": 0.5 * (t - o) ** 2,
        "2(t − o)": 2 * (t - o),
        "∂E/∂w1": -(t - o) * x1,
        "∂E/∂w2": -(t - o) * x2,
        "∂E/∂x1": -(t - o) * w1,
        "∂E/∂x2": -(t - o) * w2,
    }
    sizes = {name: round(abs(x), 9) for name, x in numbers.items()}
    for name, size in sizes.items():
        assert size not in (0.0, 0.5, 1.0, 2.0), name
        same = [other for other, s in sizes.items() if s == size and other != name]
        assert not same, f"{name} = {numbers[name]} coincides with {same}"
    # Every tuple follows t = 2·x1 − 3·x2 exactly, so the weights to find are (2, −3).
    for a, b, target in single_neuron.TUPLES:
        assert target == pytest.approx(2 * a - 3 * b, abs=1e-12)


def test_a_demo_runs_as_a_script_quietly(tmp_path: Path) -> None:
    """`python demos/newton.py` works from any folder, AUTOGRAD_LITE_FAST=1 selects fast mode,
    and its progress bar stays out of captured output."""
    env = {**os.environ, "AUTOGRAD_LITE_FAST": "1"}
    done = subprocess.run(
        [sys.executable, str(DEMOS / "newton.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    # tqdm draws with carriage returns and reports a rate; neither may reach a pipe.
    assert "\r" not in done.stderr and "it/s" not in done.stderr, done.stderr
    assert "not there after 3000 iterations" in done.stdout  # the fast mode's descent limit
    assert (tmp_path / "convergence.png").stat().st_size > 1000


# ---------------------------------------------------------------------------------------------
# The shared helpers
# ---------------------------------------------------------------------------------------------


def test_fast_mode_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """AUTOGRAD_LITE_FAST=1 means fast; unset or 0 means full; --out creates the folder."""
    out = tmp_path / "a" / "b"
    monkeypatch.setenv("AUTOGRAD_LITE_FAST", "1")
    assert _common.parse_options("x", "", ["--out", str(out)]).fast
    assert out.is_dir()
    monkeypatch.setenv("AUTOGRAD_LITE_FAST", "0")
    assert not _common.parse_options("x", "", ["--out", str(out)]).fast
    monkeypatch.delenv("AUTOGRAD_LITE_FAST")
    options = _common.parse_options("x", "", ["--out", str(out)])
    assert not options.fast and options.out == out


def test_missing_dependency_names_the_demos_extra() -> None:
    """A missing optional package stops the demo with how to install it, not a traceback."""
    with pytest.raises(SystemExit, match=re.escape("`demos` extra")) as caught:
        _common.require("no_such_package_for_autograd_lite", "testing")
    assert "no_such_package_for_autograd_lite" in str(caught.value)
    assert "pip install" in str(caught.value)


# ---------------------------------------------------------------------------------------------
# The docs
# ---------------------------------------------------------------------------------------------

DOC = REPO / "docs" / "how-backprop-works.md"
README = REPO / "README.md"
TOOL = "make_docs_pictures.py"  # in demos/, but it makes the docs' pictures: not a demo


def python_blocks(path: Path) -> list[str]:
    """The ```python code blocks of a Markdown file."""
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL)


def test_doc_example_prints_what_it_says(capsys: pytest.CaptureFixture[str]) -> None:
    """The worked example in how-backprop-works.md runs and prints the numbers in its comment."""
    runnable = [b for b in python_blocks(DOC) if "print(" in b and "def " not in b]
    assert len(runnable) == 1
    block = runnable[0]
    exec(compile(block, str(DOC), "exec"), {})
    printed = capsys.readouterr().out.strip()
    promised = re.search(r"print\(.*\)\s*# (.*)", block)
    assert promised is not None
    assert printed == promised.group(1).strip()


def test_doc_quotes_the_source_verbatim() -> None:
    """Every function the page quotes is the function in the engine, as it is today."""
    source = (REPO / "autograd_lite" / "engine.py").read_text()
    source += (REPO / "autograd_lite" / "rules.py").read_text()
    quoted = [b for b in python_blocks(DOC) if b.startswith("def ")]
    assert len(quoted) >= 2
    for block in quoted:
        for function in re.split(r"\n\n+(?=def )", block.strip()):
            assert function in source, f"the docs quote a function that changed:\n{function}"


def test_doc_names_functions_that_exist() -> None:
    """The engine functions the page points readers to are still there, under those names."""
    engine = (REPO / "autograd_lite" / "engine.py").read_text()
    named = set(re.findall(r"`(_[a-z_]+)`", DOC.read_text()))
    assert {"_sweep", "_node", "_depth_first_order"} <= named
    for name in named:
        assert f"def {name}(" in engine, name


DEMO_SCRIPTS = sorted(
    p.name for p in DEMOS.glob("*.py") if not p.name.startswith("_") and p.name != TOOL
)


def docs_table() -> dict[str, list[str]]:
    """The docs page's table of demos: each script and the pictures the table says it draws."""
    rows = re.findall(
        r"^\| `python demos/(\w+\.py)`[^|]*\|[^|]*\| (.*) \|$", DOC.read_text(), flags=re.M
    )
    return {script: re.findall(r"`([\w/.]+)`", pictures) for script, pictures in rows}


def test_docs_table_lists_every_demo_and_the_pictures_it_draws(
    runs: Callable[[str], Run],
) -> None:
    """Each demo has a row in the docs page's table, and the row lists exactly the pictures the
    demo writes (a graph's .svg is its .dot where Graphviz's dot is missing)."""
    table = docs_table()
    assert sorted(table) == DEMO_SCRIPTS
    has_dot = shutil.which("dot") is not None
    for script, listed in table.items():
        name = script.removesuffix(".py")
        if not has_dot and name not in SVG_WITHOUT_DOT:
            listed = [p.replace(".svg", ".dot") for p in listed]
        ran = runs(name)
        drawn = [f"{name}/{path.name}" for path in ran.result.pictures]
        assert listed == drawn, script
        for path in ran.result.pictures:
            assert path.is_file(), path


def test_readme_names_only_demos_that_exist() -> None:
    """Every demo script the README mentions is there (the README is the lead's to extend)."""
    named = set(re.findall(r"demos/(\w+\.py)", README.read_text()))
    assert named, "the README names no demo"
    for script in named:
        assert (DEMOS / script).is_file(), script


def test_moons_ends_with_the_learning_path(runs: Callable[[str], Run]) -> None:
    """`make demo` ends by saying what to read or run next, and every step it names exists."""
    printed = runs("moons").printed
    tail = printed[printed.index("What next:") :]
    named = re.findall(r"((?:docs|demos)/[\w./-]+)", tail)
    assert "docs/how-backprop-works.md" in named
    assert "demos/mazur.py" in named and "demos/backprop_by_hand.py" in named
    assert "docs/build-your-own.md" in named
    for path in named:
        assert (REPO / path).exists(), path
    # Steps whose files do not exist yet (the notebooks, before they are written) are left out.
    for _, path, _ in _common.LEARNING_PATH:
        assert (path in named) == (REPO / path).exists(), path


def test_docs_numbers_are_the_demos_numbers(tmp_path: Path) -> None:
    """The numbers the docs page quotes from the demos are the ones the demos measure today
    (momentum in its full run, as `python demos/momentum.py` prints it)."""
    doc = " ".join(DOC.read_text(encoding="utf-8").split())
    with contextlib.redirect_stdout(io.StringIO()):
        full = momentum.main(["--out", str(tmp_path)])
    names = list(full.swings)
    plain, same, tuned = (full.swings[n] for n in names[:3])
    low, high = momentum.make_problem().curvatures
    rules = list(full.rules_diverged.values())
    phrases = [
        f"valley {high / low:.0f} times steeper",
        f"after 10 steps is {abs(same[10]):.2g} against plain descent's {abs(plain[10]):.2g}",
        f"converges in {full.steps[names[1]]} steps instead of {full.steps[names[0]]}",
        f"shrinks its swing by {full.shrink[names[2]]:.2f} per step against plain descent's"
        f" {full.shrink[names[0]]:.2f}, and converges in {full.steps[names[2]]}.",
        f"it diverges in {rules[0]} steps",
        f"still remembering the raw gradient, diverges in {rules[1]};",
    ]
    assert rules[2] is None
    errors, _, _, _, _ = mazur_by_hand(mazur.UPDATES)
    phrases += [
        f"with his printed weights, give {errors[1]:.9f})",
        f"after 10,000 it is {errors[mazur.UPDATES]:.10f})",
        f"goes from an error of {errors[0]:.3f} to {errors[mazur.UPDATES]:.7f}",
    ]
    weights, biases = mazur.fresh_parameters()
    network = mazur.build(weights, biases)
    network.error.backward()
    grads = {
        "net_o1": network.nodes["net_o1"].grad,
        "net_h1": network.nodes["net_h1"].grad,
        "b1": biases["b1"].grad,
    }
    phrases += [
        f"{grads['net_o1']:.4g} for `net_o1`, {grads['net_h1']:.4g} for `net_h1`",
        f"the sum of their δs, {grads['b1']:.4g}.",
    ]
    for phrase in phrases:
        assert phrase in doc, phrase
    assert abs(tuned[1]) > abs(plain[1])


def test_docs_round_off_claims_hold(runs: Callable[[str], Run]) -> None:
    """The page says the δs agree to about 1e-16 and the weight gradients to about 6e-17."""
    doc = " ".join(DOC.read_text(encoding="utf-8").split())
    assert "to round-off (about 1e-16)" in doc and "(largest difference about 6e-17)" in doc
    result = runs("backprop_by_hand").result
    assert result.max_delta_difference <= 2e-16
    assert 2e-17 <= result.max_gradient_difference <= 1.2e-16


@pytest.mark.parametrize("broken", [False, True], ids=["no dot", "dot not runnable"])
def test_a_demo_without_dot_writes_dot_text_and_says_how_to_draw(
    tmp_path: Path, broken: bool
) -> None:
    """With no `dot` on PATH, or one that cannot be run, a demo still runs: DOT text for its
    graphs, its plots, and once (not once per graph) what is wrong and how to get pictures."""
    empty = tmp_path / "bin"
    empty.mkdir()
    if broken:  # a file named dot without execute permission: starting it fails
        (empty / "dot").write_text("#!/bin/sh\n", encoding="utf-8")
        (empty / "dot").chmod(0o644)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(DEMOS / "single_neuron.py"), "--fast", "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(empty)},
        cwd=tmp_path,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    problem = "could not be run (Permission denied)" if broken else "is missing"
    assert done.stdout.count(f"Graphviz's `dot` program {problem}") == 1
    assert "sudo apt-get install graphviz" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "after_backward.dot",
        "before_backward.dot",
        "weights.png",
    ]
    assert "digraph" in (out / "after_backward.dot").read_text()
