"""Saving and loading models (and their optimizer's state) as JSON checkpoints.

A checkpoint is a JSON file, never a pickle: loading one cannot run code. It records a format
version, the architecture (so `load` can rebuild the model), every parameter by dotted name, and
optionally the optimizer's state. Floats round-trip exactly (JSON floats are Python's shortest
repr). Writing is atomic (a symbolic link is written through), and every problem with a file,
however hostile its content, raises `CheckpointError`.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from autograd_lite._atomic import write_atomically
from autograd_lite._checks import choice, integer, shown
from autograd_lite.engine import Value
from autograd_lite.nn import MLP, Layer, Module, Neuron
from autograd_lite.optim import SGD, Adam, Optimizer, Schedule

__all__ = [
    "FORMAT",
    "VERSION",
    "CheckpointError",
    "load",
    "load_into",
    "load_with_optimizer",
    "save",
]

FORMAT: Final = "autograd_lite.checkpoint"
VERSION: Final = 1

Path = str | os.PathLike[str]
_KEYS: Final = {"format", "version", "architecture", "parameters", "optimizer"}
_OPTIMIZERS: Final[dict[str, type[SGD] | type[Adam]]] = {"SGD": SGD, "Adam": Adam}


class CheckpointError(Exception):
    """A checkpoint could not be saved or loaded; the message names the file and the problem."""

    def __init__(self, path: Path, problem: str, *, saving: bool = False) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        verb = "save" if saving else "load"
        super().__init__(f"cannot {verb} checkpoint {self.path!r}: {problem}")


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------


def save(model: Module, path: Path, optimizer: Optimizer | None = None) -> None:
    """Write the model (and the optimizer's state) to ``path`` as JSON, atomically.

    The file is written to a temporary file in the same folder, flushed to disk, then moved over
    ``path`` in one step (``os.replace``): a crash, a full disk or an unserializable value leaves
    the previous file as it was, and a temporary file left by a killed save is removed by the
    next save to the same path. If ``path`` is a symbolic link, the file it points to is
    replaced and the link stays. Only `MLP`, `Layer` and `Neuron` models can be saved, since
    `load` has to rebuild them. The optimizer must hold exactly ``model.parameters()``.

    Raises:
        TypeError: the model or optimizer is of a kind a checkpoint cannot hold.
        ValueError: the optimizer's parameters are not the model's.
        CheckpointError: a value is not finite, or the file could not be written.
    """
    architecture = _architecture(model)
    if optimizer is not None:
        if type(optimizer) not in _OPTIMIZERS.values():
            msg = f"save() can store SGD or Adam state, got {type(optimizer).__name__}"
            raise TypeError(msg)
        if not _optimizes(optimizer, model):
            msg = "save() needs an optimizer over exactly model.parameters(), in that order"
            raise ValueError(msg)
    parameters = model.state_dict()
    for name, x in parameters.items():
        if not math.isfinite(x):
            raise CheckpointError(path, f"parameter {name!r} is {x!r}", saving=True)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": architecture,
        "parameters": parameters,
        "optimizer": None if optimizer is None else optimizer.state_dict(),
    }
    try:
        # allow_nan=False: NaN and Infinity are not JSON, and other readers would reject them.
        text = json.dumps(document, indent=1, allow_nan=False)
    except ValueError as error:
        problem = f"the optimizer state is not finite ({error})"
        raise CheckpointError(path, problem, saving=True) from error
    _write_atomically(path, (text + "\n").encode("utf-8"))


def _write_atomically(path: Path, data: bytes) -> None:
    """Put data at path so that a reader sees either the old file or the whole new one."""
    try:
        write_atomically(path, data)
    except OSError as error:
        raise CheckpointError(path, _describe(error), saving=True) from error


def _describe(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__


def _architecture(model: Module) -> dict[str, Any]:
    """What `load` needs to rebuild the model, before any weight is set."""
    # type() is, not isinstance: a subclass may hold more than its base can rebuild.
    if type(model) is MLP:
        architecture: dict[str, Any] = {
            "type": "MLP",
            "nin": model.nin,
            "nouts": list(model.nouts),
            "activation": model.activation,
        }
        # Written only when it is not the default, so that files without it stay version 1.
        if model.returns is list:
            architecture["returns"] = "list"
        return architecture
    if type(model) is Layer:
        return {
            "type": "Layer",
            "nin": model.nin,
            "nout": model.nout,
            "activation": model.activation,
        }
    if type(model) is Neuron:
        return {"type": "Neuron", "nin": model.nin, "activation": model.activation}
    msg = f"a checkpoint can rebuild MLP, Layer or Neuron models, got {type(model).__name__}"
    raise TypeError(msg)


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


@dataclass
class _Checkpoint:
    """A checkpoint file, read and checked in full: a rebuilt model and the optimizer's state."""

    model: Module
    architecture: dict[str, Any]
    optimizer_state: dict[str, Any] | None


def load(path: Path) -> Module:
    """Rebuild the model saved at ``path`` (an `MLP`, `Layer` or `Neuron`).

    The whole file is checked, the optimizer's part included, before the model is returned.

    >>> import os, tempfile
    >>> model = MLP(2, [4, 1], seed=0)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save(model, os.path.join(folder, "model.json"))
    ...     restored = load(os.path.join(folder, "model.json"))
    >>> restored, restored.state_dict() == model.state_dict()
    (MLP(2, [4, 1], activation='relu'), True)

    Raises:
        CheckpointError: the file cannot be read, is not valid JSON, is truncated, has another
            format version, or holds values of the wrong type, shape or range.
    """
    return _read(path).model


def load_with_optimizer(
    path: Path, *, lr_schedule: Schedule | None = None
) -> tuple[Module, Optimizer]:
    """Rebuild the model and its optimizer (SGD or Adam, state and step count included).

    A learning-rate schedule is code, so it is not in the file: pass it again as ``lr_schedule``.

    Raises:
        CheckpointError: as for `load`, or the checkpoint holds no optimizer state.
    """
    if lr_schedule is not None and not callable(lr_schedule):
        msg = f"load_with_optimizer() needs a callable lr_schedule, got {lr_schedule!r}"
        raise TypeError(msg)
    checkpoint = _read(path)
    if checkpoint.optimizer_state is None:
        raise CheckpointError(path, "it holds no optimizer state (saved without optimizer=)")
    optimizer = _rebuild_optimizer(checkpoint.model, checkpoint.optimizer_state)
    optimizer.lr_schedule = lr_schedule
    return checkpoint.model, optimizer


def _optimizes(optimizer: Optimizer, model: Module) -> bool:
    """Whether the optimizer holds exactly the model's parameters, in the model's order."""
    params = model.parameters()
    return len(optimizer.params) == len(params) and all(
        a is b for a, b in zip(optimizer.params, params, strict=True)
    )


def load_into(path: Path, model: Module, optimizer: Optimizer | None = None) -> None:
    """Load a checkpoint into an existing model (and optimizer): all or nothing.

    The file's architecture must equal the model's. If anything is wrong, `CheckpointError` is
    raised and neither the model nor the optimizer has changed.
    """
    if optimizer is not None and not _optimizes(optimizer, model):
        msg = "load_into() needs an optimizer over exactly model.parameters(), in that order"
        raise ValueError(msg)
    expected = _architecture(model)
    checkpoint = _read(path)
    if checkpoint.architecture != expected:
        problem = f"it holds a {checkpoint.architecture}, not the model's {expected}"
        raise CheckpointError(path, problem)
    if optimizer is not None and checkpoint.optimizer_state is None:
        raise CheckpointError(path, "it holds no optimizer state (saved without optimizer=)")
    new_parameters = checkpoint.model.state_dict()
    if optimizer is not None:
        assert checkpoint.optimizer_state is not None
        try:
            optimizer.load_state_dict(checkpoint.optimizer_state)  # checks, then changes
        except (TypeError, ValueError, ArithmeticError) as error:
            raise CheckpointError(path, f"its optimizer state does not fit: {error}") from error
    # Same architecture, and these values were already accepted by an identical model.
    model.load_state_dict(new_parameters)


def _read(path: Path) -> _Checkpoint:
    """Read, parse and check a whole checkpoint file."""
    document = _parse(path)
    try:
        return _check(path, document)
    except CheckpointError:
        raise
    except (TypeError, ValueError, ArithmeticError, RecursionError) as error:
        # Every check below should have named the problem already; this is the safety net
        # that keeps a hostile file from ever raising anything but CheckpointError.
        problem = f"its content is not a checkpoint ({type(error).__name__}: {error})"
        raise CheckpointError(path, problem) from error


def _check(path: Path, document: dict[str, Any]) -> _Checkpoint:
    """Check a parsed checkpoint and rebuild its model (and optimizer, to check its state)."""
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        problem = f"its format version must be an int, got {shown(version)}"
        raise CheckpointError(path, problem)
    if version != VERSION:
        problem = (
            f"it has format version {shown(version)}; this autograd_lite reads version {VERSION}"
        )
        raise CheckpointError(path, problem)
    if set(document) != _KEYS:
        missing = sorted(_KEYS - set(document))
        extra = sorted(set(document) - _KEYS)
        raise CheckpointError(path, f"missing keys {missing}, unexpected keys {extra}")
    architecture = document["architecture"]
    parameters = document["parameters"]
    if not isinstance(parameters, dict):
        raise CheckpointError(path, f"'parameters' must be an object, got {shown(parameters)}")
    model = _rebuild_model(path, architecture, len(parameters))
    try:
        model.load_state_dict(parameters)
    except (TypeError, ValueError, ArithmeticError) as error:
        raise CheckpointError(path, f"bad parameters: {error}") from error
    optimizer_state = document["optimizer"]
    if optimizer_state is not None:
        try:
            _rebuild_optimizer(model, optimizer_state)
        except (TypeError, ValueError, ArithmeticError) as error:
            raise CheckpointError(path, f"bad optimizer state: {error}") from error
    return _Checkpoint(model, architecture, optimizer_state)


def _parse(path: Path) -> dict[str, Any]:
    """The file's JSON object, refusing NaN, infinities and repeated keys."""
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except OSError as error:
        raise CheckpointError(path, _describe(error)) from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CheckpointError(path, f"it is not UTF-8 text ({error.reason})") from error
    try:
        document = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_float_sized_int,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as error:
        hint = " (truncated?)" if error.pos >= len(text.rstrip()) else ""
        problem = f"malformed JSON at line {error.lineno}, column {error.colno}: {error.msg}{hint}"
        raise CheckpointError(path, problem) from error
    except ValueError as error:  # raised by the hooks below
        raise CheckpointError(path, str(error)) from error
    except RecursionError as error:
        raise CheckpointError(path, "its JSON is nested too deeply") from error
    if not isinstance(document, dict):
        raise CheckpointError(path, f"it must hold a JSON object, got {type(document).__name__}")
    if document.get("format") != FORMAT:
        problem = f"it is not an autograd_lite checkpoint (format {shown(document.get('format'))})"
        raise CheckpointError(path, problem)
    return document


def _refuse_constant(name: str) -> Any:
    msg = f"it holds {name}, which is not a number JSON allows"
    raise ValueError(msg)


def _finite_float(text: str) -> float:
    x = float(text)
    if not math.isfinite(x):
        msg = f"it holds the number {text}, too large for a float"
        raise ValueError(msg)
    return x


def _float_sized_int(text: str) -> int:
    # One rule for every number in a checkpoint: it fits in a float. A 400-digit integer is no
    # size, count or weight, and converting it later would raise OverflowError.
    x = int(text)
    try:
        float(x)
    except OverflowError:
        msg = f"it holds an integer of {len(text.lstrip('-'))} digits, too large for a float"
        raise ValueError(msg) from None
    return x


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            msg = f"it repeats the key {key!r} in one object"
            raise ValueError(msg)
        out[key] = value
    return out


def _size(x: object, where: str) -> int:
    return integer(x, where, low=1)


def _rebuild_model(path: Path, architecture: object, n_parameters: int) -> Module:
    """A fresh model of the recorded architecture, after checking the parameter count fits it."""
    keys = {
        "MLP": {"type", "nin", "nouts", "activation"},
        "Layer": {"type", "nin", "nout", "activation"},
        "Neuron": {"type", "nin", "activation"},
    }
    # isinstance first: a list or an object where the type's name belongs is no dict key.
    kind = architecture.get("type") if isinstance(architecture, dict) else None
    if not isinstance(architecture, dict) or not isinstance(kind, str) or kind not in keys:
        what = shown(architecture)
        problem = f"unknown architecture {what} (MLP, Layer or Neuron expected)"
        raise CheckpointError(path, problem)
    optional = {"returns"} if kind == "MLP" else set()
    if not keys[kind] <= set(architecture) <= keys[kind] | optional:
        raise CheckpointError(path, f"a {kind} architecture needs exactly {sorted(keys[kind])}")
    try:
        nin = _size(architecture["nin"], "nin")
        if kind == "MLP":
            nouts = architecture["nouts"]
            if not isinstance(nouts, list) or not nouts:
                msg = f"nouts must be a non-empty list, got {shown(nouts)}"
                raise ValueError(msg)
            sizes = [nin, *(_size(n, f"nouts[{i}]") for i, n in enumerate(nouts))]
        elif kind == "Layer":
            sizes = [nin, _size(architecture["nout"], "nout")]
        else:
            sizes = [nin, 1]
        # Checked before building, so that a forged size cannot make us allocate a huge model.
        expected = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
        if n_parameters != expected:
            msg = f"it has {n_parameters} parameters, but a {sizes} network has {expected}"
            raise ValueError(msg)
        activation = architecture["activation"]
        if kind == "MLP":
            # Without "returns", one output is a Value and several are a list (the only choice).
            returns = architecture.get("returns", "Value" if sizes[-1] == 1 else "list")
            choice(returns, ("Value", "list"), "returns")
            kinds: dict[str, type[Value] | type[list[Any]]] = {"Value": Value, "list": list}
            return MLP(nin, sizes[1:], activation, seed=0, returns=kinds[returns])
        if kind == "Layer":
            return Layer(nin, sizes[1], activation, seed=0)
        return Neuron(nin, activation, seed=0)
    except (TypeError, ValueError, ArithmeticError) as error:
        raise CheckpointError(path, f"bad {kind} architecture: {error}") from error


def _rebuild_optimizer(model: Module, state: object) -> Optimizer:
    """A fresh optimizer over the model's parameters with the saved state loaded."""
    kind = state.get("type") if isinstance(state, Mapping) else None
    if not isinstance(state, Mapping) or not isinstance(kind, str) or kind not in _OPTIMIZERS:
        msg = f"the optimizer must be SGD or Adam state, got {shown(state)}"
        raise ValueError(msg)
    optimizer_type = _OPTIMIZERS[kind]
    # Placeholder hyperparameters: load_state_dict replaces every one of them.
    optimizer: Optimizer = optimizer_type(model.parameters(), lr=0.0)
    optimizer.load_state_dict(state)
    return optimizer
