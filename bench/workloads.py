"""The five workloads, their sizes, and the timing discipline they share.

Every engine runs in this one process, interleaved: each repeat runs every engine once, in an
order that rotates between repeats, after a `gc.collect()` so that one engine's garbage is never
collected on another's clock. Before anything is timed, each engine's gradients are checked
against the hand-written ones. The only exception to "one process" is an engine whose backward
recurses (micrograd) on the deep chain: it runs in a child process so that a crash is a result,
not the end of the benchmark.
"""

from __future__ import annotations

import gc
import itertools
import json
import random
import statistics
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from autograd_lite.datasets import make_moons, signed_labels
from bench.engines import Engine, Task, Trainer, Weights

T = TypeVar("T")

# Gradients of different engines must agree to this relative tolerance before any timing.
GRADIENT_TOLERANCE = 1e-9
# Enough for micrograd's recursive sort of a 2,000,000-node chain; the stack is virtual memory.
DEEP_RECURSION_LIMIT = 10_000_000
DEEP_STACK_BYTES = 512 * 1024 * 1024
# A child process that has not finished by then has hung.
CHILD_TIMEOUT_S = 1200
# Untimed steps after the check, for every engine alike (Sizes.warmup_steps: 10 in a full run):
# CPython 3.11 specializes a function's bytecode only after its 8th call, and a compiled step's
# code is one function called once per step. Capped in time for the slow engines (micrograd's
# moons step takes ~0.3 s).
WARMUP_SECONDS = 3.0
# Fresh compilations whose first call is timed, for the median of a one-off cost.
COMPILE_REPEATS = 3

RUN_PY = Path(__file__).with_name("run.py")


@dataclass(frozen=True)
class Sizes:
    """How big each workload is and how often it is repeated."""

    name: str
    moons_points: int
    digits_batch: int
    chain_n: int
    wide_n: int
    memory_steps: int
    repeats: int
    chain_repeats: int
    warmup_steps: int


FULL = Sizes(
    name="full",
    moons_points=100,
    digits_batch=32,
    chain_n=1_000_000,
    wide_n=100_000,
    memory_steps=50_000,  # y * a + b: two nodes per step, so a 100,000-node chain
    repeats=5,
    chain_repeats=3,
    warmup_steps=10,
)
QUICK = Sizes(
    name="quick",
    moons_points=16,
    digits_batch=2,
    chain_n=3_000,
    wide_n=3_000,
    memory_steps=1_500,
    repeats=3,
    chain_repeats=2,
    warmup_steps=2,  # a quick run proves the benchmark works; its timings mean little
)


class GradientMismatch(AssertionError):
    """Two engines computed different gradients for the same graph."""


@dataclass
class EngineResult:
    """One engine's measurements on one workload."""

    status: str = "ok"  # "ok", "n/a" (not installed, or not measurable) or "failed: ..."
    samples: dict[str, list[float]] | None = None  # seconds, per metric, one per repeat
    values: dict[str, float] | None = None  # measurements that are not timings
    max_gradient_error: float | None = None  # relative, against the hand-written gradients
    note: str = ""

    def median(self, metric: str) -> float | None:
        """The median of one metric's samples, or None when there are none."""
        if self.status != "ok" or not self.samples or not self.samples.get(metric):
            return None
        return statistics.median(self.samples[metric])


@dataclass
class WorkloadResult:
    """Every engine's measurements on one workload."""

    key: str
    title: str
    metrics: list[str]
    engines: dict[str, EngineResult]
    params: dict[str, Any]


# ---------------------------------------------------------------------------------------------
# Timing and deep recursion
# ---------------------------------------------------------------------------------------------


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Seconds fn() took, and what it returned."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def call_deep(fn: Callable[[], T]) -> T:
    """fn() in a thread with a big stack and a raised recursion limit (for micrograd)."""
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(DEEP_RECURSION_LIMIT)
        try:
            results.append(fn())
        except BaseException as exc:  # handed to the calling thread below
            errors.append(exc)
        finally:
            sys.setrecursionlimit(limit)

    old_size = threading.stack_size(DEEP_STACK_BYTES)
    try:
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(old_size)
    if errors:
        raise errors[0]
    return results[0]


def backward_for(engine: Engine) -> Callable[[Callable[[], T]], T]:
    """How to run an engine's backward: deep-recursion thread for a recursive one."""
    if engine.recursive:
        return call_deep
    return _call


def _call(fn: Callable[[], T]) -> T:
    return fn()


def rotated(engines: list[Engine], repeat: int) -> list[Engine]:
    """The engines in the order of this repeat: each goes first in turn."""
    k = repeat % len(engines)
    return engines[k:] + engines[:k]


def check_gradients(name: str, reference: list[float], got: list[float]) -> float:
    """The largest relative difference; raises GradientMismatch above GRADIENT_TOLERANCE."""
    if len(reference) != len(got):
        msg = f"{name}: {len(got)} gradients, expected {len(reference)}"
        raise GradientMismatch(msg)
    worst = 0.0
    worst_at = 0
    for i, (r, g) in enumerate(zip(reference, got, strict=True)):
        error = abs(r - g) / max(1.0, abs(r))
        if not error <= worst:  # also catches NaN
            worst = error
            worst_at = i
    if not worst <= GRADIENT_TOLERANCE:
        msg = (
            f"{name}: gradient {worst_at} is {got[worst_at]!r}, the hand-written one is "
            f"{reference[worst_at]!r} (relative error {worst:.3g} > {GRADIENT_TOLERANCE:g})"
        )
        raise GradientMismatch(msg)
    return worst


def check_same_bits(name: str, reference: list[float], got: list[float]) -> None:
    """Raise GradientMismatch unless got is reference bit for bit (any NaN equals any NaN)."""
    for i, (r, g) in enumerate(zip(reference, got, strict=True)):
        if not (r != r and g != g) and struct.pack("<d", r) != struct.pack("<d", g):
            what = "the loss" if i == 0 else f"gradient {i - 1}"
            msg = f"{name}: {what} is {g!r}, graph mode's is {r!r} (they must be the same bits)"
            raise GradientMismatch(msg)


def _in_order(engines: list[Engine], results: dict[str, EngineResult]) -> dict[str, EngineResult]:
    """The results in the engines' order, whatever order they were measured in."""
    return {e.name: results[e.name] for e in engines}


def _unavailable(engines: list[Engine]) -> dict[str, EngineResult]:
    return {e.name: EngineResult(status="n/a", note="not installed") for e in engines}


ONE_SHOT_NOTE = "compile() replays a step it has seen; a graph built once has nothing to replay"


def _one_graph_engines(engines: list[Engine]) -> tuple[list[Engine], dict[str, EngineResult]]:
    """The engines that build a graph once (all but a compiled one), and n/a for the others."""
    kept = [e for e in engines if not e.repeated_steps_only]
    skipped = {
        e.name: EngineResult(status="n/a", note=ONE_SHOT_NOTE)
        for e in engines
        if e.repeated_steps_only
    }
    return kept, skipped


# ---------------------------------------------------------------------------------------------
# Workloads 1 and 5: an MLP training step
# ---------------------------------------------------------------------------------------------


def init_weights(sizes: list[int], seed: int) -> Weights:
    """Seeded He-uniform weights and zero biases, shared by every engine."""
    rng = random.Random(seed)
    weights: Weights = []
    for nin, nout in itertools.pairwise(sizes):
        bound = (6.0 / nin) ** 0.5
        layer = [([rng.uniform(-bound, bound) for _ in range(nin)], 0.0) for _ in range(nout)]
        weights.append(layer)
    return weights


def moons_task(points: int) -> tuple[Weights, Task]:
    """Workload 1: MLP(2, [16, 16, 1]) on two moons, mean hinge loss + 1e-4 * L2."""
    xs, labels = make_moons(n_samples=points, noise=0.1, seed=0)
    targets = [int(t) for t in signed_labels(labels)]
    return init_weights([2, 16, 16, 1], seed=1), Task("hinge", xs, targets, lam=1e-4)


def digits_task(batch: int) -> tuple[Weights, Task]:
    """Workload 5: MLP(64, [32, 10]) on a batch of digits-sized inputs, softmax cross-entropy."""
    # Seeded stand-ins for 8x8 digit images: the cost depends on the sizes, not on the pixels.
    rng = random.Random(2)
    xs = [[rng.random() for _ in range(64)] for _ in range(batch)]
    targets = [rng.randrange(10) for _ in range(batch)]
    return init_weights([64, 32, 10], seed=3), Task("cross_entropy", xs, targets)


def run_training(
    key: str,
    title: str,
    engines: list[Engine],
    weights: Weights,
    task: Task,
    repeats: int,
    params: dict[str, Any],
    warmup_steps: int = FULL.warmup_steps,
) -> WorkloadResult:
    """Time one training step per engine per repeat, after checking the first step's gradients."""
    results = _unavailable([e for e in engines if not e.available()])
    ready = [e for e in engines if e.available()]
    trainers: dict[str, Trainer] = {}
    reference: list[float] | None = None
    reference_loss = 0.0
    # The first step of each engine is the gradient check; it is not timed, nor is a compiled
    # engine's first call, which traces and compiles (reported as its own figure).
    first_steps: dict[str, list[float]] = {}
    for engine in sorted(ready, key=lambda e: e.name != "hand-written"):
        trainer = engine.trainer(weights, task)
        loss = trainer.step()
        grads = trainer.gradients()
        if reference is None:
            reference, reference_loss = grads, loss
        error = check_gradients(engine.name, [reference_loss, *reference], [loss, *grads])
        first_steps[engine.name] = [loss, *grads]
        trainers[engine.name] = trainer
        results[engine.name] = EngineResult(samples={"step": []}, max_gradient_error=error)
        measure_compile = getattr(trainer, "compile_samples", None)
        if measure_compile is not None:
            samples = measure_compile(COMPILE_REPEATS)
            result = results[engine.name]
            assert result.samples is not None
            result.samples.update({f"{k} s": v for k, v in samples.items()})
            result.values = {f"{k} s": statistics.median(v) for k, v in samples.items()}
    if "compiled" in first_steps and "autograd_lite" in first_steps:
        check_same_bits("compiled", first_steps["autograd_lite"], first_steps["compiled"])
    for engine in ready:
        started = time.perf_counter()
        for _ in range(warmup_steps):
            if time.perf_counter() - started > WARMUP_SECONDS:
                break
            trainers[engine.name].step()
    for repeat in range(repeats):
        for engine in rotated(ready, repeat):
            gc.collect()
            seconds, _ = timed(trainers[engine.name].step)
            samples = results[engine.name].samples
            assert samples is not None
            samples["step"].append(seconds)
    return WorkloadResult(key, title, ["step"], _in_order(engines, results), params)


# ---------------------------------------------------------------------------------------------
# Workload 2: the deep chain
# ---------------------------------------------------------------------------------------------


def chain_once(engine: Engine, n: int) -> tuple[float, float, list[float]]:
    """Build an n-step chain and backpropagate: build seconds, backward seconds, gradients."""
    build_s, graph = timed(lambda: engine.build_chain(n))

    def backward() -> tuple[float, list[float]]:
        return timed(lambda: engine.backward_chain(graph))

    backward_s, grads = backward_for(engine)(backward)
    return build_s, backward_s, grads


def chain_in_child(engine: Engine, n: int) -> tuple[float, float, list[float]]:
    """chain_once() in a child process: a crash there is reported, not fatal."""
    command = [sys.executable, str(RUN_PY), "--child-chain", engine.name, str(n)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    if done.returncode != 0:
        how = f"signal {-done.returncode}" if done.returncode < 0 else f"exit {done.returncode}"
        last = done.stderr.strip().splitlines()[-1:] or [""]
        raise RuntimeError(f"child process died ({how}) {last[0]}".strip())
    answer = json.loads(done.stdout)
    return answer["build_s"], answer["backward_s"], answer["grads"]


def largest_default_n(engine: Engine, n_max: int) -> int:
    """The longest chain (up to n_max) the engine backpropagates with default settings.

    Doubling from 64, then bisecting: the failures come early (a recursive sort fails near
    Python's recursion limit of 1,000), so no big graph is built to find them.
    """

    def survives(n: int) -> bool:
        try:
            graph = engine.build_chain(n)
            engine.backward_chain(graph)
        except RecursionError:
            return False
        return True

    good, bad = 0, 0
    n = 64
    while n < n_max:
        if not survives(n):
            bad = n
            break
        good = n
        n *= 2
    if not bad:
        return n_max  # no failure on the way up: the timed run at n_max decides
    while bad - good > 1:
        middle = (good + bad) // 2
        if survives(middle):
            good = middle
        else:
            bad = middle
    return good


def run_chain(engines: list[Engine], n: int, repeats: int) -> WorkloadResult:
    """Workload 2: y = y * a + b, n times: build and backward times, and the largest n."""
    metrics = ["build", "backward", "total"]
    everyone = engines
    engines, skipped = _one_graph_engines(engines)
    results = _unavailable([e for e in engines if not e.available()]) | skipped
    ready = [e for e in engines if e.available()]
    for engine in ready:
        results[engine.name] = EngineResult(samples={m: [] for m in metrics})
    grads_by_engine: dict[str, list[float]] = {}
    for repeat in range(repeats):
        for engine in rotated(ready, repeat):
            result = results[engine.name]
            if result.status != "ok":
                continue  # it failed once: do not spend the time again
            gc.collect()
            try:
                if engine.recursive:
                    build_s, backward_s, grads = chain_in_child(engine, n)
                    result.note = engine.note + "; in a child process"
                else:
                    build_s, backward_s, grads = chain_once(engine, n)
            except (RuntimeError, RecursionError, MemoryError, subprocess.TimeoutExpired) as exc:
                result.status = f"failed: {exc}"
                continue
            grads_by_engine[engine.name] = grads
            assert result.samples is not None
            result.samples["build"].append(build_s)
            result.samples["backward"].append(backward_s)
            result.samples["total"].append(build_s + backward_s)
    reference = grads_by_engine["hand-written"]
    for engine in ready:
        result = results[engine.name]
        if engine.name in grads_by_engine:
            grads = grads_by_engine[engine.name]
            result.max_gradient_error = check_gradients(engine.name, reference, grads)
        values: dict[str, float] = {}
        result.values = values
        if engine.recursive:
            values["largest_n_default"] = largest_default_n(engine, n)
        else:
            values["largest_n_default"] = n if result.status == "ok" else 0
    title = f"Deep chain y = y * a + b, N = {n:,}"
    return WorkloadResult("chain", title, metrics, _in_order(everyone, results), {"n": n})


# ---------------------------------------------------------------------------------------------
# Workload 3: the wide sum
# ---------------------------------------------------------------------------------------------


def run_wide(engines: list[Engine], n: int, repeats: int) -> WorkloadResult:
    """Workload 3: the sum of n products of fresh leaves, then backward."""
    metrics = ["build", "backward", "total"]
    rng = random.Random(4)
    xs = [rng.uniform(-1.0, 1.0) for _ in range(n)]
    ys = [rng.uniform(-1.0, 1.0) for _ in range(n)]
    everyone = engines
    engines, skipped = _one_graph_engines(engines)
    results = _unavailable([e for e in engines if not e.available()]) | skipped
    ready = [e for e in engines if e.available()]
    reference = ys + xs  # d/dx_i = y_i, d/dy_i = x_i: exact
    for engine in ready:
        results[engine.name] = EngineResult(samples={m: [] for m in metrics})
        results[engine.name].note = engine.note if engine.recursive else ""
    for repeat in range(repeats):
        for engine in rotated(ready, repeat):
            gc.collect()
            build_s, graph = timed(lambda e=engine: e.build_wide(xs, ys))  # type: ignore[misc]
            backward_s, grads = backward_for(engine)(
                lambda e=engine, g=graph: timed(lambda: e.backward_wide(g))  # type: ignore[misc]
            )
            del graph
            result = results[engine.name]
            result.max_gradient_error = check_gradients(engine.name, reference, grads)
            assert result.samples is not None
            result.samples["build"].append(build_s)
            result.samples["backward"].append(backward_s)
            result.samples["total"].append(build_s + backward_s)
    title = f"Wide sum of {n:,} products"
    return WorkloadResult("wide", title, metrics, _in_order(everyone, results), {"n": n})


# ---------------------------------------------------------------------------------------------
# Workload 4: memory
# ---------------------------------------------------------------------------------------------


def run_memory(engines: list[Engine], steps: int) -> WorkloadResult:
    """Workload 4: bytes per node while building a chain of 2 * steps nodes, and in backward."""
    nodes = 2 * steps
    everyone = engines
    engines, skipped = _one_graph_engines(engines)
    results = _unavailable([e for e in engines if not e.available()]) | skipped
    for engine in engines:
        if not engine.available():
            continue
        if not engine.traceable_memory:
            results[engine.name] = EngineResult(status="n/a", note=engine.note)
            continue
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            graph = engine.build_chain(steps)
            built = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.reset_peak()
            backward_for(engine)(lambda e=engine, g=graph: e.backward_chain(g))  # type: ignore[misc]
            peak = tracemalloc.get_traced_memory()[1] - before - built
        finally:
            tracemalloc.stop()
        del graph
        results[engine.name] = EngineResult(
            values={
                "bytes_per_node": built / nodes,
                "backward_peak_bytes_per_node": max(peak, 0) / nodes,
                "graph_mib": built / 2**20,
            },
            note=engine.note if engine.recursive else "",
        )
    title = f"Memory: a {nodes:,}-node chain (tracemalloc)"
    return WorkloadResult("memory", title, [], _in_order(everyone, results), {"nodes": nodes})
