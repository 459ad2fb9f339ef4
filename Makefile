# The two commands: `make run` and `make test`. Both work on a fresh Debian 12 machine as root.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEB_PACKAGES := python3-venv redis-server postgresql sox espeak-ng sip-tester mmdebstrap \
	chromium fonts-wqy-microhei docker-compose tshark
export PIP_DISABLE_PIP_VERSION_CHECK=1

.PHONY: run test deps venv lint typecheck check prompts classifier asterisk-root softphone bench clean

run: deps venv prompts classifier softphone
	$(BIN)/hotline dev-setup
	$(BIN)/hotline run

test: deps venv asterisk-root prompts softphone
	$(BIN)/ruff check .
	$(BIN)/mypy
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

venv: $(STAMP)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,models]'
	touch $(STAMP)

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

lint: venv
	$(BIN)/ruff check .
typecheck: venv
	$(BIN)/mypy
check: lint typecheck

# Every benchmark (bench/__main__.py), or some: make bench BENCH="call_burst router"
bench: deps venv asterisk-root prompts
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache $(SOFTPHONE)/node_modules console/static/vendor
