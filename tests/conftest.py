"""Test-suite set-up: the hypothesis profile and seed, and the tests that need `dot` or torch.

With CI set, autograd_lite's "ci" profile extends hypothesis's own: derandomized, no deadline,
no example database. Elsewhere the developer profile: random, yet reproducible (one seed per run,
printed in the header: ``pytest --hypothesis-seed=N`` repeats it) and never sticky (no example
database replaying old failures). Tests marked ``dot`` need Graphviz's ``dot`` program: without
it they skip, saying how to install it, except in CI, where a missing ``dot`` is a failure. Tests
marked ``browser`` need a headless Chromium driven by selenium, the same way.
"""

from __future__ import annotations

import importlib.util
import os
import random
import shutil

import pytest
from hypothesis import settings

from autograd_lite.testing import settings_profile

IN_CI = bool(os.environ.get("CI"))
HAS_DOT = shutil.which("dot") is not None
HAS_TORCH = importlib.util.find_spec("torch") is not None

INSTALL_DOT = (
    "Graphviz's dot program is not installed: sudo apt-get install graphviz "
    "(or brew install graphviz, or conda install -c conda-forge graphviz)"
)
INSTALL_TORCH = "pip install torch==2.13.0 (the CPU build; never plain `pip install torch`)"

# The browser tests drive Debian's chromium through its chromedriver with selenium (offline: no
# tool that downloads a browser of its own).
BROWSER_PARTS = {
    "chromium": shutil.which("chromium") or shutil.which("chromium-browser"),
    "chromedriver": shutil.which("chromedriver"),
    "selenium": importlib.util.find_spec("selenium"),
}
MISSING_FOR_BROWSER = [name for name, found in BROWSER_PARTS.items() if not found]
INSTALL_BROWSER = (
    f"the browser tests need {', '.join(MISSING_FOR_BROWSER) or 'nothing more'}: "
    "sudo apt-get install chromium chromium-driver, and pip install selenium"
)

settings.load_profile(settings_profile())


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Outside CI, fix one random seed for the whole run, so that any failure can be repeated."""
    # tryfirst: hypothesis's own plugin reads --hypothesis-seed in its pytest_configure. A
    # profile named on the command line (CI's other Pythons name the derandomized one) decides.
    chosen = config.getoption("hypothesis_seed", default=None) is not None
    named_profile = config.getoption("hypothesis_profile", default=None) is not None
    if not IN_CI and not chosen and not named_profile:
        config.option.hypothesis_seed = str(random.SystemRandom().randrange(2**32))


def _seed(config: pytest.Config) -> str | None:
    seed = config.getoption("hypothesis_seed", default=None)
    return None if seed is None else str(seed)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say how hypothesis runs, and which optional tools the suite found."""
    seed = _seed(config)
    profile = config.getoption("hypothesis_profile", default=None) or settings_profile()
    lines = [
        f"autograd_lite: hypothesis profile {profile!r}"
        + ("" if seed is None else f", seed {seed} (repeat with --hypothesis-seed={seed})")
    ]
    if not HAS_DOT:
        where = "they FAIL here, in CI" if IN_CI else "they are skipped"
        lines.append(f"autograd_lite: tests that render through dot: {where}. {INSTALL_DOT}")
    if not HAS_TORCH:
        where = "they FAIL here, in CI" if IN_CI else "they are skipped"
        lines.append(
            "autograd_lite: tests that compare with PyTorch (tests/test_torch_oracle.py and the "
            f"torch cases of tests/test_optim.py): {where}. Get torch: {INSTALL_TORCH}"
        )
    if MISSING_FOR_BROWSER:
        where = "they FAIL here, in CI" if IN_CI else "they are skipped"
        lines.append(f"autograd_lite: tests in a browser: {where}; {INSTALL_BROWSER}")
    return lines


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a test that needs `dot` or a browser when it is missing; in CI, fail it instead."""
    if MISSING_FOR_BROWSER and item.get_closest_marker("browser") is not None:
        if IN_CI:
            pytest.fail(f"{INSTALL_BROWSER}. CI must run this test.")
        pytest.skip(INSTALL_BROWSER)
    if HAS_DOT or item.get_closest_marker("dot") is None:
        return
    if IN_CI:
        pytest.fail(f"{INSTALL_DOT}. CI must run this test (.ci/run installs Graphviz).")
    pytest.skip(INSTALL_DOT)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """After a failed run, repeat how to reproduce it."""
    seed = _seed(config)
    if exitstatus != 0 and seed is not None:
        terminalreporter.write_line(
            f"autograd_lite: this run used hypothesis seed {seed}; "
            f"pytest --hypothesis-seed={seed} repeats its examples."
        )
    if not HAS_TORCH and not IN_CI:
        terminalreporter.write_line(
            f"autograd_lite: the PyTorch comparisons were skipped; get torch: {INSTALL_TORCH}"
        )
