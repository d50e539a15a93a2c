"""The developer's hypothesis profile: random, reproducible from a printed seed, never sticky.

A small suite that fails by chance is run in fresh pytest processes with this repository's
conftest: the header prints the run's seed, ``--hypothesis-seed`` repeats the same examples, and
no example database is written that would replay a failure on every later run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from hypothesis import settings

from autograd_lite.testing import CI_PROFILE, DEV_PROFILE, settings_profile

TESTS = Path(__file__).resolve().parent

# Fails for about half of all seeds: the parity of a sum of random draws.
CHANCE_SUITE = """
from hypothesis import given, settings, strategies as st

def test_sum_is_even():
    drawn = []

    @settings(max_examples=20, database=None)
    @given(st.integers(0, 1000))
    def collect(x):
        drawn.append(x)

    collect()
    print("DRAWN", drawn)
    assert sum(drawn) % 2 == 0, drawn

@given(st.integers(0, 1000))
def test_property_fails_for_every_number(x):
    assert x > 1000  # fails at the first example, whatever the seed
"""


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest in a fresh process, in folder, as a developer runs it (CI unset)."""
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _suite(tmp_path: Path) -> Path:
    shutil.copy(TESTS / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_chance.py").write_text(CHANCE_SUITE, encoding="utf-8")
    return tmp_path


def test_the_dev_profile_keeps_no_database_and_prints_the_blob() -> None:
    """Locally: random, no deadline, no example database, a reproduction blob on failure."""
    assert settings_profile(ci=False) == DEV_PROFILE
    dev = settings.get_profile(DEV_PROFILE)
    assert dev.database is None
    assert dev.print_blob
    assert not dev.derandomize
    assert dev.deadline is None
    assert settings.get_profile(CI_PROFILE).derandomize


def test_a_local_run_prints_its_seed_and_the_seed_repeats_it(tmp_path: Path) -> None:
    """The header names the seed; --hypothesis-seed=N draws the very same examples again."""
    folder = _suite(tmp_path)
    first = _pytest(folder, "test_chance.py::test_sum_is_even")
    match = re.search(r"seed (\d+) \(repeat with --hypothesis-seed=\1\)", first.stdout)
    assert match, first.stdout
    seed = match.group(1)
    drawn = re.findall(r"DRAWN \[.*\]", first.stdout)
    again = _pytest(folder, "test_chance.py::test_sum_is_even", f"--hypothesis-seed={seed}")
    assert again.returncode == first.returncode
    assert re.findall(r"DRAWN \[.*\]", again.stdout) == drawn
    if first.returncode != 0:
        assert f"pytest --hypothesis-seed={seed} repeats its examples" in first.stdout


def test_a_failure_is_not_replayed_by_later_runs(tmp_path: Path) -> None:
    """A failing property saves no example to replay; it prints how to reproduce it."""
    folder = _suite(tmp_path)
    failed = _pytest(folder, "test_chance.py::test_property_fails_for_every_number")
    assert failed.returncode == 1, failed.stdout
    assert "@reproduce_failure" in failed.stdout
    # .hypothesis/ may hold a cache of constants; examples/ is the database that replays.
    assert not (folder / ".hypothesis" / "examples").exists()


def test_seeds_differ_between_runs(tmp_path: Path) -> None:
    """Without --hypothesis-seed, each run draws its own seed (the profile stays random)."""
    folder = _suite(tmp_path)
    seeds = set()
    for _ in range(3):
        done = _pytest(folder, "--co")
        seeds.update(re.findall(r"seed (\d+) \(repeat", done.stdout))
    assert len(seeds) == 3
