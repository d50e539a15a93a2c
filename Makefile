# The two quick-start commands: `make demo` (the main job) and `make test` (the whole suite).
# Each creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test check bench bench-quick graphviz clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The `dot` program renders drawings; the Python package alone only writes DOT text.
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; \
	  else \
	    echo "Graphviz's dot program is missing: sudo apt-get install graphviz (or brew install graphviz)"; exit 1; \
	  fi; }

demo: $(STAMP) graphviz
	$(PY) demos/moons.py

test: $(STAMP) graphviz
	$(PY) -m pytest

check: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# micrograd, the peer, comes with the dev extra; PyTorch joins in when installed
# (pip install torch==2.13.0 here: the CPU build).
bench: $(STAMP)
	$(PY) bench/run.py --json bench/results/full.json
	$(PY) bench/first_order_cost.py

bench-quick: $(STAMP)
	$(PY) bench/run.py --quick --json bench/results/quick.json
	$(PY) bench/first_order_cost.py --quick

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache .hypothesis
