# ha.redis: every target runs from the checkout with the virtualenv in .venv.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# The Python .venv is built on (scripts/pick-python.sh: pyenv's 3.13 or 3.12, else python3). ansible-core 2.20 and
# later need 3.12+; on Python 3.11 alone requirements-test.txt falls back to ansible-core 2.19.
PYTHON ?= $(shell scripts/pick-python.sh)
PY_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# The stamp names the Python: a .venv built on another one (3.11, before the newest core) is rebuilt from scratch.
STAMP := $(BIN)/.stamp-py$(PY_VERSION)
LAB_SIZE ?= 3
LAB_SUITE ?= bookworm
MOLECULE_SCENARIOS ?= default failover faults multi_group valkey secure scale rolling_upgrade cluster cluster_scale observability backup proxy
# Scenarios run a second time on Debian 13 with Redis 8 (the base config's image comes from HA_REDIS_MOL_IMAGE).
MOLECULE_TRIXIE_SCENARIOS ?= default
PYTEST_WORKERS ?= 2
# Molecule scenarios run in this many parallel lanes, each with a subnet of its own (scripts/molecule-lanes.sh).
MOLECULE_LANES ?= 2
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help venv node-clients host-deps lab lab-down test test-fast lint ansible-lint yamllint ruff sanity unit \
        functional molecule images build galaxy-import redis-py-bounds clean bench ansible-core-lowest release

help:
	@echo "make lab        bring up the local lab (LAB_SIZE=$(LAB_SIZE)) and deploy + verify"
	@echo "make lab-down   remove the lab"
	@echo "make test       every test: lint, sanity, unit, functional, Molecule"
	@echo "make test-fast  the same without Molecule"

$(STAMP): requirements.txt requirements-test.txt requirements-collections.txt
	@if [ -x $(BIN)/python ] && [ "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != $(PY_VERSION) ]; then \
	  echo "venv: $(VENV) runs another Python than $(PYTHON) ($(PY_VERSION)): rebuilding it"; rm -rf $(VENV); fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-test.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -r requirements-collections.txt
	touch $@

venv: $(STAMP)

# The Node.js clients of the client matrix (tests/clients: ioredis, node-redis), pinned by package-lock.json.
CLIENTS_STAMP := tests/clients/node_modules/.ha-redis-stamp
$(CLIENTS_STAMP): tests/clients/package.json tests/clients/package-lock.json
	cd tests/clients && npm ci --no-audit --no-fund --loglevel=error
	touch $@

node-clients: host-deps $(CLIENTS_STAMP)

host-deps:
	scripts/host-deps.sh

lab: host-deps venv
	LAB_SIZE=$(LAB_SIZE) LAB_SUITE=$(LAB_SUITE) lab/up.sh

lab-down:
	lab/down.sh

images: host-deps
	lab/dockerd.sh
	lab/build-image.sh bookworm ha-redis-lab:bookworm
	lab/build-image.sh trixie ha-redis-lab:trixie

test: test-fast molecule
	@echo "==> stage durations"; cat build/stages.txt

test-fast: host-deps venv node-clients
	@mkdir -p build; rm -f build/stages.txt
	scripts/stage.sh ruff $(BIN)/ruff check .
	scripts/stage.sh yamllint $(BIN)/yamllint -s .
	scripts/stage.sh ansible-lint $(BIN)/ansible-lint
	scripts/stage.sh sanity scripts/sanity.sh
	scripts/stage.sh build $(MAKE) --no-print-directory build
	scripts/stage.sh galaxy-import scripts/galaxy-import.sh
	scripts/stage.sh unit $(BIN)/pytest -q tests/unit
	scripts/stage.sh promtool scripts/promtool.sh
	scripts/stage.sh functional $(BIN)/pytest -q -n $(PYTEST_WORKERS) tests/functional
	scripts/stage.sh redis-py-bounds scripts/redis-py-bounds.sh
	scripts/stage.sh core-lowest scripts/ansible-core-lowest.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint

sanity: venv
	scripts/sanity.sh

unit: venv
	$(BIN)/pytest -q tests/unit

functional: host-deps venv node-clients
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) tests/functional

molecule: host-deps venv images node-clients
	scripts/molecule-lanes.sh $(MOLECULE_LANES) $(BIN)/molecule $(MOLECULE_SCENARIOS) \
	  $(addprefix trixie:,$(MOLECULE_TRIXIE_SCENARIOS))

# The lowest ansible-core claimed (2.17): ansible-doc, unit tests and the playbook-driven functional tests.
ansible-core-lowest: venv
	scripts/ansible-core-lowest.sh

build: venv
	@mkdir -p build
	$(BIN)/ansible-galaxy collection build --force --output-path build .

# Galaxy's importer on the built tarball (scripts/galaxy-import.sh says why its scratch copy names a repository).
galaxy-import: build
	scripts/galaxy-import.sh

# The modules with the lowest and the newest redis-py declared in requirements.txt.
redis-py-bounds: host-deps venv
	scripts/redis-py-bounds.sh

# Cut the release galaxy.yml names from the changelog fragments (on main, after the merges; commit the result).
release: venv
	scripts/release.sh

# The benchmark (not part of `make test`): fresh containers of its own, results in bench/results.{json,md}; the
# Redis Cluster modules against redis-cli --cluster on loopback processes, results in bench/cluster/; the client
# matrix (every client of tests/clients through each event, medians), results in bench/clients/; backup and
# restore against their floors (loopback processes, a local restic repository), results in bench/backup/; a plain
# client through the proxy (Molecule proxy), results in bench/proxy/.
bench: host-deps venv node-clients
	$(BIN)/pip install -q --disable-pip-version-check -r bench/requirements.txt
	$(BIN)/python bench/bench.py $(BENCH_ARGS)
	$(BIN)/python bench/cluster.py
	$(BIN)/python bench/clients.py
	$(BIN)/python bench/backup.py
	$(BIN)/python bench/proxy.py

clean:
	rm -rf build .cache
