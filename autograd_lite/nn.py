"""Neural-network building blocks on the engine: `Module`, `Neuron`, `Layer` and `MLP`.

Each neuron is an n-ary `dot` node, a `+ b` node and an activation node: every gradient comes
from the engine's backward sweep, none is computed here. This module owns parameter bookkeeping
(stable order, dotted names, state dicts) and seeded initialisation; losses, optimizers and
checkpoints live in `losses`, `optim` and `checkpoint`.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from autograd_lite.engine import Value, dot, zero_grad

__all__ = ["ACTIVATIONS", "LEAKY_RELU_SLOPE", "MLP", "Layer", "Module", "Neuron"]

# The negative-side slope of "leaky_relu" (PyTorch's default too).
LEAKY_RELU_SLOPE: Final = 0.01


def _leaky_relu(x: Value) -> Value:
    return x.leaky_relu(LEAKY_RELU_SLOPE)


# Each activation as a function of a Value; None means the identity (no node at all).
_ACTIVATION_FUNCTIONS: Final[dict[str, Callable[[Value], Value] | None]] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "linear": None,
    "leaky_relu": _leaky_relu,
}

ACTIVATIONS: Final = tuple(_ACTIVATION_FUNCTIONS)

Input = Value | float


class Module:
    """A container of parameters: the bookkeeping shared by `Neuron`, `Layer` and `MLP`.

    Parameters are found by walking the public attributes in the order they were assigned:
    a `Value` is a parameter, a `Module` or a list/tuple is walked into, anything else (sizes,
    names) is ignored, and attributes starting with ``_`` are private. A subclass only has to
    assign its parameters and sub-modules, like PyTorch's ``nn.Module``.
    """

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Every parameter with its dotted name (``layers.0.neurons.3.w.1``), in a stable order."""
        named: list[tuple[str, Value]] = []
        seen: set[int] = set()  # a parameter shared by two modules is listed once, first name wins
        walked: set[int] = set()  # a container reachable twice (or in a cycle) is walked once
        # An explicit stack, children pushed in reverse: a pre-order walk without recursion.
        stack: list[tuple[str, object]] = [("", self)]
        while stack:
            prefix, obj = stack.pop()
            if isinstance(obj, Value):
                if id(obj) not in seen:
                    seen.add(id(obj))
                    named.append((prefix, obj))
                continue
            children: list[tuple[str, object]]
            if isinstance(obj, Module):
                if id(obj) in walked:
                    continue
                walked.add(id(obj))
                children = [(k, v) for k, v in vars(obj).items() if not k.startswith("_")]
            elif isinstance(obj, list | tuple):
                if id(obj) in walked:  # a list may hold itself
                    continue
                walked.add(id(obj))
                children = [(str(i), v) for i, v in enumerate(obj)]
            else:
                continue
            for name, child in reversed(children):
                if isinstance(child, Value | Module | list | tuple):
                    stack.append((f"{prefix}.{name}" if prefix else name, child))
        return named

    def parameters(self) -> list[Value]:
        """Every parameter, in the order of `named_parameters()`."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 (call it before each backward pass)."""
        zero_grad(self.parameters())

    def state_dict(self) -> dict[str, float]:
        """The parameters' values by dotted name: plain floats, ready for JSON."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, float]) -> None:
        """Set every parameter from ``state``; all or nothing, checked before anything changes.

        Raises:
            TypeError: ``state`` is not a mapping, or a value is not a real number.
            ValueError: a key is missing or unexpected, or a value is not finite.
        """
        if not isinstance(state, Mapping):
            msg = f"load_state_dict() needs a mapping of names to floats, got {type(state)}"
            raise TypeError(msg)
        named = self.named_parameters()
        names = {name for name, _ in named}
        missing = [name for name, _ in named if name not in state]
        if missing:
            msg = f"load_state_dict() is missing {len(missing)} parameter(s), first {missing[0]!r}"
            raise ValueError(msg)
        unexpected = [key for key in state if key not in names]
        if unexpected:
            msg = f"load_state_dict() got an unexpected parameter {unexpected[0]!r}"
            raise ValueError(msg)
        values: list[float] = []
        for name, _ in named:
            value = state[name]
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                msg = (
                    f"load_state_dict() needs a real number for {name!r}, "
                    f"got {type(value).__name__}: {value!r}"
                )
                raise TypeError(msg)
            x = float(value)
            if not math.isfinite(x):
                msg = f"load_state_dict() needs a finite number for {name!r}, got {x!r}"
                raise ValueError(msg)
            values.append(x)
        # Everything is checked: only now change the parameters.
        for (_, p), x in zip(named, values, strict=True):
            p.data = x

    def num_parameters(self) -> int:
        """How many scalar parameters the module has."""
        return len(self.named_parameters())

    def _label_parameters(self) -> None:
        """Label each parameter with its dotted name, so that graph drawings show it."""
        for name, p in self.named_parameters():
            p.label = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.num_parameters()} parameters)"


# ---------------------------------------------------------------------------------------------
# Checking arguments and initialising
# ---------------------------------------------------------------------------------------------


def _positive_int(n: object, where: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        msg = f"{where} needs a positive int, got {n!r}"
        raise ValueError(msg)
    return n


def _activation(name: object, where: str) -> str:
    if not isinstance(name, str) or name not in _ACTIVATION_FUNCTIONS:
        msg = f"{where} activation must be one of {', '.join(ACTIVATIONS)}; got {name!r}"
        raise ValueError(msg)
    return name


def _generator(seed: int | None, rng: random.Random | None, where: str) -> random.Random:
    """The random generator to draw weights from: the caller's, a seeded one, or a fresh one."""
    if seed is not None and rng is not None:
        msg = f"{where} takes seed= or rng=, not both"
        raise ValueError(msg)
    if rng is not None:
        if not isinstance(rng, random.Random):
            msg = f"{where} rng must be a random.Random, got {type(rng).__name__}"
            raise TypeError(msg)
        return rng
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        msg = f"{where} seed must be an int or None, got {seed!r}"
        raise TypeError(msg)
    # No seed: a fresh generator seeded by the OS, as PyTorch does; never the global `random`.
    return random.Random(seed)


def _init_bound(activation: str, fan_in: int, fan_out: int) -> float:
    """Half-width of the uniform distribution the weights are drawn from.

    He/Kaiming (variance 2/fan_in) keeps the signal's scale through ReLU layers, which zero
    half of their inputs; Glorot/Xavier (variance 2/(fan_in + fan_out)) suits activations that
    are linear near 0. A uniform(-a, a) has variance a**2 / 3.
    """
    if activation in ("relu", "leaky_relu"):
        return math.sqrt(6.0 / fan_in)
    return math.sqrt(6.0 / (fan_in + fan_out))


def _as_inputs(x: Sequence[Input], nin: int, where: str) -> list[Value]:
    """The inputs as Values (floats become leaves), after checking how many there are."""
    try:
        n = len(x)
    except TypeError:
        msg = f"{where} needs a sequence of {nin} inputs, got {type(x).__name__}: {x!r}"
        raise TypeError(msg) from None
    if n != nin:
        msg = f"{where} needs {nin} inputs, got {n}"
        raise ValueError(msg)
    try:
        return [v if isinstance(v, Value) else Value(v) for v in x]
    except TypeError:
        bad = next((v for v in x if not isinstance(v, Value | numbers.Real)), None)
        if bad is None:
            raise  # not a wrong type of input: let the original error speak
        msg = f"{where} inputs must be Values or real numbers, got {type(bad).__name__}: {bad!r}"
        raise TypeError(msg) from None


# ---------------------------------------------------------------------------------------------
# Neuron, Layer, MLP
# ---------------------------------------------------------------------------------------------


class Neuron(Module):
    """One unit: ``activation(w · x + b)``, with weights ``.w`` and bias ``.b``.

    Weights are drawn uniformly with He scaling for relu/leaky_relu and Glorot scaling
    otherwise (``fan_out`` is the width of the layer the neuron sits in); the bias starts at 0.

    >>> n = Neuron(2, activation="tanh", seed=0)
    >>> y = n([1.0, -2.0])
    >>> y.backward()
    >>> [p.label for p in n.parameters()]
    ['w.0', 'w.1', 'b']
    """

    def __init__(
        self,
        nin: int,
        activation: str = "relu",
        *,
        seed: int | None = None,
        rng: random.Random | None = None,
        fan_out: int = 1,
    ) -> None:
        self.nin = _positive_int(nin, "Neuron() nin")
        self.activation = _activation(activation, "Neuron()")
        fan_out = _positive_int(fan_out, "Neuron() fan_out")
        generator = _generator(seed, rng, "Neuron()")
        bound = _init_bound(activation, nin, fan_out)
        self.w = [Value(generator.uniform(-bound, bound)) for _ in range(nin)]
        self.b = Value(0.0)
        self._activate = _ACTIVATION_FUNCTIONS[activation]
        self._label_parameters()

    def __call__(self, x: Sequence[Input]) -> Value:
        """The neuron's output for the inputs ``x`` (floats or Values)."""
        return self._forward(_as_inputs(x, self.nin, "Neuron()"))

    def _forward(self, x: list[Value]) -> Value:
        # One n-ary dot node instead of 2n binary nodes: a small graph and a fast sweep.
        out = dot(self.w, x) + self.b
        activate = self._activate
        return out if activate is None else activate(out)

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs; calling it always returns a list.

    >>> layer = Layer(3, 2, seed=0)
    >>> len(layer([1.0, 2.0, 3.0]))
    2
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "relu",
        *,
        seed: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.nin = _positive_int(nin, "Layer() nin")
        self.nout = _positive_int(nout, "Layer() nout")
        self.activation = _activation(activation, "Layer()")
        generator = _generator(seed, rng, "Layer()")
        self.neurons = [Neuron(nin, activation, rng=generator, fan_out=nout) for _ in range(nout)]
        self._label_parameters()

    def __call__(self, x: Sequence[Input]) -> list[Value]:
        """The layer's outputs for the inputs ``x``, one per neuron."""
        return self._forward(_as_inputs(x, self.nin, "Layer()"))

    def _forward(self, x: list[Value]) -> list[Value]:
        return [neuron._forward(x) for neuron in self.neurons]

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multi-layer perceptron: hidden layers use ``activation``, the last layer is linear.

    ``MLP(2, [16, 16, 1])`` maps 2 inputs through two hidden layers of 16 to one output.
    Calling it returns a single `Value` when the last layer has one output, else a list.

    >>> model = MLP(2, [16, 16, 1], seed=0)
    >>> score = model([0.5, -1.0])
    >>> score.backward()
    >>> model.layers[0].neurons[3].w[1].label
    'layers.0.neurons.3.w.1'
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        *,
        seed: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.nin = _positive_int(nin, "MLP() nin")
        if isinstance(nouts, str | bytes) or not isinstance(nouts, Sequence) or not nouts:
            msg = f"MLP() nouts must be a non-empty list of layer sizes, got {nouts!r}"
            raise ValueError(msg)
        self.nouts = tuple(_positive_int(n, "MLP() nouts entry") for n in nouts)
        self.activation = _activation(activation, "MLP()")
        generator = _generator(seed, rng, "MLP()")
        sizes = (nin, *self.nouts)
        last = len(self.nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation if i < last else "linear", rng=generator)
            for i in range(len(self.nouts))
        ]
        self._label_parameters()

    # Any: a Value when the last layer has one output, else a list[Value]. The type depends on a
    # size known only at run time, and micrograd's `model(x).data` idiom must type-check.
    def __call__(self, x: Sequence[Input]) -> Any:
        """The network's output for the inputs ``x``: a Value, or a list for several outputs."""
        # Floats become Values once here, not once per neuron of the first layer.
        values = _as_inputs(x, self.nin, "MLP()")
        for layer in self.layers:
            values = layer._forward(values)
        return values[0] if len(values) == 1 else values

    def __repr__(self) -> str:
        return f"MLP({self.nin}, {list(self.nouts)}, activation={self.activation!r})"
