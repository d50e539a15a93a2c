"""The README's code blocks run as written, and print what the README says they print.

A ```python block followed directly by a ```text block must print exactly that text. Blocks
run in order in one namespace, as a reader would type them into one session.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def _python_blocks() -> list[tuple[int, str, str | None]]:
    """(line number, code, expected output or None) for each python block of the README."""
    text = README.read_text(encoding="utf-8")
    blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in BLOCK.finditer(text)]
    found = []
    for i, (lang, body, start, end) in enumerate(blocks):
        if lang != "python":
            continue
        expected = None
        if i + 1 < len(blocks):
            next_lang, next_body, next_start, _ = blocks[i + 1]
            if next_lang == "text" and text[end:next_start].strip() == "":
                expected = next_body
        found.append((text.count("\n", 0, start) + 1, body, expected))
    return found


def test_readme_has_examples() -> None:
    """The README shows runnable code with its output."""
    blocks = _python_blocks()
    assert len(blocks) >= 3
    assert sum(expected is not None for _, _, expected in blocks) >= 3


@pytest.mark.dot  # a block renders a drawing to SVG
def test_readme_code_blocks_run_and_print_what_they_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every python block runs; where the README shows output, the output matches exactly."""
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    namespace: dict[str, object] = {"__name__": "__readme__"}
    for line, code, expected in _python_blocks():
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"README.md:{line}", "exec"), namespace)
        if expected is not None:
            assert out.getvalue() == expected, f"README.md:{line} printed:\n{out.getvalue()}"


def test_readme_code_type_checks_under_mypy_strict(tmp_path: Path) -> None:
    """The README's blocks, read as one module, pass mypy --strict: no cast is ever needed."""
    api = pytest.importorskip("mypy.api", reason="mypy comes with the lint dependency group")
    module = tmp_path / "readme_blocks.py"
    module.write_text("\n\n".join(code for _, code, _ in _python_blocks()), encoding="utf-8")
    config = README.parent / "pyproject.toml"
    out, err, status = api.run(
        ["--strict", "--config-file", str(config), "--no-incremental", str(module)]
    )
    assert status == 0, out + err


def test_readme_names_every_demo() -> None:
    """Every demo script in demos/ has its place in the README's table."""
    scripts = {
        path.name
        for path in (README.parent / "demos").glob("*.py")
        if not path.name.startswith("_") and path.name != "make_docs_pictures.py"
    }
    named = set(re.findall(r"`python demos/(\w+\.py)`", README.read_text(encoding="utf-8")))
    assert scripts - {"moons.py"} <= named, sorted(scripts - named)
