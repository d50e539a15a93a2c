"""The benchmark's one command: every workload, every available engine, one process, interleaved.

    python bench/run.py                  # the full run (several minutes)
    python bench/run.py --quick          # small sizes, for CI: proves the benchmark still works
    python bench/run.py --json out.json  # also write every sample as JSON

It prints Markdown tables of medians with ratios to micrograd and to the hand-written floor,
then checks the project's performance targets. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script (`python bench/run.py`): make the `bench` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import workloads
from bench.engines import ALL_ENGINES, Engine
from bench.workloads import FULL, QUICK, Sizes, WorkloadResult

WORKLOADS = ("moons", "chain", "wide", "memory", "digits")

# The project's performance targets (issue 8): reported with each run, never asserted.
TARGET_MOONS_VS_HAND = 4.0
TARGET_CHAIN_VS_MICROGRAD = 15.0
TARGET_BYTES_PER_NODE = 200.0
# Issue 15: the compiled step against the hand-written floor, and its first call (trace and
# compile) paid back by the steps it saves over graph mode within this many steps.
TARGET_COMPILED_VS_HAND = 1.0
TARGET_BREAK_EVEN_STEPS = 30.0


def _seconds(x: float | None) -> str:
    if x is None:
        return "n/a"
    if x >= 1.0:
        return f"{x:.2f} s"
    if x >= 1e-3:
        return f"{x * 1e3:.1f} ms"
    return f"{x * 1e6:.0f} µs"


def _ratio(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.1f}×" if x < 100 else f"{x:.0f}×"


def _divide(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0.0:
        return None
    return a / b


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def timing_table(result: WorkloadResult) -> list[str]:
    """Markdown lines: per engine, the median of each metric and the ratios of the last one."""
    key = result.metrics[-1]
    micrograd = result.engines.get("micrograd")
    hand = result.engines.get("hand-written")
    mg_time = micrograd.median(key) if micrograd else None
    hand_time = hand.median(key) if hand else None
    names = {"step": "step", "build": "build", "backward": "backward", "total": "build + backward"}
    header = ["engine", *(names[m] for m in result.metrics)]
    header += ["micrograd ÷ this", "this ÷ hand-written"]
    if result.key == "chain":
        header.append("largest N, default settings")
    lines = [f"### {result.title}", "", _row(header), _row(["---"] + ["---:"] * (len(header) - 1))]
    for name, r in result.engines.items():
        if r.status != "ok":
            cells = [name, *(["n/a"] * len(result.metrics)), "—", "—"]
            if result.key == "chain":
                largest = (r.values or {}).get("largest_n_default")
                cells.append(f"{largest:,.0f}" if largest else "—")
            lines.append(_row(cells))
            continue
        cells = [name, *(_seconds(r.median(m)) for m in result.metrics)]
        this = r.median(key)
        cells.append(_ratio(_divide(mg_time, this)))
        cells.append(_ratio(_divide(this, hand_time)))
        if result.key == "chain":
            largest = (r.values or {}).get("largest_n_default", 0)
            cells.append(f"{largest:,.0f}")
        lines.append(_row(cells))
    return lines + _notes(result)


def memory_table(result: WorkloadResult) -> list[str]:
    """Markdown lines: bytes per node while building, the backward's extra peak, vs micrograd."""
    header = ["engine", "bytes per node", "backward peak, bytes per node", "this ÷ micrograd"]
    micrograd = result.engines.get("micrograd")
    mg_bytes = (micrograd.values or {}).get("bytes_per_node") if micrograd else None
    lines = [f"### {result.title}", "", _row(header), _row(["---", "---:", "---:", "---:"])]
    for name, r in result.engines.items():
        if r.status != "ok" or not r.values:
            lines.append(_row([name, "n/a", "n/a", "—"]))
            continue
        per_node = r.values["bytes_per_node"]
        peak = r.values["backward_peak_bytes_per_node"]
        ratio = _divide(per_node, mg_bytes)
        lines.append(
            _row(
                [name, f"{per_node:,.0f}", f"{peak:,.0f}", "—" if ratio is None else f"{ratio:.2f}"]
            )
        )
    return lines + _notes(result)


def break_even_steps(result: WorkloadResult) -> float | None:
    """After how many steps the compiled engine's first call has paid for itself.

    Its first call (tracing and compiling) costs that much more than a replay; each later step
    saves what a graph-mode step costs more than a replay.
    """
    compiled = result.engines.get("compiled")
    graph = result.engines.get("autograd_lite")
    if compiled is None or graph is None or not compiled.values:
        return None
    first = compiled.values.get("first call s")
    replay, graph_step = compiled.median("step"), graph.median("step")
    if first is None or replay is None or graph_step is None or graph_step <= replay:
        return None
    return (first - replay) / (graph_step - replay)


def _compile_note(result: WorkloadResult) -> list[str]:
    compiled = result.engines.get("compiled")
    if compiled is None or compiled.status != "ok" or not compiled.values:
        return []
    v = compiled.values
    steps = break_even_steps(result)
    paid = "" if steps is None else f"; it has paid for itself after {steps:.1f} steps"
    return [
        f"- compiled, first call: {_seconds(v.get('first call s'))} (trace "
        f"{_seconds(v.get('trace s'))}, write the code {_seconds(v.get('write s'))}, "
        f"compile it {_seconds(v.get('compile s'))}), not in the step column{paid}"
    ]


def _notes(result: WorkloadResult) -> list[str]:
    notes = [f"- {name}: {r.note}" for name, r in result.engines.items() if r.note]
    notes += _compile_note(result)
    notes += [
        f"- {name}: {r.status}"
        for name, r in result.engines.items()
        if r.status.startswith("failed")
    ]
    return ["", *notes, ""] if notes else [""]


def targets(results: dict[str, WorkloadResult]) -> list[str]:
    """Markdown lines: each performance target, its figure from this run, met or not."""
    lines = ["### Targets", ""]

    def median(key: str, engine: str, metric: str) -> float | None:
        r = results[key].engines.get(engine) if key in results else None
        return r.median(metric) if r else None

    moons = _divide(
        median("moons", "autograd_lite", "step"), median("moons", "hand-written", "step")
    )
    chain = _divide(
        median("chain", "micrograd", "total"), median("chain", "autograd_lite", "total")
    )
    compiled_moons = _divide(
        median("moons", "compiled", "step"), median("moons", "hand-written", "step")
    )
    compiled_digits = _divide(
        median("digits", "compiled", "step"), median("digits", "hand-written", "step")
    )
    break_even = break_even_steps(results["moons"]) if "moons" in results else None
    memory = None
    if "memory" in results:
        lite = results["memory"].engines.get("autograd_lite")
        memory = (lite.values or {}).get("bytes_per_node") if lite else None
    checks = [
        (
            "moons step ÷ hand-written",
            moons,
            f"≤ {TARGET_MOONS_VS_HAND:g}",
            moons is not None and moons <= TARGET_MOONS_VS_HAND,
        ),
        (
            "deep chain: micrograd ÷ autograd_lite",
            chain,
            f"≥ {TARGET_CHAIN_VS_MICROGRAD:g}",
            chain is not None and chain >= TARGET_CHAIN_VS_MICROGRAD,
        ),
        (
            "bytes per node",
            memory,
            f"≤ {TARGET_BYTES_PER_NODE:g}",
            memory is not None and memory <= TARGET_BYTES_PER_NODE,
        ),
        (
            "moons step, compiled ÷ hand-written",
            compiled_moons,
            f"≤ {TARGET_COMPILED_VS_HAND:g}",
            compiled_moons is not None and compiled_moons <= TARGET_COMPILED_VS_HAND,
        ),
        (
            "digits step, compiled ÷ hand-written",
            compiled_digits,
            f"≤ {TARGET_COMPILED_VS_HAND:g}",
            compiled_digits is not None and compiled_digits <= TARGET_COMPILED_VS_HAND,
        ),
        (
            "moons, steps until compiling has paid for itself",
            break_even,
            f"≤ {TARGET_BREAK_EVEN_STEPS:g}",
            break_even is not None and break_even <= TARGET_BREAK_EVEN_STEPS,
        ),
    ]
    lines += [_row(["target", "this run", "goal", "met"]), _row(["---", "---:", "---:", "---"])]
    for name, figure, goal, met in checks:
        shown = "n/a" if figure is None else f"{figure:.2f}"
        lines.append(_row([name, shown, goal, "yes" if met else "no"]))
    return [*lines, ""]


def environment() -> dict[str, Any]:
    """What the numbers depend on: interpreter, machine, engine versions."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "gc_thresholds": list(gc.get_threshold()),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "command": " ".join(["python", "bench/run.py", *sys.argv[1:]]),
    }


def run(sizes: Sizes, selected: Sequence[str], engines: list[Engine]) -> dict[str, WorkloadResult]:
    """Run the selected workloads, printing each table as soon as it is ready."""
    results: dict[str, WorkloadResult] = {}
    for key in selected:
        if key == "moons":
            weights, task = workloads.moons_task(sizes.moons_points)
            title = f"Moons training step: MLP(2, [16, 16, 1]), {sizes.moons_points} points"
            params = {"points": sizes.moons_points, "repeats": sizes.repeats}
            result = workloads.run_training(
                key, title, engines, weights, task, sizes.repeats, params, sizes.warmup_steps
            )
        elif key == "digits":
            weights, task = workloads.digits_task(sizes.digits_batch)
            title = f"Digits-sized training step: MLP(64, [32, 10]), batch {sizes.digits_batch}"
            params = {"batch": sizes.digits_batch, "repeats": sizes.repeats}
            result = workloads.run_training(
                key, title, engines, weights, task, sizes.repeats, params, sizes.warmup_steps
            )
        elif key == "chain":
            result = workloads.run_chain(engines, sizes.chain_n, sizes.chain_repeats)
        elif key == "wide":
            result = workloads.run_wide(engines, sizes.wide_n, sizes.repeats)
        else:
            result = workloads.run_memory(engines, sizes.memory_steps)
        results[key] = result
        table = memory_table(result) if key == "memory" else timing_table(result)
        print("\n".join(table), flush=True)
    return results


def child_chain(engine_name: str, n: int) -> int:
    """The child process of chain_in_child(): one chain, timed, as JSON on stdout."""
    engine = next(cls() for cls in ALL_ENGINES if cls.name == engine_name)
    build_s, backward_s, grads = workloads.chain_once(engine, n)
    print(json.dumps({"build_s": build_s, "backward_s": backward_s, "grads": grads}))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run, print, write JSON; 1 if two engines' gradients disagree."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes (for CI)")
    parser.add_argument("--json", type=Path, help="write all samples and medians here")
    parser.add_argument(
        "--only",
        default=",".join(WORKLOADS),
        help=f"comma-separated subset of {','.join(WORKLOADS)}",
    )
    parser.add_argument("--child-chain", nargs=2, metavar=("ENGINE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_chain:
        return child_chain(args.child_chain[0], int(args.child_chain[1]))
    selected = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in selected if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from {', '.join(WORKLOADS)}")
    sizes = QUICK if args.quick else FULL
    engines = [make() for make in ALL_ENGINES]
    env = environment()
    versions = {e.name: (e.version() if e.available() else "not installed") for e in engines}
    print(f"# autograd_lite benchmark ({sizes.name})\n")
    print(f"`{env['command']}` on Python {env['python']}, {env['platform']}, {env['date']}")
    print("Engines: " + ", ".join(f"{k} {v}".strip() for k, v in versions.items()) + "\n")
    try:
        results = run(sizes, selected, engines)
    except workloads.GradientMismatch as exc:
        print(f"GRADIENT MISMATCH, nothing timed is trustworthy: {exc}", file=sys.stderr)
        return 1
    print("\n".join(targets(results)))
    if args.json:
        document = {
            "environment": env,
            "sizes": dataclasses.asdict(sizes),
            "versions": versions,
            "workloads": {k: dataclasses.asdict(r) for k, r in results.items()},
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
