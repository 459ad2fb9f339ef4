# The two commands: `make run` and `make test`. Both work on a fresh Debian 12 machine as root.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEB_PACKAGES := python3-venv redis-server postgresql sox espeak-ng sip-tester mmdebstrap kamailio wrk \
	chromium fonts-wqy-microhei docker-compose tshark prometheus
LOCK := requirements.lock
export PIP_DISABLE_PIP_VERSION_CHECK=1
# Every Python package comes from $(LOCK), byte for byte (--require-hashes), from PyPI (or the
# index named by HOTLINE_PIP_INDEX_URL): the machine's own pip configuration (extra indexes,
# find-links, constraints) is not read, so two machines on two days install the same files.
PIP_INDEX := $(or $(HOTLINE_PIP_INDEX_URL),https://pypi.org/simple)
PIP := env -u PIP_FIND_LINKS -u PIP_CONSTRAINT -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null $(BIN)/pip

.PHONY: run test deps venv lock upgrade lint typecheck check prompts classifier asterisk-root \
	softphone apidocs bench chaos clean

# The local PBX needs the Asterisk root (built once, cached; about a minute with progress).
# When it cannot be built, everything else still starts and `hotline run` says why there is
# no PBX.
run: deps venv prompts classifier softphone apidocs
	@scripts/asterisk-root.sh || echo "make run: no Asterisk root (see above): starting without the PBX"
	$(BIN)/hotline dev-setup
	$(BIN)/hotline run

# mypy's cache outside the clone (CI runs on a clean clone): mypy checks each entry against
# the source's hash, its own version and the options, so a stale entry is only re-checked;
# .mypy_cache when the machine cache is not writable.
CACHE_DIR := $(or $(HOTLINE_CACHE_DIR),/var/cache/hotline-96010)
MYPY_CACHE = $(shell mkdir -p $(CACHE_DIR)/mypy 2>/dev/null && test -w $(CACHE_DIR)/mypy \
	&& echo $(CACHE_DIR)/mypy || echo .mypy_cache)

test: deps venv asterisk-root prompts softphone apidocs
	$(BIN)/ruff check .
	$(BIN)/mypy --cache-dir $(MYPY_CACHE)
	$(BIN)/pytest -q --durations=30

# Debian packages the gateway and its tests use; installed only when one is missing
# (npm from Debian unless a Node.js with npm is already installed).
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done; \
		command -v npm >/dev/null || echo nodejs npm); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# The venv: the lock (hashes required, no dependency resolution), then the project itself
# without dependencies or build isolation (its build backend is pinned in the lock too), then
# the check that the lock still answers pyproject.toml.
venv: $(STAMP)
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing Python packages from $(LOCK) (a few minutes the first time)"
	$(PIP) install --progress-bar on --index-url $(PIP_INDEX) --no-deps --require-hashes -r $(LOCK)
	$(PIP) install -q --no-deps --no-build-isolation -e .
	$(BIN)/python scripts/check_lock.py
	touch $(STAMP)

# Refresh the lock on purpose (a change of its own, committed after `make test` passes):
# `make lock` keeps every pin that still fits pyproject.toml; `make upgrade` takes the newest.
lock:
	scripts/lock.sh
upgrade:
	scripts/lock.sh --upgrade

asterisk-root:
	scripts/asterisk-root.sh

prompts: venv
	$(BIN)/hotline prompts build

# The router's classifier, trained on the reviewed labelled set (retrained when it changes).
CLASSIFIER := var/router/classifier.joblib
classifier: $(CLASSIFIER)
$(CLASSIFIER): $(STAMP) router/config/labelled.csv router/config/catalogue.yaml
	$(BIN)/hotline router train --out $(CLASSIFIER)

# The console's softphone: JsSIP (pinned in package-lock.json) bundled by esbuild into one file;
# rebuilt only when the lock file or the build inputs change.
SOFTPHONE := console/softphone
softphone: console/static/vendor/jssip.min.js
console/static/vendor/jssip.min.js: $(SOFTPHONE)/package-lock.json $(SOFTPHONE)/package.json \
		$(SOFTPHONE)/entry.js $(SOFTPHONE)/build.mjs
	@command -v npm >/dev/null || { echo "npm (Node.js >= 18) is needed to build $@" >&2; exit 1; }
	cd $(SOFTPHONE) && npm ci --no-audit --no-fund && node build.mjs

# Swagger UI and ReDoc for /docs and /redoc (pinned in package-lock.json), served by the gateway
# from hotline/static/apidocs/ so that the API documentation needs no CDN.
APIDOCS := hotline/docs-ui
apidocs: hotline/static/apidocs/swagger-ui-bundle.js
hotline/static/apidocs/swagger-ui-bundle.js: $(APIDOCS)/package-lock.json $(APIDOCS)/package.json \
		$(APIDOCS)/build.mjs
	@command -v npm >/dev/null || { echo "npm (Node.js >= 18) is needed to build $@" >&2; exit 1; }
	cd $(APIDOCS) && npm ci --no-audit --no-fund && node build.mjs

lint: venv
	$(BIN)/ruff check .
typecheck: venv
	$(BIN)/mypy
check: lint typecheck

# Every benchmark (bench/__main__.py), or some: make bench BENCH="call_burst router"
bench: deps venv asterisk-root prompts
	$(BIN)/python -m bench $(BENCH)

# The production shape under faults (bench/chaos/): >= 10,000 intakes over every text channel
# and 40 calls through the IVR (root: the test Asterisk),
# bounded by CHAOS_MINUTES; results in bench/results/chaos.{json,md}; fails when the audit does.
CHAOS_INTAKES ?= 10000
CHAOS_MINUTES ?= 45
chaos: deps venv asterisk-root prompts
	$(BIN)/python -m bench.chaos --intakes $(CHAOS_INTAKES) --max-minutes $(CHAOS_MINUTES)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache $(SOFTPHONE)/node_modules console/static/vendor \
		$(APIDOCS)/node_modules hotline/static/apidocs
