# Two entry points for a newcomer: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test server serve train-boilerplate train-offtopic bench-boilerplate bench-retrain-noise bench-extraction bench-dedup bench-dedup-dev bench-throughput bench-tiny bench-incremental bench-startup bench-cluster clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# From scratch each time: a folder keeps one cleaning configuration (a run
# under edited rules or settings is refused), and the sample takes seconds.
demo: install clean
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
	$(BIN)/python benchmarks/dedup_signature_speed.py

# Near-duplicates through the default cleaning chain (`newsclean run`): the
# fresh report half (long version chains, hard negatives; frozen manifest),
# the AEB real copies and the seeds, then the first dev set, each beside
# datatrove and datasketch; re-run whenever the cleaner changes (~10 min).
bench-dedup-dev: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	nice -n 10 $(BIN)/python benchmarks/dedup_fresh.py
	nice -n 10 $(BIN)/python benchmarks/dedup_dev.py

# The block classifier, retrained from ../shared (same seed, same bytes):
# configs/boilerplate-model.json, plus the per-fold models the benchmark
# scores held-out sites with (~15 min on 2 cores).
train-boilerplate: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/devset.py
	$(BIN)/python benchmarks/train_boilerplate.py --lodo

# The off-topic step's learned decision, retrained from half-A BBC splices
# (same seed, same bytes): configs/offtopic-model.json (~10 s).
train-offtopic: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/train_offtopic.py

# Boilerplate removal on site-grouped held-out folds, per render, plus
# off-topic inserts and speed (needs ../shared and the fold models of
# train-boilerplate; ~15 min). README table: benchmarks/readme_table.py.
bench-boilerplate: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	[ -e benchmarks/results/cache/devset/models/fold-4.json ] || $(MAKE) train-boilerplate
	$(BIN)/python benchmarks/boilerplate.py
	$(BIN)/python benchmarks/extraction.py

# How much a retrain alone moves the figures: the fold -1 block model
# retrained on almost the same rows (random boilerplate rows removed, as a
# rule would), scored on the tuning fold; read before judging any change
# that needs a retrain (needs ../shared and the dev set; ~8 min).
bench-retrain-noise: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	[ -e benchmarks/results/cache/devset/v1-dump.json.gz ] || $(BIN)/python benchmarks/devset.py
	$(BIN)/python benchmarks/retrain_noise.py

# Raw HTML (AEB, WCXB) through `newsclean run` beside trafilatura alone, and
# the AEB pages as a WARC file (needs ../shared; ~10 min).
bench-extraction: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/extraction.py

# Whole chain at 20,000 and 200,000 articles beside datatrove, with accuracy
# guards (needs ../shared; ~20 min on 2 idle cores).
bench-throughput: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/throughput.py

# 200,000 tiny records (all dropped as too short): the cheap gates decide
# before language detection (a few minutes).
bench-tiny: install
	$(BIN)/python benchmarks/tiny.py

# Ten nightly slices of a 20,000-article corpus against one run: byte-identical
# outputs, articles cleaned again per slice, time per slice (~20 min).
bench-incremental: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/incremental.py

# Whole-command time of `newsclean run` (a refusal, the sample from scratch,
# a rerun with nothing new) beside main's, paired (a few minutes).
bench-startup: install
	$(BIN)/python benchmarks/startup.py

# The Dask executor (a LocalCluster of two workers) beside the process pool
# at 20,000 and 200,000 articles: wall time, the driver's peak RSS, per-stage
# times, byte-identical outputs (needs ../shared; ~1 h on 2 cores; add
# ARGS="--sizes 20000 200000 1000000" for the synthetic 1M size).
bench-cluster: install
	$(BIN)/pip install --quiet -e '.[dev,bench,dask]'
	$(BIN)/python benchmarks/cluster.py $(ARGS)

clean:
	rm -rf clean/*.jsonl clean/*.parquet clean/report.* clean/state clean/runs clean/generations clean/current clean/.newsclean.lock
