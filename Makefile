# Two commands on a fresh machine with python3 and make:
#   make demo   -> virtual environment, install, solve the demo county, print the run folder
#   make test   -> same set-up, run the test suite
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
OUT     ?= runs/fangcheng-2030
SCEN    ?= scenarios/fangcheng-2030.yaml

.PHONY: demo demo-phased test test-fast lint bench system-deps clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# CJK font for Chinese map labels, Chromium for the report test, QGIS for the plan.gpkg test
# (Debian; skipped where apt-get is absent).
system-deps:
	@sh scripts/system-deps.sh

demo: $(STAMP) system-deps
	$(BIN)/planner run $(SCEN) --out $(OUT) --force

# The demo in the plan's three phases (2021-2024, 2025-2028, 2029-2030) on the projected pupils.
demo-phased: $(STAMP) system-deps
	$(BIN)/planner run scenarios/fangcheng-2030-phased.yaml --out runs/fangcheng-2030-phased --force

# The linter, the formatter's check and the type checker, then the suite.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check --quiet planner tests benchmarks gis
	$(BIN)/mypy

test: $(STAMP) system-deps lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --maxschedchunk 1

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow"

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/demo.py

clean:
	rm -rf $(VENV) runs .pytest_cache
