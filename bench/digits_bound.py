"""What bounds the compiled digits step: the same training step four ways, in one process.

The benchmark's digits target asks the compiled step to take at most the hand-written one's
time. This script times, interleaved, from the same initial weights (bench/workloads.py):

- the hand-written floor of the benchmark, whose neurons add their products with ``sum``;
- the same hand-written step with each neuron's products added by ``math.fsum``, as the
  engine's ``dot`` adds them: the floor doing the engine's arithmetic;
- the compiled step (``autograd_lite.compile``, as the benchmark runs it);
- an experiment: the compiled step's generated code with ``fsum`` replaced by ``sum``. It is
  faster, and not what graph mode computes, which a replay must be bit for bit (from Python
  3.12 on, ``sum`` compensates its rounding, so it differs from ``fsum`` in fewer places).

Each one's first step's gradients are compared with graph mode's, bit for bit. The compiled
step is also timed in parts (the replay alone, the SGD update of the Values alone). Run:
``python bench/digits_bound.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script (`python bench/digits_bound.py`): make the `bench` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import autograd_lite as al
from bench import engines, workloads

__all__ = ["main"]

STEPS_PER_SAMPLE = 10


class _SummedCompiled:
    """The compiled trainer with its generated code run with ``sum`` in place of ``fsum``."""

    def __init__(self, weights: engines.Weights, task: engines.Task) -> None:
        self.inner = inner = engines._CompiledTrainer(weights, task)
        inner.loss(inner.inputs, inner.targets)  # trace and compile; step() zeroes the gradients
        trace = inner.loss.traces[0]
        # An experiment on the generated code, not an API: the same source, run with the names
        # the compiler gave it, but each neuron's `fsum(map(mul, ...))` is `sum(map(mul, ...))`.
        assert trace._replay is not None
        source = trace.source.replace("fsum(map(mul,", "sum(map(mul,")
        assert source != trace.source
        names = dict(trace._replay.__globals__)
        exec(source, names)
        self.replay: Callable[..., Any] = names["replay"]
        self.params = trace._params

    def step(self) -> float:
        inner = self.inner
        al.zero_grad(inner.params)
        loss, _, _ = self.replay((inner.inputs, inner.targets), {}, self.params)
        lr = inner.task.lr
        for p in inner.params:
            p.data -= lr * p.grad
        return float(loss)

    def gradients(self) -> list[float]:
        return self.inner.gradients()


def _differing(reference: list[float], got: list[float]) -> int:
    """How many of the numbers differ from the reference's bits."""
    pairs = zip(reference, got, strict=True)
    return sum(struct.pack("<d", r) != struct.pack("<d", g) for r, g in pairs)


def _median_ms(step: Callable[[], object]) -> float:
    times = []
    for _ in range(STEPS_PER_SAMPLE):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main(argv: list[str] | None = None) -> dict[str, tuple[float, int]]:
    """Print the four steps' median times, ratios and differing bits; return (ms, differing)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="samples per step (default 7)")
    rounds = parser.parse_args(argv).rounds

    weights, task = workloads.digits_task(32)
    graph = engines._LiteTrainer(weights, task)
    graph.step()
    reference = graph.gradients()

    hand_fsum = engines._HandTrainer(weights, task)
    hand_fsum.forward_sum = math.fsum
    trainers: dict[str, engines.Trainer] = {
        "hand-written (sum)": engines._HandTrainer(weights, task),
        "hand-written, fsum as the engine's dot": hand_fsum,
        "compiled": engines._CompiledTrainer(weights, task),
        "compiled code with sum (not graph mode)": _SummedCompiled(weights, task),
    }
    differing = {}
    for name, trainer in trainers.items():
        trainer.step()  # the first step: the gradient comparison, and the compile
        differing[name] = _differing(reference, trainer.gradients())
    for trainer in trainers.values():
        for _ in range(STEPS_PER_SAMPLE):
            trainer.step()  # warm up: CPython specializes bytecode after a few calls
    samples: dict[str, list[float]] = {name: [] for name in trainers}
    compiled = trainers["compiled"]
    assert isinstance(compiled, engines._CompiledTrainer)
    replay_only: list[float] = []
    update_only: list[float] = []

    def update() -> None:
        for p in compiled.params:
            p.data -= 0.0 * p.grad  # the update's work, leaving the weights as they are

    for _ in range(rounds):
        for name, trainer in trainers.items():
            samples[name].append(_median_ms(trainer.step))
        replay_only.append(_median_ms(lambda: compiled.loss(compiled.inputs, compiled.targets)))
        update_only.append(_median_ms(update))

    floor = statistics.median(samples["hand-written (sum)"])
    print("### What bounds the compiled digits step: MLP(64, [32, 10]), batch 32\n")
    print("| step | median | ÷ hand-written | gradients not graph mode's bits |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in samples.items():
        ms, count = statistics.median(values), differing[name]
        print(f"| {name} | {ms:.2f} ms | {ms / floor:.2f} | {count} of {len(reference)} |")
    print(
        f"\nOf the compiled step: the replay alone {statistics.median(replay_only):.2f} ms, the "
        f"SGD update of its {len(compiled.params)} Values alone "
        f"{statistics.median(update_only):.2f} ms ({rounds} samples, each the median of "
        f"{STEPS_PER_SAMPLE} steps)."
    )
    return {name: (statistics.median(samples[name]), differing[name]) for name in trainers}


if __name__ == "__main__":
    main()
