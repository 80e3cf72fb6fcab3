# Cakupan: `make demo` runs the pipeline end to end on an embedded PostgreSQL,
# `make test` runs the test suite. Both set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CAKUPAN := $(BIN)/cakupan
# Empty: the regencies of the source articles (include/cakupan/articles.py), at real size.
DEMO_REGIONS ?=
DEMO_FROM ?= 2025-01
DEMO_TO ?= 2025-03
DEMO_SCALE ?= 1.0

export XDG_RUNTIME_DIR := $(CURDIR)/.local/run
export PYTHONWARNINGS := ignore::DeprecationWarning,ignore::UserWarning

.PHONY: demo test venv warehouse landing manifest data-docs-assets airflow-db pipeline summary warehouse-psql airflow docs bench \
        bench-national bench-history \
        stop lint lock clean

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml setup.py include/cakupan/_hmac_sha256.c
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@mkdir -p -m 700 .local/run && touch $@

warehouse: venv
	@mkdir -p -m 700 .local/run
	$(CAKUPAN) warehouse up

landing: warehouse
	$(CAKUPAN) landing init $(if $(DEMO_REGIONS),--regions $(DEMO_REGIONS)) --from $(DEMO_FROM) \
	  --to $(DEMO_TO) --scale $(DEMO_SCALE)

# dbt's manifest: Cosmos renders the transform DAG from it, so DAG parsing never runs dbt.
MANIFEST := dbt_project/target/manifest.json
manifest: $(MANIFEST)
$(MANIFEST): $(VENV)/.installed $(shell find dbt_project -name '*.sql' -o -name '*.yml' -o -name '*.csv' | grep -v target/)
	$(CAKUPAN) dbt parse --quiet

# GX Data Docs' scripts and styles, once, so the pages need no CDN (data_docs_offline.py).
DATA_DOCS_ASSETS := expectations/gx/uncommitted/data_docs/vendor/vega-embed/build/vega-embed.min.js
data-docs-assets: $(DATA_DOCS_ASSETS)
$(DATA_DOCS_ASSETS): $(VENV)/.installed include/cakupan/data_docs_offline.py
	$(CAKUPAN) data-docs fetch && touch $@

airflow-db: warehouse manifest data-docs-assets
	$(CAKUPAN) airflow db migrate > .local/airflow-db.log 2>&1 || { tail -40 .local/airflow-db.log; exit 1; }
	$(CAKUPAN) airflow dags reserialize > .local/airflow-reserialize.log 2>&1 || { tail -40 .local/airflow-reserialize.log; exit 1; }

# Real Airflow runs of the DAGs (in order), each with its task logs in .local/.
pipeline: landing airflow-db
	@for dag in cakupan_ingest_population cakupan_ingest_enrollment cakupan_transform cakupan_report cakupan_retention; do \
	  echo "== airflow dags test $$dag (log: .local/$$dag.log)"; \
	  $(CAKUPAN) airflow dags test $$dag > .local/$$dag.log 2>&1 \
	    && { grep -aE "cakupan\.(loader|ingest|quality|publish|report_page|retention)|Done\. PASS" .local/$$dag.log | sed -E 's/^[^ ]+ \[[a-z]+ *\] //; s/ \[cakupan.*//; s/\x1b\[[0-9;]*m//g' || true; } \
	    && grep -q "state=success" .local/$$dag.log \
	    || { echo "DAG $$dag failed:"; grep -E "ERROR|error|Extract refused" .local/$$dag.log | tail -20; exit 1; }; \
	done

demo: pipeline
	@echo; $(CAKUPAN) summary
	@echo; echo "Coverage report: $(CURDIR)/.local/report/index.html"

summary: venv
	$(CAKUPAN) summary

test: venv manifest data-docs-assets lint
	@mkdir -p -m 700 .local/run
	$(BIN)/pytest -q

warehouse-psql: warehouse
	$(CAKUPAN) warehouse psql

airflow: airflow-db
	@echo "Airflow UI on http://localhost:8080 (user and password are printed below)"
	$(CAKUPAN) airflow standalone

BENCH_ROWS ?= 5000000
# Months large enough that dbt's fixed overhead per run does not dominate the timing.
BENCH_MONTH_ROWS ?= 500000
# The peers the loader is measured against (not product dependencies).
$(VENV)/.bench-installed: $(VENV)/.installed benchmarks/requirements.txt constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r benchmarks/requirements.txt -c constraints.txt
	@touch $@

bench: venv manifest $(VENV)/.bench-installed
	$(BIN)/python -m benchmarks.bench --rows $(BENCH_ROWS) --incremental-rows $(BENCH_MONTH_ROWS)

NATIONAL_EARLIER ?= 2
bench-national: venv manifest
	$(BIN)/python -m benchmarks.national --earlier-months $(NATIONAL_EARLIER)

HISTORY_MONTHS ?= 12
HISTORY_SCALE ?= 0.01
bench-history: venv manifest
	$(BIN)/python -m benchmarks.history --months $(HISTORY_MONTHS) --scale $(HISTORY_SCALE)

docs: warehouse manifest
	$(CAKUPAN) dbt docs generate --quiet
	@echo "dbt docs: $(CURDIR)/dbt_project/target/index.html (serve: .venv/bin/cakupan dbt docs serve --port 8081)"
	@echo "GX Data Docs: $(CURDIR)/expectations/gx/uncommitted/data_docs/local_site/index.html (rebuilt by each quality gate)"

stop:
	-$(CAKUPAN) warehouse down

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check include dags tests benchmarks
	cd dbt_project && ../$(BIN)/sqlfluff lint models tests --disable-progress-bar

lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^cakupan' | \
	  sed '1i # Full pinned set for Python 3.11 (pip install -r requirements.txt -c constraints.txt).\n# Regenerate with: make lock' > constraints.txt

clean: stop
	rm -rf .local
