"""The benchmark still works: its quick mode runs, prints its tables, writes JSON, and agrees.

Nothing here asserts a timing. What is checked is what the figures rest on: every engine's
gradients agree with the hand-written ones (which are themselves checked against closed forms and
finite differences), missing engines are reported as "n/a", and the tables say what they show.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# `bench` is a folder of the repository, not an installed package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import digits_bound, engines, first_order_cost, run, workloads
from bench.engines import Engine, HandWritten, Task, Weights

ROOT = Path(__file__).resolve().parent.parent

AVAILABLE = [make() for make in engines.ALL_ENGINES if make().available()]
AVAILABLE_IDS = [e.name for e in AVAILABLE]
# The engines that build a graph once: all but the compiled one, which replays repeated steps.
ONE_GRAPH = [e for e in AVAILABLE if not e.repeated_steps_only]
ONE_GRAPH_IDS = [e.name for e in ONE_GRAPH]


# --- the command, end to end ----------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, object]]:
    """`bench/run.py --quick --json PATH` once: its printed tables and its JSON."""
    path = tmp_path_factory.mktemp("bench") / "quick.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--json", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    document: dict[str, object] = json.loads(path.read_text())
    return done.stdout, document


def test_quick_run_prints_every_table(quick_run: tuple[str, dict[str, object]]) -> None:
    """The quick run prints one Markdown table per workload and the targets."""
    stdout, _ = quick_run
    for heading in (
        "### Moons training step",
        "### Deep chain",
        "### Wide sum",
        "### Memory",
        "### Digits-sized training step",
        "### Targets",
    ):
        assert heading in stdout, f"{heading!r} missing from:\n{stdout}"
    assert "| autograd_lite |" in stdout
    assert "| hand-written |" in stdout


def test_quick_run_json_has_every_engine_and_sample(
    quick_run: tuple[str, dict[str, object]],
) -> None:
    """The JSON holds each workload, each engine's samples, and gradients that agree."""
    _, document = quick_run
    results = document["workloads"]
    assert isinstance(results, dict)
    assert set(results) == set(run.WORKLOADS)
    sizes = workloads.QUICK
    for key, result in results.items():
        by_engine = result["engines"]
        assert list(by_engine) == [make().name for make in engines.ALL_ENGINES]
        for name, measured in by_engine.items():
            if name not in AVAILABLE_IDS:
                assert measured["status"] == "n/a", (key, name, measured)
                continue
            if name == "compiled" and key in ("chain", "wide", "memory"):
                assert measured["status"] == "n/a", (key, measured)
                assert measured["note"] == workloads.ONE_SHOT_NOTE
                continue
            if key == "memory":
                if name == "torch":
                    assert measured["status"] == "n/a"  # invisible to tracemalloc, said so
                else:
                    assert measured["values"]["bytes_per_node"] > 0, (name, measured)
                continue
            assert measured["status"] == "ok", (key, name, measured)
            error = measured["max_gradient_error"]
            assert error is not None and error <= workloads.GRADIENT_TOLERANCE, (key, name)
            repeats = sizes.chain_repeats if key == "chain" else sizes.repeats
            for metric in result["metrics"]:
                samples = measured["samples"][metric]
                assert len(samples) == repeats and all(s > 0 for s in samples), (key, name)
            if name == "compiled":  # its first calls, apart from its steps
                first_calls = measured["samples"]["first call s"]
                assert len(first_calls) == workloads.COMPILE_REPEATS
                assert measured["values"]["first call s"] > 0


def test_quick_run_finds_micrograd_recursion_limit(
    quick_run: tuple[str, dict[str, object]],
) -> None:
    """micrograd's recursive sort fails near Python's default limit; ours goes all the way."""
    _, document = quick_run
    results = document["workloads"]
    assert isinstance(results, dict)
    chain = results["chain"]["engines"]
    assert chain["autograd_lite"]["values"]["largest_n_default"] == workloads.QUICK.chain_n
    if "micrograd" in AVAILABLE_IDS:
        assert 300 < chain["micrograd"]["values"]["largest_n_default"] < 1000
    else:
        assert chain["micrograd"]["status"] == "n/a"


# --- the gradients the timings rest on ------------------------------------------------------


def _chain_closed_form(n: int) -> tuple[float, float]:
    """dy/da and dy/db of y_n = a * y_{n-1} + b from y_0 = 0: y_n = b (1 - a^n) / (1 - a)."""
    a, b = engines.A, engines.B
    assert engines.Y0 == 0.0
    d_b = (1 - a**n) / (1 - a)
    d_a = b * (-n * a ** (n - 1) * (1 - a) + (1 - a**n)) / (1 - a) ** 2
    return d_a, d_b


@pytest.mark.parametrize("engine", ONE_GRAPH, ids=ONE_GRAPH_IDS)
def test_chain_gradients_match_the_closed_form(engine: Engine) -> None:
    """Each engine's deep-chain gradients equal the closed form."""
    n = 60
    graph = engine.build_chain(n)
    got = workloads.backward_for(engine)(lambda: engine.backward_chain(graph))
    expected = _chain_closed_form(n)
    assert got == pytest.approx(expected, rel=1e-12), (got, expected)


@pytest.mark.parametrize("engine", ONE_GRAPH, ids=ONE_GRAPH_IDS)
def test_wide_gradients_are_the_other_factor(engine: Engine) -> None:
    """d(sum x_i y_i)/dx_i = y_i and /dy_i = x_i, exactly, in every engine."""
    xs, ys = [0.5, -1.25, 3.0], [2.0, 0.75, -0.125]
    graph = engine.build_wide(xs, ys)
    assert workloads.backward_for(engine)(lambda: engine.backward_wide(graph)) == ys + xs


def _loss(weights: Weights, task: Task) -> float:
    """The hand-written loss at these weights, without updating them."""
    frozen = Task(task.loss, task.inputs, task.targets, task.lam, lr=0.0)
    return HandWritten().trainer(weights, frozen).step()


def _shifted(weights: Weights, index: int, h: float) -> Weights:
    """A copy of weights with the index-th parameter (in `Weights` order) moved by h."""
    out: Weights = []
    position = 0
    for layer in weights:
        new_layer: list[tuple[list[float], float]] = []
        for w, b in layer:
            w = [wi + h if position + i == index else wi for i, wi in enumerate(w)]
            position += len(w)
            new_layer.append((w, b + h if position == index else b))
            position += 1
        out.append(new_layer)
    return out


@pytest.mark.parametrize("which", ["moons", "digits"])
def test_hand_written_gradients_match_finite_differences(which: str) -> None:
    """The reference gradients are right: central differences of the loss agree."""
    weights, task = workloads.moons_task(6) if which == "moons" else workloads.digits_task(2)
    trainer = HandWritten().trainer(weights, task)
    trainer.step()
    grads = trainer.gradients()
    h = 1e-6
    # Every parameter of the small moons net; a spread of them for the bigger digits one.
    indices = range(len(grads)) if which == "moons" else range(0, len(grads), 97)
    for index in indices:
        up = _loss(_shifted(weights, index, h), task)
        down = _loss(_shifted(weights, index, -h), task)
        numeric = (up - down) / (2 * h)
        assert grads[index] == pytest.approx(numeric, abs=1e-6), (index, grads[index], numeric)


@pytest.mark.parametrize("engine", AVAILABLE, ids=AVAILABLE_IDS)
@pytest.mark.parametrize("which", ["moons", "digits"])
def test_training_step_gradients_agree_with_hand_written(engine: Engine, which: str) -> None:
    """One training step from the same weights gives every engine the same gradients."""
    weights, task = workloads.moons_task(5) if which == "moons" else workloads.digits_task(2)
    reference = HandWritten().trainer(weights, task)
    reference_loss = reference.step()
    trainer = engine.trainer(weights, task)
    loss = trainer.step()
    error = workloads.check_gradients(
        engine.name, [reference_loss, *reference.gradients()], [loss, *trainer.gradients()]
    )
    assert error <= workloads.GRADIENT_TOLERANCE


@pytest.mark.parametrize("which", ["moons", "digits"])
def test_compiled_steps_are_graph_modes_bit_for_bit(which: str) -> None:
    """The compiled engine takes graph mode's steps exactly, loss and gradients, step after step
    (its batch runs as a loop), and its first calls are timed apart."""
    weights, task = workloads.moons_task(12) if which == "moons" else workloads.digits_task(5)
    graph = engines.AutogradLite().trainer(weights, task)
    compiled = engines.Compiled().trainer(weights, task)
    for _ in range(3):
        reference = [graph.step(), *graph.gradients()]
        workloads.check_same_bits("compiled", reference, [compiled.step(), *compiled.gradients()])
    assert isinstance(compiled, engines._CompiledTrainer)
    assert compiled.loss.traces[0].loop  # the batch is a loop
    samples = compiled.compile_samples(2)
    assert set(samples) == {"trace", "write", "compile", "first call"}
    assert all(len(v) == 2 and all(x > 0 for x in v) for v in samples.values())
    assert compiled.gradients() == graph.gradients()  # timing the first calls changed nothing


def test_same_bits_check_and_break_even() -> None:
    """The bitwise check tells -0.0 from 0.0 but not one NaN from another; break-even steps are
    the first call's extra cost over the steps' savings."""
    workloads.check_same_bits("same", [1.0, float("nan")], [1.0, -float("nan")])
    with pytest.raises(workloads.GradientMismatch, match=r"gradient 0 is -0\.0, graph mode's"):
        workloads.check_same_bits("signed", [1.0, 0.0], [1.0, -0.0])
    result = workloads.WorkloadResult(
        key="moons",
        title="t",
        metrics=["step"],
        engines={
            "autograd_lite": workloads.EngineResult(samples={"step": [0.030]}),
            "compiled": workloads.EngineResult(
                samples={"step": [0.004]}, values={"first call s": 0.134}
            ),
        },
        params={},
    )
    assert run.break_even_steps(result) == pytest.approx((0.134 - 0.004) / (0.030 - 0.004))
    assert "paid for itself after 5.0 steps" in "\n".join(run.timing_table(result))


def test_gradient_check_rejects_a_wrong_gradient() -> None:
    """The check that guards every timing fails on a gradient off by 1e-7, on NaN, and on length."""
    assert workloads.check_gradients("same", [1.0, -2.0], [1.0, -2.0]) == 0.0
    with pytest.raises(workloads.GradientMismatch, match=r"off: gradient 1 is -2\.0000002"):
        workloads.check_gradients("off", [1.0, -2.0], [1.0, -2.0000002])
    with pytest.raises(workloads.GradientMismatch, match="nan"):
        workloads.check_gradients("nan", [1.0], [float("nan")])
    with pytest.raises(workloads.GradientMismatch, match="1 gradients, expected 2"):
        workloads.check_gradients("short", [1.0, 2.0], [1.0])


# --- engines that are missing, recursion, and the tables ------------------------------------


class _Missing(HandWritten):
    name = "missing"

    def available(self) -> bool:
        return False


def test_missing_engine_is_reported_as_na_not_an_error() -> None:
    """An engine that cannot be imported shows "n/a" in the results and the table."""
    weights, task = workloads.moons_task(4)
    result = workloads.run_training(
        "moons", "Moons", [HandWritten(), _Missing()], weights, task, repeats=1, params={}
    )
    assert result.engines["missing"].status == "n/a"
    assert result.engines["hand-written"].status == "ok"
    table = "\n".join(run.timing_table(result))
    assert "| missing | n/a | — | — |" in table


def test_timing_table_ratios() -> None:
    """Ratios read "micrograd ÷ this" and "this ÷ hand-written", from medians."""
    result = workloads.WorkloadResult(
        key="moons",
        title="t",
        metrics=["step"],
        engines={
            "autograd_lite": workloads.EngineResult(samples={"step": [0.002, 0.004, 0.003]}),
            "micrograd": workloads.EngineResult(samples={"step": [0.3]}),
            "hand-written": workloads.EngineResult(samples={"step": [0.001]}),
        },
        params={},
    )
    table = "\n".join(run.timing_table(result))
    assert "| autograd_lite | 3.0 ms | 100× | 3.0× |" in table
    assert "| micrograd | 300.0 ms | 1.0× | 300× |" in table


def test_largest_default_n_is_found_by_bisection() -> None:
    """The search returns the last n that survives, whatever the failure point."""

    class FailsAbove(HandWritten):
        def backward_chain(self, graph: object) -> list[float]:
            assert isinstance(graph, list)
            if len(graph) > 777:
                raise RecursionError("too deep")
            return [0.0, 0.0]

    assert workloads.largest_default_n(FailsAbove(), 5000) == 777
    assert workloads.largest_default_n(HandWritten(), 5000) == 5000


def test_call_deep_raises_the_limit_and_passes_errors_back() -> None:
    """call_deep() runs a recursion deeper than the default limit, then restores the limit."""
    limit = sys.getrecursionlimit()

    def depth(n: int) -> int:
        return 0 if n == 0 else 1 + depth(n - 1)

    assert workloads.call_deep(lambda: depth(20_000)) == 20_000
    assert sys.getrecursionlimit() == limit

    def fail() -> int:
        raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        workloads.call_deep(fail)


def test_first_order_cost_compares_like_with_like(capsys: pytest.CaptureFixture[str]) -> None:
    """The first-order cost script checks both rules agree, then prints one row per op."""
    ratios = first_order_cost.main(["--quick"])
    assert set(ratios) == {"tanh", "x * y", "dot, 16 + 16 inputs"}
    # Each is the table's share of the whole operation's time: a difference of two rules'
    # times (noise may make it negative) over a time that contains one of them.
    assert all(-1.0 < share < 1.0 for share in ratios.values()), ratios
    printed = capsys.readouterr().out
    rows = [line for line in printed.splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + len(ratios)  # header, rule, one row per operation


def test_digits_bound_times_the_floor_with_the_engines_arithmetic(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The digits-bound script: four steps, the compiled one graph mode's bits, the floor not."""
    results = digits_bound.main(["--rounds", "1"])
    assert list(results) == [
        "hand-written (sum)",
        "hand-written, fsum as the engine's dot",
        "compiled",
        "compiled code with sum (not graph mode)",
    ]
    assert results["compiled"][1] == 0  # a replay is graph mode, bit for bit
    assert results["hand-written (sum)"][1] > 0  # the floor adds up otherwise
    assert all(ms > 0.0 for ms, _ in results.values())
    printed = capsys.readouterr().out
    rows = [line for line in printed.splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + len(results)
    assert "of 2410 |" in rows[-1] and "the replay alone" in printed
