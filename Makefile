# One place for every command a developer or CI runs. `make help` lists them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup system-deps demo-deps test check fmt lint typecheck imports vectors-check bench demo clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# The C accelerators are built by the editable install: rebuild when they change.
$(STAMP): pyproject.toml setup.py $(wildcard notary_core/*.c firmware_bridge/*.c firmware_bridge/c/*.[ch])
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

system-deps:  ## install what the tests run for real (mosquitto, PostgreSQL, anvil, Chromium, a C compiler)
	bash scripts/install-system-deps.sh test

demo-deps:  ## install only what the demo runs (mosquitto, anvil)
	bash scripts/install-system-deps.sh demo

setup: system-deps $(STAMP)  ## virtual environment + every dependency

test: setup  ## the whole test suite
	$(PY) -m pytest $(PYTEST_ARGS)

fmt: $(STAMP)  ## reformat the code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

imports: $(STAMP)
	$(VENV)/bin/lint-imports

vectors-check: $(STAMP)  ## regenerate vectors and the contract artifact in memory; compare with the committed ones
	$(PY) scripts/gen_vectors.py --check
	$(PY) -m firmware_bridge.vectors --check
	$(PY) contracts/compile.py --check

check: setup lint typecheck imports vectors-check  ## every check CI runs: format, lint, mypy --strict, import rules, vectors, tests (warnings are errors)
	$(PY) -m pytest -W error $(PYTEST_ARGS)

bench: $(STAMP)  ## run the benchmarks (prints ratios against peers measured in the same run)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

demo: demo-deps $(STAMP)  ## the end-to-end demo on embedded defaults (checks its inputs first)
	$(VENV)/bin/vnotary demo

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info
