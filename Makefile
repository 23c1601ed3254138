# safelight — the two commands that matter: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test lint bench-ingest bench-report bench-linkage bench-release clean

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

## benchmarks (minutes; see BENCHMARKS.md)
bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest/run.py --sizes 100000,1000000 --repeats 3
	$(BIN)/python bench/ingest/run.py --sizes 5000000 --repeats 1 --out bench/ingest/results/5m.json

bench-release: $(STAMP)
	$(BIN)/python -m pip install --quiet pac-synth==0.0.8
	$(BIN)/python bench/release/run.py

bench-report: $(STAMP)
	$(BIN)/python bench/report/run.py --records 1000000 --repeats 3 --build ingest

# peers run in their own environment (their pins must not move safelight's)
PEERS ?= .venv-peers
$(PEERS)/bin/python:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet splink==5.0.0

bench-linkage: $(STAMP) $(PEERS)/bin/python
	$(BIN)/python bench/linkage/run_demo.py --splink $(PEERS)/bin/python

clean:
	rm -rf $(VENV) demo-output .pytest_cache
