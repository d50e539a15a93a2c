# The two quick-start commands: `make demo` (the main job) and `make test` (the whole suite).
# Each creates .venv and installs what it needs on first use. Neither needs root, and neither
# installs system packages: where Graphviz's `dot` is missing they say how to get it, the demo
# writes DOT text instead of pictures, and the tests that render through `dot` are skipped.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DOT_MISSING = ! command -v dot >/dev/null 2>&1

.PHONY: demo test check bench bench-quick notebooks notebooks-write graphviz clean

# pip >= 25.1 installs PEP 735 dependency groups (--group); a fresh venv may have an older one.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade 'pip>=25.1'
	$(PY) -m pip install --quiet -e . --group dev
	touch $(STAMP)

# The `dot` program renders drawings; the Python package alone only writes DOT text.
# This target only tells: installing system packages is yours to decide (it needs root).
graphviz:
	@if $(DOT_MISSING); then \
	  echo "*** Graphviz's dot program is not installed: drawings are written as DOT text (.dot)."; \
	  echo "*** For pictures (.svg, .png), install it and run the command again:"; \
	  echo "***   sudo apt-get install graphviz   (or: brew install graphviz, conda install -c conda-forge graphviz)"; \
	fi

demo: $(STAMP) graphviz
	$(PY) demos/moons.py

# The header pytest prints lists what was skipped and why (no `dot`, no PyTorch) and the
# hypothesis seed of the run.
test: $(STAMP) graphviz
	@$(PY) -c "import torch" 2>/dev/null || { \
	  echo "*** PyTorch is not installed: the tests that compare with it are skipped"; \
	  echo "*** (tests/test_torch_oracle.py, the torch cases of tests/test_optim.py). To run them:"; \
	  echo "***   $(PY) -m pip install torch==2.13.0"; }
	$(PY) -m pytest

# The notebooks: each run from scratch in a kernel of .venv's Python and compared with its
# committed outputs (make test does this too); notebooks-write refreshes them (it needs dot).
notebooks: $(STAMP)
	$(PY) demos/notebooks/run.py

notebooks-write: $(STAMP) graphviz
	$(PY) demos/notebooks/run.py --write

check: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# micrograd, the peer, comes with the dev group; PyTorch joins in when installed
# (pip install torch==2.13.0 here: the CPU build).
bench: $(STAMP)
	$(PY) bench/run.py --json bench/results/full.json
	$(PY) bench/first_order_cost.py

bench-quick: $(STAMP)
	$(PY) bench/run.py --quick --json bench/results/quick.json
	$(PY) bench/first_order_cost.py --quick

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache .hypothesis
