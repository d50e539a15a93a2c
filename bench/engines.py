"""One adapter per engine: the same graphs, built the way each engine's own users build them.

Every engine answers the same questions (build a deep chain, a wide sum, train an MLP for one
step) and hands back plain floats, so that `bench.workloads` can time them side by side and
check that their gradients agree. An engine that is not installed says so through `available()`;
this module measures nothing itself.
"""

from __future__ import annotations

import importlib.metadata
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import mul
from typing import Any, Protocol

import autograd_lite as al
from autograd_lite import losses, nn

# An MLP's parameters as plain floats: layers, then neurons, then (weights, bias).
Weights = list[list[tuple[list[float], float]]]

# The deep chain is y = y * A + B from y = Y0: it stays finite for any length.
A = 0.5
B = 1.0
Y0 = 0.0


@dataclass(frozen=True)
class Task:
    """One training step's data and loss, the same for every engine.

    ``loss`` is "hinge" (mean hinge loss on labels ±1, plus ``lam`` times the sum of squared
    parameters) or "cross_entropy" (mean softmax cross-entropy on class indices).
    """

    loss: str
    inputs: list[list[float]]
    targets: list[int]
    lam: float = 0.0
    lr: float = 0.05


class Trainer(Protocol):
    """An MLP and its data in one engine, ready to take training steps."""

    def step(self) -> float:
        """Zero the gradients, forward, loss, backward, SGD update; return the loss."""
        ...

    def gradients(self) -> list[float]:
        """The last step's gradients, in `Weights` order (each neuron's w, then its b)."""
        ...


class Engine:
    """The questions every engine answers; a subclass answers them in its own idiom."""

    name = ""
    #: The package to import, for an engine that may be missing ("" for one always here).
    package = ""
    #: The backward pass recurses once per graph level (deep graphs need a raised limit).
    recursive = False
    #: Its graph lives in Python objects, so tracemalloc sees all of its memory.
    traceable_memory = True
    #: What a reader of the table needs to know about how this engine was run.
    note = ""
    #: It replays a step it has seen: a graph built once (the chain, the wide sum) is not its
    #: workload, and those tables say "n/a" for it.
    repeated_steps_only = False

    def available(self) -> bool:
        """Whether the engine can be imported here."""
        if not self.package:
            return True
        try:
            importlib.import_module(self.package)
        except ImportError:
            return False
        return True

    def version(self) -> str:
        """The installed version, for the record."""
        return _distribution_version(self.package) if self.package else ""

    def build_chain(self, n: int) -> Any:
        """y = y * A + B, n times, from leaves A, B and Y0; returns a handle for backward."""
        raise NotImplementedError

    def backward_chain(self, graph: Any) -> list[float]:
        """Backpropagate from the chain's end; return [dy/dA, dy/dB]."""
        raise NotImplementedError

    def build_wide(self, xs: list[float], ys: list[float]) -> Any:
        """The sum of x_i * y_i over fresh leaves x_i, y_i; returns a handle for backward."""
        raise NotImplementedError

    def backward_wide(self, graph: Any) -> list[float]:
        """Backpropagate from the sum; return the gradients of all x_i, then all y_i."""
        raise NotImplementedError

    def trainer(self, weights: Weights, task: Task) -> Trainer:
        """An MLP with these initial weights (ReLU hidden layers, linear output) on the task."""
        raise NotImplementedError


def _distribution_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return ""


# ---------------------------------------------------------------------------------------------
# autograd_lite: the engine's public API, used the way its README shows
# ---------------------------------------------------------------------------------------------


class AutogradLite(Engine):
    """autograd_lite: `Value`, `autograd_lite.sum`, `nn.MLP` and `losses`."""

    name = "autograd_lite"

    def version(self) -> str:
        return al.__version__

    def build_chain(self, n: int) -> Any:
        a, b, y = al.Value(A), al.Value(B), al.Value(Y0)
        for _ in range(n):
            y = y * a + b
        return y, a, b

    def backward_chain(self, graph: Any) -> list[float]:
        y, a, b = graph
        y.backward()
        return [a.grad, b.grad]

    def build_wide(self, xs: list[float], ys: list[float]) -> Any:
        x_leaves = [al.Value(x) for x in xs]
        y_leaves = [al.Value(y) for y in ys]
        # One n-ary node: the engine's idiom for a long sum (Python's sum() makes n nodes).
        total = al.sum([x * y for x, y in zip(x_leaves, y_leaves)])
        return total, x_leaves, y_leaves

    def backward_wide(self, graph: Any) -> list[float]:
        total, x_leaves, y_leaves = graph
        total.backward()
        return [v.grad for v in x_leaves] + [v.grad for v in y_leaves]

    def trainer(self, weights: Weights, task: Task) -> Trainer:
        return _LiteTrainer(weights, task)


def _set_weights(model: Any, weights: Weights) -> None:
    """Copy the shared initial weights into an MLP with layers, neurons, w and b (either engine)."""
    for layer, layer_weights in zip(model.layers, weights, strict=True):
        for neuron, (w, b) in zip(layer.neurons, layer_weights, strict=True):
            for p, x in zip(neuron.w, w, strict=True):
                p.data = x
            neuron.b.data = b


class _LiteTrainer:
    def __init__(self, weights: Weights, task: Task) -> None:
        nin = len(weights[0][0][0])
        sizes = [len(layer) for layer in weights]
        # One output scores a point (a Value); several are class logits (a list).
        self.scorer = nn.MLP(nin, sizes, activation="relu", seed=0) if sizes[-1] == 1 else None
        self.classifier = (
            None if sizes[-1] == 1 else nn.MLP(nin, sizes, activation="relu", seed=0, returns=list)
        )
        self.model: nn.Module[Any] = self.scorer or self.classifier  # type: ignore[assignment]
        _set_weights(self.model, weights)
        self.params = self.model.parameters()
        self.task = task

    def step(self) -> float:
        task = self.task
        self.model.zero_grad()
        if self.scorer is not None:
            scores = [self.scorer(x) for x in task.inputs]
            loss = losses.hinge(scores, task.targets) + losses.l2_penalty(self.params, task.lam)
        else:
            assert self.classifier is not None
            classifier = self.classifier
            per_sample = [
                losses.cross_entropy(classifier(x), t)
                for x, t in zip(task.inputs, task.targets, strict=True)
            ]
            loss = al.sum(per_sample) * (1.0 / len(per_sample))
        loss.backward()
        lr = task.lr
        for p in self.params:
            p.data -= lr * p.grad
        return loss.data

    def gradients(self) -> list[float]:
        return [float(p.grad) for p in self.params]


# ---------------------------------------------------------------------------------------------
# autograd_lite.compile: the same step, traced once and replayed as generated code
# ---------------------------------------------------------------------------------------------


class Compiled(Engine):
    """autograd_lite's training step through `autograd_lite.compile`, as its docs show it."""

    name = "compiled"
    repeated_steps_only = True
    note = (
        "autograd_lite.compile(step): the first step traces and compiles (its time is reported "
        "apart), every later one replays the generated code"
    )

    def version(self) -> str:
        return al.__version__

    def trainer(self, weights: Weights, task: Task) -> Trainer:
        return _CompiledTrainer(weights, task)


class _CompiledTrainer:
    """The autograd_lite model and loss of `_LiteTrainer`, the loss compiled once."""

    def __init__(self, weights: Weights, task: Task) -> None:
        from autograd_lite._compile import compile

        # The same model, initial weights and loss as the graph-mode engine.
        self.graph = _LiteTrainer(weights, task)
        model, params = self.graph.model, self.graph.params
        self.params = params
        self.task = task
        # The batch is an argument: the structure the trace is kept for, and what a loop over
        # the examples runs over.
        self.inputs = [list(x) for x in task.inputs]
        self.targets = list(task.targets)
        if task.loss == "hinge":

            def loss(xs: list[list[float]], ys: list[int]) -> al.Value:
                scores = [model(x) for x in xs]
                return losses.hinge(scores, ys) + losses.l2_penalty(params, task.lam)

        else:

            def loss(xs: list[list[float]], ys: list[int]) -> al.Value:
                per_sample = [losses.cross_entropy(model(x), y) for x, y in zip(xs, ys)]
                return al.sum(per_sample) * (1.0 / len(per_sample))

        self.function = loss
        self.loss = compile(loss)
        self.first_call_seconds: float | None = None

    def compile_samples(self, times: int) -> dict[str, list[float]]:
        """The first call's time, and its parts, for ``times`` fresh compilations of the step.

        Each is a new compile() of the same function, called once on the same batch; the
        gradients it adds are dropped. A first call happens once: one sample is one pause of
        the machine away from a wrong figure, so there are several.
        """
        from autograd_lite._compile import compile

        samples: dict[str, list[float]] = {}
        saved = [p.grad for p in self.params]
        for _ in range(times):
            fresh = compile(self.function)
            start = time.perf_counter()
            fresh(self.inputs, self.targets)
            first = time.perf_counter() - start
            for key, value in [*fresh.traces[0].seconds.items(), ("first call", first)]:
                samples.setdefault(key, []).append(value)
        for p, g in zip(self.params, saved, strict=True):
            p.grad = g
        return samples

    def step(self) -> float:
        al.zero_grad(self.params)
        if self.first_call_seconds is None:
            start = time.perf_counter()
            loss = self.loss(self.inputs, self.targets)
            self.first_call_seconds = time.perf_counter() - start
        else:
            loss = self.loss(self.inputs, self.targets)
        lr = self.task.lr
        for p in self.params:
            p.data -= lr * p.grad
        return float(loss)

    def gradients(self) -> list[float]:
        return [float(p.grad) for p in self.params]


# ---------------------------------------------------------------------------------------------
# micrograd 0.1.0 from PyPI, imported, never copied
# ---------------------------------------------------------------------------------------------


class Micrograd(Engine):
    """micrograd: its `Value` and `nn.MLP`, with Python's sum() as in its README."""

    name = "micrograd"
    package = "micrograd"
    recursive = True
    note = "recursion limit raised and a 512 MiB thread stack where a graph is deep"

    def build_chain(self, n: int) -> Any:
        from micrograd.engine import Value

        a, b, y = Value(A), Value(B), Value(Y0)
        for _ in range(n):
            y = y * a + b
        return y, a, b

    def backward_chain(self, graph: Any) -> list[float]:
        y, a, b = graph
        y.backward()
        return [float(a.grad), float(b.grad)]

    def build_wide(self, xs: list[float], ys: list[float]) -> Any:
        from micrograd.engine import Value

        x_leaves = [Value(x) for x in xs]
        y_leaves = [Value(y) for y in ys]
        total = sum(x * y for x, y in zip(x_leaves, y_leaves))
        return total, x_leaves, y_leaves

    def backward_wide(self, graph: Any) -> list[float]:
        total, x_leaves, y_leaves = graph
        total.backward()
        return [float(v.grad) for v in x_leaves] + [float(v.grad) for v in y_leaves]

    def trainer(self, weights: Weights, task: Task) -> Trainer:
        return _MicrogradTrainer(weights, task)


def _micrograd_exp(x: Any) -> Any:
    """e ** x for micrograd, which has no exp: written in its own closure style."""
    from micrograd.engine import Value

    out = Value(math.exp(x.data), (x,), "exp")

    def _backward() -> None:
        x.grad += out.data * out.grad

    out._backward = _backward
    return out


def _micrograd_log(x: Any) -> Any:
    """log(x) for micrograd, which has no log: written in its own closure style."""
    from micrograd.engine import Value

    out = Value(math.log(x.data), (x,), "log")

    def _backward() -> None:
        x.grad += out.grad / x.data

    out._backward = _backward
    return out


class _MicrogradTrainer:
    def __init__(self, weights: Weights, task: Task) -> None:
        from micrograd.nn import MLP

        nin = len(weights[0][0][0])
        self.model = MLP(nin, [len(layer) for layer in weights])
        _set_weights(self.model, weights)
        self.params = self.model.parameters()
        self.task = task

    def step(self) -> float:
        task = self.task
        model = self.model
        model.zero_grad()
        if task.loss == "hinge":
            # micrograd's own demo: the loss exactly as its README notebook writes it.
            scores = [model(x) for x in task.inputs]
            margins = [(1 + -t * s).relu() for t, s in zip(task.targets, scores, strict=True)]
            data_loss = sum(margins) * (1.0 / len(margins))
            loss = data_loss + task.lam * sum(p * p for p in self.params)
        else:
            per_sample = []
            for x, t in zip(task.inputs, task.targets, strict=True):
                logits = model(x)
                shift = max(z.data for z in logits)
                exps = [_micrograd_exp(z - shift) for z in logits]
                per_sample.append(_micrograd_log(sum(exps)) - (logits[t] - shift))
            loss = sum(per_sample) * (1.0 / len(per_sample))
        loss.backward()
        lr = task.lr
        for p in self.params:
            p.data -= lr * p.grad
        return float(loss.data)

    def gradients(self) -> list[float]:
        return [float(p.grad) for p in self.params]


# ---------------------------------------------------------------------------------------------
# Hand-written backprop on floats and lists: no graph, the practical floor for pure Python
# ---------------------------------------------------------------------------------------------


class HandWritten(Engine):
    """Forward and backward written out by hand for each workload: floats and lists only."""

    name = "hand-written"

    def build_chain(self, n: int) -> Any:
        # The forward keeps each step's input: the backward needs y to differentiate y * a.
        tape: list[float] = []
        y = Y0
        for _ in range(n):
            tape.append(y)
            y = y * A + B
        return tape

    def backward_chain(self, graph: Any) -> list[float]:
        tape: list[float] = graph
        upstream = 1.0
        d_a = 0.0
        d_b = 0.0
        for y in reversed(tape):
            d_b += upstream
            d_a += y * upstream
            upstream *= A
        return [d_a, d_b]

    def build_wide(self, xs: list[float], ys: list[float]) -> Any:
        total = sum(map(mul, xs, ys))
        return total, xs, ys

    def backward_wide(self, graph: Any) -> list[float]:
        _, xs, ys = graph
        # d/dx_i = y_i and d/dy_i = x_i, times the upstream gradient 1.0.
        return [1.0 * y for y in ys] + [1.0 * x for x in xs]

    def trainer(self, weights: Weights, task: Task) -> Trainer:
        return _HandTrainer(weights, task)


class _HandTrainer:
    """The MLP layer by layer over the whole batch, so that the inner loops run in C.

    A sample-by-sample version of the same arithmetic (a Python loop per neuron) took about
    twice as long here: the floor is what careful pure Python achieves, not a strawman.
    """

    # How a neuron's products are added up in the forward pass. `bench/digits_bound.py` sets
    # math.fsum, the engine's `dot`, to time this step with the engine's arithmetic.
    forward_sum: Callable[[Iterable[float]], float] = sum

    def __init__(self, weights: Weights, task: Task) -> None:
        self.w = [[list(w) for w, _ in layer] for layer in weights]
        self.b = [[b for _, b in layer] for layer in weights]
        self.grad_w: list[list[list[float]]] = []
        self.grad_b: list[list[float]] = []
        self.task = task

    def step(self) -> float:
        task = self.task
        weights, biases = self.w, self.b
        add_up = self.forward_sum
        last = len(weights) - 1
        # Forward over the batch, keeping each layer's inputs and pre-activations (one row each).
        layer_inputs: list[list[list[float]]] = []
        pre_activations: list[list[list[float]]] = []
        h = task.inputs
        for i, (layer_w, layer_b) in enumerate(zip(weights, biases)):
            layer_inputs.append(h)
            z = [[add_up(map(mul, w, x)) + b for w, b in zip(layer_w, layer_b)] for x in h]
            pre_activations.append(z)
            h = z if i == last else [[zi if zi > 0.0 else 0.0 for zi in row] for row in z]
        n = len(h)
        total = 0.0
        delta: list[list[float]] = []  # d(loss)/d(pre-activation), one row per sample
        for outputs, target in zip(h, task.targets, strict=True):
            row = _loss_and_delta(task, outputs, target, n)
            total += row.pop()
            delta.append(row)
        grad_w: list[list[list[float]]] = [[] for _ in weights]
        grad_b: list[list[float]] = [[] for _ in weights]
        for i in range(last, -1, -1):
            # Columns over the batch: d/dw_jk = sum over samples of delta_j * input_k.
            delta_columns = list(zip(*delta))
            input_columns = list(zip(*layer_inputs[i]))
            grad_w[i] = [[sum(map(mul, d, x)) for x in input_columns] for d in delta_columns]
            grad_b[i] = [sum(d) for d in delta_columns]
            if i > 0:
                # Back through the weights (their columns), then through the ReLU.
                weight_columns = list(zip(*weights[i]))
                delta = [
                    [sum(map(mul, c, d)) if zi > 0.0 else 0.0 for c, zi in zip(weight_columns, z)]
                    for d, z in zip(delta, pre_activations[i - 1])
                ]
        lam = task.lam
        lr = task.lr
        for layer_w, layer_b, layer_gw, layer_gb in zip(weights, biases, grad_w, grad_b):
            for j, w in enumerate(layer_w):
                if lam:
                    # lam * sum(p**2): d/dp = 2 * lam * p
                    total += lam * (sum(map(mul, w, w)) + layer_b[j] * layer_b[j])
                    layer_gw[j] = [g + 2.0 * lam * wi for g, wi in zip(layer_gw[j], w)]
                    layer_gb[j] += 2.0 * lam * layer_b[j]
                layer_w[j] = [wi - lr * g for wi, g in zip(w, layer_gw[j])]
                layer_b[j] -= lr * layer_gb[j]
        self.grad_w, self.grad_b = grad_w, grad_b
        return total

    def gradients(self) -> list[float]:
        out: list[float] = []
        for layer_gw, layer_gb in zip(self.grad_w, self.grad_b):
            for gw, gb in zip(layer_gw, layer_gb):
                out.extend(gw)
                out.append(gb)
        return out


def _loss_and_delta(task: Task, outputs: list[float], target: int, n: int) -> list[float]:
    """d(loss)/d(output) for one sample of n, with the sample's loss appended at the end."""
    if task.loss == "hinge":
        # mean of relu(1 - t * s): d/ds = -t / n where the margin is violated, else 0
        margin = 1.0 - target * outputs[0]
        if margin > 0.0:
            return [-target / n, margin / n]
        return [0.0, 0.0]
    # mean of log(sum(exp(z))) - z_t: d/dz_k = (softmax_k - [k == t]) / n
    shift = max(outputs)
    exps = [math.exp(z - shift) for z in outputs]
    total = sum(exps)
    delta = [e / total / n for e in exps]
    delta[target] -= 1.0 / n
    delta.append((math.log(total) - (outputs[target] - shift)) / n)
    return delta


# ---------------------------------------------------------------------------------------------
# PyTorch with 0-dim float64 tensors: one tensor per scalar, as micrograd uses Values
# ---------------------------------------------------------------------------------------------


class Torch(Engine):
    """PyTorch on 0-dim float64 tensors, one tensor per scalar, micrograd's way."""

    name = "torch"
    package = "torch"
    traceable_memory = False
    note = "0-dim float64 tensors; its graph lives in C++, invisible to tracemalloc"

    def build_chain(self, n: int) -> Any:
        import torch

        a = torch.tensor(A, dtype=torch.float64, requires_grad=True)
        b = torch.tensor(B, dtype=torch.float64, requires_grad=True)
        y = torch.tensor(Y0, dtype=torch.float64)
        for _ in range(n):
            y = y * a + b
        return y, a, b

    def backward_chain(self, graph: Any) -> list[float]:
        y, a, b = graph
        y.backward()
        return [a.grad.item(), b.grad.item()]

    def build_wide(self, xs: list[float], ys: list[float]) -> Any:
        import torch

        x_leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
        y_leaves = [torch.tensor(y, dtype=torch.float64, requires_grad=True) for y in ys]
        # torch.stack(...).sum() is PyTorch's one-node sum, as autograd_lite.sum is ours.
        total = torch.stack([x * y for x, y in zip(x_leaves, y_leaves)]).sum()
        return total, x_leaves, y_leaves

    def backward_wide(self, graph: Any) -> list[float]:
        total, x_leaves, y_leaves = graph
        total.backward()
        return [v.grad.item() for v in x_leaves] + [v.grad.item() for v in y_leaves]

    def trainer(self, weights: Weights, task: Task) -> Trainer:
        return _TorchTrainer(weights, task)


class _TorchTrainer:
    def __init__(self, weights: Weights, task: Task) -> None:
        import torch

        def leaf(x: float) -> Any:
            return torch.tensor(x, dtype=torch.float64, requires_grad=True)

        self.layers = [[([leaf(x) for x in w], leaf(b)) for w, b in layer] for layer in weights]
        self.params = [p for layer in self.layers for w, b in layer for p in (*w, b)]
        self.task = task

    def _forward(self, x: list[float]) -> list[Any]:
        import torch

        h: list[Any] = list(x)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            z = [sum((wi * hi for wi, hi in zip(w, h)), b) for w, b in layer]
            h = z if i == last else [torch.relu(zi) for zi in z]
        return h

    def step(self) -> float:
        import torch

        task = self.task
        for p in self.params:
            p.grad = None
        if task.loss == "hinge":
            scores = [self._forward(x)[0] for x in task.inputs]
            margins = [torch.relu(1 - t * s) for t, s in zip(task.targets, scores, strict=True)]
            data_loss = sum(margins) * (1.0 / len(margins))
            loss = data_loss + task.lam * sum(p * p for p in self.params)
        else:
            per_sample = []
            for x, t in zip(task.inputs, task.targets, strict=True):
                logits = self._forward(x)
                shift = max(z.item() for z in logits)
                exps: list[Any] = [torch.exp(z - shift) for z in logits]
                per_sample.append(torch.log(sum(exps)) - (logits[t] - shift))
            loss = sum(per_sample) * (1.0 / len(per_sample))
        loss.backward()
        with torch.no_grad():
            for p in self.params:
                p -= task.lr * p.grad
        return float(loss.item())

    def gradients(self) -> list[float]:
        return [p.grad.item() for p in self.params]


ALL_ENGINES: list[type[Engine]] = [AutogradLite, Compiled, Micrograd, HandWritten, Torch]
