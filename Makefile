# Every target sets up .venv on first use, so `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint typecheck pytest run sandbox migrate clean fuzz second-opinion screenshots

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Stillpoint needs Python 3.11 or newer; set PYTHON=python3.11 (or newer)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/stillpoint demo

# The README's picture of what a practitioner sees (docs/images/).
screenshots: $(STAMP)
	$(BIN)/python -m bot.screenshots docs/images

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

run: $(STAMP)
	$(BIN)/stillpoint migrate
	$(BIN)/stillpoint run

sandbox: $(STAMP)
	$(BIN)/stillpoint sandbox

migrate: $(STAMP)
	$(BIN)/stillpoint migrate

# Random updates through every handler (make test runs 10,000 with one seed): 100,000
# with each of three more seeds (about half an hour each). Prints the figures; fails on
# any unhandled error or 400.
fuzz: $(STAMP)
	for seed in 1 2 3; do $(BIN)/python -m tests.fuzzing --updates 100000 --seed $$seed || exit 1; done

# Train the triage second opinion again after labelled lines are added or relabelled.
second-opinion: $(STAMP)
	$(BIN)/python -m tests.second_opinion_training

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info

# Benchmarks: every one at its target sizes on SQLite and on PostgreSQL
# (BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local server; skipped if it is
# not there). Prints a table, then the results as one JSON line. Takes about 25 minutes.
.PHONY: bench
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks all --json
