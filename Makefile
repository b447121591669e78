# AILAS Fair-Trade Voice Registry. The two commands: `make run` and `make test`.
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt pyproject.toml client/pyproject.toml | sha1sum | cut -c1-12)
# Python 3.12 exactly (Chalice takes the Lambda runtime from the local interpreter).
PYTHON312 ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { echo $$p; break; }; done)
PYTEST_ARGS ?=
# make test's pytest workers: the end-to-end tests mostly wait on their stacks, so two workers
# halve the suite's time on CI's 2 cores. --dist loadfile: a file's tests (and its module
# fixtures: a stack, a client venv) stay in one worker; package builds take a lock.
TEST_WORKERS ?= 2
SPEAKER_WEIGHTS := shared/speaker/weights.npz

.PHONY: setup sysdeps run demo test lint lock unit handler e2e package deploy bench clean

setup: $(STAMP) $(SPEAKER_WEIGHTS)

## The speaker encoder's weights: Resemblyzer's wheel from PyPI (pinned, hash-checked), converted
## to numpy without torch. Not committed; packaged with shared/.
$(SPEAKER_WEIGHTS): shared/speaker/convert.py | $(STAMP)
	$(BIN)/python -m shared.speaker.convert

$(STAMP):
	@test -n "$(PYTHON312)" || { echo "Python 3.12 is required (pyenv install 3.12)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON312) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e . -e ./client
	@rm -f $(VENV)/.installed-* && touch $@

## Start the local stack: moto (S3, SQS, DynamoDB, KMS) + the API + the worker. Ctrl-C stops it.
run: setup
	$(BIN)/python -m infra.local_stack

## The README's terminal walk-through, run as written against the local stack (started if needed).
demo: setup sysdeps
	$(BIN)/python -m infra.demo

## Debian packages the tests use: headless Chromium (pages), a Japanese font, jq (the demo).
sysdeps:
	@if ! command -v chromium >/dev/null || ! command -v jq >/dev/null \
	    || ! fc-list 2>/dev/null | grep -qi ipa; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium fonts-ipafont-gothic jq >/dev/null; \
	  else echo "install chromium, fonts-ipafont-gothic and jq (Debian) for the tests"; fi; \
	fi

## Lint, then unit, handler and end-to-end tests, then the template checks.
test: setup sysdeps lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit handler e2e: setup
	$(BIN)/python -m pytest tests/$@ $(PYTEST_ARGS)

## requirements.lock: every runtime package for Lambda's platform, pinned with hashes (uv), after
## a change to requirements.txt. The build installs exactly this; a test checks the venv runs it.
lock: setup
	$(BIN)/uv pip compile requirements.txt --generate-hashes --python-version 3.12 \
	  --python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" \
	  --quiet -o requirements.lock

## `chalice package` for STAGE (default dev) merged with infra/resources.yaml, into build/.
package: setup
	infra/package.sh $(or $(STAGE),dev)

## Deploy to AWS (needs credentials); DRY_RUN=1 does everything that needs no account.
deploy: setup
	STAGE=$(or $(STAGE),dev) DRY_RUN=$(DRY_RUN) infra/deploy.sh

bench: setup
	$(BIN)/python bench/fingerprint_speed.py
	$(BIN)/python bench/trace_accuracy.py --quick

clean:
	rm -rf build vendor .local .pytest_cache .ruff_cache
