"""Tests of autograd_lite.nn: gradients against textbook backprop, naming, init, state dicts.

The central test builds random MLPs and checks that the engine's gradients equal a hand-written
layer-by-layer backprop (the delta rule, in plain Python floats): backprop is reverse
accumulation on the network's graph.
"""

from __future__ import annotations

import doctest
import math
import random
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_lite import Value, checkpoint, datasets, dot, losses, nn, no_grad, optim
from autograd_lite.nn import ACTIVATIONS, LEAKY_RELU_SLOPE, MLP, Layer, Module, Neuron

# ---------------------------------------------------------------------------------------------
# The textbook: forward and backward of an MLP in plain floats
# ---------------------------------------------------------------------------------------------

Matrix = list[list[float]]


def _bad(x: object) -> Any:
    """An argument of the wrong type, on purpose (keeps mypy quiet in error tests)."""
    return x


def _f(activation: str, z: float) -> float:
    if activation == "relu":
        return z if z > 0 else 0.0
    if activation == "leaky_relu":
        return z if z > 0 else LEAKY_RELU_SLOPE * z
    if activation == "tanh":
        return math.tanh(z)
    if activation == "sigmoid":
        return 1.0 / (1.0 + math.exp(-z))
    return z


def _f_prime(activation: str, z: float) -> float:
    if activation == "relu":
        return 1.0 if z > 0 else 0.0
    if activation == "leaky_relu":
        return 1.0 if z > 0 else LEAKY_RELU_SLOPE
    if activation == "tanh":
        return 1.0 - math.tanh(z) ** 2
    if activation == "sigmoid":
        s = 1.0 / (1.0 + math.exp(-z))
        return s * (1.0 - s)
    return 1.0


class Backprop:
    """The delta rule for L = sum_j c_j * out_j, with a magnitude bound for the rounding error."""

    def __init__(
        self, weights: list[Matrix], biases: list[list[float]], activation: str, x: list[float]
    ) -> None:
        self.weights, self.biases, self.activation = weights, biases, activation
        self.activations = [x]  # a^0 = x, a^1, ..., a^L
        self.zs: list[list[float]] = []
        last = len(weights) - 1
        a = x
        for layer, (W, b) in enumerate(zip(weights, biases, strict=True)):
            z = []
            for row, bias in zip(W, b, strict=True):
                total = 0.0
                for w, v in zip(row, a, strict=True):
                    total += w * v
                z.append(total + bias)
            self.zs.append(z)
            a = z if layer == last else [_f(activation, zi) for zi in z]
            self.activations.append(a)

    def backward(self, c: list[float]) -> tuple[list[Matrix], list[list[float]], list[float]]:
        """Gradients of every weight, bias and input (and their error bounds, in self.bound_*)."""
        n_layers = len(self.weights)
        grad_w: list[Matrix] = [[] for _ in range(n_layers)]
        grad_b: list[list[float]] = [[] for _ in range(n_layers)]
        bound_w: list[Matrix] = [[] for _ in range(n_layers)]
        bound_b: list[list[float]] = [[] for _ in range(n_layers)]
        delta = list(c)  # the output layer is linear: dL/dz^L = c
        magnitude = [abs(ci) for ci in c]  # the same sweep on absolute values: error scale
        grad_x: list[float] = []
        for layer in reversed(range(n_layers)):
            a_prev = self.activations[layer]
            grad_w[layer] = [[d * a for a in a_prev] for d in delta]
            grad_b[layer] = list(delta)
            bound_w[layer] = [[m * abs(a) for a in a_prev] for m in magnitude]
            bound_b[layer] = list(magnitude)
            W = self.weights[layer]
            # Back through the transposed weights.
            back = [sum(W[i][j] * delta[i] for i in range(len(delta))) for j in range(len(a_prev))]
            back_m = [
                sum(abs(W[i][j]) * magnitude[i] for i in range(len(delta)))
                for j in range(len(a_prev))
            ]
            if layer == 0:
                grad_x = back
                self.bound_x = back_m
            else:
                slopes = [_f_prime(self.activation, z) for z in self.zs[layer - 1]]
                delta = [g * s for g, s in zip(back, slopes, strict=True)]
                magnitude = [g * abs(s) for g, s in zip(back_m, slopes, strict=True)]
        self.bound_w, self.bound_b = bound_w, bound_b
        return grad_w, grad_b, grad_x


def _close(engine: float, textbook: float, scale: float, what: str) -> None:
    """Equal to 1e-12 relative to the size of the terms that were summed (their magnitude)."""
    tolerance = 1e-12 * scale + 1e-300
    assert abs(engine - textbook) <= tolerance, (
        f"{what}: engine {engine!r}, textbook {textbook!r}, scale {scale!r}"
    )


def _weights(model: MLP[Any]) -> tuple[list[Matrix], list[list[float]]]:
    weights = [[[w.data for w in n.w] for n in layer.neurons] for layer in model.layers]
    biases = [[n.b.data for n in layer.neurons] for layer in model.layers]
    return weights, biases


def _check_against_backprop(model: MLP[Any], x: list[float], c: list[float]) -> None:
    inputs = [Value(v) for v in x]
    out = model(inputs)
    outs = out if model.returns is list else [out]
    loss = dot(c, outs)
    model.zero_grad()
    loss.backward()

    weights, biases = _weights(model)
    textbook = Backprop(weights, biases, model.activation, x)
    for o, t in zip(outs, textbook.activations[-1], strict=True):
        _close(o.data, t, abs(t), "output")
    grad_w, grad_b, grad_x = textbook.backward(c)
    for li, layer in enumerate(model.layers):
        for i, neuron in enumerate(layer.neurons):
            for j, w in enumerate(neuron.w):
                _close(float(w.grad), grad_w[li][i][j], textbook.bound_w[li][i][j], w.label)
            _close(float(neuron.b.grad), grad_b[li][i], textbook.bound_b[li][i], neuron.b.label)
    for j, v in enumerate(inputs):
        _close(float(v.grad), grad_x[j], textbook.bound_x[j], f"input {j}")


@st.composite
def networks(draw: st.DrawFn) -> tuple[MLP[Any], list[float], list[float]]:
    """A random MLP, an input for it and the output weights c of L = sum c_j out_j."""
    nin = draw(st.integers(1, 4))
    nouts = draw(st.lists(st.integers(1, 5), min_size=1, max_size=4))
    activation = draw(st.sampled_from(ACTIVATIONS))
    # One output as a Value, or (always for several outputs) as a list: both paths get checked.
    returns = list if nouts[-1] > 1 or draw(st.booleans()) else Value
    model = MLP(nin, nouts, activation, seed=draw(st.integers(0, 2**32)), returns=returns)
    # Random biases too: they start at 0, which would leave part of the rule untested.
    rng = random.Random(draw(st.integers(0, 2**32)))
    for layer in model.layers:
        for neuron in layer.neurons:
            neuron.b.data = rng.uniform(-1.0, 1.0)
    finite = st.floats(-3.0, 3.0, allow_nan=False)
    x = draw(st.lists(finite, min_size=nin, max_size=nin))
    c = draw(st.lists(finite, min_size=nouts[-1], max_size=nouts[-1]))
    return model, x, c


@settings(max_examples=80, deadline=None)
@given(networks())
def test_gradients_equal_textbook_backprop(
    network: tuple[MLP[Any], list[float], list[float]],
) -> None:
    """Every weight, bias and input gradient equals the layer-by-layer delta rule to 1e-12."""
    model, x, c = network
    _check_against_backprop(model, x, c)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_a_wider_network_equals_textbook_backprop(activation: str) -> None:
    """A 5-16-16-3 network, where sums are long enough for their order to matter."""
    model = MLP(5, [16, 16, 3], activation, seed=11, returns=list)
    rng = random.Random(5)
    for p in model.parameters():
        p.data += rng.uniform(-0.1, 0.1)  # the biases too
    x = [rng.uniform(-2, 2) for _ in range(5)]
    _check_against_backprop(model, x, [0.3, -1.2, 2.0])


def test_the_textbook_oracle_agrees_with_finite_differences() -> None:
    """The oracle itself: its gradient matches central differences of its own forward pass."""
    model = MLP(3, [4, 2], "tanh", seed=3, returns=list)
    weights, biases = _weights(model)
    x, c = [0.5, -1.0, 2.0], [1.0, -0.5]

    def loss(ws: list[Matrix]) -> float:
        out = Backprop(ws, biases, "tanh", x).activations[-1]
        return sum(ci * oi for ci, oi in zip(c, out, strict=True))

    grad_w, _, _ = Backprop(weights, biases, "tanh", x).backward(c)
    h = 1e-6
    for li, W in enumerate(weights):
        for i, row in enumerate(W):
            for j in range(len(row)):
                up = [[r[:] for r in M] for M in weights]
                down = [[r[:] for r in M] for M in weights]
                up[li][i][j] += h
                down[li][i][j] -= h
                numeric = (loss(up) - loss(down)) / (2 * h)
                assert math.isclose(grad_w[li][i][j], numeric, rel_tol=1e-6, abs_tol=1e-8)


# ---------------------------------------------------------------------------------------------
# Structure: what calling returns, and the graph it builds
# ---------------------------------------------------------------------------------------------


def test_mlp_with_one_output_returns_a_value_and_layers_always_return_lists() -> None:
    """micrograd's MLP(2, [16, 16, 1]) gives a Value; a Layer of one neuron still gives a list."""
    assert isinstance(MLP(2, [16, 16, 1], seed=0)([1.0, 2.0]), Value)
    # A hidden layer of width 1 must not break the next layer (a known trap of small libraries).
    assert isinstance(MLP(2, [16, 1, 1], seed=0)([1.0, 2.0]), Value)
    outs = MLP(2, [4, 3], seed=0, returns=list)([1.0, 2.0])
    assert isinstance(outs, list)
    assert len(outs) == 3
    single = Layer(2, 1, seed=0)([1.0, 2.0])
    assert isinstance(single, list)
    assert len(single) == 1


def test_returns_list_gives_a_list_even_for_one_output() -> None:
    """returns=list is PyTorch's output vector: a list of one Value, the same number."""
    as_value = MLP(2, [4, 1], seed=0)
    as_list = MLP(2, [4, 1], seed=0, returns=list)
    out = as_list([1.0, 2.0])
    assert isinstance(out, list)
    assert [o.data for o in out] == [as_value([1.0, 2.0]).data]
    assert (as_value.returns, as_list.returns) == (Value, list)


def test_several_outputs_without_returns_list_are_refused_with_the_fix() -> None:
    """MLP(2, [4, 3]) would return a list where its type says Value: refused, naming the fix."""
    with pytest.raises(ValueError, match=r"MLP\(\) nouts \[4, 3\] end in 3 outputs.*returns=list"):
        MLP(2, [4, 3])
    with pytest.raises(ValueError, match=r"end in 2 outputs"):
        MLP(2, [4, 2], returns=Value)
    with pytest.raises(TypeError, match=r"MLP\(\) returns must be Value or list, got type: "):
        MLP(2, [4, 1], returns=_bad(tuple))


def test_a_replaced_last_layer_cannot_make_the_call_lie() -> None:
    """An MLP built for one Value whose last layer someone widened raises instead of truncating."""
    model = MLP(2, [4, 1], seed=0)
    model.layers[-1] = Layer(4, 2, "linear", seed=0)
    with pytest.raises(ValueError, match=r"built with returns=Value, but its last layer has 2"):
        model([1.0, 2.0])


def test_a_module_without_call_says_so() -> None:
    """Calling a Module subclass that defines no __call__ names the class."""

    class Bag(Module):
        def __init__(self) -> None:
            self.w = Value(1.0)

    with pytest.raises(NotImplementedError, match=r"Bag defines no __call__"):
        Bag()([1.0])


def _dot_children(node: Value, n: int) -> tuple[list[Value], list[Value]]:
    """The two halves (weights, inputs) of a dot node's parents, checked by its partials."""
    weights, inputs = list(node.parents[:n]), list(node.parents[n:])
    # d/dw_i (w . x) = x_i and d/dx_i = w_i: the partials are the other half's numbers.
    assert list(node.partials) == [x.data for x in inputs] + [w.data for w in weights]
    assert node.data == pytest.approx(math.fsum(w.data * x.data for w, x in zip(weights, inputs)))
    return weights, inputs


def test_neuron_is_one_dot_node_plus_bias_then_activation() -> None:
    """The neuron's graph: activation(dot(w, x) + b), with dot's parents laid out (w..., x...)."""
    neuron = Neuron(3, "tanh", seed=1)
    xs = [Value(1.0), Value(2.0), Value(3.0)]
    y = neuron(xs)
    # Identified by their numbers and partials, not by op names (those are the engine's to name).
    (pre,) = y.parents
    assert y.data == math.tanh(pre.data)
    assert y.partials == pytest.approx((1 - y.data**2,))
    d, b = pre.parents
    assert b is neuron.b
    assert pre.partials == (1.0, 1.0)
    weights, inputs = _dot_children(d, 3)
    assert [id(w) for w in weights] == [id(w) for w in neuron.w]
    assert [id(x) for x in inputs] == [id(x) for x in xs]


def test_hidden_layers_use_the_activation_and_the_last_layer_is_linear() -> None:
    """Every hidden unit ends in its activation; every output unit ends in the bias addition."""
    for activation in ACTIVATIONS:
        model = MLP(2, [3, 3, 2], activation, seed=0, returns=list)
        for layer in model.layers:
            for neuron in layer.neurons:
                neuron.b.data = 0.25  # a bias that shows in the numbers
        outs = model([0.5, -0.5])
        for out, neuron in zip(outs, model.layers[-1].neurons, strict=True):
            d, b = out.parents  # linear: the output is the bias addition itself
            assert b is neuron.b
            _, hidden = _dot_children(d, 3)
            for h, unit in zip(hidden, model.layers[1].neurons, strict=True):
                pre = h if activation == "linear" else h.parents[0]
                assert pre.parents[1] is unit.b
                assert h.data == pytest.approx(_f(activation, pre.data), rel=1e-15)
                assert len(h.parents) == (2 if activation == "linear" else 1)


def test_inputs_may_be_floats_ints_or_values() -> None:
    """Floats, ints and Values give the same output; Values receive gradients."""
    model = MLP(2, [4, 1], "tanh", seed=2)
    a = model([1.0, -2.0]).data
    b = model([1, -2]).data
    xs = [Value(1.0), Value(-2.0)]
    out = model(xs)
    assert a == b == out.data
    out.backward()
    assert all(x.grad != 0.0 for x in xs)


def test_mlp_turns_float_inputs_into_values_once_per_call() -> None:
    """All first-layer neurons share the same input nodes (converted once, not per neuron)."""
    model = MLP(2, [3, 1], seed=0)
    out = model([1.0, 2.0])
    d, _ = out.parents
    first_layer = d.parents[len(d.parents) // 2 :]
    inputs_seen = {id(x) for h in first_layer for x in h.parents[0].parents[0].parents[2:]}
    assert len(inputs_seen) == 2


def test_no_grad_forward_builds_no_graph() -> None:
    """Under no_grad() the output is a constant with no parents."""
    model = MLP(2, [4, 1], seed=0)
    with no_grad():
        out = model([1.0, 2.0])
    assert out.is_leaf


def test_bad_inputs_raise_clear_errors() -> None:
    """Wrong number or type of inputs is named in the error."""
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match=r"MLP\(\) needs 2 inputs, got 3"):
        model([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match=r"MLP\(\) input 1 must be a real number, got str: '2'"):
        model([1.0, "2"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"MLP\(\) input 0 must be a real number, got bool"):
        model([_bad(True), 2.0])
    with pytest.raises(TypeError, match=r"MLP\(\) needs a sequence of 2 inputs"):
        model(1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Layer\(\) needs 2 inputs, got 1"):
        Layer(2, 3, seed=0)([1.0])
    with pytest.raises(ValueError, match=r"Neuron\(\) needs 2 inputs, got 0"):
        Neuron(2, seed=0)([])


@pytest.mark.parametrize(
    ("make", "error", "pattern"),
    [
        (lambda: Neuron(0), ValueError, r"Neuron\(\) nin must be an int >= 1, got int: 0"),
        (lambda: Neuron(True), TypeError, r"nin must be an int, got bool: True"),
        (lambda: Neuron(2, fan_out=0), ValueError, r"Neuron\(\) fan_out must be an int >= 1"),
        (
            lambda: Neuron(2, "swish"),
            ValueError,
            r"Neuron\(\) activation must be one of 'relu', 'tanh'.*; got str: 'swish'",
        ),
        (lambda: Layer(2, 0), ValueError, r"Layer\(\) nout must be an int >= 1, got int: 0"),
        (lambda: MLP(2, []), ValueError, r"nouts must be a non-empty list"),
        (lambda: MLP(2, _bad("16")), TypeError, r"nouts must be a list of layer sizes, got str"),
        (lambda: MLP(2, _bad(16)), TypeError, r"nouts must be a list of layer sizes, got int"),
        (lambda: MLP(2, _bad([4, 2.5])), TypeError, r"nouts\[1\] must be an int, got float: 2.5"),
        (lambda: MLP(2, [4, 0]), ValueError, r"MLP\(\) nouts\[1\] must be an int >= 1"),
        (lambda: MLP(2, [1], seed=_bad("1")), TypeError, r"MLP\(\) seed must be an int, got str"),
        (lambda: MLP(2, [1], seed=_bad(True)), TypeError, r"seed must be an int, got bool"),
        (lambda: MLP(2, [1], rng=_bad(3)), TypeError, r"rng must be a random.Random, got int: 3"),
        (
            lambda: MLP(2, [1], seed=1, rng=random.Random(1)),
            ValueError,
            r"takes seed= or rng=, not both",
        ),
    ],
)
def test_bad_constructor_arguments_raise(
    make: Callable[[], object], error: type[Exception], pattern: str
) -> None:
    """Each bad argument raises an error that names it and shows the value."""
    with pytest.raises(error, match=pattern):
        make()


# ---------------------------------------------------------------------------------------------
# Initialisation
# ---------------------------------------------------------------------------------------------


def test_same_seed_gives_a_bitwise_identical_network() -> None:
    """Same seed, same floats; another seed, other floats; rng=Random(s) equals seed=s."""
    a = MLP(3, [8, 8, 2], "tanh", seed=42, returns=list).state_dict()
    b = MLP(3, [8, 8, 2], "tanh", seed=42, returns=list).state_dict()
    c = MLP(3, [8, 8, 2], "tanh", rng=random.Random(42), returns=list).state_dict()
    d = MLP(3, [8, 8, 2], "tanh", seed=43, returns=list).state_dict()
    assert [x.hex() for x in a.values()] == [x.hex() for x in b.values()]
    assert a == c
    assert a != d


def test_no_seed_draws_from_a_private_generator() -> None:
    """Without a seed, networks differ and the global `random` state is left alone."""
    random.seed(0)
    before = random.getstate()
    a, b = MLP(2, [8, 1]).state_dict(), MLP(2, [8, 1]).state_dict()
    assert random.getstate() == before
    assert a != b


@pytest.mark.parametrize(
    ("activation", "nin", "nout", "variance"),
    [
        ("relu", 400, 50, 2 / 400),  # He: 2 / fan_in
        ("leaky_relu", 300, 50, 2 / 300),
        ("tanh", 300, 100, 2 / 400),  # Glorot: 2 / (fan_in + fan_out)
        ("sigmoid", 200, 200, 2 / 400),
        ("linear", 100, 300, 2 / 400),
    ],
)
def test_initial_weights_have_the_scheme_variance(
    activation: str, nin: int, nout: int, variance: float
) -> None:
    """Weights are uniform with He or Glorot variance, bounded by sqrt(3 * variance); biases 0."""
    layer = Layer(nin, nout, activation, seed=7)
    ws = [w.data for n in layer.neurons for w in n.w]
    mean = sum(ws) / len(ws)
    sample_variance = sum((w - mean) ** 2 for w in ws) / (len(ws) - 1)
    # 20,000+ draws: the sample variance of a uniform is within 2% with overwhelming odds.
    assert abs(sample_variance / variance - 1) < 0.02
    assert abs(mean) < 0.05 * math.sqrt(variance)
    assert max(abs(w) for w in ws) <= math.sqrt(3 * variance)
    assert all(n.b.data == 0.0 for n in layer.neurons)


# ---------------------------------------------------------------------------------------------
# Parameters, names, state dicts
# ---------------------------------------------------------------------------------------------


def test_named_parameters_order_and_dotted_names() -> None:
    """Names follow layers, neurons, weights then bias; labels equal names; the order is stable."""
    model = MLP(2, [3, 1], seed=0)
    named = model.named_parameters()
    names = [name for name, _ in named]
    assert names[:4] == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.b",
        "layers.0.neurons.1.w.0",
    ]
    assert names[-1] == "layers.1.neurons.0.b"
    assert len(names) == len(set(names)) == 3 * 3 + 4 == model.num_parameters()
    assert model.layers[0].neurons[2].w[1].label == "layers.0.neurons.2.w.1"
    assert all(p.label == name for name, p in named)
    assert [id(p) for p in model.parameters()] == [id(p) for _, p in named]
    assert [id(p) for p in model.parameters()] == [id(p) for p in model.parameters()]
    assert [n for n, _ in Neuron(2, seed=0).named_parameters()] == ["w.0", "w.1", "b"]


def test_a_user_module_is_walked_by_its_attributes() -> None:
    """Sub-modules, lists and Values are found in assignment order; private and shared are not."""

    class Head(Module):
        def __init__(self) -> None:
            self.body = Layer(2, 2, seed=0)
            self.scale = Value(1.0)
            self.extras = [Value(2.0), (Value(3.0),)]
            self.tied = self.scale  # the same parameter twice: listed once
            self.name = "head"
            self._cache = Value(9.0)
            self.again = self.body  # the same module twice: walked once

    names = [name for name, _ in Head().named_parameters()]
    assert names == [
        "body.neurons.0.w.0",
        "body.neurons.0.w.1",
        "body.neurons.0.b",
        "body.neurons.1.w.0",
        "body.neurons.1.w.1",
        "body.neurons.1.b",
        "scale",
        "extras.0",
        "extras.1.0",
    ]
    assert repr(Head()) == "Head(9 parameters)"


def test_zero_grad_resets_every_parameter() -> None:
    """After backward and zero_grad, every gradient is 0.0."""
    model = MLP(2, [4, 1], "tanh", seed=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_state_dict_round_trip() -> None:
    """load_state_dict(state_dict()) of another network copies every float exactly."""
    a, b = MLP(2, [4, 1], seed=0), MLP(2, [4, 1], seed=1)
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == a.state_dict()
    assert a([0.3, 0.7]).data == b([0.3, 0.7]).data


@pytest.mark.parametrize(
    ("change", "error", "pattern"),
    [
        (lambda s: s.pop("layers.1.neurons.0.b"), ValueError, r"missing.*'layers.1.neurons.0.b'"),
        (lambda s: s.update({"layers.9.b": 1.0}), ValueError, r"unexpected.*'layers.9.b'"),
        (lambda s: s.update({"layers.0.neurons.0.b": "1"}), TypeError, r"neurons.0.b'.*str"),
        (lambda s: s.update({"layers.0.neurons.0.b": True}), TypeError, r"real number.*bool"),
        (lambda s: s.update({"layers.1.neurons.0.b": math.nan}), ValueError, r"finite.*nan"),
        (lambda s: s.update({"layers.1.neurons.0.b": math.inf}), ValueError, r"finite.*inf"),
    ],
)
def test_load_state_dict_is_checked_and_all_or_nothing(
    change: Callable[[dict[str, float]], object], error: type[Exception], pattern: str
) -> None:
    """A bad state dict raises an error naming the key, and no parameter changes."""
    model = MLP(2, [4, 1], seed=0)
    before = model.state_dict()
    state = {name: x + 1.0 for name, x in before.items()}
    change(state)
    with pytest.raises(error, match=pattern):
        model.load_state_dict(state)
    assert model.state_dict() == before
    with pytest.raises(TypeError, match="needs a mapping"):
        model.load_state_dict([1.0])  # type: ignore[arg-type]


def test_reprs_are_short_and_say_the_architecture() -> None:
    """repr shows the constructor call."""
    assert repr(MLP(2, [16, 16, 1])) == "MLP(2, [16, 16, 1], activation='relu')"
    assert repr(MLP(2, [8, 3], returns=list)) == "MLP(2, [8, 3], activation='relu', returns=list)"
    assert repr(Layer(3, 4, "tanh")) == "Layer(3, 4, activation='tanh')"
    assert repr(Neuron(5, "linear")) == "Neuron(5, activation='linear')"


@pytest.mark.parametrize("module", [nn, losses, optim, checkpoint, datasets])
def test_docstring_examples_run(module: ModuleType) -> None:
    """The examples in the docstrings are right."""
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_named_parameters_survives_a_list_that_holds_itself() -> None:
    """A container reachable from itself is walked once, not forever."""

    class Odd(Module):
        def __init__(self) -> None:
            self.w = Value(1.0)
            self.loop: list[object] = []
            self.loop.append(self.loop)

    assert [name for name, _ in Odd().named_parameters()] == ["w"]
