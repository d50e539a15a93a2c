"""Tests of autograd_lite.checkpoint: exact round trips, every corrupt file, failed saves.

Every bad file must raise CheckpointError naming the file and leave the model and optimizer it
was loaded into exactly as they were (hostile documents are also fuzzed); every failed save must
leave the previous file intact and no temporary file behind, and a killed save's temporary file
is removed by the next save. Long names and symbolic links are saved too.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_lite import Value
from autograd_lite._atomic import _TEMPORARY
from autograd_lite.checkpoint import (
    CheckpointError,
    load,
    load_into,
    load_with_optimizer,
    save,
)
from autograd_lite.datasets import make_moons, signed_labels
from autograd_lite.losses import hinge
from autograd_lite.nn import MLP, Layer, Module, Neuron
from autograd_lite.optim import SGD, Adam, Optimizer

X, Y = make_moons(20, noise=0.1, seed=3)
LABELS = signed_labels(Y)


def _bits(model: Module) -> list[str]:
    """Every parameter's exact bits (hex tells -0.0 from 0.0, unlike ==)."""
    return [x.hex() for x in model.state_dict().values()]


def _train(model: MLP, optimizer: Optimizer, steps: int) -> None:
    for _ in range(steps):
        loss = hinge([model(x) for x in X], LABELS)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def _trained() -> tuple[MLP, Adam]:
    model = MLP(2, [8, 8, 1], seed=1)
    optimizer = Adam(model.parameters(), lr=0.01, decoupled=True, weight_decay=0.01)
    _train(model, optimizer, 3)
    return model, optimizer


def _files(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


# ---------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------


def test_round_trip_gives_bitwise_equal_predictions(tmp_path: Path) -> None:
    """load(save(model)) rebuilds the architecture with the same bits and the same outputs."""
    model, _ = _trained()
    path = tmp_path / "model.json"
    save(model, path)
    restored = load(path)
    assert isinstance(restored, MLP)
    assert repr(restored) == repr(model)
    assert _bits(restored) == _bits(model)
    assert [restored(x).data.hex() for x in X] == [model(x).data.hex() for x in X]
    assert [p.label for p in restored.parameters()] == [p.label for p in model.parameters()]


@pytest.mark.parametrize(
    "model",
    [
        Layer(3, 2, "tanh", seed=0),
        Neuron(4, "sigmoid", seed=0),
        MLP(2, [4, 3], seed=0, returns=list),
        MLP(2, [4, 1], seed=0, returns=list),
    ],
    ids=repr,
)
def test_layers_and_neurons_round_trip_too(tmp_path: Path, model: Module) -> None:
    """A Layer or a Neuron is rebuilt as what it was."""
    path = tmp_path / "part.json"
    save(model, path)
    restored = load(path)
    assert type(restored) is type(model)
    assert repr(restored) == repr(model)
    assert _bits(restored) == _bits(model)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=3, max_size=3))
def test_every_finite_float_round_trips_exactly(values: list[float]) -> None:
    """Subnormals, -0.0, the largest double: each comes back with the same bits."""
    neuron = Neuron(2, seed=0)
    neuron.load_state_dict(dict(zip(["w.0", "w.1", "b"], values, strict=True)))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "n.json")
        save(neuron, path)
        assert _bits(load(path)) == [v.hex() for v in values]


def test_the_file_is_plain_json_with_a_version_and_the_architecture(tmp_path: Path) -> None:
    """Anyone can read the file: JSON, format name, version 1, architecture, named floats."""
    model = MLP(2, [3, 1], "tanh", seed=0)
    path = tmp_path / "model.json"
    save(model, path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == "autograd_lite.checkpoint"
    assert document["version"] == 1
    expected = {"type": "MLP", "nin": 2, "nouts": [3, 1], "activation": "tanh"}
    assert document["architecture"] == expected
    assert document["parameters"] == model.state_dict()
    assert document["optimizer"] is None


@pytest.mark.parametrize("make", [SGD, Adam])
def test_optimizer_state_round_trips_and_training_continues_bitwise(
    tmp_path: Path, make: type[SGD] | type[Adam]
) -> None:
    """load_with_optimizer() resumes: three more steps match the uninterrupted run bit for bit."""
    model = MLP(2, [8, 1], seed=2)
    options: dict[str, Any] = {"lr": 0.1, "momentum": 0.9} if make is SGD else {"lr": 0.05}

    def schedule(step: int) -> float:
        return 1.0 / (1 + step)

    optimizer = make(model.parameters(), **options, lr_schedule=schedule)
    _train(model, optimizer, 2)
    path = tmp_path / "run.json"
    save(model, path, optimizer)
    restored, restored_optimizer = load_with_optimizer(path, lr_schedule=schedule)
    assert isinstance(restored, MLP)
    assert type(restored_optimizer) is make
    assert restored_optimizer.step_count == 2
    assert restored_optimizer.state_dict() == optimizer.state_dict()
    _train(model, optimizer, 3)
    _train(restored, restored_optimizer, 3)
    assert _bits(restored) == _bits(model)


def test_load_into_restores_an_existing_model_and_optimizer(tmp_path: Path) -> None:
    """load_into() puts the saved floats and optimizer state into live objects."""
    model, optimizer = _trained()
    path = tmp_path / "run.json"
    save(model, path, optimizer)
    other = MLP(2, [8, 8, 1], seed=99)
    other_optimizer = Adam(other.parameters())
    load_into(path, other, other_optimizer)
    assert _bits(other) == _bits(model)
    assert other_optimizer.state_dict() == optimizer.state_dict()


def test_load_into_refuses_an_optimizer_of_other_parameters(tmp_path: Path) -> None:
    """An optimizer over other Values is refused before the model or optimizer changes."""
    model, optimizer = _trained()
    path = tmp_path / "run.json"
    save(model, path, optimizer)
    other = MLP(2, [8, 8, 1], seed=99)
    before = _bits(other)
    stranger = Adam([Value(1.0)])
    with pytest.raises(ValueError, match=r"model\.parameters\(\)"):
        load_into(path, other, stranger)
    assert _bits(other) == before and stranger.step_count == 0


def test_load_with_optimizer_checks_the_schedule_first(tmp_path: Path) -> None:
    """A schedule that is not callable is refused at once, not at the first step()."""
    model, optimizer = _trained()
    path = tmp_path / "run.json"
    save(model, path, optimizer)
    with pytest.raises(TypeError, match="callable lr_schedule"):
        load_with_optimizer(path, lr_schedule=5)  # type: ignore[arg-type]


def test_saving_again_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    """A second save overwrites the first; the folder holds only the checkpoint."""
    model = MLP(2, [4, 1], seed=0)
    path = tmp_path / "model.json"
    save(model, path)
    model.layers[0].neurons[0].b.data = 0.25
    save(model, str(path))
    assert load(path).state_dict()["layers.0.neurons.0.b"] == 0.25
    assert _files(tmp_path) == ["model.json"]


# ---------------------------------------------------------------------------------------------
# Corrupt files
# ---------------------------------------------------------------------------------------------


def _valid_document() -> dict[str, Any]:
    model, optimizer = _trained()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "valid.json")
        save(model, path, optimizer)
        with open(path, encoding="utf-8") as file:
            document: dict[str, Any] = json.load(file)
    return document


VALID = _valid_document()
FIRST = "layers.0.neurons.0.w.0"


def _edit(change: Callable[[dict[str, Any]], object]) -> bytes:
    document = json.loads(json.dumps(VALID))
    change(document)
    return json.dumps(document).encode("utf-8")


def _text(change: Callable[[str], str]) -> bytes:
    return change(json.dumps(VALID)).encode("utf-8")


def _parameter(value: object) -> Callable[[dict[str, Any]], object]:
    return lambda d: d["parameters"].update({FIRST: value})


CORRUPT: dict[str, tuple[bytes, str]] = {
    "empty file": (b"", r"malformed JSON.*\(truncated\?\)"),
    "not JSON": (b"hello", r"malformed JSON at line 1, column 1"),
    "not UTF-8": (b"\xff\xfe{}", r"not UTF-8"),
    "a pickle": (b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01.", r"not UTF-8"),
    "top-level list": (b"[1, 2]", r"must hold a JSON object, got list"),
    "other format": (_edit(lambda d: d.update(format="torch")), r"not an autograd_lite"),
    "no version": (
        _edit(lambda d: d.pop("version")),
        r"format version must be an int, got NoneType: None",
    ),
    "version as text": (_edit(lambda d: d.update(version="1")), r"must be an int, got str: '1'"),
    "version true": (_edit(lambda d: d.update(version=True)), r"must be an int, got bool: True"),
    "newer version": (
        _edit(lambda d: d.update(version=2)),
        r"format version int: 2; .* reads version 1",
    ),
    "huge version": (
        _edit(lambda d: d.update(version=10**300)),
        r"format version int: 1000000000.*\(301 characters\)",
    ),
    "extra key": (_edit(lambda d: d.update(notes="hi")), r"unexpected keys \['notes'\]"),
    "missing key": (_edit(lambda d: d.pop("optimizer")), r"missing keys \['optimizer'\]"),
    "unknown architecture": (
        _edit(lambda d: d["architecture"].update(type="CNN")),
        r"unknown architecture",
    ),
    "architecture not an object": (_edit(lambda d: d.update(architecture=[2, 8])), r"unknown"),
    "architecture type a list": (
        _edit(lambda d: d["architecture"].update(type=["MLP"])),
        r"unknown architecture dict: \{'type': \['MLP'\]",
    ),
    "architecture type an object": (
        _edit(lambda d: d["architecture"].update(type={"MLP": 1})),
        r"unknown architecture",
    ),
    "bad activation": (
        _edit(lambda d: d["architecture"].update(activation="swish")),
        r"bad MLP architecture: .*swish",
    ),
    "size as text": (
        _edit(lambda d: d["architecture"].update(nin="2")),
        r"nin must be an int, got str: '2'",
    ),
    "zero width": (
        _edit(lambda d: d["architecture"].update(nouts=[8, 0, 1])),
        r"nouts\[1\] must be an int >= 1, got int: 0",
    ),
    "400-digit size": (
        _edit(lambda d: d["architecture"].update(nin=10**399)),
        r"an integer of 400 digits, too large for a float",
    ),
    "400-digit parameter": (
        _edit(_parameter(-(10**399))),
        r"an integer of 400 digits, too large for a float",
    ),
    "wrong shape": (
        _edit(lambda d: d["architecture"].update(nouts=[8, 7, 1])),
        r"it has 105 parameters, but a \[2, 8, 7, 1\] network has 95",
    ),
    "forged huge size": (
        _edit(lambda d: d["architecture"].update(nouts=[10**9, 1])),
        r"network has 4000000001",
    ),
    "missing parameter": (
        _edit(lambda d: d["parameters"].pop(FIRST)),
        r"it has 104 parameters, but a \[2, 8, 8, 1\] network has 105",
    ),
    "renamed parameter": (
        _edit(lambda d: d["parameters"].update({"w": d["parameters"].pop(FIRST)})),
        r"missing 1 parameter",
    ),
    "parameter as text": (_edit(_parameter("0.5")), r"'layers.0.*real number.*got str"),
    "parameter as bool": (_edit(_parameter(True)), r"got bool"),
    "parameter null": (_edit(_parameter(None)), r"got NoneType"),
    "parameter list": (_edit(_parameter([0.5])), r"got list"),
    "parameters as list": (_edit(lambda d: d.update(parameters=[1.0])), r"must be an object"),
    "NaN": (_text(lambda t: t.replace('"optimizer"', '"x": NaN, "optimizer"', 1)), r"holds NaN"),
    "Infinity": (_text(lambda t: t.replace(": 0", ": Infinity", 1)), r"holds Infinity"),
    "-Infinity": (_text(lambda t: t.replace(": 0", ": -Infinity", 1)), r"holds -Infinity"),
    "overflowing number": (_text(lambda t: t.replace(": 0", ": 1e999", 1)), r"1e999, too large"),
    "repeated key": (
        _text(lambda t: t.replace("{", '{"version": 1, ', 1)),
        r"repeats the key 'version'",
    ),
    "deeply nested": (
        b'{"format": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        r"nested too deeply",
    ),
    "unknown optimizer": (_edit(lambda d: d["optimizer"].update(type="Lion")), r"SGD or Adam"),
    "optimizer too short": (
        _edit(lambda d: d["optimizer"]["state"]["exp_avg"].pop()),
        r"bad optimizer state: .*exp_avg must be a list of 105 numbers.*got 104",
    ),
    "negative second moment": (
        _edit(lambda d: d["optimizer"]["state"]["exp_avg_sq"].__setitem__(0, -1.0)),
        r"exp_avg_sq\[0\] must be >= 0",
    ),
    "negative step count": (
        _edit(lambda d: d["optimizer"].update(step_count=-3)),
        r"step_count must be an int >= 0",
    ),
    "optimizer as text": (_edit(lambda d: d.update(optimizer="Adam")), r"SGD or Adam"),
    "optimizer type a list": (
        _edit(lambda d: d["optimizer"].update(type=["Adam"])),
        r"SGD or Adam state, got dict",
    ),
    "400-digit step count": (
        _edit(lambda d: d["optimizer"].update(step_count=10**399)),
        r"an integer of 400 digits",
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_a_corrupt_file_raises_checkpoint_error_and_changes_nothing(
    tmp_path: Path, case: str
) -> None:
    """load() and load_into() raise CheckpointError naming file and problem; nothing changes."""
    content, pattern = CORRUPT[case]
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=pattern) as caught:
        load(path)
    assert str(path) in str(caught.value)
    assert caught.value.path == str(path)
    model, optimizer = _trained()
    model_bits, optimizer_state = _bits(model), optimizer.state_dict()
    with pytest.raises(CheckpointError, match=pattern):
        load_into(path, model, optimizer)
    assert _bits(model) == model_bits
    assert optimizer.state_dict() == optimizer_state


def test_every_truncation_of_a_valid_file_is_rejected(tmp_path: Path) -> None:
    """A file cut short anywhere (a crash mid-write elsewhere) raises CheckpointError."""
    content = json.dumps(VALID, indent=1).encode("utf-8")
    path = tmp_path / "cut.json"
    model, optimizer = _trained()
    model_bits = _bits(model)
    for cut in range(0, len(content) - 1, max(1, len(content) // 150)):
        path.write_bytes(content[:cut])
        with pytest.raises(CheckpointError, match=r"malformed JSON|truncated"):
            load_into(path, model, optimizer)
    assert _bits(model) == model_bits


def test_loading_into_a_different_architecture_raises(tmp_path: Path) -> None:
    """A checkpoint of one network cannot be poured into another; the target is untouched."""
    path = tmp_path / "model.json"
    save(MLP(2, [8, 1], seed=0), path)
    other = MLP(2, [4, 1], seed=0)
    bits = _bits(other)
    with pytest.raises(CheckpointError, match=r"holds a .*'nouts': \[8, 1\].*not the model's"):
        load_into(path, other)
    assert _bits(other) == bits


def test_missing_optimizer_state_is_named(tmp_path: Path) -> None:
    """Asking for an optimizer from a checkpoint saved without one raises, changing nothing."""
    model = MLP(2, [4, 1], seed=0)
    path = tmp_path / "model.json"
    save(model, path)
    with pytest.raises(CheckpointError, match="holds no optimizer state"):
        load_with_optimizer(path)
    target = MLP(2, [4, 1], seed=5)
    bits = _bits(target)
    with pytest.raises(CheckpointError, match="holds no optimizer state"):
        load_into(path, target, SGD(target.parameters(), lr=0.1))
    assert _bits(target) == bits


def test_an_optimizer_of_another_kind_is_rejected_by_load_into(tmp_path: Path) -> None:
    """Adam state cannot be loaded into SGD; neither model nor optimizer changes."""
    model, optimizer = _trained()
    path = tmp_path / "run.json"
    save(model, path, optimizer)
    target = MLP(2, [8, 8, 1], seed=4)
    sgd = SGD(target.parameters(), lr=0.1)
    bits, state = _bits(target), sgd.state_dict()
    with pytest.raises(CheckpointError, match=r"optimizer state does not fit.*'Adam'"):
        load_into(path, target, sgd)
    assert (_bits(target), sgd.state_dict()) == (bits, state)


def test_a_missing_file_raises_checkpoint_error(tmp_path: Path) -> None:
    """One error type for every failed load, a missing file included."""
    with pytest.raises(CheckpointError, match="No such file"):
        load(tmp_path / "nothing.json")


# ---------------------------------------------------------------------------------------------
# Failed saves keep the previous file
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def previous(tmp_path: Path) -> tuple[Path, bytes]:
    """A folder holding one good checkpoint, and its bytes."""
    path = tmp_path / "model.json"
    save(MLP(2, [4, 1], seed=0), path)
    return path, path.read_bytes()


def _assert_intact(previous: tuple[Path, bytes]) -> None:
    path, content = previous
    assert path.read_bytes() == content
    assert _files(path.parent) == [path.name]
    load(path)


def test_a_nan_parameter_fails_the_save_and_keeps_the_previous_file(
    previous: tuple[Path, bytes],
) -> None:
    """NaN is not JSON: the save fails naming the parameter, before touching the disk."""
    model = MLP(2, [4, 1], seed=1)
    model.layers[1].neurons[0].b.data = math.nan
    with pytest.raises(CheckpointError, match=r"cannot save .*'layers.1.neurons.0.b' is nan"):
        save(model, previous[0])
    _assert_intact(previous)


def test_a_non_finite_optimizer_state_fails_the_save(previous: tuple[Path, bytes]) -> None:
    """An optimizer whose state overflowed cannot be saved; the previous file stays."""
    model = MLP(2, [4, 1], seed=1)
    optimizer = Adam(model.parameters())
    for p in model.parameters():
        p.grad = 1e200  # squares to inf in the second moment
    optimizer.step()
    with pytest.raises(CheckpointError, match="optimizer state is not finite"):
        save(model, previous[0], optimizer)
    _assert_intact(previous)


def _failing(name: str) -> Callable[..., Any]:
    def fail(*args: object, **kwargs: object) -> Any:
        raise OSError(errno.ENOSPC, f"No space left on device (simulated in {name})")

    return fail


@pytest.mark.parametrize("call", ["fsync", "replace"])
def test_a_disk_error_mid_save_keeps_the_previous_file(
    previous: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    """A full disk while flushing or renaming: the old file stays, the temporary is removed."""
    monkeypatch.setattr(os, call, _failing(call))
    with pytest.raises(CheckpointError, match="No space left on device"):
        save(MLP(2, [4, 1], seed=1), previous[0])
    monkeypatch.undo()
    _assert_intact(previous)


def test_an_unwritable_folder_fails_the_save(
    previous: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permission denied on the temporary file (simulated: these tests may run as root)."""

    def refuse(path: str, flags: int, mode: int = 0o777) -> int:
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(CheckpointError, match=r"cannot save .*Permission denied"):
        save(MLP(2, [4, 1], seed=1), previous[0])
    monkeypatch.undo()
    _assert_intact(previous)


def test_an_interrupt_mid_save_keeps_the_previous_file(
    previous: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during the write propagates as itself, and cleans up the temporary."""

    def interrupt(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save(MLP(2, [4, 1], seed=1), previous[0])
    monkeypatch.undo()
    _assert_intact(previous)


def test_saving_onto_a_folder_or_into_a_missing_folder_fails_cleanly(tmp_path: Path) -> None:
    """os.replace cannot put a file over a folder; a missing folder cannot hold a file."""
    (tmp_path / "taken").mkdir()
    with pytest.raises(CheckpointError, match="cannot save"):
        save(MLP(2, [4, 1], seed=0), tmp_path / "taken")
    assert _files(tmp_path) == ["taken"]
    assert _files(tmp_path / "taken") == []
    with pytest.raises(CheckpointError, match="No such file"):
        save(MLP(2, [4, 1], seed=0), tmp_path / "missing" / "model.json")


def test_save_refuses_what_it_cannot_rebuild(tmp_path: Path) -> None:
    """A custom module, or an optimizer over other parameters, is refused before writing."""

    class Custom(Module):
        def __init__(self) -> None:
            self.w = Value(1.0)

    with pytest.raises(TypeError, match="can rebuild MLP, Layer or Neuron models, got Custom"):
        save(Custom(), tmp_path / "c.json")
    model = MLP(2, [4, 1], seed=0)
    with pytest.raises(ValueError, match=r"optimizer over exactly model\.parameters"):
        save(model, tmp_path / "m.json", SGD(model.parameters()[:3], lr=0.1))
    assert _files(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# Hostile documents, fuzzed: CheckpointError or a good load, never another exception
# ---------------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def _paths(document: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every place in a JSON document (keys of objects, indices of lists), outermost first."""
    places = [prefix]
    stack = [(document, prefix)]
    while stack:
        node, where = stack.pop()
        children: list[tuple[object, object]] = []
        if isinstance(node, dict):
            children = list(node.items())
        elif isinstance(node, list):
            children = list(enumerate(node))
        for key, child in children:
            places.append((*where, key))
            stack.append((child, (*where, key)))
    return places


PLACES = _paths(VALID)


def _replaced(place: tuple[object, ...], value: object) -> object:
    """VALID with the value at place replaced (the whole document for the empty place)."""
    if not place:
        return value
    document = json.loads(json.dumps(VALID))
    node = document
    for key in place[:-1]:
        node = node[key]
    node[place[-1]] = value
    return document


def _load_or_checkpoint_error(path: Path) -> None:
    try:
        load(path)
    except CheckpointError as error:
        assert str(path) in str(error)


@settings(max_examples=400, deadline=None)
@given(place=st.sampled_from(PLACES), value=JSON_VALUES)
def test_fuzzed_documents_raise_only_checkpoint_errors(
    place: tuple[object, ...], value: object
) -> None:
    """Any JSON value anywhere in a valid file: loaded, or refused with CheckpointError."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzzed.json"
        path.write_text(json.dumps(_replaced(place, value)), encoding="utf-8")
        _load_or_checkpoint_error(path)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_fuzzed_bytes_raise_only_checkpoint_errors(data: st.DataObject) -> None:
    """A valid file with bytes cut, inserted or flipped: loaded, or refused with CheckpointError."""
    content = bytearray(json.dumps(VALID).encode("utf-8"))
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        at = data.draw(st.integers(0, len(content) - 1), label="at")
        kind = data.draw(st.sampled_from(["cut", "insert", "flip"]), label="kind")
        if kind == "cut":
            del content[at : at + data.draw(st.integers(1, 40))]
        elif kind == "insert":
            content[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            content[at] ^= data.draw(st.integers(1, 255))
        if not content:
            break
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzzed.json"
        path.write_bytes(bytes(content))
        _load_or_checkpoint_error(path)


# ---------------------------------------------------------------------------------------------
# Long names, killed saves, symbolic links
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["m" * 213 + ".json", "m" * 250 + ".json", "é" * 125 + ".json", "€" * 83 + ".jsn"],
    ids=["218-byte", "255-byte", "255-byte-utf8", "253-byte-utf8"],
)
def test_names_up_to_255_bytes_can_be_saved(tmp_path: Path, name: str) -> None:
    """A name the file system accepts is saved: the temporary name is never longer than 255."""
    assert 218 <= len(name.encode("utf-8")) <= 255
    model = MLP(2, [4, 1], seed=0)
    path = tmp_path / name
    save(model, path)
    assert _bits(load(path)) == _bits(model)
    assert _files(tmp_path) == [name]


def _dead_pid() -> int:
    """The id of a process that has just exited."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


KILLED_SAVE = """
import os, sys, time
from autograd_lite.checkpoint import save
from autograd_lite.nn import MLP
def hang(fd):
    print("writing", flush=True)
    time.sleep(60)
os.fsync = hang  # the temporary file exists and is written: now wait to be killed
save(MLP(2, [4, 1], seed=0), sys.argv[1])
"""


def test_a_killed_save_leaves_a_temporary_that_the_next_save_removes(tmp_path: Path) -> None:
    """SIGKILL mid-save leaves the old file and a temporary; the next save cleans it up."""
    path = tmp_path / "model.json"
    save(MLP(2, [4, 1], seed=5), path)
    before = path.read_bytes()
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_SAVE, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    assert writer.stdout.readline() == "writing\n"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    writer.stdout.close()
    leftovers = [name for name in _files(tmp_path) if name != "model.json"]
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp"), leftovers
    assert path.read_bytes() == before  # the killed save changed nothing
    save(MLP(2, [4, 1], seed=6), path)
    assert _files(tmp_path) == ["model.json"]


def test_only_dead_writers_temporaries_of_the_same_target_are_removed(tmp_path: Path) -> None:
    """A live writer's temporary, and those of other targets, are left alone."""
    model = MLP(2, [4, 1], seed=0)
    save(model, tmp_path / "a.json")
    save(model, tmp_path / "b.json")
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = _dead_pid()

        # The names a save of a.json and of b.json would use: same digest per target.
        def temporary(target: str, pid: int) -> str:
            digest = hashlib.sha256(target.encode()).hexdigest()[:12]
            return f".{target}~{digest}.{pid}.0123456789ab.tmp"

        names = {
            "dead a": temporary("a.json", dead),
            "live a": temporary("a.json", live.pid),
            "dead b": temporary("b.json", dead),
        }
        for name in names.values():
            (tmp_path / name).write_bytes(b"partial")
        assert _TEMPORARY.fullmatch(names["dead a"])
        save(model, tmp_path / "a.json")
        left = set(_files(tmp_path))
        assert names["dead a"] not in left
        assert {names["live a"], names["dead b"], "a.json", "b.json"} <= left
    finally:
        live.kill()
        live.wait()


def test_saving_to_a_symbolic_link_writes_through_it(tmp_path: Path) -> None:
    """The link stays a link; the file it points to gets the checkpoint."""
    real = tmp_path / "real" / "model.json"
    real.parent.mkdir()
    save(MLP(2, [4, 1], seed=0), real)
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    model = MLP(2, [4, 1], seed=7)
    save(model, link)
    assert link.is_symlink() and link.resolve() == real
    assert _bits(load(real)) == _bits(model) == _bits(load(link))
    assert _files(tmp_path) == ["latest.json", "real"] and _files(real.parent) == ["model.json"]
    dangling = tmp_path / "next.json"
    dangling.symlink_to(tmp_path / "real" / "new.json")
    save(model, dangling)
    assert dangling.is_symlink() and _bits(load(tmp_path / "real" / "new.json")) == _bits(model)
