# One place for every command a developer or CI runs. `make help` lists them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := requirements.lock
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup system-deps demo-deps lock dist test check fmt lint typecheck imports vectors-check portal-check bench demo clean mutation mutation-sample

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# Every dependency comes from the lock, each file checked against its hash; then the project
# itself, editable, with no resolution (the lock's setuptools builds it, and the C
# accelerators: rebuilt when they change); `pip check` proves the lock satisfies pyproject.
$(STAMP): pyproject.toml setup.py $(LOCK) $(wildcard notary_core/*.c firmware_bridge/*.c firmware_bridge/c/*.[ch])
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $(STAMP)

# The one lock (setup, CI, the gateway install and the collector image use it): every extra,
# every platform, with hashes. `make lock` keeps the pins it can; `make lock LOCK_ARGS=--upgrade`
# (or --upgrade-package NAME) moves them. Then run `make check`: the vectors run on the new pins.
lock: $(STAMP)  ## regenerate requirements.lock from pyproject.toml (uv pip compile)
	$(VENV)/bin/uv pip compile pyproject.toml --all-extras --universal --python-version 3.11 \
	  --generate-hashes --quiet $(LOCK_ARGS) -o $(LOCK)

# An sdist with everything needed to rebuild and check (sources, C files, SPEC, protocol,
# vectors, contracts, LICENSE, the lock), and from it a pure-Python wheel (py3-none-any: the
# C accelerators are optional, so one wheel serves every platform; installing the sdist
# compiles them where a C compiler and libssl-dev are present).
dist: $(STAMP)  ## build dist/vnotary-VERSION.tar.gz and dist/vnotary-VERSION-py3-none-any.whl
	rm -rf dist build
	VNOTARY_PURE_WHEEL=1 $(PY) -m build --no-isolation --outdir dist .

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

# The portal's browser modules: tsc --checkJs (strict) and ESLint, pinned in web/package-lock.json.
portal-check: system-deps  ## type-check and lint the consent portal's browser code
	npm --prefix web run --silent check

check: setup lint typecheck imports vectors-check portal-check  ## every check CI runs: format, lint, mypy --strict, import rules, vectors, portal, tests (warnings are errors), the mutation sample
	$(PY) -m pytest -W error $(PYTEST_ARGS)
	$(PY) scripts/mutation.py --sample $(MUTATION_SAMPLE) --seed $(MUTATION_SEED)

# Mutation testing of notary_core and the pure access rules (docs/testing.md), with the C
# accelerators off. The full run takes hours on two cores; the sample, minutes: 60 mutants
# keep it under 10 minutes on a fresh checkout (6 of them are mutmut's own set-up: it
# generates every mutant, traces the tests and runs them once clean).
MUTATION_SAMPLE ?= 60
MUTATION_SEED ?= 19
mutation: $(STAMP)  ## every mutant of the core; prints the score and the survivors (hours)
	$(PY) scripts/mutation.py

mutation-sample: $(STAMP)  ## a seeded sample of the core's mutants (MUTATION_SAMPLE, MUTATION_SEED)
	$(PY) scripts/mutation.py --sample $(MUTATION_SAMPLE) --seed $(MUTATION_SEED)

bench: $(STAMP)  ## run the benchmarks (prints ratios against peers measured in the same run)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

demo: demo-deps $(STAMP)  ## the end-to-end demo on embedded defaults; prints the portal URL (DEMO_ARGS=--serve keeps it up)
	$(VENV)/bin/vnotary demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build dist *.egg-info mutants
