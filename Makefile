# Regulars — the two commands a newcomer needs:
#   make run    provision Kafka + FerretDB if needed, start the platform, print the gateway URL
#   make test   lint, type-check and run every test against real Kafka and FerretDB
#   make key ARGS='--tenant acme --name "POS 01" --scope members:write'   an API key (shown once)
# Set MONGODB_URL / KAFKA_BOOTSTRAP_SERVERS to use external servers instead of local ones.

SHELL := /bin/bash
PYTHON ?= python3
CACHE ?= $(or $(REGULARS_CACHE),$(HOME)/.cache/regulars)
REQ_HASH := $(shell cat requirements.txt | sha256sum | cut -c1-12)
VENV ?= $(CACHE)/venv-$(REQ_HASH)
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH)
export PYTHONPATH := $(CURDIR):$(CURDIR)/gen/python
export MONGODB_URL ?=
export KAFKA_BOOTSTRAP_SERVERS ?=
LOCAL_MONGODB_URL := $(or $(MONGODB_URL),mongodb://127.0.0.1:27017/)
LOCAL_KAFKA := $(or $(KAFKA_BOOTSTRAP_SERVERS),127.0.0.1:9092)
PYTEST_ARGS ?=
ARGS ?=

.PHONY: run key admin test check unit lint typecheck layers proto venv provision infra-up infra-down down status lock clean bench bench-messaging

run: venv infra-up ## Start the whole platform in the foreground (Ctrl-C stops the services)
	MONGODB_URL=$(LOCAL_MONGODB_URL) KAFKA_BOOTSTRAP_SERVERS=$(LOCAL_KAFKA) $(BIN)/python -m devstack up

# The admin CLI writes into the store `make run` uses (LOCAL_MONGODB_URL, REGULARS_NAMESPACE).
key: venv infra-up ## Create an API key: make key ARGS='--tenant acme --name "POS 01" --scope members:write'
	MONGODB_URL=$(LOCAL_MONGODB_URL) $(BIN)/python -m gateway.admin create-key $(or $(ARGS),--help)

admin: venv infra-up ## Any admin command: make admin ARGS='list-keys --tenant acme' (or revoke-key)
	MONGODB_URL=$(LOCAL_MONGODB_URL) $(BIN)/python -m gateway.admin $(or $(ARGS),--help)

test: venv check infra-up ## Everything CI runs
	MONGODB_URL=$(LOCAL_MONGODB_URL) KAFKA_BOOTSTRAP_SERVERS=$(LOCAL_KAFKA) \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

check: lint typecheck layers ## ruff, mypy and the import layers (pyproject.toml [tool.importlinter])

unit: venv ## Pure domain tests only: no servers needed
	$(BIN)/python -m pytest tests/unit tests/contract $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

layers: venv
	$(BIN)/lint-imports

proto: venv ## Regenerate gen/python from proto/ (commit the result)
	$(BIN)/python scripts/gen_proto.py

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

lock: ## Re-pin requirements.txt from requirements.in
	rm -rf $(CACHE)/venv-lock && $(PYTHON) -m venv $(CACHE)/venv-lock && $(CACHE)/venv-lock/bin/pip install -q -r requirements.in
	(echo "# Generated from requirements.in by 'make lock' (pip freeze): the full pinned set."; \
	 $(CACHE)/venv-lock/bin/pip freeze) > requirements.txt

provision: ## Fetch Kafka jars and build FerretDB into the cache (done by run/test when needed)
	infra/local.sh provision

infra-up: ## Start local Kafka and FerretDB unless external servers are configured
	infra/local.sh up

infra-down down: ## Stop local Kafka and FerretDB
	infra/local.sh down

status:
	infra/local.sh status

bench: venv infra-up
	MONGODB_URL=$(LOCAL_MONGODB_URL) KAFKA_BOOTSTRAP_SERVERS=$(LOCAL_KAFKA) $(BIN)/python -m bench

bench-messaging: venv infra-up ## Messaging's sending pipeline against a bare loop of its writes (BENCH_MESSAGES)
	MONGODB_URL=$(LOCAL_MONGODB_URL) $(BIN)/python -m bench.messaging

clean: down
	rm -rf var
