"""Packaging as it would go to the package index, and the test suite's own configuration.

The sdist and the wheel are built with hatchling, as `pip` would, and their metadata read back:
PEP 639 licence fields, the declared Pythons, one version, no development extras. The suite
collects the doctests of every module that has them; the strategies without hypothesis say
which extra to install.
"""

from __future__ import annotations

import ast
import email.parser
import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

import autograd_lite

REPO = Path(__file__).resolve().parent.parent
PYPROJECT: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
DECLARED_PYTHONS = ["3.11", "3.12", "3.13"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist and the wheel, built from this tree by hatchling."""
    hatchling = pytest.importorskip("hatchling.build", reason="the dev group installs hatchling")
    folder = tmp_path_factory.mktemp("dist")
    here = os.getcwd()
    os.chdir(REPO)
    try:
        sdist = folder / hatchling.build_sdist(str(folder))
        wheel = folder / hatchling.build_wheel(str(folder))
    finally:
        os.chdir(here)
    return sdist, wheel


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))


def test_wheel_metadata_is_ready_for_the_index(built: tuple[Path, Path]) -> None:
    """PEP 639 licence, one version, declared Pythons, no placeholder URL, no dev extras."""
    _, wheel = built
    meta = _metadata(wheel)
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert float(meta["Metadata-Version"]) >= 2.4  # the first version with PEP 639 fields
    assert meta["Version"] == autograd_lite.__version__
    classifiers = meta.get_all("Classifier") or []
    for version in DECLARED_PYTHONS:
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert not any(c.startswith("License ::") for c in classifiers)  # PEP 639: the expression
    assert "example.invalid" not in str(meta)
    assert sorted(meta.get_all("Provides-Extra") or []) == ["testing", "viz"]
    requires = meta.get_all("Requires-Dist") or []
    assert not any('extra == "dev"' in r or 'extra == "demos"' in r for r in requires)
    assert any(r.startswith("hypothesis>=6.116") for r in requires)  # settings_profile's floor
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"autograd_lite"}


def test_the_sdist_holds_what_the_readme_commands_need(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    """make demo, make test and .ci/run work from an unpacked sdist: their files are there."""
    sdist, _ = built
    with tarfile.open(sdist) as archive:
        # The "data" filter refuses links and paths out of tmp_path; Python 3.11 has it only
        # from 3.11.4 on (Debian's python3 is 3.11.2), and there the archive is our own.
        if hasattr(tarfile, "data_filter"):
            archive.extractall(tmp_path, filter="data")
        else:
            archive.extractall(tmp_path)
    (root,) = tmp_path.iterdir()
    for needed in ["Makefile", ".ci/run", "pyproject.toml", "README.md", "LICENSE"]:
        assert (root / needed).is_file(), needed
    for folder in ["autograd_lite", "tests", "demos", "docs", "bench"]:
        assert any((root / folder).iterdir()), folder
    # Every tracked file under those folders made it in (nothing silently left out).
    tracked = subprocess.run(
        ["git", "ls-files", "autograd_lite", "tests", "demos", "docs", "bench"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if tracked.returncode == 0:
        missing = [p for p in tracked.stdout.split() if not (root / p).exists()]
        assert missing == []
    dry_run = subprocess.run(
        ["make", "-n", "demo", "test"], cwd=root, capture_output=True, text=True, check=False
    )
    assert dry_run.returncode == 0, dry_run.stderr
    assert "--group dev" in dry_run.stdout
    # apt-get appears only in what make says (echo), never as a command it runs.
    commands = [line.strip() for line in dry_run.stdout.splitlines()]
    assert not any(re.match(r"(sudo )?apt(-get)? ", line) for line in commands)


def test_one_source_for_the_version() -> None:
    """pyproject.toml reads the version from autograd_lite/__init__.py, which holds it once."""
    assert "version" not in PYPROJECT["project"]
    assert "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "autograd_lite/__init__.py"
    source = (REPO / "autograd_lite" / "__init__.py").read_text(encoding="utf-8")
    assert len(re.findall(r"^__version__ = ", source, flags=re.MULTILINE)) == 1


def test_dev_tools_are_a_dependency_group_not_an_extra() -> None:
    """PEP 735 groups hold the tools and the demos' needs; the extras are features."""
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert set(extras) == {"viz", "testing"}
    groups = PYPROJECT["dependency-groups"]
    flat = [item for group in groups.values() for item in group if isinstance(item, str)]
    for tool in ["pytest", "ruff", "mypy", "matplotlib", "scikit-learn", "tqdm", "micrograd"]:
        assert any(item.startswith(tool) for item in flat), tool


def test_ci_runs_every_declared_python_and_the_minimum_versions() -> None:
    """.ci/run names the declared Pythons and installs each declared floor exactly."""
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert f'DECLARED="{" ".join(DECLARED_PYTHONS)}"' in script
    floors = {
        re.split(r"[<>=]", spec)[0]: spec.split(">=")[1]
        for spec in (
            *PYPROJECT["project"]["optional-dependencies"]["viz"],
            *PYPROJECT["project"]["optional-dependencies"]["testing"],
        )
    }
    for name, floor in floors.items():
        pinned = re.search(rf"\b{name}==([0-9.]+)", script)
        assert pinned, name
        assert tuple(int(p) for p in pinned.group(1).split(".")) >= tuple(
            int(p) for p in floor.split(".")
        )
        assert pinned.group(1).rstrip(".0") == floor.rstrip(".0") or pinned.group(1) == floor


def test_pytest_collects_the_doctests_of_every_module() -> None:
    """`pytest` (make test) runs the docstring examples of each module that has them."""
    options = PYPROJECT["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in options["addopts"]
    assert "autograd_lite" in options["testpaths"]
    with_examples = []
    for path in sorted((REPO / "autograd_lite").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = [
            ast.get_docstring(node) or ""
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        if any(">>>" in doc for doc in docs):
            with_examples.append(path.relative_to(REPO).as_posix())
    collected = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "autograd_lite",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    items = collected.stdout
    missing = [module for module in with_examples if f"{module}::" not in items]
    assert with_examples and missing == [], (missing, collected.stdout[-2000:])


# Run in a fresh interpreter where `import hypothesis` fails, as on a machine without it.
WITHOUT_HYPOTHESIS = """
import importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "hypothesis" or name.startswith("hypothesis."):
            raise ImportError(f"No module named {name!r} (hidden by the test)")
        return None

sys.meta_path.insert(0, Block())
import autograd_lite.testing  # gradcheck needs nothing beyond the engine
try:
    from autograd_lite.testing import strategies
except ImportError as error:
    print(error)
else:
    print("imported")
"""


def test_strategies_without_hypothesis_name_the_extra() -> None:
    """Without hypothesis, importing the strategies says: pip install 'autograd-lite[testing]'."""
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_HYPOTHESIS],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    message = done.stdout.strip()
    assert "pip install 'autograd-lite[testing]'" in message, message
    assert "hypothesis" in message
