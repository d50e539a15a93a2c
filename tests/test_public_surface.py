"""One public-surface convention for every public module of the package.

Each public module declares a sorted ``__all__`` right after its imports; ``from m import *``
brings in exactly ``__all__`` (no imported helper such as ``math``, ``st`` or ``Callable``);
every name in it exists and has a docstring when it is a function or a class.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import autograd_lite


def _public_modules() -> list[str]:
    names = ["autograd_lite"]
    for info in pkgutil.walk_packages(autograd_lite.__path__, "autograd_lite."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


PUBLIC = _public_modules()


def test_the_public_modules_are_the_documented_ones() -> None:
    """The list this test walks is the package's public face (new modules must join it)."""
    expected = {
        "autograd_lite",
        "autograd_lite.anomaly",
        "autograd_lite.checkpoint",
        "autograd_lite.cli",
        "autograd_lite.datasets",
        "autograd_lite.engine",
        "autograd_lite.expr",
        "autograd_lite.functional",
        "autograd_lite.losses",
        "autograd_lite.nn",
        "autograd_lite.optim",
        "autograd_lite.rules",
        "autograd_lite.testing",
        "autograd_lite.testing.strategies",
        "autograd_lite.viz",
    }
    assert expected <= set(PUBLIC), sorted(expected - set(PUBLIC))


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


@pytest.mark.parametrize("name", PUBLIC)
def test_star_import_brings_exactly_all(name: str) -> None:
    """`from m import *` gives __all__ and nothing else; every name in it exists."""
    module = _module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    namespace: dict[str, object] = {}
    exec(f"from {name} import *", namespace)
    namespace.pop("__builtins__", None)
    assert set(namespace) == set(module.__all__)
    assert len(module.__all__) == len(set(module.__all__)), "a name is listed twice"


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: SCREAMING_CASE constants, then CamelCase classes, then the rest.
    if name.isupper() or (name.upper() == name and "_" in name):
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def _only_imports(block: ast.stmt) -> bool:
    allowed = ast.Import | ast.ImportFrom | ast.Raise | ast.Assign | ast.Pass
    inner = [s for s in ast.walk(block) if isinstance(s, ast.stmt) and s is not block]
    return all(isinstance(s, allowed) for s in inner)


@pytest.mark.parametrize("name", PUBLIC)
def test_all_is_sorted_and_comes_right_after_the_imports(name: str) -> None:
    """__all__ is the first statement after the docstring and the imports."""
    module = _module(name)
    source = inspect.getsource(module)
    tree = ast.parse(source)
    body = list(tree.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the module docstring
    for statement in body:
        if isinstance(statement, ast.Import | ast.ImportFrom):
            continue
        if isinstance(statement, ast.If | ast.Try) and _only_imports(statement):
            continue  # TYPE_CHECKING imports, optional imports
        assert isinstance(statement, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in statement.targets
        ), f"{name}: the first statement after the imports is not __all__ (line {statement.lineno})"
        break
    names = list(module.__all__)
    assert names == sorted(names, key=_isort_key), f"{name}.__all__ is not sorted"


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_function_and_class_has_a_docstring(name: str) -> None:
    """A one-line summary on every public function and class, as the style guide asks."""
    module = _module(name)
    missing = []
    for attribute in module.__all__:
        obj = getattr(module, attribute)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and not inspect.getdoc(obj):
            missing.append(attribute)
    assert not missing, f"{name}: no docstring on {missing}"
