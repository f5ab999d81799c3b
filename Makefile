# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The one home: every command, the Dagster UI and its instance ($(TOKENBOOKS_HOME)/dagster) use it.
export TOKENBOOKS_HOME ?= $(CURDIR)/data
UI_PORT ?= 3000

DEMO_DAYS ?= 30
DEMO_CALLS ?= 5000
DEMO_SEED ?= 7

.PHONY: demo test test-tz mutate ui bench bench-small bench-scale clean venv focus-validator

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# The FinOps Foundation's FOCUS validator, which the export's tests run, in a venv of its own: it pins numpy<2
# and pandas<3, and needs multimethod<1.11 next to its pandera 0.17.
FOCUS_VENV ?= .venv-focus
FOCUS_STAMP := $(FOCUS_VENV)/.installed

$(FOCUS_STAMP):
	$(PYTHON) -m venv $(FOCUS_VENV)
	$(FOCUS_VENV)/bin/python -m pip install --quiet 'focus-validator==1.0.0' 'multimethod<1.11'
	touch $(FOCUS_STAMP)

focus-validator: $(FOCUS_STAMP)

demo: $(STAMP)
	$(BIN)/tokenbooks demo --days $(DEMO_DAYS) --calls-per-day $(DEMO_CALLS) --seed $(DEMO_SEED)

test: $(STAMP) $(FOCUS_STAMP)
	$(BIN)/python -m pytest

# The unit and asset tests again with the clock 14 hours ahead of UTC: days must not depend on the machine's zone.
test-tz: $(STAMP)
	TZ=Pacific/Kiritimati $(BIN)/python -m pytest tests/unit tests/assets

# Plant each bug of tests/mutations/mutants.yaml in a scratch copy, one at a time; fails if the tests miss one.
MUTATE_JOBS ?= 2
MUTATE_FLAGS ?=
mutate: $(STAMP)
	$(BIN)/python -m tests.mutations.run --jobs $(MUTATE_JOBS) $(MUTATE_FLAGS)

# exec: dagster dev replaces the shell, so Ctrl-C reaches it and it stops its webserver, daemon and code server.
ui: $(STAMP)
	exec $(BIN)/tokenbooks ui --port $(UI_PORT)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

bench-small: $(STAMP)
	$(BIN)/python -m benchmarks.run --calls-per-day 20000 --history-days 3

# Throughput per core and a backfill with days built side by side (README, "Past one machine").
bench-scale: $(STAMP)
	$(BIN)/python -m benchmarks.scale

clean:
	rm -rf $(VENV) $(FOCUS_VENV) data
