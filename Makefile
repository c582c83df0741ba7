# Two entry points for a newcomer: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test server serve bench-boilerplate bench-dedup bench-throughput bench-tiny clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/newsclean run --input raw --output clean

test: install
	$(BIN)/python -m pytest

# A Prefect server for scheduled runs and the UI (http://127.0.0.1:4200).
server: install
	PREFECT_SERVER_ANALYTICS_ENABLED=false $(BIN)/prefect server start

# Serve the flow on the schedule of configs/default.toml ([schedule]).
serve: install
	PREFECT_API_URL=$${PREFECT_API_URL:-http://127.0.0.1:4200/api} $(BIN)/newsclean serve

# Near-duplicate detection beside datatrove (needs ../shared; ~30 min with the 1M-article run).
bench-dedup: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/dedup.py

# Boilerplate and off-topic removal vs the extractors (needs ../shared; a few minutes).
bench-boilerplate: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/boilerplate.py

# Whole chain at 20,000 and 200,000 articles beside datatrove, with accuracy
# guards (needs ../shared; ~20 min on 2 idle cores).
bench-throughput: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/throughput.py

# 200,000 tiny records (all dropped as too short): the cheap gates decide
# before language detection (a few minutes).
bench-tiny: install
	$(BIN)/python benchmarks/tiny.py

clean:
	rm -rf clean/*.jsonl clean/report.* clean/state clean/runs clean/generations clean/current clean/.newsclean.lock
