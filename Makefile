# make run   - install what the demo needs into .venv and start the gateway on the demo house (data in ./var)
# make test  - install the test peers and the dev tools, then run the whole suite
# make bench - run the benchmarks and print a table
# make soak  - an hour of a 1,000-device house under REST, MQTT and RTS load (SOAK_DURATION_S, SOAK_WINDOW_S)
# make lint  - ruff and mypy

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
CONFIG ?= config/demo.toml

.PHONY: run test bench soak lint peers clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

# After the peers: dbus-python (for python-dbusmock) builds against Debian's libdbus headers.
$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python peers
	$(BIN)/pip install -q -e '.[dev,zigbee,zwave,rts,ble,cloud,bridge]'
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/hearth run --config $(CONFIG)

# The real peers the tests talk to (Debian packages); skipped where they are already there.
peers:
	@./deploy/install-test-peers.sh

test: peers $(VENV)/.dev-installed
	$(BIN)/python -m pytest -q

bench: peers $(VENV)/.dev-installed
	$(BIN)/python -m tests.bench

SOAK_DURATION_S ?= 3600
SOAK_WINDOW_S ?= 600
soak: peers $(VENV)/.dev-installed
	SOAK_DURATION_S=$(SOAK_DURATION_S) SOAK_WINDOW_S=$(SOAK_WINDOW_S) $(BIN)/python -m tests.bench.soak

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src drivers tests
	$(BIN)/mypy --strict src/hearth/sdk src/hearth/core src/hearth/model

clean:
	rm -rf $(VENV) var .pytest_cache
