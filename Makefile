# One command each: `make demo`, `make test`, `make serve`, `make lint`, `make chaos`.
# Everything lives in .venv/ (the CLI is .venv/bin/pagewire), installed from requirements.lock.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9
FILE ?=
# `make chaos`: DB=postgres|sqlite, JOBS=N, SEED=S, REPLAY=bench/results/chaos-....json
DB ?= postgres
JOBS ?= 300
SEED ?=
REPLAY ?=

.PHONY: install system-deps demo test serve lint format lock bench chaos image image-test clean

$(STAMP): pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "pagewire needs Python 3.11 or newer on PATH"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	@$(BIN)/uv pip sync -q --compile-bytecode --python $(BIN)/python requirements.lock
	@$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@# Bytecode up front: with PYTHONDONTWRITEBYTECODE set (common in containers) every
	@# process (the server, each job's extractor child, the CLI) would otherwise compile
	@# its imports from source at start, seconds of CPU each time.
	@$(BIN)/python -m compileall -q src
	@touch $@

install: $(STAMP)

# Debian packages the tests use: tesseract for OCR, Chromium for the portal's browser tests.
# Installed when missing and we are root with apt-get; otherwise the tests that need them
# say clearly that they were skipped.
system-deps:
	@scripts/system-deps.sh

demo: install
	@$(BIN)/pagewire demo $(FILE)

test: install system-deps
	@scripts/test.sh

# `make serve PORT=9000 HOST=0.0.0.0` (else PAGEWIRE_PORT / PAGEWIRE_HOST, then 127.0.0.1:8000)
serve: install
	@$(BIN)/pagewire serve $(if $(PORT),--port $(PORT)) $(if $(HOST),--host $(HOST))

lint: install
	@$(BIN)/python scripts/unasync.py --check
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

format: install
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

lock: install
	@$(BIN)/uv pip compile -q --python $(BIN)/python pyproject.toml --extra server --extra dev -o requirements.lock

# Each bench writes bench/results/<bench>.json (bench/extract.py also runs the scan
# bench, bench/scan.py, so their figures share one run); the renderer then rewrites
# docs/performance.md from those files (its "Design notes" section is kept as written).
bench: install
	@$(BIN)/python bench/queue.py
	@$(BIN)/python bench/webhooks.py
	@$(BIN)/python -P bench/extract.py
	@$(BIN)/python bench/render_performance.py

# Real processes SIGKILLed at random, database connections killed in bursts, the webhook
# receiver down for a while; then the count (docs/reliability.md, "Chaos runs"). Minutes,
# loopback only, not part of `make test`. PostgreSQL: PAGEWIRE_TEST_POSTGRES_URL (an admin
# URL; default postgresql://postgres@127.0.0.1:5432/postgres).
chaos: install
	@$(BIN)/python scripts/chaos.py --db $(DB) --jobs $(JOBS) $(if $(SEED),--seed $(SEED)) $(if $(REPLAY),--replay $(REPLAY))

# The container image (docs/deploy.md): wheels collected here for the base image's Python,
# then `docker build`. BASE_IMAGE=... (default python:3.12-slim-bookworm), IMAGE_TAG=...
image: install
	@scripts/image-build.sh

# Builds the image on a debootstrapped Debian base, runs it on the host network and has it
# OCR a scanned PDF through the API; leaves it tagged pagewire:test. Minutes, not in `make test`.
image-test: install
	@$(BIN)/python scripts/image_test.py

clean:
	rm -rf $(VENV) pagewire-data pagewire-demo .pytest_cache .mypy_cache .ruff_cache
