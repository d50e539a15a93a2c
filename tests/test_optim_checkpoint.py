"""The optimizers' new options and buffers survive a checkpoint file, old files included.

`checkpoint` rebuilds an optimizer as ``type(model.parameters(), lr=0.0)`` and then loads the
saved state: these tests check, through the public checkpoint API, that dampening, maximize,
amsgrad, AMSGrad's maximum and Adam's per-parameter steps all come back, and that a file written
before they existed still resumes training bit for bit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autograd_lite import checkpoint
from autograd_lite.losses import mse
from autograd_lite.nn import MLP
from autograd_lite.optim import SGD, Adam, Optimizer

POINTS = [[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0], [0.0, 0.5]]
TARGETS = [0.3, -0.2, 1.0, 0.1]


def _train(model: MLP[Any], optimizer: Optimizer, steps: int, *, freeze_first: bool) -> None:
    """Full-batch steps; with freeze_first the first layer's gradients are None (not trained)."""
    first = set(map(id, model.layers[0].parameters()))
    for _ in range(steps):
        loss = mse([model(x) for x in POINTS], TARGETS)
        model.zero_grad()
        loss.backward()
        if freeze_first:
            for p in model.parameters():
                if id(p) in first:
                    p.grad = _none()
        optimizer.step()


def _none() -> Any:
    """None where the annotation says float | Value: PyTorch's habit, skipped by step()."""
    return None


def _bits(model: MLP[Any]) -> list[str]:
    return [p.data.hex() for p in model.parameters()]


OPTIMIZERS = [
    (SGD, {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    (SGD, {"lr": 0.05, "momentum": 0.8, "nesterov": True, "maximize": True}),
    (Adam, {"lr": 0.02, "amsgrad": True, "weight_decay": 0.1, "decoupled": True}),
    (Adam, {"lr": 0.02, "amsgrad": True, "maximize": True}),
]


@pytest.mark.parametrize(("make", "options"), OPTIMIZERS)
def test_new_options_and_buffers_round_trip_through_a_checkpoint(
    tmp_path: Path, make: type[SGD] | type[Adam], options: dict[str, Any]
) -> None:
    """Train with a frozen first layer, save, reload, train on: the same bits as never stopping."""
    model = MLP(2, [4, 1], "tanh", seed=3)
    optimizer = make(model.parameters(), **options)
    _train(model, optimizer, 3, freeze_first=True)
    path = tmp_path / "run.json"
    checkpoint.save(model, path, optimizer)
    restored, restored_optimizer = checkpoint.load_with_optimizer(path)
    assert type(restored_optimizer) is make
    assert restored_optimizer.state_dict() == optimizer.state_dict()
    assert isinstance(restored, MLP)
    for m, o in ((model, optimizer), (restored, restored_optimizer)):
        _train(m, o, 2, freeze_first=True)
        _train(m, o, 2, freeze_first=False)
    assert _bits(restored) == _bits(model)


@pytest.mark.parametrize(
    ("make", "options"),
    [(SGD, {"lr": 0.05, "momentum": 0.9}), (Adam, {"lr": 0.02, "weight_decay": 0.01})],
)
def test_a_checkpoint_written_before_the_new_options_still_resumes(
    tmp_path: Path, make: type[SGD] | type[Adam], options: dict[str, Any]
) -> None:
    """A file whose optimizer state has only the old keys loads, and training continues alike."""
    model = MLP(2, [4, 1], "tanh", seed=3)
    optimizer = make(model.parameters(), **options)
    _train(model, optimizer, 3, freeze_first=False)
    path = tmp_path / "old.json"
    checkpoint.save(model, path, optimizer)
    document = json.loads(path.read_text(encoding="utf-8"))
    state = document["optimizer"]
    for key in ("dampening", "maximize", "amsgrad"):
        state["hyperparameters"].pop(key, None)
    for key in ("steps", "max_exp_avg_sq"):
        state["state"].pop(key, None)
    path.write_text(json.dumps(document), encoding="utf-8")
    restored, restored_optimizer = checkpoint.load_with_optimizer(path)
    assert isinstance(restored, MLP)
    for m, o in ((model, optimizer), (restored, restored_optimizer)):
        _train(m, o, 3, freeze_first=False)
    assert _bits(restored) == _bits(model)
