# safelight — the two commands that matter: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test lint bench-ingest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## demo: create .venv, install, run the whole flow on generated demo data, write an HTML summary
demo: $(STAMP)
	$(BIN)/safelight demo --out demo-output

## test: create .venv, install the package and its test tools, run the tests
test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest/run.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache
