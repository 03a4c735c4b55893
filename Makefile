# obsgen: `make generate` compiles the bundled example, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: generate validate test test-fast lint bench bench-rules bench-backtest bench-push schema tools push plan demo docs clean

generate: $(STAMP)
	$(PY) -m obsgen generate

# With both generations: Debian's Prometheus 2.42 / Alertmanager 0.25 on PATH, the current ones in .tools/bin.
validate: $(STAMP) tools
	$(PY) -m obsgen validate --tools .tools/bin

# The demo service, Prometheus and Alertmanager on loopback with output/ (Ctrl-C stops them).
demo: generate tools
	$(PY) -m demo

# Needs GRAFANA_URL and GRAFANA_TOKEN (or GRAFANA_TOKEN_FILE); see README.
plan: generate
	$(PY) -m obsgen plan

push: generate
	$(PY) -m obsgen push

# Test by test on three workers (two cores: the real stacks spend much of their time waiting); a
# module whose tests share a running stack or a built site is marked with an xdist_group and runs
# on one worker, in order.
test: $(STAMP) tools
	$(PY) -m pytest -n 3 --dist loadgroup

# The edit-test loop: every test that needs no real tool (promtool, amtool, Prometheus, node), on both cores.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not tools" -n 2 --dist loadgroup

# ruff (style, imports, bugbear) and mypy --strict on the package.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Compile at 10, 100 and 1,000 services beside Sloth, then the generated promtool suite at 1 and 10.
bench: $(STAMP)
	$(PY) bench/bench_compile.py
	$(PY) bench/bench_suite.py

# Rule evaluation cost in a real Prometheus over 30 days of synthetic data, beside Sloth's, on
# Prometheus 3 and then Debian's 2.42 (long: most of it is backfilling a month of recordings).
bench-rules: $(STAMP) tools
	$(PY) bench/bench_rules.py --days 30 --prometheus both

# obsgen backtest over 30 days of 100 SLOs' history in a real Prometheus 3 (a few minutes: most of it backfilling).
bench-backtest: $(STAMP) tools
	$(PY) bench/bench_backtest.py

# plan and push of 300 services' dashboards against the local Grafana API server (about a minute).
bench-push: $(STAMP)
	$(PY) bench/bench_push.py

# The documentation site into build/site (strict: a broken link or a missing page fails).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet

# The JSON Schemas editors use for slo/*.yaml and alerts/routing.yaml (a test checks they are current).
schema: $(STAMP)
	$(PY) -m obsgen schema --out docs/slo.schema.json
	$(PY) -m obsgen schema --for routing --out docs/routing.schema.json

tools:
	@scripts/install-tools.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
