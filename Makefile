# Two entry points: `make demo` (set up, then style the built-in Tübingen photo) and
# `make test` (set up, then lint: ruff and the import rules, then the test suite). All in .venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of PyTorch; a plain `torch` from PyPI is a multi-GB CUDA build.
TORCH ?= torch==2.13.0

.PHONY: setup demo serve test lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

demo: setup
	$(VENV)/bin/painterly demo

serve: setup
	$(VENV)/bin/painterly serve

lint: setup
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports

test: lint
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
