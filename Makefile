# SageStack's commands. `make demo` and `make test` do all their own set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOTSTRAP ?= python3
UV_VERSION := 0.13.9
VENV := .venv
PY := $(VENV)/bin/python
# The official XGBoost image's Python packages, for the offline container tests (tests/container).
TOOLKIT_VENV := .toolkit-venv
ENV ?=

# Offline, quiet, reproducible CDK: no telemetry, no version check, no instance metadata probes.
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := 1
export AWS_EC2_METADATA_DISABLED := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# The pinned Node 24 and CDK CLI from package-lock.json come first on PATH.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)

CDK := npx --no-install cdk
ENV_CONTEXT := $(if $(ENV),-c env=$(ENV),)

.PHONY: help setup demo test test-fast synth lint diff deploy destroy bench clean console browser

help:
	@echo "make demo    install everything, synthesize and check the stacks, train, serve and query a model locally"
	@echo "make test    install everything and run every test"
	@echo "make test-fast   the same without the tests marked slow (fuzzing, emulator deploy, load, multi-host)"
	@echo "make synth   synthesize every environment (or ENV=dev) into cdk.out and print the summary"
	@echo "make lint    ruff + mypy"
	@echo "make diff ENV=dev | make deploy ENV=dev | make destroy ENV=dev   (needs AWS credentials)"
	@echo "make bench   benchmarks; writes bench/RESULTS.md"
	@echo "make console the web console on http://127.0.0.1:8000 (PORT=...)"

# uv lives in its own tiny venv so that `uv sync` never removes it from the project venv.
.uv/bin/uv:
	$(PYTHON_BOOTSTRAP) -m venv .uv
	.uv/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock .uv/bin/uv
	UV_PYTHON=$(PYTHON_BOOTSTRAP) UV_COMPILE_BYTECODE=1 .uv/bin/uv sync --frozen --quiet
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# --no-deps: the lock is the whole closure, and sagemaker-containers' own flask==1.1.1 pin must not
# win over the image's Flask 3.1.3. The sed is the edit the image itself makes to the toolkit
# (its Dockerfile's final stage): Python 3.10 and later have no collections.Mapping.
$(TOOLKIT_VENV)/.synced: tests/container/toolkit.lock.txt .uv/bin/uv
	rm -rf $(TOOLKIT_VENV)
	.uv/bin/uv venv --quiet --python $(PYTHON_BOOTSTRAP) $(TOOLKIT_VENV)
	.uv/bin/uv pip install --quiet --python $(TOOLKIT_VENV)/bin/python --no-deps --require-hashes \
		-r tests/container/toolkit.lock.txt
	sed -i 's/collections\.Mapping/collections.abc.Mapping/g' \
		$(TOOLKIT_VENV)/lib/python3.*/site-packages/sagemaker_containers/_mapping.py
	touch $@

setup: $(VENV)/.synced node_modules/.installed

synth: setup
	$(CDK) synth --quiet $(ENV_CONTEXT) > /dev/null
	$(PY) -m stacks.summary cdk.out

demo: synth
	$(PY) -m sagestack.demo
	@echo "Web console: run  make console  and open http://127.0.0.1:8000  to create, train, deploy and test a model in the browser"

PORT ?= 8000
console: setup
	$(VENV)/bin/sagestack console --port $(PORT)

# The console's browser tests drive the system Chromium; never a downloaded browser. On Debian
# (we are root there) apt-get installs it; elsewhere name one with SAGESTACK_CHROMIUM.
browser:
	@if [ -z "$$SAGESTACK_CHROMIUM" ] && ! command -v chromium >/dev/null; then \
		if command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
		else echo "install Chromium or set SAGESTACK_CHROMIUM" >&2; exit 2; fi; \
	fi

test: setup browser $(TOOLKIT_VENV)/.synced
	$(PY) -m pytest -q -n 2

test-fast: setup
	$(PY) -m pytest -q -n 2 -m "not slow"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy app.py stacks sagestack bench
	# The scripts import their siblings as top-level modules, as the container runs them.
	cd training && ../$(VENV)/bin/mypy --config-file ../pyproject.toml --cache-dir ../.mypy_cache .
	cd inference && ../$(VENV)/bin/mypy --config-file ../pyproject.toml --cache-dir ../.mypy_cache .

diff: setup
	$(CDK) diff $(ENV_CONTEXT) --all

deploy: setup
	@test -n "$(ENV)" || (echo "set ENV, e.g. make deploy ENV=dev" >&2; exit 2)
	$(CDK) deploy $(ENV_CONTEXT) --all --require-approval broadening

destroy: setup
	@test -n "$(ENV)" || (echo "set ENV, e.g. make destroy ENV=dev" >&2; exit 2)
	$(CDK) destroy $(ENV_CONTEXT) --all

bench: setup
	$(PY) -m bench

clean:
	rm -rf cdk.out .sagestack .pytest_cache .mypy_cache .ruff_cache
