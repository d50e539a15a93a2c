"""The types users meet in `nn`, checked twice: by ``mypy --strict`` (make check) and by running.

Each test is code a micrograd or PyTorch user writes, without casts or isinstance. `assert_type`
pins what the type checker must infer; a line ending in ``# type: ignore[code]`` must be a type
error, and under --strict an ignore that is not needed is itself an error, so such a line fails
``make check`` the day the types stop catching that mistake. At run time the same lines run
(the mistakes inside ``pytest.raises``), so the types are never a promise the code breaks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, assert_type

import pytest

from autograd_lite import Value, checkpoint
from autograd_lite.datasets import make_moons, signed_labels
from autograd_lite.losses import cross_entropy, hinge, l2_penalty
from autograd_lite.nn import MLP, Layer, Module, Neuron


def test_micrograd_single_output_idioms_type_check_and_train() -> None:
    """``model(x).data``, a list of scores for a loss, and ``p.data -= lr * p.grad``."""
    X, y = make_moons(30, noise=0.1, seed=0)
    labels = signed_labels(y)
    model = MLP(2, [16, 16, 1], seed=0)
    assert_type(model, MLP[Value])
    assert_type(model([0.5, 0.25]), Value)
    assert_type(model([0.5, 0.25]).data, float)
    losses = []
    for _ in range(5):
        scores = [model(x) for x in X]
        assert_type(scores, list[Value])
        loss = hinge(scores, labels) + l2_penalty(model.parameters(), 1e-4)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.05 * p.grad  # micrograd's update, as written in its README
        losses.append(loss.data)
    assert losses[-1] < losses[0]
    assert all(type(p.data) is float for p in model.parameters())


def test_a_single_output_call_is_not_a_list() -> None:
    """Indexing micrograd's one-output result is a type error, and fails when run."""
    model = MLP(2, [4, 1], seed=0)
    with pytest.raises(TypeError):
        model([0.5, 0.25])[0]  # type: ignore[index]


def test_a_classifier_with_several_outputs_is_typed_as_a_list() -> None:
    """``returns=list``: the call is a list[Value], as cross_entropy and indexing need."""
    model = MLP(2, [8, 3], "tanh", seed=0, returns=list)
    assert_type(model, MLP[list[Value]])
    logits = model([0.5, -1.0])
    assert_type(logits, list[Value])
    loss = cross_entropy(logits, 2)
    loss.backward()
    predicted = max(range(3), key=lambda k: logits[k].data)
    assert predicted in (0, 1, 2)
    with pytest.raises(AttributeError):
        _ = model([0.5, -1.0]).data  # type: ignore[attr-defined]


def test_returns_chosen_at_run_time_is_typed_as_either() -> None:
    """A returns= known only at run time gives MLP[Value | list[Value]], honest both ways."""
    for returns in (Value, list):
        model = MLP(2, [4, 1], seed=0, returns=returns)
        assert_type(model, MLP[Value | list[Value]])
        out = model([1.0, 2.0])
        assert_type(out, Value | list[Value])
        assert type(out) is returns


def test_neurons_and_layers_say_what_they_return() -> None:
    """A Neuron is a Module[Value], a Layer a Module[list[Value]]."""
    neuron, layer = Neuron(2, seed=0), Layer(2, 3, seed=0)
    assert_type(neuron([1.0, 2.0]), Value)
    assert_type(layer([1.0, 2.0]), list[Value])
    scalar: Module[Value] = neuron
    vector: Module[list[Value]] = layer
    either: Sequence[Module[Value | list[Value]]] = [neuron, layer, MLP(2, [1])]
    assert [type(m([1.0, 2.0])) for m in (scalar, vector, *either)] == [
        Value,
        list,
        Value,
        list,
        Value,
    ]


def _predict(model: Module[Value], points: Sequence[Sequence[float]]) -> list[float]:
    """Code written against any one-output module."""
    return [model(x).data for x in points]


def test_code_for_one_output_modules_refuses_a_classifier() -> None:
    """Code typed for Module[Value] takes MLP(.., [.., 1]) and a Neuron, not a list model."""
    points = [[0.0, 1.0], [1.0, 0.0]]
    assert len(_predict(MLP(2, [4, 1], seed=0), points)) == 2
    assert len(_predict(Neuron(2, seed=0), points)) == 2
    with pytest.raises(AttributeError):
        _predict(MLP(2, [4, 2], seed=0, returns=list), points)  # type: ignore[arg-type]


def test_pytorch_style_modules_type_check() -> None:
    """A subclass names its output type (Module[list[Value]]), or leaves it open (Module)."""

    class TwoHeads(Module[list[Value]]):
        def __init__(self) -> None:
            self.body = Layer(2, 4, "tanh", seed=0)
            self.heads = [Neuron(4, "linear", seed=i) for i in range(2)]

        def __call__(self, x: Sequence[Value | float]) -> list[Value]:
            hidden = self.body(x)
            return [head(hidden) for head in self.heads]

    class Scale(Module):  # no type argument: Module[Any], PyTorch's habit
        def __init__(self) -> None:
            self.w = Value(2.0)

        def __call__(self, x: Value) -> Value:
            return self.w * x

    assert_type(TwoHeads()([1.0, 2.0]), list[Value])
    assert len(TwoHeads()([1.0, 2.0])) == 2
    assert Scale()(Value(3.0)).data == 6.0
    assert len(TwoHeads().parameters()) == 4 * 3 + 2 * 5


def test_a_model_read_from_a_checkpoint_can_be_called(tmp_path: Path) -> None:
    """``checkpoint.load(path)(x).data`` type-checks: the file decides the kind, so it is Any."""
    model = MLP(2, [4, 1], seed=0)
    path = tmp_path / "model.json"
    checkpoint.save(model, path)
    restored = checkpoint.load(path)
    assert_type(restored, Module[Any])
    assert restored([0.5, 0.25]).data == model([0.5, 0.25]).data
