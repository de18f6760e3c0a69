# Lanner's developer entry points. `make run` and `make test` work on a fresh Debian machine.
VENV := .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 2

.PHONY: run test lint bench chaos fuzz ui clean

$(VENV)/.installed-run: pyproject.toml scripts/bootstrap.sh
	scripts/bootstrap.sh
	touch $@

$(VENV)/.installed-test: pyproject.toml scripts/bootstrap.sh
	scripts/bootstrap.sh test
	touch $@ $(VENV)/.installed-run

# The main job: the standalone server on the embedded SQLite default (./data/lanner.db),
# serving the example flows (it migrates the database first). Stop it with Ctrl-C.
run: $(VENV)/.installed-run
	$(BIN)/lanner server standalone --flow-path examples

# The whole suite: unit, integration and acceptance tests, on SQLite and PostgreSQL.
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# Static checks: ruff (style and likely bugs), mypy (types; strict on engine, model, store,
# expr) and import-linter (the layering contracts). Configured in pyproject.toml.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

# Benchmarks; figures are recorded by hand in docs/benchmarks.md. BENCH names modules of
# bench/ to run instead of the default ones (BENCH=bench_fan_out: the 100,000-value ForEach).
bench: $(VENV)/.installed-test
	$(BIN)/python bench/run.py $(BENCH)

# The long chaos profile (>= 10 minutes of load on a real PostgreSQL cluster, >= 50 kills);
# its summary is written to docs/reliability.md. The short profile runs in `make test`.
chaos: $(VENV)/.installed-test
	$(BIN)/python -m tests.chaos.run --profile long --report docs/reliability.md

# A deeper fuzzing of the REST API than `make test`'s: random requests (a new seed each run, printed;
# LANNER_TEST_SEED replays one) from its OpenAPI document, 100 per operation, on SQLite and PostgreSQL.
fuzz: $(VENV)/.installed-test
	LANNER_FUZZ_RANDOM=1 LANNER_FUZZ_EXAMPLES=$${LANNER_FUZZ_EXAMPLES:-100} $(BIN)/python -m pytest -n 0 --timeout 3600 \
		tests/integration/test_api_fuzz.py

# Rebuild the front-end files vendored into the package from ui/package-lock.json (needs npm;
# running Lanner never does). A test checks the shipped files against the lockfile.
ui:
	python3 scripts/vendor_ui.py

clean:
	rm -rf $(VENV) data .pytest_cache
