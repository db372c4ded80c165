# devprov: `make run` brings the whole stack up, `make test` runs every check.
# Both bootstrap the virtualenv themselves (idempotent: reinstalls when pyproject.toml changes).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

PY_PACKAGES := domain config strategies adapters activities workflows connection services worker api simulators bench cli client registry

.PHONY: run test static lint typecheck pytest bench chaos venv clean browser postgresql esp-proto

venv: $(STAMP)

# uv installs the same versions as pip, in about a third of the time (67 s against
# 174 s on a clean clone here): most of `make test`'s bootstrap.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv>=0.9,<1"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[test]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m worker.embedded

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy $(PY_PACKAGES) tests

# ESP-IDF's provisioning messages: regenerate the committed modules from the .proto files
# with the pinned grpcio-tools and mypy-protobuf.
esp-proto: $(STAMP)
	$(BIN)/python scripts/generate_esp_proto.py

# The browser tests drive Debian's chromium (Playwright cannot download browsers here).
browser:
	@bash scripts/install-chromium.sh

# The registry tests start a real PostgreSQL server of their own (Debian's package).
postgresql:
	@sh scripts/install-postgresql.sh

pytest: $(STAMP) browser postgresql
	$(BIN)/pytest -q -n 2 --dist loadfile --durations=20

static: lint typecheck

# The static checks run beside pytest: a cold mypy takes about 50 s of CPU (90 s alone on
# a busy machine) while pytest leaves a third of the two cores idle, waiting on timers.
test: $(STAMP) browser postgresql
	@$(MAKE) --no-print-directory -j 2 --output-sync=line static pytest

# Benchmarks print ratios against a baseline measured in the same run (see bench/).
bench: $(STAMP)
	$(BIN)/python -m bench.pipeline --runs 400 --rounds 9 --starts 300
	$(BIN)/python -m bench.progress_streaming --runs 100 --subscribers 1000
	$(BIN)/python -m bench.fleet_throughput --devices 1000 --rounds 3
	$(BIN)/python -m bench.scale --runs 250,500,1000,2000 --fleets 1,5,10,20 --fleet-size 50
	$(BIN)/python -m bench.registry_listing --records 100000 --queries 200
	$(BIN)/python -m bench.registry_work --devices 400 --rounds 6
	$(BIN)/python -m bench.webhooks --runs 200 --rounds 3

# Chaos and API fuzzing at full size; `make test` runs the same tests at CI size.
# Replay a session's random choices with DEVPROV_CHAOS_SEED=<seed it printed>.
chaos: $(STAMP)
	DEVPROV_CHAOS_RUNS=40 DEVPROV_CHAOS_CRASHES=10 DEVPROV_CHAOS_FAULT_RUNS=60 \
	DEVPROV_FUZZ_CASES=1000 DEVPROV_EXPLORER_SEQUENCES=2000 DEVPROV_EXPLORER_PROCESS_SEQUENCES=200 \
	DEVPROV_EXPLORER_CONCURRENCY=24 DEVPROV_EXPLORER_SHRINK_SECONDS=180 \
	DEVPROV_FLEET_FAILURES=10000 DEVPROV_FUZZ_PHASES=examples,coverage,fuzzing,stateful \
	DEVPROV_CLOUD_FLEET_SIZE=100 DEVPROV_DECOMMISSION_RACE_ROUNDS=100 \
	$(BIN)/pytest -q -s tests/chaos tests/fuzz tests/explorer tests/workflows/test_fleet_bounded_state.py \
		tests/integration/test_cloud_fleet.py tests/integration/test_decommission.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
