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

.PHONY: demo test ui bench bench-small clean venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/tokenbooks demo --days $(DEMO_DAYS) --calls-per-day $(DEMO_CALLS) --seed $(DEMO_SEED)

test: $(STAMP)
	$(BIN)/python -m pytest

# exec: dagster dev replaces the shell, so Ctrl-C reaches it and it stops its webserver, daemon and code server.
ui: $(STAMP)
	exec $(BIN)/tokenbooks ui --port $(UI_PORT)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

bench-small: $(STAMP)
	$(BIN)/python -m benchmarks.run --calls-per-day 20000 --history-days 3

clean:
	rm -rf $(VENV) data
