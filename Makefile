# make run   - install what the demo needs into .venv and start the gateway on the demo house (data in ./var)
# make test  - install the test peers and the dev tools, then run the whole suite on every supported Python the
#              machine has (3.11 and 3.13, each in its own venv); make test-one: on the main python3 only
# make bench - run the benchmarks and print a table
# make lint  - ruff (lint and format) and mypy
# make lock  - write constraints.txt anew from a fresh install of every extra (after changing a dependency)
# make soak  - an hour of a 1,000-device house under REST, MQTT and RTS load (SOAK_DURATION_S, SOAK_WINDOW_S)

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
CONFIG ?= config/demo.toml
# Every install goes through the same versions: an appliance must install the same way every time.
CONSTRAINTS := constraints.txt
PIP_INSTALL := pip install -q --disable-pip-version-check -c $(CONSTRAINTS)
EXTRAS := dev,zigbee,zwave,rts,ble,cloud,bridge
# The suite runs on each of these that the machine has (Debian 12's pyenv 3.11, Debian 13's 3.13).
SUPPORTED_PYTHONS := 3.11 3.13
MAIN_VERSION = $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')

.PHONY: run test test-all test-one bench soak lint lock peers clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/$(PIP_INSTALL) -e .
	touch $@

# After the peers: dbus-python (for python-dbusmock) builds against Debian's libdbus headers.
$(VENV)/.dev-installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python peers
	$(BIN)/$(PIP_INSTALL) -e '.[$(EXTRAS)]'
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/hearth run --config $(CONFIG)

# The real peers the tests talk to (Debian packages); skipped where they are already there.
peers:
	@./deploy/install-test-peers.sh

# The suite runs on TEST_WORKERS pytest-xdist workers, a test file to a worker (--dist loadfile: a module's
# gateway is started once, its tests keep their order). Most of its time is waiting (gateways and radio peers
# starting, timers running out), so two workers overlap their waits even on two cores.
TEST_WORKERS ?= 2
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadfile
# About 9 minutes a Python on two cores (20 with one worker): make test (and CI) runs it on every supported Python
# the machine has, one after the other; test-one on the main Python only. test-all is make test's old name.
test: test-all

test-all: test-one
	@for v in $(filter-out $(MAIN_VERSION),$(SUPPORTED_PYTHONS)); do \
	  py=$$(deploy/find-python.sh $$v); \
	  if [ -n "$$py" ]; then $(MAKE) --no-print-directory test-one VENV=.venv-$$v PYTHON=$$py || exit $$?; \
	  else echo "make test: no Python $$v on this machine; the suite ran on $(MAIN_VERSION) only"; fi; \
	done

test-one: peers $(VENV)/.dev-installed
	@echo "make test: Python $$($(BIN)/python -V)"
	$(BIN)/python -m pytest -q $(PYTEST_PARALLEL)

# wrk (Debian's package) is S6's load generator; without it S6 falls back to Python clients (noisier).
bench: peers $(VENV)/.dev-installed
	@command -v wrk >/dev/null || $$([ "$$(id -u)" = 0 ] || echo sudo) apt-get install -y -qq wrk >/dev/null \
		|| echo "bench: wrk not installed; S6 uses the Python load generator"
	$(BIN)/python -m tests.bench

SOAK_DURATION_S ?= 3600
SOAK_WINDOW_S ?= 600
soak: peers $(VENV)/.dev-installed
	SOAK_DURATION_S=$(SOAK_DURATION_S) SOAK_WINDOW_S=$(SOAK_WINDOW_S) $(BIN)/python -m tests.bench.soak

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src drivers tests
	$(BIN)/ruff format --check src drivers tests
	$(BIN)/mypy --strict src/hearth drivers

# On each supported Python, a fresh venv with every extra, resolved without the old constraints, frozen (hearth
# itself left out); the freezes merged into one file, a python_version marker on each pin not all of them share
# (deploy/merge_locks.py). Needs every supported Python on the machine.
lock:
	rm -rf .venv-lock .lock && mkdir .lock
	@for v in $(SUPPORTED_PYTHONS); do \
	  py=$$(deploy/find-python.sh $$v); \
	  if [ -z "$$py" ]; then echo "make lock: no Python $$v on this machine"; exit 1; fi; \
	  rm -rf .venv-lock && $$py -m venv .venv-lock && .venv-lock/bin/pip install -q --upgrade pip && \
	  .venv-lock/bin/pip install -q --disable-pip-version-check '.[$(EXTRAS)]' && \
	  .venv-lock/bin/pip freeze --exclude-editable | grep -v '^hearth' > .lock/$$v.txt || exit 1; \
	done
	$(PYTHON) deploy/merge_locks.py $(foreach v,$(SUPPORTED_PYTHONS),$(v)=.lock/$(v).txt) > $(CONSTRAINTS)
	rm -rf .venv-lock .lock

clean:
	rm -rf $(VENV) .venv-3.* .venv-lock .lock var .pytest_cache
