"""Neural-network building blocks on the engine: `Module`, `Neuron`, `Layer` and `MLP`.

Each neuron is an n-ary `dot` node, a `+ b` node and an activation node: every gradient comes
from the engine's backward sweep, none is computed here. This module owns parameter bookkeeping
(stable order, dotted names, state dicts) and seeded initialisation; losses, optimizers and
checkpoints live in `losses`, `optim` and `checkpoint`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Generic, cast, overload

from autograd_lite._checks import choice, integer, real, shown
from autograd_lite.engine import Value, dot, zero_grad

__all__ = ["ACTIVATIONS", "LEAKY_RELU_SLOPE", "MLP", "Layer", "Module", "Neuron"]

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    # What calling a module returns. The default, Any, is for a subclass that does not say
    # (``class Net(Module)``), so that PyTorch's habit type-checks; a default needs 3.13's
    # typing, hence typing_extensions, which only the type checker reads.
    _Out = TypeVar("_Out", covariant=True, default=Any)
else:
    from typing import TypeVar

    _Out = TypeVar("_Out", covariant=True)

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


class Module(Generic[_Out]):
    """A container of parameters: the bookkeeping shared by `Neuron`, `Layer` and `MLP`.

    Parameters are found by walking the public attributes in the order they were assigned:
    a `Value` is a parameter, a `Module` or a list/tuple is walked into, anything else (sizes,
    names) is ignored, and attributes starting with ``_`` are private. A subclass only has to
    assign its parameters and sub-modules, and compute its output in ``__call__``, like
    PyTorch's ``nn.Module`` and its ``forward``.

    For the type checker, ``Module[Out]`` is a module whose call returns ``Out``: `Neuron` is a
    ``Module[Value]``, `Layer` a ``Module[list[Value]]``, and a plain ``Module`` (a subclass
    that does not say, or a model read from a checkpoint) a ``Module[Any]``.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> _Out:
        """The module's output for its inputs: every subclass that computes one defines it."""
        msg = f"{type(self).__name__} defines no __call__, so it cannot compute an output"
        raise NotImplementedError(msg)

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
            msg = f"load_state_dict() needs a mapping of names to floats, got {shown(state)}"
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
        values = [
            real(state[name], f"load_state_dict() state[{name!r}]", finite=True)
            for name, _ in named
        ]
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


def _size(n: object, where: str) -> int:
    return integer(n, where, low=1)


def _activation(name: str, where: str) -> str:
    return choice(name, ACTIVATIONS, f"{where} activation")


def _generator(seed: int | None, rng: random.Random | None, where: str) -> random.Random:
    """The random generator to draw weights from: the caller's, a seeded one, or a fresh one."""
    if seed is not None and rng is not None:
        msg = f"{where} takes seed= or rng=, not both"
        raise ValueError(msg)
    if rng is not None:
        if not isinstance(rng, random.Random):
            msg = f"{where} rng must be a random.Random, got {shown(rng)}"
            raise TypeError(msg)
        return rng
    if seed is not None:
        integer(seed, f"{where} seed")
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
        msg = f"{where} needs a sequence of {nin} inputs, got {shown(x)}"
        raise TypeError(msg) from None
    if n != nin:
        msg = f"{where} needs {nin} inputs, got {n}"
        raise ValueError(msg)
    try:
        return [v if isinstance(v, Value) else Value(v) for v in x]
    except (TypeError, ValueError, OverflowError):
        # Only on failure: name the first input that is neither a Value nor a real number.
        for i, v in enumerate(x):
            if not isinstance(v, Value):
                real(v, f"{where} input {i}")
        raise  # every input is fine: let the original error speak


# ---------------------------------------------------------------------------------------------
# Neuron, Layer, MLP
# ---------------------------------------------------------------------------------------------


class Neuron(Module[Value]):
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
        self.nin = _size(nin, "Neuron() nin")
        self.activation = _activation(activation, "Neuron()")
        fan_out = _size(fan_out, "Neuron() fan_out")
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


class Layer(Module[list[Value]]):
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
        self.nin = _size(nin, "Layer() nin")
        self.nout = _size(nout, "Layer() nout")
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


class MLP(Module[_Out]):
    """A multi-layer perceptron: hidden layers use ``activation``, the last layer is linear.

    ``MLP(2, [16, 16, 1])`` maps 2 inputs through two hidden layers of 16 to one output, and
    calling it returns that output as one `Value`, as micrograd's does. A network with several
    outputs says so: ``MLP(2, [8, 3], returns=list)``, and calling it returns a list of 3 Values
    (``returns=list`` gives a list for one output too, PyTorch's output-vector habit).

    Why a keyword: the type checker must know what a call returns from the constructor call
    alone, and to it ``[16, 16, 1]`` and ``[8, 3]`` are both ``list[int]``, so the last size
    cannot decide without a type that lies for one of them. ``returns=`` can: ``MLP(2, [16, 16,
    1])`` is an ``MLP[Value]`` (``model(x).data`` and a list of scores for a loss type-check),
    ``MLP(2, [8, 3], returns=list)`` an ``MLP[list[Value]]`` (``model(x)[k]``), and neither is
    ever wrong at run time: a network with several outputs but no ``returns=list`` is refused,
    with the fix in the message. A ``returns`` chosen at run time gives ``MLP[Value |
    list[Value]]``, whose calls are either, and a plain ``MLP`` annotation means ``MLP[Any]``.

    >>> model = MLP(2, [16, 16, 1], seed=0)
    >>> score = model([0.5, -1.0])
    >>> score.backward()
    >>> model.layers[0].neurons[3].w[1].label
    'layers.0.neurons.3.w.1'
    >>> classifier = MLP(2, [8, 3], returns=list, seed=0)
    >>> len(classifier([0.5, -1.0]))
    3
    >>> MLP(2, [8, 3])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: MLP() nouts [8, 3] end in 3 outputs, which a call returns as a list: ...
    """

    @overload
    def __init__(
        self: MLP[Value],
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        *,
        seed: int | None = None,
        rng: random.Random | None = None,
        returns: type[Value] = Value,
    ) -> None: ...

    @overload
    def __init__(
        self: MLP[list[Value]],
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        *,
        seed: int | None = None,
        rng: random.Random | None = None,
        returns: type[list[Any]],
    ) -> None: ...

    @overload
    def __init__(
        self: MLP[Value | list[Value]],
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        *,
        seed: int | None = None,
        rng: random.Random | None = None,
        returns: type[Value] | type[list[Any]],
    ) -> None: ...

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        *,
        seed: int | None = None,
        rng: random.Random | None = None,
        returns: type[Value] | type[list[Any]] = Value,
    ) -> None:
        self.nin = _size(nin, "MLP() nin")
        if isinstance(nouts, str | bytes) or not isinstance(nouts, Sequence):
            msg = f"MLP() nouts must be a list of layer sizes, got {shown(nouts)}"
            raise TypeError(msg)
        if not nouts:
            msg = "MLP() nouts must be a non-empty list of layer sizes, got []"
            raise ValueError(msg)
        self.nouts = tuple(_size(n, f"MLP() nouts[{i}]") for i, n in enumerate(nouts))
        self.activation = _activation(activation, "MLP()")
        generator = _generator(seed, rng, "MLP()")
        if returns is not Value and returns is not list:
            msg = f"MLP() returns must be Value or list, got {shown(returns)}"
            raise TypeError(msg)
        if returns is Value and self.nouts[-1] != 1:
            msg = (
                f"MLP() nouts {list(self.nouts)} end in {self.nouts[-1]} outputs, which a call "
                "returns as a list: pass returns=list (returns=Value, the default, is for one "
                "output)"
            )
            raise ValueError(msg)
        self._returns_list = returns is list
        sizes = (nin, *self.nouts)
        last = len(self.nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation if i < last else "linear", rng=generator)
            for i in range(len(self.nouts))
        ]
        self._label_parameters()

    @property
    def returns(self) -> type[Value] | type[list[Any]]:
        """What a call returns: `Value` (one output) or ``list`` (every output, in order)."""
        return list if self._returns_list else Value

    def __call__(self, x: Sequence[Input]) -> _Out:
        """The network's output for the inputs ``x``: one Value, or a list with returns=list."""
        # Floats become Values once here, not once per neuron of the first layer.
        values = _as_inputs(x, self.nin, "MLP()")
        for layer in self.layers:
            values = layer._forward(values)
        # The casts are what the constructor's overloads promise: _Out is list[Value] exactly
        # when returns=list, and Value otherwise, which the constructor allowed for one output.
        if self._returns_list:
            return cast(_Out, values)
        if len(values) != 1:  # only if someone replaced the last layer since
            msg = (
                f"MLP() was built with returns=Value, but its last layer has {len(values)} outputs"
            )
            raise ValueError(msg)
        return cast(_Out, values[0])

    def __repr__(self) -> str:
        returns = ", returns=list" if self._returns_list else ""
        return f"MLP({self.nin}, {list(self.nouts)}, activation={self.activation!r}{returns})"
